"""Graph neural network (PyTorch Geometric) on the computation graph.

Node inputs are an embedding of the op (one vocabulary for every space) plus a projection of
the normalized node attributes of :func:`archbench.graphs.pyg.node_features` (channels, relative
resolution, kernel, stride, params, FLOPs, ...) and the node's place in the network's live
paths (:func:`~archbench.predictors.features.node_structure_features`). Dead nodes (``zero`` ops
and branches that only feed them) compute nothing and are dropped (``prune_dead``).

Each layer passes messages along the edges *and* against them (two aggregations, so a node
knows both what feeds it and what it feeds), with a residual connection. Layers: ``"gin"``
(GIN with one MLP over [self, incoming sum, outgoing sum]), ``"gat"`` or ``"graphconv"`` (PyG's
GATConv / GraphConv, one per direction). Graph readout is mean and max pooling, joined with the
log params and FLOPs and any per-graph extras, then an MLP.

Training minimizes MSE on standardized targets plus a pairwise logistic ranking loss over the
pairs of each mini-batch, with AdamW and a cosine schedule over a fixed budget (at least
``min_steps`` steps), optionally early stopping on a validation split's Kendall tau, and an
ensemble of ``n_ensemble`` seeds (each with its own split) whose predictions are averaged.

Mini-batches are cut straight out of the flat arrays of a :class:`GraphSet` (numpy index
arithmetic, no per-graph Python loop, no per-graph ``Data`` objects); the sparse adjacency of all
graphs is sorted and coalesced once per set, so a batch needs no sort. A set's node inputs are
computed once and cached on it, so predicting on its subsets costs only the forward passes.
"""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
from torch import nn

from archbench.datasets.views import GraphSet, _ranges
from archbench.errors import DataFormatError
from archbench.graphs.ops import NUM_OPS, OPS

from .base import PREDICTORS, Predictor, TargetScaler, torch_threads, validation_split
from .features import NODE_STRUCTURE_FEATURES, graph_structure, node_structure_features, raw_features

_WEIGHTS_FILE = "weights.pt"
_NODE_KEY = "predictors.gnn.nodes"
CONVS = ("gin", "gat", "graphconv")
_IO_OPS = (OPS["input"].index, OPS["output"].index)  # kept even in a dead network


# ---- inputs -------------------------------------------------------------------------------------------

@dataclass
class NodeInputs:
    """Per-node GNN inputs of a GraphSet (cached on it): numeric features, op index, liveness."""

    x: np.ndarray      # float32 (N, F): numeric node features + structure features
    op: np.ndarray     # int64 (N,)
    live: np.ndarray   # bool (N,)

    def take(self, graph_index: np.ndarray, node_index: np.ndarray) -> "NodeInputs":
        return NodeInputs(self.x[node_index], self.op[node_index], self.live[node_index])

    @classmethod
    def concat(cls, parts: Sequence["NodeInputs"]) -> "NodeInputs":
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("x", "op", "live")))


def node_inputs(graphs: GraphSet) -> NodeInputs:
    """The node inputs of every graph (computed once per GraphSet, then taken from its cache)."""
    cached = graphs.cache.get(_NODE_KEY)
    if cached is not None:
        return cached
    st = graph_structure(graphs)
    numeric = graphs.node_features(columns=slice(NUM_OPS, None))
    x = np.concatenate([numeric, node_structure_features(graphs, st)], axis=1)
    inputs = NodeInputs(x, graphs.nodes["op"].astype(np.int64), st.live | np.isin(graphs.nodes["op"], _IO_OPS))
    graphs.cache[_NODE_KEY] = inputs
    return inputs


