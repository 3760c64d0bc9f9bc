"""Tests for the v3 ops ``crop`` and ``channel_shuffle`` (archbench.graphs.ops), their layers
(graphs/torch_module.py), their torch.fx forms (graphs/importers/torch_fx.py) and hashing, and the
exact DARTS / TransNAS-Bench-101 FactorizedReduce and FBNet shuffle built with them."""
from __future__ import annotations

import random

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from archbench.errors import GraphValidationError
from archbench.graphs.cg import GraphBuilder
from archbench.graphs.importers import from_module
from archbench.graphs.ops import OPS
from archbench.graphs.spaces import darts, get_space, transnas101
from archbench.graphs.torch_module import Crop, to_module


def test_ops_are_appended_at_38_and_39():
    assert (OPS["crop"].index, OPS["channel_shuffle"].index) == (38, 39)
    assert OPS["channel_avg_pool"].index == 37  # v2 indices unchanged


# ---- shape and cost rules ------------------------------------------------------------------------

@pytest.mark.parametrize("kernel, padding, out_hw", [(1, 0, (7, 5)), (1, 1, (8, 6)), (0, 2, (10, 8)), (3, 1, (6, 4))])
def test_crop_shape_and_zero_cost(kernel, padding, out_hw):
    b = GraphBuilder("test", "crop", (3, 8, 6), 2)
    y = b.add_node("crop", [b.input()], kernel=kernel, padding=padding)
    assert b.shape(y) == (3, *out_hw)
    assert (b.graph.nodes["params"][y], b.graph.nodes["flops"][y]) == (0, 0)


def test_channel_shuffle_shape_and_zero_cost():
    b = GraphBuilder("test", "shuffle", (6, 4, 4), 2)
    y = b.add_node("channel_shuffle", [b.input()], groups=3)
    assert b.shape(y) == (6, 4, 4)
    assert (b.graph.nodes["params"][y], b.graph.nodes["flops"][y]) == (0, 0)


@pytest.mark.parametrize("op, attrs, message", [
    ("crop", {"kernel": 4, "padding": 0}, "leaves no pixels"),
    ("crop", {"kernel": -1, "padding": 0}, "kernel >= 0 and padding >= 0"),
    ("channel_shuffle", {"groups": 4}, "groups=4 must divide its 6 input channels"),
    ("channel_shuffle", {"groups": 0}, "groups=0 must divide"),
])
def test_invalid_attributes_are_named(op, attrs, message):
    b = GraphBuilder("test", op, (6, 4, 4), 2)
    with pytest.raises(GraphValidationError, match=message):
        b.add_node(op, [b.input()], **attrs)


# ---- layers: exact semantics ---------------------------------------------------------------------

def _single_op_module(op: str, input_shape: tuple[int, int, int], **attrs):
    """A graph input -> op -> (pool, linear head) and its module; returns (module, op node)."""
    b = GraphBuilder("test", op, input_shape, 2)
    y = b.add_node(op, [b.input()], **attrs)
    graph = b.output(b.linear(b.global_avg_pool(y), 2))
    return to_module(graph, seed=0).eval(), y


def test_crop_module_is_x_shifted_like_darts_and_transnas():
    x = torch.randn(2, 3, 7, 7)
    m, y = _single_op_module("crop", (3, 7, 7), kernel=1)
    assert torch.equal(m.node_outputs(x)[y], x[:, :, 1:, 1:])
    m, y = _single_op_module("crop", (3, 7, 7), kernel=1, padding=1)
    shifted = torch.zeros_like(x)
    shifted[:, :, :-1, :-1] = x[:, :, 1:, 1:]  # out[i, j] = x[i + 1, j + 1], zero past the border
    assert torch.equal(m.node_outputs(x)[y], shifted)
    assert torch.equal(m.node_outputs(x)[y], F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:])
    assert torch.equal(Crop(0, 0)(x), x)


