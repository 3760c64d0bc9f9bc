"""Tests for archbench.graphs.cg: GraphBuilder, costs and every validate() error path."""
from __future__ import annotations

import pytest

from archbench.errors import GraphValidationError, UnknownOpError
from archbench.graphs.cg import NODE_FIELDS, ComputationGraph, GraphBuilder


def tiny_conv_net() -> ComputationGraph:
    """input 3x8x8 -> conv(4, k3, p1) -> bn -> relu -> gap -> linear(10) -> output; nodes 0..6."""
    b = GraphBuilder("test", "tiny", (3, 8, 8), 10)
    x = b.input()
    x = b.conv(x, 4, kernel=3)
    x = b.relu(b.batch_norm(x))
    return b.output(b.linear(b.global_avg_pool(x), 10))


def branchy_net() -> ComputationGraph:
    """Uses add, concat, zero, identity and pools, all shape-consistent."""
    b = GraphBuilder("test", "branchy", (3, 8, 8), 5)
    x = b.conv(b.input(), 8, kernel=3)
    a = b.avg_pool(x, 3, 1, 1)
    m = b.max_pool(x, 3, 1, 1)
    s = b.add(a, m, b.identity(x), b.zero(x))
    c = b.concat(s, b.dwconv(x, 3))
    y = b.conv(c, 8, kernel=1, stride=2)
    return b.output(b.linear(b.flatten(b.global_avg_pool(y)), 5))


def with_edge(graph: ComputationGraph, src: int, dst: int) -> ComputationGraph:
    graph.src.append(src)
    graph.dst.append(dst)
    return graph


def test_tiny_conv_net_params_and_flops_by_hand():
    g = tiny_conv_net().validate()
    # conv 3->4, k3, no bias: params 4*3*3*3 = 108; flops = outputs 4*8*8=256 times 27 MACs = 6912
    # batch_norm affine: params 2*4 = 8; flops 2 per output = 512
    # relu: 256 flops; global_avg_pool: one per input element = 256 flops
    # linear 4->10 with bias: params 4*10 + 10 = 50; flops 50
    assert g.nodes["op"] == ["input", "conv", "batch_norm", "relu", "global_avg_pool", "linear", "output"]
    assert g.nodes["params"] == [0, 108, 8, 0, 0, 50, 0]
    assert g.nodes["flops"] == [0, 6912, 512, 256, 256, 50, 0]
    assert g.params == 166
    assert g.flops == 6912 + 512 + 256 + 256 + 50 == 7986
    assert g.node(1).out_shape == (4, 8, 8)
    assert g.node(4).out_shape == (4, 1, 1)


def test_strided_dilated_grouped_conv_cost_by_hand():
    b = GraphBuilder("test", "conv", (4, 9, 9), 2)
    x = b.conv(b.input(), 6, kernel=3, stride=2, dilation=2, groups=2, bias=True)
    g = b.output(b.linear(b.global_avg_pool(x), 2))
    node = g.validate().node(x)
    # padding = dilation*(k-1)//2 = 2; out = (9 + 4 - 2*2 - 1)//2 + 1 = 5
    assert node.padding == 2 and node.out_shape == (6, 5, 5)
    # per output: (4/2)*3*3 = 18 MACs; params 6*18 + 6 bias = 114; flops 150*18 + 150 = 2850
    assert (node.params, node.flops) == (114, 2850)


def test_good_graphs_validate_and_return_themselves():
    for g in (tiny_conv_net(), branchy_net()):
        assert g.validate() is g
    g = branchy_net()
    concat = g.ops.index("concat")
    # concat records its summed input channels; incoming-edge order is argument order
    assert g.node(concat).c_in == 16
    assert [g.ops[p] for p in g.inputs_of()[concat]] == ["add", "dwconv"]


