"""Features derived from computation graphs, computed for many graphs at once.

:func:`graph_structure` runs dynamic programs over every graph of a :class:`GraphSet` together
(one numpy step per node position, all graphs in parallel, over nodes laid out position by
position so each step touches contiguous memory): which nodes are *live* (on an
input -> output path that no ``zero`` op cuts), how many live paths pass through each node,
and the longest / shortest / mean number of weight layers on those paths ("effective depth":
a network with skip connections behaves like an ensemble of its paths).

:class:`CGFeaturizer` turns that into one tabular row per graph for tree models:

* op-token counts (a token is an op with its kernel and whether it strides, e.g. ``conv3``,
  ``avg_pool3``, ``conv1/s2``), of all nodes and of live nodes;
* op-pair counts over live edges (``conv3>batch_norm``);
* data-flow n-gram counts: sequences of 2-3 data-transforming ops along live paths, read through
  norms, activations and merges (``conv3>max_pool3>conv1``; a path encoding for any CG);
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


def token_codes(graphs: GraphSet, nodes: np.ndarray | None = None) -> np.ndarray:
    """Token code of every node (or of the global node indices ``nodes``), int64 ``(N,)`` (see :func:`token_name`)."""
    col = graphs.nodes if nodes is None else {f: graphs.nodes[f][nodes] for f in ("op", "kernel", "stride")}
    op = col["op"].astype(np.int64)
    kernel = np.clip(col["kernel"].astype(np.int64), 0, 15)
    stride = (col["stride"].astype(np.int64) > 1).astype(np.int64)
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


class _StepLayout:
    """All graphs' nodes reordered *step-major*: local node ``t`` of every graph in one contiguous row.

    Row ``t`` holds, in graph order, local node ``t`` of the ``count[t]`` graphs with more than
    ``t`` nodes, at positions ``row_start[t]:row_start[t] + count[t]``. A sweep that handles local
    index ``t`` at step ``t`` then writes one contiguous row and reads earlier rows mostly in
    order, instead of touching one scattered cache line per node per step; on millions of
    nodes that memory traffic is most of the cost.

    Attributes:
        at: node (index into the graphs' node columns) at every position, int64 ``(N,)``.
        pos: position of every node, int64 ``(N,)`` (the inverse of ``at``).
        graph: graph of every position, int64 ``(N,)``.
    """

    def __init__(self, graphs: GraphSet) -> None:
        sizes = graphs.num_nodes
        g, n = len(sizes), int(graphs.node_ptr[-1])
        self.steps = int(sizes.max(initial=0))
        self.count = g - np.cumsum(np.bincount(sizes, minlength=self.steps + 1))[: self.steps]
        self.row_start = np.concatenate([[0], np.cumsum(self.count)]).astype(np.int64)
        starts = graphs.node_ptr[:-1]
        if g == 0 or (sizes == self.steps).all():  # equal sizes: a (G, T) -> (T, G) transpose
            steps = np.arange(self.steps, dtype=np.int64)
            self.at = (starts[None, :] + steps[:, None]).reshape(-1)
            self.pos = (steps[None, :] * g + np.arange(g, dtype=np.int64)[:, None]).reshape(-1)
            self.graph = np.tile(np.arange(g, dtype=np.int64), self.steps)
            return
        # Row by row (one numpy call per row, not per node): the graphs still that large, in order.
        self.graph = np.empty(n, dtype=np.int64)
        self.at = np.empty(n, dtype=np.int64)
        members = np.arange(g, dtype=np.int64)
        member_starts = starts
        for t in range(self.steps):
            if t and self.count[t] != self.count[t - 1]:
                members = members[sizes[members] > t]
                member_starts = starts[members]
            rows = slice(self.row_start[t], self.row_start[t + 1])
            self.graph[rows] = members
            np.add(member_starts, t, out=self.at[rows])
        self.pos = np.empty(n, dtype=np.int64)
        self.pos[self.at] = np.arange(n, dtype=np.int64)

    def edge_positions(self, graphs: GraphSet) -> tuple[np.ndarray, np.ndarray]:
        """Positions of every edge's source and target, int64 ``(E,)`` each, in edge order."""
        gsrc, gdst = graphs.global_edges()
        return self.pos[gsrc], self.pos[gdst]

    def sweep(self, key_local: np.ndarray, key_pos: np.ndarray, other_pos: np.ndarray) -> "_Sweep":
        """The edges sorted by the position of their ``key`` end: step ``t`` reduces into row ``t``."""
        # Edges are stored graph by graph: a stable sort by the key's local index alone gives
        # (row, graph) order, i.e. increasing positions. Radix sort for 16-bit keys.
        small = self.steps <= (1 << 16)
        order = np.argsort(key_local.astype(np.uint16) if small else key_local, kind="stable")
        return _Sweep(self, key_pos[order], other_pos[order])


class _Sweep:
    """One sweep's edges (see :meth:`_StepLayout.sweep`): step ``t`` reduces ``other`` into ``into``.

    Within a step, the edges into one node are adjacent (a *run*); numbering each edge's run lets
    one ``bincount`` / ``ufunc.at`` per step and quantity reduce all graphs at once (both add in
    edge order, like a sequential sum; ``ufunc.reduceat`` is several times slower on runs this
    short).
    """

    def __init__(self, layout: _StepLayout, into: np.ndarray, other: np.ndarray) -> None:
        self.layout = layout
        self.into, self.other = into, other
        self.bounds = np.searchsorted(into, layout.row_start)
        self.new_run = np.empty(into.size, dtype=bool)
        self.new_run[:1] = True
        np.not_equal(into[1:], into[:-1], out=self.new_run[1:])

    def step(self, t: int) -> tuple[np.ndarray, np.ndarray | None, int, np.ndarray | slice] | None:
        """``(other ends, run of each edge or None when every run is one edge, runs, targets)``
        of step ``t``; None when the step has no edges."""
        a, b = self.bounds[t], self.bounds[t + 1]
        if a == b:
            return None
        new_run = self.new_run[a:b]
        k = int(np.count_nonzero(new_run))
        run = None if k == b - a else np.cumsum(new_run) - 1
        if k == self.layout.count[t]:  # every node of the row is a target: a slice, not a scatter
            start = int(self.layout.row_start[t])
            return self.other[a:b], run, k, slice(start, start + k)
        return self.other[a:b], run, k, self.into[a:b] if run is None else self.into[a:b][new_run]


class Structure:
    """Per-node results of :func:`graph_structure` (arrays of length N, node order, unless stated).

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
        layout, by_position: the same per-node arrays in the step-major order of the sweeps
            (``by_position[name][layout.pos[i]]`` is node ``i``'s value); graph-level features are
            aggregated from these directly, and node order is made on first access of an attribute.
    """

    FIELDS = ("live", "level", "paths_in", "paths_out", "wmax_in", "wmin_in", "wmax_out", "wsum_in", "wsq_in", "weighted")

    def __init__(self, layout: _StepLayout, by_position: dict[str, np.ndarray], output: np.ndarray) -> None:
        self.layout = layout
        self.by_position = by_position
        self.output = output
        self.output_position = layout.pos[output]
        self._node_order: dict[str, np.ndarray] = {}

    def _nodes(self, name: str) -> np.ndarray:
        values = self._node_order.get(name)
        if values is None:
            values = self._node_order[name] = self.by_position[name][self.layout.pos]
        return values

    live = property(lambda self: self._nodes("live"))
    level = property(lambda self: self._nodes("level"))
    paths_in = property(lambda self: self._nodes("paths_in"))
    paths_out = property(lambda self: self._nodes("paths_out"))
    wmax_in = property(lambda self: self._nodes("wmax_in"))
    wmin_in = property(lambda self: self._nodes("wmin_in"))
    wmax_out = property(lambda self: self._nodes("wmax_out"))
    wsum_in = property(lambda self: self._nodes("wsum_in"))
    wsq_in = property(lambda self: self._nodes("wsq_in"))
    weighted = property(lambda self: self._nodes("weighted"))


_STRUCTURE_KEY = "predictors.features.structure"


def graph_structure(graphs: GraphSet) -> Structure:
    """Liveness, path counts and effective depth of every node of every graph (see :class:`Structure`).

    Two dynamic programs (forward from the inputs, backward from the output) run over all graphs
    together, one numpy step per local node index. Requires each graph's nodes in topological
    order (every edge goes from a lower to a higher local index), which graphs built by
    :class:`~archbench.graphs.cg.GraphBuilder` and the tables always are; other graphs raise with
    the offending graph named. Computed once per GraphSet (cached on it).
    """
    cached = graphs.cache.get(_STRUCTURE_KEY)
    if cached is not None:
        return cached
    n_graphs = len(graphs)
    bad = graphs.src >= graphs.dst
    if bad.any():
        e = int(np.flatnonzero(bad)[0])
        g = int(np.searchsorted(graphs.edge_ptr, e, side="right") - 1)
        raise DataFormatError(f"graph {g} ({graphs.space[g]}:{graphs.encoding[g]!r}) has edge {graphs.src[e]} -> {graphs.dst[e]} "
                              "going backwards; renumber its nodes in topological order first")
    op = graphs.nodes["op"]
    outputs = np.flatnonzero(op == _OUTPUT)
    out_graph = np.searchsorted(graphs.node_ptr, outputs, side="right") - 1
    if not np.array_equal(out_graph, np.arange(n_graphs)):
        counts = np.bincount(out_graph, minlength=n_graphs)
        g = int(np.flatnonzero(counts != 1)[0])
        raise DataFormatError(f"graph {g} ({graphs.space[g]}:{graphs.encoding[g]!r}) has {counts[g]} output nodes, expected 1")

    # Everything below is in the step-major order of _StepLayout ("positions").
    lay = _StepLayout(graphs)
    n = lay.at.size
    op = op[lay.at]
    notzero = op != _ZERO
    is_input, is_output = op == _INPUT, op == _OUTPUT
    # Weight layer or not; used as 0/1 in float arithmetic (no float copy of millions of flags).
    w = weighted = (graphs.nodes["params"][lay.at] > 0) & ~_NORM[op]
    psrc, pdst = lay.edge_positions(graphs)

    # Forward sweep. A node is reached by a live path iff its path count is positive, and a dead
    # node's depth bounds are -inf/+inf so they drop out of max/min by themselves. Per node: live
    # paths from an input, sum and sum of squares of the weight-layer count over those paths,
    # level, deepest and shallowest such path. A zero op cuts every path through it: its row
    # entries are reset after each step (its level still counts), so the step itself needs no mask.
    pin = is_input.astype(np.float64)
    s1, s2 = np.zeros(n), np.zeros(n)
    level = np.zeros(n, dtype=np.int64)
    wmax, wmin = np.where(is_input, 0.0, -np.inf), np.where(is_input, 0.0, np.inf)
    zero_pos = np.flatnonzero(~notzero)
    zero_rows = np.searchsorted(zero_pos, lay.row_start)
    sweep = lay.sweep(graphs.dst, pdst, psrc)
    for t in range(1, lay.steps):
        step = sweep.step(t)
        if step is None:
            continue
        s, run, k, nodes = step
        if run is None:  # one incoming edge per node: nothing to reduce
            cnt, a1, a2, m0, m1, lo = pin[s], s1[s], s2[s], level[s], wmax[s], wmin[s]
        else:
            cnt, a1, a2 = np.bincount(run, pin[s], k), np.bincount(run, s1[s], k), np.bincount(run, s2[s], k)
            m0, m1, lo = np.zeros(k, dtype=np.int64), np.full(k, -np.inf), np.full(k, np.inf)
            np.maximum.at(m0, run, level[s])
            np.maximum.at(m1, run, wmax[s])
            np.minimum.at(lo, run, wmin[s])
        wn = w[nodes]
        s2[nodes] = a2 + 2.0 * wn * a1 + wn * cnt
        s1[nodes] = a1 + wn * cnt
        pin[nodes] = cnt
        level[nodes] = m0 + 1
        wmax[nodes] = m1 + wn
        wmin[nodes] = lo + wn
        z = zero_pos[zero_rows[t]:zero_rows[t + 1]]
        if z.size:
            pin[z] = s1[z] = s2[z] = 0.0
            wmax[z], wmin[z] = -np.inf, np.inf

    # Backward sweep: paths to the output; deepest weight-layer count after the node ("down" also
    # counts the node itself, which is what its predecessors need). Zero ops and the output keep
    # their initial values (reset after each step).
    pout = is_output.astype(np.float64)
    wout = np.where(is_output, 0.0, -np.inf)
    down = np.where(is_output, w, -np.inf)
    fixed = np.flatnonzero(~notzero | is_output)
    fixed_rows = np.searchsorted(fixed, lay.row_start)
    # Flow successors (see flow_edges), when every graph has at most 256 flow ops: the bit set of
    # the live flow ops reached from each node through live non-flow ops only. A node passes on
    # its own bit if it is a live flow op, what reaches it if it is a live non-flow op, else 0.
    fbit, fsucc = _flow_bits(graphs, lay), None
    if fbit is not None:
        fpass = ~fbit.any(axis=1)[:, None]
        fsucc, fval = np.zeros_like(fbit), np.where((is_output & (pin > 0))[:, None], fbit, np.uint64(0))
    del sweep  # before the next one: peak memory
    sweep = lay.sweep(graphs.src, psrc, pdst)
    del psrc, pdst
    for t in range(lay.steps - 1, -1, -1):
        step = sweep.step(t)
        if step is None:
            continue
        d, run, k, nodes = step
        if run is None:
            cnt, deep = pout[d], down[d]
        else:
            cnt, deep = np.bincount(run, pout[d], k), np.full(k, -np.inf)
            np.maximum.at(deep, run, down[d])
        pout[nodes] = cnt
        wout[nodes] = deep
        down[nodes] = deep + w[nodes]
        if fsucc is not None:
            if run is None:
                reach = fval[d]
            else:
                reach = np.zeros((k, fbit.shape[1]), dtype=np.uint64)
                np.bitwise_or.at(reach, run, fval[d])
            fsucc[nodes] = reach
            fval[nodes] = np.where(((cnt > 0) & (pin[nodes] > 0))[:, None],
                                   fbit[nodes] | np.where(fpass[nodes], reach, np.uint64(0)), np.uint64(0))
        f = fixed[fixed_rows[t]:fixed_rows[t + 1]]
        if f.size:
            out_f = is_output[f]
            pout[f] = out_f
            wout[f] = np.where(out_f, 0.0, -np.inf)
            down[f] = np.where(out_f, w[f], -np.inf)
            if fsucc is not None:
                fval[f] = np.where((out_f & (pin[f] > 0))[:, None], fbit[f], np.uint64(0))

    for depth in (wmax, wmin, wout):  # no live path: -1
        depth[~np.isfinite(depth)] = -1.0
    by_position = {"live": (pin > 0) & (pout > 0), "level": level, "paths_in": pin, "paths_out": pout, "wmax_in": wmax,
                   "wmin_in": wmin, "wmax_out": wout, "wsum_in": s1, "wsq_in": s2, "weighted": weighted}
    if fsucc is not None:
        by_position["flow_succ"] = fsucc
    st = Structure(lay, by_position, outputs)
    graphs.cache[_STRUCTURE_KEY] = st
    return st


#: Per-node structural features the GNN adds to the node features of :mod:`archbench.graphs.pyg`.
NODE_STRUCTURE_FEATURES = ("live", "path_share", "level_rel", "depth_in_rel", "depth_out_rel")


def node_structure_features(graphs: GraphSet, structure: Structure | None = None) -> np.ndarray:
    """float32 ``(N, 5)``: :data:`NODE_STRUCTURE_FEATURES`, each in [0, 1].

    ``path_share`` is the fraction of the graph's live paths through the node; ``level_rel`` the
    depth level over the output's; ``depth_in_rel`` / ``depth_out_rel`` the weight layers before /
    after the node on its deepest live path over the graph's deepest.
    """
    st = structure or graph_structure(graphs)
    p = st.by_position
    out_of = st.output_position[st.layout.graph]  # position of each position's graph output
    total = p["paths_in"][out_of]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, p["paths_in"] * p["paths_out"] / total, 0.0)
        depth = np.maximum(p["wmax_in"][out_of], 1.0)
        level = np.maximum(p["level"][out_of], 1).astype(np.float64)
    out = np.empty((len(total), 5), dtype=np.float32)
    out[:, 0] = p["live"]
    out[:, 1] = np.clip(share, 0.0, 1.0)
    out[:, 2] = np.minimum(p["level"] / level, 1.0)
    out[:, 3] = np.minimum(np.clip(p["wmax_in"], 0.0, None) / depth, 1.0)
    out[:, 4] = np.minimum(np.clip(p["wmax_out"], 0.0, None) / depth, 1.0)
    return out[st.layout.pos]


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


