"""TransNAS-Bench-101 search spaces: the micro (cell) space and the macro (skeleton) space.

Both spaces share one network (TransNAS-Bench-101's ``MacroNet`` with base width 64): a stem of
two stride-2 3x3 convolutions (3 -> 32 -> 64 channels, 256x256 -> 64x64), then a chain of
*modules* of two blocks each, then a task decoder. A module's code says what its first block
does to the feature map: ``1`` keeps it, ``2`` doubles the channels, ``3`` halves the resolution,
``4`` does both.

* **micro** (4,096 cells): the skeleton is fixed to ``41414`` and every block is a 4-node cell
  whose 6 edges each carry one op, coded ``0`` none, ``1`` skip, ``2`` ReLU-conv1x1-BN,
  ``3`` ReLU-conv3x3-BN. Native string ``"64-41414-1_02_333"``: the cell groups list the incoming
  edges of nodes 1, 2 and 3 (node 3 = conv3x3(node0) + conv3x3(node1) + conv3x3(node2)). Only the
  edges leaving node 0 change stride/width; a skip edge that must do so is a factorized reduce.
* **macro** (3,256 skeletons): every block is a ResNet basic block and the skeleton varies: 4 to
  6 modules with 1 to 4 resolution halvings (codes 3, 4) and 1 to 3 channel doublings (codes 2,
  4). Native string ``"64-1234-basic"``.

An architecture is a tuple of ints: the 6 edge codes in string order (micro), or the module codes
(macro). NASLib's files write the same codes as a Python tuple (``"(1, 0, 0, 2, 1, 0)"``; macro
padded with zeros to length 6); :func:`micro_from_naslib` and :func:`macro_from_naslib` read that.

Network configs (TransNAS-Bench-101's own task configs, input 3x256x256): ``class_scene`` (47
classes), ``class_object`` (75), ``room_layout`` (9 regression outputs): the encoder followed by
its feed-forward decoder (global average pool + linear). NASLib's copy of the benchmark code
builds 63 scene and 100 object classes instead; its ``params`` proxy equals this encoder plus such
a head exactly (a realdata test checks every architecture of its zero-cost files). The jigsaw (siamese over 9 tiles) and
the pixel-level decoders (segmentation, normal, autoencoder: transposed convolutions) are not
built; their labels attach to the same architectures.

The factorized reduce (a skip edge that changes stride or width) is TransNAS-Bench-101's: ReLU,
then two strided 1x1 convolutions of C/2 channels, the second on the input shifted by one pixel
(zero-pad right/bottom, drop the first row and column: a ``crop`` with kernel 1, padding 1),
concatenated, then batch norm.
"""
from __future__ import annotations

import ast
import functools
import itertools
import numbers
import random
from typing import Any, Callable, Iterator, Sequence

from archbench.errors import EncodingError

from ..cg import ComputationGraph, GraphBuilder
from ..ops import Shape
from ._fragments import Assembler, Fragment, make_fragment
from .base import SPACES, NetworkConfig, SearchSpace

#: Micro-cell op of each TransNAS-Bench-101 code digit (the code is the index).
MICRO_OPS: tuple[str, ...] = ("none", "skip_connect", "conv_1x1", "conv_3x3")
#: (source node, target node) of each position of a micro architecture, in string order.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
#: Macro module codes 1..4 (code - 1 is the index): (doubles channels, halves resolution).
MODULE_TYPES: dict[int, tuple[bool, bool]] = {1: (False, False), 2: (True, False), 3: (False, True), 4: (True, True)}

BASE_CHANNELS = 64
MICRO_SKELETON: tuple[int, ...] = (4, 1, 4, 1, 4)
BLOCKS_PER_MODULE = 2
#: Macro skeleton constraints of the benchmark (and NASLib's sampler): number of modules,
#: resolution halvings (codes 3, 4) and channel doublings (codes 2, 4).
MACRO_LENGTHS = (4, 5, 6)
MACRO_DOWNSAMPLES = (1, 4)
MACRO_DOUBLINGS = (1, 3)