def test_topological_order_of_shuffled_numbering():
    g = tiny_conv_net()
    perm = [3, 0, 6, 1, 5, 2, 4]  # old index -> new index
    inv = {new: old for old, new in enumerate(perm)}
    h = ComputationGraph(g.space, g.encoding, g.input_shape, g.num_classes,
                         nodes={f: [g.nodes[f][inv[i]] for i in range(7)] for f in NODE_FIELDS},
                         src=[perm[s] for s in g.src], dst=[perm[d] for d in g.dst])
    order = h.validate().topological_order()
    pos = {node: k for k, node in enumerate(order)}
    assert all(pos[s] < pos[d] for s, d in zip(h.src, h.dst))
    assert h.params == g.params and h.flops == g.flops


def test_cycle():
    b = GraphBuilder("test", "cycle", (3, 4, 4), 3)
    r = b.relu(b.input())
    a = b.add(r)
    r2 = b.relu(a)
    g = b.output(b.linear(b.global_avg_pool(r2), 3))
    with_edge(g, r2, a)  # add(r, r2) with r2 = relu(add): a cycle of equal shapes
    with pytest.raises(GraphValidationError, match=r"cycle: .*\(add\).*\(relu\)"):
        g.validate()


def test_dangling_node():
    b = GraphBuilder("test", "dangling", (3, 8, 8), 10)
    x = b.conv(b.input(), 4, kernel=3)
    unused = b.relu(x)
    g = b.output(b.linear(b.global_avg_pool(x), 10))
    with pytest.raises(GraphValidationError, match=rf"node {unused} \(relu\) is dangling: its output feeds no node"):
        g.validate()


def test_unknown_op_lists_the_vocabulary():
    g = tiny_conv_net()
    g.nodes["op"][3] = "no_such_op"
    with pytest.raises(UnknownOpError, match=r"unknown op 'no_such_op'.*expected one of.*relu6.*global_avg_pool"):
        g.validate()
    b = GraphBuilder("test", "unknown", (3, 8, 8), 10)
    with pytest.raises(UnknownOpError, match="'conv9'"):
        b.add_node("conv9", [b.input()])


def test_edge_out_of_range():
    g = with_edge(tiny_conv_net(), 2, 99)
    with pytest.raises(GraphValidationError, match=r"edge 6 \(2 -> 99\) points outside the graph's 7 nodes \(0..6\)"):
        g.validate()


def test_self_loop():
    g = with_edge(tiny_conv_net(), 3, 3)
    with pytest.raises(GraphValidationError, match=r"self-loop on node 3 \(relu\)"):
        g.validate()


def test_wrong_arity():
    g = with_edge(tiny_conv_net(), 0, 1)  # a second input into the conv
    with pytest.raises(GraphValidationError, match=r"node 1 \(conv\) has 2 inputs, expected 1"):
        g.validate()
    b = GraphBuilder("test", "arity", (3, 8, 8), 10)
    with pytest.raises(GraphValidationError, match="add takes 1..n inputs, got 0"):
        b.add_node("add", [])


def test_shape_mismatch_on_an_edge():
    g = tiny_conv_net()
    g.nodes["c_in"][1] = 5  # the conv now claims 5 input channels; the input gives 3
    with pytest.raises(GraphValidationError,
                       match=r"shape mismatch on edge 0 -> 1: node 1 \(conv\) expects input 5x8x8 "
                             r"but node 0 \(input\) produces 3x8x8"):
        g.validate()


def test_recorded_output_shape_wrong():
    g = tiny_conv_net()
    g.nodes["h_out"][3] = 7
    g.nodes["h_in"][4] = 7  # keep the next edge consistent so the relu itself is blamed
    with pytest.raises(GraphValidationError,
                       match=r"node 3 \(relu\) records output 4x7x8, but its inputs and attributes give 4x8x8"):
        g.validate()


def test_add_of_different_shapes():
    b = GraphBuilder("test", "add", (3, 8, 8), 10)
    x = b.input()
    with pytest.raises(GraphValidationError, match="equal input shapes, found 4x8x8 and 3x8x8"):
        b.add(b.conv(x, 4, kernel=1), x)


