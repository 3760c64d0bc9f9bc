"""Once-for-All MobileNetV3 (width 1.0) sub-networks, as sampled by OFA and used by HELP.

An architecture is ``(ks, e, d, r)``: 20 kernel sizes (3, 5, 7) and 20 expand ratios (3, 4, 6),
four per stage for 5 stages, the depth (2, 3, 4) of each stage and the input resolution (128 to
224 in steps of 4). A stage of depth ``d`` runs its first ``d`` blocks; the settings of the
other blocks are kept in the encoding (OFA samples all 20, HELP stores them) but do not change
the network. Native string: ``"ks=7,5,...;e=6,4,...;d=2,2,2,2,3;r=204"``.

The network (OFA's ``OFAMobileNetV3``, ``ofa_mbv3_d234_e346_k357_w1.0``): first conv 3x3 stride 2
to 16 channels + BN + h-swish; first block (depthwise 3x3 + BN + ReLU, 1x1 to 16 + BN, identity
shortcut); 5 stages of widths 24, 40, 80, 112, 160, strides 2, 2, 2, 1, 2, activations ReLU,
ReLU, h-swish, h-swish, h-swish, squeeze-and-excitation in stages 2, 4 and 5; final expand 1x1 to
960 + BN + h-swish; global average pool; feature mix 1x1 to 1280 (no BN, no bias) + h-swish;
linear classifier (1000 classes; dropout is not part of the graph).

A block with kernel k and expand ratio e: 1x1 conv to ``make_divisible(C_in * e, 8)`` + BN + act;
depthwise kxk (stride s) + BN + act; optional SE; 1x1 conv to C_out + BN; plus the input when
s == 1 and C_in == C_out. SE (OFA's ``SEModule``): global average pool, 1x1 conv with bias to
``make_divisible(C // 4, 8)``, ReLU, 1x1 conv with bias back to C, h-sigmoid, and the block's
feature map multiplied by that C x 1 x 1 gate (``mul`` broadcasting the gate over H x W).
"""
from __future__ import annotations

import functools
import numbers
import random
from typing import Any, Iterator, NamedTuple, Sequence

from archbench.errors import EncodingError

from ..cg import ComputationGraph, GraphBuilder
from ..ops import Shape
from ._fragments import Assembler, Fragment, make_fragment
from .base import SPACES, NetworkConfig, SearchSpace

KERNEL_SIZES: tuple[int, ...] = (3, 5, 7)
EXPAND_RATIOS: tuple[int, ...] = (3, 4, 6)
DEPTHS: tuple[int, ...] = (2, 3, 4)
RESOLUTIONS: tuple[int, ...] = tuple(range(128, 225, 4))
NUM_STAGES = 5
MAX_DEPTH = max(DEPTHS)
NUM_BLOCKS = NUM_STAGES * MAX_DEPTH

FIRST_CONV_CHANNELS = 16
FIRST_BLOCK_CHANNELS = 16
STAGE_WIDTHS: tuple[int, ...] = (24, 40, 80, 112, 160)
STAGE_STRIDES: tuple[int, ...] = (2, 2, 2, 1, 2)
STAGE_ACTS: tuple[str, ...] = ("relu", "relu", "hswish", "hswish", "hswish")
STAGE_SE: tuple[bool, ...] = (False, True, False, True, True)
FINAL_EXPAND_CHANNELS = 960
FEATURE_MIX_CHANNELS = 1280
SE_REDUCTION = 4
CHANNEL_DIVISIBLE = 8

#: Distinct sub-networks: per stage sum over depths of (3 kernels x 3 ratios)^depth, times resolutions.
NUM_NETWORKS = sum((len(KERNEL_SIZES) * len(EXPAND_RATIOS)) ** d for d in DEPTHS) ** NUM_STAGES * len(RESOLUTIONS)

CONFIGS: dict[str, NetworkConfig] = {
    # The input resolution comes from each architecture; 224 is the nominal size.
    "imagenet": NetworkConfig("imagenet", (3, 224, 224), 1000),
}


class OFAArch(NamedTuple):
    """One OFA MobileNetV3 sub-network.

    Attributes:
        ks: 20 kernel sizes, 4 per stage (blocks beyond a stage's depth are unused).
        e: 20 expand ratios, 4 per stage.
        d: depth of each of the 5 stages.
        r: input resolution (square).
    """

    ks: tuple[int, ...]
    e: tuple[int, ...]
    d: tuple[int, ...]
    r: int


