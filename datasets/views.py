"""Many computation graphs as flat arrays, loaded fast from the tables or built from graphs.

A :class:`GraphSet` holds ``G`` graphs in CSR form: node columns of all graphs concatenated
(``nodes[field]``, ``N`` rows; ``node_ptr[g]:node_ptr[g + 1]`` are graph ``g``'s nodes), edges
likewise (``edge_ptr``; ``src``/``dst`` are indices *local* to their graph, in the graph's edge
order, so incoming-edge order is still argument order), per-graph columns (``arch_id``, ``space``,
``encoding``, ...) and optional per-graph ``extras`` (zero-cost scores, low-fidelity accuracies)
taken from the metrics table. Predictors featurize a GraphSet with numpy/torch over whole columns,
never graph by graph.

Loading from the tables reads the Parquet files with pyarrow (architecture ids and op names
dictionary-encoded, so no per-row string work) and orders rows by graph with one stable sort.
Inputs a predictor accepts are turned into a GraphSet by :func:`as_graphset`.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from archbench.errors import DataFormatError
from archbench.graphs.cg import INT_NODE_FIELDS, NODE_FIELDS, ComputationGraph
from archbench.graphs.ops import OP_NAMES, VOCAB_VERSION, get_op

from .store import Manifest, Store, unit_space

#: ``op`` is kept as the int16 vocabulary index; every other node column as read.
_OP_NAME_ARRAY = np.array(OP_NAMES, dtype=object)


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, s + c)`` for every pair, without a Python loop."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    offsets = np.cumsum(counts) - counts
    return np.repeat(np.asarray(starts, dtype=np.int64) - offsets, counts) + np.arange(total, dtype=np.int64)


def _segment_sum(values: np.ndarray, ptr: np.ndarray) -> np.ndarray:
    """Exact per-segment sums of an integer column (``ptr`` as in CSR)."""
    cs = np.concatenate([[0], np.cumsum(values, dtype=np.int64)])
    return cs[ptr[1:]] - cs[ptr[:-1]]


@dataclass(eq=False, repr=False)
class GraphSet:
    """``G`` computation graphs as flat columns (see the module docstring).

    Attributes:
        arch_id, space, encoding, config: object arrays ``(G,)`` ("" where unknown).
        input_shape: int64 ``(G, 3)`` network input ``(C, H, W)``.
        num_classes: int64 ``(G,)``.
        node_ptr: int64 ``(G + 1,)``; graph ``g`` owns nodes ``node_ptr[g]:node_ptr[g + 1]``.
        nodes: node columns ``(N,)`` for every field of :data:`~archbench.graphs.cg.NODE_FIELDS`;
            ``op`` holds int16 vocabulary indices, not names.
        edge_ptr: int64 ``(G + 1,)``; graph ``g`` owns edges ``edge_ptr[g]:edge_ptr[g + 1]``.
        src, dst: int32 ``(E,)`` node indices local to their graph.
        extras: per-graph float64 ``(G,)`` columns by name (NaN where missing).
        cache: values derived from the graphs by predictors (features), keyed by the deriving
            code; :meth:`subset` carries every value that has a ``take(graph_index, node_index)``
            method (and :meth:`concat` those with a ``concat`` classmethod), so featurizing a set
            once serves all its subsets.
    """

    arch_id: np.ndarray
    space: np.ndarray
    encoding: np.ndarray
    config: np.ndarray
    input_shape: np.ndarray
    num_classes: np.ndarray
    node_ptr: np.ndarray
    nodes: dict[str, np.ndarray]
    edge_ptr: np.ndarray
    src: np.ndarray
    dst: np.ndarray
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        g = len(self.arch_id)
        for name in ("space", "encoding", "config", "num_classes"):
            if len(getattr(self, name)) != g:
                raise DataFormatError(f"GraphSet column {name!r} has {len(getattr(self, name))} entries, expected {g} (one per graph)")
        if self.input_shape.shape != (g, 3):
            raise DataFormatError(f"GraphSet input_shape has shape {self.input_shape.shape}, expected ({g}, 3)")
        if self.node_ptr.shape != (g + 1,) or self.edge_ptr.shape != (g + 1,):
            raise DataFormatError(f"GraphSet node_ptr/edge_ptr have shapes {self.node_ptr.shape}/{self.edge_ptr.shape}, "
                                  f"expected ({g + 1},)")
        n, e = int(self.node_ptr[-1]), int(self.edge_ptr[-1])
        missing = [f for f in NODE_FIELDS if f not in self.nodes]
        if missing:
            raise DataFormatError(f"GraphSet nodes lack columns {missing}; expected all of {list(NODE_FIELDS)}")
        for name in NODE_FIELDS:
            if len(self.nodes[name]) != n:
                raise DataFormatError(f"GraphSet node column {name!r} has {len(self.nodes[name])} rows, expected {n}")
        if len(self.src) != e or len(self.dst) != e:
            raise DataFormatError(f"GraphSet has {len(self.src)} sources and {len(self.dst)} targets, expected {e} edges")
        for name, values in self.extras.items():
            if len(values) != g:
                raise DataFormatError(f"GraphSet extra {name!r} has {len(values)} values, expected {g} (one per graph)")

    # ---- sizes ---------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.arch_id)

    @property
    def num_nodes(self) -> np.ndarray:
        """Nodes per graph, int64 ``(G,)``."""
        return np.diff(self.node_ptr)

    @property
    def num_edges(self) -> np.ndarray:
        """Edges per graph, int64 ``(G,)``."""
        return np.diff(self.edge_ptr)

    @property
    def node_graph(self) -> np.ndarray:
        """Graph index of every node, int64 ``(N,)``."""
        return np.repeat(np.arange(len(self), dtype=np.int64), self.num_nodes)

    @property
    def edge_graph(self) -> np.ndarray:
        """Graph index of every edge, int64 ``(E,)``."""
        return np.repeat(np.arange(len(self), dtype=np.int64), self.num_edges)

    def global_edges(self) -> tuple[np.ndarray, np.ndarray]:
        """``(src, dst)`` as int64 indices into the concatenated nodes."""
        base = np.repeat(self.node_ptr[:-1], self.num_edges)
        return base + self.src, base + self.dst  # int64 + int32: one pass each, no separate cast

    @property
    def params(self) -> np.ndarray:
        """Total trainable parameters per graph, int64 ``(G,)``."""
        return _segment_sum(self.nodes["params"], self.node_ptr)

    @property
    def flops(self) -> np.ndarray:
        """Total FLOPs per graph, int64 ``(G,)``."""
        return _segment_sum(self.nodes["flops"], self.node_ptr)

    def __repr__(self) -> str:
        spaces = ", ".join(sorted(set(self.space.tolist()))) or "-"
        extras = f", extras={sorted(self.extras)}" if self.extras else ""
        return f"GraphSet({len(self)} graphs of {spaces}, {int(self.node_ptr[-1]):,} nodes, {int(self.edge_ptr[-1]):,} edges{extras})"

    # ---- construction --------------------------------------------------------------------------
    @classmethod
    def from_graphs(cls, graphs: Sequence[ComputationGraph], arch_ids: Sequence[str] | None = None) -> "GraphSet":
        """Pack computation graphs (one list extend per graph and column; no per-node Python work)."""
        graphs = list(graphs)
        for k, g in enumerate(graphs):
            if not isinstance(g, ComputationGraph):
                raise DataFormatError(f"GraphSet.from_graphs expects ComputationGraph items, found {type(g).__name__} at position {k}")
            if g.vocab_version > VOCAB_VERSION:
                raise DataFormatError(f"graph {k} ({g.space}:{g.encoding!r}) uses op vocabulary v{g.vocab_version}, "
                                      f"newer than this archbench's v{VOCAB_VERSION}")
        cols: dict[str, list] = {name: [] for name in NODE_FIELDS}
        src: list[int] = []
        dst: list[int] = []
        for g in graphs:
            for name in NODE_FIELDS:
                cols[name].extend(g.nodes[name])
            src.extend(g.src)
            dst.extend(g.dst)
        nodes = {name: np.asarray(cols[name], dtype=np.int64) for name in INT_NODE_FIELDS}
        from archbench.graphs.pyg import op_indices

        nodes["op"] = op_indices(np.asarray(cols["op"], dtype=object)).astype(np.int16)
        counts = np.array([g.num_nodes for g in graphs], dtype=np.int64)
        ecounts = np.array([g.num_edges for g in graphs], dtype=np.int64)
        ids = np.array(list(arch_ids) if arch_ids is not None else [""] * len(graphs), dtype=object)
        return cls(
            arch_id=ids,
            space=np.array([g.space for g in graphs], dtype=object),
            encoding=np.array([g.encoding for g in graphs], dtype=object),
            config=np.array([g.config for g in graphs], dtype=object),
            input_shape=np.array([tuple(g.input_shape) for g in graphs], dtype=np.int64).reshape(len(graphs), 3),
            num_classes=np.array([g.num_classes for g in graphs], dtype=np.int64),
            node_ptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            nodes=nodes,
            edge_ptr=np.concatenate([[0], np.cumsum(ecounts)]).astype(np.int64),
            src=np.asarray(src, dtype=np.int32),
            dst=np.asarray(dst, dtype=np.int32),
        )

    @classmethod
    def concat(cls, sets: Sequence["GraphSet"]) -> "GraphSet":
        """One GraphSet holding the graphs of ``sets`` in order (extras: union, NaN where absent)."""
        sets = list(sets)
        if not sets:
            raise DataFormatError("GraphSet.concat needs at least one GraphSet")
        names = sorted({k for s in sets for k in s.extras})
        nptr = np.concatenate([[0], np.cumsum([int(s.node_ptr[-1]) for s in sets])])
        eptr = np.concatenate([[0], np.cumsum([int(s.edge_ptr[-1]) for s in sets])])
        return cls(
            arch_id=np.concatenate([s.arch_id for s in sets]),
            space=np.concatenate([s.space for s in sets]),
            encoding=np.concatenate([s.encoding for s in sets]),
            config=np.concatenate([s.config for s in sets]),
            input_shape=np.concatenate([s.input_shape for s in sets]),
            num_classes=np.concatenate([s.num_classes for s in sets]),
            node_ptr=np.concatenate([[0]] + [s.node_ptr[1:] + off for s, off in zip(sets, nptr[:-1])]).astype(np.int64),
            nodes={name: np.concatenate([s.nodes[name] for s in sets]) for name in NODE_FIELDS},
            edge_ptr=np.concatenate([[0]] + [s.edge_ptr[1:] + off for s, off in zip(sets, eptr[:-1])]).astype(np.int64),
            src=np.concatenate([s.src for s in sets]),
            dst=np.concatenate([s.dst for s in sets]),
            extras={k: np.concatenate([s.extras.get(k, np.full(len(s), np.nan)) for s in sets]) for k in names},
            cache={k: type(v).concat([s.cache[k] for s in sets]) for k, v in sets[0].cache.items()
                   if hasattr(v, "concat") and all(k in s.cache for s in sets)},
        )

    def subset(self, index: Sequence[int] | np.ndarray) -> "GraphSet":
        """The graphs at ``index`` (any order, repeats allowed), gathered without a per-graph loop."""
        idx = np.asarray(index)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise DataFormatError(f"boolean mask has shape {idx.shape}, expected ({len(self)},)")
            idx = np.flatnonzero(idx)
        idx = idx.astype(np.int64, copy=False).reshape(-1)
        if idx.size and (idx.min() < -len(self) or idx.max() >= len(self)):
            raise IndexError(f"graph index out of range 0..{len(self) - 1}: found {int(idx.min())}..{int(idx.max())}")
        idx = idx % max(len(self), 1)
        nc, ec = self.num_nodes[idx], self.num_edges[idx]
        take_n = _ranges(self.node_ptr[idx], nc)
        take_e = _ranges(self.edge_ptr[idx], ec)
        return GraphSet(
            arch_id=self.arch_id[idx], space=self.space[idx], encoding=self.encoding[idx], config=self.config[idx],
            input_shape=self.input_shape[idx], num_classes=self.num_classes[idx],
            node_ptr=np.concatenate([[0], np.cumsum(nc)]).astype(np.int64),
            nodes={name: col[take_n] for name, col in self.nodes.items()},
            edge_ptr=np.concatenate([[0], np.cumsum(ec)]).astype(np.int64),
            src=self.src[take_e], dst=self.dst[take_e],
            extras={k: v[idx] for k, v in self.extras.items()},
            cache={k: v.take(idx, take_n) for k, v in self.cache.items() if hasattr(v, "take")},
        )

    def ranges(self, max_nodes: int) -> list["GraphSet"]:
        """Consecutive runs of whole graphs, each with at most ``max_nodes`` nodes (a larger graph
        alone), as sets that share this set's arrays (no copy) and start with an empty cache."""
        if max_nodes < 1:
            raise ValueError(f"max_nodes must be at least 1, found {max_nodes}")
        bounds, g = [0], len(self)
        while bounds[-1] < g:
            a = bounds[-1]  # the next run ends at the last graph boundary within max_nodes of its start
            b = int(np.searchsorted(self.node_ptr, self.node_ptr[a] + max_nodes, side="right")) - 1
            bounds.append(min(max(b, a + 1), g))
        out = []
        for a, b in zip(bounds[:-1], bounds[1:]):
            na, nb, ea, eb = self.node_ptr[a], self.node_ptr[b], self.edge_ptr[a], self.edge_ptr[b]
            out.append(GraphSet(
                arch_id=self.arch_id[a:b], space=self.space[a:b], encoding=self.encoding[a:b], config=self.config[a:b],
                input_shape=self.input_shape[a:b], num_classes=self.num_classes[a:b],
                node_ptr=self.node_ptr[a:b + 1] - na, nodes={name: col[na:nb] for name, col in self.nodes.items()},
                edge_ptr=self.edge_ptr[a:b + 1] - ea, src=self.src[ea:eb], dst=self.dst[ea:eb],
                extras={k: v[a:b] for k, v in self.extras.items()}))
        return out

    def with_extras(self, extras: Mapping[str, Sequence[float]]) -> "GraphSet":
        """A shallow copy with more (or replaced) per-graph extra columns."""
        new = dict(self.extras)
        for name, values in extras.items():
            new[name] = np.asarray(values, dtype=np.float64)
        return GraphSet(self.arch_id, self.space, self.encoding, self.config, self.input_shape, self.num_classes,
                        self.node_ptr, self.nodes, self.edge_ptr, self.src, self.dst, new, self.cache)

    # ---- back to graphs / PyG -------------------------------------------------------------------
    def graph(self, i: int) -> ComputationGraph:
        """Graph ``i`` as a :class:`ComputationGraph`."""
        a, b = int(self.node_ptr[i]), int(self.node_ptr[i + 1])
        ea, eb = int(self.edge_ptr[i]), int(self.edge_ptr[i + 1])
        nodes: dict[str, list] = {"op": _OP_NAME_ARRAY[self.nodes["op"][a:b].astype(np.int64)].tolist()}
        for name in INT_NODE_FIELDS:
            nodes[name] = self.nodes[name][a:b].astype(np.int64).tolist()
        return ComputationGraph(str(self.space[i]), str(self.encoding[i]), tuple(int(v) for v in self.input_shape[i]),
                                int(self.num_classes[i]), str(self.config[i]), nodes=nodes,
                                src=self.src[ea:eb].astype(np.int64).tolist(), dst=self.dst[ea:eb].astype(np.int64).tolist())

    def to_graphs(self) -> list[ComputationGraph]:
        return [self.graph(i) for i in range(len(self))]

    def node_features(self, columns: slice | None = None, chunk_nodes: int = 1 << 18) -> np.ndarray:
        """float32 ``(N, F)`` node features of :func:`archbench.graphs.pyg.node_features`, all graphs at once.

        Args:
            columns: keep only these feature columns (e.g. ``slice(NUM_OPS, None)`` for the
                numeric ones), which saves memory on millions of nodes.
            chunk_nodes: nodes featurized per call (keeps the temporary full-width block in cache).
        """
        from archbench.graphs.pyg import NUM_FEATURES, NUMERIC_FEATURES, node_features, numeric_node_features

        n = int(self.node_ptr[-1])
        picked = np.arange(NUM_FEATURES)[columns] if columns is not None else np.arange(NUM_FEATURES)
        # Numeric columns only (what the GNN reads): skip building the wide op one-hot block.
        numeric = picked.size > 0 and picked.min() >= NUM_FEATURES - len(NUMERIC_FEATURES)
        out = np.empty((n, picked.size), dtype=np.float32)
        in_h = np.repeat(self.input_shape[:, 1], self.num_nodes)
        in_w = np.repeat(self.input_shape[:, 2], self.num_nodes)
        for a in range(0, max(n, 1), chunk_nodes):
            b = min(a + chunk_nodes, n)
            chunk = {k: v[a:b] for k, v in self.nodes.items()}
            if numeric:
                out[a:b] = numeric_node_features(chunk, (0, in_h[a:b], in_w[a:b]))[:, picked - (NUM_FEATURES - len(NUMERIC_FEATURES))]
            else:
                part = node_features(chunk, (0, in_h[a:b], in_w[a:b]))
                out[a:b] = part if columns is None else part[:, columns]
        return out

    def to_pyg_list(self) -> list:
        """One ``torch_geometric.data.Data`` per graph, like :func:`archbench.graphs.pyg.to_pyg` gives.

        Features are computed once for all nodes; each ``Data`` holds views into the shared tensors.
        """
        import torch
        from torch_geometric.data import Data

        x = torch.from_numpy(self.node_features())
        op = torch.from_numpy(self.nodes["op"].astype(np.int64))
        ei = torch.from_numpy(np.stack([self.src, self.dst]).astype(np.int64))
        ncount, ecount = self.num_nodes.tolist(), self.num_edges.tolist()
        params, flops = self.params, self.flops
        return [Data(x=xs, edge_index=es, op=os_, num_nodes=n, params=torch.tensor([int(p)]), flops=torch.tensor([int(f)]))
                for xs, es, os_, n, p, f in zip(torch.split(x, ncount), torch.split(ei, ecount, dim=1),
                                                torch.split(op, ncount), ncount, params, flops)]


