"""Tests for archbench.graphs.importers.torch_fx: PyTorch modules -> computation graphs."""
from __future__ import annotations

import random
from collections import Counter
from typing import Callable

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from archbench.errors import GraphValidationError
from archbench.graphs.cg import GraphBuilder
from archbench.graphs.importers import from_module
from archbench.graphs.importers.torch_fx import IMPORTED_OPS, supported_targets
from archbench.graphs.ops import OPS
from archbench.graphs.spaces import get_space, list_spaces
from archbench.graphs.torch_module import to_module

# ---- round trips: graph -> to_module -> from_module gives the same network -------------------------

#: Architectures per space; the three spaces this importer was written against get more.
SAMPLES = {"nb201": 4, "nb101": 3, "darts": 2}


def _round_trip_check(graph, label: str) -> None:
    imported = from_module(to_module(graph), graph.input_shape, graph.num_classes)
    assert imported.canonical_hash() == graph.canonical_hash(), label
    assert (imported.params, imported.flops) == (graph.params, graph.flops), label
    # The only extra node is to_module's nn.Identity in front of the output.
    extra = Counter(imported.ops) - Counter(graph.ops)
    assert extra == Counter({"identity": 1}) and not Counter(graph.ops) - Counter(imported.ops), label


@pytest.mark.parametrize("space_name", list_spaces())
def test_every_space_round_trips_or_fails_clearly(space_name):
    space = get_space(space_name)
    rng = random.Random(7)
    for _ in range(SAMPLES.get(space_name, 1)):
        arch = space.sample(rng)
        graph = space.build_cg(arch)
        label = f"{space_name}: {space.format(arch)}"
        foreign = set(graph.ops) - IMPORTED_OPS - {"input", "output"}
        if not foreign:
            _round_trip_check(graph, label)
        else:
            # Graph convolutions, recurrent and spiking ops have no torch.fx form: a clear error, never a wrong graph.
            with pytest.raises(GraphValidationError):
                from_module(to_module(graph), graph.input_shape, graph.num_classes)


def test_nb201_isomorphic_cells_import_to_equal_hashes():
    space = get_space("nb201")
    a = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|nor_conv_1x1~2|"
    b = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|avg_pool_3x3~1|nor_conv_1x1~2|"  # differs in a live edge
    ga, gb = space.build_cg(a), space.build_cg(b)
    ia = from_module(to_module(ga), ga.input_shape)
    ib = from_module(to_module(gb), gb.input_shape)
    assert ia.canonical_hash() == ga.canonical_hash() != ib.canonical_hash() == gb.canonical_hash()
    assert ia.num_classes == 10 and ia.space == "torch" and ia.encoding == "GraphModule"


# One small graph per importable op (x: 4x8x8 map, v: 4x1x1 vector), the op used in the ways
# to_module lays it out (vectors, mixed ranks, strided and channel-changing zeros, ...).
Recipe = Callable[[GraphBuilder, int, int], list[int]]
RECIPES: dict[str, Recipe] = {
    "conv": lambda b, x, v: [b.add_node("conv", [x], kernel=3, stride=2, padding=2, dilation=2, groups=2, bias=1,
                                        c_out=6), b.conv(v, 4, kernel=1)],
    "dwconv": lambda b, x, v: [b.dwconv(x, 3, stride=2, bias=True, multiplier=2)],
    "linear": lambda b, x, v: [b.linear(v, 7), b.linear(b.flatten(x), 3, bias=False)],
    "batch_norm": lambda b, x, v: [b.batch_norm(x), b.batch_norm(v, affine=False)],
    "layer_norm": lambda b, x, v: [b.layer_norm(x), b.layer_norm(v), b.layer_norm(x, affine=False)],
    **{op: (lambda op: lambda b, x, v: [b.act(x, op), b.act(v, op)])(op)
       for op in ("relu", "relu6", "gelu", "sigmoid", "swish", "tanh", "hswish", "hsigmoid", "leaky_relu")},
    "add": lambda b, x, v: [b.add(x, b.relu(x), x), b.add(v, b.conv(v, 4, kernel=1))],
    "mul": lambda b, x, v: [b.mul(x, b.act(x, "sigmoid")), b.mul(v, v, b.linear(v, 4)), b.mul(x, b.act(v, "sigmoid"))],
    "concat": lambda b, x, v: [b.concat(x, b.conv(x, 2, kernel=1)), b.concat(b.linear(v, 3), v)],
    "avg_pool": lambda b, x, v: [b.avg_pool(x, 3, 2, 1), b.avg_pool(x, 2, 2)],
    "max_pool": lambda b, x, v: [b.max_pool(x, 3, 2, 1)],
    "global_avg_pool": lambda b, x, v: [v],
    "flatten": lambda b, x, v: [b.flatten(x), b.flatten(v)],
    "identity": lambda b, x, v: [b.identity(x), b.identity(v)],
    "zero": lambda b, x, v: [b.zero(x, stride=2), b.zero(x, stride=2, c_out=6), b.zero(x), b.zero(v), b.zero(v, c_out=3)],
    "channel_slice": lambda b, x, v: [b.add_node("channel_slice", [x], c_out=3), b.add_node("channel_slice", [v], c_out=1)],
    "crop": lambda b, x, v: [b.add_node("crop", [x], kernel=1), b.add_node("crop", [x], kernel=1, padding=1),
                             b.add_node("crop", [x], kernel=2, padding=1), b.add_node("crop", [v], kernel=1, padding=1)],
    "channel_shuffle": lambda b, x, v: [b.add_node("channel_shuffle", [x], groups=2),
                                        b.add_node("channel_shuffle", [v], groups=4)],
}