NUM_MICRO = len(MICRO_OPS) ** len(EDGES)
NUM_MACRO = 3256

MicroArch = tuple[int, int, int, int, int, int]
MacroArch = tuple[int, ...]

CONFIGS: dict[str, NetworkConfig] = {
    "class_scene": NetworkConfig("class_scene", (3, 256, 256), 47),
    "class_object": NetworkConfig("class_object", (3, 256, 256), 75),
    "room_layout": NetworkConfig("room_layout", (3, 256, 256), 9),
}

#: The seven tasks of the benchmark, in its own order.
TASKS: tuple[str, ...] = ("class_scene", "class_object", "room_layout", "jigsaw", "segmentsemantic", "normal",
                          "autoencoder")

_CELL_GROUPS = ((0,), (1, 2), (3, 4, 5))  # positions of the incoming edges of nodes 1, 2, 3


# ---- encodings -------------------------------------------------------------------------------------

def _split_code(text: Any, what: str, example: str) -> tuple[str, str, str]:
    if not isinstance(text, str):
        raise EncodingError(f"TransNAS-Bench-101 {what} architecture must be a string like {example!r}, "
                            f"found {type(text).__name__} {text!r}")
    parts = text.strip().split("-")
    if len(parts) != 3:
        raise EncodingError(f"TransNAS-Bench-101 {what} string must have 3 '-'-separated parts "
                            f"(base channels, skeleton, cell) like {example!r}, found {len(parts)} in {text!r}")
    if parts[0] != str(BASE_CHANNELS):
        raise EncodingError(f"TransNAS-Bench-101 base channels must be {BASE_CHANNELS}, found {parts[0]!r} in {text!r}")
    return parts[0], parts[1], parts[2]


def check_micro(arch: Any) -> MicroArch:
    """Validate a micro architecture (6 edge codes 0..3); returns it as a tuple of ints."""
    if not isinstance(arch, (tuple, list)) or len(arch) != len(EDGES):
        raise EncodingError(f"TransNAS-Bench-101 micro architecture needs {len(EDGES)} edge codes "
                            f"(0 none, 1 skip, 2 conv1x1, 3 conv3x3), found {arch!r}")
    for e, code in enumerate(arch):
        if isinstance(code, bool) or not isinstance(code, numbers.Integral) or not 0 <= code < len(MICRO_OPS):
            raise EncodingError(f"TransNAS-Bench-101 micro edge {e} ({EDGES[e][0]}->{EDGES[e][1]}) must have a code in "
                                f"0..{len(MICRO_OPS) - 1} ({', '.join(MICRO_OPS)}), found {code!r} in {arch!r}")
    return tuple(int(c) for c in arch)  # type: ignore[return-value]


def parse_micro(text: str) -> MicroArch:
    """``"64-41414-1_02_333"`` -> ``(1, 0, 2, 3, 3, 3)``; errors say what was expected and found."""
    _, skeleton, cell = _split_code(text, "micro", "64-41414-1_02_333")
    if skeleton != "".join(map(str, MICRO_SKELETON)):
        raise EncodingError(f"TransNAS-Bench-101 micro skeleton must be {''.join(map(str, MICRO_SKELETON))!r}, "
                            f"found {skeleton!r} in {text!r} (a 'basic' cell string belongs to the macro space)")
    if cell == "basic":
        raise EncodingError(f"TransNAS-Bench-101 micro string needs a cell code like '1_02_333', found 'basic' in "
                            f"{text!r} (a 'basic' cell string belongs to the macro space)")
    groups = cell.split("_")
    if [len(g) for g in groups] != [1, 2, 3]:
        raise EncodingError(f"TransNAS-Bench-101 micro cell must be 3 '_'-separated groups of 1, 2 and 3 op digits "
                            f"like '1_02_333', found {cell!r} in {text!r}")
    digits = "".join(groups)
    if any(d not in "0123" for d in digits):
        raise EncodingError(f"TransNAS-Bench-101 micro op digits must be 0..3 ({', '.join(MICRO_OPS)}), "
                            f"found {cell!r} in {text!r}")
    return tuple(int(d) for d in digits)  # type: ignore[return-value]