# ---- labels -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LabelSpec:
    """Which metric rows give a label: the metric name plus optional filters (None: any).

    ``key`` names the label in extras and results, e.g. ``"test_accuracy@12"`` or ``"zc_synflow"``.
    """

    metric: str
    dataset: str | None = None
    source: str | None = None
    fidelity: float | None = None
    device: str | None = None

    @property
    def key(self) -> str:
        out = self.metric
        if self.fidelity is not None:
            out += f"@{self.fidelity:g}"
        if self.device is not None:
            out += f"#{self.device}"
        return out

    @classmethod
    def parse(cls, text: str, dataset: str | None = None) -> "LabelSpec":
        """``"[source/]metric[@fidelity][#device]"``, e.g. ``"nats_csv/test_accuracy@12"`` or ``"zc_synflow"``."""
        if not isinstance(text, str) or not text.strip():
            raise DataFormatError(f"label spec must look like '[source/]metric[@fidelity][#device]', found {text!r}")
        rest, source = text.strip(), None
        if "/" in rest:
            source, rest = rest.split("/", 1)
        device = None
        if "#" in rest:
            rest, device = rest.split("#", 1)
        fidelity = None
        if "@" in rest:
            rest, fid = rest.split("@", 1)
            try:
                fidelity = float(fid)
            except ValueError:
                raise DataFormatError(f"label spec {text!r}: fidelity after '@' must be a number, found {fid!r}") from None
        if not rest or source == "":
            raise DataFormatError(f"label spec {text!r} names no metric; expected '[source/]metric[@fidelity][#device]'")
        return cls(rest, dataset, source or None, fidelity, device or None)

    def describe(self) -> str:
        parts = [f"metric={self.metric}"]
        for name in ("dataset", "source", "fidelity", "device"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value}")
        return ", ".join(parts)


