"""Tests for archbench.graphs.torch_module: the executable module matches its graph."""
from __future__ import annotations

from typing import Callable

import pytest
import torch
import torch.fx
from torch.nn import functional as F

from archbench.errors import GraphValidationError, UnknownOpError
from archbench.graphs.cg import ComputationGraph, GraphBuilder
from archbench.graphs.ops import list_ops
from archbench.graphs.torch_module import LAYERS, GraphModule, to_module

NUM_CLASSES = 5

# op -> recipe(builder, x, v) -> nodes to feed the head; x is a 4x8x8 feature map, v a 4x1x1 vector.
# Each recipe uses its op on a feature map and, where the op allows it, on a vector.
Recipe = Callable[[GraphBuilder, int, int], list[int]]


def _act(op: str) -> Recipe:
    return lambda b, x, v: [b.act(x, op), b.act(v, op)]


RECIPES: dict[str, Recipe] = {
    "input": lambda b, x, v: [x],
    "output": lambda b, x, v: [x],
    "conv": lambda b, x, v: [
        b.add_node("conv", [x], kernel=3, stride=2, padding=2, dilation=2, groups=2, bias=1, c_out=6),
        b.conv(v, 4, kernel=1),  # a conv on a vector: (N, 4) -> (N, 4, 1, 1)
    ],
    "dwconv": lambda b, x, v: [b.dwconv(x, 3, stride=2, bias=True, multiplier=2)],
    "linear": lambda b, x, v: [b.linear(v, 7), b.linear(b.flatten(x), 3, bias=False)],
    "batch_norm": lambda b, x, v: [b.batch_norm(x, affine=True), b.batch_norm(v, affine=False)],
    "layer_norm": lambda b, x, v: [b.layer_norm(x, affine=True), b.layer_norm(v, affine=True),
                                   b.layer_norm(x, affine=False)],
    **{op: _act(op) for op in ("relu", "relu6", "gelu", "sigmoid", "swish", "tanh", "hswish", "hsigmoid")},
    "add": lambda b, x, v: [b.add(x, b.relu(x), x), b.add(v, b.conv(v, 4, kernel=1))],  # mixed ranks
    "mul": lambda b, x, v: [b.mul(x, b.act(x, "sigmoid")), b.mul(v, v, b.linear(v, 4))],
    "concat": lambda b, x, v: [b.concat(x, b.conv(x, 2, kernel=1)), b.concat(b.linear(v, 3), v)],
    "avg_pool": lambda b, x, v: [b.avg_pool(x, 3, 2, 1)],
    "max_pool": lambda b, x, v: [b.max_pool(x, 3, 2, 1)],
    "global_avg_pool": lambda b, x, v: [v],
    "flatten": lambda b, x, v: [b.flatten(x)],
    "identity": lambda b, x, v: [b.identity(x), b.identity(v)],
    "zero": lambda b, x, v: [b.zero(x, stride=2), b.zero(x, stride=2, c_out=6), b.zero(x),
                             b.zero(v), b.zero(v, c_out=3)],
    "channel_slice": lambda b, x, v: [b.add_node("channel_slice", [x], c_out=3),
                                      b.add_node("channel_slice", [v], c_out=1)],
    # v2 ops. Graph convolutions on a vector: each sample is a one-node graph (multi-node graphs
    # with an edge_index are tested in test_ops_v2.py); kernel = heads / K / stacks.
    **{op: (lambda op: lambda b, x, v: [
        b.add_node(op, [v], c_out=6, bias=1, kernel=2 if op in ("gat_conv", "cheb_conv", "arma_conv") else 0),
        b.add_node(op, [v], c_out=2, bias=0, kernel=1 if op in ("gat_conv", "cheb_conv", "arma_conv") else 0)])(op)
       for op in ("gcn_conv", "gat_conv", "gin_conv", "cheb_conv", "sage_conv", "arma_conv", "graph_conv")},
    "leaky_relu": _act("leaky_relu"),
    "blend": lambda b, x, v: [b.add_node("blend", [b.act(x, "sigmoid"), x, b.relu(x)]), b.add_node("blend", [v, v, v])],
    "state": lambda b, x, v: [b.add_node("state", [v], c_out=3, groups=1), b.add_node("state", [x], c_out=2)],
    "carry": lambda b, x, v: [b.add_node("carry", [v, b.linear(v, 3)]), b.add_node("carry", [x])],
    "lif": lambda b, x, v: [b.add_node("lif", [x], kernel=1000, dilation=750),
                            b.add_node("lif", [v], kernel=500, dilation=1000)],
    "channel_avg_pool": lambda b, x, v: [b.add_node("channel_avg_pool", [x], kernel=2),
                                         b.add_node("channel_avg_pool", [v], kernel=4)],
    # v3 ops (semantics tested in test_ops_crop_shuffle.py)
    "crop": lambda b, x, v: [b.add_node("crop", [x], kernel=1), b.add_node("crop", [x], kernel=1, padding=1),
                             b.add_node("crop", [v], kernel=1, padding=1)],
    "channel_shuffle": lambda b, x, v: [b.add_node("channel_shuffle", [x], groups=2),
                                        b.add_node("channel_shuffle", [v], groups=4)],
    # v3 transformer ops on v as a one-token sequence 4 x 1 x 1 (semantics in test_ops_transformer.py)
    "embedding": lambda b, x, v: _embedded(b, v, 10, 6)[1:],
    "unembed": lambda b, x, v: [b.add_node("unembed", [v], c_out=5),
                                b.add_node("unembed", [v, _embedded(b, v, 7, 4, tied=False)[1]], c_out=7)],
    "pos_encoding": lambda b, x, v: [b.add_node("pos_encoding", [v])],
    "split_heads": lambda b, x, v: [b.add_node("split_heads", [v], groups=2)],
    "merge_heads": lambda b, x, v: [b.add_node("merge_heads", [b.add_node("split_heads", [v], groups=2)])],
    "transpose": lambda b, x, v: [b.add_node("transpose", [b.add_node("split_heads", [v], groups=2)])],
    "matmul": lambda b, x, v: [_scores(b, v)],
    "softmax": lambda b, x, v: [b.add_node("softmax", [_scores(b, v)], groups=2),
                                b.add_node("softmax", [_scores(b, v)], padding=1)],
    "concat_seq": lambda b, x, v: [b.add_node("concat_seq", [v, v, b.relu(v)])],
}