def test_recorded_params_or_flops_wrong():
    g = tiny_conv_net()
    g.nodes["params"][1] = 109
    with pytest.raises(GraphValidationError,
                       match=r"node 1 \(conv\) records params=109, flops=6912; expected params=108, flops=6912"):
        g.validate()
    g = tiny_conv_net()
    g.nodes["flops"][5] = 40
    with pytest.raises(GraphValidationError,
                       match=r"node 5 \(linear\) records params=50, flops=40; expected params=50, flops=50"):
        g.validate()


def test_no_input_node():
    g = tiny_conv_net()
    g.nodes["op"][0] = "identity"
    with pytest.raises(GraphValidationError, match="the graph has no input node"):
        g.validate()


def test_output_not_fed_by_an_input():
    # input -> relu -> add <- conv, and the conv loses its only edge: the output's ancestry now
    # starts at a conv, not at an input. Only an input may have no inputs, so validate names it.
    b = GraphBuilder("test", "nopath", (3, 8, 8), 3)
    x = b.input()
    c = b.conv(x, 3, kernel=1)
    s = b.add(b.relu(x), c)
    g = b.output(b.linear(b.global_avg_pool(s), 3))
    k = next(k for k, (s_, d) in enumerate(zip(g.src, g.dst)) if d == c)
    del g.src[k], g.dst[k]
    with pytest.raises(GraphValidationError, match=rf"node {c} \(conv\) has 0 inputs, expected 1"):
        g.validate()


def test_no_output_node():
    g = tiny_conv_net()
    g.nodes["op"][6] = "identity"
    with pytest.raises(GraphValidationError, match="exactly one output node, found 0"):
        g.validate()


def test_two_output_nodes():
    b = GraphBuilder("test", "two", (3, 8, 8), 10)
    head = b.linear(b.global_avg_pool(b.input()), 10)
    b.add_node("output", [head])
    g = b.output(head)
    with pytest.raises(GraphValidationError, match="exactly one output node, found 2"):
        g.validate()


def test_column_length_mismatch():
    g = tiny_conv_net()
    g.nodes["flops"].pop()
    with pytest.raises(GraphValidationError, match="node column 'flops' has 6 entries, expected 7"):
        g.validate()


def test_input_node_shape_must_match_graph_input():
    g = tiny_conv_net()
    g.input_shape = (3, 16, 16)
    with pytest.raises(GraphValidationError,
                       match="input node 0 has shape 3x8x8, expected the graph's input shape 3x16x16"):
        g.validate()


def test_invalid_group_count():
    b = GraphBuilder("test", "groups", (6, 8, 8), 10)
    with pytest.raises(GraphValidationError, match="groups=4 must divide its 6 input channels"):
        b.conv(b.input(), 8, kernel=3, groups=4)


def test_mul_broadcasts_a_per_channel_gate():
    # Squeeze-and-excitation: x (8x8x8) * gate (8x1x1) -> 8x8x8; any other shape pair is refused.
    b = GraphBuilder("t", "se", (3, 8, 8), 4)
    x = b.conv(b.input(), 8, kernel=3)
    gate = b.add_node("hsigmoid", [b.conv(b.global_avg_pool(x), 8, kernel=1, bias=True)])
    y = b.mul(gate, x)
    assert b.shape(y) == (8, 8, 8)
    assert b.graph.nodes["flops"][y] == 8 * 8 * 8
    b.output(b.linear(b.global_avg_pool(y), 4)).validate()
    b2 = GraphBuilder("t", "bad", (3, 8, 8), 4)
    x2 = b2.conv(b2.input(), 8, kernel=3)
    with pytest.raises(GraphValidationError, match="mul needs equal input shapes or a 8x1x1 per-channel gate, found 8x8x8 and 4x1x1"):
        b2.mul(x2, b2.conv(b2.global_avg_pool(x2), 4, kernel=1))