def _units_files(manifest: Manifest, table: str, space: str | None) -> list[str]:
    return [f for unit in sorted(manifest.units) if space is None or unit_space(unit) == space
            for f in manifest.units[unit].get(table, [])]


def _store(home: str | os.PathLike | Store | None) -> Store:
    return home if isinstance(home, Store) else Store(home)


def read_metric_rows(home: str | os.PathLike | Store | None, spec: LabelSpec, space: str | None = None) -> pd.DataFrame:
    """The metrics rows matching ``spec`` (and ``space``) as a DataFrame (pyarrow filters; no SQL)."""
    store = _store(home)
    manifest = store.manifest()
    files = [str(store.home / f) for f in _units_files(manifest, "metrics", space)]
    columns = ["arch_id", "space", "source", "dataset", "metric", "fidelity", "device", "value", "seed"]
    if not files:
        return pd.DataFrame({c: [] for c in columns})
    filters: list[tuple] = [("metric", "=", spec.metric)]
    for name in ("dataset", "source", "device"):
        if getattr(spec, name) is not None:
            filters.append((name, "=", getattr(spec, name)))
    if space is not None:
        filters.append(("space", "=", space))
    try:
        table = pq.read_table(files, columns=columns, filters=filters)
    except (pa.ArrowInvalid, OSError) as err:
        raise DataFormatError(f"cannot read the metrics table of {store.home}: {err}") from None
    df = table.to_pandas()
    if spec.fidelity is not None:
        df = df[np.isclose(df["fidelity"].to_numpy(dtype=float), spec.fidelity)]
    return df


