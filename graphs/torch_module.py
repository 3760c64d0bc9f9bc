"""Executable PyTorch module for a computation graph: runs exactly what the graph says.

:func:`to_module` builds a :class:`GraphModule` with one submodule per node, named ``n<index>``
(``module.n12`` is node 12), from the single op -> layer table :data:`LAYERS`. ``forward`` runs
the nodes in topological order.

Tensor convention:

* feature maps are ``(N, C, H, W)``;
* vectors are ``(N, C)``: ``global_avg_pool`` and ``flatten`` return ``(N, C)``, ``linear`` maps
  ``(N, C_in) -> (N, C_out)``, and the output node returns ``(N, num_classes)`` logits;
* shape-preserving ops (norms, activations, add, mul, concat, identity, zero) keep their input's
  rank; ops that need a feature map (conv, pools) receive a vector as ``(N, C, 1, 1)``, ``linear``
  and the output receive a ``C x 1 x 1`` feature map flattened to ``(N, C)``, and an n-ary op
  with mixed ranks works on feature maps. These adapters are fixed when the module is built, so
  ``forward`` has no data-dependent control flow and traces with ``torch.fx``.

Layer semantics follow NAS-Bench-201 where it matters: ``avg_pool`` does not count padded zeros
(``count_include_pad=False``) and ``zero`` is ``x[:, :, ::s, ::s].mul(0.)`` when it keeps the
channel count (zeros of the node's output shape otherwise). ``batch_norm`` is ``BatchNorm2d`` on
feature maps and ``BatchNorm1d`` on vectors; ``layer_norm`` normalizes over channels. ``crop`` is
:class:`Crop` (``F.pad`` then ``x[:, :, k:, k:]``, as DARTS's and TransNAS-Bench-101's
FactorizedReduce write it) and ``channel_shuffle`` is ``torch.nn.ChannelShuffle``. Parameter
counts equal the graph's ``params`` for every graph.

Graph convolutions (``gcn_conv`` ... ``graph_conv``, see :mod:`archbench.graphs.ops`) run the
torch_geometric layer of the same name on node features laid out as a feature map
``(B, C, N, 1)`` (B graphs of N nodes that share one ``edge_index``); on a vector ``(B, C)`` every
sample is a one-node graph without edges. The graph comes as a second argument:
``module(x, edge_index)`` with ``edge_index`` long ``[2, E]`` (node indices 0..N-1); it is
required when a graph convolution sees more than one node. A graph whose output node has shape
``(num_classes, N, 1)`` after graph convolutions (node classification) returns per-node logits
``(B, N, num_classes)``. CNN graphs ignore ``edge_index`` and still trace with ``torch.fx``;
graphs with graph convolutions trace with :class:`LeafTracer` (torch_geometric layers as leaves).

Transformer graphs (vocabulary v3, see :mod:`archbench.graphs.ops`) lay sequences out as feature
maps ``(N, d, L, 1)`` and attention heads as ``(N, heads, M, N')``. Token ids come in as a float
map ``(N, 1, L, 1)`` (every input node of a graph receives the module's one argument, so an
encoder-decoder reads the same ids as source and target). A graph whose output is
``(num_classes, L, 1)`` after transformer ops returns per-position logits ``(N, L, num_classes)``.
A tied ``embedding`` or ``unembed`` (a node without parameters of its own, the second input an
``embedding`` with its table) reads the table of that node's layer, so ``module.parameters()``
holds every table once.

Recurrent and spiking ops compute one time step from the initial state: ``state`` gives zeros
(the initial hidden state), ``carry`` returns its first input, and ``lif`` fires where the
membrane potential after one step from rest, ``x / tau``, reaches the threshold; its backward
pass uses the arctan surrogate gradient (SpikingJelly's ``surrogate.ATan``, alpha = 2).

The module is built on the CPU in float32 with PyTorch's default initialization; move it with
``module.to(device, dtype)``.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator, NamedTuple

import torch
import torch.fx
from torch import Tensor, nn
from torch.nn import functional as F

from archbench.errors import GraphValidationError, UnknownOpError

from .ops import get_op

if TYPE_CHECKING:
    from .cg import ComputationGraph, Node

#: Tensor ranks: a feature map ``(N, C, H, W)`` or a vector ``(N, C)``.
MAP, VEC = 4, 2


# ---- layers without a direct torch.nn equivalent -------------------------------------------------

class Sum(nn.Module):
    """Element-wise sum of any number of equal-shape inputs."""

    def forward(self, *xs: Tensor) -> Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


class Product(nn.Module):
    """Element-wise product of any number of equal-shape inputs."""

    def forward(self, *xs: Tensor) -> Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out * x
        return out


class Concat(nn.Module):
    """Concatenation along channels (dim 1), in argument order."""

    def forward(self, *xs: Tensor) -> Tensor:
        return torch.cat(xs, dim=1)


class GlobalAvgPool(nn.Module):
    """Mean over all spatial positions: ``(N, C, H, W) -> (N, C)``."""

    def forward(self, x: Tensor) -> Tensor:
        return x.mean(dim=(2, 3))


class ChannelLayerNorm(nn.Module):
    """Layer normalization over the channel dim of a feature map (ConvNeXt's ``LayerNorm2d``).

    Args:
        channels: number of channels C.
        affine: learn a per-channel scale and shift (2*C parameters).
        eps: added to the variance.
    """

    def __init__(self, channels: int, affine: bool = True, eps: float = 1e-5) -> None:
        super().__init__()
        self.channels, self.eps = channels, eps
        self.weight = nn.Parameter(torch.ones(channels)) if affine else None
        self.bias = nn.Parameter(torch.zeros(channels)) if affine else None

    def forward(self, x: Tensor) -> Tensor:
        x = F.layer_norm(x.permute(0, 2, 3, 1), (self.channels,), self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class Zero(nn.Module):
    """NAS-Bench-201's ``none`` op: zeros of the node's output shape.

    With unchanged channels it is ``x[:, :, ::stride, ::stride].mul(0.)`` (which, like the
    original, propagates NaN and inf); with a new channel count it is a fresh zero tensor.

    Args:
        shape: the per-sample output shape, ``(C, H, W)`` for a feature map or ``(C,)`` for a vector.
        stride: spatial subsampling of the input.
        same_channels: the output has the input's channel count.
    """

    def __init__(self, shape: tuple[int, ...], stride: int, same_channels: bool) -> None:
        super().__init__()
        self.shape, self.stride, self.same_channels = tuple(shape), stride, same_channels

    def forward(self, x: Tensor) -> Tensor:
        # Both tests read build-time attributes, so fx records a single branch.
        if self.same_channels:
            if len(self.shape) == 3:
                return x[:, :, :: self.stride, :: self.stride].mul(0.0)
            return x.mul(0.0)
        return x.new_zeros((x.shape[0],) + self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}, stride={self.stride}, same_channels={self.same_channels}"


class ChannelSlice(nn.Module):
    """The first ``channels`` channels (dim 1) of a feature map or vector (NAS-Bench-101 truncation)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels

    def forward(self, x: Tensor) -> Tensor:
        return x[:, : self.channels]

    def extra_repr(self) -> str:
        return f"channels={self.channels}"


class Crop(nn.Module):
    """``F.pad(x, (0, padding, 0, padding))[:, :, offset:, offset:]``: pad bottom/right with zeros, drop top/left.

    DARTS's FactorizedReduce reads ``x[:, :, 1:, 1:]`` (offset 1, padding 0); TransNAS-Bench-101's
    reads the one-pixel-shifted, zero-padded input (offset 1, padding 1).

    Args:
        offset: rows and columns dropped at the top and left (the op's ``kernel``).
        padding: zero rows and columns appended at the bottom and right first.
    """

    def __init__(self, offset: int, padding: int) -> None:
        super().__init__()
        self.offset, self.padding = offset, padding

    def forward(self, x: Tensor) -> Tensor:
        # Both tests read build-time attributes, so fx records F.pad and one getitem at most.
        if self.padding:
            x = F.pad(x, (0, self.padding, 0, self.padding))
        if self.offset:
            x = x[:, :, self.offset:, self.offset:]
        return x

    def extra_repr(self) -> str:
        return f"offset={self.offset}, padding={self.padding}"


# ---- the op -> layer table -------------------------------------------------------------------------

class Layer(NamedTuple):
    """How one op becomes a torch layer.

    Attributes:
        takes: rank its inputs must have (:data:`MAP`, :data:`VEC`) or None for either.
        gives: rank of its output, or None for its input's rank.
        make: ``(node, rank of its inputs) -> nn.Module``.
    """

    takes: int | None
    gives: int | None
    make: Callable[["Node", int], nn.Module]


def _conv(n: "Node", rank: int) -> nn.Module:
    return nn.Conv2d(n.c_in, n.c_out, n.kernel, n.stride, n.padding, n.dilation, n.groups, bias=bool(n.bias))


def _activation(cls: type[nn.Module]) -> Layer:
    return Layer(None, None, lambda n, rank: cls())


def _zero(n: "Node", rank: int) -> nn.Module:
    shape = (n.c_out, n.h_out, n.w_out) if rank == MAP else (n.c_out,)
    return Zero(shape, max(n.stride, 1), same_channels=n.c_out == n.c_in)


class Blend(nn.Module):
    """``g * a + (1 - g) * b`` of inputs ``(g, a, b)`` (NAS-Bench-NLP's ``blend``)."""

    def forward(self, g: Tensor, a: Tensor, b: Tensor) -> Tensor:
        return g * a + (1 - g) * b


class State(nn.Module):
    """The initial recurrent state: zeros of ``shape`` per sample (its input only fixes the batch size).

    Args:
        shape: per-sample shape, ``(C, H, W)`` for a feature map or ``(C,)`` for a vector.
    """

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: Tensor) -> Tensor:
        return x.new_zeros((x.shape[0],) + self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


class Carry(nn.Module):
    """Returns its first input; the others are the states handed on to the next time step."""

    def forward(self, *xs: Tensor) -> Tensor:
        return xs[0]


class LIF(nn.Module):
    """One step of a leaky integrate-and-fire neuron from rest, with a surrogate gradient.

    The membrane potential after one step from 0 is ``decay * x`` (``decay = 1/tau``); the neuron
    fires (outputs 1) where it reaches ``threshold``. Forward values are exactly 0/1; gradients
    flow through ``atan(pi/2 * alpha * u) / pi + 1/2`` with ``u = decay * x - threshold``.

    Args:
        threshold: firing threshold.
        decay: membrane decay 1/tau.
        alpha: sharpness of the arctan surrogate.
    """

    def __init__(self, threshold: float, decay: float, alpha: float = 2.0) -> None:
        super().__init__()
        self.threshold, self.decay, self.alpha = threshold, decay, alpha

    def forward(self, x: Tensor) -> Tensor:
        u = x * self.decay - self.threshold
        surrogate = torch.atan(u * (torch.pi / 2 * self.alpha)) / torch.pi + 0.5
        # Straight-through: the value is the Heaviside step, the gradient the surrogate's.
        return (u >= 0).to(x.dtype) + (surrogate - surrogate.detach())

    def extra_repr(self) -> str:
        return f"threshold={self.threshold}, decay={self.decay}, alpha={self.alpha}"


class ChannelAvgPool(nn.Module):
    """Mean over groups of ``group`` consecutive channels (dim 1): ``C -> C / group``."""

    def __init__(self, group: int) -> None:
        super().__init__()
        self.group = group

    def forward(self, x: Tensor) -> Tensor:
        return x.unflatten(1, (-1, self.group)).mean(dim=2)

    def extra_repr(self) -> str:
        return f"group={self.group}"


# ---- v3: transformer layers (sequences (N, d, L, 1), attention heads (N, G, M, N')) ------------------

class TokenEmbedding(nn.Module):
    """Embedding lookup: token ids ``(N, 1, L, 1)`` (float or long) -> ``(N, dim, L, 1)``.

    Args:
        num_embeddings: vocabulary size V.
        dim: features per token.
        tied: no table of its own; :meth:`tie` points it at another embedding's table (first ``dim`` columns).
    """

    def __init__(self, num_embeddings: int, dim: int, tied: bool = False) -> None:
        super().__init__()
        self.num_embeddings, self.dim = num_embeddings, dim
        self.weight = None if tied else nn.Parameter(torch.randn(num_embeddings, dim))
        # A tuple, so the source's table stays registered only where it lives (parameters() counts it once).
        self._source: tuple[nn.Module, ...] = ()

    def tie(self, source: "TokenEmbedding") -> None:
        """Read ``source``'s table (its first ``dim`` columns) instead of an own one."""
        self._source = (source,)

    def table(self) -> Tensor:
        return self._source[0].weight[:, : self.dim] if self._source else self.weight

    def forward(self, tokens: Tensor, *tied_to: Tensor) -> Tensor:
        ids = tokens[:, 0, :, 0].long()
        return F.embedding(ids, self.table()).transpose(1, 2).unsqueeze(3)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.dim}, tied={self.weight is None}"


