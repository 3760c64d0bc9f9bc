"""SpikeNAS-Bench: 15,625 spiking-neural-network cells (NB201-like 4-node cell, 5 ops per edge).

A cell is a 4-node DAG whose 6 edges each carry one of :data:`SPIKENAS_OPS`, in the benchmark's
code order: ``none`` (output times 0), ``skip_connect``, and three spiking convolutions
``lif<threshold>_conv3x3`` = leaky integrate-and-fire neuron (firing threshold 0.5, 1.0 or 1.5;
tau = 4/3, hard reset to 0) -> 3x3 conv (no bias) -> BatchNorm. Node j sums its incoming edges,
node 3 is the cell output (NAS-Bench-201's cell). The native encoding is NB201's string with
these op names, ``|lif1.0_conv3x3~0|+|skip_connect~0|none~1|+|...~0|...~1|...~2|``.

The benchmark's ``arch_id`` (0..15624) writes the op codes in base 5: the digit of weight 5**p
is the op of edge :data:`ID_EDGES` [p] = (0,1), (0,2), (0,3), (1,2), (1,3), (2,3)
(:func:`id_to_arch`, :func:`arch_to_id`).

The network (SNASNet of the benchmark, "forward" cells, 5 time steps): stem conv3x3 (128, no
bias) + BN; cell at 128 channels; BN -> LIF(1.0) -> conv3x3 to 256 -> BN -> 2x2 average pool;
cell at 256 channels; BN -> LIF(1.0); 2x2 average pool; flatten; linear (no bias) -> LIF(1.0) ->
linear to ``classes * cluster`` output neurons; mean over groups of ``cluster`` neurons
(``channel_avg_pool``, the benchmark's "boost" voting layer). The computation graph is one
simulation time step (the benchmark runs 5 and averages the outputs; its stem runs once);
dropout is not part of the graph. Parameters equal the benchmark's ``params`` exactly
(CIFAR-10: 17,179,620 + 738,048 per spiking-conv edge).
"""
from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Iterator

from archbench.errors import EncodingError

from ..cg import ComputationGraph, GraphBuilder
from ._cellstr import format_cell_str, parse_cell_str
from .base import SPACES, EdgeOpCellSpace, NetworkConfig

#: The benchmark's ops in code order 0..4.
SPIKENAS_OPS: tuple[str, ...] = ("none", "skip_connect", "lif0.5_conv3x3", "lif1.0_conv3x3", "lif1.5_conv3x3")
#: Firing threshold (thousandths, the ``lif`` op's ``kernel``) of each spiking conv op.
_THRESHOLD: dict[str, int] = {"lif0.5_conv3x3": 500, "lif1.0_conv3x3": 1000, "lif1.5_conv3x3": 1500}
#: Membrane decay 1/tau in thousandths (tau = 4/3), the ``lif`` op's ``dilation``.
LIF_DECAY = 750
#: Threshold of the LIF neurons outside the cells (the benchmark's ``threshold_middle``).
_MIDDLE = 1000
#: Edge (source, target) of each position of an architecture tuple, in string (= cell evaluation) order.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
#: Edge of each base-5 digit of ``arch_id``, least significant first.
ID_EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
_ID_POS = tuple(EDGES.index(e) for e in ID_EDGES)
NUM_ARCHS = len(SPIKENAS_OPS) ** len(EDGES)
_CODE = {op: i for i, op in enumerate(SPIKENAS_OPS)}

Arch = tuple[str, str, str, str, str, str]


def parse_arch_str(text: str) -> Arch:
    """``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` -> tuple of 6 op names; errors say what was expected and found."""
    return parse_cell_str(text, _CODE, "SpikeNAS", SPIKENAS_OPS)  # type: ignore[return-value]


def format_arch_str(arch: Arch) -> str:
    """Tuple of 6 op names -> the SpikeNAS string."""
    return format_cell_str(_as_arch(arch))


def _as_arch(arch: Any) -> Arch:
    if isinstance(arch, str):
        return parse_arch_str(arch)
    if not isinstance(arch, (tuple, list)) or len(arch) != len(EDGES):
        raise EncodingError(f"SpikeNAS architecture must be a string or {len(EDGES)} op names, found {arch!r}")
    for op in arch:
        if op not in _CODE:
            raise EncodingError(f"unknown SpikeNAS op {op!r}; expected one of: {', '.join(SPIKENAS_OPS)}")
    return tuple(arch)  # type: ignore[return-value]


def id_to_arch(arch_id: int) -> Arch:
    """The benchmark's ``arch_id`` (0..15624) -> architecture tuple."""
    if isinstance(arch_id, bool) or not isinstance(arch_id, numbers.Integral) or not 0 <= arch_id < NUM_ARCHS:
        raise EncodingError(f"SpikeNAS arch_id must be an integer in 0..{NUM_ARCHS - 1}, found {arch_id!r}")
    ops = [""] * len(EDGES)
    n = int(arch_id)
    for pos in _ID_POS:
        n, digit = divmod(n, len(SPIKENAS_OPS))
        ops[pos] = SPIKENAS_OPS[digit]
    return tuple(ops)  # type: ignore[return-value]