def load_labels(home: str | os.PathLike | Store | None, spec: LabelSpec | str, *, space: str | None = None) -> pd.Series:
    """One label per architecture: float Series indexed by ``arch_id``.

    Rows are those of :func:`read_metric_rows`. They must come from one (source, dataset,
    fidelity, device) combination; several raise :class:`DataFormatError` listing them so the
    caller can add a filter. Per-seed rows of the same architecture are averaged.
    """
    spec = LabelSpec.parse(spec) if isinstance(spec, str) else spec
    df = read_metric_rows(home, spec, space)
    if df.empty:
        raise DataFormatError(f"no metrics rows match {spec.describe()}" + (f" in space {space!r}" if space else "")
                              + f" in {_store(home).home}; see `archbench query \"SELECT DISTINCT space, source, dataset, "
                              "metric, fidelity, device FROM metrics\"`")
    combo = ["source", "dataset", "fidelity", "device"]
    keyed = df[combo].astype(object).where(df[combo].notna(), None)
    groups = keyed.drop_duplicates()
    if len(groups) > 1:
        listing = "; ".join(", ".join(f"{c}={r[c]}" for c in combo) for _, r in groups.iterrows())
        raise DataFormatError(f"{spec.describe()} matches {len(groups)} label sets ({listing}); give source, dataset, "
                              "fidelity or device to pick one")
    return df.groupby("arch_id", sort=False)["value"].mean().rename(spec.key)