def _embedded(b: GraphBuilder, v: int, vocab: int, dim: int, tied: bool = True) -> list[int]:
    """Token ids 0 (sigmoid of one channel of v, floored), their own-table embedding [and a tied narrower one]."""
    tokens = b.act(b.add_node("channel_slice", [v], c_out=1), "sigmoid")
    own = b.add_node("embedding", [tokens], groups=vocab, c_out=dim)
    return [tokens, own] + ([b.add_node("embedding", [tokens, own], groups=vocab, c_out=dim - 1)] if tied else [])


def _scores(b: GraphBuilder, v: int) -> int:
    heads = b.add_node("split_heads", [v], groups=2)
    return b.add_node("matmul", [heads, b.add_node("transpose", [heads])])


def graph_with(op: str) -> ComputationGraph:
    """A small valid graph using ``op``; every recipe output is pooled and concatenated into the head."""
    if op not in RECIPES:
        pytest.fail(f"no test recipe for op {op!r}: add one to RECIPES (and a layer to torch_module.LAYERS)")
    b = GraphBuilder("test", op, (3, 8, 8), NUM_CLASSES)
    x = b.conv(b.input(), 4, kernel=3)
    v = b.global_avg_pool(x)
    ends = RECIPES[op](b, x, v)
    vectors = [e if b.shape(e)[1:] == (1, 1) else b.global_avg_pool(e) for e in ends]
    if v not in vectors:
        vectors.append(v)
    return b.output(b.linear(b.concat(*vectors), NUM_CLASSES)).validate()


