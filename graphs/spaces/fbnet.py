"""The FBNet search space as HW-NAS-Bench and HELP define it (22 searchable layers x 9 blocks).

An architecture is a tuple of 22 op indices into :data:`FBNET_OPS` (HW-NAS-Bench's order, which
HELP's ``arch.pt`` and nasflat's ``zc_fbnet.json`` use). The native string joins the op names
with ``-``: ``"k5_e6-skip-k3_e1_g2-..."``.

The network (HW-NAS-Bench's ``FBNet_Infer``, FBNet-v1 macro): stem conv3x3 16 + BN + ReLU; 7
stages of 1, 4, 4, 4, 4, 4, 1 searchable layers with 16, 24, 32, 64, 112, 184, 352 channels (the
first layer of a stage changes width and stride); a 1x1 conv head + BN + ReLU; global average
pool; linear classifier. Configs:

* ``cifar100`` (HELP's latency data: ``metainfo.pt`` says CIFAR-100, 100 classes): 3x32x32 input,
  stem stride 1, stage strides 1, 1, 2, 2, 1, 2, 1, head 1504 channels;
* ``imagenet``: 3x224x224, stem stride 2, stage strides 1, 2, 2, 2, 1, 2, 1, head 1984 channels.

Blocks ``kK_eE[_g2]``: 1x1 conv (groups G) to E x C_in channels + BN + ReLU; depthwise KxK
(stride s) + BN + ReLU; 1x1 conv (groups G) to C_out + BN; plus the input when C_in == C_out and
s == 1. ``skip`` is the identity, or 1x1 conv (stride s) + BN + ReLU when the shape changes. All
convs are bias-free.

Channel shuffle: with groups 2 (``_g2`` blocks) HW-NAS-Bench's ``ConvBlock`` shuffles channels
between the expansion conv (after its BN + ReLU) and the depthwise conv: a ``channel_shuffle``
node with groups 2 (a fixed permutation: no parameters, no FLOPs).
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

#: The 9 candidate blocks, in HW-NAS-Bench's / HELP's index order.
FBNET_OPS: tuple[str, ...] = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")
#: (kernel, expansion, groups) of each block; None for skip.
BLOCKS: dict[str, tuple[int, int, int] | None] = {
    "k3_e1": (3, 1, 1), "k3_e1_g2": (3, 1, 2), "k3_e3": (3, 3, 1), "k3_e6": (3, 6, 1),
    "k5_e1": (5, 1, 1), "k5_e1_g2": (5, 1, 2), "k5_e3": (5, 3, 1), "k5_e6": (5, 6, 1), "skip": None,
}
assert tuple(BLOCKS) == FBNET_OPS

STAGE_LAYERS: tuple[int, ...] = (1, 4, 4, 4, 4, 4, 1)
STAGE_CHANNELS: tuple[int, ...] = (16, 24, 32, 64, 112, 184, 352)
STEM_CHANNELS = 16
NUM_LAYERS = sum(STAGE_LAYERS)
NUM_ARCHS = len(FBNET_OPS) ** NUM_LAYERS

FBNetArch = tuple[int, ...]


class Macro(NamedTuple):
    """The fixed part of the network for one config."""

    stem_stride: int
    stage_strides: tuple[int, ...]
    head_channels: int


CONFIGS: dict[str, NetworkConfig] = {
    "cifar100": NetworkConfig("cifar100", (3, 32, 32), 100),
    "imagenet": NetworkConfig("imagenet", (3, 224, 224), 1000),
}
MACROS: dict[str, Macro] = {
    "cifar100": Macro(1, (1, 1, 2, 2, 1, 2, 1), 1504),
    "imagenet": Macro(2, (1, 2, 2, 2, 1, 2, 1), 1984),
}

#: Published FBNet models in this space (Wu et al. 2019; facebookresearch's model definitions).
FBNET_ABC: dict[str, tuple[str, ...]] = {
    "fbnet_a": ("skip",
                "k3_e3", "k3_e1", "skip", "skip",
                "k5_e6", "k3_e3", "k5_e1", "k3_e3",
                "k5_e6", "k5_e3", "k5_e1_g2", "k5_e6",
                "k3_e6", "k5_e1_g2", "k5_e1", "k3_e1_g2",
                "k5_e6", "k5_e6", "k5_e3", "k5_e6",
                "k5_e6"),
    "fbnet_b": ("k3_e1",
                "k3_e6", "k5_e1", "k3_e1", "k3_e1",
                "k5_e6", "k5_e3", "k3_e6", "k5_e6",
                "k5_e6", "k5_e1", "skip", "k5_e3",
                "k5_e6", "k3_e1", "k5_e1", "k5_e3",
                "k5_e6", "k5_e1", "k5_e6", "k5_e6",
                "k3_e6"),
    "fbnet_c": ("k3_e1",
                "k3_e6", "skip", "k3_e1", "k3_e1",
                "k5_e6", "k5_e3", "k5_e6", "k3_e6",
                "k5_e6", "k5_e3", "k5_e6", "k5_e6",
                "k5_e6", "k5_e6", "k5_e6", "k5_e3",
                "k5_e6", "k5_e6", "k5_e6", "k5_e6",
                "k3_e6"),
}

_OP_INDEX = {name: i for i, name in enumerate(FBNET_OPS)}


# ---- encodings -------------------------------------------------------------------------------------

def check_arch(arch: Any) -> FBNetArch:
    """Validate a sequence of 22 op indices (0..8); returns it as a tuple of ints."""
    if not isinstance(arch, (tuple, list)) or len(arch) != NUM_LAYERS:
        n = len(arch) if isinstance(arch, (tuple, list)) else type(arch).__name__
        raise EncodingError(f"FBNet architecture needs {NUM_LAYERS} op indices (0..{len(FBNET_OPS) - 1}), found {n}: {arch!r:.120}")
    for layer, op in enumerate(arch):
        if isinstance(op, bool) or not isinstance(op, numbers.Integral) or not 0 <= op < len(FBNET_OPS):
            raise EncodingError(f"FBNet layer {layer} must have an op index in 0..{len(FBNET_OPS) - 1} "
                                f"({', '.join(FBNET_OPS)}), found {op!r}")
    return tuple(int(op) for op in arch)


def parse_arch(text: str) -> FBNetArch:
    """``"k5_e6-skip-...-k5_e1_g2"`` (22 op names) -> op indices."""
    if not isinstance(text, str):
        raise EncodingError(f"FBNet architecture must be a string of {NUM_LAYERS} '-'-joined op names, found {type(text).__name__}")
    names = text.strip().split("-")
    if len(names) != NUM_LAYERS:
        raise EncodingError(f"FBNet string must join {NUM_LAYERS} op names with '-', found {len(names)} in {text!r:.200}")
    out = []
    for layer, name in enumerate(names):
        try:
            out.append(_OP_INDEX[name])
        except KeyError:
            raise EncodingError(f"unknown FBNet op {name!r} at layer {layer}; expected one of: {', '.join(FBNET_OPS)}") from None
    return tuple(out)


def format_arch(arch: Sequence[int]) -> str:
    """Op indices -> ``"k5_e6-skip-...``"."""
    return "-".join(FBNET_OPS[i] for i in check_arch(arch))


def arch_from_indices(text: str) -> FBNetArch:
    """nasflat's key ``"2_8_6_..."`` (22 '_'-joined op indices) -> architecture."""
    parts = text.strip().split("_") if isinstance(text, str) else None
    if not parts or not all(p.isdigit() for p in parts):
        raise EncodingError(f"FBNet index key must be {NUM_LAYERS} '_'-joined op indices like '2_8_6_...', found {text!r:.120}")
    return check_arch([int(p) for p in parts])


