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
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

from archbench.errors import GraphValidationError, UnknownOpError

VOCAB_VERSION = 2  # v2: + channel_slice (NAS-Bench-101 truncation)

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


@dataclass(frozen=True)
class OpSpec:
    """One op of the vocabulary.

    Attributes:
        name: the op's name in graphs, tables and errors.
        index: stable integer id (append-only; used for one-hot features).
        category: io, conv, linear, norm, activation, elementwise, pool, structural.
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
    _op("mul",            16, "elementwise", (1, None), True,  True,  _elementwise_nary, _per_input_elem, "element-wise product of equal-shape inputs"),
    _op("concat",         17, "structural",  (1, None), False, True,  _concat_shape,     _no_cost,        "concatenation along channels, in input order"),
    _op("avg_pool",       18, "pool",        (1, 1),    False, True,  _pool_shape,       _pool_cost,      "average pooling (kernel, stride, padding; padded zeros not counted)"),
    _op("max_pool",       19, "pool",        (1, 1),    False, True,  _pool_shape,       _pool_cost,      "max pooling (kernel, stride, padding)"),
    _op("global_avg_pool",20, "pool",        (1, 1),    False, True,  _global_pool_shape,_global_pool_cost,"average over all spatial positions -> C x 1 x 1"),
    _op("flatten",        21, "structural",  (1, 1),    False, True,  _flatten_shape,    _no_cost,        "reshape C x H x W -> (C*H*W) x 1 x 1"),
    _op("identity",       22, "structural",  (1, 1),    False, True,  _same,             _no_cost,        "pass-through (skip connection)"),
    _op("zero",           23, "structural",  (1, 1),    False, True,  _strided_same,     _no_cost,        "all-zero output ('none' edge); stride > 1 halves spatial size"),
    _op("channel_slice",  24, "structural",  (1, 1),    False, True,  _channel_slice_shape, _no_cost,     "the first c_out channels of the input (NAS-Bench-101 channel truncation)"),
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