def format_micro(arch: Sequence[int]) -> str:
    """``(1, 0, 2, 3, 3, 3)`` -> ``"64-41414-1_02_333"``."""
    a = check_micro(arch)
    return f"{BASE_CHANNELS}-{''.join(map(str, MICRO_SKELETON))}-{a[0]}_{a[1]}{a[2]}_{a[3]}{a[4]}{a[5]}"


def check_macro(arch: Any) -> MacroArch:
    """Validate a macro skeleton (module codes 1..4 within the benchmark's constraints)."""
    if not isinstance(arch, (tuple, list)):
        raise EncodingError(f"TransNAS-Bench-101 macro architecture must be a tuple of module codes 1..4, found {arch!r}")
    for code in arch:
        if isinstance(code, bool) or not isinstance(code, numbers.Integral) or int(code) not in MODULE_TYPES:
            raise EncodingError(f"TransNAS-Bench-101 macro module codes must be 1..4 (1 normal, 2 double channels, "
                                f"3 halve resolution, 4 both), found {code!r} in {arch!r}")
    if len(arch) not in MACRO_LENGTHS:
        raise EncodingError(f"TransNAS-Bench-101 macro skeleton must have {MACRO_LENGTHS[0]}..{MACRO_LENGTHS[-1]} "
                            f"modules, found {len(arch)} in {arch!r}")
    down = sum(1 for c in arch if MODULE_TYPES[int(c)][1])
    double = sum(1 for c in arch if MODULE_TYPES[int(c)][0])
    if not MACRO_DOWNSAMPLES[0] <= down <= MACRO_DOWNSAMPLES[1]:
        raise EncodingError(f"TransNAS-Bench-101 macro skeleton must halve the resolution {MACRO_DOWNSAMPLES[0]}.."
                            f"{MACRO_DOWNSAMPLES[1]} times (codes 3, 4), found {down} in {arch!r}")
    if not MACRO_DOUBLINGS[0] <= double <= MACRO_DOUBLINGS[1]:
        raise EncodingError(f"TransNAS-Bench-101 macro skeleton must double the channels {MACRO_DOUBLINGS[0]}.."
                            f"{MACRO_DOUBLINGS[1]} times (codes 2, 4), found {double} in {arch!r}")
    return tuple(int(c) for c in arch)


def parse_macro(text: str) -> MacroArch:
    """``"64-1234-basic"`` -> ``(1, 2, 3, 4)``; errors say what was expected and found."""
    _, skeleton, cell = _split_code(text, "macro", "64-1234-basic")
    if cell != "basic":
        raise EncodingError(f"TransNAS-Bench-101 macro string must end in '-basic', found {cell!r} in {text!r} "
                            f"(a cell code belongs to the micro space)")
    if not skeleton.isdigit():
        raise EncodingError(f"TransNAS-Bench-101 macro skeleton must be digits 1..4 like '1234', found {skeleton!r} in {text!r}")
    return check_macro(tuple(int(d) for d in skeleton))


def format_macro(arch: Sequence[int]) -> str:
    """``(1, 2, 3, 4)`` -> ``"64-1234-basic"``."""
    return f"{BASE_CHANNELS}-{''.join(map(str, check_macro(arch)))}-basic"


def _naslib_tuple(text: Any, what: str) -> tuple[int, ...]:
    if isinstance(text, str):
        try:
            value = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError):
            raise EncodingError(f"NASLib TransNAS-Bench-101 {what} key must be a tuple of 6 ints like "
                                f"'(1, 0, 0, 2, 1, 0)', found {text!r}") from None
    else:
        value = text
    if not isinstance(value, (tuple, list)) or len(value) != 6 or \
            any(isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in value):
        raise EncodingError(f"NASLib TransNAS-Bench-101 {what} key must be a tuple of 6 ints, found {text!r}")
    return tuple(int(v) for v in value)