def test_channel_shuffle_is_the_shufflenet_permutation():
    x = torch.arange(6.0).view(1, 6, 1, 1).expand(2, 6, 3, 3).contiguous()
    m, y = _single_op_module("channel_shuffle", (6, 3, 3), groups=2)
    out = m.node_outputs(x)[y]
    assert out[0, :, 0, 0].tolist() == [0.0, 3.0, 1.0, 4.0, 2.0, 5.0]  # hand-computed: channel c*g + i <- i*C/g + c
    x = torch.randn(2, 12, 4, 4)
    m, y = _single_op_module("channel_shuffle", (12, 4, 4), groups=3)
    reference = x.view(2, 3, 4, 4, 4).transpose(1, 2).reshape(2, 12, 4, 4)  # ShuffleNet's channel_shuffle
    assert torch.equal(m.node_outputs(x)[y], reference)


# ---- FactorizedReduce: our graph computes the reference module ------------------------------------

class DartsFactorizedReduce(nn.Module):
    """DARTS's operations.FactorizedReduce (affine BN)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, padding=0, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x):
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


class TransNASFactorizedReduce(nn.Module):
    """TransNAS-Bench-101's cell_ops.FactorizedReduce (pads, then reads the shifted input)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        c_outs = [c_out // 2, c_out - c_out // 2]
        self.convs = nn.ModuleList([nn.Conv2d(c_in, c, 1, stride=stride, padding=0, bias=False) for c in c_outs])
        self.pad = nn.ConstantPad2d((0, 1, 0, 1), 0)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x):
        x = self.relu(x)
        y = self.pad(x)
        return self.bn(torch.cat([self.convs[0](x), self.convs[1](y[:, :, 1:, 1:])], dim=1))


class WithHead(nn.Module):
    """``body`` followed by a global average pool and a linear head (what from_module imports)."""

    def __init__(self, body: nn.Module, channels: int) -> None:
        super().__init__()
        self.body, self.fc = body, nn.Linear(channels, 3)

    def forward(self, x):
        return self.fc(self.body(x).mean((2, 3)))


def _built(space: str, input_shape: tuple[int, int, int], c_out: int, stride: int = 2):
    """Our FactorizedReduce of ``space`` with the same head as :class:`WithHead`; returns (graph, bn node)."""
    b = GraphBuilder("test", space, input_shape, 3)
    x = b.input()
    y = (darts._factorized_reduce(b, x, c_out) if space == "darts"
         else transnas101._factorized_reduce(b, x, c_out, stride))
    return b.output(b.linear(b.global_avg_pool(y), 3)), y


