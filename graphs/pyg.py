"""Node features and conversion of computation graphs to PyTorch Geometric ``Data``.

Features are computed column-wise with numpy from node columns (``graph.nodes``, a pandas
DataFrame of the nodes table, or any mapping ``field -> sequence``), so a table of many graphs'
nodes is featurized without a Python loop per node.

Feature layout (:data:`FEATURE_NAMES`, ``F = NUM_OPS + 12`` columns, float32):

* ``op=<name>`` for every op of the vocabulary in index order: one-hot of the node's op;
* ``log2_c_in``, ``log2_c_out``: ``log2(1 + channels) / 16`` (65,535 channels -> 1);
* ``h_out_rel``, ``w_out_rel``: output height / width divided by the network input's;
* ``log2_kernel``, ``log2_stride``, ``log2_padding``, ``log2_dilation``: ``log2(1 + value) / 4``
  (value 15 -> 1; 0 where the attribute does not apply);
* ``depthwise``: 1 for a ``dwconv``, or a ``conv`` whose groups equal its input channels (> 1);
* ``bias``: 1 for a conv/linear with bias or an affine norm;
* ``log_params``: ``ln(1 + params) / 20`` (485M parameters -> 1);
* ``log_flops``: ``ln(1 + flops) / 25`` (72G FLOPs -> 1).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

import numpy as np
import torch

from archbench.errors import DataFormatError, UnknownOpError

from .ops import NUM_OPS, OP_NAMES, OPS, VOCAB_VERSION, get_op

if TYPE_CHECKING:
    from torch_geometric.data import Batch, Data

    from .cg import ComputationGraph

_CHANNEL_SCALE = 16.0  # log2(1 + 65535)
_ATTR_SCALE = 4.0  # log2(1 + 15)
_PARAMS_SCALE = 20.0
_FLOPS_SCALE = 25.0

#: Numeric features after the op one-hot, in column order.
NUMERIC_FEATURES: tuple[str, ...] = (
    "log2_c_in", "log2_c_out", "h_out_rel", "w_out_rel", "log2_kernel", "log2_stride", "log2_padding",
    "log2_dilation", "depthwise", "bias", "log_params", "log_flops",
)
#: Every feature column, in order: op one-hot (vocabulary index order), then the numeric features.
FEATURE_NAMES: tuple[str, ...] = tuple(f"op={name}" for name in OP_NAMES) + NUMERIC_FEATURES
NUM_FEATURES = len(FEATURE_NAMES)
#: Node columns :func:`node_features` reads.
FEATURE_COLUMNS: tuple[str, ...] = (
    "op", "kernel", "stride", "padding", "dilation", "groups", "bias", "c_in", "c_out", "h_out", "w_out",
    "params", "flops",
)


def op_indices(ops: Sequence[str] | np.ndarray) -> np.ndarray:
    """Vocabulary index of every op name, int64 ``(N,)``; an unknown name raises :class:`UnknownOpError`.

    An integer array is taken as vocabulary indices already (checked, returned as int64): tables
    of millions of nodes keep ops as integers, and sorting that many strings takes seconds.
    """
    if isinstance(ops, np.ndarray) and ops.dtype.kind in "iu":
        idx = ops.astype(np.int64, copy=False).reshape(-1)
        bad = (idx < 0) | (idx >= NUM_OPS)
        if bad.any():
            raise UnknownOpError(f"op index {int(idx[bad][0])} is outside the vocabulary v{VOCAB_VERSION} "
                                 f"(expected 0..{NUM_OPS - 1}: {', '.join(OP_NAMES)})")
        return idx
    names = np.asarray(ops, dtype=object)
    if names.size == 0:
        return np.zeros(0, dtype=np.int64)
    uniq, inverse = np.unique(names, return_inverse=True)
    # One dict lookup per distinct name (a few dozen at most), not per node.
    table = np.array([get_op(str(name)).index for name in uniq], dtype=np.int64)
    return table[inverse.reshape(-1)]


def node_features(columns: Mapping[str, Sequence], input_shape: Sequence) -> np.ndarray:
    """Feature matrix of nodes given as columns (see :data:`FEATURE_NAMES`).

    Args:
        columns: ``field -> sequence`` with the fields of :data:`FEATURE_COLUMNS`, e.g.
            ``graph.nodes`` or a pandas DataFrame of the nodes table.
        input_shape: the network's input ``(C, H, W)``; ``H`` and ``W`` may also be arrays of
            length N (one per node) to featurize the nodes of many graphs at once.

    Returns:
        float32 array ``(N, F)`` with ``F = len(FEATURE_NAMES)``.
    """
    numeric, op = _numeric(columns, input_shape)
    x = np.zeros((op.shape[0], NUM_FEATURES), dtype=np.float32)
    x[np.arange(op.shape[0]), op] = 1.0
    x[:, NUM_OPS:] = numeric
    return x


def numeric_node_features(columns: Mapping[str, Sequence], input_shape: Sequence) -> np.ndarray:
    """The numeric columns of :func:`node_features` (:data:`NUMERIC_FEATURES`, no op one-hot), float32 ``(N, 12)``.

    Same arguments as :func:`node_features`; for millions of nodes this skips the wide one-hot block.
    """
    return _numeric(columns, input_shape)[0]


def _log2_1p(values: np.ndarray, scale: float) -> np.ndarray:
    """``log2(1 + values) / scale`` in float64; small non-negative integers through a lookup table
    (the same values, without a logarithm per node)."""
    if values.dtype.kind in "iu" and values.size and values.min() >= 0 and values.max() < (1 << 16):
        table = np.log2(1.0 + np.arange(int(values.max()) + 1, dtype=np.float64)) / scale
        return table[values]
    return np.log2(1.0 + np.asarray(values, dtype=np.float64)) / scale


def _numeric(columns: Mapping[str, Sequence], input_shape: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """float32 ``(N, len(NUMERIC_FEATURES))`` numeric features and the int64 op indices ``(N,)``."""
    missing = [name for name in FEATURE_COLUMNS if name not in columns]
    if missing:
        raise DataFormatError(f"node columns lack {missing}; expected all of {list(FEATURE_COLUMNS)}")
    op = op_indices(columns["op"])
    n = op.shape[0]

    def col(name: str) -> np.ndarray:
        values = np.asarray(columns[name])
        if values.dtype.kind not in "iu":
            values = values.astype(np.float64)
        if values.shape != (n,):
            raise DataFormatError(f"node column {name!r} has shape {values.shape}, expected ({n},) like column 'op'")
        return values

    in_h = np.asarray(input_shape[1], dtype=np.float64)
    in_w = np.asarray(input_shape[2], dtype=np.float64)
    c_in, groups = col("c_in"), col("groups")
    depthwise = (op == OPS["dwconv"].index) | ((op == OPS["conv"].index) & (groups > 1) & (groups == c_in))
    numeric = (
        _log2_1p(c_in, _CHANNEL_SCALE),
        _log2_1p(col("c_out"), _CHANNEL_SCALE),
        col("h_out") / in_h,
        col("w_out") / in_w,
        _log2_1p(col("kernel"), _ATTR_SCALE),
        _log2_1p(col("stride"), _ATTR_SCALE),
        _log2_1p(col("padding"), _ATTR_SCALE),
        _log2_1p(col("dilation"), _ATTR_SCALE),
        depthwise,
        col("bias") != 0,
        np.log1p(col("params").astype(np.float64)) / _PARAMS_SCALE,
        np.log1p(col("flops").astype(np.float64)) / _FLOPS_SCALE,
    )
    x = np.empty((n, len(NUMERIC_FEATURES)), dtype=np.float32)
    for k, values in enumerate(numeric):
        x[:, k] = values
    return x, op


def to_pyg(graph: "ComputationGraph") -> "Data":
    """The graph as a ``torch_geometric.data.Data``.

    Returns:
        ``Data`` with ``x`` float32 ``[N, F]`` (:data:`FEATURE_NAMES`), ``edge_index`` long
        ``[2, E]`` in the graph's edge order (so a node's incoming edges keep argument order),
        ``op`` long ``[N]`` vocabulary indices, ``num_nodes``, and graph-level ``params`` and
        ``flops`` as long tensors of shape ``[1]``.
    """
    from torch_geometric.data import Data

    x = node_features(graph.nodes, graph.input_shape)
    op = torch.from_numpy(np.argmax(x[:, :NUM_OPS], axis=1).astype(np.int64))
    edge_index = torch.tensor([graph.src, graph.dst], dtype=torch.long).reshape(2, -1)
    return Data(x=torch.from_numpy(x), edge_index=edge_index, op=op, num_nodes=graph.num_nodes,
                params=torch.tensor([graph.params], dtype=torch.long),
                flops=torch.tensor([graph.flops], dtype=torch.long))


def to_pyg_batch(graphs: Iterable["ComputationGraph"]) -> "Batch":
    """Many graphs as one ``torch_geometric.data.Batch`` (``batch.to_data_list()`` gives them back)."""
    from torch_geometric.data import Batch

    return Batch.from_data_list([to_pyg(g) for g in graphs])


__all__ = ["FEATURE_COLUMNS", "FEATURE_NAMES", "NUMERIC_FEATURES", "NUM_FEATURES", "node_features", "numeric_node_features", "op_indices",
           "to_pyg", "to_pyg_batch"]
