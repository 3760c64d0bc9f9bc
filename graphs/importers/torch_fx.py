"""Import a ``torch.nn.Module`` as a computation graph by tracing it with ``torch.fx``.

:func:`from_module` turns a PyTorch network into a :class:`~archbench.graphs.cg.ComputationGraph`
of the same op vocabulary every search space uses, so an imported network gets shapes, params,
FLOPs, a canonical hash, PyG features and predictions like any benchmark architecture.

How it works:

1. **Trace.** ``torch.fx`` records ``forward`` symbolically. The layers of :data:`CONVERTERS`
   (``nn.Conv2d``, ``nn.BatchNorm2d``, ``nn.ReLU``, ...; exact types, not subclasses) stay leaves;
   every other module is traced through down to those layers and tensor functions. The module
   is traced in eval mode (so training-only branches such as auxiliary heads are not part of
   the graph) and its train/eval flags are restored afterwards. Arguments of ``forward`` after
   the input are fixed to their defaults.
2. **Shapes.** The traced graph runs once on a batch of 2 meta tensors (shapes only, no compute;
   the module's parameters are swapped for meta copies during the run), as
   ``torch.fx.passes.shape_prop.ShapeProp`` does, to record every value's real shape. If an op
   has no meta kernel, a random real batch (fixed seed, no gradients) is used instead.
3. **Convert.** Each fx node goes through the one table :data:`CONVERTERS`, keyed by module
   class, function, or ``Tensor`` method name. Values are feature maps ``(N, C, H, W)``,
   vectors ``(N, C)`` (or ``(N, C, 1)``; a vector is ``C x 1 x 1`` in the graph) and, between
   two ``permute`` calls, channels-last maps ``(N, H, W, C)`` (for a ``LayerNorm`` or a
   ``Linear`` over channels, as ConvNeXt writes them; that ``Linear`` is a 1x1 ``conv``).
   Reshapes that only add or drop unit dims of a ``C x 1 x 1`` value (``x.flatten(1)`` after a
   global pool, ``x[:, :, None, None]``) are not nodes, which matches how
   :func:`archbench.graphs.torch_module.to_module` lays out vectors; flattening a map with
   ``H * W > 1``, and any ``nn.Flatten`` module, is a ``flatten`` node. ``x[:, :, ::s, ::s]``
   followed by ``.mul(0.)`` is a ``zero`` op with stride ``s`` (how NAS-Bench-201 and DARTS
   execute their ``none`` edge), as are ``x.new_zeros(...)`` and ``torch.zeros_like(x)``.
   ``F.pad(x, (0, p, 0, p))`` (or ``nn.ZeroPad2d``, ``nn.ConstantPad2d`` with value 0) and
   ``x[:, :, k:, k:]`` are ``crop`` ops; a pad followed by such a slice is one ``crop`` (as
   DARTS's and TransNAS-Bench-101's FactorizedReduce write it). A channel shuffle is
   ``nn.ChannelShuffle``, ``torch.channel_shuffle`` or ShuffleNet's
   ``x.view(N, g, C // g, H, W)``, ``transpose(1, 2)`` (or ``permute(0, 2, 1, 3, 4)``), ``view(N, C, H, W)``.
4. **Assemble.** Values that do not reach the output are dropped, a chain of binary ``+``
   (or ``*``) is merged into one n-ary ``add`` (``mul``) node, a chain of crops into one crop,
   and nodes are added through
   :class:`~archbench.graphs.cg.GraphBuilder`, so shapes, params and FLOPs come from the op
   vocabulary. Every node's vocabulary shape is checked against the traced shape, the graph is
   validated, and its params must equal ``sum(p.numel() for p in module.parameters())``.

Anything the vocabulary cannot express raises :class:`~archbench.errors.GraphValidationError`
naming the fx node, what it calls and (where known) the module it sits in: an untraceable
``forward`` (data-dependent control flow), an op without an archbench op, a layer option that
changes the function (``count_include_pad=True`` with padding, ``padding_mode='reflect'``,
non-square kernels), weight sharing, or parameters the traced forward does not use.
"""
from __future__ import annotations

import builtins
import inspect
import operator
import os
import traceback
from typing import Any, Callable, NamedTuple, NoReturn, Sequence

import torch
import torch.fx as fx
from torch import nn
from torch.nn import functional as F

from archbench.errors import GraphValidationError

from ..cg import ComputationGraph, GraphBuilder
from ..ops import Shape

#: Batch size of the shape-propagation run (2, so the batch dim is told apart from unit dims).
SHAPE_BATCH = 2

# Value layouts. GROUPED is a map viewed as (N, g, C/g, H, W), SHUFFLED that view with dims 1 and 2
# swapped (N, C/g, g, H, W): the middle steps of a view -> transpose -> view channel shuffle.
MAP, VEC, LAST = "map", "vec", "channels_last"
GROUPED, SHUFFLED = "grouped", "shuffled"


class _Value(NamedTuple):
    """A tensor of the traced network, as the graph sees it.

    Attributes:
        node: index of the pending graph node that computes it.
        shape: graph shape ``(C, H, W)``.
        layout: :data:`MAP`, :data:`VEC` or :data:`LAST`.
        real: the torch shape without the batch dim.
        stride: > 1 when the value is ``node[:, :, ::stride, ::stride]`` (only a zero may use it).
    """

    node: int
    shape: Shape
    layout: str
    real: tuple[int, ...]
    stride: int = 1


class _Param(NamedTuple):
    """A parameter or buffer read with ``get_attr`` (an operand of a functional layer norm)."""

    target: str


class _Pending(NamedTuple):
    op: str
    inputs: list[int]
    attrs: dict
    fx_node: fx.Node | None
    shape: Shape


#: ``(importer, fx node, target) -> value``; target is the submodule, the function or the method name.
Converter = Callable[["_Importer", fx.Node, Any], "_Value | None"]
_STATIC = None  # converters return it for values that are not tensors (sizes, asserts)


# ---- argument helpers ----------------------------------------------------------------------------

_MISSING = object()


def _arg(node: fx.Node, i: int, name: str, default: Any = _MISSING) -> Any:
    """Argument ``i`` (positional) or ``name`` (keyword) of an fx call."""
    if len(node.args) > i:
        return node.args[i]
    if name in node.kwargs:
        return node.kwargs[name]
    if default is _MISSING:
        raise GraphValidationError(f"torch.fx node {node.name!r} lacks argument {name!r}")
    return default


def _square(value: Any, what: str, imp: "_Importer", node: fx.Node) -> int:
    """An int, or a tuple/list of equal ints, as one int (the vocabulary has square windows only)."""
    if isinstance(value, (tuple, list)):
        if len(set(value)) != 1:
            imp.fail(node, f"has {what}={tuple(value)}; archbench ops have square {what}s (equal height and width)")
        value = value[0]
    if not isinstance(value, int):
        imp.fail(node, f"has {what}={value!r}; expected an int")
    return value


def _dims(dims: Any, rank: int) -> tuple[int, ...]:
    dims = dims if isinstance(dims, (tuple, list)) else (dims,)
    return tuple(sorted(d % rank for d in dims))


