"""NAS-Bench-201 / NATS-Bench topology search space (15,625 cells).

A cell is a 4-node DAG; each of its 6 edges carries one of 5 ops. An architecture is a tuple of
6 op names in the order of the official string
``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``, i.e. edges (0->1), (0->2), (1->2), (0->3), (1->3), (2->3).

Besides parsing and formatting, this module reproduces three facts of the benchmark itself:

- the official index order of NAS-Bench-201 / NATS-Bench files (:func:`index_to_arch`,
  :func:`arch_to_index`), regenerated the way the benchmark made it (no lookup table);
- its isomorphism classes, 6,466 of them (:func:`unique_str`, :func:`iso_representative`);
- the whole trained network (TinyNetwork, C=16, N=5) as a computation graph of atomic ops
  (:func:`build_network`), with exactly the benchmark's parameter counts.
"""
from __future__ import annotations

import functools
import itertools
import numbers
import random
from typing import Any, Callable, Iterator, NamedTuple

from archbench.errors import EncodingError

from ..cg import NODE_FIELDS, ComputationGraph, GraphBuilder
from ..ops import Shape
from ._cellstr import format_cell_str, parse_cell_str
from .base import SPACES, EdgeOpCellSpace, NetworkConfig

#: The official NB201 op list, in the benchmark's own order (used by its enumeration).
NB201_OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: (source node, target node) of each position of an architecture tuple, in string order.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))

Arch = tuple[str, str, str, str, str, str]

_OP_SET = frozenset(NB201_OPS)
#: Positions (in EDGES) of the incoming edges of cell nodes 1, 2, 3, in string order.
_IN_EDGES: dict[int, tuple[int, ...]] = {t: tuple(e for e, (_, dst) in enumerate(EDGES) if dst == t) for t in (1, 2, 3)}


def parse_arch_str(text: str) -> Arch:
    """Official NB201 string -> tuple of 6 op names; errors say what was expected and found."""
    return parse_cell_str(text, _OP_SET, "NB201", NB201_OPS)  # type: ignore[return-value]


def format_arch_str(arch: Arch) -> str:
    """Tuple of 6 op names -> official NB201 string."""
    if len(arch) != 6:
        raise EncodingError(f"NB201 architecture needs 6 edge ops, found {len(arch)}: {arch!r}")
    for op in arch:
        if op not in NB201_OPS:
            raise EncodingError(f"unknown NB201 op {op!r}; expected one of: {', '.join(NB201_OPS)}")
    return format_cell_str(arch)


# ---- the official index order -----------------------------------------------------------------

#: Number of architectures (5 ops on each of 6 edges).
NUM_ARCHS = len(NB201_OPS) ** len(EDGES)
#: Seed of the shuffle that gives the official index order (NAS-Bench-201's own script).
_OFFICIAL_SHUFFLE_SEED = 88


@functools.lru_cache(maxsize=1)
def _official_order() -> tuple[tuple[Arch, ...], dict[Arch, int]]:
    # The benchmark enumerated all cells node by node with ops in NB201_OPS order (the last edge
    # of the string varies fastest, which is exactly itertools.product), then shuffled them with
    # Python's random.seed(88); random.shuffle(...). The shuffle is reproduced with its own
    # Random instance so the global generator is left alone (same Mersenne Twister stream and
    # the same shuffle algorithm; a realdata test checks all 15,625 pairs against NATS-Bench).
    archs = list(itertools.product(NB201_OPS, repeat=len(EDGES)))
    random.Random(_OFFICIAL_SHUFFLE_SEED).shuffle(archs)
    return tuple(archs), {arch: i for i, arch in enumerate(archs)}  # type: ignore[misc]


def _check_index(index: Any) -> int:
    if isinstance(index, bool) or not isinstance(index, numbers.Integral):
        raise EncodingError(f"NB201 official index must be an integer in 0..{NUM_ARCHS - 1}, found {type(index).__name__} {index!r}")
    i = int(index)
    if not 0 <= i < NUM_ARCHS:
        raise EncodingError(f"NB201 official index must be in 0..{NUM_ARCHS - 1}, found {i}")
    return i