class Unembed(nn.Module):
    """Projection onto the vocabulary without bias: ``(N, dim, L, 1) -> (N, vocab, L, 1)``.

    Args:
        vocab: vocabulary size (output channels).
        dim: input features.
        tied: no table of its own; :meth:`tie` points it at an embedding's table (first ``dim`` columns).
    """

    def __init__(self, vocab: int, dim: int, tied: bool = False) -> None:
        super().__init__()
        self.vocab, self.dim = vocab, dim
        self.weight = None if tied else nn.Parameter(torch.randn(vocab, dim) * dim ** -0.5)
        self._source: tuple[nn.Module, ...] = ()

    def tie(self, source: TokenEmbedding) -> None:
        self._source = (source,)

    def forward(self, x: Tensor, *tied_to: Tensor) -> Tensor:
        weight = self._source[0].weight[:, : self.dim] if self._source else self.weight
        return F.linear(x.squeeze(3).transpose(1, 2), weight).transpose(1, 2).unsqueeze(3)

    def extra_repr(self) -> str:
        return f"{self.dim}, {self.vocab}, tied={self.weight is None}"


def sinusoidal_table(dim: int, length: int, first_position: int = 2) -> Tensor:
    """fairseq's sinusoidal position encodings ``(dim, length)``: sines in the first half, cosines in the second.

    Positions start at ``first_position`` (fairseq: padding index 1 + 1); an odd ``dim`` gets a zero last row.
    """
    half = dim // 2
    step = torch.log(torch.tensor(10000.0)) / max(half - 1, 1)
    freqs = torch.exp(torch.arange(half, dtype=torch.float32) * -step)
    angles = torch.arange(first_position, first_position + length, dtype=torch.float32)[:, None] * freqs[None, :]
    table = torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)
    if dim % 2:
        table = torch.cat([table, torch.zeros(length, 1)], dim=1)
    return table.t().contiguous()


