"""Tests for archbench.datasets.views: GraphSet, loading graphs and labels from the tables, inputs."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import torch

from archbench.datasets.build import build
from archbench.datasets.catalog import connect
from archbench.datasets.store import Store, write_parquet
from archbench.datasets.views import GraphSet, LabelSpec, as_graphset, load_graphs, load_labels, load_task
from archbench.errors import DataFormatError
from archbench.graphs.pyg import to_pyg
from archbench.graphs.spaces import get_space


def commit_metrics(home, rows: pd.DataFrame, unit: str) -> None:
    store = Store(home)
    table = pa.Table.from_pandas(rows.assign(seed=pd.array([None] * len(rows), dtype="Int64")), preserve_index=False)
    path = write_parquet(table, "metrics", store.staging_dir("t") / "m.parquet")
    with store.writer_lock():
        store.commit({unit: {"metrics": [path]}})


@pytest.fixture
def tiny_home(home):
    """tinychain's 16 graphs, a label at two fidelities, and a proxy score for half of them."""
    build("tinychain", home=home, sources=[], workers=1, progress=False)
    space = get_space("tinychain")
    archs = list(space.enumerate())
    ids = [space.arch_id(a) for a in archs]
    acc = [float(sum(a[:3]) + 2 * a[3]) for a in archs]
    rows = pd.DataFrame({
        "arch_id": ids * 2 + ids[:8], "space": "tinychain", "source": "synthetic", "dataset": "tiny",
        "metric": ["acc"] * 32 + ["zc_x"] * 8, "fidelity": [200.0] * 16 + [12.0] * 16 + [np.nan] * 8,
        "device": None, "value": acc + [v / 2 for v in acc] + list(range(8)), "unit": "%"})
    commit_metrics(home, rows, "tinychain/synthetic")
    return home, space, archs, ids, np.array(acc)


def test_load_graphs_equals_the_spaces_graphs(tiny_home):
    home, space, archs, ids, _ = tiny_home
    gs = load_graphs(home, space="tinychain")
    assert len(gs) == 16 and sorted(gs.arch_id) == sorted(ids)
    for i in (0, 7, 15):
        want = space.build_cg(space.parse(gs.encoding[i]))
        got = gs.graph(i)
        assert (got.nodes, got.src, got.dst, got.input_shape, got.num_classes) == \
               (want.nodes, want.src, want.dst, want.input_shape, want.num_classes)
    np.testing.assert_array_equal(gs.params, [gs.graph(i).params for i in range(16)])
    picked = load_graphs(home, arch_ids=[ids[5], ids[2]])
    assert list(picked.arch_id) == [ids[5], ids[2]]
    with pytest.raises(DataFormatError, match="not in the tables"):
        load_graphs(home, arch_ids=["tinychain:nope"])
    with pytest.raises(DataFormatError, match="no graphs .* for space 'nb201'"):
        load_graphs(home, space="nb201")


def test_graphset_from_graphs_subset_concat_and_pyg():
    space = get_space("tinychain")
    graphs = [space.build_cg(a) for a in space.enumerate()]
    gs = GraphSet.from_graphs(graphs)
    assert len(gs) == 16 and int(gs.node_ptr[-1]) == sum(g.num_nodes for g in graphs)
    sub = gs.subset([3, 3, 0])
    assert [sub.graph(i).encoding for i in range(3)] == [graphs[3].encoding, graphs[3].encoding, graphs[0].encoding]
    assert sub.graph(0).nodes == graphs[3].nodes
    both = GraphSet.concat([gs.subset([1]), gs.subset([2]).with_extras({"e": [5.0]})])
    assert both.graph(1).nodes == graphs[2].nodes and np.isnan(both.extras["e"][0]) and both.extras["e"][1] == 5.0
    for data, g in zip(gs.to_pyg_list()[:3], graphs):
        want = to_pyg(g)
        assert torch.equal(data.x, want.x) and torch.equal(data.edge_index, want.edge_index)
        assert torch.equal(data.op, want.op) and data.params.item() == g.params
    np.testing.assert_array_equal(gs.node_features(chunk_nodes=7), np.concatenate([to_pyg(g).x.numpy() for g in graphs]))
    with pytest.raises(IndexError, match="out of range"):
        gs.subset([16])
    with pytest.raises(DataFormatError, match="expects ComputationGraph items"):
        GraphSet.from_graphs(["not a graph"])