def assert_node_shapes(module: GraphModule, graph: ComputationGraph, x: torch.Tensor) -> None:
    """Every node's tensor is (N, C, H, W), or (N, C) for a C x 1 x 1 vector."""
    outs = module.node_outputs(x)
    assert sorted(outs) == list(range(graph.num_nodes))
    for i, t in outs.items():
        c, h, w = graph.node(i).out_shape
        got = tuple(t.shape)
        if t.dim() == 2:
            assert (h, w) == (1, 1) and got == (x.shape[0], c), f"node {i} ({graph.ops[i]}): {got} vs {c}x{h}x{w}"
        else:
            assert got == (x.shape[0], c, h, w), f"node {i} ({graph.ops[i]}): {got} vs {c}x{h}x{w}"


@pytest.mark.parametrize("op", list_ops())
def test_every_op_params_and_shapes(op):
    g = graph_with(op)
    assert op in g.ops
    torch.manual_seed(0)
    m = to_module(g)
    assert sum(p.numel() for p in m.parameters()) == g.params
    x = torch.randn(2, 3, 8, 8)
    assert m(x).shape == (2, NUM_CLASSES)  # training mode
    m.eval()
    assert m(x).shape == (2, NUM_CLASSES)
    assert_node_shapes(m, g, x)


def test_every_vocabulary_op_has_a_layer():
    assert set(LAYERS) == set(list_ops()) - {"input"}


def test_submodules_are_named_by_node_index():
    g = graph_with("conv")
    m = to_module(g)
    names = dict(m.named_children())
    assert set(names) == {f"n{i}" for i, op in enumerate(g.ops) if op != "input"}
    conv = g.ops.index("conv", 2)  # the strided, dilated, grouped conv of the recipe
    layer = names[f"n{conv}"]
    assert isinstance(layer, torch.nn.Conv2d)
    assert (layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride, layer.padding,
            layer.dilation, layer.groups, layer.bias is not None) == (4, 6, (3, 3), (2, 2), (2, 2), (2, 2), 2, True)


def test_vector_convention():
    g = graph_with("batch_norm")
    m = to_module(g)
    gap = g.ops.index("global_avg_pool")
    bns = [i for i, op in enumerate(g.ops) if op == "batch_norm"]
    assert m.ranks[gap] == 2
    assert [type(getattr(m, f"n{i}")).__name__ for i in bns] == ["BatchNorm2d", "BatchNorm1d"]
    assert m.node_outputs(torch.randn(2, 3, 8, 8))[gap].shape == (2, 4)


def test_forward_computes_the_graph():
    b = GraphBuilder("test", "semantics", (3, 6, 6), 4)
    x = b.input()
    c = b.conv(x, 5, kernel=3, bias=True)
    r = b.relu(c)
    cat = b.concat(r, b.identity(c))
    s = b.add(cat, cat, b.mul(cat, cat))
    lin = b.linear(b.global_avg_pool(s), 4)
    g = b.output(lin)
    m = to_module(g, seed=1).eval()
    inp = torch.randn(3, 3, 6, 6)
    conv, linear = getattr(m, f"n{c}"), getattr(m, f"n{lin}")
    ref_c = F.conv2d(inp, conv.weight, conv.bias, padding=1)
    ref_cat = torch.cat([ref_c.relu(), ref_c], dim=1)  # incoming-edge order
    ref_s = 2 * ref_cat + ref_cat * ref_cat
    ref = ref_s.mean(dim=(2, 3)) @ linear.weight.T + linear.bias
    torch.testing.assert_close(m(inp), ref)
    torch.testing.assert_close(m.node_outputs(inp)[cat], ref_cat)


def test_layer_norm_over_channels():
    b = GraphBuilder("test", "ln", (3, 4, 4), 3)
    ln = b.layer_norm(b.input(), affine=False)
    g = b.output(b.linear(b.global_avg_pool(ln), 3))
    inp = torch.randn(2, 3, 4, 4)
    out = to_module(g).node_outputs(inp)[ln]
    mean = inp.mean(dim=1, keepdim=True)
    var = inp.var(dim=1, unbiased=False, keepdim=True)
    torch.testing.assert_close(out, (inp - mean) / torch.sqrt(var + 1e-5))


