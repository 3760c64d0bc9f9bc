"""Features derived from computation graphs, computed for many graphs at once.

:func:`graph_structure` runs dynamic programs over every graph of a :class:`GraphSet` together
(one numpy step per node position, all graphs in parallel): which nodes are *live* (on an
input -> output path that no ``zero`` op cuts), how many live paths pass through each node,
and the longest / shortest / mean number of weight layers on those paths ("effective depth":
a network with skip connections behaves like an ensemble of its paths).

:class:`CGFeaturizer` turns that into one tabular row per graph for tree models:

* op-token counts (a token is an op with its kernel and whether it strides, e.g. ``conv3``,
  ``avg_pool3``, ``conv1/s2``), of all nodes and of live nodes;
* op-pair counts over live edges (``conv3>batch_norm``);
* depth and width: node and edge counts, longest path, nodes per depth level, live paths and
  the effective depth statistics above;
* params and FLOPs, and per-stage (output resolution relative to the input) shape statistics;
* optional per-graph extras (zero-cost proxy scores, low-fidelity accuracies).

Which tokens and pairs become columns is learned in ``fit`` (those seen in training), so the
columns of a fitted featurizer are fixed and saved with the model.

:func:`onehot_tokens` is the native-encoding one-hot used by the ridge baseline.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from archbench.datasets.views import GraphSet
from archbench.errors import DataFormatError
from archbench.graphs.ops import NUM_OPS, OP_NAMES, OPS

# Token code = op index * 32 + min(kernel, 15) * 2 + (stride > 1); pair code = src * 2**20 + dst.
# Constants (not NUM_OPS) so codes stay valid when the append-only vocabulary grows.
_KERNEL_SLOTS = 32
_PAIR_BASE = 1 << 20
#: Number of resolution stages with their own statistics (stage s: output is input / 2**s).
NUM_STAGES = 6
#: Per-stage statistics, in column order (the head stage holds vectors: C x 1 x 1 outputs).
STAGE_STATS = ("weight_layers", "log_params", "log_flops", "log2_max_channels")
_INPUT, _OUTPUT, _ZERO = OPS["input"].index, OPS["output"].index, OPS["zero"].index
_NORM = np.array([OPS[name].category == "norm" for name in OP_NAMES], dtype=bool)


def token_codes(graphs: GraphSet) -> np.ndarray:
    """Token code of every node, int64 ``(N,)`` (see :func:`token_name`)."""
    op = graphs.nodes["op"].astype(np.int64)
    kernel = np.clip(graphs.nodes["kernel"].astype(np.int64), 0, 15)
    stride = (graphs.nodes["stride"].astype(np.int64) > 1).astype(np.int64)
    return op * _KERNEL_SLOTS + kernel * 2 + stride


def token_name(code: int) -> str:
    """Readable token: ``conv3``, ``conv1/s2``, ``relu``."""
    op, rest = divmod(int(code), _KERNEL_SLOTS)
    kernel, strided = divmod(rest, 2)
    name = OP_NAMES[op] if op < NUM_OPS else f"op{op}"
    return f"{name}{kernel if kernel else ''}{'/s2' if strided else ''}"


def pair_name(code: int) -> str:
    s, d = divmod(int(code), _PAIR_BASE)
    return f"{token_name(s)}>{token_name(d)}"


@dataclass
class Structure:
    """Per-node results of :func:`graph_structure` (arrays of length N unless stated).

    Attributes:
        live: on an input -> output path not cut by a ``zero`` op.
        level: longest path (in edges) from an input node: the node's depth level.
        paths_in / paths_out: live paths from an input to the node / from the node to the output.
        wmax_in / wmin_in: most / fewest weight layers on a live path from an input to the node
            (the node included); -1 where no live path arrives.
        wmax_out: most weight layers on a live path from the node (excluded) to the output.
        wsum_in, wsq_in: sums over live input paths of the weight-layer count and its square.
        weighted: the node is a weight layer (has parameters and is not a normalization).
        output: global index of each graph's output node, ``(G,)``.
    """

    live: np.ndarray
    level: np.ndarray
    paths_in: np.ndarray
    paths_out: np.ndarray
    wmax_in: np.ndarray
    wmin_in: np.ndarray
    wmax_out: np.ndarray
    wsum_in: np.ndarray
    wsq_in: np.ndarray
    weighted: np.ndarray
    output: np.ndarray


class _Schedule:
    """Edges grouped for a sweep: step ``t`` handles the edges whose ``key`` (a local node index) is ``t``.

    Within a step the edges are sorted by the node they reduce into; ``seg`` holds the start of
    each node's run (relative to the step) and ``node`` that node, so one ``ufunc.reduceat`` per
    step and quantity does all graphs at once.
    """

    def __init__(self, key: np.ndarray, into: np.ndarray, other: np.ndarray) -> None:
        # A stable sort by key alone also groups by ``into``: edges are stored graph by graph, and a
        # graph's edges with the same key all reduce into the same node. Radix sort for 16-bit keys.
        if key.size and key.max() < (1 << 16):
            order = np.argsort(key.astype(np.uint16), kind="stable")
        else:
            order = np.lexsort((into, key))
        key, self.into, self.other = key[order], into[order], other[order]
        self.bounds = np.searchsorted(key, np.arange(int(key.max(initial=-1)) + 2))
        new_run = np.r_[True, (self.into[1:] != self.into[:-1]) | (key[1:] != key[:-1])] if key.size else np.zeros(0, bool)
        self.run_starts = np.flatnonzero(new_run)
        self.run_bounds = np.searchsorted(self.run_starts, self.bounds)

    def step(self, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        a, b = self.bounds[t], self.bounds[t + 1]
        if a == b:
            return None
        runs = self.run_starts[self.run_bounds[t]:self.run_bounds[t + 1]]
        return self.other[a:b], runs - a, self.into[runs]


def graph_structure(graphs: GraphSet) -> Structure:
    """Liveness, path counts and effective depth of every node of every graph (see :class:`Structure`).

    Requires each graph's nodes in topological order (every edge goes from a lower to a higher
    local index), which graphs built by :class:`~archbench.graphs.cg.GraphBuilder` and the
    tables always are; other graphs raise with the offending graph named.
    """
    n_graphs = len(graphs)
    op = graphs.nodes["op"].astype(np.int64)
    n = op.shape[0]
    bad = graphs.src >= graphs.dst
    if bad.any():
        e = int(np.flatnonzero(bad)[0])
        g = int(np.searchsorted(graphs.edge_ptr, e, side="right") - 1)
        raise DataFormatError(f"graph {g} ({graphs.space[g]}:{graphs.encoding[g]!r}) has edge {graphs.src[e]} -> {graphs.dst[e]} "
                              "going backwards; renumber its nodes in topological order first")
    gsrc, gdst = graphs.global_edges()
    notzero = op != _ZERO
    is_input = op == _INPUT
    weighted = (graphs.nodes["params"] > 0) & ~_NORM[op]
    w = weighted.astype(np.float64)

    # Forward sweep. A node is reached by a live path iff its path count is positive, and a dead
    # node's depth bounds are -inf/+inf so they drop out of max/min by themselves. One state row
    # per node (one gather and one scatter per step): paths, sum and sum of squares of the
    # weight-layer count over those paths, level, deepest, shallowest.
    state = np.zeros((n, 6))
    state[:, 0] = is_input
    state[:, 4] = np.where(is_input, 0.0, -np.inf)
    state[:, 5] = np.where(is_input, 0.0, np.inf)
    sched = _Schedule(graphs.dst.astype(np.int64), gdst, gsrc)
    for t in range(1, len(sched.bounds) - 1):
        step = sched.step(t)
        if step is None:
            continue
        s, runs, nodes = step
        rows = state[s]
        a = np.add.reduceat(rows[:, :3], runs, axis=0)
        m = np.maximum.reduceat(rows[:, 3:5], runs, axis=0)
        lo_n = np.minimum.reduceat(rows[:, 5], runs)
        wn = w[nodes]
        cnt, s1 = a[:, 0], a[:, 1]
        keep = notzero[nodes] & (cnt > 0)
        new = np.empty((len(nodes), 6))
        new[:, 0] = cnt
        new[:, 1] = s1 + wn * cnt
        new[:, 2] = a[:, 2] + 2 * wn * s1 + wn * cnt
        new[:, :3] *= keep[:, None]
        new[:, 3] = m[:, 0] + 1
        new[:, 4] = np.where(keep, m[:, 1] + wn, -np.inf)
        new[:, 5] = np.where(keep, lo_n + wn, np.inf)
        state[nodes] = new

    # Backward sweep: [paths to the output]; deepest weight-layer count after the node.
    is_output = op == _OUTPUT
    pout = is_output.astype(np.float64)
    wout = np.where(is_output, 0.0, -np.inf)
    down = wout  # deepest count after the node, including the node itself for its predecessors
    down = np.where(is_output, w, -np.inf)
    sched = _Schedule(graphs.src.astype(np.int64), gsrc, gdst)
    for t in range(len(sched.bounds) - 2, -1, -1):
        step = sched.step(t)
        if step is None:
            continue
        d, runs, nodes = step
        cnt = np.add.reduceat(pout[d], runs)
        deep = np.maximum.reduceat(down[d], runs)
        keep = notzero[nodes] & (cnt > 0) & ~is_output[nodes]
        pout[nodes] = np.where(keep, cnt, pout[nodes])
        wout[nodes] = np.where(keep, deep, wout[nodes])
        down[nodes] = np.where(keep, deep + w[nodes], down[nodes])

    outputs = np.flatnonzero(is_output)
    out_graph = np.searchsorted(graphs.node_ptr, outputs, side="right") - 1
    if not np.array_equal(out_graph, np.arange(n_graphs)):
        counts = np.bincount(out_graph, minlength=n_graphs)
        g = int(np.flatnonzero(counts != 1)[0])
        raise DataFormatError(f"graph {g} ({graphs.space[g]}:{graphs.encoding[g]!r}) has {counts[g]} output nodes, expected 1")
    pin = state[:, 0]
    wmax, wmin = state[:, 4], state[:, 5]
    return Structure(live=(pin > 0) & (pout > 0), level=state[:, 3].astype(np.int64), paths_in=pin, paths_out=pout,
                     wmax_in=np.where(np.isfinite(wmax), wmax, -1.0), wmin_in=np.where(np.isfinite(wmin), wmin, -1.0),
                     wmax_out=np.where(np.isfinite(wout), wout, -1.0), wsum_in=state[:, 1], wsq_in=state[:, 2],
                     weighted=weighted, output=outputs)


#: Per-node structural features the GNN adds to the node features of :mod:`archbench.graphs.pyg`.
NODE_STRUCTURE_FEATURES = ("live", "path_share", "level_rel", "depth_in_rel", "depth_out_rel")


def node_structure_features(graphs: GraphSet, structure: Structure | None = None) -> np.ndarray:
    """float32 ``(N, 5)``: :data:`NODE_STRUCTURE_FEATURES`, each in [0, 1].

    ``path_share`` is the fraction of the graph's live paths through the node; ``level_rel`` the
    depth level over the output's; ``depth_in_rel`` / ``depth_out_rel`` the weight layers before /
    after the node on its deepest live path over the graph's deepest.
    """
    st = structure or graph_structure(graphs)
    per_graph_out = np.repeat(st.output, graphs.num_nodes)
    total = st.paths_in[per_graph_out]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, st.paths_in * st.paths_out / total, 0.0)
        depth = np.maximum(st.wmax_in[per_graph_out], 1.0)
        level = np.maximum(st.level[per_graph_out], 1).astype(np.float64)
    out = np.stack([st.live.astype(np.float64), np.clip(share, 0.0, 1.0), st.level / level,
                    np.clip(st.wmax_in, 0.0, None) / depth, np.clip(st.wmax_out, 0.0, None) / depth], axis=1)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def _max_width(node_graph: np.ndarray, level: np.ndarray, n_graphs: int) -> np.ndarray:
    """Most nodes sharing one depth level, per graph, float64 ``(G,)``."""
    out = np.zeros(n_graphs)
    if level.size == 0:
        return out
    levels = int(level.max()) + 1
    key = node_graph * levels + level
    if n_graphs * levels <= 20_000_000:
        counts = np.bincount(key, minlength=n_graphs * levels).reshape(n_graphs, levels)
        return counts.max(axis=1).astype(np.float64)
    uniq, counts = np.unique(key, return_counts=True)
    np.maximum.at(out, uniq // levels, counts)
    return out


def _code_counts(graph_of: np.ndarray, codes: np.ndarray, n_graphs: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct codes (sorted) and a float32 ``(G, len(codes))`` matrix of their counts per graph."""
    if codes.size and codes.max() < (1 << 22):
        # Small code space: bincount instead of sorting millions of codes.
        present = np.flatnonzero(np.bincount(codes))
        lookup = np.zeros(int(present[-1]) + 1, dtype=np.int64)
        lookup[present] = np.arange(len(present))
        uniq, inverse = present.astype(np.int64), lookup[codes]
    else:
        uniq, inverse = np.unique(codes, return_inverse=True)
    k = len(uniq)
    flat = np.bincount(graph_of * k + inverse.reshape(-1), minlength=n_graphs * k)
    return uniq, flat.reshape(n_graphs, k).astype(np.float32)


