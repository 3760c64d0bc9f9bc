"""Tests for the data-flow n-grams of archbench.predictors.features (flow_edges, flow_ngrams, CGFeaturizer columns)."""
from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from archbench.datasets.views import GraphSet
from archbench.graphs.cg import ComputationGraph, GraphBuilder
from archbench.graphs.ops import OPS
from archbench.graphs.spaces import get_space
from archbench.predictors.features import _FLOW_OP  # noqa: PLC2701  (which ops are letters)
from archbench.predictors.features import (
    FLOW_CATEGORIES, CGFeaturizer, flow_edges, flow_name, flow_ngrams, graph_structure, token_codes, token_name,
)


def residual() -> ComputationGraph:
    """input -> conv3 -> relu -> add(relu, input, dead) -> gap -> linear -> output; the dead branch is a conv1 into a zero."""
    b = GraphBuilder("test", "residual", (3, 8, 8), 4)
    x = b.input()
    r = b.relu(b.conv(x, 3, kernel=3))
    dead = b.zero(b.conv(x, 3, kernel=1))
    return b.output(b.linear(b.global_avg_pool(b.add(r, x, dead)), 4)).validate()


def diamond() -> ComputationGraph:
    """conv1 -> (relu, bn -> relu) -> add -> conv3: two paths through non-flow ops join the same two convs."""
    b = GraphBuilder("test", "diamond", (3, 8, 8), 4)
    a = b.conv(b.input(), 4, kernel=1)
    s = b.add(b.relu(a), b.relu(b.batch_norm(a)))
    return b.output(b.linear(b.global_avg_pool(b.max_pool(b.conv(s, 4, kernel=3), 3)), 4)).validate()


def grams(graphs: GraphSet, max_length: int = 3) -> list[dict[str, float]]:
    """Per graph: {n-gram name: count} from flow_ngrams."""
    f = flow_ngrams(graphs, max_length)
    return [{flow_name(c): float(v) for c, v in zip(f.codes, row) if v} for row in f.counts]


def test_flow_ngrams_by_hand():
    # The dead 1x1 conv is no letter; relu and add are read through; the skip joins input and gap.
    assert grams(GraphSet.from_graphs([residual()]))[0] == {
        "input>conv3": 1, "input>global_avg_pool": 1, "conv3>global_avg_pool": 1, "global_avg_pool>linear": 1,
        "linear>output": 1, "input>conv3>global_avg_pool": 1, "input>global_avg_pool>linear": 1,
        "conv3>global_avg_pool>linear": 1, "global_avg_pool>linear>output": 1}


def test_two_paths_through_non_flow_ops_make_one_edge():
    gs = GraphSet.from_graphs([diamond()])
    got = grams(gs, 4)[0]
    assert got["conv1>conv3"] == 1 and got["conv1>conv3>max_pool3"] == 1
    assert got["input>conv1>conv3>max_pool3"] == 1
    u, v = flow_edges(gs)
    assert len(set(zip(u.tolist(), v.tolist()))) == len(u) == 6  # input conv1 conv3 max_pool gap linear output


def _reference(g: ComputationGraph, live: np.ndarray, max_length: int) -> Counter:
    """Per-graph Python reference: contracted edges by search through non-flow ops, then walks."""
    flow = [OPS[op].category in FLOW_CATEGORIES and live[i] for i, op in enumerate(g.ops)]
    outs = g.outputs_of()
    succ = {}
    for u in range(g.num_nodes):
        if not flow[u]:
            continue
        seen, stack, found = set(), [w for w in outs[u] if live[w]], set()
        while stack:
            w = stack.pop()
            if w in seen:
                continue
            seen.add(w)
            if flow[w]:
                found.add(w)
            else:
                stack.extend(x for x in outs[w] if live[x])
        succ[u] = sorted(found)
    tok = [token_name(t) for t in token_codes(GraphSet.from_graphs([g]))]
    counts: Counter = Counter()
    walks = [[u, v] for u in succ for v in succ[u]]
    while walks and len(walks[0]) <= max_length:
        counts.update(">".join(tok[x] for x in w) for w in walks)
        walks = [w + [x] for w in walks for x in succ.get(w[-1], [])]
    return counts