class _Adjacency:
    """One edge direction of every graph as coalesced sparse-matrix entries, built once per set.

    Entries ``(row, col, count)`` are sorted by row then column with repeated edges counted, per
    graph in graph order (``ptr``); a batch's matrix is then a concatenation of its graphs' runs
    with shifted unit numbers, already coalesced: no sort per batch.
    """

    def __init__(self, rows: np.ndarray, cols: np.ndarray, num_units: int, unit_ptr: np.ndarray) -> None:
        key = np.sort(rows * max(num_units, 1) + cols)
        first = np.empty(key.size, dtype=bool)
        first[:1] = True
        np.not_equal(key[1:], key[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        uniq = key[starts]
        self.rows, self.cols = uniq // max(num_units, 1), uniq % max(num_units, 1)
        self.counts = torch.from_numpy(np.diff(np.append(starts, key.size)).astype(np.float32))
        graph = np.searchsorted(unit_ptr, self.rows, side="right") - 1
        self.ptr = np.concatenate([[0], np.cumsum(np.bincount(graph, minlength=len(unit_ptr) - 1))]).astype(np.int64)

    def take(self, index: np.ndarray, unit_shift: np.ndarray, num_units: int) -> torch.Tensor:
        """``[units, units]`` sparse COO matrix of graphs ``index``, their units shifted by ``unit_shift``."""
        counts = self.ptr[index + 1] - self.ptr[index]
        entries = _ranges(self.ptr[index], counts)
        shift = np.repeat(unit_shift, counts)
        indices = torch.from_numpy(np.stack([self.rows[entries] + shift, self.cols[entries] + shift]))
        return torch.sparse_coo_tensor(indices, self.counts[torch.from_numpy(entries)], (num_units, num_units),
                                       is_coalesced=True, check_invariants=False)


@dataclass
class GraphBatch:
    """A mini-batch as one disjoint-union graph of *units* (contracted chains of nodes).

    ``x``/``op`` are the member nodes' inputs, ``member`` the unit of each node (long ``[N]``),
    ``num_units`` the number of units ``U``, ``adj_in`` is ``[U, U]`` sparse with a row per target
    (PyG's ``adj_t``), ``adj_out`` its transpose, ``edge_index`` the same edges as ``[2, E]``,
    ``batch`` the graph of each unit, ``gx`` graph features.
    """

    x: torch.Tensor
    op: torch.Tensor
    member: torch.Tensor
    num_units: int
    adj_in: torch.Tensor
    adj_out: torch.Tensor
    edge_index: torch.Tensor
    batch: torch.Tensor
    gx: torch.Tensor


class Packed:
    """Flat arrays of a GraphSet ready to cut mini-batches from.

    Dead nodes are dropped (``prune_dead``) and chains are contracted (``contract``): a node with
    one input whose producer feeds only it (``relu -> conv -> batch_norm``) joins its producer's
    *unit*; message passing then runs over units, whose state starts as the sum of their member
    nodes' embeddings. Whole-network graphs shrink about 2-3x with no loss of topology.
    """

    def __init__(self, graphs: GraphSet, prune_dead: bool, contract: bool, graph_features: np.ndarray) -> None:
        inputs = node_inputs(graphs)
        keep = inputs.live if prune_dead else np.ones(len(inputs.op), dtype=bool)
        gsrc, gdst = graphs.global_edges()
        ekeep = keep[gsrc] & keep[gdst]
        new_index = np.cumsum(keep) - 1
        n1 = int(keep.sum())
        src, dst = new_index[gsrc[ekeep]], new_index[gdst[ekeep]]
        node_graph = graphs.node_graph[keep]
        op = inputs.op[keep]
        self.num_graphs = len(graphs)
        counts = np.bincount(node_graph, minlength=self.num_graphs)
        self.node_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        # Chains: edge u -> v joins v to u's unit when u has one consumer and v one producer.
        parent = np.arange(n1)
        if contract and src.size:
            outdeg, indeg = np.bincount(src, minlength=n1), np.bincount(dst, minlength=n1)
            chain = (outdeg[src] == 1) & (indeg[dst] == 1) & ~np.isin(op[src], _IO_OPS) & ~np.isin(op[dst], _IO_OPS)
            parent[dst[chain]] = src[chain]
            while True:  # pointer jumping: every node points at its chain's first node
                nxt = parent[parent]
                if np.array_equal(nxt, parent):
                    break
                parent = nxt
        is_root = parent == np.arange(n1)
        unit_of_root = np.cumsum(is_root) - 1
        self.unit = unit = unit_of_root[parent]  # unit of every kept node (units are in node order)
        self.x = torch.from_numpy(inputs.x[keep])
        self.op = torch.from_numpy(op)
        ucounts = np.bincount(node_graph[is_root], minlength=self.num_graphs)
        self.unit_ptr = np.concatenate([[0], np.cumsum(ucounts)]).astype(np.int64)
        cross = unit[src] != unit[dst]
        self.esrc, self.edst = unit[src[cross]], unit[dst[cross]]
        ecounts = np.bincount(node_graph[src[cross]], minlength=self.num_graphs)
        self.edge_ptr = np.concatenate([[0], np.cumsum(ecounts)]).astype(np.int64)
        units = int(self.unit_ptr[-1])
        self.adj_in = _Adjacency(self.edst, self.esrc, units, self.unit_ptr)   # a row per target (PyG's adj_t)
        self.adj_out = _Adjacency(self.esrc, self.edst, units, self.unit_ptr)
        self.gx = torch.from_numpy(graph_features.astype(np.float32))

    @property
    def num_units(self) -> int:
        return int(self.unit_ptr[-1])

    def batch(self, index: np.ndarray) -> GraphBatch:
        """The graphs ``index`` as one disjoint-union graph (numpy index arithmetic only, no sort)."""
        ncounts = self.node_ptr[index + 1] - self.node_ptr[index]
        ucounts = self.unit_ptr[index + 1] - self.unit_ptr[index]
        ecounts = self.edge_ptr[index + 1] - self.edge_ptr[index]
        nodes = _ranges(self.node_ptr[index], ncounts)
        edges = _ranges(self.edge_ptr[index], ecounts)
        ushift = np.cumsum(ucounts) - ucounts - self.unit_ptr[index]  # global unit -> batch unit
        units = int(ucounts.sum())
        member = self.unit[nodes] + np.repeat(ushift, ncounts)
        eshift = np.repeat(ushift, ecounts)
        s, d = self.esrc[edges] + eshift, self.edst[edges] + eshift
        nodes_t = torch.from_numpy(nodes)
        return GraphBatch(
            x=self.x[nodes_t], op=self.op[nodes_t], member=torch.from_numpy(member), num_units=units,
            adj_in=self.adj_in.take(index, ushift, units), adj_out=self.adj_out.take(index, ushift, units),
            edge_index=torch.from_numpy(np.stack([s, d])),
            batch=torch.from_numpy(np.repeat(np.arange(len(index), dtype=np.int64), ucounts)),
            gx=self.gx[torch.from_numpy(index)])


# ---- the network --------------------------------------------------------------------------------------

def _directed_gin_layer(hidden: int):
    from torch_geometric.nn import MessagePassing

    class DirectedGINConv(MessagePassing):
        """GIN over both edge directions: ``MLP([x, sum of predecessors, sum of successors])``.

        Aggregation is one sparse-dense product per direction (PyG's fused
        ``message_and_aggregate`` path), much faster on CPU than gathering a message per edge.
        """

        def __init__(self) -> None:
            super().__init__(aggr="add")
            self.mlp = nn.Sequential(nn.Linear(3 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, hidden))

        def forward(self, x: torch.Tensor, b: GraphBatch) -> torch.Tensor:
            incoming = self.propagate(b.adj_in, x=x)
            outgoing = self.propagate(b.adj_out, x=x)
            return self.mlp(torch.cat([x, incoming, outgoing], dim=1))

        def message_and_aggregate(self, adj_t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
            return torch.sparse.mm(adj_t, x)

    return DirectedGINConv()


class _TwoWay(nn.Module):
    """A PyG conv per edge direction, joined by a linear layer with the node's own state."""

    def __init__(self, make, hidden: int) -> None:
        super().__init__()
        self.fwd, self.bwd = make(), make()
        self.join = nn.Linear(3 * hidden, hidden)

    def forward(self, x: torch.Tensor, b: GraphBatch) -> torch.Tensor:
        ei = b.edge_index
        return self.join(torch.cat([x, self.fwd(x, ei), self.bwd(x, ei.flip(0))], dim=1))


def _make_layer(conv: str, hidden: int) -> nn.Module:
    from torch_geometric.nn import GATConv, GraphConv

    if conv == "gin":
        return _directed_gin_layer(hidden)
    if conv == "gat":
        return _TwoWay(lambda: GATConv(hidden, hidden, heads=1, add_self_loops=False), hidden)
    if conv == "graphconv":
        return _TwoWay(lambda: GraphConv(hidden, hidden, aggr="add"), hidden)
    raise ValueError(f"unknown conv {conv!r}; expected one of: {', '.join(CONVS)}")


class CGNet(nn.Module):
    """Op embedding + attribute projection -> sum over chain units -> directed message passing ->
    mean/max pool with graph features -> MLP."""

    def __init__(self, *, num_ops: int, node_dim: int, graph_dim: int, hidden: int, layers: int, conv: str,
                 dropout: float) -> None:
        super().__init__()
        self.num_ops = num_ops
        self.op_embedding = nn.Embedding(num_ops + 1, hidden)  # last row: an op newer than the model
        self.node_proj = nn.Linear(node_dim, hidden)
        self.layers = nn.ModuleList(_make_layer(conv, hidden) for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Sequential(nn.Linear(2 * hidden + graph_dim, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, b: GraphBatch) -> torch.Tensor:
        from torch_geometric.nn import global_max_pool, global_mean_pool

        op = torch.where(b.op < self.num_ops, b.op, torch.full_like(b.op, self.num_ops))
        nodes = self.op_embedding(op) + self.node_proj(b.x)
        # Sum of member nodes per unit, in node order (index_add: no sparse matrix to build or sort).
        h = torch.zeros(b.num_units, nodes.shape[1], dtype=nodes.dtype).index_add_(0, b.member, nodes)
        h = torch.relu(h)
        for layer, norm in zip(self.layers, self.norms):
            h = norm(h + self.dropout(torch.relu(layer(h, b))))
        size = b.gx.shape[0]
        pooled = torch.cat([global_mean_pool(h, b.batch, size), global_max_pool(h, b.batch, size), b.gx], dim=1)
        return self.head(pooled).squeeze(-1)


def pairwise_rank_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean logistic loss over ordered pairs: ``log(1 + exp(-(p_i - p_j)))`` for every ``y_i > y_j``."""
    dy = target[:, None] - target[None, :]
    dp = pred[:, None] - pred[None, :]
    mask = dy > 0
    if not mask.any():
        return pred.sum() * 0.0
    return nn.functional.softplus(-dp[mask]).mean()


# ---- the predictor --------------------------------------------------------------------------------------

@PREDICTORS.register("gnn")
class GNNPredictor(Predictor):
    """A GNN on computation graphs (see the module docstring).

    Args:
        conv: ``"gin"``, ``"gat"`` or ``"graphconv"``.
        hidden: width of node states.
        layers: message-passing layers.
        dropout: dropout on layer outputs.
        epochs: most training epochs per ensemble member, raised for small training sets so that
            there are at least ``min_steps`` mini-batch steps.
        min_steps: the fewest optimizer steps a small training set gets (epochs are raised to reach it).
        batch_size: graphs per mini-batch.
        lr, weight_decay: AdamW parameters.
        rank_weight: weight of the pairwise ranking loss next to the MSE.
        patience: stop after this many epochs without a better validation Kendall tau.
        validation_fraction: share of the training graphs held out for early stopping (0: none,
            train the whole cosine schedule). Off by default: on NB201 with 50-1000 training
            graphs, validation sets of that size were too noisy and stopping cost 0.01-0.06 tau.
        n_ensemble: members trained with seeds ``seed, seed + 1, ...``; predictions are averaged.
        prune_dead: drop nodes on no live input -> output path.
        contract_chains: run message passing over contracted single-input/single-consumer chains.
        global_features: graph-level inputs joined to the pooled node states: ``"cg"`` (the
            :data:`~archbench.predictors.features.BASE_FEATURES`: params, FLOPs, live-path depth
            statistics, per-stage shapes) or ``"basic"`` (log params and FLOPs only).
        extras: per-graph extras appended to the graph-level inputs (standardized; NaN -> mean).
        seed: seeds initialization, batching and the validation split.
        n_jobs: torch threads while fitting/predicting (None: leave torch's setting). One is the
            default: small sparse batches gain little from threads and lose much when cores are shared.
        finetune_epochs: epochs of :meth:`fine_tune` on new labelled graphs.
    """

    name = "gnn"
    description = "PyG GNN on the CG (op embedding + attributes, directed GIN/GAT/GraphConv, MSE + ranking loss)"

    def __init__(self, *, conv: str = "gin", hidden: int = 32, layers: int = 3, dropout: float = 0.0,
                 epochs: int = 30, min_steps: int = 300, batch_size: int = 32, lr: float = 5e-3,
                 weight_decay: float = 1e-4, rank_weight: float = 1.0, patience: int = 10,
                 validation_fraction: float = 0.0,
                 n_ensemble: int = 1, prune_dead: bool = True, contract_chains: bool = True,
                 global_features: str = "cg", extras: Sequence[str] = (), seed: int = 0,
                 n_jobs: int | None = 1, finetune_epochs: int = 30) -> None:
        self.conv = conv
        self.hidden = hidden
        self.layers = layers
        self.dropout = dropout
        self.epochs = epochs
        self.min_steps = min_steps
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.rank_weight = rank_weight
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.n_ensemble = n_ensemble
        self.prune_dead = prune_dead
        self.contract_chains = contract_chains
        self.global_features = global_features
        self.extras = extras
        self.seed = seed
        self.n_jobs = n_jobs
        self.finetune_epochs = finetune_epochs

    @property
    def required_extras(self) -> tuple[str, ...]:
        return tuple(self.extras)

    # ---- inputs -------------------------------------------------------------------------------------
    def prepare(self, graphs: GraphSet) -> GraphSet:
        node_inputs(graphs)
        if self.global_features == "cg":
            raw_features(graphs)
        return graphs

    def _graph_features(self, graphs: GraphSet, fit: bool) -> np.ndarray:
        """Graph-level inputs joined to the pooled node states, standardized with training statistics."""
        if self.global_features == "basic":
            cols = [np.log1p(graphs.params.astype(np.float64)), np.log1p(graphs.flops.astype(np.float64))]
            base = np.stack(cols, axis=1)
        elif self.global_features == "cg":
            base = raw_features(graphs).base.astype(np.float64)
        else:
            raise ValueError(f"global_features must be 'basic' or 'cg', found {self.global_features!r}")
        parts = [base] + ([np.stack([graphs.extras[e] for e in self.extras], axis=1)] if self.extras else [])
        gx = np.concatenate(parts, axis=1)
        if fit:
            self.gx_mean_ = np.nan_to_num(np.nanmean(gx, axis=0), nan=0.0).tolist()
            self.gx_std_ = [float(v) if v > 1e-12 else 1.0 for v in np.nan_to_num(np.nanstd(gx, axis=0), nan=1.0)]
        if gx.shape[1] != len(self.gx_mean_):
            raise DataFormatError(f"graph features have {gx.shape[1]} columns, the fitted GNN expects {len(self.gx_mean_)}")
        gx = (gx - np.asarray(self.gx_mean_)) / np.asarray(self.gx_std_)
        return np.clip(np.nan_to_num(gx, nan=0.0), -10.0, 10.0)  # NaN extras: the training mean

    def _config(self) -> dict:
        return {"num_ops": self.num_ops_, "node_dim": self.node_dim_, "graph_dim": self.graph_dim_,
                "hidden": self.hidden, "layers": self.layers, "conv": self.conv, "dropout": self.dropout}

    # ---- training -----------------------------------------------------------------------------------
    def _fit(self, graphs: GraphSet, y: np.ndarray) -> None:
        if self.conv not in CONVS:
            raise ValueError(f"unknown conv {self.conv!r}; expected one of: {', '.join(CONVS)}")
        self.scaler_ = TargetScaler("standard").fit(y)
        z = self.scaler_.transform(y)
        gx = self._graph_features(graphs, fit=True)
        packed = Packed(graphs, self.prune_dead, self.contract_chains, gx)
        self.num_ops_ = NUM_OPS
        self.node_dim_ = int(packed.x.shape[1])
        self.graph_dim_ = int(gx.shape[1])
        self.models_ = []
        self.best_epochs_ = []
        with torch_threads(self.n_jobs), torch.random.fork_rng(devices=[]):
            for k in range(self.n_ensemble):
                seed = self.seed + k
                torch.manual_seed(seed)
                model = CGNet(**self._config())
                tr, va = validation_split(len(y), self.validation_fraction, seed)
                epochs = max(self.epochs, math.ceil(self.min_steps / max(1, math.ceil(len(tr) / self.batch_size))))
                best = self._train(model, packed, z, tr, va, epochs, self.lr, seed)
                self.models_.append(model)
                self.best_epochs_.append(best)

    def _train(self, model: CGNet, packed: Packed, z: np.ndarray, tr: np.ndarray, va: np.ndarray, epochs: int,
               lr: float, seed: int) -> int:
        from scipy.stats import kendalltau

        rng = np.random.default_rng(seed)
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=self.weight_decay)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(epochs, 1))
        target = torch.from_numpy(z.astype(np.float32))
        best_tau, best_epoch, best_state, waited = -np.inf, 0, None, 0
        for epoch in range(epochs):
            model.train()
            order = tr[rng.permutation(len(tr))]
            for start in range(0, len(order), self.batch_size):
                idx = order[start:start + self.batch_size]
                if len(idx) < 2 and len(order) > 1:
                    continue  # a single-graph batch has no pairs to rank and skews the MSE
                pred = model(packed.batch(idx))
                t = target[torch.from_numpy(idx)]
                loss = nn.functional.mse_loss(pred, t) + self.rank_weight * pairwise_rank_loss(pred, t)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            sched.step()
            if va.size:
                pv = self._forward(model, packed, va)
                tau = kendalltau(z[va], pv).statistic
                tau = -np.inf if not np.isfinite(tau) else tau
                if tau > best_tau:
                    best_tau, best_epoch, waited = tau, epoch + 1, 0
                    best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                else:
                    waited += 1
                    if waited >= self.patience:
                        break
        if best_state is not None:
            model.load_state_dict(best_state)
            return best_epoch
        return epochs

    def _forward(self, model: CGNet, packed: Packed, index: np.ndarray, chunk_nodes: int = 1 << 17) -> np.ndarray:
        """Predictions for graphs ``index`` in chunks of about ``chunk_nodes`` nodes."""
        model.eval()
        out = np.empty(len(index), dtype=np.float64)
        sizes = packed.node_ptr[index + 1] - packed.node_ptr[index]  # work ~ member nodes
        bounds = [0]
        acc = 0
        for i, s in enumerate(sizes.tolist()):
            acc += s
            if acc >= chunk_nodes:
                bounds.append(i + 1)
                acc = 0
        if bounds[-1] != len(index):
            bounds.append(len(index))
        with torch.inference_mode():
            for a, b in zip(bounds[:-1], bounds[1:]):
                out[a:b] = model(packed.batch(index[a:b])).numpy()
        return out

    def _predict(self, graphs: GraphSet) -> np.ndarray:
        gx = self._graph_features(graphs, fit=False)
        with torch_threads(self.n_jobs):
            packed = Packed(graphs, self.prune_dead, self.contract_chains, gx)
            index = np.arange(len(graphs))
            z = np.mean([self._forward(m, packed, index) for m in self.models_], axis=0)
        return self.scaler_.inverse(z)

    def _fine_tune(self, graphs: GraphSet, y: np.ndarray) -> None:
        """Continue training every member on the new graphs (lower learning rate, no early stopping)."""
        self.scaler_ = TargetScaler("standard").fit(y)
        z = self.scaler_.transform(y)
        packed = Packed(graphs, self.prune_dead, self.contract_chains, self._graph_features(graphs, fit=False))
        with torch_threads(self.n_jobs), torch.random.fork_rng(devices=[]):
            for k, model in enumerate(self.models_):
                torch.manual_seed(self.seed + 1000 + k)
                self._train(model, packed, z, np.arange(len(y)), np.zeros(0, np.int64), self.finetune_epochs,
                            self.lr / 3, self.seed + 1000 + k)

    # ---- persistence --------------------------------------------------------------------------------
    def _get_state(self) -> dict:
        state = {"config": self._config(), "scaler": self.scaler_.get_state(), "best_epochs": self.best_epochs_,
                 "node_features": "pyg.NUMERIC_FEATURES+" + ",".join(NODE_STRUCTURE_FEATURES)}
        state.update(gx_mean=self.gx_mean_, gx_std=self.gx_std_)
        return state

    def _set_state(self, state: dict) -> None:
        cfg = state["config"]
        self.num_ops_, self.node_dim_, self.graph_dim_ = int(cfg["num_ops"]), int(cfg["node_dim"]), int(cfg["graph_dim"])
        self.scaler_ = TargetScaler.from_state(state["scaler"])
        self.best_epochs_ = list(state["best_epochs"])
        self.gx_mean_, self.gx_std_ = list(state["gx_mean"]), list(state["gx_std"])
        self._pending_config = cfg

    def _save_files(self, directory: Path) -> None:
        weights = {f"member{k}.{name}": t for k, m in enumerate(self.models_) for name, t in m.state_dict().items()}
        buf = io.BytesIO()
        torch.save(weights, buf)
        (directory / _WEIGHTS_FILE).write_bytes(buf.getvalue())

    def _load_files(self, directory: Path) -> None:
        path = directory / _WEIGHTS_FILE
        if not path.is_file():
            raise DataFormatError(f"{directory} lacks {_WEIGHTS_FILE}: the saved GNN predictor is incomplete")
        weights = torch.load(path, weights_only=True, map_location="cpu")
        cfg = self._pending_config
        members = sorted({key.split(".", 1)[0] for key in weights}, key=lambda m: int(m[len("member"):]))
        self.models_ = []
        for member in members:
            model = CGNet(num_ops=int(cfg["num_ops"]), node_dim=int(cfg["node_dim"]), graph_dim=int(cfg["graph_dim"]),
                          hidden=int(cfg["hidden"]), layers=int(cfg["layers"]), conv=str(cfg["conv"]),
                          dropout=float(cfg["dropout"]))
            prefix = member + "."
            model.load_state_dict({k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)})
            model.eval()
            self.models_.append(model)
        if len(self.models_) != len(self.best_epochs_):
            raise DataFormatError(f"{path} holds {len(self.models_)} ensemble members, predictor.json says {len(self.best_epochs_)}")


__all__ = ["CGNet", "CONVS", "GNNPredictor", "GraphBatch", "NodeInputs", "Packed", "node_inputs", "pairwise_rank_loss"]