def micro_from_naslib(key: Any) -> MicroArch:
    """NASLib's micro key ``"(1, 0, 0, 2, 1, 0)"`` -> micro architecture.

    NASLib passes these op indices straight into the TransNAS-Bench-101 string
    (``'64-41414-{}_{}{}_{}{}{}'``), so they are the benchmark's own codes (its in-code op-name
    list in another order notwithstanding): code 0 on the three edges into node 3 gives chance
    accuracy in the data, as a ``none`` output must.
    """
    return check_micro(_naslib_tuple(key, "micro"))


def macro_from_naslib(key: Any) -> MacroArch:
    """NASLib's macro key ``"(1, 2, 4, 2, 0, 0)"`` (module codes, zero-padded to 6) -> macro architecture."""
    value = _naslib_tuple(key, "macro")
    codes = list(value)
    while codes and codes[-1] == 0:
        codes.pop()
    if 0 in codes:
        raise EncodingError(f"NASLib TransNAS-Bench-101 macro key may pad with zeros only at the end, found {key!r}")
    return check_macro(tuple(codes))


# ---- enumeration -----------------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _all_macro() -> tuple[MacroArch, ...]:
    out = []
    for n in MACRO_LENGTHS:
        for codes in itertools.product(sorted(MODULE_TYPES), repeat=n):
            try:
                out.append(check_macro(codes))
            except EncodingError:
                continue
    return tuple(out)


# ---- whole network ------------------------------------------------------------------------------