def _as_arch(arch: Any) -> Arch:
    """A string or a sequence of 6 op names -> validated architecture tuple."""
    if isinstance(arch, str):
        return parse_arch_str(arch)
    if not isinstance(arch, (tuple, list)):
        raise EncodingError(
            f"NB201 architecture must be a string or a tuple of {len(EDGES)} op names, found {type(arch).__name__} {arch!r}")
    if len(arch) != len(EDGES) or any(not isinstance(op, str) or op not in _OP_SET for op in arch):
        format_arch_str(arch)  # raises naming the wrong length or the unknown op
    return tuple(arch)  # type: ignore[return-value]


def index_to_arch(index: int) -> Arch:
    """Official NB201 / NATS-Bench tss index (0..15624) -> architecture tuple."""
    return _official_order()[0][_check_index(index)]


def arch_to_index(arch: Arch | str) -> int:
    """Architecture tuple or string -> official NB201 / NATS-Bench tss index."""
    return _official_order()[1][_as_arch(arch)]


# ---- the benchmark's own isomorphism classes --------------------------------------------------

_ZERO = "#"


def unique_str(arch: Arch | str) -> str:
    """NAS-Bench-201's key of a cell's isomorphism class (its ``to_unique_str(consider_zero=True)``).

    Node 0 is ``"0"``; every later node is the sorted, ``+``-joined list of its incoming terms:
    ``"#"`` (zero) for a ``none`` edge or an edge leaving a node whose key is exactly ``"#"``,
    the source key itself for ``skip_connect``, and ``"(source)@op"`` otherwise. Faithful to the
    benchmark, zero terms stay in a sum (``x + 0`` differs from ``x``) and a node whose terms are
    all zero becomes ``"#+#"``, not ``"#"``, so only node 1 can propagate a zero. These quirks
    are what give the published 6,466 classes.
    """
    a = _as_arch(arch)
    keys = ["0"]
    for target in (1, 2, 3):
        terms = []
        for e in _IN_EDGES[target]:
            op, src_key = a[e], keys[EDGES[e][0]]
            if op == "none" or src_key == _ZERO:
                terms.append(_ZERO)
            elif op == "skip_connect":
                terms.append(src_key)
            else:
                terms.append(f"({src_key})@{op}")
        keys.append("+".join(sorted(terms)))
    return keys[3]


@functools.lru_cache(maxsize=1)
def _iso_table() -> dict[str, int]:
    # Class key -> smallest official index in the class (HW-NAS-Bench-360's rep_arch_idx rule).
    reps: dict[str, int] = {}
    for i, arch in enumerate(_official_order()[0]):
        reps.setdefault(unique_str(arch), i)
    return reps


def iso_representative(arch: Arch | str) -> int:
    """Official index of the representative of ``arch``'s isomorphism class (its smallest index)."""
    return _iso_table()[unique_str(arch)]


def num_iso_classes() -> int:
    """Number of isomorphism classes of the benchmark's de-duplication (6,466)."""
    return len(_iso_table())


# ---- whole-network computation graphs ----------------------------------------------------------

#: NAS-Bench-201 macro skeleton (TinyNetwork): stem width and cells per stage.
STEM_CHANNELS = 16
CELLS_PER_STAGE = 5

CONFIGS: dict[str, NetworkConfig] = {
    "cifar10": NetworkConfig("cifar10", (3, 32, 32), 10),
    "cifar100": NetworkConfig("cifar100", (3, 32, 32), 100),
    "imagenet16-120": NetworkConfig("imagenet16-120", (3, 16, 16), 120),
}

_NUM_FIELDS = len(NODE_FIELDS)


class _Block(NamedTuple):
    """A pre-built run of nodes: columns in NODE_FIELDS order and edges in local indices.

    Local index -1 is the block's input, i.e. the node just before the block in the graph; the
    block's output is its last node. Blocks are cached and never mutated.
    """

    cols: tuple[tuple, ...]
    src: tuple[int, ...]
    dst: tuple[int, ...]

    @property
    def n(self) -> int:
        return len(self.cols[0])


