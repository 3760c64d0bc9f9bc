"""The vocabulary-v2 ops (graph convolutions, recurrent and spiking ops): shapes, costs, layers, hashing.

Mirrors graphs/ops.py for these ops; their torch layers are also in the all-ops suite of
test_torch_module.py (on one-node graphs), here on real multi-node graphs with an edge_index.
"""
from __future__ import annotations

import pytest
import torch
import torch.fx
from torch_geometric import nn as gnn

from archbench.errors import GraphValidationError
from archbench.graphs.cg import GraphBuilder
from archbench.graphs.hashing import canonical_hash
from archbench.graphs.ops import OPS, VOCAB_VERSION, get_op
from archbench.graphs.pyg import to_pyg
from archbench.graphs.torch_module import GRAPH_OPS, LIF, LeafTracer, to_module

V2_OPS = ("gcn_conv", "gat_conv", "gin_conv", "cheb_conv", "sage_conv", "arma_conv", "graph_conv", "leaky_relu",
          "blend", "state", "carry", "lif", "channel_avg_pool")

# A 5-node path graph with both edge directions: E = 8.
EDGE_INDEX = torch.tensor([[0, 1, 1, 2, 2, 3, 3, 4], [1, 0, 2, 1, 3, 2, 4, 3]])
N, E, CI, CO = 5, 8, 4, 6
#: op -> (kernel, the torch_geometric layer it must equal)
PYG = {
    "gcn_conv": (0, lambda b: gnn.GCNConv(CI, CO, bias=b)),
    "gat_conv": (2, lambda b: gnn.GATConv(CI, CO // 2, heads=2, bias=b)),
    "gin_conv": (0, lambda b: gnn.GINConv(torch.nn.Linear(CI, CO, bias=b))),
    "cheb_conv": (3, lambda b: gnn.ChebConv(CI, CO, K=3, bias=b)),
    "sage_conv": (0, lambda b: gnn.SAGEConv(CI, CO, bias=b)),
    "arma_conv": (2, lambda b: gnn.ARMAConv(CI, CO, num_stacks=2, num_layers=1, bias=b)),
    "graph_conv": (0, lambda b: gnn.GraphConv(CI, CO, bias=b)),
}


def graph_conv_net(op: str, bias: int = 1, kernel: int | None = None, edges: int = E, classes: int = 3):
    """input (CI, N, 1) -> op -> relu -> conv1x1 to classes: per-node logits."""
    b = GraphBuilder("test", op, (CI, N, 1), classes)
    k = PYG[op][0] if kernel is None else kernel
    h = b.add_node(op, [b.input()], c_out=CO, bias=bias, kernel=k, groups=edges)
    return b.output(b.conv(b.relu(h), classes, 1, bias=True)), h


def test_v2_ops_are_appended_after_v1():
    assert VOCAB_VERSION >= 2  # later versions append after v2
    assert [OPS[op].index for op in V2_OPS] == list(range(25, 38))
    assert OPS["zero"].index == 23 and OPS["input"].index == 0  # v1 indices unchanged
    assert set(GRAPH_OPS) == {op for op in V2_OPS if OPS[op].category == "graph"}


@pytest.mark.parametrize("op", sorted(PYG))
@pytest.mark.parametrize("bias", [0, 1])
def test_graph_conv_params_equal_torch_geometric(op, bias):
    g, node = graph_conv_net(op, bias)
    ref = PYG[op][1](bool(bias))
    assert g.node(node).params == sum(p.numel() for p in ref.parameters())
    assert g.node(node).out_shape == (CO, N, 1)
    m = to_module(g, seed=0)
    assert sum(p.numel() for p in m.parameters()) == g.params


@pytest.mark.parametrize("op", sorted(PYG))
def test_graph_conv_layer_computes_the_torch_geometric_layer(op):
    g, node = graph_conv_net(op)
    m = to_module(g, seed=0).eval()
    x = torch.randn(2, CI, N, 1)
    out = m.node_outputs(x, EDGE_INDEX)[node]
    conv = getattr(m, f"n{node}").conv
    for graph in range(2):  # two graphs in the batch, one shared edge_index
        ref = conv(x[graph, :, :, 0].T, EDGE_INDEX)
        torch.testing.assert_close(out[graph, :, :, 0].T, ref)
    assert m(x, EDGE_INDEX).shape == (2, N, 3)  # per-node logits


def test_graph_conv_flops_hand_computed():
    # gcn: N*Ci*Co + (E+N)*Co + N*Co = 5*4*6 + 13*6 + 30 = 228
    assert graph_conv_net("gcn_conv")[0].node(1).flops == 228
    # gat, 2 heads: 120 + 2*30 + 13*(6 + 8) + 30 = 392; params 24 + 12 + 6 = 42
    g = graph_conv_net("gat_conv")[0]
    assert (g.node(1).params, g.node(1).flops) == (42, 392)
    # cheb K=3: 3*120 + 2*13*4 + 30 = 494
    assert graph_conv_net("cheb_conv")[0].node(1).flops == 494
    # E is data: it changes FLOPs, never params
    a, b = graph_conv_net("sage_conv", edges=8)[0], graph_conv_net("sage_conv", edges=80)[0]
    assert a.node(1).params == b.node(1).params and b.node(1).flops - a.node(1).flops == 72 * CI


def test_graph_conv_shape_errors():
    b = GraphBuilder("test", "bad", (4, 8, 8), 3)
    x = b.input()
    with pytest.raises(GraphValidationError, match=r"node features C x N x 1.*found 4x8x8"):
        b.add_node("gcn_conv", [x], c_out=6, groups=10)
    b = GraphBuilder("test", "bad", (4, 5, 1), 3)
    x = b.input()
    with pytest.raises(GraphValidationError, match="c_out=6 must be divisible by heads"):
        b.add_node("gat_conv", [x], c_out=6, kernel=4)
    with pytest.raises(GraphValidationError, match="kernel = K >= 1"):
        b.add_node("cheb_conv", [x], c_out=6, kernel=0)
    with pytest.raises(GraphValidationError, match="edge count in groups"):
        b.add_node("sage_conv", [x], c_out=6, groups=-1)


def test_module_needs_edge_index_for_multi_node_graphs():
    m = to_module(graph_conv_net("gcn_conv")[0])
    with pytest.raises(TypeError, match=r"call module\(x, edge_index\)"):
        m(torch.randn(1, CI, N, 1))


def test_graph_modules_trace_with_the_leaf_tracer():
    g = graph_conv_net("gat_conv")[0]
    m = to_module(g, seed=0).eval()
    traced = torch.fx.GraphModule(m, LeafTracer().trace(m))
    x = torch.randn(1, CI, N, 1)
    torch.testing.assert_close(traced(x, EDGE_INDEX), m(x, EDGE_INDEX))


def test_node_level_output_needs_graph_convs():
    b = GraphBuilder("test", "maps", (4, 5, 1), 3)
    g = b.output(b.conv(b.input(), 3, 1))
    with pytest.raises(GraphValidationError, match=r"expected a logits vector \(3, 1, 1\)"):
        to_module(g)


def test_pyg_features_cover_the_new_ops():
    g, node = graph_conv_net("gat_conv")
    d = to_pyg(g)
    assert d.op[node].item() == OPS["gat_conv"].index
    assert d.x.shape == (g.num_nodes, len(OPS) + 12)


# ---- recurrent ops ------------------------------------------------------------------------------------

def _cell(slot: int = 0, swap: bool = False):
    b = GraphBuilder("test", "cell", (4, 1, 1), 3)
    x = b.input()
    s = b.add_node("state", [x], c_out=5, groups=slot)
    h = b.act(b.linear(b.concat(x, s), 5), "tanh")
    g = b.act(b.linear(x, 5), "sigmoid")
    c = b.add_node("carry", [g, h] if swap else [h, g])
    return b.output(b.linear(c, 3))


def test_state_and_carry():
    g = _cell()
    assert g.node(1).out_shape == (5, 1, 1) and (g.node(1).params, g.node(1).flops) == (0, 0)
    m = to_module(g, seed=0)
    assert sum(p.numel() for p in m.parameters()) == g.params
    x = torch.randn(3, 4, 1, 1)
    outs = m.node_outputs(x)
    assert not outs[1].any() and outs[1].shape[:2] == (3, 5)  # the initial (zero) state
    carry = g.ops.index("carry")
    torch.testing.assert_close(outs[carry], outs[g.inputs_of()[carry][0]])


def test_recurrent_hashing():
    # the state slot is part of the function, and so is which value goes to which slot
    assert canonical_hash(_cell(0)) != canonical_hash(_cell(1))
    assert canonical_hash(_cell(0)) != canonical_hash(_cell(0, swap=True))
    assert canonical_hash(_cell(0)) == canonical_hash(_cell(0))
    assert not get_op("state").zero_preserving  # its value does not depend on its (anchor) input


def test_blend_and_leaky_relu():
    b = GraphBuilder("test", "blend", (4, 1, 1), 4)
    x = b.input()
    gate = b.act(x, "sigmoid")
    y = b.add_node("blend", [gate, x, b.act(x, "leaky_relu")])
    g = b.output(y)
    assert g.node(y).flops == 12
    m = to_module(g).eval()
    inp = torch.randn(2, 4)
    ref = torch.sigmoid(inp) * inp + (1 - torch.sigmoid(inp)) * torch.nn.functional.leaky_relu(inp, 0.01)
    torch.testing.assert_close(m(inp), ref)
    with pytest.raises(GraphValidationError, match="3 inputs"):
        b.add_node("blend", [x, x])


def test_blend_is_not_commutative_in_hashing():
    def net(order):
        b = GraphBuilder("test", "blend", (4, 1, 1), 4)
        x = b.input()
        args = [b.act(x, "sigmoid"), x, b.act(x, "tanh")]
        return b.output(b.add_node("blend", [args[i] for i in order]))
    assert canonical_hash(net((0, 1, 2))) != canonical_hash(net((0, 2, 1)))


# ---- spiking ops ----------------------------------------------------------------------------------------

def test_lif_fires_at_threshold_with_surrogate_gradient():
    lif = LIF(threshold=1.0, decay=0.75)
    x = torch.tensor([0.0, 1.2, 4 / 3, 2.0], requires_grad=True)
    y = lif(x)
    assert y.tolist() == [0.0, 0.0, 1.0, 1.0]  # fires when 0.75 * x >= 1
    y.sum().backward()
    assert (x.grad > 0).all() and x.grad[2] > x.grad[0]  # arctan surrogate: largest at the threshold


def _snn(threshold: int):
    b = GraphBuilder("test", "snn", (3, 4, 4), 2)
    s = b.add_node("lif", [b.conv(b.input(), 4, 3)], kernel=threshold, dilation=750)
    v = b.linear(b.global_avg_pool(s), 8)
    return b.output(b.add_node("channel_avg_pool", [v], kernel=4)), s


def test_lif_and_channel_avg_pool_costs_and_layers():
    g, s = _snn(1000)
    assert (g.node(s).params, g.node(s).flops) == (0, 2 * 4 * 4 * 4)
    pool = g.ops.index("channel_avg_pool")
    assert g.node(pool).out_shape == (2, 1, 1) and g.node(pool).flops == 8
    m = to_module(g, seed=0).eval()
    outs = m.node_outputs(torch.randn(2, 3, 4, 4))
    assert set(outs[s].unique().tolist()) <= {0.0, 1.0}
    torch.testing.assert_close(outs[pool], outs[pool - 1].view(2, 2, 4).mean(2))
    with pytest.raises(GraphValidationError, match="must divide the 8 input channels"):
        b = GraphBuilder("t", "", (8, 1, 1), 1)
        b.add_node("channel_avg_pool", [b.input()], kernel=3)


def test_lif_threshold_is_part_of_the_hash():
    assert canonical_hash(_snn(500)[0]) != canonical_hash(_snn(1500)[0])
    with pytest.raises(GraphValidationError, match="decay"):
        b = GraphBuilder("t", "", (3, 4, 4), 2)
        b.add_node("lif", [b.input()], kernel=1000, dilation=0)


def test_lif_and_channel_pool_preserve_zero_in_hashing():
    def net(zero: bool, op: str, **attrs):
        b = GraphBuilder("test", "z", (4, 1, 1), 2)
        x = b.input()
        y = b.zero(x) if zero else b.identity(x)
        z = b.add_node(op, [y], **attrs)
        return b.output(b.add(b.linear(x, 2 if op == "channel_avg_pool" else 4, bias=False), z)
                        if op != "channel_avg_pool" else b.add(b.add_node(op, [x], **attrs), z))
    # zero -> lif -> add(x', .) is add(x', 0) = x'
    zero_lif, plain = net(True, "lif", kernel=1000, dilation=750), net(False, "lif", kernel=1000, dilation=750)
    b = GraphBuilder("test", "z", (4, 1, 1), 2)
    ref = b.output(b.linear(b.input(), 4, bias=False))
    assert canonical_hash(zero_lif) == canonical_hash(ref) != canonical_hash(plain)