# ---- graphs from the tables ---------------------------------------------------------------------------

def _graph_index(chunk: pa.Array, lookup: pd.Index) -> np.ndarray:
    """Graph index (or -1) of every row of a (dictionary-encoded) ``arch_id`` column chunk."""
    if pa.types.is_dictionary(chunk.type):
        codes = lookup.get_indexer(chunk.dictionary.to_pandas())
        return codes[chunk.indices.to_numpy(zero_copy_only=False)]
    return lookup.get_indexer(chunk.to_pandas())


def _op_codes(chunk: pa.Array) -> np.ndarray:
    if pa.types.is_dictionary(chunk.type):
        table = np.array([get_op(str(name)).index for name in chunk.dictionary.to_pylist()], dtype=np.int16)
        return table[chunk.indices.to_numpy(zero_copy_only=False)]
    from archbench.graphs.pyg import op_indices

    return op_indices(chunk.to_numpy(zero_copy_only=False)).astype(np.int16)


def _read(paths: list[str], columns: list[str], dictionary: list[str], ids: Sequence[str] | None) -> pa.Table:
    filters = [("arch_id", "in", list(ids))] if ids is not None and len(ids) <= 20_000 else None
    try:
        return pq.read_table(paths, columns=columns, read_dictionary=dictionary, filters=filters)
    except (pa.ArrowInvalid, OSError) as err:
        raise DataFormatError(f"cannot read table files {paths[:2]}...: {err}") from None