#: Fixed graph-level columns, in order (see :class:`CGFeaturizer`).
BASE_FEATURES: tuple[str, ...] = (
    "log_params", "log_flops", "num_nodes", "num_edges", "live_nodes", "live_fraction", "longest_path", "max_width",
    "mean_width", "log10_live_paths", "depth_max", "depth_min", "depth_mean", "depth_std", "weight_layers",
    "live_weight_layers", "input_height", "log2_num_classes",
) + tuple(f"{stage}:{stat}" for stage in [f"stage{s}" for s in range(NUM_STAGES)] + ["head"] for stat in STAGE_STATS)


@dataclass
class RawFeatures:
    """Every graph-level feature of a GraphSet before column selection (cached on the GraphSet).

    ``base`` is float32 ``(G, len(BASE_FEATURES))``; ``tokens``/``live_tokens`` count each code of
    ``token_codes`` per graph (all nodes / live nodes); ``pairs`` counts each ``pair_codes`` code.
    """

    base: np.ndarray
    token_codes: np.ndarray
    tokens: np.ndarray
    live_tokens: np.ndarray
    pair_codes: np.ndarray
    pairs: np.ndarray

    def take(self, graph_index: np.ndarray, node_index: np.ndarray | None = None) -> "RawFeatures":
        return RawFeatures(self.base[graph_index], self.token_codes, self.tokens[graph_index],
                           self.live_tokens[graph_index], self.pair_codes, self.pairs[graph_index])

    @classmethod
    def concat(cls, parts: Sequence["RawFeatures"]) -> "RawFeatures":
        """Rows of several sets in order; count columns aligned on the union of their codes."""
        tokens = np.unique(np.concatenate([p.token_codes for p in parts]))
        pairs = np.unique(np.concatenate([p.pair_codes for p in parts]))
        return cls(np.concatenate([p.base for p in parts]), tokens,
                   np.concatenate([p.select(tokens, "tokens") for p in parts]),
                   np.concatenate([p.select(tokens, "live") for p in parts]), pairs,
                   np.concatenate([p.select(pairs, "pairs") for p in parts]))

    def select(self, codes: np.ndarray, which: str) -> np.ndarray:
        """Count columns for ``codes`` (zeros for codes these graphs never have)."""
        have, matrix = (self.pair_codes, self.pairs) if which == "pairs" else (
            self.token_codes, self.live_tokens if which == "live" else self.tokens)
        out = np.zeros((matrix.shape[0], len(codes)), dtype=np.float32)
        if len(have) == 0 or len(codes) == 0:
            return out
        pos = np.minimum(np.searchsorted(have, codes), len(have) - 1)
        hit = have[pos] == codes
        out[:, hit] = matrix[:, pos[hit]]
        return out