def _recipe_graph(op: str):
    b = GraphBuilder("test", op, (3, 8, 8), 5)
    x = b.relu(b.conv(b.input(), 4, kernel=3))
    v = b.global_avg_pool(x)
    heads = [b.linear(v, 5)]  # v feeds the output even where a recipe leaves it unused
    for y in RECIPES[op](b, x, v):
        if b.shape(y)[1:] != (1, 1):
            y = b.global_avg_pool(y)
        heads.append(b.linear(y, 5))
    return b.output(b.add(*heads))


def test_recipes_cover_every_importable_op():
    assert set(RECIPES) == IMPORTED_OPS
    assert IMPORTED_OPS <= set(OPS)


@pytest.mark.parametrize("op", sorted(IMPORTED_OPS))
def test_every_importable_op_round_trips(op):
    graph = _recipe_graph(op)
    assert op in graph.ops
    _round_trip_check(graph, op)


# ---- hand-written modules ----------------------------------------------------------------------------

class ResNetBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        out += self.shortcut(x)
        return out.relu()


class DepthwiseSeparable(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.dw = nn.Sequential(nn.Conv2d(c_in, c_in, 3, 1, 1, groups=c_in, bias=False), nn.BatchNorm2d(c_in), nn.ReLU6())
        self.pw = nn.Sequential(nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU6(inplace=True))

    def forward(self, x):
        return self.pw(self.dw(x))


class SqueezeExcite(nn.Module):
    def __init__(self, c: int, reduced: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(c, reduced, 1)
        self.expand = nn.Conv2d(reduced, c, 1)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        s = torch.sigmoid(self.expand(F.relu(self.reduce(s))))
        return x * s


class ConvNeXtBlock(nn.Module):
    """Depthwise 7x7, then LayerNorm and an MLP over channels-last features, as ConvNeXt writes it."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.dw = nn.Conv2d(c, c, 7, padding=3, groups=c)
        self.norm = nn.LayerNorm(c)
        self.fc1, self.act, self.fc2 = nn.Linear(c, 4 * c), nn.GELU(), nn.Linear(4 * c, c)

    def forward(self, x):
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.fc2(self.act(self.fc1(self.norm(y))))
        return x + y.permute(0, 3, 1, 2)


class Classifier(nn.Module):
    """stem conv -> body -> global pool -> flatten -> linear."""

    def __init__(self, body: nn.Module, c_stem: int, c_body: int, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, c_stem, 3, padding=1)
        self.body = body
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_body, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.pool(self.body(self.stem(x))), 1))


class FunctionalForms(nn.Module):
    """Functions and Tensor methods in place of layers, Python's sum() and x.view(x.size(0), -1)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv_a, self.conv_b = nn.Conv2d(3, 4, 1), nn.Conv2d(3, 4, 1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x):
        a = F.relu(self.conv_a(x))
        y = torch.cat([a, torch.sigmoid(self.conv_b(x)) * a], dim=1)
        y = sum([y, F.max_pool2d(y, 3, 1, 1), F.avg_pool2d(y, 3, 1, 1, count_include_pad=False)])
        y = F.adaptive_avg_pool2d(y, 1)
        return self.fc(y.view(y.size(0), -1))


MODULES: dict[str, Callable[[], nn.Module]] = {
    "functional_forms": FunctionalForms,
    "resnet_block": lambda: Classifier(ResNetBlock(8, 16, stride=2), 8, 16),
    "depthwise_separable": lambda: Classifier(DepthwiseSeparable(8, 12), 8, 12),
    "squeeze_excite": lambda: Classifier(SqueezeExcite(8, 2), 8, 8),
    "convnext_block": lambda: Classifier(ConvNeXtBlock(8), 8, 8),
    "mlp": lambda: nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 10)),
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_hand_written_modules_import_with_exact_params(name):
    torch.manual_seed(0)
    module = MODULES[name]()
    graph = from_module(module, (3, 8, 8), num_classes=10)
    graph.validate()
    assert graph.params == sum(p.numel() for p in module.parameters())
    assert graph.num_classes == 10 and graph.input_shape == (3, 8, 8)
    # The graph is executable again, with the same parameter count.
    rebuilt = to_module(graph)
    assert sum(p.numel() for p in rebuilt.parameters()) == graph.params
    assert rebuilt(torch.zeros(2, 3, 8, 8)).shape == (2, 10)


def test_ops_of_hand_written_modules():
    ops = Counter(from_module(MODULES["resnet_block"](), (3, 8, 8)).ops)
    assert ops == Counter({"input": 1, "conv": 4, "batch_norm": 3, "relu": 2, "add": 1, "global_avg_pool": 1,
                           "linear": 1, "output": 1})
    dws = from_module(MODULES["depthwise_separable"](), (3, 8, 8))
    dw = next(n for n in dws.iter_nodes() if n.op == "dwconv")
    assert (dw.kernel, dw.groups, dw.c_in, dw.c_out, dw.bias) == (3, 8, 8, 8, 0)
    se = Counter(from_module(MODULES["squeeze_excite"](), (3, 8, 8)).ops)
    assert se["mul"] == 1 and se["sigmoid"] == 1 and se["global_avg_pool"] == 2
    cnx = from_module(MODULES["convnext_block"](), (3, 8, 8))
    assert Counter(cnx.ops)["layer_norm"] == 1 and Counter(cnx.ops)["gelu"] == 1
    # The channels-last Linear layers are 1x1 convolutions with a bias.
    assert [(n.kernel, n.bias, n.c_out) for n in cnx.iter_nodes() if n.op == "conv" and n.kernel == 1] == [(1, 1, 32), (1, 1, 8)]


def test_functional_forms():
    graph = from_module(FunctionalForms(), (3, 8, 8))
    assert Counter(graph.ops) == Counter({"input": 1, "conv": 2, "relu": 1, "sigmoid": 1, "mul": 1, "concat": 1,
                                          "max_pool": 1, "avg_pool": 1, "add": 1, "global_avg_pool": 1, "linear": 1,
                                          "output": 1})
    # sum([y, p, q]) is 0 + y + p + q: the zero start drops out and the chain is one 3-input add.
    add = graph.ops.index("add")
    assert len(graph.inputs_of()[add]) == 3


def test_mlp_costs_hand_computed():
    graph = from_module(MODULES["mlp"](), (3, 8, 8))
    # Linear 192->32 (+bias): 6,176 params = 6,176 MACs+bias FLOPs; ReLU: 32; Linear 32->10: 330.
    assert graph.params == 192 * 32 + 32 + 32 * 10 + 10 == 6506
    assert graph.flops == 6176 + 32 + 330
    assert Counter(graph.ops) == Counter({"input": 1, "flatten": 1, "linear": 2, "relu": 1, "identity": 1, "output": 1})


def test_import_leaves_module_state_alone():
    module = MODULES["resnet_block"]()
    module.train()
    module.body.bn1.eval()  # mixed flags are restored one by one
    before = {k: v.clone() for k, v in module.state_dict().items()}
    rng_state = torch.random.get_rng_state()
    from_module(module, (3, 8, 8))
    assert module.training and not module.body.bn1.training and module.body.bn2.training
    assert all(torch.equal(before[k], v) for k, v in module.state_dict().items())
    assert torch.equal(torch.random.get_rng_state(), rng_state)


# ---- clear errors ----------------------------------------------------------------------------------

class DataDependent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        y = self.conv(x)
        if y.sum() > 0:
            return y.mean((2, 3))
        return y.amax((2, 3))


class Softplus(nn.Module):
    def forward(self, x):
        return F.softplus(x).mean((2, 3))


def test_data_dependent_control_flow_is_a_clear_error():
    with pytest.raises(GraphValidationError) as err:
        from_module(DataDependent(), (3, 8, 8))
    text = str(err.value)
    assert "cannot trace DataDependent" in text and "control flow" in text and "if y.sum() > 0" in text


def test_unsupported_function_names_node_target_and_supported_ops():
    with pytest.raises(GraphValidationError) as err:
        from_module(Softplus(), (3, 8, 8))
    text = str(err.value)
    assert "torch.fx node 'softplus' calls torch.nn.functional.softplus, which has no archbench op; supported:" in text
    assert "torch.nn.Conv2d" in text and "Tensor.mul" in text
    assert "torch.nn.Conv2d" in supported_targets()


def test_unsupported_module_is_named_with_its_path():
    module = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Softplus(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    with pytest.raises(GraphValidationError, match=r"torch.nn.functional.softplus \(inside module '1', a Softplus\)"):
        from_module(module, (3, 8, 8))


@pytest.mark.parametrize("layer, message", [
    (nn.AvgPool2d(3, 1, 1), "count_include_pad=True and padding=1"),
    (nn.Conv2d(4, 4, (3, 1), padding=(1, 0)), r"kernel=\(3, 1\); archbench ops have square kernels"),
    (nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect"), "padding_mode='reflect'"),
    (nn.MaxPool2d(2, ceil_mode=True), r"gives 4x4x4 per sample, but archbench's max_pool\(kernel=2, stride=2, padding=0\) gives 4x3x3"),
    (nn.GELU(approximate="tanh"), "exact GELU"),
])
def test_options_the_vocabulary_lacks_are_named(layer, message):
    module = nn.Sequential(nn.Conv2d(3, 4, 3), layer, nn.AdaptiveAvgPool2d(1), nn.Flatten())
    with pytest.raises(GraphValidationError, match=message):
        from_module(module, (3, 9, 9) if isinstance(layer, nn.MaxPool2d) else (3, 8, 8))


class Shared(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        return self.conv(self.conv(x)).mean((2, 3))


class Unused(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.aux = nn.Linear(4, 2)

    def forward(self, x):
        y = self.conv(x).mean((2, 3))
        return self.aux(y) if self.training else y


class LearnedScale(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.gamma = nn.Parameter(torch.ones(4, 1, 1))

    def forward(self, x):
        return (self.conv(x) * self.gamma).mean((2, 3))


class TwoOutputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        y = self.conv(x)
        return y.mean((2, 3)), y


@pytest.mark.parametrize("module, kwargs, message", [
    (Shared(), {}, "module 'conv' \\(Conv2d\\) is called 2 times"),
    (Unused(), {}, r"has 122 parameters but the traced graph accounts for 112; parameters the traced \(eval-mode\) "
                   r"forward does not use: aux.weight \(8\), aux.bias \(2\)"),
    (LearnedScale(), {}, "uses parameter or buffer 'gamma' directly as an operand"),
    (TwoOutputs(), {}, "returns tuple"),
    (nn.Sequential(nn.Conv2d(3, 4, 3), nn.Hardtanh()), {}, r"torch.nn.functional.hardtanh \(inside module '1', a Hardtanh\), which has no archbench op"),
    (Softplus(), {"input_shape": (3, 8)}, r"input_shape must be \(C, H, W\)"),
    (nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten()), {"num_classes": 10}, "returns 144 outputs per sample, expected num_classes=10"),
    (nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten()), {"input_shape": (4, 8, 8)}, "running the traced module failed at torch.fx node"),
    (nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(0)), {}, "flattens dims 0..-1"),
])
def test_modules_the_graph_cannot_represent(module, kwargs, message):
    args = {"input_shape": (3, 8, 8), **kwargs}
    with pytest.raises(GraphValidationError, match=message):
        from_module(module, **args)


def test_not_a_module():
    with pytest.raises(TypeError, match="needs a torch.nn.Module, found function"):
        from_module(lambda x: x, (3, 8, 8))


class AddsConstant(nn.Module):
    def forward(self, x):
        return (x + 1.0).mean((2, 3))


def test_adding_a_constant_is_named():
    with pytest.raises(GraphValidationError, match=r"torch.fx node 'add' calls operator.add, which adds the constant 1.0"):
        from_module(AddsConstant(), (3, 8, 8))
