"""Features derived from computation graphs, computed for many graphs at once.

:func:`graph_structure` runs dynamic programs over every graph of a :class:`GraphSet` in one
compiled pass (:mod:`archbench.predictors._graph_kernels`): which nodes are *live* (on an
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
    """

    FIELDS = ("live", "level", "paths_in", "paths_out", "wmax_in", "wmin_in", "wmax_out", "wsum_in", "wsq_in", "weighted")

    def __init__(self, output: np.ndarray, **fields: np.ndarray) -> None:
        self.output = output
        for name in self.FIELDS:
            setattr(self, name, fields[name])


_STRUCTURE_KEY = "predictors.features.structure"
#: Graph-level features of a larger set are computed run by run of at most this many nodes (then
#: concatenated): the temporaries of a run fit in memory the allocator reuses, where those of a
#: whole million-node set would be fresh pages every time, which costs more than the compute.
CHUNK_NODES = 1 << 18


def graph_structure(graphs: GraphSet) -> Structure:
    """Liveness, path counts and effective depth of every node of every graph (see :class:`Structure`).

    Two dynamic programs (forward from the inputs, backward from the output) run over all graphs
    in one compiled pass each (:mod:`archbench.predictors._graph_kernels`). Requires each graph's
    nodes in topological order (every edge goes from a lower to a higher local index), which graphs
    built by :class:`~archbench.graphs.cg.GraphBuilder` and the tables always are; other graphs
    raise with the offending graph named. Computed once per GraphSet (cached on it).
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
    from . import _graph_kernels

    weighted = (graphs.nodes["params"] > 0) & ~_NORM[op]
    gsrc, gdst = graphs.global_edges()
    pin, s1, s2, level, wmax, wmin, pout, wout = _graph_kernels.structure(
        gsrc, gdst, int(graphs.node_ptr[-1]), op == _INPUT, op == _OUTPUT, op == _ZERO, weighted)
    for depth in (wmax, wmin, wout):  # no live path: -1
        depth[~np.isfinite(depth)] = -1.0
    st = Structure(outputs, live=(pin > 0) & (pout > 0), level=level, paths_in=pin, paths_out=pout, wmax_in=wmax,
                   wmin_in=wmin, wmax_out=wout, wsum_in=s1, wsq_in=s2, weighted=weighted)
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
    out_of = st.output[graphs.node_graph]  # each node's graph output
    total = st.paths_in[out_of]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(total > 0, st.paths_in * st.paths_out / total, 0.0)
        depth = np.maximum(st.wmax_in[out_of], 1.0)
        level = np.maximum(st.level[out_of], 1).astype(np.float64)
    out = np.empty((len(total), 5), dtype=np.float32)
    out[:, 0] = st.live
    out[:, 1] = np.clip(share, 0.0, 1.0)
    out[:, 2] = np.minimum(st.level / level, 1.0)
    out[:, 3] = np.minimum(np.clip(st.wmax_in, 0.0, None) / depth, 1.0)
    out[:, 4] = np.minimum(np.clip(st.wmax_out, 0.0, None) / depth, 1.0)
    return out


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
    if _chunked(graphs):
        return _featurize_in_runs(graphs, 0)[0]
    from . import _graph_kernels

    g = len(graphs)
    st = graph_structure(graphs)
    out, live, nodes = st.output, st.live, graphs.nodes
    tok = token_codes(graphs)
    codes = np.flatnonzero(np.bincount(tok)) if tok.size else np.zeros(0, dtype=np.int64)
    k = max(len(codes), 1)
    ti = np.zeros(int(codes[-1]) + 1 if codes.size else 1, dtype=np.int64)
    ti[codes] = np.arange(len(codes))
    gsrc, gdst = graphs.global_edges()
    (tokens, live_tokens, pg, pc, pn, live_nodes, layers, live_layers, width, st_layers, st_params, st_flops,
     st_chans) = _graph_kernels.graph_counts(
        graphs.node_ptr.astype(np.int64), graphs.edge_ptr.astype(np.int64), gsrc, gdst, ti[tok], k, live, st.weighted,
        st.level, _node_stages(graphs), NUM_STAGES + 1, nodes["params"], nodes["flops"],
        nodes["c_out"].astype(np.int64, copy=False))
    tokens, live_tokens = tokens[:, : len(codes)], live_tokens[:, : len(codes)]
    nn_ = graphs.num_nodes.astype(np.float64)
    longest = st.level[out].astype(np.float64)
    paths = st.paths_in[out]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mean = np.where(paths > 0, st.wsum_in[out] / paths, 0.0)
        var = np.where(paths > 0, st.wsq_in[out] / paths - mean ** 2, 0.0)
        log_paths = np.where(paths > 0, np.log10(np.maximum(paths, 1e-300)), -1.0)
    base = np.stack([
        np.log1p(graphs.params.astype(np.float64)), np.log1p(graphs.flops.astype(np.float64)), nn_,
        graphs.num_edges.astype(np.float64), live_nodes, live_nodes / np.maximum(nn_, 1), longest,
        width, nn_ / (longest + 1), log_paths, st.wmax_in[out], st.wmin_in[out],
        mean, np.sqrt(np.maximum(var, 0.0)), layers, live_layers,
        graphs.input_shape[:, 1].astype(np.float64), np.log2(np.maximum(graphs.num_classes, 1)).astype(np.float64),
    ], axis=1).astype(np.float32)
    # Per stage; the widest layer: log2(1 + c) grows with c, so the max channel count comes first.
    stages = np.stack([st_layers, np.log1p(st_params), np.log1p(st_flops), np.log2(1.0 + st_chans.astype(np.float64))],
                      axis=2).reshape(g, -1).astype(np.float32)  # (G, stage, stat) flattened
    # Live-edge pairs come as compact token-index codes, mapped back to stable pair codes.
    compact = np.unique(pc)
    pairs = np.zeros((g, len(compact)), dtype=np.float32)
    pairs[pg, np.searchsorted(compact, pc)] = pn
    pair_codes = codes[compact // k] * _PAIR_BASE + codes[compact % k]
    order = np.argsort(pair_codes)
    pair_codes, pairs = pair_codes[order], pairs[:, order]
    raw = RawFeatures(np.concatenate([base, stages], axis=1), codes.astype(np.int64), tokens, live_tokens, pair_codes, pairs)
    graphs.cache[_RAW_KEY] = raw
    return raw


def _node_stages(graphs: GraphSet) -> np.ndarray:
    """Resolution stage of every node, int64 ``(N,)`` in ``0..NUM_STAGES``: ``NUM_STAGES`` is the
    head (vectors, C x 1 x 1), the others the output resolution relative to the input (see :func:`_stage_of`)."""
    nodes = graphs.nodes
    in_h = np.repeat(graphs.input_shape[:, 1], graphs.num_nodes)
    stage = _stage_of(in_h, nodes["h_out"])
    stage[(nodes["h_out"] <= 1) & (nodes["w_out"] <= 1) & (in_h > 1)] = NUM_STAGES  # vectors: the head
    return stage


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
_FLOW_EDGES_KEY = "predictors.features.flow_edges"
#: Most possible n-gram codes (sum of k**L over the lengths, k distinct flow tokens) counted at once.
_MAX_WALK_CODES = 1 << 24


def flow_edges(graphs: GraphSet) -> tuple[np.ndarray, np.ndarray]:
    """Edges ``u -> v`` (global node indices, int64, sorted by ``u`` then ``v``) between live data-transforming ops.

    ``v`` follows ``u`` when a live path leads from ``u`` to ``v`` through no other op of
    :data:`FLOW_CATEGORIES`. Each pair appears once, however many such paths join them.
    """
    from . import _graph_kernels

    cached = graphs.cache.get(_FLOW_EDGES_KEY)
    if cached is None:
        live = graph_structure(graphs).live
        gsrc, gdst = graphs.global_edges()
        cached = graphs.cache[_FLOW_EDGES_KEY] = _graph_kernels.flow_edges(
            graphs.node_ptr.astype(np.int64), gsrc, gdst, live, _FLOW_OP[graphs.nodes["op"]])
    return cached


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
    if _chunked(graphs):
        return _featurize_in_runs(graphs, max_length)[1]
    op = graphs.nodes["op"]
    if op.size and int(op.max()) * _KERNEL_SLOTS >= (1 << _FLOW_BITS):
        tok = token_codes(graphs)
        raise DataFormatError(f"token code {int(tok.max())} does not fit the {_FLOW_BITS} bits of a flow n-gram code")
    u, v = flow_edges(graphs)
    # Walks are spelled in compact token indices (a small code space) and counted per graph by a
    # compiled enumeration; their codes are then mapped back to stable packed token codes.
    flow_nodes = np.flatnonzero(_FLOW_OP[op])
    tok = np.zeros(int(graphs.node_ptr[-1]), dtype=np.int64)  # token codes of the flow ops only
    tok[flow_nodes] = token_codes(graphs, flow_nodes)
    tokens = np.flatnonzero(np.bincount(tok[u], minlength=1 << _FLOW_BITS) + np.bincount(tok[v], minlength=1 << _FLOW_BITS))
    k = max(len(tokens), 1)
    ti = np.zeros(1 << _FLOW_BITS, dtype=np.int64)
    ti[tokens] = np.arange(len(tokens))
    offset = sum(k ** length for length in range(2, max_length + 1))
    if offset > _MAX_WALK_CODES:
        raise DataFormatError(f"{k} distinct flow-op tokens make {offset:,} possible n-grams of up to {max_length} ops, "
                              f"more than {_MAX_WALK_CODES:,}; use a smaller flow_length")
    from . import _graph_kernels

    n = int(graphs.node_ptr[-1])
    ptr, order = _graph_kernels.csr(u, n)
    g, code, count = _graph_kernels.count_walks(graphs.node_ptr.astype(np.int64), ptr, v[order], ti[tok], k, max_length)
    compact = np.unique(code)
    counts = np.zeros((len(graphs), len(compact)), dtype=np.float32)
    counts[g, np.searchsorted(compact, code)] = count
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


def _chunked(graphs: GraphSet) -> bool:
    """Whether to featurize ``graphs`` run by run (see :data:`CHUNK_NODES`): a large set whose
    per-node structure is not already at hand."""
    return int(graphs.node_ptr[-1]) > CHUNK_NODES and len(graphs) > 1 and _STRUCTURE_KEY not in graphs.cache


def prepare_features(graphs: GraphSet, flow_length: int) -> None:
    """Compute and cache :func:`raw_features` and (``flow_length >= 2``) :func:`flow_ngrams` of
    ``graphs``; a large set is done in one pass over its runs, each run's structure serving both."""
    if flow_length >= 2 and _RAW_KEY not in graphs.cache and _chunked(graphs):
        _featurize_in_runs(graphs, flow_length)
    raw_features(graphs)
    if flow_length >= 2:
        flow_ngrams(graphs, flow_length)