def _relu_conv_bn(b: GraphBuilder, x: int, c_out: int, kernel: int, stride: int) -> int:
    # TransNAS-Bench-101's ReLUConvBN: affine BN, bias-free conv, padding k // 2.
    return b.batch_norm(b.conv(b.relu(x), c_out, kernel, stride=stride, padding=kernel // 2))


def _factorized_reduce(b: GraphBuilder, x: int, c_out: int, stride: int) -> int:
    r = b.relu(x)
    half = c_out // 2
    # Second branch: TransNAS-Bench-101 pads right/bottom by one and reads y[:, :, 1:, 1:], the
    # one-pixel-shifted input: a crop with offset (kernel) 1 and padding 1 keeps the size.
    shifted = b.add_node("crop", [r], kernel=1, padding=1)
    left = b.conv(r, half, 1, stride=stride, padding=0)
    right = b.conv(shifted, c_out - half, 1, stride=stride, padding=0)
    return b.batch_norm(b.concat(left, right))


def _edge_body(code: int, c_out: int, stride: int) -> Callable[[GraphBuilder, int], object]:
    def body(b: GraphBuilder, x: int) -> object:
        c_in = b.shape(x)[0]
        if code == 0:
            return b.zero(x, stride=stride, c_out=c_out if c_out != c_in else 0)
        if code == 1:
            if stride == 1 and c_in == c_out:
                return b.identity(x)
            return _factorized_reduce(b, x, c_out, stride)
        return _relu_conv_bn(b, x, c_out, 1 if code == 2 else 3, stride)

    return body


@functools.lru_cache(maxsize=None)
def _edge_fragment(code: int, in_shape: Shape, c_out: int, stride: int) -> Fragment:
    return make_fragment([in_shape], _edge_body(code, c_out, stride))


@functools.lru_cache(maxsize=None)
def _add_fragment(arity: int, shape: Shape) -> Fragment:
    return make_fragment([shape] * arity, lambda b, *xs: b.add(*xs))


@functools.lru_cache(maxsize=None)
def _stem_fragment(input_shape: Shape) -> Fragment:
    def body(b: GraphBuilder, x: int) -> object:
        half = BASE_CHANNELS // 2
        x = b.batch_norm(b.conv(x, half, 3, stride=2, padding=1))
        return _relu_conv_bn(b, x, BASE_CHANNELS, 3, 2)

    return make_fragment([input_shape], body)


def _basic_body(c_out: int, stride: int) -> Callable[[GraphBuilder, int], object]:
    def body(b: GraphBuilder, x: int) -> object:
        feature = _relu_conv_bn(b, _relu_conv_bn(b, x, c_out, 3, stride), c_out, 3, 1)
        residual = x
        if stride != 1 or b.shape(x)[0] != c_out:
            residual = b.batch_norm(b.conv(x, c_out, 1, stride=stride, padding=0))
        return b.add(residual, feature)

    return body


@functools.lru_cache(maxsize=None)
def _basic_fragment(in_shape: Shape, c_out: int, stride: int) -> Fragment:
    return make_fragment([in_shape], _basic_body(c_out, stride))


@functools.lru_cache(maxsize=None)
def _head_fragment(in_shape: Shape, num_classes: int) -> Fragment:
    return make_fragment([in_shape], lambda b, x: b.output(b.linear(b.global_avg_pool(x), num_classes, bias=True)))


def _micro_cell(asm: Assembler, arch: MicroArch, x: int, c_out: int, stride: int) -> int:
    """One TransNAS-Bench-101 micro cell on node ``x``; returns the node holding cell node 3."""
    in_shape = asm.shape(x)
    nodes = [x]
    for target, positions in enumerate(_CELL_GROUPS, start=1):
        terms = []
        for e in positions:
            src = EDGES[e][0]
            if src == 0:
                frag = _edge_fragment(arch[e], in_shape, c_out, stride)
            else:
                frag = _edge_fragment(arch[e], asm.shape(nodes[src]), c_out, 1)
            terms.append(asm.add(frag, nodes[src]))
        nodes.append(terms[0] if len(terms) == 1 else asm.add(_add_fragment(len(terms), asm.shape(terms[0])), *terms))
    return nodes[3]


def _module_plan(skeleton: Sequence[int]) -> list[tuple[int, int]]:
    """(output channels, stride) of each module's first block."""
    plan, channels = [], BASE_CHANNELS
    for code in skeleton:
        double, down = MODULE_TYPES[code]
        channels = channels * 2 if double else channels
        plan.append((channels, 2 if down else 1))
    return plan


def build_network(space: str, encoding: str, micro: MicroArch | None, skeleton: Sequence[int],
                  config: NetworkConfig) -> ComputationGraph:
    """The encoder (stem + modules of 2 blocks) and the feed-forward decoder of ``config`` as a CG.

    Args:
        space, encoding: recorded on the graph.
        micro: the cell's 6 edge codes, or None for ResNet basic blocks (macro space).
        skeleton: module codes 1..4.
        config: input shape (3x256x256) and decoder width.
    """
    asm = Assembler()
    x = asm.add(_stem_fragment(config.input_shape), asm.input(config.input_shape))
    for c_out, stride in _module_plan(skeleton):
        for block in range(BLOCKS_PER_MODULE):
            s = stride if block == 0 else 1
            if micro is None:
                x = asm.add(_basic_fragment(asm.shape(x), c_out, s), x)
            else:
                x = _micro_cell(asm, micro, x, c_out, s)
    asm.add(_head_fragment(asm.shape(x), config.num_classes), x)
    return asm.finish(space, encoding, config.input_shape, config.num_classes, config.name)


# ---- the search spaces -----------------------------------------------------------------------------

def _need_rng(rng: Any, what: str) -> None:
    if not isinstance(rng, random.Random):
        raise TypeError(f"{what} needs a random.Random (e.g. random.Random(seed)), found {type(rng).__name__}")


@SPACES.register("transnas101_micro")
class TransNAS101MicroSpace(SearchSpace):
    """TransNAS-Bench-101 cell space: 4,096 cells (4 ops on 6 edges) in skeleton ``64-41414``.

    An architecture is a tuple of 6 edge codes (:data:`MICRO_OPS` index) in string order;
    ``coerce`` also accepts NASLib's tuple string.
    """

    name = "transnas101_micro"
    configs = CONFIGS

    def parse(self, text: str) -> MicroArch:
        return parse_micro(text)

    def format(self, arch: MicroArch) -> str:
        return format_micro(arch)

    def coerce(self, arch: Any) -> MicroArch:
        if isinstance(arch, str):
            return micro_from_naslib(arch) if arch.strip().startswith("(") else parse_micro(arch)
        return check_micro(arch)

    def sample(self, rng: random.Random) -> MicroArch:
        _need_rng(rng, "sample")
        return tuple(rng.randrange(len(MICRO_OPS)) for _ in EDGES)  # type: ignore[return-value]

    def mutate(self, arch: MicroArch, rng: random.Random) -> MicroArch:
        """Change the op of one uniformly chosen edge to one of the 3 other ops."""
        _need_rng(rng, "mutate")
        a = list(self.coerce(arch))
        e = rng.randrange(len(EDGES))
        a[e] = rng.choice([c for c in range(len(MICRO_OPS)) if c != a[e]])
        return tuple(a)  # type: ignore[return-value]

    def enumerate(self) -> Iterator[MicroArch]:
        """All 4,096 cells, the last edge varying fastest."""
        return iter(itertools.product(range(len(MICRO_OPS)), repeat=len(EDGES)))  # type: ignore[arg-type]

    def size(self) -> int:
        return NUM_MICRO

    def arch_key(self, arch: MicroArch) -> str:
        """The cell code, e.g. ``"1_02_333"``."""
        return format_micro(self.coerce(arch)).rsplit("-", 1)[1]

    def build_cg(self, arch: MicroArch | str, config: str | None = None) -> ComputationGraph:
        a = self.coerce(arch)
        return build_network(self.name, format_micro(a), a, MICRO_SKELETON, self.config(config))


@SPACES.register("transnas101_macro")
class TransNAS101MacroSpace(SearchSpace):
    """TransNAS-Bench-101 skeleton space: 3,256 ResNet skeletons of 4..6 modules.

    An architecture is a tuple of module codes 1..4; ``coerce`` also accepts NASLib's
    zero-padded tuple string.
    """

    name = "transnas101_macro"
    configs = CONFIGS

    def parse(self, text: str) -> MacroArch:
        return parse_macro(text)

    def format(self, arch: MacroArch) -> str:
        return format_macro(arch)

    def coerce(self, arch: Any) -> MacroArch:
        if isinstance(arch, str):
            return macro_from_naslib(arch) if arch.strip().startswith("(") else parse_macro(arch)
        return check_macro(arch)

    def sample(self, rng: random.Random) -> MacroArch:
        """A skeleton drawn uniformly from all 3,256."""
        _need_rng(rng, "sample")
        return rng.choice(_all_macro())

    def neighbours(self, arch: MacroArch) -> list[MacroArch]:
        """Valid skeletons one edit away: one module's code changed, one module inserted or removed."""
        a = self.coerce(arch)
        candidates = set()
        for i in range(len(a)):
            for code in MODULE_TYPES:
                candidates.add(a[:i] + (code,) + a[i + 1:])
            candidates.add(a[:i] + a[i + 1:])
        for i in range(len(a) + 1):
            for code in MODULE_TYPES:
                candidates.add(a[:i] + (code,) + a[i:])
        out = []
        for c in sorted(candidates):
            if c == a:
                continue
            try:
                out.append(check_macro(c))
            except EncodingError:
                continue
        return out

    def mutate(self, arch: MacroArch, rng: random.Random) -> MacroArch:
        """A uniformly chosen valid neighbour (see :meth:`neighbours`)."""
        _need_rng(rng, "mutate")
        return rng.choice(self.neighbours(arch))

    def enumerate(self) -> Iterator[MacroArch]:
        """All 3,256 skeletons: by length, then in code order."""
        return iter(_all_macro())

    def size(self) -> int:
        return NUM_MACRO

    def arch_key(self, arch: MacroArch) -> str:
        """The skeleton digits, e.g. ``"1234"``."""
        return "".join(map(str, self.coerce(arch)))

    def build_cg(self, arch: MacroArch | str, config: str | None = None) -> ComputationGraph:
        a = self.coerce(arch)
        return build_network(self.name, format_macro(a), None, a, self.config(config))