_RAW_KEY = "predictors.features.raw"


def raw_features(graphs: GraphSet) -> RawFeatures:
    """All graph-level features of ``graphs`` (computed once per GraphSet, then taken from its cache)."""
    cached = graphs.cache.get(_RAW_KEY)
    if cached is not None:
        return cached
    g = len(graphs)
    st = graph_structure(graphs)
    node_graph = graphs.node_graph
    out_idx = st.output
    nn_ = graphs.num_nodes.astype(np.float64)
    live_nodes = np.bincount(node_graph, weights=st.live, minlength=g)
    longest = st.level[out_idx].astype(np.float64)
    paths = st.paths_in[out_idx]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mean = np.where(paths > 0, st.wsum_in[out_idx] / paths, 0.0)
        var = np.where(paths > 0, st.wsq_in[out_idx] / paths - mean ** 2, 0.0)
        log_paths = np.where(paths > 0, np.log10(np.maximum(paths, 1e-300)), -1.0)
    base = np.stack([
        np.log1p(graphs.params.astype(np.float64)), np.log1p(graphs.flops.astype(np.float64)), nn_,
        graphs.num_edges.astype(np.float64), live_nodes, live_nodes / np.maximum(nn_, 1), longest,
        _max_width(node_graph, st.level, g), nn_ / (longest + 1), log_paths, st.wmax_in[out_idx], st.wmin_in[out_idx],
        mean, np.sqrt(np.maximum(var, 0.0)),
        np.bincount(node_graph, weights=st.weighted, minlength=g),
        np.bincount(node_graph, weights=st.weighted & st.live, minlength=g),
        graphs.input_shape[:, 1].astype(np.float64), np.log2(np.maximum(graphs.num_classes, 1)).astype(np.float64),
    ], axis=1).astype(np.float32)
    tok = token_codes(graphs)
    codes, tokens = _code_counts(node_graph, tok, g)
    k = len(codes)
    live_tokens = np.bincount(node_graph[st.live] * k + np.searchsorted(codes, tok[st.live]),
                              minlength=g * k).reshape(g, k).astype(np.float32)
    gsrc, gdst = graphs.global_edges()
    live_edge = st.live[gsrc] & st.live[gdst]
    # Pairs over compact token indices first (a small code space), then back to stable pair codes.
    ti = np.searchsorted(codes, tok)
    compact, pairs = _code_counts(graphs.edge_graph[live_edge], ti[gsrc[live_edge]] * k + ti[gdst[live_edge]], g)
    pair_codes = codes[compact // max(k, 1)] * _PAIR_BASE + codes[compact % max(k, 1)]
    order = np.argsort(pair_codes)
    pair_codes, pairs = pair_codes[order], pairs[:, order]
    raw = RawFeatures(np.concatenate([base, _stages(graphs)], axis=1), codes, tokens, live_tokens, pair_codes, pairs)
    graphs.cache[_RAW_KEY] = raw
    return raw


def _stages(graphs: GraphSet) -> np.ndarray:
    """float32 ``(G, (NUM_STAGES + 1) * len(STAGE_STATS))``: per-resolution-stage statistics."""
    g = len(graphs)
    node_graph = graphs.node_graph
    in_h = np.repeat(graphs.input_shape[:, 1], graphs.num_nodes).astype(np.float64)
    h = np.maximum(graphs.nodes["h_out"].astype(np.float64), 1.0)
    vector = (graphs.nodes["h_out"] <= 1) & (graphs.nodes["w_out"] <= 1) & (in_h > 1)
    stage = np.clip(np.rint(np.log2(np.maximum(in_h / h, 1.0))), 0, NUM_STAGES - 1).astype(np.int64)
    stage = np.where(vector, NUM_STAGES, stage)
    k = NUM_STAGES + 1
    key = node_graph * k + stage
    op = graphs.nodes["op"].astype(np.int64)
    weighted = ((graphs.nodes["params"] > 0) & ~_NORM[op]).astype(np.float64)
    layers = np.bincount(key, weights=weighted, minlength=g * k).reshape(g, k)
    params = np.log1p(np.bincount(key, weights=graphs.nodes["params"].astype(np.float64), minlength=g * k)).reshape(g, k)
    flops = np.log1p(np.bincount(key, weights=graphs.nodes["flops"].astype(np.float64), minlength=g * k)).reshape(g, k)
    chans = np.zeros(g * k)
    np.maximum.at(chans, key, np.log2(1.0 + graphs.nodes["c_out"].astype(np.float64)))
    stats = np.stack([layers, params, flops, chans.reshape(g, k)], axis=2)  # (G, stage, stat)
    return stats.reshape(g, -1).astype(np.float32)


class CGFeaturizer:
    """Tabular features of computation graphs (see the module docstring).

    Args:
        extras: names of per-graph extras to append as columns, as ``sign(x) * log1p(|x|)``
            (proxy scores span many orders of magnitude: synflow reaches 1e44, beyond float32);
            NaN stays NaN and +-inf (e.g. zen's log 0) becomes NaN: trees treat both as missing.
        max_pairs: keep at most this many op-pair columns (the most frequent in training).
    """

    def __init__(self, *, extras: Sequence[str] = (), max_pairs: int = 256) -> None:
        self.extras = tuple(extras)
        self.max_pairs = max_pairs

    def fit(self, graphs: GraphSet) -> "CGFeaturizer":
        """Learn the token and pair columns: those present in ``graphs``."""
        raw = raw_features(graphs)
        self.tokens_ = raw.token_codes[raw.tokens.sum(axis=0) > 0]
        freq = (raw.pairs > 0).sum(axis=0)
        order = np.argsort(-freq, kind="stable")[: self.max_pairs]
        self.pairs_ = np.sort(raw.pair_codes[order[freq[order] > 0]])
        self.feature_names_ = self._names()
        return self

    def get_state(self) -> dict:
        return {"tokens": self.tokens_.tolist(), "pairs": self.pairs_.tolist(), "extras": list(self.extras),
                "max_pairs": self.max_pairs}

    @classmethod
    def from_state(cls, state: dict) -> "CGFeaturizer":
        f = cls(extras=state["extras"], max_pairs=state["max_pairs"])
        f.tokens_ = np.asarray(state["tokens"], dtype=np.int64)
        f.pairs_ = np.asarray(state["pairs"], dtype=np.int64)
        f.feature_names_ = f._names()
        return f

    def _names(self) -> list[str]:
        return (list(BASE_FEATURES) + [f"count:{token_name(c)}" for c in self.tokens_]
                + [f"live:{token_name(c)}" for c in self.tokens_] + [f"pair:{pair_name(c)}" for c in self.pairs_]
                + [f"extra:{e}" for e in self.extras])

    def transform(self, graphs: GraphSet) -> np.ndarray:
        """float32 ``(G, F)`` with columns :attr:`feature_names_`."""
        if not hasattr(self, "feature_names_"):
            from .base import NotFittedError

            raise NotFittedError("this CGFeaturizer is not fitted yet: call fit(graphs) first")
        missing = [e for e in self.extras if e not in graphs.extras]
        if missing:
            raise DataFormatError(f"features need extras {missing}; the graphs carry {sorted(graphs.extras) or 'none'}")
        raw = raw_features(graphs)
        cols = [raw.base, raw.select(self.tokens_, "tokens"), raw.select(self.tokens_, "live"),
                raw.select(self.pairs_, "pairs")]
        if self.extras:
            cols.append(_signed_log(np.stack([graphs.extras[e] for e in self.extras], axis=1)))
        return np.concatenate(cols, axis=1)

    def fit_transform(self, graphs: GraphSet) -> np.ndarray:
        return self.fit(graphs).transform(graphs)


_TOKEN_SPLIT = re.compile(r"[^A-Za-z0-9_.\-]+")


def encoding_tokens(space: str, encoding: str) -> list[str]:
    """Positional tokens of a native encoding: ``"space|position|token"``.

    The string is split at punctuation other than ``_ . -``; all-digit tokens (adjacency rows,
    indices) are split into single characters so each bit is its own position.
    """
    out: list[str] = []
    for part in _TOKEN_SPLIT.split(encoding):
        if not part:
            continue
        out.extend(part if part.isdigit() else [part])
    return [f"{space}|{i}|{tok}" for i, tok in enumerate(out)]


def onehot_tokens(graphs: GraphSet, vocabulary: Sequence[str]) -> np.ndarray:
    """float32 ``(G, len(vocabulary))`` one-hot of each graph's encoding tokens in ``vocabulary``."""
    index = {tok: i for i, tok in enumerate(vocabulary)}
    rows, cols = [], []
    for g, (space, enc) in enumerate(zip(graphs.space, graphs.encoding)):
        for tok in encoding_tokens(str(space), str(enc)):
            j = index.get(tok)
            if j is not None:
                rows.append(g)
                cols.append(j)
    out = np.zeros((len(graphs), len(index)), dtype=np.float32)
    out[rows, cols] = 1.0
    return out


__all__ = ["BASE_FEATURES", "CGFeaturizer", "NODE_STRUCTURE_FEATURES", "RawFeatures", "raw_features", "NUM_STAGES", "STAGE_STATS", "Structure", "encoding_tokens",
           "graph_structure", "node_structure_features", "onehot_tokens", "pair_name", "token_codes", "token_name"]


def _signed_log(values: np.ndarray) -> np.ndarray:
    """``sign(x) * log1p(|x|)`` in float64, then float32; non-finite values become NaN."""
    x = np.asarray(values, dtype=np.float64)
    out = np.sign(x) * np.log1p(np.abs(x))
    out[~np.isfinite(x)] = np.nan
    return out.astype(np.float32)