# ---- converters --------------------------------------------------------------------------------------

def _act(op: str, check: Callable[[Any, fx.Node], str | None] | None = None) -> Converter:
    """An activation: one input, same shape and layout (``check`` returns why an option is unsupported)."""

    def convert(imp: "_Importer", node: fx.Node, target: Any) -> _Value:
        if check is not None:
            problem = check(target, node)
            if problem:
                imp.fail(node, problem)
        x = imp.tensor(node.args[0], node)
        return imp.emit(node, op, [x], layout=x.layout)

    return convert


def _gelu_check(target: Any, node: fx.Node) -> str | None:
    approx = target.approximate if isinstance(target, nn.GELU) else node.kwargs.get("approximate", "none")
    return None if approx == "none" else f"uses GELU(approximate={approx!r}); archbench's gelu is the exact GELU"


def _leaky_check(target: Any, node: fx.Node) -> str | None:
    slope = target.negative_slope if isinstance(target, nn.LeakyReLU) else _arg(node, 1, "negative_slope", 0.01)
    return None if slope == 0.01 else f"uses negative_slope={slope}; archbench's leaky_relu has slope 0.01"


def _identity(imp: "_Importer", node: fx.Node, target: Any) -> _Value:
    x = imp.tensor(node.args[0], node)
    return imp.emit(node, "identity", [x], layout=x.layout)


def _alias(imp: "_Importer", node: fx.Node, target: Any) -> _Value:
    """A copy or view that changes nothing the graph sees (``contiguous``, ``clone``, ``detach``)."""
    return imp.tensor(node.args[0], node, allow_strided=True, allow_grouped=True)


def _static(imp: "_Importer", node: fx.Node, target: Any) -> None:
    return _STATIC


def _getattr(imp: "_Importer", node: fx.Node, target: Any) -> None:
    if node.args[1] not in ("shape", "ndim", "dtype", "device"):
        imp.fail(node, f"reads tensor attribute {node.args[1]!r}; archbench reads only shape, ndim, dtype and device")
    return _STATIC


def _binary_operands(node: fx.Node) -> tuple[Any, Any]:
    return node.args[0], _arg(node, 1, "other")


def _add(imp: "_Importer", node: fx.Node, target: Any) -> _Value:
    a, b = _binary_operands(node)
    if node.kwargs.get("alpha", 1) != 1:
        imp.fail(node, f"adds with alpha={node.kwargs['alpha']}; archbench's add is a plain sum")
    if isinstance(a, (int, float)) and not isinstance(b, (int, float)):
        a, b = b, a
    if isinstance(b, (int, float)):
        if b != 0:
            imp.fail(node, f"adds the constant {b} to a tensor; archbench's add sums tensors only")
        return imp.tensor(a, node)  # x + 0, e.g. the start of Python's sum([...])
    return imp.emit(node, "add", [imp.tensor(a, node), imp.tensor(b, node)])


def _mul(imp: "_Importer", node: fx.Node, target: Any) -> _Value:
    a, b = _binary_operands(node)
    if isinstance(a, (int, float)) and not isinstance(b, (int, float)):
        a, b = b, a
    if isinstance(b, (int, float)):
        if b != 0:
            imp.fail(node, f"multiplies by the constant {b}; archbench has mul of tensors and zero (x * 0) only")
        return imp.zero(node, imp.tensor(a, node, allow_strided=True))
    return imp.emit(node, "mul", [imp.tensor(a, node), imp.tensor(b, node)])


def _zeros_like(imp: "_Importer", node: fx.Node, target: Any) -> _Value:
    return imp.zero(node, imp.tensor(node.args[0], node, allow_strided=True))


def _cat(imp: "_Importer", node: fx.Node, target: Any) -> _Value:
    tensors = _arg(node, 0, "tensors")
    xs = [imp.tensor(t, node) for t in tensors]
    dim = _arg(node, 1, "dim", 0)
    layout = xs[0].layout
    channel_dim = {MAP: 1, VEC: 1, LAST: 3}[layout]
    if any(x.layout != layout for x in xs) or dim % (len(xs[0].real) + 1) != channel_dim:
        imp.fail(node, f"concatenates along dim {dim} of {layout} tensors; archbench's concat joins channels "
                       f"(dim 1 of (N, C, H, W) or (N, C))")
    return imp.emit(node, "concat", xs, layout=layout)


def _getitem(imp: "_Importer", node: fx.Node, target: Any) -> _Value | None:
    x = imp.tensor(node.args[0], node)
    index = node.args[1]
    index = list(index) if isinstance(index, tuple) else [index]
    if any(not (i is None or i is Ellipsis or _static_slice(i)) for i in index) or index.count(Ellipsis) > 1:
        imp.fail(node, f"indexes a tensor with {node.args[1]!r}; archbench supports channel slices x[:, :c], "
                       f"crops x[:, :, k:, k:], strided spatial slices x[:, :, ::s, ::s] (as the input of a zero) "
                       f"and x[:, :, None, None]")
    rank = len(x.real) + 1
    if Ellipsis in index:
        k = index.index(Ellipsis)
        fill = rank - sum(i is not None for i in index if i is not Ellipsis)
        index[k:k + 1] = [slice(None)] * fill
    if any(i is None for i in index):
        if not all(i is None or _full(i, 1) for i in index):
            imp.fail(node, f"indexes and adds unit dims at once ({node.args[1]!r}); archbench supports x[:, :, None, None]")
        return imp.reshape(node, x)
    index += [slice(None)] * (rank - len(index))
    sizes = (SHAPE_BATCH,) + x.real
    if not _full(index[0], sizes[0]):
        imp.fail(node, "indexes the batch dim; an archbench graph computes every sample alike")
    if x.layout == LAST:
        imp.fail(node, "slices a channels-last tensor; archbench slices (N, C, H, W) or (N, C) tensors")
    if all(_full(i, n) for i, n in zip(index[2:], sizes[2:])):
        start, stop, step = index[1].indices(sizes[1])
        if start != 0 or step != 1:
            imp.fail(node, f"takes channels {index[1]!r}; archbench's channel_slice keeps the first c channels (x[:, :c])")
        if stop == sizes[1]:
            return x
        return imp.emit(node, "channel_slice", [x], layout=x.layout, c_out=stop - start)
    if x.layout == MAP and _full(index[1], sizes[1]):
        spans = [i.indices(n) for i, n in zip(index[2:], sizes[2:])]
        if all(s[0] == 0 and s[1] == n for s, n in zip(spans, sizes[2:])) and spans[0][2] == spans[1][2]:
            step = spans[0][2]
            return x if step == 1 else x._replace(stride=step * x.stride, real=imp.real(node))
        if all(s[1] == n and s[2] == 1 for s, n in zip(spans, sizes[2:])) and spans[0][0] == spans[1][0]:
            return imp.emit(node, "crop", [x], kernel=spans[0][0])  # x[:, :, k:, k:] (DARTS's FactorizedReduce)
    imp.fail(node, f"slices a tensor with {node.args[1]!r}; archbench supports channel slices x[:, :c], crops "
                   f"x[:, :, k:, k:] and strided spatial slices x[:, :, ::s, ::s] (as the input of a zero)")