def _copy_weights(graph, module: nn.Module, reference: nn.Module) -> None:
    """Weights of the reference FactorizedReduce into our module: convs in node order, then the BN."""
    convs = [i for i, op in enumerate(graph.ops) if op == "conv"]
    bn = graph.ops.index("batch_norm")
    ref_convs = [m for m in reference.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        for i, ref in zip(convs, ref_convs, strict=True):
            getattr(module, f"n{i}").weight.copy_(ref.weight)
        ours, ref_bn = getattr(module, f"n{bn}"), reference.bn
        ours.weight.copy_(torch.rand_like(ours.weight) + 0.5)
        ours.bias.copy_(torch.randn_like(ours.bias))
        ref_bn.weight.copy_(ours.weight)
        ref_bn.bias.copy_(ours.bias)


@pytest.mark.parametrize("space, input_shape, c_out, stride", [
    ("darts", (6, 8, 8), 8, 2),
    ("transnas101", (6, 7, 7), 8, 2),  # odd size: the padding decides the last row and column
    ("transnas101", (6, 8, 8), 10, 1),  # channel change without stride: the shift still matters
])
def test_factorized_reduce_computes_the_reference_module(space, input_shape, c_out, stride):
    torch.manual_seed(0)
    reference = (DartsFactorizedReduce(input_shape[0], c_out) if space == "darts"
                 else TransNASFactorizedReduce(input_shape[0], c_out, stride))
    graph, bn = _built(space, input_shape, c_out, stride)
    module = to_module(graph, seed=1)
    _copy_weights(graph, module, reference)
    x = torch.randn(4, *input_shape)
    for train in (True, False):  # batch statistics, then running statistics
        module.train(train)
        reference.train(train)
        torch.testing.assert_close(module.node_outputs(x)[bn], reference(x), rtol=0, atol=1e-6)
    # Without the crop (both convs reading the same input: the old approximation) the function differs.
    setattr(module, f"n{graph.ops.index('crop')}", nn.Identity())
    assert not torch.allclose(module.node_outputs(x)[bn], reference(x), atol=1e-3)


@pytest.mark.parametrize("space, body, input_shape, c_out", [
    ("darts", lambda: DartsFactorizedReduce(6, 8), (6, 8, 8), 8),
    ("transnas101", lambda: TransNASFactorizedReduce(6, 8, 2), (6, 7, 7), 8),
])
def test_reference_factorized_reduce_imports_to_our_graph(space, body, input_shape, c_out):
    graph, _ = _built(space, input_shape, c_out)
    imported = from_module(WithHead(body(), c_out), input_shape)
    assert imported.canonical_hash() == graph.canonical_hash()
    assert (imported.params, imported.flops) == (graph.params, graph.flops)
    assert imported.ops.count("crop") == 1  # F.pad + x[:, :, 1:, 1:] merge into one crop


def test_darts_networks_hold_one_crop_per_factorized_reduce():
    space = get_space("darts")
    arch = space.sample(random.Random(0))
    graph = space.build_cg(arch)
    crops = [i for i, op in enumerate(graph.ops) if op == "crop"]
    assert crops and all(graph.node(i).kernel == 1 and graph.node(i).padding == 0 for i in crops)
    succs = graph.outputs_of()
    assert all([graph.ops[j] for j in succs[i]] == ["conv"] for i in crops)


def test_fbnet_g2_blocks_shuffle_between_expansion_and_depthwise():
    space = get_space("fbnet")
    arch = space.parse("-".join(["k3_e1_g2"] + ["k3_e1"] * 21))
    graph = space.build_cg(arch)
    (i,) = [i for i, op in enumerate(graph.ops) if op == "channel_shuffle"]
    preds, succs = graph.inputs_of(), graph.outputs_of()
    assert graph.node(i).groups == 2
    assert [graph.ops[j] for j in preds[i]] == ["relu"] and [graph.ops[j] for j in succs[i]] == ["dwconv"]
    ungrouped = space.build_cg(space.parse("-".join(["k3_e1"] * 22)))
    assert graph.params < ungrouped.params  # grouped 1x1 convs halve their weights


# ---- hashing ----------------------------------------------------------------------------------------

def _one_op_graph(op: str, **attrs):
    b = GraphBuilder("test", op, (4, 6, 6), 2)
    x = b.conv(b.input(), 4, 1)
    y = b.add_node(op, [x], **attrs) if op != "identity" else b.identity(x)
    return b.output(b.linear(b.global_avg_pool(b.conv(y, 4, 3, padding=1)), 2))


def test_hash_sees_crop_and_shuffle_attributes():
    hashes = [_one_op_graph(op, **attrs).canonical_hash() for op, attrs in [
        ("identity", {}), ("crop", {"kernel": 0, "padding": 0}), ("crop", {"kernel": 1, "padding": 1}),
        ("crop", {"kernel": 2, "padding": 2}), ("channel_shuffle", {"groups": 2}), ("channel_shuffle", {"groups": 4})]]
    assert len(set(hashes)) == len(hashes)
    assert _one_op_graph("crop", kernel=1, padding=1).canonical_hash() == hashes[2]


# ---- torch.fx forms ----------------------------------------------------------------------------------

class ShuffleNetShuffle(nn.Module):
    """torchvision's ShuffleNetV2 channel_shuffle between two convs; ``permute`` uses permute instead of transpose."""

    def __init__(self, permute: bool = False) -> None:
        super().__init__()
        self.conv1, self.conv2, self.permute = nn.Conv2d(3, 6, 1), nn.Conv2d(6, 4, 1), permute

    def forward(self, x):
        x = self.conv1(x)
        n, c, h, w = x.size()
        x = x.view(n, 2, c // 2, h, w)
        x = x.permute(0, 2, 1, 3, 4) if self.permute else torch.transpose(x, 1, 2)
        x = x.contiguous().view(n, -1, h, w)
        return self.conv2(x).mean((2, 3))


class GroupedRoundTrip(nn.Module):
    """A view to (N, g, C/g, H, W) and straight back: no shuffle at all."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 1)

    def forward(self, x):
        x = self.conv(x)
        return x.view(x.shape[0], 3, 2, 5, 5).reshape(x.shape[0], 6, 5, 5).mean((2, 3))


def _shuffle_graph(groups: int):
    b = GraphBuilder("test", "shuffle", (3, 5, 5), 4)
    x = b.add_node("channel_shuffle", [b.add_node("conv", [b.input()], kernel=1, stride=1, groups=1, dilation=1, bias=1,
                                                  c_out=6)], groups=groups)
    y = b.add_node("conv", [x], kernel=1, stride=1, groups=1, dilation=1, bias=1, c_out=4)
    return b.output(b.global_avg_pool(y))


@pytest.mark.parametrize("module", [ShuffleNetShuffle(), ShuffleNetShuffle(permute=True),
                                    nn.Sequential(nn.Conv2d(3, 6, 1), nn.ChannelShuffle(2), nn.Conv2d(6, 4, 1),
                                                  nn.AdaptiveAvgPool2d(1))])
def test_channel_shuffle_forms_import_as_channel_shuffle(module):
    graph = from_module(module, (3, 5, 5))
    assert graph.ops.count("channel_shuffle") == 1
    assert graph.canonical_hash() == _shuffle_graph(2).canonical_hash()


def test_view_without_transpose_is_no_shuffle():
    graph = from_module(GroupedRoundTrip(), (3, 5, 5))
    assert "channel_shuffle" not in graph.ops


class Padded(nn.Module):
    def __init__(self, pad: nn.Module | None, index) -> None:
        super().__init__()
        self.conv, self.pad, self.index = nn.Conv2d(3, 4, 1), pad, index

    def forward(self, x):
        x = self.conv(x)
        if self.pad is not None:
            x = self.pad(x)
        return x[self.index].mean((2, 3))


_SHIFT = (slice(None), slice(None), slice(1, None), slice(1, None))


@pytest.mark.parametrize("pad, index, crop", [
    (None, _SHIFT, (1, 0)),
    (nn.ZeroPad2d((0, 1, 0, 1)), _SHIFT, (1, 1)),
    (nn.ConstantPad2d((0, 2, 0, 2), 0.0), _SHIFT, (1, 2)),
    (nn.ZeroPad2d((0, 1, 0, 1)), (slice(None),), (0, 1)),
])
def test_pad_and_shift_import_as_one_crop(pad, index, crop):
    graph = from_module(Padded(pad, index), (3, 6, 6))
    crops = [graph.node(i) for i, op in enumerate(graph.ops) if op == "crop"]
    assert [(n.kernel, n.padding) for n in crops] == [crop]


class Functional(nn.Module):
    def __init__(self, fn) -> None:
        super().__init__()
        self.conv, self.fn = nn.Conv2d(3, 4, 1), fn

    def forward(self, x):
        return self.fn(self.conv(x)).mean((2, 3))


@pytest.mark.parametrize("fn, message", [
    (lambda x: F.pad(x, (1, 1, 1, 1)), r"pads with \(1, 1, 1, 1\).*F.pad\(x, \(0, p, 0, p\)\)"),
    (lambda x: F.pad(x, (0, 1, 0, 1), mode="reflect"), "mode='reflect'"),
    (lambda x: F.pad(x, (0, 1, 0, 1), value=1.0), "value=1.0"),
    (lambda x: x[:, :, 1:, 2:], r"crops x\[:, :, k:, k:\]"),
    (lambda x: x.transpose(2, 3), "supports transpose\\(1, 2\\) of a grouped view"),
    (lambda x: x.view(x.shape[0], 2, 2, 6, 6).relu().view(x.shape[0], 4, 6, 6), "uses a grouped view"),
])
def test_forms_crop_and_shuffle_cannot_express_are_named(fn, message):
    with pytest.raises(GraphValidationError, match=message):
        from_module(Functional(fn), (3, 6, 6))
