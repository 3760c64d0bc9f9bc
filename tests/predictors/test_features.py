"""Tests for archbench.predictors.features: live paths, effective depth, tabular features, tokens."""
from __future__ import annotations

import numpy as np
import pytest

from archbench.datasets.views import GraphSet
from archbench.errors import DataFormatError
from archbench.graphs.cg import ComputationGraph, GraphBuilder
from archbench.graphs.spaces import get_space
from archbench.predictors.features import (
    BASE_FEATURES, CGFeaturizer, encoding_tokens, graph_structure, node_structure_features, onehot_tokens,
    raw_features, token_name,
)


def residual() -> ComputationGraph:
    """input -> conv a -> relu b -> add(b, input) -> gap -> linear -> output; plus a dead conv into a zero."""
    b = GraphBuilder("test", "residual", (3, 8, 8), 4)
    x = b.input()
    a = b.conv(x, 3, kernel=3)
    r = b.relu(a)
    dead = b.zero(b.conv(x, 3, kernel=1))
    s = b.add(r, x, dead)
    return b.output(b.linear(b.global_avg_pool(s), 4)).validate()


def col(name: str) -> int:
    return BASE_FEATURES.index(name)


def test_structure_by_hand():
    g = residual()
    st = graph_structure(GraphSet.from_graphs([g]))
    ops = g.ops
    conv3 = next(i for i, (o, k) in enumerate(zip(ops, g.nodes["kernel"])) if o == "conv" and k == 3)
    conv1 = next(i for i, (o, k) in enumerate(zip(ops, g.nodes["kernel"])) if o == "conv" and k == 1)
    zero, add, out = ops.index("zero"), ops.index("add"), ops.index("output")
    # Two live paths (through the 3x3 conv, and the skip); the 1x1 conv feeds only a zero: dead.
    assert st.paths_in[out] == 2 and st.paths_out[0] == 2
    assert st.live[conv3] and not st.live[conv1] and not st.live[zero]
    assert st.paths_in[add] == 2 and st.paths_out[conv3] == 1
    # Weight layers on the live paths: conv + linear = 2, or just linear = 1.
    assert (st.wmax_in[out], st.wmin_in[out]) == (2, 1)
    assert st.wsum_in[out] / st.paths_in[out] == pytest.approx(1.5)
    assert st.wmax_out[0] == 2 and st.wmax_out[conv3] == 1
    assert st.level[out] == 6  # input conv relu add gap linear output
    feats = node_structure_features(GraphSet.from_graphs([g]), st)
    assert feats.shape == (g.num_nodes, 5) and feats.min() >= 0 and feats.max() <= 1
    assert feats[conv3, 1] == pytest.approx(0.5)  # half of the live paths pass the 3x3 conv


def test_structure_agrees_with_a_per_graph_python_dp():
    space = get_space("nb201")
    archs = space.samples(12, seed=3) + [("none",) * 6, ("skip_connect",) * 6]
    graphs = [space.build_cg(a) for a in archs]
    gs = GraphSet.from_graphs(graphs)
    st = graph_structure(gs)
    for i, g in enumerate(graphs):
        preds = g.inputs_of()
        pin = [0.0] * g.num_nodes
        for v in g.topological_order():
            pin[v] = 1.0 if g.ops[v] == "input" else (0.0 if g.ops[v] == "zero" else sum(pin[u] for u in preds[v]))
        np.testing.assert_allclose(st.paths_in[gs.node_ptr[i]:gs.node_ptr[i + 1]], pin)
    out = st.output
    assert st.paths_in[out[-2]] == 0  # all-'none' cells: no live path at all
    assert st.paths_in[out[-1]] == 4 ** 15 * 2 ** 2  # all-skip cells: 4 paths each; residual blocks: 2


def test_structure_rejects_backward_edges():
    g = residual()
    gs = GraphSet.from_graphs([g])
    gs.src[0], gs.dst[0] = gs.dst[0], gs.src[0]
    with pytest.raises(DataFormatError, match="going backwards"):
        graph_structure(gs)


def test_featurizer_columns_and_cache():
    space = get_space("nb201")
    gs = GraphSet.from_graphs([space.build_cg(a) for a in space.samples(20, seed=1)])
    f = CGFeaturizer().fit(gs.subset(np.arange(10)))
    X = f.transform(gs)
    assert X.shape == (20, len(f.feature_names_)) and X.dtype == np.float32
    assert f.feature_names_[: len(BASE_FEATURES)] == list(BASE_FEATURES)
    assert "count:conv3" in f.feature_names_ and "live:conv3" in f.feature_names_
    assert any(n.startswith("pair:") for n in f.feature_names_)
    # Features of a subset equal the full set's rows, computed fresh or taken from the cache.
    fresh = GraphSet.from_graphs([space.build_cg(a) for a in space.samples(20, seed=1)]).subset([3, 7])
    np.testing.assert_allclose(f.transform(fresh), X[[3, 7]])
    assert raw_features(gs) is raw_features(gs)
    np.testing.assert_allclose(f.transform(gs.subset([3, 7])), X[[3, 7]])
    params = np.array([g.params for g in gs.to_graphs()], dtype=float)
    np.testing.assert_allclose(X[:, 0], np.log1p(params), rtol=1e-6)
    # Saved and restored columns give the same features.
    np.testing.assert_array_equal(CGFeaturizer.from_state(f.get_state()).transform(gs), X)


