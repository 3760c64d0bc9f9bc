"""The op vocabulary: every atomic operation a computation graph may contain.

This module is the one place where an op's name, stable index, arity, shape rule and cost
(parameters and FLOPs) are defined. The vocabulary is versioned and append-only: an op keeps its
``index`` forever so stored graphs and trained predictors stay valid; adding ops bumps
``VOCAB_VERSION``.

Tensor shapes are ``(channels, height, width)``. A vector (after global pooling, or a token
embedding) has ``height == width == 1``.

FLOPs convention (as NAS-Bench-201, thop and most NAS papers): one multiply-accumulate counts as
one FLOP for conv and linear layers (plus one per output for a bias); every other op counts one
FLOP per output element (pooling: one per window element). Parameters are trainable parameters
only (batch-norm running statistics are buffers, not parameters), exactly what
``sum(p.numel() for p in module.parameters())`` returns for the executable module.
Ops added in vocabulary v2 for non-CNN spaces (shape, attribute, parameter and FLOP rules):

* Graph convolutions ``gcn_conv``, ``gat_conv``, ``gin_conv``, ``cheb_conv``, ``sage_conv``,
  ``arma_conv``, ``graph_conv`` (the torch_geometric layers GCNConv, GATConv, GINConv, ChebConv,
  SAGEConv, ARMAConv, GraphConv). Node features of a graph with N nodes have shape
  ``(C, N, 1)``: the node count enters shapes, params stay independent of it and FLOPs scale
  with it. Attributes: ``c_out``; ``bias``; ``kernel`` = K of ``cheb_conv`` (Chebyshev order),
  heads of ``gat_conv`` (``c_out`` is the concatenation of all heads and must be divisible by
  them), stacks of ``arma_conv`` (one ARMA layer per stack); 0 for the others; ``groups`` = E,
  the number of directed edges of the input graph (columns of its ``edge_index``; self-loops a
  layer adds itself are not in E). E is data, not architecture: it only enters FLOPs.
  With Ci, Co the input/output channels and b = bias (0/1), params are exactly torch_geometric's:

  ===========  ================================  ================================================
  op           params                            FLOPs (MACs; aggregation = one per message and channel)
  ===========  ================================  ================================================
  gcn_conv     Ci*Co + b*Co                      N*Ci*Co + (E+N)*Co + b*N*Co  (adds self-loops)
  gat_conv     Ci*Co + 2*Co + b*Co               N*Ci*Co + 2*N*Co + (E+N)*(Co + 4*heads) + b*N*Co
  gin_conv     Ci*Co + b*Co  (eps = 0, fixed)    (E+N)*Ci + N*Ci*Co + b*N*Co
  cheb_conv    K*Ci*Co + b*Co                    K*N*Ci*Co + (K-1)*(E+N)*Ci + b*N*Co
  sage_conv    2*Ci*Co + b*Co  (mean aggr.)      2*N*Ci*Co + (E+N)*Ci + b*N*Co
  arma_conv    K*(2*Ci*Co + Co*Co + b*Co)        K*(2*N*Ci*Co + E*Co + 2*N*Co + b*N*Co) + (K-1)*N*Co
  graph_conv   2*Ci*Co + b*Co  (add aggr.)       2*N*Ci*Co + E*Ci + b*N*Co
  ===========  ================================  ================================================

  (gat: 4 per message and head for score, LeakyReLU and softmax; arma: K stacks of one layer,
  whose unused ``Co x Co`` recursion weight torch_geometric still allocates, + ReLU, mean of
  the stacks.) They are not declared zero-preserving: with a bias a zero input gives a constant.
* ``leaky_relu``: negative slope 0.01 (PyTorch's default); one FLOP per element.
* ``blend(g, a, b) = g*a + (1-g)*b`` (GRU-style interpolation, NAS-Bench-NLP's ``blend``):
  three equal-shape inputs in that order; 3 FLOPs per element.
* ``state``: the recurrent state of slot ``groups`` (0, 1, ...) from the previous time step,
  shape ``(c_out, H, W)`` of its input's H, W. Its one input only places the read inside the
  step (it is the input of the recurrent layer); the value does not depend on it. No cost.
* ``carry(s_0, s_1, ...)``: returns ``s_0`` and hands every ``s_i`` on as the state of slot i for
  the next time step (so values computed only for the next step are part of the graph). No cost.
* ``lif``: leaky integrate-and-fire spiking neuron (hard reset to 0), shape-preserving, no
  parameters. ``kernel`` = firing threshold in thousandths (1000 = 1.0), ``dilation`` = membrane
  decay 1/tau in thousandths (750 for tau = 4/3). 2 FLOPs per element (leaky integration as one
  multiply-accumulate, fire-and-reset as one). One graph evaluation is one simulation time step.
* ``channel_avg_pool``: mean over groups of ``kernel`` consecutive channels,
  ``(C, H, W) -> (C/kernel, H, W)`` (an SNN's population-voting layer); one FLOP per input element.

Ops added in vocabulary v3 (no parameters, no FLOPs: they only move or drop values):

* ``crop``: ``F.pad(x, (0, p, 0, p))[:, :, k:, k:]`` with ``p = padding`` zero rows/columns
  appended at the bottom/right and ``k = kernel`` rows/columns dropped at the top/left,
  ``(C, H, W) -> (C, H + p - k, W + p - k)``. DARTS's FactorizedReduce reads ``x[:, :, 1:, 1:]``
  (kernel 1, padding 0); TransNAS-Bench-101's (as NAS-Bench-201's) pads first and reads the input
  shifted by one pixel (kernel 1, padding 1).
* ``channel_shuffle``: ShuffleNet's fixed channel permutation in ``groups`` groups,
  ``x.view(N, g, C/g, H, W).transpose(1, 2).reshape(N, C, H, W)`` (``torch.nn.ChannelShuffle``);
  ``groups`` must divide C.

Ops added in vocabulary v3 for transformers (HAT's encoder-decoder SubTransformers). Sequence
layout: a sequence of L tokens with d features is ``(d, L, 1)`` (channels = features, H =
positions), so position-wise linear layers are 1x1 ``conv`` nodes (``Ci*Co + b*Co`` params,
``L*(Ci*Co + b*Co)`` FLOPs, exactly ``nn.Linear`` applied per token) and ``layer_norm`` normalizes
each position over its d features. Token ids enter as ``(1, L, 1)``. Multi-head attention works
on ``(G, M, N)`` = G heads (channels) of an M x N matrix (H x W):

  ============  =================================  =====================  ==================
  op            shape                              params                 FLOPs
  ============  =================================  =====================  ==================
  embedding     (1, L, 1) -> (c_out, L, 1)         V*c_out (V = groups);  0 (a table lookup)
                [tokens, tied]                     0 when tied
  unembed       (C, L, 1) -> (c_out, L, 1)         c_out*C (no bias);     L*C*c_out
                [x, tied]                          0 when tied
  pos_encoding  (C, L, 1) -> same                  0                      C*L
  split_heads   (D, L, 1) -> (G, L, D/G)           0                      0
  merge_heads   (G, L, E) -> (G*E, L, 1)           0                      0
  transpose     (G, M, N) -> (G, N, M)             0                      0
  matmul        (G, M, K), (G, K, N) -> (G, M, N)  0                      G*M*K*N
  softmax       (G, M, N) -> same (over N)         0                      G*M*N
  concat_seq    (C, L_i, W)... -> (C, sum L_i, W)  0                      0
  ============  =================================  =====================  ==================

* ``embedding``: row lookup ``E[token]`` in a ``V x c_out`` table (``groups`` = V, the vocabulary
  size). With a second input the node has no table of its own: it reads the first ``c_out``
  columns of the table of that input, which must be an ``embedding`` node with its own table,
  the same ``groups`` and at least ``c_out`` channels (weight tying, fairseq's
  ``--share-all-embeddings``); the second input's value is not used.
* ``unembed``: projection onto the vocabulary, ``logits = x E^T`` for a ``c_out x C`` table
  (``c_out`` = vocabulary size). With a second input (an ``embedding`` node with its own table of
  ``c_out`` rows and at least C columns) it uses that table's first C columns (tied output
  embedding), without parameters of its own.
* ``pos_encoding``: ``x * sqrt(C) + PE`` with fixed sinusoidal position encodings PE (Vaswani et
  al. 2017's input scaling and positions, in fairseq's layout: first half sines, second half
  cosines, positions counted from 2); one multiply-add per element.
* ``split_heads`` (``groups`` = heads G, which must divide D) and ``merge_heads`` (its inverse):
  ``x.view(G, D/G, L).transpose`` and back.
* ``transpose``: swaps the two matrix dims of every head (``K -> K^T``).
* ``matmul``: batched matrix product per head (``torch.matmul``), e.g. ``Q K^T`` and ``A V``; not
  commutative (argument order matters).
* ``softmax``: over the last dim (W). ``groups`` = d_k > 0 scales the scores by
  ``1/sqrt(d_k)`` first (scaled dot-product attention; 0 = no scaling); ``padding`` = 1 masks the
  future (entry (m, n) is dropped when ``n > m + N - M``: causal decoder self-attention).
* ``concat_seq``: concatenation along positions (H), in input order (HAT's arbitrary
  encoder-decoder attention attends to the concatenated outputs of the last encoder layers).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from archbench.errors import GraphValidationError, UnknownOpError

VOCAB_VERSION = 3  # v2: + channel_slice (NAS-Bench-101 truncation); graph, recurrent and spiking ops (25..37); v3: + crop (38), channel_shuffle (39); transformer ops (40..48)

Shape = tuple[int, int, int]

#: Integer attributes every node carries (0 where an attribute does not apply).
ATTR_FIELDS: tuple[str, ...] = ("kernel", "stride", "padding", "dilation", "groups", "bias")


def _numel(shape: Shape) -> int:
    return shape[0] * shape[1] * shape[2]


def _window_out(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _same(ins: Sequence[Shape], a: dict) -> Shape:
    return ins[0]


def _conv_shape(ins: Sequence[Shape], a: dict) -> Shape:
    c, h, w = ins[0]
    groups = a["groups"]
    if groups < 1 or c % groups:
        raise GraphValidationError(f"conv groups={groups} must divide its {c} input channels")
    if a["c_out"] % groups:
        raise GraphValidationError(f"conv groups={groups} must divide its {a['c_out']} output channels")
    k, s, p, d = a["kernel"], a["stride"], a["padding"], a["dilation"]
    return (a["c_out"], _window_out(h, k, s, p, d), _window_out(w, k, s, p, d))


def _dwconv_shape(ins: Sequence[Shape], a: dict) -> Shape:
    c, h, w = ins[0]
    if a["groups"] != c:
        raise GraphValidationError(f"depthwise conv must have groups == input channels ({c}), found groups={a['groups']}")
    k, s, p, d = a["kernel"], a["stride"], a["padding"], a["dilation"]
    return (a["c_out"], _window_out(h, k, s, p, d), _window_out(w, k, s, p, d))


def _pool_shape(ins: Sequence[Shape], a: dict) -> Shape:
    c, h, w = ins[0]
    k, s, p = a["kernel"], a["stride"], a["padding"]
    return (c, _window_out(h, k, s, p, 1), _window_out(w, k, s, p, 1))


def _global_pool_shape(ins: Sequence[Shape], a: dict) -> Shape:
    return (ins[0][0], 1, 1)


def _flatten_shape(ins: Sequence[Shape], a: dict) -> Shape:
    return (_numel(ins[0]), 1, 1)


def _linear_shape(ins: Sequence[Shape], a: dict) -> Shape:
    c, h, w = ins[0]
    if (h, w) != (1, 1):
        raise GraphValidationError(f"linear expects a vector input (C x 1 x 1), found {c}x{h}x{w}")
    return (a["c_out"], 1, 1)


def _strided_same(ins: Sequence[Shape], a: dict) -> Shape:
    # zero with stride > 1 stands for a strided 'none' edge (NAS-Bench-201, DARTS reductions).
    c, h, w = ins[0]
    s = max(a["stride"], 1)
    return (a["c_out"] or c, (h - 1) // s + 1, (w - 1) // s + 1)


def _elementwise_nary(ins: Sequence[Shape], a: dict) -> Shape:
    first = ins[0]
    for other in ins[1:]:
        if other != first:
            raise GraphValidationError(
                f"element-wise op needs equal input shapes, found {_fmt(first)} and {_fmt(other)}"
            )
    return first


def _broadcast_mul_shape(ins: Sequence[Shape], a: dict) -> Shape:
    # Equal shapes, or a per-channel gate C x 1 x 1 scaling a C x H x W map (squeeze-and-excitation).
    full = max(ins, key=lambda s: s[1] * s[2])
    for other in ins:
        if other != full and other != (full[0], 1, 1):
            raise GraphValidationError(
                f"mul needs equal input shapes or a {full[0]}x1x1 per-channel gate, found {_fmt(full)} and {_fmt(other)}"
            )
    return full


def _concat_shape(ins: Sequence[Shape], a: dict) -> Shape:
    h, w = ins[0][1], ins[0][2]
    for other in ins[1:]:
        if other[1:] != (h, w):
            raise GraphValidationError(
                f"concat needs equal spatial sizes, found {_fmt(ins[0])} and {_fmt(other)}"
            )
    return (sum(s[0] for s in ins), h, w)


def _channel_slice_shape(ins: Sequence[Shape], a: dict) -> Shape:
    c, h, w = ins[0]
    if not 1 <= a["c_out"] <= c:
        raise GraphValidationError(f"channel_slice keeps the first c_out channels: c_out must be in 1..{c}, found {a['c_out']}")
    return (a["c_out"], h, w)


def _input_shape(ins: Sequence[Shape], a: dict) -> Shape:
    raise AssertionError("input shapes are given, not inferred")


# ---- costs: (params, flops) given input shapes, output shape and attributes --------------------

def _no_cost(ins: Sequence[Shape], out: Shape, a: dict) -> tuple[int, int]:
    return 0, 0


def _per_output(ins: Sequence[Shape], out: Shape, a: dict) -> tuple[int, int]:
    return 0, _numel(out)


def _per_input_elem(ins: Sequence[Shape], out: Shape, a: dict) -> tuple[int, int]:
    # n-ary add/mul: (n - 1) operations per output element.
    return 0, (len(ins) - 1) * _numel(out)


def _conv_cost(ins: Sequence[Shape], out: Shape, a: dict) -> tuple[int, int]:
    c_in = ins[0][0]
    per_out = (c_in // a["groups"]) * a["kernel"] * a["kernel"]
    params = out[0] * per_out + (out[0] if a["bias"] else 0)
    flops = _numel(out) * per_out + (_numel(out) if a["bias"] else 0)
    return params, flops


def _linear_cost(ins: Sequence[Shape], out: Shape, a: dict) -> tuple[int, int]:
    c_in = ins[0][0]
    params = c_in * out[0] + (out[0] if a["bias"] else 0)
    return params, params


def _norm_cost(ins: Sequence[Shape], out: Shape, a: dict) -> tuple[int, int]:
    # bias=1 marks an affine norm (learned scale and shift per channel).
    return (2 * out[0] if a["bias"] else 0), 2 * _numel(out)


def _pool_cost(ins: Sequence[Shape], out: Shape, a: dict) -> tuple[int, int]:
    return 0, _numel(out) * a["kernel"] * a["kernel"]


def _global_pool_cost(ins: Sequence[Shape], out: Shape, a: dict) -> tuple[int, int]:
    return 0, _numel(ins[0])


# ---- v2: graph convolutions, recurrent cells, spiking neurons -------------------------------------

def _graph_conv_shape(ins: Sequence[Shape], a: dict, param: str | None = None) -> Shape:
    c, n, w = ins[0]
    if w != 1:
        raise GraphValidationError(f"graph convolutions take node features C x N x 1 (N = number of graph nodes), "
                                   f"found {_fmt(ins[0])}")
    if a["c_out"] < 1:
        raise GraphValidationError(f"graph convolution needs c_out >= 1 output channels, found {a['c_out']}")
    if a["groups"] < 0:
        raise GraphValidationError(f"graph convolution records the graph's edge count in groups; it must be >= 0, found {a['groups']}")
    if param is not None and a["kernel"] < 1:
        raise GraphValidationError(f"graph convolution needs kernel = {param} >= 1, found {a['kernel']}")
    if param == "heads" and a["c_out"] % a["kernel"]:
        raise GraphValidationError(f"gat_conv concatenates its heads: c_out={a['c_out']} must be divisible by "
                                   f"heads (kernel)={a['kernel']}")
    return (a["c_out"], n, 1)


def _graph_conv_shape_with(param: str) -> Callable[[Sequence[Shape], dict], Shape]:
    return lambda ins, a: _graph_conv_shape(ins, a, param)


def _graph_cost(params: Callable[[int, int, int, int], int],
                flops: Callable[[int, int, int, int, int, int], int]) -> Callable[[Sequence[Shape], Shape, dict], tuple[int, int]]:
    """Cost of a graph convolution from ``params(ci, co, k, b)`` and ``flops(n, e, ci, co, k, b)``."""
    def cost(ins: Sequence[Shape], out: Shape, a: dict) -> tuple[int, int]:
        ci, n, co, k, b, e = ins[0][0], ins[0][1], out[0], a["kernel"], int(bool(a["bias"])), a["groups"]
        return params(ci, co, k, b), flops(n, e, ci, co, k, b)

    return cost


# fmt: off
_gcn_cost = _graph_cost(lambda ci, co, k, b: ci * co + b * co,
                        lambda n, e, ci, co, k, b: n * ci * co + (e + n) * co + b * n * co)
_gat_cost = _graph_cost(lambda ci, co, k, b: ci * co + 2 * co + b * co,
                        lambda n, e, ci, co, k, b: n * ci * co + 2 * n * co + (e + n) * (co + 4 * k) + b * n * co)
_gin_cost = _graph_cost(lambda ci, co, k, b: ci * co + b * co,
                        lambda n, e, ci, co, k, b: (e + n) * ci + n * ci * co + b * n * co)
_cheb_cost = _graph_cost(lambda ci, co, k, b: k * ci * co + b * co,
                         lambda n, e, ci, co, k, b: k * n * ci * co + (k - 1) * (e + n) * ci + b * n * co)
_sage_cost = _graph_cost(lambda ci, co, k, b: 2 * ci * co + b * co,
                         lambda n, e, ci, co, k, b: 2 * n * ci * co + (e + n) * ci + b * n * co)
_arma_cost = _graph_cost(lambda ci, co, k, b: k * (2 * ci * co + co * co + b * co),
                         lambda n, e, ci, co, k, b: k * (2 * n * ci * co + e * co + 2 * n * co + b * n * co) + (k - 1) * n * co)
_graphconv_cost = _graph_cost(lambda ci, co, k, b: 2 * ci * co + b * co,
                              lambda n, e, ci, co, k, b: 2 * n * ci * co + e * ci + b * n * co)
# fmt: on


def _blend_shape(ins: Sequence[Shape], a: dict) -> Shape:
    return _elementwise_nary(ins, a)


def _blend_cost(ins: Sequence[Shape], out: Shape, a: dict) -> tuple[int, int]:
    return 0, 3 * _numel(out)


def _state_shape(ins: Sequence[Shape], a: dict) -> Shape:
    if a["c_out"] < 1:
        raise GraphValidationError(f"state needs its size in c_out >= 1, found {a['c_out']}")
    if a["groups"] < 0:
        raise GraphValidationError(f"state slot (groups) must be >= 0, found {a['groups']}")
    return (a["c_out"], ins[0][1], ins[0][2])


def _lif_shape(ins: Sequence[Shape], a: dict) -> Shape:
    if a["kernel"] < 1:
        raise GraphValidationError(f"lif needs its firing threshold in kernel (thousandths, >= 1), found {a['kernel']}")
    if not 0 < a["dilation"] <= 1000:
        raise GraphValidationError(f"lif needs its membrane decay 1/tau in dilation (thousandths, 1..1000), found {a['dilation']}")
    return ins[0]


def _lif_cost(ins: Sequence[Shape], out: Shape, a: dict) -> tuple[int, int]:
    return 0, 2 * _numel(out)


def _crop_shape(ins: Sequence[Shape], a: dict) -> Shape:
    c, h, w = ins[0]
    k, p = a["kernel"], a["padding"]
    if k < 0 or p < 0:
        raise GraphValidationError(f"crop needs offset kernel >= 0 and padding >= 0, found kernel={k}, padding={p}")
    if min(h, w) + p - k < 1:
        raise GraphValidationError(f"crop of {_fmt(ins[0])} with padding={p}, offset kernel={k} leaves no pixels")
    return (c, h + p - k, w + p - k)


def _channel_shuffle_shape(ins: Sequence[Shape], a: dict) -> Shape:
    c = ins[0][0]
    g = a["groups"]
    if g < 1 or c % g:
        raise GraphValidationError(f"channel_shuffle groups={g} must divide its {c} input channels")
    return ins[0]


# ---- v3: transformers (sequences are (d, L, 1); attention matrices (heads, M, N)) ------------------

def _sequence(shape: Shape, what: str) -> tuple[int, int]:
    c, length, w = shape
    if w != 1:
        raise GraphValidationError(f"{what} takes a sequence (C x L x 1: C features at L positions), found {_fmt(shape)}")
    return c, length


def _embedding_shape(ins: Sequence[Shape], a: dict) -> Shape:
    c, length = _sequence(ins[0], "embedding")
    if c != 1:
        raise GraphValidationError(f"embedding takes token ids 1 x L x 1, found {_fmt(ins[0])}")
    if a["c_out"] < 1 or a["groups"] < 1:
        raise GraphValidationError(f"embedding needs c_out >= 1 features and groups = vocabulary size >= 1, "
                                   f"found c_out={a['c_out']}, groups={a['groups']}")
    if len(ins) == 2 and a["c_out"] > ins[1][0]:
        raise GraphValidationError(f"a tied embedding reads the first c_out={a['c_out']} columns of its second "
                                   f"input's table, which has only {ins[1][0]}")
    return (a["c_out"], length, 1)


def _embedding_cost(ins: Sequence[Shape], out: Shape, a: dict) -> tuple[int, int]:
    return (a["groups"] * out[0] if len(ins) == 1 else 0), 0


def _unembed_shape(ins: Sequence[Shape], a: dict) -> Shape:
    c, length = _sequence(ins[0], "unembed")
    if a["c_out"] < 1:
        raise GraphValidationError(f"unembed needs c_out = vocabulary size >= 1, found {a['c_out']}")
    if len(ins) == 2 and c > ins[1][0]:
        raise GraphValidationError(f"a tied unembed reads the first {c} columns of its second input's table, "
                                   f"which has only {ins[1][0]}")
    return (a["c_out"], length, 1)


def _unembed_cost(ins: Sequence[Shape], out: Shape, a: dict) -> tuple[int, int]:
    c, length = ins[0][0], ins[0][1]
    return (out[0] * c if len(ins) == 1 else 0), length * c * out[0]


def _pos_encoding_shape(ins: Sequence[Shape], a: dict) -> Shape:
    _sequence(ins[0], "pos_encoding")
    return ins[0]


def _split_heads_shape(ins: Sequence[Shape], a: dict) -> Shape:
    d, length = _sequence(ins[0], "split_heads")
    g = a["groups"]
    if g < 1 or d % g:
        raise GraphValidationError(f"split_heads groups={g} (heads) must divide its {d} features")
    return (g, length, d // g)


def _merge_heads_shape(ins: Sequence[Shape], a: dict) -> Shape:
    g, length, e = ins[0]
    return (g * e, length, 1)


def _transpose_shape(ins: Sequence[Shape], a: dict) -> Shape:
    g, m, n = ins[0]
    return (g, n, m)


def _matmul_shape(ins: Sequence[Shape], a: dict) -> Shape:
    (g, m, k), (g2, k2, n) = ins
    if g != g2 or k != k2:
        raise GraphValidationError(f"matmul multiplies G x M x K by G x K x N (per head), found {_fmt(ins[0])} and {_fmt(ins[1])}")
    return (g, m, n)


def _matmul_cost(ins: Sequence[Shape], out: Shape, a: dict) -> tuple[int, int]:
    return 0, _numel(out) * ins[0][2]


def _softmax_shape(ins: Sequence[Shape], a: dict) -> Shape:
    if a["groups"] < 0 or a["padding"] not in (0, 1):
        raise GraphValidationError(f"softmax needs groups = d_k >= 0 (score scale 1/sqrt(d_k), 0: none) and padding "
                                   f"0 or 1 (causal mask), found groups={a['groups']}, padding={a['padding']}")
    return ins[0]


def _concat_seq_shape(ins: Sequence[Shape], a: dict) -> Shape:
    c, w = ins[0][0], ins[0][2]
    for other in ins[1:]:
        if (other[0], other[2]) != (c, w):
            raise GraphValidationError(f"concat_seq needs equal channels and widths, found {_fmt(ins[0])} and {_fmt(other)}")
    return (c, sum(s[1] for s in ins), w)


def _channel_pool_shape(ins: Sequence[Shape], a: dict) -> Shape:
    c, h, w = ins[0]
    k = a["kernel"]
    if k < 1 or c % k:
        raise GraphValidationError(f"channel_avg_pool groups kernel={k} consecutive channels: it must divide the {c} input channels")
    return (c // k, h, w)

@dataclass(frozen=True)
class OpSpec:
    """One op of the vocabulary.

    Attributes:
        name: the op's name in graphs, tables and errors.
        index: stable integer id (append-only; used for one-hot features).
        category: io, conv, linear, norm, activation, elementwise, pool, structural; v2 adds
            graph (graph convolutions), recurrent (state, carry) and neuron (spiking neurons);
            v3 adds embedding (embedding, unembed, pos_encoding) and attention (matmul, softmax).
        min_inputs, max_inputs: arity (``max_inputs=None`` means variadic).
        commutative: input order does not matter (add, mul).
        zero_preserving: an all-zero input gives an all-zero output (used by the canonical hash).
        infer_shape: ``(input shapes, attrs) -> output shape``.
        cost: ``(input shapes, output shape, attrs) -> (params, flops)``.
        doc: one line of meaning.
    """

    name: str
    index: int
    category: str
    min_inputs: int
    max_inputs: int | None
    commutative: bool
    zero_preserving: bool
    infer_shape: Callable[[Sequence[Shape], dict], Shape]
    cost: Callable[[Sequence[Shape], Shape, dict], tuple[int, int]]
    doc: str


def _op(name, index, category, arity, commutative, zero_preserving, infer_shape, cost, doc) -> OpSpec:
    lo, hi = arity
    return OpSpec(name, index, category, lo, hi, commutative, zero_preserving, infer_shape, cost, doc)


# fmt: off
_OPS: tuple[OpSpec, ...] = (
    _op("input",           0, "io",          (0, 0),    False, False, _input_shape,      _no_cost,        "network input tensor"),
    _op("output",          1, "io",          (1, 1),    False, True,  _same,             _no_cost,        "network output (logits)"),
    _op("conv",            2, "conv",        (1, 1),    False, True,  _conv_shape,       _conv_cost,      "2-d convolution (kernel, stride, padding, dilation, groups, bias)"),
    _op("dwconv",          3, "conv",        (1, 1),    False, True,  _dwconv_shape,     _conv_cost,      "depthwise 2-d convolution (groups == input channels)"),
    _op("linear",          4, "linear",      (1, 1),    False, True,  _linear_shape,     _linear_cost,    "fully connected layer on a vector"),
    _op("batch_norm",      5, "norm",        (1, 1),    False, True,  _same,             _norm_cost,      "batch normalization (bias=1: affine)"),
    _op("layer_norm",      6, "norm",        (1, 1),    False, True,  _same,             _norm_cost,      "layer normalization over channels (bias=1: affine)"),
    _op("relu",            7, "activation",  (1, 1),    False, True,  _same,             _per_output,     "max(x, 0)"),
    _op("relu6",           8, "activation",  (1, 1),    False, True,  _same,             _per_output,     "min(max(x, 0), 6)"),
    _op("gelu",            9, "activation",  (1, 1),    False, True,  _same,             _per_output,     "Gaussian error linear unit"),
    _op("sigmoid",        10, "activation",  (1, 1),    False, False, _same,             _per_output,     "logistic sigmoid"),
    _op("swish",          11, "activation",  (1, 1),    False, True,  _same,             _per_output,     "x * sigmoid(x) (SiLU)"),
    _op("tanh",           12, "activation",  (1, 1),    False, True,  _same,             _per_output,     "hyperbolic tangent"),
    _op("hswish",         13, "activation",  (1, 1),    False, True,  _same,             _per_output,     "hard swish x * relu6(x + 3) / 6"),
    _op("hsigmoid",       14, "activation",  (1, 1),    False, False, _same,             _per_output,     "hard sigmoid relu6(x + 3) / 6"),
    _op("add",            15, "elementwise", (1, None), True,  True,  _elementwise_nary, _per_input_elem, "element-wise sum of equal-shape inputs"),
    _op("mul",            16, "elementwise", (1, None), True,  True,  _broadcast_mul_shape, _per_input_elem, "element-wise product; a C x 1 x 1 operand is a per-channel gate broadcast over H x W"),
    _op("concat",         17, "structural",  (1, None), False, True,  _concat_shape,     _no_cost,        "concatenation along channels, in input order"),
    _op("avg_pool",       18, "pool",        (1, 1),    False, True,  _pool_shape,       _pool_cost,      "average pooling (kernel, stride, padding; padded zeros not counted)"),
    _op("max_pool",       19, "pool",        (1, 1),    False, True,  _pool_shape,       _pool_cost,      "max pooling (kernel, stride, padding)"),
    _op("global_avg_pool",20, "pool",        (1, 1),    False, True,  _global_pool_shape,_global_pool_cost,"average over all spatial positions -> C x 1 x 1"),
    _op("flatten",        21, "structural",  (1, 1),    False, True,  _flatten_shape,    _no_cost,        "reshape C x H x W -> (C*H*W) x 1 x 1"),
    _op("identity",       22, "structural",  (1, 1),    False, True,  _same,             _no_cost,        "pass-through (skip connection)"),
    _op("zero",           23, "structural",  (1, 1),    False, True,  _strided_same,     _no_cost,        "all-zero output ('none' edge); stride > 1 halves spatial size"),
    _op("channel_slice",  24, "structural",  (1, 1),    False, True,  _channel_slice_shape, _no_cost,     "the first c_out channels of the input (NAS-Bench-101 channel truncation)"),
    # v2: graph convolutions (node features C x N x 1; groups = edge count E; kernel = K / heads / stacks)
    _op("gcn_conv",       25, "graph",       (1, 1),    False, False, _graph_conv_shape, _gcn_cost,       "graph convolution (Kipf & Welling; GCNConv, adds self-loops, symmetric norm)"),
    _op("gat_conv",       26, "graph",       (1, 1),    False, False, _graph_conv_shape_with("heads"), _gat_cost, "graph attention (GATConv); kernel = heads, concatenated"),
    _op("gin_conv",       27, "graph",       (1, 1),    False, False, _graph_conv_shape, _gin_cost,       "graph isomorphism layer (GINConv, eps = 0) with a linear MLP"),
    _op("cheb_conv",      28, "graph",       (1, 1),    False, False, _graph_conv_shape_with("K"), _cheb_cost, "Chebyshev spectral graph convolution (ChebConv); kernel = K"),
    _op("sage_conv",      29, "graph",       (1, 1),    False, False, _graph_conv_shape, _sage_cost,      "GraphSAGE layer (SAGEConv, mean aggregation)"),
    _op("arma_conv",      30, "graph",       (1, 1),    False, False, _graph_conv_shape_with("stacks"), _arma_cost, "ARMA graph convolution (ARMAConv, one layer); kernel = stacks"),
    _op("graph_conv",     31, "graph",       (1, 1),    False, False, _graph_conv_shape, _graphconv_cost, "k-GNN graph convolution (GraphConv, add aggregation)"),
    # v2: recurrent cells (NAS-Bench-NLP)
    _op("leaky_relu",     32, "activation",  (1, 1),    False, True,  _same,             _per_output,     "max(x, 0.01 x)"),
    _op("blend",          33, "elementwise", (3, 3),    False, True,  _blend_shape,      _blend_cost,     "g*a + (1-g)*b of inputs (g, a, b)"),
    _op("state",          34, "recurrent",   (1, 1),    False, False, _state_shape,      _no_cost,        "recurrent state of slot groups from the previous time step (size c_out)"),
    _op("carry",          35, "recurrent",   (1, None), False, True,  _same,             _no_cost,        "returns its first input; hands input i on as state slot i of the next step"),
    # v2: spiking networks (SpikeNAS-Bench)
    _op("lif",            36, "neuron",      (1, 1),    False, True,  _lif_shape,        _lif_cost,       "leaky integrate-and-fire neuron; kernel = threshold, dilation = 1/tau (thousandths)"),
    _op("channel_avg_pool", 37, "pool",      (1, 1),    False, True,  _channel_pool_shape, _global_pool_cost, "mean over groups of kernel consecutive channels"),
    # v3: exact DARTS / TransNAS-Bench-101 factorized reduce and FBNet channel shuffle
    _op("crop",           38, "structural",  (1, 1),    False, True,  _crop_shape,       _no_cost,        "zero-pad padding rows/cols at bottom/right, then drop kernel rows/cols at top/left"),
    _op("channel_shuffle", 39, "structural", (1, 1),    False, True,  _channel_shuffle_shape, _no_cost,   "ShuffleNet channel shuffle in groups groups (torch.nn.ChannelShuffle)"),
    # v3: transformers (sequences d x L x 1; attention heads x M x N)
    _op("embedding",      40, "embedding",   (1, 2),    False, False, _embedding_shape,  _embedding_cost, "token embedding lookup (groups = vocabulary size); a 2nd input ties it to that embedding's table"),
    _op("unembed",        41, "embedding",   (1, 2),    False, True,  _unembed_shape,    _unembed_cost,   "projection onto the vocabulary (c_out), no bias; a 2nd input ties it to that embedding's table"),
    _op("pos_encoding",   42, "embedding",   (1, 1),    False, False, _pos_encoding_shape, _per_output,   "x * sqrt(C) + fixed sinusoidal position encodings"),
    _op("split_heads",    43, "structural",  (1, 1),    False, True,  _split_heads_shape, _no_cost,       "D x L x 1 -> groups heads x L x D/groups"),
    _op("merge_heads",    44, "structural",  (1, 1),    False, True,  _merge_heads_shape, _no_cost,       "G x L x E -> G*E x L x 1 (inverse of split_heads)"),
    _op("transpose",      45, "structural",  (1, 1),    False, True,  _transpose_shape,  _no_cost,        "G x M x N -> G x N x M (per-head matrix transpose)"),
    _op("matmul",         46, "attention",   (2, 2),    False, True,  _matmul_shape,     _matmul_cost,    "per-head matrix product G x M x K @ G x K x N (not commutative)"),
    _op("softmax",        47, "attention",   (1, 1),    False, False, _softmax_shape,    _per_output,     "softmax over the last dim; groups = d_k scales by 1/sqrt(d_k), padding = 1 causal mask"),
    _op("concat_seq",     48, "structural",  (1, None), False, True,  _concat_seq_shape, _no_cost,        "concatenation along positions (H), in input order"),
)
# fmt: on

#: ops by name; the one vocabulary every graph, table and predictor uses.
OPS: dict[str, OpSpec] = {spec.name: spec for spec in _OPS}
OP_NAMES: tuple[str, ...] = tuple(spec.name for spec in sorted(_OPS, key=lambda s: s.index))
NUM_OPS = len(OP_NAMES)
ACTIVATIONS: tuple[str, ...] = tuple(s.name for s in _OPS if s.category == "activation")
assert [s.index for s in sorted(_OPS, key=lambda s: s.index)] == list(range(NUM_OPS)), "op indices must be 0..N-1"


def get_op(name: str) -> OpSpec:
    """Look an op up by name; an unknown name raises with the valid names."""
    try:
        return OPS[name]
    except KeyError:
        raise UnknownOpError(
            f"unknown op {name!r}; expected one of the vocabulary v{VOCAB_VERSION} ops: {', '.join(OP_NAMES)}"
        ) from None


def list_ops() -> list[str]:
    """All op names in index order."""
    return list(OP_NAMES)


def _fmt(shape: Shape) -> str:
    return "x".join(str(v) for v in shape)
