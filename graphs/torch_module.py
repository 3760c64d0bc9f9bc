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
feature maps and ``BatchNorm1d`` on vectors; ``layer_norm`` normalizes over channels. Parameter
counts equal the graph's ``params`` for every graph.

The module is built on the CPU in float32 with PyTorch's default initialization; move it with
``module.to(device, dtype)``.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING, Callable, Iterator, NamedTuple

import torch
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
        if graph.node(out).out_shape != want:
            raise GraphValidationError(
                f"output node {out} has shape {graph.node(out).out_shape}, expected a logits vector "
                f"{want} (num_classes={graph.num_classes})")
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
                layer = _layer(node.op)
                in_ranks = [ranks[j] for j in preds[i]]
                rank = layer.takes or max(in_ranks)
                self.add_module(f"n{i}", layer.make(node, rank))
                ranks[i] = layer.gives or rank
                adapt = tuple(None if r == rank else (_to_map if rank == MAP else _to_vec) for r in in_ranks)
                release = tuple(j for j in dict.fromkeys(preds[i]) if last_use[j] == i and j != out)
                steps.append(_Step(i, f"n{i}", tuple(preds[i]), adapt, release))
        self.ranks: tuple[int, ...] = tuple(ranks)
        self._steps: tuple[_Step, ...] = tuple(steps)

    def _run(self, x: Tensor, keep: bool) -> dict[int, Tensor]:
        values: dict[int, Tensor] = {i: x for i in self._inputs}
        for step in self._steps:
            args = [values[j] if f is None else f(values[j]) for j, f in zip(step.inputs, step.adapt)]
            values[step.node] = getattr(self, step.name)(*args)
            if not keep:
                for j in step.release:
                    del values[j]
        return values

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``(N, num_classes)`` for an input batch ``(N, C, H, W)``."""
        return self._run(x, keep=False)[self._output]

    def node_outputs(self, x: Tensor) -> dict[int, Tensor]:
        """Every node's output for input ``x``: ``{node index: tensor}`` laid out as in the module doc."""
        return self._run(x, keep=True)


@contextmanager
def _seeded(seed: int | None) -> Iterator[None]:
    """Run the block under ``torch.manual_seed(seed)`` and restore the global CPU generator after."""
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


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


__all__ = ["LAYERS", "MAP", "VEC", "ChannelLayerNorm", "ChannelSlice", "Concat", "GlobalAvgPool", "GraphModule", "Layer",
           "Product", "Sum", "Zero", "to_module"]