def make_divisible(value: float, divisor: int = CHANNEL_DIVISIBLE) -> int:
    """OFA's (and TF MobileNet's) rounding of a channel count to a multiple of ``divisor``, at most 10% down."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


# ---- encodings -------------------------------------------------------------------------------------

def _ints(values: Any, n: int, allowed: Sequence[int], what: str) -> tuple[int, ...]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values) != n:
        raise EncodingError(f"OFA MobileNetV3 '{what}' needs {n} values from {list(allowed)}, found {values!r:.200}")
    out = []
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or int(v) not in allowed:
            raise EncodingError(f"OFA MobileNetV3 '{what}'[{i}] must be one of {list(allowed)}, found {v!r}")
        out.append(int(v))
    return tuple(out)


def check_arch(arch: Any) -> OFAArch:
    """Validate ``(ks, e, d, r)`` (a tuple or a mapping with those keys, as in HELP's ``ofa_archs.pt``)."""
    if isinstance(arch, dict):
        missing = [k for k in OFAArch._fields if k not in arch]
        if missing:
            raise EncodingError(f"OFA MobileNetV3 architecture dict needs keys {list(OFAArch._fields)}, missing {missing}")
        arch = tuple(arch[k] for k in OFAArch._fields)
    if not isinstance(arch, (tuple, list)) or len(arch) != 4:
        raise EncodingError(f"OFA MobileNetV3 architecture must be (ks, e, d, r), found {arch!r:.200}")
    ks = _ints(arch[0], NUM_BLOCKS, KERNEL_SIZES, "ks")
    e = _ints(arch[1], NUM_BLOCKS, EXPAND_RATIOS, "e")
    d = _ints(arch[2], NUM_STAGES, DEPTHS, "d")
    (r,) = _ints([arch[3]], 1, RESOLUTIONS, "r")
    return OFAArch(ks, e, d, r)


def format_arch(arch: Any) -> str:
    """``(ks, e, d, r)`` -> ``"ks=7,5,...;e=6,4,...;d=2,2,2,2,3;r=204"``."""
    a = check_arch(arch)
    return ";".join(f"{k}={','.join(map(str, v)) if isinstance(v, tuple) else v}" for k, v in zip(OFAArch._fields, a))


def parse_arch(text: str) -> OFAArch:
    """``"ks=...;e=...;d=...;r=..."`` -> architecture; errors say what was expected and found."""
    if not isinstance(text, str):
        raise EncodingError(f"OFA MobileNetV3 architecture must be a string like 'ks=...;e=...;d=...;r=224', "
                            f"found {type(text).__name__}")
    parts = text.strip().split(";")
    keys = [p.partition("=")[0] for p in parts]
    if keys != list(OFAArch._fields) or any("=" not in p for p in parts):
        raise EncodingError(f"OFA MobileNetV3 string must be 'ks=...;e=...;d=...;r=...' in this order, "
                            f"found fields {keys} in {text!r:.200}")
    values = []
    for p in parts:
        key, _, body = p.partition("=")
        try:
            values.append([int(v) for v in body.split(",")])
        except ValueError:
            raise EncodingError(f"OFA MobileNetV3 field {key!r} must be comma-separated integers, found {body!r}") from None
    if len(values[3]) != 1:
        raise EncodingError(f"OFA MobileNetV3 field 'r' must be one resolution, found {parts[3]!r}")
    return check_arch((values[0], values[1], values[2], values[3][0]))


def active_blocks(arch: OFAArch) -> list[tuple[int, int, int]]:
    """(stage, kernel, expand ratio) of every block the network runs, in order."""
    out = []
    for stage, depth in enumerate(arch.d):
        for i in range(depth):
            b = stage * MAX_DEPTH + i
            out.append((stage, arch.ks[b], arch.e[b]))
    return out


# ---- whole network -------------------------------------------------------------------------------

def _se(b: GraphBuilder, x: int) -> int:
    c = b.shape(x)[0]
    g = b.global_avg_pool(x)
    g = b.relu(b.conv(g, make_divisible(c // SE_REDUCTION), 1, padding=0, bias=True))
    g = b.act(b.conv(g, c, 1, padding=0, bias=True), "hsigmoid")
    return b.mul(x, g)  # the C x 1 x 1 gate broadcasts over H x W


def _mbconv_body(c_out: int, kernel: int, expand: int, stride: int, act: str, se: bool):
    def body(b: GraphBuilder, x: int) -> object:
        c_in = b.shape(x)[0]
        y = x
        if expand != 1:
            y = b.act(b.batch_norm(b.conv(y, make_divisible(round(c_in * expand)), 1, padding=0)), act)
        y = b.act(b.batch_norm(b.dwconv(y, kernel, stride=stride, padding=kernel // 2)), act)
        if se:
            y = _se(b, y)
        y = b.batch_norm(b.conv(y, c_out, 1, padding=0))
        return b.add(y, x) if stride == 1 and c_in == c_out else y

    return body


@functools.lru_cache(maxsize=None)
def _block_fragment(in_shape: Shape, c_out: int, kernel: int, expand: int, stride: int, act: str, se: bool) -> Fragment:
    return make_fragment([in_shape], _mbconv_body(c_out, kernel, expand, stride, act, se))


@functools.lru_cache(maxsize=None)
def _stem_fragment(input_shape: Shape) -> Fragment:
    def body(b: GraphBuilder, x: int) -> object:
        x = b.act(b.batch_norm(b.conv(x, FIRST_CONV_CHANNELS, 3, stride=2, padding=1)), "hswish")
        return _mbconv_body(FIRST_BLOCK_CHANNELS, 3, 1, 1, "relu", False)(b, x)

    return make_fragment([input_shape], body)


@functools.lru_cache(maxsize=None)
def _head_fragment(in_shape: Shape, num_classes: int) -> Fragment:
    def body(b: GraphBuilder, x: int) -> object:
        x = b.act(b.batch_norm(b.conv(x, FINAL_EXPAND_CHANNELS, 1, padding=0)), "hswish")
        x = b.act(b.conv(b.global_avg_pool(x), FEATURE_MIX_CHANNELS, 1, padding=0), "hswish")
        return b.output(b.linear(x, num_classes, bias=True))

    return make_fragment([in_shape], body)


def build_network(arch: OFAArch, config: NetworkConfig) -> ComputationGraph:
    """The OFA MobileNetV3 sub-network ``arch`` at its own resolution as a computation graph."""
    input_shape = (3, arch.r, arch.r)
    asm = Assembler()
    x = asm.add(_stem_fragment(input_shape), asm.input(input_shape))
    previous = -1
    for stage, kernel, expand in active_blocks(arch):
        first = stage != previous
        previous = stage
        frag = _block_fragment(asm.shape(x), STAGE_WIDTHS[stage], kernel, expand,
                               STAGE_STRIDES[stage] if first else 1, STAGE_ACTS[stage], STAGE_SE[stage])
        x = asm.add(frag, x)
    asm.add(_head_fragment(asm.shape(x), config.num_classes), x)
    return asm.finish("ofa_mbv3", format_arch(arch), input_shape, config.num_classes, config.name)


# ---- the search space ----------------------------------------------------------------------------

@SPACES.register("ofa_mbv3")
class OFAMobileNetV3Space(SearchSpace):
    """Once-for-All MobileNetV3 w1.0 sub-networks (kernel, expand ratio, depth, resolution).

    ``coerce`` accepts the native string, an :class:`OFAArch`/tuple ``(ks, e, d, r)`` or a dict
    with those keys (HELP's ``ofa_archs.pt`` entries). The graph's input shape is the
    architecture's resolution; the config sets the classifier width.
    """

    name = "ofa_mbv3"
    configs = CONFIGS

    def parse(self, text: str) -> OFAArch:
        return parse_arch(text)

    def format(self, arch: OFAArch) -> str:
        return format_arch(arch)

    def coerce(self, arch: Any) -> OFAArch:
        return parse_arch(arch) if isinstance(arch, str) else check_arch(arch)

    def sample(self, rng: random.Random) -> OFAArch:
        """Every setting uniform, as OFA's ``sample_active_subnet`` (plus a uniform resolution)."""
        if not isinstance(rng, random.Random):
            raise TypeError(f"sample needs a random.Random (e.g. random.Random(seed)), found {type(rng).__name__}")
        ks = tuple(rng.choice(KERNEL_SIZES) for _ in range(NUM_BLOCKS))
        e = tuple(rng.choice(EXPAND_RATIOS) for _ in range(NUM_BLOCKS))
        d = tuple(rng.choice(DEPTHS) for _ in range(NUM_STAGES))
        return OFAArch(ks, e, d, rng.choice(RESOLUTIONS))

    def mutate(self, arch: OFAArch, rng: random.Random) -> OFAArch:
        """One change the network feels: a running block's kernel or ratio, a stage's depth, or the resolution."""
        if not isinstance(rng, random.Random):
            raise TypeError(f"mutate needs a random.Random (e.g. random.Random(seed)), found {type(rng).__name__}")
        a = self.coerce(arch)
        running = [s * MAX_DEPTH + i for s, depth in enumerate(a.d) for i in range(depth)]
        choices = [("ks", b) for b in running] + [("e", b) for b in running] + [("d", s) for s in range(NUM_STAGES)] + [("r", 0)]
        field, i = rng.choice(choices)
        if field == "r":
            return a._replace(r=rng.choice([r for r in RESOLUTIONS if r != a.r]))
        allowed = {"ks": KERNEL_SIZES, "e": EXPAND_RATIOS, "d": DEPTHS}[field]
        values = list(getattr(a, field))
        values[i] = rng.choice([v for v in allowed if v != values[i]])
        return a._replace(**{field: tuple(values)})

    def enumerate(self) -> Iterator[OFAArch]:
        raise NotImplementedError(f"the OFA MobileNetV3 space has {NUM_NETWORKS:.3g} sub-networks; it cannot be enumerated")

    def size(self) -> int:
        """Distinct sub-networks (settings of blocks a stage does not run are not counted)."""
        return NUM_NETWORKS

    def build_cg(self, arch: OFAArch | str, config: str | None = None) -> ComputationGraph:
        return build_network(self.coerce(arch), self.config(config))

    def max_net(self, resolution: int = 224) -> OFAArch:
        """The largest sub-network (kernel 7, ratio 6, depth 4 everywhere)."""
        return check_arch(((7,) * NUM_BLOCKS, (6,) * NUM_BLOCKS, (4,) * NUM_STAGES, resolution))

    def min_net(self, resolution: int = 128) -> OFAArch:
        """The smallest sub-network (kernel 3, ratio 3, depth 2 everywhere)."""
        return check_arch(((3,) * NUM_BLOCKS, (3,) * NUM_BLOCKS, (2,) * NUM_STAGES, resolution))