def test_flow_ngrams_agree_with_a_per_graph_python_reference():
    space = get_space("nb201")
    archs = space.samples(6, seed=5) + [("none",) * 6, ("skip_connect",) * 6]
    # DARTS networks have over 128 flow ops (3 words of bits); NB101 cells mix node counts.
    others = [get_space(s).build_cg(a) for s in ("darts", "nb101") for a in get_space(s).samples(2, seed=3)]
    graphs = [space.build_cg(a) for a in archs] + [residual(), diamond()] + others
    gs = GraphSet.from_graphs(graphs)
    assert max(np.diff(np.searchsorted(np.flatnonzero(_FLOW_OP[gs.nodes["op"]]), gs.node_ptr))) > 128
    live = graph_structure(gs).live
    got = grams(gs, 4)
    for i, g in enumerate(graphs):
        want = _reference(g, live[gs.node_ptr[i]:gs.node_ptr[i + 1]], 4)
        assert got[i] == dict(want), f"graph {i} ({g.encoding})"
    assert got[len(archs) - 2] == {}  # all-'none' cells: nothing is live


def test_flow_ngrams_cache_subsets_and_length_check():
    space = get_space("nb201")
    gs = GraphSet.from_graphs([space.build_cg(a) for a in space.samples(8, seed=2)])
    f = flow_ngrams(gs, 3)
    assert flow_ngrams(gs, 3) is f
    sub = gs.subset([1, 5])
    fresh = flow_ngrams(GraphSet.from_graphs(sub.to_graphs()), 3)
    np.testing.assert_array_equal(flow_ngrams(sub, 3).select(fresh.codes), fresh.counts)
    assert {flow_name(c).count(">") for c in f.codes} == {1, 2}
    with pytest.raises(ValueError, match="2 to 4"):
        flow_ngrams(gs, 5)


def test_too_many_possible_ngrams_is_a_clear_error(monkeypatch):
    from archbench.errors import DataFormatError
    from archbench.predictors import features

    space = get_space("nb201")
    gs = GraphSet.from_graphs([space.build_cg(a) for a in space.samples(4, seed=2)])
    monkeypatch.setattr(features, "_MAX_WALK_CODES", 10)
    with pytest.raises(DataFormatError, match="distinct flow-op tokens make .* possible n-grams of up to 3 ops"):
        flow_ngrams(gs, 3)


def test_featurizer_flow_columns_round_trip_and_switch_off():
    space = get_space("nb201")
    gs = GraphSet.from_graphs([space.build_cg(a) for a in space.samples(20, seed=1)])
    f = CGFeaturizer(max_flow=30).fit(gs.subset(np.arange(10)))
    names = [n for n in f.feature_names_ if n.startswith("flow:")]
    assert 0 < len(names) <= 30 and "flow:conv3>conv3" in names
    X = f.transform(gs)
    j = f.feature_names_.index("flow:conv3>conv3")
    np.testing.assert_array_equal(X[:, j], [row.get("conv3>conv3", 0.0) for row in grams(gs)])
    np.testing.assert_array_equal(CGFeaturizer.from_state(f.get_state()).transform(gs), X)
    off = CGFeaturizer(flow_length=0).fit(gs)
    assert not any(n.startswith("flow:") for n in off.feature_names_)
    # A featurizer saved before flow n-grams existed restores without them.
    old = {k: v for k, v in off.get_state().items() if k not in ("flow", "flow_length", "max_flow")}
    np.testing.assert_array_equal(CGFeaturizer.from_state(old).transform(gs), off.transform(gs))