def load_graphs(home: str | os.PathLike | Store | None = None, *, space: str | None = None,
                arch_ids: Sequence[str] | None = None, extras: Sequence[LabelSpec | str] = ()) -> GraphSet:
    """Graphs of the tables as a :class:`GraphSet`, in ``arch_ids`` order (default: table order).

    Args:
        home: data home (default: ``$ARCHBENCH_HOME`` or the user cache dir), or a :class:`Store`.
        space: only this space's graphs.
        arch_ids: only these architectures, in this order; an id not in the tables raises.
        extras: metric rows to attach as per-graph extras (see :func:`load_labels`; NaN if missing).
    """
    store = _store(home)
    manifest = store.manifest()
    files = {t: [str(store.home / f) for f in _units_files(manifest, t, space)] for t in ("archs", "nodes", "edges")}
    if not files["archs"]:
        raise DataFormatError(f"no graphs in {store.home}" + (f" for space {space!r}" if space else "")
                              + "; build them first: archbench build <space>")
    archs = pq.read_table(files["archs"], columns=["arch_id", "space", "encoding", "config", "num_nodes", "num_edges",
                                                   "input_channels", "input_height", "input_width", "num_classes",
                                                   "vocab_version"]).to_pandas()
    if arch_ids is not None:
        ids = pd.Index(np.asarray(list(arch_ids), dtype=object))
        pos = pd.Index(archs["arch_id"]).get_indexer(ids)
        if (pos < 0).any():
            missing = ids[pos < 0]
            raise DataFormatError(f"{len(missing)} architecture id(s) are not in the tables of {store.home}"
                                  + (f" (space {space!r})" if space else "") + f", e.g. {list(missing[:3])}")
        archs = archs.iloc[pos].reset_index(drop=True)
    if (archs["vocab_version"] > VOCAB_VERSION).any():
        raise DataFormatError(f"tables in {store.home} use op vocabulary v{int(archs['vocab_version'].max())}, newer "
                              f"than this archbench's v{VOCAB_VERSION}; upgrade archbench")
    lookup = pd.Index(archs["arch_id"])
    if not lookup.is_unique:
        raise DataFormatError("arch_ids must be unique; found repeats (use GraphSet.subset to repeat graphs)")
    g = len(archs)
    wanted = None if arch_ids is None else list(lookup)

    # Nodes: graph index per row from the dictionary-encoded id, then one stable sort by graph.
    node_table = _read(files["nodes"], ["arch_id", *NODE_FIELDS, "node"], ["arch_id", "op"], wanted)
    gidx = np.concatenate([_graph_index(c, lookup) for c in node_table.column("arch_id").chunks]) if node_table.num_rows else np.zeros(0, np.int64)
    node_no = node_table.column("node").to_numpy()
    keep = gidx >= 0
    gidx, node_no = gidx[keep], node_no[keep]
    key = gidx.astype(np.int64) * (int(node_no.max(initial=0)) + 1) + node_no
    order = None if key.size < 2 or (np.diff(key) > 0).all() else np.argsort(key, kind="stable")
    nodes: dict[str, np.ndarray] = {}
    for name in NODE_FIELDS:
        col = node_table.column(name)
        values = np.concatenate([_op_codes(c) for c in col.chunks]) if name == "op" else col.to_numpy()
        values = values[keep]
        nodes[name] = values if order is None else values[order]
    counts = np.bincount(gidx, minlength=g)
    if not np.array_equal(counts, archs["num_nodes"].to_numpy()):
        bad = int(np.flatnonzero(counts != archs["num_nodes"].to_numpy())[0])
        raise DataFormatError(f"nodes table holds {counts[bad]} nodes of {lookup[bad]}, but archs says {archs['num_nodes'][bad]}: "
                              "the data home is inconsistent; rebuild it")
    sorted_nodes = node_no if order is None else node_no[order]
    node_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    if not np.array_equal(sorted_nodes, np.arange(len(sorted_nodes)) - np.repeat(node_ptr[:-1], counts)):
        raise DataFormatError(f"nodes table of {store.home} has gaps or repeats in its node numbers; rebuild it")

    edge_table = _read(files["edges"], ["arch_id", "src", "dst"], ["arch_id"], wanted)
    egidx = np.concatenate([_graph_index(c, lookup) for c in edge_table.column("arch_id").chunks]) if edge_table.num_rows else np.zeros(0, np.int64)
    ekeep = egidx >= 0
    egidx = egidx[ekeep]
    # Stable: within a graph, edges keep file order (the graph's own edge order = argument order).
    eorder = None if egidx.size < 2 or (np.diff(egidx) >= 0).all() else np.argsort(egidx, kind="stable")
    src = edge_table.column("src").to_numpy()[ekeep]
    dst = edge_table.column("dst").to_numpy()[ekeep]
    if eorder is not None:
        src, dst = src[eorder], dst[eorder]
    ecounts = np.bincount(egidx, minlength=g)
    if not np.array_equal(ecounts, archs["num_edges"].to_numpy()):
        bad = int(np.flatnonzero(ecounts != archs["num_edges"].to_numpy())[0])
        raise DataFormatError(f"edges table holds {ecounts[bad]} edges of {lookup[bad]}, but archs says {archs['num_edges'][bad]}: "
                              "the data home is inconsistent; rebuild it")
    gs = GraphSet(
        arch_id=archs["arch_id"].to_numpy(dtype=object), space=archs["space"].to_numpy(dtype=object),
        encoding=archs["encoding"].to_numpy(dtype=object), config=archs["config"].fillna("").to_numpy(dtype=object),
        input_shape=archs[["input_channels", "input_height", "input_width"]].to_numpy(dtype=np.int64),
        num_classes=archs["num_classes"].to_numpy(dtype=np.int64),
        node_ptr=node_ptr, nodes=nodes,
        edge_ptr=np.concatenate([[0], np.cumsum(ecounts)]).astype(np.int64),
        src=src.astype(np.int32, copy=False), dst=dst.astype(np.int32, copy=False),
    )
    return attach_extras(gs, store, extras, space=space) if extras else gs