def _static_slice(i: Any) -> bool:
    """A slice whose bounds are constants (not sizes computed from a tensor)."""
    return isinstance(i, slice) and all(v is None or isinstance(v, int) for v in (i.start, i.stop, i.step))


def _full(i: Any, size: int) -> bool:
    return isinstance(i, slice) and i.indices(size) == (0, size, 1)


def _narrow(imp: "_Importer", node: fx.Node, target: Any) -> _Value:
    x = imp.tensor(node.args[0], node)
    dim, start, length = _arg(node, 1, "dim"), _arg(node, 2, "start"), _arg(node, 3, "length")
    if x.layout == LAST or dim % (len(x.real) + 1) != 1 or start != 0:
        imp.fail(node, f"narrows dim {dim} from {start}; archbench's channel_slice keeps the first c channels")
    return x if length == x.shape[0] else imp.emit(node, "channel_slice", [x], layout=x.layout, c_out=length)


def _reshape(imp: "_Importer", node: fx.Node, target: Any) -> _Value:
    return imp.reshape(node, imp.tensor(node.args[0], node, allow_grouped=True))


def _pad(imp: "_Importer", node: fx.Node, target: Any) -> _Value:
    if isinstance(target, nn.ConstantPad2d):  # nn.ZeroPad2d is one too
        pad, mode, value = target.padding, "constant", target.value
    else:
        pad, mode, value = _arg(node, 1, "pad"), _arg(node, 2, "mode", "constant"), _arg(node, 3, "value", None)
    x = imp.need(node, imp.tensor(node.args[0], node), MAP)
    pad = tuple(pad) if isinstance(pad, (tuple, list)) else (pad,)
    if (mode != "constant" or (value or 0) != 0 or len(pad) != 4 or pad[0] != 0 or pad[2] != 0 or pad[1] != pad[3]
            or not isinstance(pad[1], int) or pad[1] < 0):
        imp.fail(node, f"pads with {pad} (mode={mode!r}, value={value}); archbench's crop appends p zero rows and "
                       f"columns at the bottom and right only: F.pad(x, (0, p, 0, p))")
    return x if pad[1] == 0 else imp.emit(node, "crop", [x], kernel=0, padding=pad[1])


def _channel_shuffle(imp: "_Importer", node: fx.Node, target: Any) -> _Value:
    groups = target.groups if isinstance(target, nn.ChannelShuffle) else _arg(node, 1, "groups")
    x = imp.need(node, imp.tensor(node.args[0], node), MAP)
    return imp.emit(node, "channel_shuffle", [x], groups=groups)


def _swap_groups(imp: "_Importer", node: fx.Node, x: _Value) -> _Value:
    """Dims 1 and 2 of a grouped view swapped: (N, g, C/g, H, W) <-> (N, C/g, g, H, W)."""
    return x._replace(layout=SHUFFLED if x.layout == GROUPED else GROUPED, real=imp.real(node))


def _transpose(imp: "_Importer", node: fx.Node, target: Any) -> _Value:
    x = imp.tensor(node.args[0], node, allow_grouped=True)
    d0, d1 = _arg(node, 1, "dim0"), _arg(node, 2, "dim1")
    rank = len(x.real) + 1
    if d0 % rank == d1 % rank:
        return x
    if x.layout in (GROUPED, SHUFFLED) and {d0 % rank, d1 % rank} == {1, 2}:
        return _swap_groups(imp, node, x)
    imp.fail(node, f"transposes dims {d0} and {d1} of a {x.layout} tensor {x.real}; archbench supports transpose(1, 2) "
                   f"of a grouped view x.view(N, g, C // g, H, W) (a channel shuffle)")


def _flatten_module(imp: "_Importer", node: fx.Node, module: nn.Flatten) -> _Value:
    x = imp.tensor(node.args[0], node)
    if module.start_dim != 1 or module.end_dim != -1:
        imp.fail(node, f"flattens dims {module.start_dim}..{module.end_dim}; archbench's flatten is nn.Flatten(1)")
    return imp.reshape(node, x, always_node=True)


def _permute(imp: "_Importer", node: fx.Node, target: Any) -> _Value:
    x = imp.tensor(node.args[0], node, allow_grouped=True)
    dims = node.args[1:] if len(node.args) > 2 else _arg(node, 1, "dims")
    rank = len(x.real) + 1
    dims = tuple(d % rank for d in dims) if rank in (4, 5) and len(dims) == rank else None
    if dims == tuple(range(rank)):
        return x
    if x.layout in (GROUPED, SHUFFLED) and dims == (0, 2, 1, 3, 4):
        return _swap_groups(imp, node, x)
    if x.layout == MAP and dims == (0, 2, 3, 1):
        return x._replace(layout=LAST, real=imp.real(node))
    if x.layout == LAST and dims == (0, 3, 1, 2):
        return x._replace(layout=MAP, real=imp.real(node))
    imp.fail(node, f"permutes a {x.layout} tensor with {dims or node.args[1:]}; archbench supports only "
                   f"(N, C, H, W) <-> (N, H, W, C) around a channels-last LayerNorm or Linear, and "
                   f"permute(0, 2, 1, 3, 4) of a grouped view (a channel shuffle)")


def _mean(imp: "_Importer", node: fx.Node, target: Any) -> _Value:
    x = imp.tensor(node.args[0], node)
    dims = _arg(node, 1, "dim", None)
    spatial = {MAP: (2, 3), LAST: (1, 2)}.get(x.layout)
    if dims is None or spatial is None or _dims(dims, 4) != spatial:
        imp.fail(node, f"averages dims {dims} of a {x.layout} tensor; archbench's global_avg_pool averages H and W "
                       f"(x.mean((2, 3)))")
    keep = _arg(node, 2, "keepdim", False)
    return imp.emit(node, "global_avg_pool", [x], layout=LAST if keep and x.layout == LAST else None)


def _adaptive_avg_pool(imp: "_Importer", node: fx.Node, target: Any) -> _Value:
    x = imp.tensor(node.args[0], node)
    size = target.output_size if isinstance(target, nn.AdaptiveAvgPool2d) else _arg(node, 1, "output_size")
    if size not in (1, (1, 1), [1, 1]):
        imp.fail(node, f"pools to output_size={size}; archbench's global_avg_pool is adaptive_avg_pool2d(x, 1)")
    return imp.emit(node, "global_avg_pool", [imp.need(node, x, MAP)])


def _pool_attrs(imp: "_Importer", node: fx.Node, kernel: Any, stride: Any, padding: Any) -> dict:
    k = _square(kernel, "kernel", imp, node)
    s = k if stride is None or stride == [] or stride == () else _square(stride, "stride", imp, node)
    return {"kernel": k, "stride": s, "padding": _square(padding, "padding", imp, node)}