def test_featurizer_extras():
    space = get_space("nb201")
    gs = GraphSet.from_graphs([space.build_cg(a) for a in space.samples(5, seed=2)]).with_extras({"zc_x": [1, 2, np.nan, 4, 5]})
    f = CGFeaturizer(extras=("zc_x",)).fit(gs)
    X = f.transform(gs)
    assert f.feature_names_[-1] == "extra:zc_x" and np.isnan(X[2, -1]) and X[4, -1] == np.float32(np.log1p(5))
    with pytest.raises(DataFormatError, match="need extras"):
        f.transform(GraphSet.from_graphs(gs.to_graphs()))


def test_extreme_proxy_scores_become_finite_features_and_the_gbdt_fits():
    # synflow reaches ~1e44 (beyond float32) and zen can be -inf (log 0): signed log, inf -> NaN.
    from archbench.predictors import get_predictor

    space = get_space("nb201")
    archs = space.samples(40, seed=4)
    scores = [1e44 * (i + 1) if i % 7 else (-np.inf if i % 2 else np.inf) for i in range(40)]
    gs = GraphSet.from_graphs([space.build_cg(a) for a in archs]).with_extras({"zc_synflow": scores})
    X = CGFeaturizer(extras=("zc_synflow",)).fit(gs).transform(gs)
    col = X[:, -1]
    assert np.isfinite(col[1]) and col[1] == np.float32(np.log1p(2e44))
    assert np.isnan(col[0]) and np.isnan(col[7])
    y = np.arange(40, dtype=float)
    model = get_predictor("gbdt", n_estimators=20, extras=("zc_synflow",)).fit(gs, y)
    assert np.isfinite(model.predict(gs)).all()


def test_token_names():
    gs = GraphSet.from_graphs([residual()])
    raw = raw_features(gs)
    names = {token_name(c) for c in raw.token_codes}
    assert {"conv3", "conv1", "relu", "add", "zero", "linear"} <= names


def test_encoding_tokens_nb201_is_the_edge_one_hot():
    toks = encoding_tokens("nb201", "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|")
    ops = [t.split("|")[2] for t in toks if not t.split("|")[2].isdigit()]
    assert ops == ["nor_conv_3x3", "none", "skip_connect", "avg_pool_3x3", "nor_conv_1x1", "none"]
    assert encoding_tokens("x", "adj=0110/0011") == ["x|0|adj", "x|1|0", "x|2|1", "x|3|1", "x|4|0",
                                                      "x|5|0", "x|6|0", "x|7|1", "x|8|1"]
    gs = GraphSet.from_graphs([residual()])
    vocab = encoding_tokens("test", "residual") + ["test|0|other"]
    np.testing.assert_array_equal(onehot_tokens(gs, vocab), [[1.0, 0.0]])


def test_raw_features_concat_aligns_columns():
    space = get_space("nb201")
    a = GraphSet.from_graphs([space.build_cg(x) for x in space.samples(4, seed=1)])
    b = GraphSet.from_graphs([get_space("tinychain").build_cg(x) for x in list(get_space("tinychain").enumerate())[:3]])
    raw_features(a), raw_features(b)
    both = GraphSet.concat([a, b])
    assert "predictors.features.raw" in both.cache
    f = CGFeaturizer().fit(both)
    fresh = GraphSet.concat([GraphSet.from_graphs(a.to_graphs()), GraphSet.from_graphs(b.to_graphs())])
    np.testing.assert_array_equal(f.transform(both), f.transform(fresh))


def test_large_sets_are_featurized_run_by_run_with_the_same_result(monkeypatch):
    from archbench.predictors import features

    graphs = [get_space(s).build_cg(a) for s in ("nb101", "nb201", "darts") for a in get_space(s).samples(3, seed=4)]
    whole = CGFeaturizer().fit(GraphSet.from_graphs(graphs))
    want = whole.transform(GraphSet.from_graphs(graphs))
    monkeypatch.setattr(features, "CHUNK_NODES", 400)  # runs of one or two graphs, mixed spaces
    gs = GraphSet.from_graphs(graphs)
    assert features._chunked(gs)
    got = whole.transform(gs)
    assert features._STRUCTURE_KEY not in gs.cache  # the runs' structures were not kept
    np.testing.assert_array_equal(got, want)
    refit = CGFeaturizer().fit(GraphSet.from_graphs(graphs))
    assert refit.feature_names_ == whole.feature_names_
    prepared = GraphSet.from_graphs(graphs)
    features.prepare_features(prepared, 3)  # what the GBDT's prepare runs: one pass over the runs
    assert {features._RAW_KEY, f"{features._FLOW_KEY}3"} <= set(prepared.cache)
    assert features._STRUCTURE_KEY not in prepared.cache


def test_a_set_of_many_graphs_featurizes_like_each_graph_alone():
    # 600 NB201 networks: over 65k flow edges and thousands of count triples, past the compiled
    # kernels' first output buffers, so their growth is exercised.
    space = get_space("nb201")
    graphs = [space.build_cg(space.index_to_arch(i)) for i in range(0, 15625, 26)]
    gs = GraphSet.from_graphs(graphs)
    f = CGFeaturizer().fit(gs)
    whole = f.transform(gs)
    alone = np.concatenate([f.transform(GraphSet.from_graphs([g])) for g in graphs[::50]])
    np.testing.assert_array_equal(whole[::50], alone)
    from archbench.predictors.features import flow_edges
    assert len(flow_edges(gs)[0]) > 1 << 16