def attach_extras(graphs: GraphSet, home: str | os.PathLike | Store | None, specs: Sequence[LabelSpec | str],
                  *, space: str | None = None) -> GraphSet:
    """``graphs`` with one extra column per spec (metric values by ``arch_id``; NaN where missing)."""
    values = {}
    for spec in specs:
        spec = LabelSpec.parse(spec) if isinstance(spec, str) else spec
        labels = load_labels(home, spec, space=space)
        values[spec.key] = labels.reindex(pd.Index(graphs.arch_id)).to_numpy(dtype=np.float64)
    return graphs.with_extras(values)


def load_task(home: str | os.PathLike | Store | None, target: LabelSpec | str, *, space: str,
              extras: Sequence[LabelSpec | str] = ()) -> tuple[GraphSet, np.ndarray]:
    """Every labelled architecture of ``space`` and its label: ``(graphs, y)`` with ``y`` float64 ``(G,)``.

    Architectures are in table order; extras are attached (NaN where missing).
    """
    store = _store(home)
    target = LabelSpec.parse(target) if isinstance(target, str) else target
    labels = load_labels(store, target, space=space)
    files = [str(store.home / f) for f in _units_files(store.manifest(), "archs", space)]
    if not files:
        raise DataFormatError(f"no graphs of space {space!r} in {store.home}; build them first: archbench build {space}")
    table_ids = pq.read_table(files, columns=["arch_id"]).column("arch_id").to_pandas()
    ids = table_ids[table_ids.isin(labels.index)].tolist()
    if not ids:
        raise DataFormatError(f"none of the {len(table_ids)} {space} graphs has a label for {target.describe()}")
    graphs = load_graphs(store, space=space, arch_ids=ids, extras=extras)
    return graphs, labels.reindex(pd.Index(ids)).to_numpy(dtype=np.float64)