def _avg_pool(imp: "_Importer", node: fx.Node, target: Any) -> _Value:
    if isinstance(target, nn.AvgPool2d):
        k, s, p, include, div = (target.kernel_size, target.stride, target.padding, target.count_include_pad,
                                 target.divisor_override)
    else:
        k, s, p = _arg(node, 1, "kernel_size"), _arg(node, 2, "stride", None), _arg(node, 3, "padding", 0)
        include, div = _arg(node, 5, "count_include_pad", True), _arg(node, 6, "divisor_override", None)
    attrs = _pool_attrs(imp, node, k, s, p)
    if include and attrs["padding"] > 0:
        imp.fail(node, f"averages with count_include_pad=True and padding={attrs['padding']}; archbench's avg_pool does "
                       f"not count padded zeros (count_include_pad=False, as NAS-Bench-201 and DARTS)")
    if div is not None:
        imp.fail(node, f"uses divisor_override={div}; archbench's avg_pool divides by the window size")
    return imp.emit(node, "avg_pool", [imp.need(node, imp.tensor(node.args[0], node), MAP)], **attrs)


def _max_pool(imp: "_Importer", node: fx.Node, target: Any) -> _Value:
    if isinstance(target, nn.MaxPool2d):
        k, s, p, d, idx = target.kernel_size, target.stride, target.padding, target.dilation, target.return_indices
    else:
        k, s, p = _arg(node, 1, "kernel_size"), _arg(node, 2, "stride", None), _arg(node, 3, "padding", 0)
        d, idx = _arg(node, 4, "dilation", 1), _arg(node, 6, "return_indices", False)
    attrs = _pool_attrs(imp, node, k, s, p)
    if _square(d, "dilation", imp, node) != 1 or idx:
        imp.fail(node, "uses a dilated max pool or return_indices; archbench's max_pool has neither")
    return imp.emit(node, "max_pool", [imp.need(node, imp.tensor(node.args[0], node), MAP)], **attrs)


def _conv2d(imp: "_Importer", node: fx.Node, conv: nn.Conv2d) -> _Value:
    x = imp.need(node, imp.tensor(node.args[0], node), MAP)
    if conv.padding_mode != "zeros":
        imp.fail(node, f"pads with padding_mode={conv.padding_mode!r}; archbench's conv pads with zeros")
    k = _square(conv.kernel_size, "kernel", imp, node)
    s = _square(conv.stride, "stride", imp, node)
    d = _square(conv.dilation, "dilation", imp, node)
    if conv.padding == "valid":
        p = 0
    elif conv.padding == "same":
        if (d * (k - 1)) % 2:
            imp.fail(node, f"uses padding='same' with an even kernel ({k}, dilation {d}), which pads asymmetrically")
        p = d * (k - 1) // 2
    else:
        p = _square(conv.padding, "padding", imp, node)
    g = conv.groups
    attrs = dict(kernel=k, stride=s, padding=p, dilation=d, groups=g, bias=int(conv.bias is not None),
                 c_out=conv.out_channels)
    # groups == in_channels (> 1) is a depthwise conv; with one channel it is just a conv.
    op = "dwconv" if g > 1 and g == conv.in_channels else "conv"
    return imp.emit(node, op, [x], **attrs)


def _linear(imp: "_Importer", node: fx.Node, lin: nn.Linear) -> _Value:
    x = imp.tensor(node.args[0], node)
    bias = int(lin.bias is not None)
    if x.layout == LAST:
        # A Linear over the channels of an (N, H, W, C) tensor is a 1x1 convolution.
        return imp.emit(node, "conv", [x], layout=LAST, kernel=1, stride=1, padding=0, dilation=1, groups=1,
                        bias=bias, c_out=lin.out_features)
    if x.layout != VEC or len(x.real) != 1:
        imp.fail(node, f"applies nn.Linear to the last dim of a tensor of shape {x.real} per sample; archbench's "
                       f"linear maps vectors (N, C) (flatten first) or channels-last maps")
    return imp.emit(node, "linear", [x], bias=bias, c_out=lin.out_features)


def _batch_norm(rank_layout: str) -> Converter:
    def convert(imp: "_Importer", node: fx.Node, bn: nn.modules.batchnorm._BatchNorm) -> _Value:
        x = imp.need(node, imp.tensor(node.args[0], node), rank_layout)
        if bn.num_features != x.shape[0]:
            imp.fail(node, f"normalizes {bn.num_features} features but gets {x.shape[0]} channels")
        return imp.emit(node, "batch_norm", [x], bias=int(bn.affine))

    return convert


def _layer_norm_node(imp: "_Importer", node: fx.Node, x: _Value, shape: Any, weight: bool, bias: bool) -> _Value:
    if x.layout not in (LAST, VEC) or len(x.real) != (3 if x.layout == LAST else 1):
        imp.fail(node, f"layer-normalizes a {x.layout} tensor {x.real}; archbench's layer_norm normalizes channels: "
                       f"of a vector (N, C) or a channels-last map (N, H, W, C)")
    if tuple(shape) != (x.shape[0],):
        imp.fail(node, f"normalizes over {tuple(shape)}; archbench's layer_norm normalizes over the {x.shape[0]} channels")
    if weight != bias:
        imp.fail(node, "has a scale but no shift (or the reverse); archbench's affine layer_norm has both")
    return imp.emit(node, "layer_norm", [x], layout=x.layout, bias=int(weight))


def _layer_norm_module(imp: "_Importer", node: fx.Node, ln: nn.LayerNorm) -> _Value:
    return _layer_norm_node(imp, node, imp.tensor(node.args[0], node), ln.normalized_shape,
                            ln.weight is not None, ln.bias is not None)


def _layer_norm_function(imp: "_Importer", node: fx.Node, target: Any) -> _Value:
    weight, bias = _arg(node, 2, "weight", None), _arg(node, 3, "bias", None)
    for p in (weight, bias):
        if p is not None:
            imp.param(p, node)
    return _layer_norm_node(imp, node, imp.tensor(node.args[0], node), _arg(node, 1, "normalized_shape"),
                            weight is not None, bias is not None)


try:  # torch.fx inserts this check for arguments fixed by concrete_args; it computes nothing.
    from torch.fx._symbolic_trace import _assert_is_none as _FX_ASSERT_IS_NONE
except ImportError:  # pragma: no cover - other torch versions
    _FX_ASSERT_IS_NONE = None


