"""archbench.predictors.features against a plain per-graph Python computation of the same features.

The library computes every feature for all graphs of a GraphSet at once (step-major sweeps,
bincounts); the reference here walks one ComputationGraph at a time with lists and loops, the
way the features are defined. Both must agree on graphs of several spaces, on sets whose graphs
all have the same size and on sets of mixed sizes, in any order.
"""
from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest

from archbench.datasets.views import GraphSet
from archbench.graphs.cg import ComputationGraph
from archbench.graphs.ops import OPS
from archbench.graphs.spaces import get_space
from archbench.predictors.features import (
    BASE_FEATURES, NUM_STAGES, graph_structure, node_structure_features, raw_features,
)

SPACES = ("nb201", "nb101", "darts", "fbnet", "transnas101_micro", "nasbench_nlp")


def reference(g: ComputationGraph) -> dict:
    """Per-node structure and graph features of one graph, by definition (lists and loops)."""
    n, ops, nodes = g.num_nodes, g.ops, g.nodes
    preds, succs = g.inputs_of(), g.outputs_of()
    w = [1 if nodes["params"][v] > 0 and OPS[ops[v]].category != "norm" else 0 for v in range(n)]
    pin, s1, s2, level = [0.0] * n, [0.0] * n, [0.0] * n, [0] * n
    wmax, wmin = [-math.inf] * n, [math.inf] * n
    for v in g.topological_order():
        level[v] = max((level[u] + 1 for u in preds[v]), default=0)
        if ops[v] == "input":
            pin[v], wmax[v], wmin[v] = 1.0, 0.0, 0.0
        elif ops[v] != "zero" and sum(pin[u] for u in preds[v]) > 0:
            live = [u for u in preds[v] if pin[u] > 0]
            pin[v] = sum(pin[u] for u in preds[v])
            a1, a2 = sum(s1[u] for u in preds[v]), sum(s2[u] for u in preds[v])
            s1[v] = a1 + w[v] * pin[v]  # every path gains w[v] weight layers
            s2[v] = a2 + 2 * w[v] * a1 + w[v] * pin[v]  # (d + w)^2 summed over paths, w in {0, 1}
            wmax[v] = max(wmax[u] for u in live) + w[v]
            wmin[v] = min(wmin[u] for u in live) + w[v]
    out = g.output_node()
    pout, wout = [0.0] * n, [-math.inf] * n
    pout[out], wout[out] = 1.0, 0.0
    for v in reversed(g.topological_order()):
        if v != out and ops[v] != "zero" and sum(pout[s] for s in succs[v]) > 0:
            pout[v] = sum(pout[s] for s in succs[v])
            wout[v] = max(wout[s] + w[s] for s in succs[v] if pout[s] > 0)
    live = [pin[v] > 0 and pout[v] > 0 for v in range(n)]

    paths = pin[out]
    mean = s1[out] / paths if paths > 0 else 0.0
    var = s2[out] / paths - mean ** 2 if paths > 0 else 0.0
    fin = lambda x: x if math.isfinite(x) else -1.0  # noqa: E731
    widths = Counter(level)
    base = [math.log1p(g.params), math.log1p(g.flops), n, g.num_edges, sum(live), sum(live) / n, level[out],
            max(widths.values()), n / (level[out] + 1), math.log10(paths) if paths > 0 else -1.0, fin(wmax[out]),
            fin(wmin[out]), mean, math.sqrt(max(var, 0.0)), sum(w), sum(wi for wi, lv in zip(w, live) if lv),
            g.input_shape[1], math.log2(max(g.num_classes, 1))]
    stats = np.zeros((NUM_STAGES + 1, 4))
    sums = np.zeros((NUM_STAGES + 1, 2))
    in_h = g.input_shape[1]
    for v in range(n):
        h = max(nodes["h_out"][v], 1)
        if nodes["h_out"][v] <= 1 and nodes["w_out"][v] <= 1 and in_h > 1:
            s = NUM_STAGES  # the head: vectors
        else:
            s = int(min(max(round(math.log2(max(in_h / h, 1.0))), 0), NUM_STAGES - 1))
        stats[s, 0] += w[v]
        sums[s] += (nodes["params"][v], nodes["flops"][v])
        stats[s, 3] = max(stats[s, 3], math.log2(1 + nodes["c_out"][v]))
    stats[:, 1:3] = np.log1p(sums)
    token = [OPS[ops[v]].index * 32 + min(max(nodes["kernel"][v], 0), 15) * 2 + (nodes["stride"][v] > 1) for v in range(n)]
    pairs = Counter(token[u] * (1 << 20) + token[v] for u, v in zip(g.src, g.dst) if live[u] and live[v])
    return {"base": np.array(base + stats.reshape(-1).tolist()), "tokens": Counter(token),
            "live_tokens": Counter(t for t, lv in zip(token, live) if lv), "pairs": pairs,
            "nodes": {"live": live, "level": level, "paths_in": pin, "paths_out": pout, "wsum_in": s1, "wsq_in": s2,
                      "wmax_in": [fin(x) for x in wmax], "wmin_in": [fin(x) for x in wmin],
                      "wmax_out": [fin(x) for x in wout]}}


def counts(codes: np.ndarray, row: np.ndarray) -> Counter:
    return Counter({int(c): int(k) for c, k in zip(codes, row) if k})


def check(graphs: list[ComputationGraph]) -> None:
    gs = GraphSet.from_graphs(graphs)
    raw = raw_features(gs)
    st = graph_structure(gs)
    per_node = node_structure_features(gs)
    assert raw.base.shape[1] == len(BASE_FEATURES)
    for i, g in enumerate(graphs):
        ref = reference(g)
        np.testing.assert_allclose(raw.base[i], ref["base"].astype(np.float32), rtol=1e-6, err_msg=f"graph {i} {g.space}")
        assert counts(raw.token_codes, raw.tokens[i]) == ref["tokens"]
        assert counts(raw.token_codes, raw.live_tokens[i]) == ref["live_tokens"]
        assert counts(raw.pair_codes, raw.pairs[i]) == ref["pairs"]
        nodes = slice(gs.node_ptr[i], gs.node_ptr[i + 1])
        for name, values in ref["nodes"].items():
            np.testing.assert_allclose(getattr(st, name)[nodes], values, rtol=1e-12, err_msg=f"{name} of graph {i}")
        assert per_node[nodes].shape == (g.num_nodes, 5)


@pytest.mark.parametrize("space", SPACES)
def test_matches_the_per_graph_reference(space):
    sp = get_space(space)
    check([sp.build_cg(a) for a in sp.samples(4, seed=11)])


def test_matches_on_mixed_sizes_in_any_order_and_on_equal_sizes():
    graphs = [get_space(s).build_cg(a) for s in ("nb201", "nb101", "darts") for a in get_space(s).samples(3, seed=2)]
    random.Random(0).shuffle(graphs)
    check(graphs)  # mixed sizes, spaces interleaved
    nb201 = get_space("nb201")
    same = nb201.build_cg(nb201.samples(1, seed=5)[0])
    check([same] * 3)  # equal graphs: each its own nodes, nothing shared between them


def test_structure_is_cached_on_the_set():
    sp = get_space("nb101")
    gs = GraphSet.from_graphs([sp.build_cg(a) for a in sp.samples(5, seed=1)])
    st = graph_structure(gs)
    assert graph_structure(gs) is st
    assert all(getattr(st, name).shape == (gs.node_ptr[-1],) for name in st.FIELDS)
