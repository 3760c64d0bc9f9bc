"""Tests for archbench.predictors.gnn: packing, chain contraction, batching, layers, learning."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import kendalltau

from archbench.datasets.views import GraphSet
from archbench.graphs.cg import GraphBuilder
from archbench.predictors import get_predictor
from archbench.predictors.gnn import CGNet, Packed, node_inputs, pairwise_rank_loss


def diamond():
    """input -> relu -> conv -> bn -> add(bn, input) -> gap -> linear -> output, plus a dead zero branch."""
    b = GraphBuilder("test", "diamond", (3, 8, 8), 2)
    x = b.input()
    y = b.batch_norm(b.conv(b.relu(x), 3, kernel=3))
    z = b.zero(x)
    return b.output(b.linear(b.global_avg_pool(b.add(y, x, z)), 2)).validate()


def test_packing_prunes_dead_nodes_and_contracts_chains():
    g = diamond()
    gs = GraphSet.from_graphs([g, g])
    packed = Packed(gs, prune_dead=True, contract=True, graph_features=np.zeros((2, 1)))
    # zero dropped: 9 nodes -> 8 live; chains relu-conv-bn and add-gap-linear become one unit each
    assert list(packed.node_ptr) == [0, 8, 16]
    assert packed.num_units == 2 * 4  # input, [relu conv bn], [add gap linear], output
    units = packed.unit[:8].tolist()
    ops = [g.ops[i] for i in range(g.num_nodes) if g.ops[i] != "zero"]
    assert units[ops.index("relu")] == units[ops.index("conv")] == units[ops.index("batch_norm")]
    assert units[ops.index("add")] == units[ops.index("linear")]
    b = packed.batch(np.array([1, 0]))
    assert b.num_units == 8 and b.member.shape == (16,)  # the unit of each node
    assert torch.bincount(b.member).tolist() == [1, 3, 3, 1] * 2
    assert b.edge_index.shape == (2, 2 * 4)  # input->chain, chain->add, input->add, add->output
    assert b.adj_in.to_dense().sum().item() == 8 and torch.equal(b.adj_out.to_dense(), b.adj_in.to_dense().T)
    assert b.batch.tolist() == [0] * 4 + [1] * 4
    unpacked = Packed(gs, prune_dead=False, contract=False, graph_features=np.zeros((2, 1)))
    assert unpacked.num_units == 2 * g.num_nodes and int(unpacked.edge_ptr[-1]) == 2 * g.num_edges


def test_node_inputs_are_cached_and_carried_to_subsets(nb201_task):
    graphs, _ = nb201_task
    full = node_inputs(graphs)
    sub = graphs.subset([4, 2])
    assert node_inputs(sub).x.shape[0] == int(sub.node_ptr[-1])
    np.testing.assert_array_equal(node_inputs(sub).x[: sub.num_nodes[0]], full.x[graphs.node_ptr[4]:graphs.node_ptr[5]])


@pytest.mark.parametrize("conv", ["gin", "gat", "graphconv"])
def test_layers_run_and_batches_are_independent(conv, nb201_task):
    graphs, _ = nb201_task
    packed = Packed(graphs.subset(np.arange(6)), True, True, np.zeros((6, 2)))
    torch.manual_seed(0)
    net = CGNet(num_ops=40, node_dim=packed.x.shape[1], graph_dim=2, hidden=8, layers=2, conv=conv, dropout=0.0).eval()
    with torch.no_grad():
        together = net(packed.batch(np.arange(6)))
        alone = torch.cat([net(packed.batch(np.array([i]))) for i in range(6)])
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)


def test_rank_loss_by_hand():
    t = torch.tensor([0.0, 1.0])
    assert pairwise_rank_loss(torch.tensor([0.0, 0.0]), t).item() == pytest.approx(np.log(2))
    assert pairwise_rank_loss(torch.tensor([0.0, 10.0]), t).item() < 1e-4
    assert pairwise_rank_loss(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 3.0])).item() == 0.0


def test_learns_and_ensembles(nb201_task):
    graphs, y = nb201_task
    model = get_predictor("gnn", epochs=25, min_steps=0, hidden=16, batch_size=16, n_ensemble=2, seed=1,
                          validation_fraction=0.2, patience=5)
    model.fit(graphs.subset(np.arange(90)), y[:90])
    assert len(model.models_) == 2 and all(1 <= e <= 25 for e in model.best_epochs_)
    tau = kendalltau(y[90:], model.predict(graphs.subset(np.arange(90, 120)))).statistic
    assert tau > 0.4
    assert torch.get_num_threads() >= 1  # threads restored


def test_unknown_conv(nb201_task):
    graphs, y = nb201_task
    with pytest.raises(ValueError, match="unknown conv 'gcn'"):
        get_predictor("gnn", conv="gcn").fit(graphs, y)


def test_node_inputs_concat_matches_fresh(nb201_task):
    graphs, _ = nb201_task
    a, b = graphs.subset([0, 1]), graphs.subset([2])
    node_inputs(a), node_inputs(b)
    both = GraphSet.concat([a, b])
    fresh = GraphSet.from_graphs(both.to_graphs())
    np.testing.assert_array_equal(node_inputs(both).x, node_inputs(fresh).x)