# ---- what a predictor accepts ---------------------------------------------------------------------------

def _is_duckdb_relation(x: Any) -> bool:
    return type(x).__module__.startswith("duckdb") and hasattr(x, "df") and hasattr(x, "columns")


def as_graphset(X: Any, *, space: str | None = None, home: str | os.PathLike | Store | None = None,
                config: str | None = None, extras: Sequence[str] = ()) -> GraphSet:
    """Turn any input a predictor accepts into a :class:`GraphSet`.

    Accepted ``X``:

    * a :class:`GraphSet` (returned as is);
    * a :class:`ComputationGraph` or a sequence of them;
    * native encodings (strings or the space's architecture values) with ``space`` given: their
      graphs are built with ``get_space(space).build_cg(arch, config)``;
    * rows of the tables: a pandas DataFrame, a pyarrow Table or a DuckDB relation with an
      ``arch_id`` column; graphs are loaded from the data home ``home``.

    ``extras`` are per-graph values a predictor needs (e.g. ``"zc_synflow"``): taken from ``X``'s
    own columns of that name when it is a table, else from the home's metrics table; a GraphSet
    must already carry them; a list of graphs cannot, and raises.
    """
    extras = list(extras)
    if isinstance(X, GraphSet):
        gs = X
    elif isinstance(X, ComputationGraph):
        gs = GraphSet.from_graphs([X])
    elif _is_duckdb_relation(X) or isinstance(X, (pd.DataFrame, pa.Table)):
        frame = X.df() if _is_duckdb_relation(X) else (X.to_pandas() if isinstance(X, pa.Table) else X)
        if "arch_id" not in frame.columns:
            raise DataFormatError(f"a table given to a predictor needs an 'arch_id' column (rows of archs/metrics); "
                                  f"found columns {list(frame.columns)}")
        own = [e for e in extras if e in frame.columns]
        gs = load_graphs(home, space=space, arch_ids=frame["arch_id"].tolist(),
                         extras=[e for e in extras if e not in own])
        if own:
            gs = gs.with_extras({e: frame[e].to_numpy(dtype=np.float64) for e in own})
    elif isinstance(X, (list, tuple, np.ndarray, pd.Series)):
        items = list(X)
        if items and all(isinstance(g, ComputationGraph) for g in items):
            gs = GraphSet.from_graphs(items)
        elif space is not None:
            from archbench.graphs.spaces import get_space

            sp = get_space(space)
            archs = [sp.coerce(a) for a in items]
            gs = GraphSet.from_graphs([sp.build_cg(a, config) for a in archs], arch_ids=[sp.arch_id(a, config) for a in archs])
        elif not items:
            raise DataFormatError("got an empty sequence; expected ComputationGraphs or native encodings with space=...")
        else:
            raise DataFormatError(f"a sequence of {type(items[0]).__name__} needs space=... to be read as native encodings; "
                                  "expected ComputationGraphs, or encodings with space='nb201' (say)")
    else:
        raise DataFormatError(f"cannot read predictor input of type {type(X).__name__}; expected a GraphSet, "
                              "ComputationGraph(s), native encodings with space=..., or a DataFrame / pyarrow Table / "
                              "DuckDB relation with an 'arch_id' column")
    missing = [e for e in extras if e not in gs.extras]
    if missing:
        raise DataFormatError(f"this predictor needs per-graph values {missing}, which the input does not carry "
                              f"(it has {sorted(gs.extras) or 'none'}); pass rows of the tables (arch_id) with a data home "
                              "that has these metrics, or a GraphSet from load_graphs(..., extras=[...])")
    return gs


__all__ = ["GraphSet", "LabelSpec", "as_graphset", "attach_extras", "load_graphs", "load_labels", "load_task",
           "read_metric_rows"]