def test_labels_and_ambiguity(tiny_home):
    home, space, archs, ids, acc = tiny_home
    with pytest.raises(DataFormatError, match="matches 2 label sets.*fidelity=200.0.*fidelity=12.0"):
        load_labels(home, "acc", space="tinychain")
    labels = load_labels(home, LabelSpec("acc", fidelity=200))
    assert labels.name == "acc@200" and labels[ids[3]] == acc[3]
    with pytest.raises(DataFormatError, match="no metrics rows match metric=nope"):
        load_labels(home, "nope")
    graphs, y = load_task(home, LabelSpec("acc", fidelity=200), space="tinychain", extras=["acc@12", "zc_x"])
    order = [ids.index(a) for a in graphs.arch_id]
    np.testing.assert_array_equal(y, acc[order])
    np.testing.assert_array_equal(graphs.extras["acc@12"], acc[order] / 2)
    assert np.isnan(graphs.extras["zc_x"]).sum() == 8


def test_label_spec_parse():
    s = LabelSpec.parse("nats_csv/test_accuracy@12#pixel3")
    assert (s.source, s.metric, s.fidelity, s.device, s.key) == ("nats_csv", "test_accuracy", 12.0, "pixel3",
                                                                 "test_accuracy@12#pixel3")
    assert LabelSpec.parse("zc_synflow").key == "zc_synflow"
    for bad in ("", "x@twelve", "/acc"):
        with pytest.raises(DataFormatError):
            LabelSpec.parse(bad)


def test_as_graphset_inputs(tiny_home):
    home, space, archs, ids, _ = tiny_home
    encs = [space.format(a) for a in archs[:3]]
    from_encodings = as_graphset(encs, space="tinychain")
    assert list(from_encodings.arch_id) == ids[:3]
    frame = pd.DataFrame({"arch_id": ids[:3], "zc_x": [1.0, 2.0, 3.0]})
    from_rows = as_graphset(frame, home=home, extras=["zc_x"])
    assert list(from_rows.extras["zc_x"]) == [1.0, 2.0, 3.0]
    assert from_rows.graph(2).nodes == from_encodings.graph(2).nodes
    assert as_graphset(pa.Table.from_pandas(frame), home=home).num_nodes.tolist() == from_rows.num_nodes.tolist()
    with connect(home) as con:
        rel = con.sql("SELECT arch_id FROM archs ORDER BY arch_id LIMIT 4")
        assert len(as_graphset(rel, home=home)) == 4
    assert len(as_graphset(space.build_cg(archs[0]))) == 1
    assert as_graphset(from_rows) is from_rows
    with pytest.raises(DataFormatError, match="needs space="):
        as_graphset(encs)
    with pytest.raises(DataFormatError, match="'arch_id' column"):
        as_graphset(pd.DataFrame({"x": [1]}))
    with pytest.raises(DataFormatError, match="cannot read predictor input of type int"):
        as_graphset(3)
    with pytest.raises(DataFormatError, match=r"needs per-graph values \['zc_y'\]"):
        as_graphset(encs, space="tinychain", extras=["zc_y"])


def test_ranges_are_views_of_whole_graphs_within_the_node_budget():
    graphs = [get_space(s).build_cg(a) for s in ("nb101", "nb201") for a in get_space(s).samples(4, seed=3)]
    gs = GraphSet.from_graphs(graphs).with_extras({"score": np.arange(8.0)})
    for budget in (1, 250, 600, 10**9):
        parts = gs.ranges(budget)
        assert sum(len(p) for p in parts) == len(gs)
        assert all(p.node_ptr[-1] <= budget or len(p) == 1 for p in parts)
        assert all(np.shares_memory(p.nodes["op"], gs.nodes["op"]) for p in parts)
        whole = GraphSet.concat(parts)
        np.testing.assert_array_equal(whole.node_ptr, gs.node_ptr)
        np.testing.assert_array_equal(whole.src, gs.src)
        np.testing.assert_array_equal(whole.extras["score"], gs.extras["score"])
        assert list(whole.arch_id) == list(gs.arch_id)
    assert len(gs.ranges(10**9)) == 1
    with pytest.raises(ValueError, match="max_nodes must be at least 1"):
        gs.ranges(0)