def arch_to_id(arch: Arch | str) -> int:
    """Architecture tuple or string -> the benchmark's ``arch_id``."""
    a = _as_arch(arch)
    return sum(_CODE[a[pos]] * len(SPIKENAS_OPS) ** p for p, pos in enumerate(_ID_POS))


# ---- the network -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SNNConfig:
    """Per-dataset settings of the benchmark's SNASNet."""

    name: str
    image: int
    classes: int
    cluster: int  # output neurons per class (averaged by the voting layer)
    classifier_hidden: int
    stem_stride: int

    @property
    def config(self) -> NetworkConfig:
        return NetworkConfig(self.name, (3, self.image, self.image), self.classes)


SNN_CONFIGS: dict[str, SNNConfig] = {c.name: c for c in (
    SNNConfig("cifar10", 32, 10, cluster=10, classifier_hidden=1024, stem_stride=1),
    SNNConfig("cifar100", 32, 100, cluster=5, classifier_hidden=1024, stem_stride=1),
    SNNConfig("tinyimagenet", 64, 200, cluster=5, classifier_hidden=4096, stem_stride=2),
)}
CONFIGS: dict[str, NetworkConfig] = {name: c.config for name, c in SNN_CONFIGS.items()}
STEM_CHANNELS = 128
#: Edges into each cell node 1, 2, 3 (positions in :data:`EDGES`).
_IN_EDGES = {t: tuple(e for e, (_, dst) in enumerate(EDGES) if dst == t) for t in (1, 2, 3)}


def _edge(b: GraphBuilder, op: str, x: int) -> int:
    if op == "none":
        return b.zero(x)
    if op == "skip_connect":
        return b.identity(x)
    s = b.add_node("lif", [x], kernel=_THRESHOLD[op], dilation=LIF_DECAY)
    return b.batch_norm(b.conv(s, b.shape(x)[0], 3, padding=1, bias=False))


def _cell(b: GraphBuilder, arch: Arch, x: int) -> int:
    node = [x, 0, 0, 0]
    for t in (1, 2, 3):
        terms = [_edge(b, arch[e], node[EDGES[e][0]]) for e in _IN_EDGES[t]]
        node[t] = terms[0] if len(terms) == 1 else b.add(*terms)
    return node[3]


def _lif(b: GraphBuilder, x: int) -> int:
    return b.add_node("lif", [x], kernel=_MIDDLE, dilation=LIF_DECAY)


def build_network(arch: Arch | str, config: SNNConfig) -> ComputationGraph:
    """The benchmark's SNASNet for ``arch`` (one time step) as a computation graph."""
    a = _as_arch(arch)
    c = config
    b = GraphBuilder("spikenas", format_arch_str(a), (3, c.image, c.image), c.classes, c.name)
    x = b.batch_norm(b.conv(b.input(), STEM_CHANNELS, 3, stride=c.stem_stride, padding=1, bias=False))
    x = _cell(b, a, x)
    x = b.avg_pool(b.batch_norm(b.conv(_lif(b, b.batch_norm(x)), 2 * STEM_CHANNELS, 3, padding=1, bias=False)), 2, 2)
    x = _cell(b, a, x)
    x = b.avg_pool(_lif(b, b.batch_norm(x)), 2, 2)
    x = _lif(b, b.linear(b.flatten(x), c.classifier_hidden, bias=False))
    x = b.linear(x, c.classes * c.cluster, bias=True)
    return b.output(b.add_node("channel_avg_pool", [x], kernel=c.cluster))


# ---- the search space ------------------------------------------------------------------------------------

@SPACES.register("spikenas")
class SpikeNASSpace(EdgeOpCellSpace):
    """SpikeNAS-Bench: all 15,625 spiking NB201-like cells (arch_key: the benchmark's arch_id, 5 digits)."""

    name = "spikenas"
    configs = CONFIGS
    cell_ops = SPIKENAS_OPS
    num_edges = len(EDGES)

    def parse(self, text: str) -> Arch:
        return parse_arch_str(text)

    def format(self, arch: Arch) -> str:
        return format_arch_str(arch)

    def coerce(self, arch: Any) -> Arch:
        if isinstance(arch, numbers.Integral) and not isinstance(arch, bool):
            return id_to_arch(arch)
        return _as_arch(arch)

    def enumerate(self) -> Iterator[Arch]:
        """All 15,625 architectures in ``arch_id`` order."""
        return (id_to_arch(i) for i in range(NUM_ARCHS))

    def size(self) -> int:
        return NUM_ARCHS

    def arch_key(self, arch: Arch) -> str:
        return f"{arch_to_id(self.coerce(arch)):05d}"

    def arch_to_id(self, arch: Arch | str) -> int:
        return arch_to_id(arch)

    def id_to_arch(self, arch_id: int) -> Arch:
        return id_to_arch(arch_id)

    def build_cg(self, arch: Arch | str | int, config: str | None = None) -> ComputationGraph:
        return build_network(self.coerce(arch), SNN_CONFIGS[self.config(config).name])