class PositionalEncoding(nn.Module):
    """``x * sqrt(dim) + PE`` on ``(N, dim, L, 1)`` with fixed sinusoidal PE (a buffer, not a parameter)."""

    def __init__(self, dim: int, length: int) -> None:
        super().__init__()
        self.scale = float(dim) ** 0.5
        self.register_buffer("pe", sinusoidal_table(dim, length)[None, :, :, None], persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale + self.pe


class SplitHeads(nn.Module):
    """``(N, D, L, 1) -> (N, heads, L, D/heads)``."""

    def __init__(self, heads: int) -> None:
        super().__init__()
        self.heads = heads

    def forward(self, x: Tensor) -> Tensor:
        return x.squeeze(3).unflatten(1, (self.heads, -1)).transpose(2, 3)

    def extra_repr(self) -> str:
        return f"heads={self.heads}"


class MergeHeads(nn.Module):
    """``(N, G, L, E) -> (N, G*E, L, 1)`` (inverse of :class:`SplitHeads`)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.transpose(2, 3).flatten(1, 2).unsqueeze(3)


class MatrixTranspose(nn.Module):
    """Swap the two matrix dims of every head: ``(N, G, M, K) -> (N, G, K, M)``."""

    def forward(self, x: Tensor) -> Tensor:
        return x.transpose(2, 3)


class MatMul(nn.Module):
    """Per-head matrix product ``(N, G, M, K) @ (N, G, K, N') -> (N, G, M, N')``."""

    def forward(self, a: Tensor, b: Tensor) -> Tensor:
        return torch.matmul(a, b)


class ScaledSoftmax(nn.Module):
    """Softmax over the last dim of ``(N, G, M, K)`` after scaling by ``1/sqrt(d_k)`` and an optional causal mask.

    Args:
        d_k: key dim for the score scale (0: no scaling).
        causal: drop entry (m, k) where ``k > m + K - M`` (a query never sees later positions).
        rows, cols: M and K, for the mask.
    """

    def __init__(self, d_k: int, causal: bool, rows: int, cols: int) -> None:
        super().__init__()
        self.scale = float(d_k) ** -0.5 if d_k > 0 else 1.0
        mask = torch.ones(rows, cols, dtype=torch.bool).triu(cols - rows + 1) if causal else None
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        x = x * self.scale
        if self.mask is not None:
            x = x.masked_fill(self.mask, float("-inf"))
        return torch.softmax(x, dim=-1)

    def extra_repr(self) -> str:
        return f"scale={self.scale:.4g}, causal={self.mask is not None}"


class ConcatSeq(nn.Module):
    """Concatenation along positions (dim 2), in argument order."""

    def forward(self, *xs: Tensor) -> Tensor:
        return torch.cat(xs, dim=2)


#: Transformer ops: a graph with one of them may end in per-position outputs ``(num_classes, L, 1)``.
SEQUENCE_OPS: tuple[str, ...] = ("embedding", "unembed", "pos_encoding", "split_heads", "merge_heads", "transpose",
                                 "matmul", "softmax", "concat_seq")
#: Ops that may read another embedding node's table (their second input).
TIED_OPS: tuple[str, ...] = ("embedding", "unembed")


def _tie(module: nn.Module, graph: "ComputationGraph", i: int, source: int) -> None:
    """Point node ``i``'s layer at the table of embedding node ``source`` (checked against the graph)."""
    node, src = graph.node(i), graph.node(source)
    vocab = node.groups if node.op == "embedding" else node.c_out
    width = node.c_out if node.op == "embedding" else node.c_in
    if src.op != "embedding" or src.params == 0:
        raise GraphValidationError(f"node {i} ({node.op}) is tied to node {source} ({src.op}), which is not an "
                                   f"embedding with its own table")
    if src.groups != vocab or src.c_out < width:
        raise GraphValidationError(f"node {i} ({node.op}) needs a {vocab} x >={width} table, but embedding node "
                                   f"{source} has a {src.groups} x {src.c_out} one")
    getattr(module, f"n{i}").tie(getattr(module, f"n{source}"))


def _batched_edges(edge_index: Tensor, graphs: int | Tensor, nodes: int | Tensor) -> Tensor:
    """``edge_index`` repeated for ``graphs`` disjoint copies of an ``nodes``-node graph (graph-major)."""
    offsets = torch.arange(graphs, device=edge_index.device) * nodes
    return (edge_index.unsqueeze(1) + offsets.view(1, -1, 1)).reshape(2, -1)


class GraphConvLayer(nn.Module):
    """A torch_geometric graph convolution on node features laid out as ``(B, C, N, 1)`` or ``(B, C)``.

    Args:
        conv: the torch_geometric layer (``conv(x [nodes, C], edge_index [2, E])``).
        vector: inputs are vectors ``(B, C)``: B one-node graphs without edges.
    """

    def __init__(self, conv: nn.Module, vector: bool) -> None:
        super().__init__()
        self.conv, self.vector = conv, vector

    def forward(self, x: Tensor, edge_index: Tensor | None) -> Tensor:
        if self.vector:
            return self.conv(x, torch.zeros((2, 0), dtype=torch.long, device=x.device))
        b, c, n = x.shape[0], x.shape[1], x.shape[2]
        nodes = x.squeeze(3).transpose(1, 2).reshape(-1, c)
        if edge_index is None:  # one node per graph: no edges (the module checks this case)
            edge_index = torch.zeros((2, 0), dtype=torch.long, device=x.device)
        out = self.conv(nodes, _batched_edges(edge_index, b, n))
        return out.reshape(b, n, -1).transpose(1, 2).unsqueeze(3)


class NodeLogits(nn.Module):
    """Per-node logits ``(B, C, N, 1) -> (B, N, C)`` (the output of node classification)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.squeeze(3).transpose(1, 2)


def _pyg_conv(op: str, ci: int, co: int, k: int, bias: bool) -> nn.Module:
    """The torch_geometric layer of graph op ``op`` (imported lazily: only graph graphs need it)."""
    from torch_geometric import nn as gnn

    if op == "gcn_conv":
        return gnn.GCNConv(ci, co, bias=bias)
    if op == "gat_conv":
        return gnn.GATConv(ci, co // k, heads=k, concat=True, bias=bias)
    if op == "gin_conv":
        return gnn.GINConv(nn.Linear(ci, co, bias=bias), eps=0.0, train_eps=False)
    if op == "cheb_conv":
        return gnn.ChebConv(ci, co, K=k, bias=bias)
    if op == "sage_conv":
        return gnn.SAGEConv(ci, co, aggr="mean", bias=bias)
    if op == "arma_conv":
        return gnn.ARMAConv(ci, co, num_stacks=k, num_layers=1, bias=bias)
    if op == "graph_conv":
        return gnn.GraphConv(ci, co, aggr="add", bias=bias)
    raise UnknownOpError(f"{op!r} is not a graph convolution; expected one of: {', '.join(GRAPH_OPS)}")


#: Graph ops: their layers take ``(x, edge_index)``.
GRAPH_OPS: tuple[str, ...] = ("gcn_conv", "gat_conv", "gin_conv", "cheb_conv", "sage_conv", "arma_conv", "graph_conv")


def _graph_layer(op: str) -> "Layer":
    return Layer(None, None, lambda n, rank: GraphConvLayer(
        _pyg_conv(op, n.c_in, n.c_out, n.kernel, bool(n.bias)), vector=rank == VEC))


class LeafTracer(torch.fx.Tracer):
    """A ``torch.fx`` tracer that keeps torch_geometric layers as leaves (for graphs with graph convolutions)."""

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return type(m).__module__.startswith("torch_geometric.") or super().is_leaf_module(m, qualname)


#: Every op of the vocabulary except ``input`` (the module's argument) -> its layer.
LAYERS: dict[str, Layer] = {
    "output": Layer(VEC, VEC, lambda n, rank: nn.Identity()),
    "conv": Layer(MAP, MAP, _conv),
    "dwconv": Layer(MAP, MAP, _conv),
    "linear": Layer(VEC, VEC, lambda n, rank: nn.Linear(n.c_in, n.c_out, bias=bool(n.bias))),
    "batch_norm": Layer(None, None, lambda n, rank: (nn.BatchNorm2d if rank == MAP else nn.BatchNorm1d)(
        n.c_out, affine=bool(n.bias))),
    "layer_norm": Layer(None, None, lambda n, rank: ChannelLayerNorm(n.c_out, affine=bool(n.bias)) if rank == MAP
                        else nn.LayerNorm(n.c_out, elementwise_affine=bool(n.bias))),
    "relu": _activation(nn.ReLU),
    "relu6": _activation(nn.ReLU6),
    "gelu": _activation(nn.GELU),
    "sigmoid": _activation(nn.Sigmoid),
    "swish": _activation(nn.SiLU),
    "tanh": _activation(nn.Tanh),
    "hswish": _activation(nn.Hardswish),
    "hsigmoid": _activation(nn.Hardsigmoid),
    "add": Layer(None, None, lambda n, rank: Sum()),
    "mul": Layer(None, None, lambda n, rank: Product()),
    "concat": Layer(None, None, lambda n, rank: Concat()),
    "avg_pool": Layer(MAP, MAP, lambda n, rank: nn.AvgPool2d(n.kernel, n.stride, n.padding, count_include_pad=False)),
    "max_pool": Layer(MAP, MAP, lambda n, rank: nn.MaxPool2d(n.kernel, n.stride, n.padding)),
    "global_avg_pool": Layer(MAP, VEC, lambda n, rank: GlobalAvgPool()),
    "flatten": Layer(MAP, VEC, lambda n, rank: nn.Flatten(1)),
    "identity": Layer(None, None, lambda n, rank: nn.Identity()),
    "zero": Layer(None, None, _zero),
    "channel_slice": Layer(None, None, lambda n, rank: ChannelSlice(n.c_out)),
    # v2 ops
    **{op: _graph_layer(op) for op in GRAPH_OPS},
    "leaky_relu": _activation(nn.LeakyReLU),
    "blend": Layer(None, None, lambda n, rank: Blend()),
    "state": Layer(None, None, lambda n, rank: State((n.c_out, n.h_out, n.w_out) if rank == MAP else (n.c_out,))),
    "carry": Layer(None, None, lambda n, rank: Carry()),
    "lif": Layer(None, None, lambda n, rank: LIF(n.kernel / 1000.0, n.dilation / 1000.0)),
    "channel_avg_pool": Layer(None, None, lambda n, rank: ChannelAvgPool(n.kernel)),
    # v3 ops
    "crop": Layer(MAP, MAP, lambda n, rank: Crop(n.kernel, n.padding)),
    "channel_shuffle": Layer(MAP, MAP, lambda n, rank: nn.ChannelShuffle(n.groups)),
    # v3: transformers; a tied embedding/unembed is the node without parameters (see _tie)
    "embedding": Layer(MAP, MAP, lambda n, rank: TokenEmbedding(n.groups, n.c_out, tied=n.params == 0)),
    "unembed": Layer(MAP, MAP, lambda n, rank: Unembed(n.c_out, n.c_in, tied=n.params == 0)),
    "pos_encoding": Layer(MAP, MAP, lambda n, rank: PositionalEncoding(n.c_out, n.h_out)),
    "split_heads": Layer(MAP, MAP, lambda n, rank: SplitHeads(n.groups)),
    "merge_heads": Layer(MAP, MAP, lambda n, rank: MergeHeads()),
    "transpose": Layer(MAP, MAP, lambda n, rank: MatrixTranspose()),
    "matmul": Layer(MAP, MAP, lambda n, rank: MatMul()),
    "softmax": Layer(MAP, MAP, lambda n, rank: ScaledSoftmax(n.groups, bool(n.padding), n.h_out, n.w_out)),
    "concat_seq": Layer(MAP, MAP, lambda n, rank: ConcatSeq()),
}


def _to_map(x: Tensor) -> Tensor:
    return x[:, :, None, None]


def _to_vec(x: Tensor) -> Tensor:
    return x.flatten(1)


class _Step(NamedTuple):
    node: int
    name: str
    inputs: tuple[int, ...]
    adapt: tuple[Callable[[Tensor], Tensor] | None, ...]  # per input: rank change, or None
    release: tuple[int, ...]  # values no longer needed after this step


class GraphModule(nn.Module):
    """A ``torch.nn.Module`` computing a :class:`ComputationGraph` node by node.

    Not to be confused with ``torch.fx.GraphModule``; this module is fx-traceable itself.

    Args:
        graph: the graph; it is validated first.
        seed: if given, parameters are initialized under ``torch.manual_seed(seed)`` without
            changing the global random state; otherwise from the global generator.

    Attributes:
        graph: the graph the module computes.
        ranks: per node, :data:`MAP` or :data:`VEC` (how its value is laid out, see the module doc).
    """

    def __init__(self, graph: "ComputationGraph", seed: int | None = None) -> None:
        super().__init__()
        graph.validate()
        self.graph = graph
        out = graph.output_node()
        want = (graph.num_classes, 1, 1)
        got = graph.node(out).out_shape
        has_graph_ops = any(op in GRAPH_OPS for op in graph.ops)
        has_sequence_ops = any(op in SEQUENCE_OPS for op in graph.ops)
        # Node classification: per-node logits (num_classes, N, 1) after graph convolutions;
        # sequence models: per-position logits (num_classes, L, 1).
        self.node_level = ((has_graph_ops or has_sequence_ops) and got[0] == graph.num_classes and got[2] == 1
                           and got[1] > 1)
        if got != want and not self.node_level:
            raise GraphValidationError(
                f"output node {out} has shape {got}, expected a logits vector "
                f"{want} (num_classes={graph.num_classes}), or per-node logits ({graph.num_classes}, N, 1) "
                f"after graph convolutions or transformer ops")
        # edge_index is needed as soon as a graph convolution sees more than one node.
        self._needs_edge_index = any(op in GRAPH_OPS and h > 1 for op, h in zip(graph.ops, graph.nodes["h_in"]))
        edge_steps: set[str] = set()
        order = graph.topological_order()
        preds = graph.inputs_of()
        self._inputs = tuple(graph.input_nodes())
        self._output = out
        ranks = [0] * graph.num_nodes
        for i in self._inputs:
            ranks[i] = MAP
        last_use = {}
        for i in order:
            for j in preds[i]:
                last_use[j] = i
        steps: list[_Step] = []
        with _seeded(seed):
            for i in order:
                node = graph.node(i)
                if node.op == "input":
                    continue
                layer = _NODE_LOGITS if node.op == "output" and self.node_level else _layer(node.op)
                if node.op in GRAPH_OPS:
                    edge_steps.add(f"n{i}")
                in_ranks = [ranks[j] for j in preds[i]]
                rank = layer.takes or max(in_ranks)
                self.add_module(f"n{i}", layer.make(node, rank))
                if node.op in TIED_OPS and len(preds[i]) == 2:
                    _tie(self, graph, i, preds[i][1])
                ranks[i] = layer.gives or rank
                adapt = tuple(None if r == rank else (_to_map if rank == MAP else _to_vec) for r in in_ranks)
                release = tuple(j for j in dict.fromkeys(preds[i]) if last_use[j] == i and j != out)
                steps.append(_Step(i, f"n{i}", tuple(preds[i]), adapt, release))
        self.ranks: tuple[int, ...] = tuple(ranks)
        self._steps: tuple[_Step, ...] = tuple(steps)
        self._edge_steps: frozenset[str] = frozenset(edge_steps)

    def _run(self, x: Tensor, keep: bool, edge_index: Tensor | None = None) -> dict[int, Tensor]:
        if edge_index is None and self._needs_edge_index:
            raise TypeError("this graph has graph convolutions over more than one node: call module(x, edge_index) "
                            "with the graph's edge_index, a long tensor [2, E] of node indices")
        values: dict[int, Tensor] = {i: x for i in self._inputs}
        for step in self._steps:
            args = [values[j] if f is None else f(values[j]) for j, f in zip(step.inputs, step.adapt)]
            if step.name in self._edge_steps:
                args.append(edge_index)
            values[step.node] = getattr(self, step.name)(*args)
            if not keep:
                for j in step.release:
                    del values[j]
        return values

    def forward(self, x: Tensor, edge_index: Tensor | None = None) -> Tensor:
        """Logits ``(N, num_classes)`` for an input batch ``(N, C, H, W)``.

        ``edge_index`` (long ``[2, E]``) is the input graph of graph convolutions (see the module
        doc); with per-node logits the result is ``(B, nodes, num_classes)``.
        """
        return self._run(x, keep=False, edge_index=edge_index)[self._output]

    def node_outputs(self, x: Tensor, edge_index: Tensor | None = None) -> dict[int, Tensor]:
        """Every node's output for input ``x``: ``{node index: tensor}`` laid out as in the module doc."""
        return self._run(x, keep=True, edge_index=edge_index)


@contextmanager
def _seeded(seed: int | None) -> Iterator[None]:
    """Run the block under ``torch.manual_seed(seed)`` and restore the global CPU generator after."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


_NODE_LOGITS = Layer(MAP, MAP, lambda n, rank: NodeLogits())


def _layer(op: str) -> Layer:
    try:
        return LAYERS[op]
    except KeyError:
        get_op(op)  # not in the vocabulary: UnknownOpError listing the vocabulary
        raise UnknownOpError(
            f"op {op!r} is in the vocabulary but has no torch layer; expected one of: {', '.join(LAYERS)}") from None


def to_module(graph: "ComputationGraph", seed: int | None = None) -> GraphModule:
    """An executable module computing ``graph`` (see :class:`GraphModule`).

    Args:
        graph: a computation graph (validated first).
        seed: optional seed for parameter initialization.

    Returns:
        A :class:`GraphModule` on the CPU in float32; ``module(x)`` maps ``(N, C, H, W)`` to
        ``(N, num_classes)``.
    """
    return GraphModule(graph, seed=seed)


__all__ = ["GRAPH_OPS", "LAYERS", "MAP", "VEC", "Blend", "Carry", "ChannelAvgPool", "GraphConvLayer", "LIF", "LeafTracer",
           "NodeLogits", "State", "ConcatSeq", "MatMul", "MatrixTranspose", "MergeHeads", "PositionalEncoding",
           "ScaledSoftmax", "SplitHeads", "TokenEmbedding", "Unembed", "SEQUENCE_OPS", "TIED_OPS", "sinusoidal_table", "ChannelLayerNorm", "ChannelSlice", "Concat", "Crop", "GlobalAvgPool", "GraphModule", "Layer",
           "Product", "Sum", "Zero", "to_module"]