def _block(in_shape: Shape, body: Callable[[GraphBuilder, int], object], keep_input: bool = False) -> _Block:
    """Run ``body`` on a builder fed by a placeholder input of ``in_shape`` and keep its nodes.

    Going through :class:`GraphBuilder` keeps shapes, params and FLOPs exactly as the op
    vocabulary infers them; the placeholder input is dropped unless ``keep_input``.
    """
    b = GraphBuilder("nb201", "", in_shape, 0)
    body(b, b.input())
    g, skip = b.graph, 0 if keep_input else 1
    cols = tuple(tuple(g.nodes[name][skip:]) for name in NODE_FIELDS)
    return _Block(cols, tuple(s - skip for s in g.src), tuple(d - skip for d in g.dst))


def _relu_conv_bn(b: GraphBuilder, x: int, c_out: int, kernel: int, stride: int = 1) -> int:
    # ReLUConvBN of NAS-Bench-201: affine BN, so the conv has no bias.
    return b.batch_norm(b.conv(b.relu(x), c_out, kernel, stride=stride, padding=(kernel - 1) // 2, bias=False))


_CELL_OPS: dict[str, Callable[[GraphBuilder, int], object]] = {
    "none": lambda b, x: b.zero(x),
    "skip_connect": lambda b, x: b.identity(x),
    "nor_conv_1x1": lambda b, x: _relu_conv_bn(b, x, b.shape(x)[0], 1),
    "nor_conv_3x3": lambda b, x: _relu_conv_bn(b, x, b.shape(x)[0], 3),
    "avg_pool_3x3": lambda b, x: b.avg_pool(x, 3, stride=1, padding=1),
}
assert set(_CELL_OPS) == set(NB201_OPS), "every NB201 op needs a CG fragment"


@functools.lru_cache(maxsize=None)
def _op_block(op: str, shape: Shape) -> _Block:
    return _block(shape, _CELL_OPS[op])


@functools.lru_cache(maxsize=None)
def _add_block(arity: int, shape: Shape) -> _Block:
    # Just the add node's columns; the cell wires its inputs.
    return _block(shape, lambda b, x: b.add(*([x] * arity)))


@functools.lru_cache(maxsize=None)
def _stem_block(input_shape: Shape) -> _Block:
    return _block(input_shape, lambda b, x: b.batch_norm(b.conv(x, STEM_CHANNELS, 3, padding=1, bias=False)),
                  keep_input=True)


def _resnet_body(c_out: int) -> Callable[[GraphBuilder, int], object]:
    def body(b: GraphBuilder, x: int) -> int:
        main = _relu_conv_bn(b, _relu_conv_bn(b, x, c_out, 3, stride=2), c_out, 3)
        shortcut = b.conv(b.avg_pool(x, 2, stride=2, padding=0), c_out, 1, padding=0, bias=False)
        return b.add(shortcut, main)

    return body


@functools.lru_cache(maxsize=None)
def _resnet_block(in_shape: Shape, c_out: int) -> _Block:
    return _block(in_shape, _resnet_body(c_out))


@functools.lru_cache(maxsize=None)
def _head_block(in_shape: Shape, num_classes: int) -> _Block:
    def body(b: GraphBuilder, x: int) -> None:
        b.output(b.linear(b.global_avg_pool(b.relu(b.batch_norm(x))), num_classes, bias=True))

    return _block(in_shape, body)


def _cell_block(arch: Arch, shape: Shape) -> _Block:
    """One InferCell: node j = sum of op(node i) over its incoming edges; output is node 3."""
    cols: list[list] = [[] for _ in range(_NUM_FIELDS)]
    src: list[int] = []
    dst: list[int] = []
    node_out = [-1, 0, 0, 0]  # local index holding each cell node's tensor; -1 = cell input
    for target in (1, 2, 3):
        terms = []
        for e in _IN_EDGES[target]:
            frag = _op_block(arch[e], shape)
            base, inp = len(cols[0]), node_out[EDGES[e][0]]
            for col, values in zip(cols, frag.cols):
                col.extend(values)
            src.extend(inp if s < 0 else s + base for s in frag.src)
            dst.extend(d + base for d in frag.dst)
            terms.append(len(cols[0]) - 1)
        if len(terms) == 1:
            node_out[target] = terms[0]
            continue
        add = _add_block(len(terms), shape)
        for col, values in zip(cols, add.cols):
            col.extend(values)
        node_out[target] = len(cols[0]) - 1
        src.extend(terms)
        dst.extend([node_out[target]] * len(terms))
    return _Block(tuple(tuple(c) for c in cols), tuple(src), tuple(dst))


def _append(cols: list[list], src: list[int], dst: list[int], block: _Block, times: int = 1) -> None:
    start, n = len(cols[0]), block.n
    for col, values in zip(cols, block.cols):
        col.extend(values * times)
    for r in range(times):
        # Local -1 maps to base - 1: the previous block's output is the node right before.
        base = start + r * n
        src.extend([s + base for s in block.src])
        dst.extend([d + base for d in block.dst])


def build_network(arch: Arch | str, config: NetworkConfig) -> ComputationGraph:
    """The whole NAS-Bench-201 network (TinyNetwork, C=16, N=5) for ``arch`` as a CG.

    stem conv3x3 + BN; 5 cells at 16 channels; ResNet block to 32 (stride 2); 5 cells; ResNet
    block to 64 (stride 2); 5 cells; BN + ReLU; global average pool; linear head.
    """
    a = _as_arch(arch)
    c, h, w = config.input_shape
    cols: list[list] = [[] for _ in range(_NUM_FIELDS)]
    src: list[int] = []
    dst: list[int] = []
    _append(cols, src, dst, _stem_block((c, h, w)))
    shape = (STEM_CHANNELS, h, w)
    for stage in range(3):
        if stage:
            in_shape = shape
            shape = (shape[0] * 2, (shape[1] - 1) // 2 + 1, (shape[2] - 1) // 2 + 1)
            _append(cols, src, dst, _resnet_block(in_shape, shape[0]))
        _append(cols, src, dst, _cell_block(a, shape), CELLS_PER_STAGE)
    _append(cols, src, dst, _head_block(shape, config.num_classes))
    nodes = dict(zip(NODE_FIELDS, cols))
    return ComputationGraph("nb201", format_arch_str(a), config.input_shape, config.num_classes, config.name,
                            nodes=nodes, src=src, dst=dst)


# ---- the search space ----------------------------------------------------------------------------

@SPACES.register("nb201")
class NB201Space(EdgeOpCellSpace):
    """NAS-Bench-201 / NATS-Bench topology space: 15,625 cells, official index order and classes.

    An architecture is a tuple of 6 op names in string order (:data:`EDGES`). ``coerce`` accepts
    the official string, a tuple/list of op names or an official index.
    """

    name = "nb201"
    configs = CONFIGS
    cell_ops = NB201_OPS
    num_edges = len(EDGES)

    def parse(self, text: str) -> Arch:
        return parse_arch_str(text)

    def format(self, arch: Arch) -> str:
        return format_arch_str(arch)

    def coerce(self, arch: Any) -> Arch:
        if isinstance(arch, bool) or not isinstance(arch, (str, tuple, list, numbers.Integral)):
            raise EncodingError(
                f"NB201 architecture must be a string, a tuple of {len(EDGES)} op names or an official index "
                f"0..{NUM_ARCHS - 1}, found {type(arch).__name__} {arch!r}")
        if isinstance(arch, numbers.Integral):
            return index_to_arch(arch)
        return _as_arch(arch)

    def enumerate(self) -> Iterator[Arch]:
        """All 15,625 architectures in official index order."""
        return iter(_official_order()[0])

    def size(self) -> int:
        return NUM_ARCHS

    def arch_key(self, arch: Arch) -> str:
        """The official index, zero-padded to 5 digits (``arch_id`` is ``"nb201:00042"``)."""
        return f"{arch_to_index(self.coerce(arch)):05d}"

    def index_to_arch(self, index: int) -> Arch:
        return index_to_arch(index)

    def arch_to_index(self, arch: Arch | str) -> int:
        return arch_to_index(arch)

    def unique_str(self, arch: Arch | str) -> str:
        return unique_str(arch)

    def iso_representative(self, arch: Arch | str) -> int:
        return iso_representative(arch)

    def representative(self, arch: Arch | str | int) -> Arch:
        """The architecture representing ``arch``'s isomorphism class (smallest official index)."""
        return index_to_arch(iso_representative(self.coerce(arch)))

    def build_cg(self, arch: Arch | str | int, config: str | None = None) -> ComputationGraph:
        """The whole network at atomic-op level (see :func:`build_network`)."""
        return build_network(self.coerce(arch), self.config(config))