def _code_counts(graph_of: np.ndarray, codes: np.ndarray, n_graphs: int,
                 space: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct codes (sorted), a float32 ``(G, len(distinct))`` matrix of their counts per graph,
    and each item's index into the distinct codes.

    Args:
        space: an upper bound of the codes (default: their maximum + 1).
    """
    size = (int(codes.max()) + 1 if codes.size else 0) if space is None else space
    if size <= (1 << 24):
        # Small code space: bincount instead of sorting millions of codes.
        present = np.flatnonzero(np.bincount(codes, minlength=size))
        lookup = np.zeros(size, dtype=np.int64)
        lookup[present] = np.arange(len(present))
        uniq, inverse = present.astype(np.int64), lookup[codes]
    else:
        uniq, inverse = np.unique(codes, return_inverse=True)
        inverse = inverse.reshape(-1)
    k = len(uniq)
    flat = np.bincount(graph_of * k + inverse, minlength=n_graphs * k)
    return uniq, flat.reshape(n_graphs, k).astype(np.float32), inverse


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
    # Per-node values are aggregated in the structure's own (step-major) order: sums and counts
    # per graph do not depend on the order, and mapping millions of values back would cost more.
    p, graph_of, out = st.by_position, st.layout.graph, st.output_position
    live = p["live"]
    nn_ = graphs.num_nodes.astype(np.float64)
    live_nodes = np.bincount(graph_of, weights=live, minlength=g)
    longest = p["level"][out].astype(np.float64)
    paths = p["paths_in"][out]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mean = np.where(paths > 0, p["wsum_in"][out] / paths, 0.0)
        var = np.where(paths > 0, p["wsq_in"][out] / paths - mean ** 2, 0.0)
        log_paths = np.where(paths > 0, np.log10(np.maximum(paths, 1e-300)), -1.0)
    base = np.stack([
        np.log1p(graphs.params.astype(np.float64)), np.log1p(graphs.flops.astype(np.float64)), nn_,
        graphs.num_edges.astype(np.float64), live_nodes, live_nodes / np.maximum(nn_, 1), longest,
        _max_width(graph_of, p["level"], g), nn_ / (longest + 1), log_paths, p["wmax_in"][out], p["wmin_in"][out],
        mean, np.sqrt(np.maximum(var, 0.0)),
        np.bincount(graph_of, weights=p["weighted"], minlength=g),
        np.bincount(graph_of, weights=p["weighted"] & live, minlength=g),
        graphs.input_shape[:, 1].astype(np.float64), np.log2(np.maximum(graphs.num_classes, 1)).astype(np.float64),
    ], axis=1).astype(np.float32)
    tok = token_codes(graphs)
    codes, tokens, ti = _code_counts(graphs.node_graph, tok, g)
    k = max(len(codes), 1)
    ti = ti[st.layout.at]  # compact token index by position
    live_tokens = np.bincount(graph_of[live] * k + ti[live], minlength=g * k).reshape(g, k)[:, : len(codes)].astype(np.float32)
    psrc, pdst = st.layout.edge_positions(graphs)
    live_edge = live[psrc] & live[pdst]
    # Pairs over compact token indices first (a small code space), then back to stable pair codes.
    compact, pairs, _ = _code_counts(graphs.edge_graph[live_edge], ti[psrc[live_edge]] * k + ti[pdst[live_edge]], g)
    pair_codes = codes[compact // k] * _PAIR_BASE + codes[compact % k]
    order = np.argsort(pair_codes)
    pair_codes, pairs = pair_codes[order], pairs[:, order]
    raw = RawFeatures(np.concatenate([base, _stages(graphs)], axis=1), codes, tokens, live_tokens, pair_codes, pairs)
    graphs.cache[_RAW_KEY] = raw
    return raw


def _stages(graphs: GraphSet) -> np.ndarray:
    """float32 ``(G, (NUM_STAGES + 1) * len(STAGE_STATS))``: per-resolution-stage statistics."""
    g = len(graphs)
    nodes = graphs.nodes
    in_h = np.repeat(graphs.input_shape[:, 1], graphs.num_nodes)
    stage = _stage_of(in_h, nodes["h_out"])
    stage[(nodes["h_out"] <= 1) & (nodes["w_out"] <= 1) & (in_h > 1)] = NUM_STAGES  # vectors: the head
    k = NUM_STAGES + 1
    key = graphs.node_graph * k + stage
    weighted = (nodes["params"] > 0) & ~_NORM[nodes["op"]]
    layers = np.bincount(key, weights=weighted, minlength=g * k).reshape(g, k)
    params = np.log1p(np.bincount(key, weights=nodes["params"], minlength=g * k)).reshape(g, k)
    flops = np.log1p(np.bincount(key, weights=nodes["flops"], minlength=g * k)).reshape(g, k)
    # The widest layer per stage: log2(1 + c) grows with c, so take the max channel count first.
    widest = np.zeros(g * k, dtype=np.int64)
    np.maximum.at(widest, key, nodes["c_out"].astype(np.int64, copy=False))
    chans = np.log2(1.0 + widest.astype(np.float64))
    stats = np.stack([layers, params, flops, chans.reshape(g, k)], axis=2)  # (G, stage, stat)
    return stats.reshape(g, -1).astype(np.float32)


def _stage_of(in_h: np.ndarray, h_out: np.ndarray) -> np.ndarray:
    """Resolution stage ``round(log2(input height / output height))`` in ``0..NUM_STAGES - 1``, int64.

    It depends only on the (input height, output height) pair: for integer heights it is worked
    out once per distinct pair (a few dozen) and looked up, instead of a logarithm per node.
    """
    def stage(ih: np.ndarray, ho: np.ndarray) -> np.ndarray:
        ratio = ih.astype(np.float64) / np.maximum(ho.astype(np.float64), 1.0)
        return np.clip(np.rint(np.log2(np.maximum(ratio, 1.0))), 0, NUM_STAGES - 1).astype(np.int64)

    if in_h.size == 0 or h_out.dtype.kind not in "iu" or min(in_h.min(), h_out.min()) < 0:
        return stage(in_h, h_out)
    span = int(h_out.max()) + 1
    if (int(in_h.max()) + 1) * span > (1 << 22):
        return stage(in_h, h_out)
    pair = in_h * span + h_out
    present = np.flatnonzero(np.bincount(pair))
    table = np.zeros(int(present[-1]) + 1, dtype=np.int64)
    table[present] = stage(present // span, present % span)
    return table[pair]


# ---- data-flow n-grams ------------------------------------------------------------------------------
# Sequences of data-transforming ops along the data flow, read through everything in between
# (norms, activations, adds, concats, identities): ``conv3>max_pool3>conv1``. This is the path
# encoding of cell benchmarks (BANANAS) computed on any CG, whatever the space.

#: Op categories whose nodes are the letters of the flow n-grams; other ops are read through.
FLOW_CATEGORIES = ("io", "conv", "linear", "pool", "graph", "attention", "embedding", "recurrent", "neuron")
#: Longest flow n-gram :func:`flow_ngrams` counts.
MAX_FLOW_LENGTH = 4
_FLOW_OP = np.array([OPS[name].category in FLOW_CATEGORIES for name in OP_NAMES], dtype=bool)
_FLOW_BITS = 12  # bits per token in an n-gram code: token codes stay below 2**12 (op index < 128)
_FLOW_KEY = "predictors.features.flow"


def flow_edges(graphs: GraphSet) -> tuple[np.ndarray, np.ndarray]:
    """Edges ``u -> v`` (global node indices, int64, sorted by ``u`` then ``v``) between live data-transforming ops.

    ``v`` follows ``u`` when a live path leads from ``u`` to ``v`` through no other op of
    :data:`FLOW_CATEGORIES`. Each pair appears once, however many such paths join them.
    """
    st = graph_structure(graphs)
    reach = st.by_position.get("flow_succ")
    if reach is None:  # a graph has more than 256 flow ops: no bit sets, search the successors
        return _flow_edges_search(graphs, st.live)
    # Read each live flow op's successor bit set (bit 64 w + i of word w: the graph's (64 w + i)-th
    # flow op) into pairs, word by word and lowest bit first: every op's successors come out in
    # node order, written from its own offset.
    flow_nodes, base = _flow_numbering(graphs)
    pos = st.layout.pos[flow_nodes]
    sets = reach[pos]
    has = sets.any(axis=1) & st.by_position["live"][pos]
    u_nodes, sets, base = flow_nodes[has], sets[has], base[has]
    count = np.bitwise_count(sets).astype(np.int64)  # (ops, words)
    total = count.sum(axis=1)
    done = np.cumsum(total) - total  # where each op's successors start
    u, v = np.repeat(u_nodes, total), np.empty(int(total.sum()), dtype=np.int64)
    for word in range(sets.shape[1]):
        more = sets[:, word] != 0
        bits, start, first = sets[more, word], done[more], base[more] + 64 * word
        done = done + count[:, word]
        while bits.size:
            low = bits & (~bits + np.uint64(1))
            index = np.frexp(low.astype(np.float64))[1] - 1  # exact: low is a power of two
            v[start] = flow_nodes[first + index]
            bits ^= low
            more = bits != 0
            bits, start, first = bits[more], start[more] + 1, first[more]
    return u, v


def _flow_numbering(graphs: GraphSet) -> tuple[np.ndarray, np.ndarray]:
    """Global indices of all flow-op nodes (live or not) in node order, and each one's graph's first, int64."""
    flow_nodes = np.flatnonzero(_FLOW_OP[graphs.nodes["op"]])
    first = np.searchsorted(flow_nodes, graphs.node_ptr)
    return flow_nodes, np.repeat(first[:-1], np.diff(first))


def _flow_bits(graphs: GraphSet, layout: _StepLayout) -> np.ndarray | None:
    """Each node's bit among its graph's flow ops, uint64 ``(N, words)`` by position (0: not a flow op).

    None when a graph has more than 256 flow ops (the bit sets would cost more memory than the search).
    """
    flow_nodes, base = _flow_numbering(graphs)
    rank = np.arange(flow_nodes.size) - base
    words = int(rank.max()) // 64 + 1 if rank.size else 1
    if words > 4:
        return None
    bits = np.zeros((layout.at.size, words), dtype=np.uint64)
    bits[layout.pos[flow_nodes], rank // 64] = np.left_shift(np.uint64(1), (rank % 64).astype(np.uint64))
    return bits


def _flow_edges_search(graphs: GraphSet, live: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`flow_edges` by a breadth-first search from every flow op at once (any number of flow ops)."""
    n = int(graphs.node_ptr[-1])
    flow = _FLOW_OP[graphs.nodes["op"]] & live
    gsrc, gdst = graphs.global_edges()
    keep = live[gsrc] & live[gdst]
    succ_src, succ_dst = gsrc[keep], gdst[keep]
    ptr, succ = _adjacency(succ_src, succ_dst, n)
    # Only a node with several inputs can be reached twice from one op: deduplicate just those.
    merge = np.bincount(succ_dst, minlength=n) > 1
    start_ops = flow[succ_src]
    r, c = succ_src[start_ops], succ_dst[start_ops]  # (flow op, node reached from it)
    found = []
    while r.size:
        hit = flow[c]
        found.append(r[hit] * n + c[hit])
        r, c = _successors(ptr, succ, r[~hit], c[~hit])
        twice = merge[c]
        if twice.any():  # one entry per (flow op, node): reachability, not path counts
            key = _distinct(r[twice] * n + c[twice])
            r, c = np.concatenate([r[~twice], key // n]), np.concatenate([c[~twice], key % n])
    key = _distinct(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
    return key // max(n, 1), key % max(n, 1)


def _distinct(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values (a plain sort: much faster than ``np.unique``'s hashing on large int64 arrays)."""
    values = np.sort(values)
    keep = np.empty(values.size, dtype=bool)
    keep[:1] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values[keep]


def _adjacency(src: np.ndarray, dst: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Compressed rows of the edges ``src -> dst`` over ``n`` nodes: ``(row pointer (n + 1,), targets)``."""
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=ptr[1:])
    return ptr, dst[np.argsort(src, kind="stable")]


def _successors(ptr: np.ndarray, succ: np.ndarray, row: np.ndarray, node: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every ``(row, node)``, one ``(row, successor)`` per successor of ``node`` (see :func:`_adjacency`)."""
    first = ptr[node]
    count = ptr[node + 1] - first
    ends = np.cumsum(count)
    return np.repeat(row, count), succ[np.repeat(first - (ends - count), count) + np.arange(ends[-1] if ends.size else 0)]


@dataclass
class FlowFeatures:
    """Counts of flow n-grams per graph (cached on the GraphSet): ``counts[g, j]`` of ``codes[j]``.

    A code packs the n-gram's length above its tokens (see :func:`flow_name`).
    """

    codes: np.ndarray
    counts: np.ndarray

    def take(self, graph_index: np.ndarray, node_index: np.ndarray | None = None) -> "FlowFeatures":
        return FlowFeatures(self.codes, self.counts[graph_index])

    @classmethod
    def concat(cls, parts: Sequence["FlowFeatures"]) -> "FlowFeatures":
        codes = np.unique(np.concatenate([p.codes for p in parts]))
        return cls(codes, np.concatenate([p.select(codes) for p in parts]))

    def select(self, codes: np.ndarray) -> np.ndarray:
        """Count columns for ``codes`` (zeros for n-grams these graphs never have)."""
        out = np.zeros((self.counts.shape[0], len(codes)), dtype=np.float32)
        if len(self.codes) == 0 or len(codes) == 0:
            return out
        pos = np.minimum(np.searchsorted(self.codes, codes), len(self.codes) - 1)
        hit = self.codes[pos] == codes
        out[:, hit] = self.counts[:, pos[hit]]
        return out


def flow_ngrams(graphs: GraphSet, max_length: int = 3) -> FlowFeatures:
    """Counts of every flow n-gram of 2 to ``max_length`` ops per graph (cached on the GraphSet).

    An n-gram is a walk ``u1 -> u2 -> ... -> un`` over :func:`flow_edges`, spelled by the ops'
    tokens (:func:`token_codes`); each walk counts once.
    """
    if not 2 <= max_length <= MAX_FLOW_LENGTH:
        raise ValueError(f"flow n-grams have 2 to {MAX_FLOW_LENGTH} ops, found max_length={max_length}")
    key = f"{_FLOW_KEY}{max_length}"
    cached = graphs.cache.get(key)
    if cached is not None:
        return cached
    op = graphs.nodes["op"]
    if op.size and int(op.max()) * _KERNEL_SLOTS >= (1 << _FLOW_BITS):
        tok = token_codes(graphs)
        raise DataFormatError(f"token code {int(tok.max())} does not fit the {_FLOW_BITS} bits of a flow n-gram code")
    u, v = flow_edges(graphs)
    # Walks are spelled in compact token indices (a small code space, counted with bincount),
    # then their codes are mapped back to stable packed token codes.
    flow_nodes = np.flatnonzero(_FLOW_OP[op])
    tok = np.zeros(int(graphs.node_ptr[-1]), dtype=np.int64)  # token codes of the flow ops only
    tok[flow_nodes] = token_codes(graphs, flow_nodes)
    tokens = np.flatnonzero(np.bincount(tok[u], minlength=1 << _FLOW_BITS) + np.bincount(tok[v], minlength=1 << _FLOW_BITS))
    k = max(len(tokens), 1)
    ti = np.zeros(1 << _FLOW_BITS, dtype=np.int64)
    ti[tokens] = np.arange(len(tokens))
    first, last, code = u, v, ti[tok[u]] * k + ti[tok[v]]
    node_parts, code_parts, offset = [first], [code], k ** 2
    if max_length >= 3:
        ptr, succ = _adjacency(u, v, int(graphs.node_ptr[-1]))
    for length in range(3, max_length + 1):
        walk, last = _successors(ptr, succ, np.arange(last.size), last)
        first, code = first[walk], code[walk] * k + ti[tok[last]]
        node_parts.append(first)
        code_parts.append(code + offset)
        offset += k ** length
    compact, counts, _ = _code_counts(graphs.node_graph[np.concatenate(node_parts)], np.concatenate(code_parts),
                                      len(graphs), offset)
    codes = np.zeros(len(compact), dtype=np.int64)
    start = 0
    for length in range(2, max_length + 1):  # compact code -> length and token indices -> packed code
        part = (compact >= start) & (compact < start + k ** length)
        rest = compact[part] - start
        packed = np.full(rest.size, length << (MAX_FLOW_LENGTH * _FLOW_BITS), dtype=np.int64)
        for i in range(length):
            packed |= tokens[(rest // k ** (length - 1 - i)) % k] << (_FLOW_BITS * (length - 1 - i))
        codes[part] = packed
        start += k ** length
    order = np.argsort(codes)
    codes, counts = codes[order], counts[:, order]
    out = FlowFeatures(codes, counts)
    graphs.cache[key] = out
    return out


def flow_name(code: int) -> str:
    """Readable flow n-gram: ``conv3>max_pool3>conv1``."""
    length = int(code) >> (MAX_FLOW_LENGTH * _FLOW_BITS)
    mask = (1 << _FLOW_BITS) - 1
    return ">".join(token_name((int(code) >> (_FLOW_BITS * (length - 1 - i))) & mask) for i in range(length))


class CGFeaturizer:
    """Tabular features of computation graphs (see the module docstring).

    Args:
        extras: names of per-graph extras to append as columns, as ``sign(x) * log1p(|x|)``
            (proxy scores span many orders of magnitude: synflow reaches 1e44, beyond float32);
            NaN stays NaN and +-inf (e.g. zen's log 0) becomes NaN: trees treat both as missing.
        max_pairs: keep at most this many op-pair columns (the most frequent in training).
        flow_length: longest data-flow n-gram counted (:func:`flow_ngrams`, 2 to
            :data:`MAX_FLOW_LENGTH`); 0 or 1: no flow n-gram columns.
        max_flow: keep at most this many flow n-gram columns (the most frequent in training).
    """

    def __init__(self, *, extras: Sequence[str] = (), max_pairs: int = 256, flow_length: int = 3,
                 max_flow: int = 512) -> None:
        self.extras = tuple(extras)
        self.max_pairs = max_pairs
        self.flow_length = flow_length
        self.max_flow = max_flow

    def fit(self, graphs: GraphSet) -> "CGFeaturizer":
        """Learn the token and pair columns: those present in ``graphs``."""
        raw = raw_features(graphs)
        self.tokens_ = raw.token_codes[raw.tokens.sum(axis=0) > 0]
        freq = (raw.pairs > 0).sum(axis=0)
        order = np.argsort(-freq, kind="stable")[: self.max_pairs]
        self.pairs_ = np.sort(raw.pair_codes[order[freq[order] > 0]])
        self.flow_ = np.zeros(0, dtype=np.int64)
        if self.flow_length >= 2:
            flow = flow_ngrams(graphs, self.flow_length)
            freq = (flow.counts > 0).sum(axis=0)
            order = np.argsort(-freq, kind="stable")[: self.max_flow]
            self.flow_ = np.sort(flow.codes[order[freq[order] > 0]])
        self.feature_names_ = self._names()
        return self

    def get_state(self) -> dict:
        return {"tokens": self.tokens_.tolist(), "pairs": self.pairs_.tolist(), "extras": list(self.extras),
                "max_pairs": self.max_pairs, "flow": self.flow_.tolist(), "flow_length": self.flow_length,
                "max_flow": self.max_flow}

    @classmethod
    def from_state(cls, state: dict) -> "CGFeaturizer":
        f = cls(extras=state["extras"], max_pairs=state["max_pairs"])
        f.tokens_ = np.asarray(state["tokens"], dtype=np.int64)
        f.pairs_ = np.asarray(state["pairs"], dtype=np.int64)
        # Models saved before flow n-grams existed have none.
        f.flow_length, f.max_flow = int(state.get("flow_length", 0)), int(state.get("max_flow", 512))
        f.flow_ = np.asarray(state.get("flow", []), dtype=np.int64)
        f.feature_names_ = f._names()
        return f

    def _names(self) -> list[str]:
        return (list(BASE_FEATURES) + [f"count:{token_name(c)}" for c in self.tokens_]
                + [f"live:{token_name(c)}" for c in self.tokens_] + [f"pair:{pair_name(c)}" for c in self.pairs_]
                + [f"flow:{flow_name(c)}" for c in self.flow_] + [f"extra:{e}" for e in self.extras])

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
        if len(self.flow_):
            cols.append(flow_ngrams(graphs, self.flow_length).select(self.flow_))
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


__all__ = ["BASE_FEATURES", "CGFeaturizer", "FLOW_CATEGORIES", "FlowFeatures", "MAX_FLOW_LENGTH", "flow_edges", "flow_name",
           "flow_ngrams", "NODE_STRUCTURE_FEATURES", "RawFeatures", "raw_features", "NUM_STAGES", "STAGE_STATS", "Structure", "encoding_tokens",
           "graph_structure", "node_structure_features", "onehot_tokens", "pair_name", "token_codes", "token_name"]


def _signed_log(values: np.ndarray) -> np.ndarray:
    """``sign(x) * log1p(|x|)`` in float64, then float32; non-finite values become NaN."""
    x = np.asarray(values, dtype=np.float64)
    out = np.sign(x) * np.log1p(np.abs(x))
    out[~np.isfinite(x)] = np.nan
    return out.astype(np.float32)