#: The one lookup table: module class, function or ``Tensor`` method name -> converter.
CONVERTERS: dict[Any, Converter] = {
    # layers (exact module types; they are the tracer's leaves)
    nn.Conv2d: _conv2d,
    nn.Linear: _linear,
    nn.BatchNorm2d: _batch_norm(MAP),
    nn.BatchNorm1d: _batch_norm(VEC),
    nn.LayerNorm: _layer_norm_module,
    nn.AvgPool2d: _avg_pool,
    nn.MaxPool2d: _max_pool,
    nn.AdaptiveAvgPool2d: _adaptive_avg_pool,
    nn.Flatten: _flatten_module,
    nn.Identity: _identity,
    nn.Dropout: _identity,
    nn.Dropout2d: _identity,
    nn.ReLU: _act("relu"),
    nn.ReLU6: _act("relu6"),
    nn.GELU: _act("gelu", _gelu_check),
    nn.Sigmoid: _act("sigmoid"),
    nn.SiLU: _act("swish"),
    nn.Tanh: _act("tanh"),
    nn.Hardswish: _act("hswish"),
    nn.Hardsigmoid: _act("hsigmoid"),
    nn.LeakyReLU: _act("leaky_relu", _leaky_check),
    nn.ZeroPad2d: _pad,
    nn.ConstantPad2d: _pad,
    nn.ChannelShuffle: _channel_shuffle,
    # functions
    F.relu: _act("relu"), torch.relu: _act("relu"), F.relu_: _act("relu"), torch.relu_: _act("relu"),
    F.relu6: _act("relu6"),
    F.gelu: _act("gelu", _gelu_check),
    torch.sigmoid: _act("sigmoid"), F.sigmoid: _act("sigmoid"),
    F.silu: _act("swish"),
    torch.tanh: _act("tanh"), F.tanh: _act("tanh"),
    F.hardswish: _act("hswish"),
    F.hardsigmoid: _act("hsigmoid"),
    F.leaky_relu: _act("leaky_relu", _leaky_check),
    operator.add: _add, operator.iadd: _add, torch.add: _add,
    operator.mul: _mul, operator.imul: _mul, torch.mul: _mul,
    torch.cat: _cat, torch.concat: _cat, torch.concatenate: _cat,
    operator.getitem: _getitem,
    torch.narrow: _narrow,
    torch.flatten: _reshape, torch.reshape: _reshape, torch.squeeze: _reshape, torch.unsqueeze: _reshape,
    torch.permute: _permute,
    torch.transpose: _transpose, torch.swapaxes: _transpose,
    F.pad: _pad,
    torch.channel_shuffle: _channel_shuffle, torch.native_channel_shuffle: _channel_shuffle,
    torch.mean: _mean,
    F.adaptive_avg_pool2d: _adaptive_avg_pool,
    F.avg_pool2d: _avg_pool,
    F.max_pool2d: _max_pool,
    F.layer_norm: _layer_norm_function,
    F.dropout: _identity, F.dropout2d: _identity,
    torch.zeros_like: _zeros_like,
    builtins.getattr: _getattr,
    **({_FX_ASSERT_IS_NONE: _static} if _FX_ASSERT_IS_NONE is not None else {}),
    # Tensor methods
    "relu": _act("relu"), "relu_": _act("relu"),
    "sigmoid": _act("sigmoid"), "sigmoid_": _act("sigmoid"),
    "tanh": _act("tanh"), "tanh_": _act("tanh"),
    "add": _add, "add_": _add,
    "mul": _mul, "mul_": _mul,
    "mean": _mean,
    "flatten": _reshape, "view": _reshape, "reshape": _reshape, "squeeze": _reshape, "unsqueeze": _reshape,
    "permute": _permute,
    "transpose": _transpose, "swapaxes": _transpose,
    "narrow": _narrow,
    "new_zeros": _zeros_like, "zero_": _zeros_like,
    "contiguous": _alias, "clone": _alias, "detach": _alias,
    "size": _static, "dim": _static,
}


#: The vocabulary ops an import can produce (besides ``input`` and ``output``); the rest of the
#: vocabulary (graph convolutions, recurrent and spiking ops) has no torch.fx form here.
IMPORTED_OPS: frozenset[str] = frozenset({
    "conv", "dwconv", "linear", "batch_norm", "layer_norm", "relu", "relu6", "gelu", "sigmoid", "swish", "tanh",
    "hswish", "hsigmoid", "leaky_relu", "add", "mul", "concat", "avg_pool", "max_pool", "global_avg_pool", "flatten",
    "identity", "zero", "channel_slice", "crop", "channel_shuffle"})


def _target_name(target: Any) -> str:
    """A readable name of a module class, function or method name."""
    if isinstance(target, type):
        return f"torch.nn.{target.__name__}" if target.__module__.startswith("torch.nn.") else target.__qualname__
    if isinstance(target, str):
        return f"Tensor.{target}"
    name = getattr(target, "__name__", repr(target))
    if getattr(F, name, None) is target:
        return f"torch.nn.functional.{name}"
    if getattr(torch, name, None) is target:
        return f"torch.{name}"
    if getattr(operator, name, None) is target:
        return f"operator.{name}"
    if getattr(builtins, name, None) is target:
        return name
    return f"{getattr(target, '__module__', '?')}.{name}"


def supported_targets() -> list[str]:
    """Names of every module class, function and ``Tensor`` method the importer converts.

    Layers first, then functions, then ``Tensor`` methods, each group sorted.
    """
    kinds = {t: (0 if isinstance(t, type) else 2 if isinstance(t, str) else 1) for t in CONVERTERS
             if t is not _FX_ASSERT_IS_NONE}
    return [name for _, name in sorted({(kind, _target_name(t)) for t, kind in kinds.items()})]


_LEAF_TYPES = frozenset(t for t in CONVERTERS if isinstance(t, type))


def _transformer_targets() -> tuple[frozenset, frozenset]:
    """(layer types, functions and method names) of transformer ops, which the importer refuses by name."""
    from .. import torch_module as tm

    layers = frozenset({nn.Embedding, nn.MultiheadAttention, nn.Softmax, nn.Transformer, nn.TransformerEncoder,
                        nn.TransformerDecoder, nn.TransformerEncoderLayer, nn.TransformerDecoderLayer,
                        tm.TokenEmbedding, tm.Unembed, tm.PositionalEncoding, tm.SplitHeads, tm.MergeHeads,
                        tm.MatrixTranspose, tm.MatMul, tm.ScaledSoftmax, tm.ConcatSeq})
    calls = frozenset({F.embedding, F.softmax, torch.softmax, torch.matmul, torch.bmm, operator.matmul,
                       F.scaled_dot_product_attention, F.multi_head_attention_forward, "softmax", "matmul", "bmm"})
    return layers, calls


_TRANSFORMER_LAYERS, _TRANSFORMER_CALLS = _transformer_targets()