# ---- whole network -------------------------------------------------------------------------------

def _block_body(op: str, c_out: int, stride: int):
    def body(b: GraphBuilder, x: int) -> object:
        c_in = b.shape(x)[0]
        spec = BLOCKS[op]
        if spec is None:
            if stride == 1 and c_in == c_out:
                return b.identity(x)
            return b.relu(b.batch_norm(b.conv(x, c_out, 1, stride=stride, padding=0)))
        kernel, expansion, groups = spec
        mid = c_in * expansion
        y = b.relu(b.batch_norm(b.conv(x, mid, 1, padding=0, groups=groups)))
        if groups > 1:
            y = b.add_node("channel_shuffle", [y], groups=groups)
        y = b.relu(b.batch_norm(b.dwconv(y, kernel, stride=stride, padding=kernel // 2)))
        y = b.batch_norm(b.conv(y, c_out, 1, padding=0, groups=groups))
        return b.add(y, x) if c_in == c_out and stride == 1 else y

    return body


@functools.lru_cache(maxsize=None)
def _block_fragment(op: str, in_shape: Shape, c_out: int, stride: int) -> Fragment:
    return make_fragment([in_shape], _block_body(op, c_out, stride))


@functools.lru_cache(maxsize=None)
def _stem_fragment(input_shape: Shape, stride: int) -> Fragment:
    return make_fragment([input_shape], lambda b, x: b.relu(b.batch_norm(b.conv(x, STEM_CHANNELS, 3, stride=stride, padding=1))))


@functools.lru_cache(maxsize=None)
def _head_fragment(in_shape: Shape, channels: int, num_classes: int) -> Fragment:
    def body(b: GraphBuilder, x: int) -> object:
        x = b.relu(b.batch_norm(b.conv(x, channels, 1, padding=0)))
        return b.output(b.linear(b.global_avg_pool(x), num_classes, bias=True))

    return make_fragment([in_shape], body)


def layer_plan(macro: Macro) -> list[tuple[int, int]]:
    """(output channels, stride) of each of the 22 searchable layers."""
    plan = []
    for channels, n, stride in zip(STAGE_CHANNELS, STAGE_LAYERS, macro.stage_strides):
        plan.extend([(channels, stride)] + [(channels, 1)] * (n - 1))
    return plan


def build_network(arch: FBNetArch, config: NetworkConfig) -> ComputationGraph:
    """The whole FBNet network for ``arch`` under ``config`` as a computation graph."""
    macro = MACROS[config.name]
    asm = Assembler()
    x = asm.add(_stem_fragment(config.input_shape, macro.stem_stride), asm.input(config.input_shape))
    for op, (c_out, stride) in zip(arch, layer_plan(macro)):
        x = asm.add(_block_fragment(FBNET_OPS[op], asm.shape(x), c_out, stride), x)
    asm.add(_head_fragment(asm.shape(x), macro.head_channels, config.num_classes), x)
    return asm.finish("fbnet", format_arch(arch), config.input_shape, config.num_classes, config.name)


# ---- the search space ----------------------------------------------------------------------------

@SPACES.register("fbnet")
class FBNetSpace(SearchSpace):
    """FBNet space of HW-NAS-Bench / HELP: 9^22 networks, one block choice per searchable layer.

    ``coerce`` accepts the native string, nasflat's ``"2_8_6_..."`` index key, or a sequence of
    22 op indices (HELP's ``arch.pt`` rows).
    """

    name = "fbnet"
    configs = CONFIGS

    def parse(self, text: str) -> FBNetArch:
        return parse_arch(text)

    def format(self, arch: FBNetArch) -> str:
        return format_arch(arch)

    def coerce(self, arch: Any) -> FBNetArch:
        if isinstance(arch, str):
            return arch_from_indices(arch) if arch.strip()[:1].isdigit() else parse_arch(arch)
        return check_arch(arch)

    def sample(self, rng: random.Random) -> FBNetArch:
        if not isinstance(rng, random.Random):
            raise TypeError(f"sample needs a random.Random (e.g. random.Random(seed)), found {type(rng).__name__}")
        return tuple(rng.randrange(len(FBNET_OPS)) for _ in range(NUM_LAYERS))

    def mutate(self, arch: FBNetArch, rng: random.Random) -> FBNetArch:
        """Change the block of one uniformly chosen layer to one of the 8 others."""
        if not isinstance(rng, random.Random):
            raise TypeError(f"mutate needs a random.Random (e.g. random.Random(seed)), found {type(rng).__name__}")
        a = list(self.coerce(arch))
        layer = rng.randrange(NUM_LAYERS)
        a[layer] = rng.choice([i for i in range(len(FBNET_OPS)) if i != a[layer]])
        return tuple(a)

    def enumerate(self) -> Iterator[FBNetArch]:
        raise NotImplementedError(f"the FBNet space has 9^22 = {NUM_ARCHS:.3g} architectures; it cannot be enumerated")

    def size(self) -> int:
        return NUM_ARCHS

    def arch_key(self, arch: FBNetArch) -> str:
        """The 22 op indices as digits, e.g. ``"2863848418780625260277"``."""
        return "".join(str(i) for i in self.coerce(arch))

    def build_cg(self, arch: FBNetArch | str, config: str | None = None) -> ComputationGraph:
        return build_network(self.coerce(arch), self.config(config))

    def named(self, name: str) -> FBNetArch:
        """A published model of this space: ``"fbnet_a"``, ``"fbnet_b"`` or ``"fbnet_c"``."""
        try:
            return tuple(_OP_INDEX[op] for op in FBNET_ABC[name])
        except KeyError:
            raise EncodingError(f"unknown published FBNet model {name!r}; expected one of: {', '.join(FBNET_ABC)}") from None