def test_determinism():
    g = graph_with("concat")
    x = torch.randn(2, 3, 8, 8)
    torch.manual_seed(0)
    a = to_module(g).eval()
    torch.manual_seed(0)
    b = to_module(g).eval()
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), name
    assert torch.equal(a(x), b(x))
    assert torch.equal(a(x), a(x))
    c = to_module(g).eval()  # the global generator moved on: different weights
    assert not torch.equal(a(x), c(x))


def test_seed_argument_leaves_global_rng_alone():
    g = graph_with("conv")
    state = torch.get_rng_state()
    a, b = to_module(g, seed=3), to_module(g, seed=3)
    assert torch.equal(torch.get_rng_state(), state)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    c = to_module(g, seed=4)
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


def test_zero_op_gives_zeros_of_the_recorded_shape():
    g = graph_with("zero")
    m = to_module(g).eval()
    outs = m.node_outputs(torch.randn(2, 3, 8, 8))
    zeros = [i for i, op in enumerate(g.ops) if op == "zero"]
    assert [tuple(outs[i].shape) for i in zeros] == [(2, 4, 4, 4), (2, 6, 4, 4), (2, 4, 8, 8), (2, 4), (2, 3)]
    for i in zeros:
        assert not outs[i].any()


def test_avg_pool_does_not_count_padding():
    b = GraphBuilder("test", "pool", (1, 3, 3), 1)
    p = b.avg_pool(b.input(), 3, 1, 1)
    g = b.output(b.linear(b.global_avg_pool(p), 1))
    inp = torch.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # [[1,2,3],[4,5,6],[7,8,9]]
    out = to_module(g).node_outputs(inp)[p][0, 0]
    # corner: mean(1,2,4,5) = 3; top edge: mean(1..6) = 3.5; centre: mean(1..9) = 5
    # (counting the padded zeros would give 12/9 at the corner)
    expected = torch.tensor([[3.0, 3.5, 4.0], [4.5, 5.0, 5.5], [6.0, 6.5, 7.0]])
    torch.testing.assert_close(out, expected)


def test_fx_traceable():
    g = graph_with("zero")
    m = to_module(g, seed=0).eval()
    traced = torch.fx.symbolic_trace(m)
    x = torch.randn(2, 3, 8, 8)
    torch.testing.assert_close(traced(x), m(x))
    called = {n.target for n in traced.graph.nodes if n.op == "call_module"}
    assert f"n{g.ops.index('conv')}" in called


def test_dtype_is_a_parameter():
    g = graph_with("zero")
    m = to_module(g).to(torch.float64).eval()
    out = m(torch.randn(2, 3, 8, 8, dtype=torch.float64))
    assert out.dtype == torch.float64
    assert all(t.dtype == torch.float64 for t in m.node_outputs(torch.randn(2, 3, 8, 8, dtype=torch.float64)).values())


def test_output_must_be_a_logits_vector():
    b = GraphBuilder("test", "head", (3, 8, 8), 5)
    g = b.output(b.linear(b.global_avg_pool(b.input()), 7))
    with pytest.raises(GraphValidationError,
                       match=r"output node 3 has shape \(7, 1, 1\), expected a logits vector \(5, 1, 1\)"):
        to_module(g)


def test_unknown_op():
    g = graph_with("relu")
    g.nodes["op"][g.ops.index("relu")] = "no_such_op"
    with pytest.raises(UnknownOpError, match="unknown op 'no_such_op'"):
        to_module(g)


def test_vocabulary_op_without_a_layer(monkeypatch):
    monkeypatch.delitem(LAYERS, "relu")
    with pytest.raises(UnknownOpError, match="op 'relu' is in the vocabulary but has no torch layer"):
        to_module(graph_with("relu"))


def test_invalid_graph_is_rejected():
    g = graph_with("relu")
    g.nodes["params"][1] += 1
    with pytest.raises(GraphValidationError, match="records params="):
        to_module(g)