class LayerTracer(fx.Tracer):
    """A ``torch.fx`` tracer whose leaves are exactly the layer types of :data:`CONVERTERS`."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        # Transformer layers stay leaves too, so the import fails at them with a clear message.
        return type(m) in _LEAF_TYPES or type(m) in _TRANSFORMER_LAYERS


# ---- the importer ------------------------------------------------------------------------------------

def _layout_of(real: tuple[int, ...]) -> str:
    return MAP if len(real) == 3 else VEC


class _Importer:
    """Converts one traced graph; holds the pending nodes and the value of every fx node."""

    def __init__(self, gm: fx.GraphModule, shapes: dict[fx.Node, Any], input_shape: Shape) -> None:
        self.gm = gm
        self.shapes = shapes
        self.values: dict[fx.Node, _Value | _Param | None] = {}
        self.pending: list[_Pending] = [_Pending("input", [], {}, None, input_shape)]
        self.input_shape = input_shape

    # -- errors ------------------------------------------------------------------------------------
    def describe(self, node: fx.Node) -> str:
        if node.op == "call_module":
            what = f"module {node.target!r} ({type(self.gm.get_submodule(node.target)).__name__})"
        elif node.op == "call_method":
            what = f"Tensor.{node.target}"
        else:
            what = _target_name(node.target)
        text = f"torch.fx node {node.name!r} calls {what}"
        stack = node.meta.get("nn_module_stack") or {}
        if stack and node.op != "call_module":
            path, cls = list(stack.values())[-1]
            text += f" (inside module {path!r}, a {getattr(cls, '__name__', cls)})"
        return text

    def fail(self, node: fx.Node, problem: str) -> NoReturn:
        raise GraphValidationError(f"{self.describe(node)}, which {problem}")

    # -- values ------------------------------------------------------------------------------------
    def real(self, node: fx.Node) -> tuple[int, ...]:
        """Per-sample torch shape of a node's (tensor) output; checks the batch dim is kept."""
        shape = self.shapes.get(node)
        if not isinstance(shape, tuple):
            self.fail(node, "does not produce a single tensor")
        if not shape or shape[0] != SHAPE_BATCH:
            self.fail(node, f"gives a tensor of shape {shape} for a batch of {SHAPE_BATCH}; archbench graphs keep "
                            f"the batch as dim 0")
        return shape[1:]

    def tensor(self, arg: Any, node: fx.Node, allow_strided: bool = False, allow_grouped: bool = False) -> _Value:
        """The value of an fx argument that must be a tensor computed from the input."""
        value = self.values.get(arg) if isinstance(arg, fx.Node) else None
        if isinstance(value, _Param):
            self.fail(node, f"uses parameter or buffer {value.target!r} directly as an operand (e.g. a learned "
                            f"scale); archbench ops own their parameters (conv, linear, norms)")
        if not isinstance(value, _Value):
            self.fail(node, f"takes {arg!r} where a tensor computed from the network input was expected")
        if value.stride > 1 and not allow_strided:
            self.fail(node, f"uses a strided spatial slice x[:, :, ::{value.stride}, ::{value.stride}]; archbench "
                            f"represents it only as the input of a zero (x[:, :, ::s, ::s].mul(0.))")
        if value.layout in (GROUPED, SHUFFLED) and not allow_grouped:
            self.fail(node, f"uses a grouped view {value.real} of a feature map; archbench supports it only as a "
                            f"channel shuffle: x.view(N, g, C // g, H, W).transpose(1, 2) viewed back to (N, C, H, W)")
        return value

    def param(self, arg: Any, node: fx.Node) -> _Param:
        value = self.values.get(arg) if isinstance(arg, fx.Node) else None
        if not isinstance(value, _Param):
            self.fail(node, f"takes {arg!r} as a weight; archbench expects the module's own parameter there")
        return value

    def need(self, node: fx.Node, x: _Value, layout: str) -> _Value:
        if x.layout != layout or (layout == VEC and len(x.real) != 1):
            want = {MAP: "a feature map (N, C, H, W)", VEC: "a vector (N, C)"}[layout]
            self.fail(node, f"needs {want} but gets a {x.layout} tensor of shape {x.real} per sample")
        return x

    def shape_of(self, node: fx.Node, layout: str) -> Shape:
        real = self.real(node)
        if layout == LAST and len(real) == 3:
            return (real[2], real[0], real[1])
        if len(real) == 3:
            return real  # type: ignore[return-value]
        if len(real) == 1 or (len(real) == 2 and real[1] == 1):
            return (real[0], 1, 1)
        self.fail(node, f"gives a tensor of shape {real} per sample; archbench graphs carry feature maps "
                        f"(N, C, H, W) and vectors (N, C)")

    def emit(self, node: fx.Node, op: str, inputs: Sequence[_Value], layout: str | None = None, **attrs: int) -> _Value:
        """A new pending node of ``op`` whose value has ``node``'s traced shape."""
        real = self.real(node)
        layout = layout or _layout_of(real)
        if layout == LAST and len(real) != 3:
            layout = VEC
        shape = self.shape_of(node, layout)
        self.pending.append(_Pending(op, [x.node for x in inputs], attrs, node, shape))
        return _Value(len(self.pending) - 1, shape, layout, real)

    def zero(self, node: fx.Node, x: _Value) -> _Value:
        real = self.real(node)
        shape = self.shape_of(node, x.layout if x.layout == LAST else _layout_of(real))
        base = self.pending[x.node].shape
        stride = x.stride
        if (shape[1], shape[2]) != ((base[1] - 1) // stride + 1, (base[2] - 1) // stride + 1):
            # new_zeros / zeros_like: the stride that gives the traced spatial size.
            stride = next((s for s in range(1, max(base[1], 1) + 1)
                           if (shape[1], shape[2]) == ((base[1] - 1) // s + 1, (base[2] - 1) // s + 1)), 0)
            if not stride:
                self.fail(node, f"makes zeros of size {'x'.join(map(str, shape))} from a {'x'.join(map(str, base))} "
                                f"input; archbench's zero keeps or subsamples the input's spatial size")
        x = x._replace(stride=1)
        return self.emit(node, "zero", [x], layout=x.layout if x.layout == LAST else None, stride=stride,
                         c_out=shape[0])

    def reshape(self, node: fx.Node, x: _Value, always_node: bool = False) -> _Value:
        """A reshape: unit dims of a C x 1 x 1 value come and go freely; a map flattens to (N, C*H*W)."""
        real = self.real(node)
        c, h, w = x.shape
        if x.layout == LAST:
            self.fail(node, "reshapes a channels-last tensor; permute it back to (N, C, H, W) first")
        if x.layout in (GROUPED, SHUFFLED):
            if real != (c, h, w):
                self.fail(node, f"reshapes the grouped view {x.real} to {real}; a channel shuffle views it back to "
                                f"({c}, {h}, {w}) per sample")
            if x.layout == GROUPED:  # viewed back without a transpose: nothing moved
                return x._replace(layout=MAP, real=real)
            return self.emit(node, "channel_shuffle", [x._replace(layout=MAP)], layout=MAP, groups=x.real[1])
        if (x.layout == MAP and not always_node and len(real) == 4 and real[0] * real[1] == c
                and real[2:] == (h, w)):
            return x._replace(layout=GROUPED, real=real)  # (N, g, C/g, H, W): a channel shuffle starts
        unit = h == w == 1 and real and real[0] == c and all(d == 1 for d in real[1:]) and len(real) <= 3
        if unit and not always_node:
            return x._replace(real=real, layout=_layout_of(real))
        if unit or real == (c * h * w,):
            return self.emit(node, "flatten", [x], layout=VEC)
        self.fail(node, f"reshapes {c}x{h}x{w} to {real} per sample; archbench graphs only flatten (N, C, H, W) to "
                        f"(N, C*H*W) and add or drop unit dims of vectors")

    # -- the walk ----------------------------------------------------------------------------------
    def convert(self) -> int:
        """Convert every fx node; returns the pending index of the output."""
        inputs_seen = 0
        out: int | None = None
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                if inputs_seen == 0:
                    real = self.real(node)
                    self.values[node] = _Value(0, self.input_shape, MAP, real)
                else:
                    self.values[node] = _STATIC  # an argument fixed to its default
                inputs_seen += 1
            elif node.op == "get_attr":
                self.values[node] = _Param(node.target)
            elif node.op == "output":
                out = self._output(node)
            else:
                self.values[node] = self._call(node)
        assert out is not None
        return out

    def _call(self, node: fx.Node) -> _Value | None:
        tensor_args = [a for a in node.all_input_nodes if isinstance(self.values.get(a), (_Value, _Param))]
        if not tensor_args and not isinstance(self.shapes.get(node), tuple):
            return _STATIC  # arithmetic on sizes and other non-tensor values
        if node.op == "call_module":
            target = self.gm.get_submodule(node.target)
            converter = CONVERTERS.get(type(target))
        else:
            target = node.target
            converter = CONVERTERS.get(target)
        if converter is None and (type(target) in _TRANSFORMER_LAYERS or target in _TRANSFORMER_CALLS):
            self.fail(node, "is a transformer op (embedding, attention, softmax or matmul): the op vocabulary has "
                            "them (v3) but the torch.fx importer does not convert them; build transformer graphs "
                            "from a search space (archbench.graphs.spaces.hat)")
        if converter is None:
            raise GraphValidationError(
                f"{self.describe(node)}, which has no archbench op; supported: {', '.join(supported_targets())}")
        value = converter(self, node, target)
        if value is _STATIC and isinstance(self.shapes.get(node), tuple) and tensor_args:
            self.fail(node, "returns a tensor archbench does not track")
        return value

    def _output(self, node: fx.Node) -> int:
        result = node.args[0]
        if not isinstance(result, fx.Node):
            raise GraphValidationError(
                f"the traced forward returns {type(result).__name__} {result!r}; archbench imports networks that "
                f"return one tensor (the logits)")
        x = self.tensor(result, node)
        if x.layout == LAST:
            self.fail(node, "returns a channels-last tensor; archbench networks return (N, C) or (N, C, H, W)")
        return x.node


def _merge_chains(pending: list[_Pending], live: list[bool]) -> list[_Pending]:
    """Fold ``add(add(a, b), c)`` into ``add(a, b, c)`` (and ``mul`` alike) where the inner node has no other use.

    A crop of a crop with no other use becomes one crop: padding the bottom/right and dropping
    the top/left commute, so the offsets and the paddings add up.
    """
    uses = [0] * len(pending)
    for i, p in enumerate(pending):
        if live[i]:
            for j in p.inputs:
                uses[j] += 1
    merged = list(pending)
    for i, p in enumerate(pending):
        if live[i] and p.op == "crop" and merged[p.inputs[0]].op == "crop" and uses[p.inputs[0]] == 1:
            inner = merged[p.inputs[0]]
            live[p.inputs[0]] = False
            attrs = {k: p.attrs.get(k, 0) + inner.attrs.get(k, 0) for k in ("kernel", "padding")}
            merged[i] = p._replace(inputs=list(inner.inputs), attrs=attrs)
        if not live[i] or p.op not in ("add", "mul"):
            continue
        inputs: list[int] = []
        for j in p.inputs:
            if merged[j].op == p.op and uses[j] == 1 and merged[j].shape == p.shape:
                inputs.extend(merged[j].inputs)
                live[j] = False
            else:
                inputs.append(j)
        merged[i] = p._replace(inputs=inputs)
    return merged


def _live(pending: list[_Pending], out: int) -> list[bool]:
    live = [False] * len(pending)
    stack = [out]
    while stack:
        i = stack.pop()
        if not live[i]:
            live[i] = True
            stack.extend(pending[i].inputs)
    return live


def _assemble(imp: _Importer, out: int, space: str, encoding: str, num_classes: int) -> ComputationGraph:
    live = _live(imp.pending, out)
    if not live[0]:
        raise GraphValidationError("the traced network's output does not depend on its input")
    pending = _merge_chains(imp.pending, live)
    b = GraphBuilder(space, encoding, imp.input_shape, num_classes)
    index = {0: b.input()}
    for i, p in enumerate(pending):
        if i == 0 or not live[i]:
            continue
        try:
            index[i] = b.add_node(p.op, [index[j] for j in p.inputs], **p.attrs)
        except GraphValidationError as err:
            imp.fail(p.fx_node, f"maps to archbench op {p.op!r}, which rejects it: {err}")
        if b.shape(index[i]) != p.shape:
            attrs = ", ".join(f"{k}={v}" for k, v in p.attrs.items())
            imp.fail(p.fx_node, f"gives {_fmt(p.shape)} per sample, but archbench's {p.op}({attrs}) gives "
                                f"{_fmt(b.shape(index[i]))} (ceil_mode or another option the vocabulary lacks?)")
    return b.output(index[out])


def _fmt(shape: Sequence[int]) -> str:
    return "x".join(map(str, shape))


# ---- tracing and shape propagation -------------------------------------------------------------------

def _concrete_args(module: nn.Module) -> dict[str, Any]:
    """Arguments of ``forward`` after the input, fixed to their defaults."""
    params = [p for p in inspect.signature(module.forward).parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if not params:
        raise GraphValidationError(f"{type(module).__name__}.forward takes no input tensor")
    extra = [p for p in params[1:] if p.default is p.empty]
    if extra:
        raise GraphValidationError(
            f"{type(module).__name__}.forward takes more than one input ({', '.join(p.name for p in params)}); "
            f"archbench imports networks with one input tensor (other arguments need defaults)")
    return {p.name: p.default for p in params[1:]}


def _user_frame(err: BaseException) -> str:
    """``' at file:line in func: code'`` of the innermost frame outside torch and archbench's importer."""
    torch_dir = os.path.dirname(torch.__file__)
    here = os.path.abspath(__file__)
    frames = [f for f in traceback.extract_tb(err.__traceback__)
              if not os.path.abspath(f.filename).startswith(torch_dir) and os.path.abspath(f.filename) != here]
    if not frames:
        return ""
    f = frames[-1]
    return f" (at {f.filename}:{f.lineno} in {f.name}: {(f.line or '').strip()})"


def trace(module: nn.Module) -> fx.GraphModule:
    """``module`` traced by :class:`LayerTracer`; a failure raises :class:`GraphValidationError` naming where."""
    tracer = LayerTracer()
    try:
        graph = tracer.trace(module, concrete_args=_concrete_args(module) or None)
    except GraphValidationError:
        raise
    except Exception as err:  # torch.fx raises TraceError, TypeError, ... depending on the construct
        hint = ""
        if isinstance(err, fx.proxy.TraceError) or "control flow" in str(err):
            hint = ("; the forward branches or loops on tensor values (data-dependent control flow), which a "
                    "computation graph cannot express")
        raise GraphValidationError(
            f"cannot trace {type(module).__name__} with torch.fx: {type(err).__name__}: {err}{_user_frame(err)}{hint}"
        ) from err
    return fx.GraphModule(tracer.root, graph, type(module).__name__)


#: Leaf layers whose output has their input's shape (element-wise activations, norms, identity).
_SAME_SHAPE_LAYERS = frozenset({nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.Identity, nn.Dropout, nn.Dropout2d,
                                nn.ReLU, nn.ReLU6, nn.GELU, nn.Sigmoid, nn.SiLU, nn.Tanh, nn.Hardswish, nn.Hardsigmoid,
                                nn.LeakyReLU, nn.ChannelShuffle})


class _ShapeRecorder(fx.Interpreter):
    """Runs a traced graph and records each node's output shape (``ShapeProp`` without its printed tracebacks).

    On meta tensors, the layers of ``_SAME_SHAPE_LAYERS`` are not run (their output is a new meta
    tensor of the input's shape): PyTorch runs meta batch norm through a slow Python
    decomposition, and the converters check these layers' sizes against their inputs.
    """

    def __init__(self, gm: fx.GraphModule) -> None:
        super().__init__(gm)
        self.shapes: dict[fx.Node, Any] = {}

    def run_node(self, n: fx.Node) -> Any:
        try:
            result = super().run_node(n)
        except Exception as err:
            raise GraphValidationError(
                f"running the traced module failed at torch.fx node {n.name!r} ({n.format_node()}): "
                f"{type(err).__name__}: {err}") from err
        # Tensor -> its shape; anything else (sizes, tuples of tensors) -> its type.
        self.shapes[n] = tuple(result.shape) if isinstance(result, torch.Tensor) else type(result)
        return result

    def call_module(self, target: Any, args: Any, kwargs: dict) -> Any:
        if (args and isinstance(args[0], torch.Tensor) and args[0].is_meta
                and type(self.fetch_attr(target)) in _SAME_SHAPE_LAYERS):
            return torch.empty_like(args[0])
        return super().call_module(target, args, kwargs)


class _Runner(nn.Module):
    """Runs a :class:`_ShapeRecorder` as a module's forward, so ``functional_call`` can swap in meta tensors."""

    def __init__(self, gm: fx.GraphModule) -> None:
        super().__init__()
        self.gm = gm
        self.recorder = _ShapeRecorder(gm)

    def forward(self, x: torch.Tensor) -> Any:
        return self.recorder.run(x)


def _shapes(gm: fx.GraphModule, module: nn.Module, input_shape: Shape) -> dict[fx.Node, Any]:
    """Every node's output shape, from a run on meta tensors (no compute) or, failing that, real ones."""
    runner = _Runner(gm)
    state = {f"gm.{name}": t for name, t in [*gm.named_parameters(), *gm.named_buffers()]}
    ref = next(iter(state.values()), None)
    device = ref.device if ref is not None else torch.device("cpu")
    dtype = ref.dtype if ref is not None and ref.is_floating_point() else torch.float32
    try:
        # Meta tensors carry shapes only: the run costs no FLOPs and leaves the module untouched.
        meta = {name: t.to("meta") for name, t in state.items()}
        with torch.no_grad():
            torch.func.functional_call(runner, meta, (torch.empty((SHAPE_BATCH, *input_shape), device="meta", dtype=dtype),),
                                       strict=True)
        return runner.recorder.shapes
    except (GraphValidationError, NotImplementedError, RuntimeError):
        pass  # an op without a meta kernel, or a real error: the real run below reports it precisely
    # A fixed generator: the global random state is left alone.
    x = torch.randn((SHAPE_BATCH, *input_shape), generator=torch.Generator().manual_seed(0)).to(device, dtype)
    runner.recorder.shapes.clear()
    with torch.no_grad():
        runner(x)
    return runner.recorder.shapes


def _check_params(module: nn.Module, gm: fx.GraphModule, graph: ComputationGraph) -> None:
    calls: dict[str, int] = {}
    for node in gm.graph.nodes:
        if node.op == "call_module":
            calls[node.target] = calls.get(node.target, 0) + 1
    for name, n in calls.items():
        if n > 1 and any(True for _ in gm.get_submodule(name).parameters()):
            raise GraphValidationError(
                f"module {name!r} ({type(gm.get_submodule(name)).__name__}) is called {n} times, sharing its "
                f"parameters; a computation graph gives every call its own parameters")
    want = sum(p.numel() for p in module.parameters())
    if graph.params != want:
        used = {f"{m}.{p}" if m else p for m in calls for p, _ in gm.get_submodule(m).named_parameters()}
        used |= {n.target for n in gm.graph.nodes if n.op == "get_attr"}
        unused = [f"{name} ({p.numel():,})" for name, p in module.named_parameters() if name not in used]
        raise GraphValidationError(
            f"{type(module).__name__} has {want:,} parameters but the traced graph accounts for {graph.params:,}"
            + (f"; parameters the traced (eval-mode) forward does not use: {', '.join(unused[:10])}"
               + (" ..." if len(unused) > 10 else "") if unused else
               "; layers whose results do not reach the output count no parameters"))


def from_module(module: nn.Module, input_shape: tuple[int, int, int], num_classes: int | None = None, *,
                space: str = "torch", encoding: str | None = None) -> ComputationGraph:
    """The computation graph of a PyTorch network, in archbench's op vocabulary (see the module doc).

    Args:
        module: the network; ``forward(x)`` maps ``(N, C, H, W)`` to logits ``(N, num_classes)``.
            Its train/eval flags are restored; its parameters and buffers are not changed.
        input_shape: ``(C, H, W)`` of one input sample.
        num_classes: expected output size; None takes it from the traced output.
        space: the graph's ``space`` field.
        encoding: the graph's ``encoding`` field (default: the module's class name).

    Returns:
        A validated :class:`ComputationGraph` whose params equal ``sum(p.numel() for p in
        module.parameters())``.

    Raises:
        GraphValidationError: the module cannot be traced, uses an op or option the vocabulary
            lacks, or its parameters are not all used exactly once by the traced forward.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"from_module needs a torch.nn.Module, found {type(module).__name__}")
    if len(input_shape) != 3 or not all(isinstance(v, int) and v > 0 for v in input_shape):
        raise GraphValidationError(f"input_shape must be (C, H, W) of positive ints, found {input_shape!r}")
    input_shape = tuple(input_shape)  # type: ignore[assignment]
    modes = [(m, m.training) for m in module.modules()]
    module.eval()
    try:
        gm = trace(module)
        shapes = _shapes(gm, module, input_shape)
    finally:
        for m, training in modes:
            m.training = training
    imp = _Importer(gm, shapes, input_shape)
    out = imp.convert()
    out_c = imp.pending[out].shape[0]
    if num_classes is not None and num_classes != out_c:
        raise GraphValidationError(f"{type(module).__name__} returns {out_c} outputs per sample, expected "
                                   f"num_classes={num_classes}")
    graph = _assemble(imp, out, space, encoding if encoding is not None else type(module).__name__, out_c)
    graph.validate()
    _check_params(module, gm, graph)
    return graph


__all__ = ["CONVERTERS", "IMPORTED_OPS", "LayerTracer", "SHAPE_BATCH", "from_module", "supported_targets", "trace"]