def _featurize_in_runs(graphs: GraphSet, flow_length: int) -> tuple[RawFeatures, FlowFeatures | None]:
    """:func:`raw_features` and (``flow_length >= 2``) :func:`flow_ngrams` of a large set, computed
    on consecutive runs of its graphs that share one structure each, concatenated and cached on it."""
    raws, flows = [], []
    for part in graphs.ranges(CHUNK_NODES):
        raws.append(raw_features(part))
        if flow_length >= 2:
            flows.append(flow_ngrams(part, flow_length))
    raw = graphs.cache[_RAW_KEY] = RawFeatures.concat(raws)
    flow = None
    if flow_length >= 2:
        flow = graphs.cache[f"{_FLOW_KEY}{flow_length}"] = FlowFeatures.concat(flows)
    return raw, flow


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
        prepare_features(graphs, self.flow_length)
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
        prepare_features(graphs, self.flow_length if len(self.flow_) else 0)
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
           "flow_ngrams", "NODE_STRUCTURE_FEATURES", "prepare_features", "RawFeatures", "raw_features", "NUM_STAGES", "STAGE_STATS", "Structure", "encoding_tokens",
           "graph_structure", "node_structure_features", "onehot_tokens", "pair_name", "token_codes", "token_name"]


def _signed_log(values: np.ndarray) -> np.ndarray:
    """``sign(x) * log1p(|x|)`` in float64, then float32; non-finite values become NaN."""
    x = np.asarray(values, dtype=np.float64)
    out = np.sign(x) * np.log1p(np.abs(x))
    out[~np.isfinite(x)] = np.nan
    return out.astype(np.float32)

