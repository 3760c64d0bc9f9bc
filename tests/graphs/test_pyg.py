"""Tests for archbench.graphs.pyg: node features and conversion to PyG Data."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from archbench.errors import DataFormatError, UnknownOpError
from archbench.graphs.cg import ComputationGraph, GraphBuilder
from archbench.graphs.ops import NUM_OPS, OP_NAMES, OPS
from archbench.graphs.pyg import (
    FEATURE_COLUMNS, FEATURE_NAMES, NUM_FEATURES, node_features, op_indices, to_pyg, to_pyg_batch,
)


def small_net(channels: int = 4, input_hw: int = 8) -> ComputationGraph:
    """input 3xHxW -> conv(c, k3, s2) -> bn -> relu -> {dwconv, zero} -> concat -> gap -> linear(10)."""
    b = GraphBuilder("test", "small", (3, input_hw, input_hw), 10)
    x = b.relu(b.batch_norm(b.conv(b.input(), channels, kernel=3, stride=2)))
    y = b.concat(b.dwconv(x, 3), b.zero(x))
    return b.output(b.linear(b.global_avg_pool(y), 10)).validate()


def col(name: str) -> int:
    return FEATURE_NAMES.index(name)


def test_feature_names():
    assert FEATURE_NAMES[:NUM_OPS] == tuple(f"op={name}" for name in OP_NAMES)
    assert len(FEATURE_NAMES) == len(set(FEATURE_NAMES)) == NUM_FEATURES
    assert set(FEATURE_COLUMNS) <= set(small_net().nodes)


def test_to_pyg_shapes_and_dtypes():
    g = small_net()
    d = to_pyg(g)
    assert d.num_nodes == g.num_nodes == 10
    assert d.x.shape == (10, NUM_FEATURES) and d.x.dtype == torch.float32
    assert d.edge_index.shape == (2, g.num_edges) and d.edge_index.dtype == torch.long
    assert d.op.shape == (10,) and d.op.dtype == torch.long
    assert d.params.tolist() == [g.params] and d.params.dtype == torch.long
    assert d.flops.tolist() == [g.flops] and d.flops.dtype == torch.long
    assert torch.isfinite(d.x).all()
    d.validate(raise_on_error=True)
    assert g.to_pyg().x.equal(d.x)  # the ComputationGraph wrapper


def test_edge_index_equals_graph_edges_in_order():
    g = small_net()
    d = to_pyg(g)
    assert d.edge_index[0].tolist() == g.src
    assert d.edge_index[1].tolist() == g.dst
    concat = g.ops.index("concat")
    # argument order survives: the concat's incoming edges list dwconv before zero
    assert [g.ops[s] for s in d.edge_index[0][d.edge_index[1] == concat].tolist()] == ["dwconv", "zero"]


def test_one_hot_and_op_index():
    g = small_net()
    d = to_pyg(g)
    onehot = d.x[:, :NUM_OPS]
    assert onehot.sum(dim=1).tolist() == [1.0] * g.num_nodes
    assert onehot.argmax(dim=1).tolist() == [OPS[op].index for op in g.ops]
    assert d.op.tolist() == [OPS[op].index for op in g.ops]
    assert op_indices(["zero", "input", "zero"]).tolist() == [OPS["zero"].index, 0, OPS["zero"].index]


def test_numeric_features_by_hand():
    g = small_net()
    x = node_features(g.nodes, g.input_shape)
    conv, dw, gap, lin = (g.ops.index(op) for op in ("conv", "dwconv", "global_avg_pool", "linear"))
    # conv 3->4, k3 s2 p1 on 8x8: out 4x4x4; params 4*27 = 108, flops 64*27 = 1728
    assert x[conv, col("log2_c_in")] == pytest.approx(2 / 16)  # log2(1 + 3) / 16
    assert x[conv, col("log2_c_out")] == pytest.approx(math.log2(5) / 16)
    assert x[conv, col("h_out_rel")] == pytest.approx(0.5)
    assert x[conv, col("w_out_rel")] == pytest.approx(0.5)
    assert x[conv, col("log2_kernel")] == pytest.approx(0.5)  # log2(1 + 3) / 4
    assert x[conv, col("log2_stride")] == pytest.approx(math.log2(3) / 4)
    assert x[conv, col("log2_padding")] == pytest.approx(0.25)
    assert x[conv, col("log2_dilation")] == pytest.approx(0.25)
    assert x[conv, col("depthwise")] == 0 and x[dw, col("depthwise")] == 1
    assert x[conv, col("bias")] == 0 and x[lin, col("bias")] == 1
    assert x[conv, col("log_params")] == pytest.approx(math.log1p(108) / 20)
    assert x[conv, col("log_flops")] == pytest.approx(math.log1p(1728) / 25)
    assert x[gap, col("h_out_rel")] == pytest.approx(1 / 8)


def test_grouped_conv_with_groups_equal_channels_is_depthwise():
    b = GraphBuilder("test", "dw", (4, 8, 8), 2)
    c = b.conv(b.input(), 8, kernel=3, groups=4)
    g2 = b.conv(c, 8, kernel=3, groups=2)
    g = b.output(b.linear(b.global_avg_pool(g2), 2))
    x = node_features(g.nodes, g.input_shape)
    assert x[c, col("depthwise")] == 1 and x[g2, col("depthwise")] == 0


def test_node_features_from_a_dataframe_equal_from_graph_nodes():
    g = small_net()
    df = pd.DataFrame(g.nodes)
    np.testing.assert_array_equal(node_features(df, g.input_shape), node_features(g.nodes, g.input_shape))
    df["op"] = df["op"].astype("category")  # as dictionary-encoded Parquet columns come back
    np.testing.assert_array_equal(node_features(df, g.input_shape), node_features(g.nodes, g.input_shape))


def test_node_features_of_many_graphs_at_once():
    a, b = small_net(4, 8), small_net(8, 16)
    df = pd.concat([pd.DataFrame(a.nodes).assign(input_h=8, input_w=8),
                    pd.DataFrame(b.nodes).assign(input_h=16, input_w=16)], ignore_index=True)
    x = node_features(df, (3, df["input_h"].to_numpy(), df["input_w"].to_numpy()))
    np.testing.assert_array_equal(x[: a.num_nodes], node_features(a.nodes, a.input_shape))
    np.testing.assert_array_equal(x[a.num_nodes:], node_features(b.nodes, b.input_shape))


def test_to_pyg_batch():
    graphs = [small_net(4, 8), small_net(8, 16)]
    batch = to_pyg_batch(graphs)
    assert batch.num_graphs == 2
    assert batch.x.shape == (sum(g.num_nodes for g in graphs), NUM_FEATURES)
    assert batch.params.tolist() == [g.params for g in graphs]
    back = batch.to_data_list()
    assert back[1].edge_index.tolist() == [graphs[1].src, graphs[1].dst]
    assert back[1].x.equal(to_pyg(graphs[1]).x)


def test_unknown_op():
    g = small_net()
    g.nodes["op"][3] = "no_such_op"
    with pytest.raises(UnknownOpError, match="unknown op 'no_such_op'.*expected one of"):
        to_pyg(g)


def test_missing_or_ragged_columns():
    g = small_net()
    cols = {k: v for k, v in g.nodes.items() if k != "flops"}
    with pytest.raises(DataFormatError, match=r"lack \['flops'\]"):
        node_features(cols, g.input_shape)
    cols = dict(g.nodes, kernel=g.nodes["kernel"][:-1])
    with pytest.raises(DataFormatError, match=r"'kernel' has shape \(9,\), expected \(10,\)"):
        node_features(cols, g.input_shape)


def test_empty_columns():
    x = node_features({name: [] for name in FEATURE_COLUMNS}, (3, 8, 8))
    assert x.shape == (0, NUM_FEATURES) and x.dtype == np.float32
