"""Ranking and regression metrics of a predictor, all from one function.

:func:`rank_metrics` returns every number the literature reports for performance predictors:
Kendall tau (tau-b) and Spearman rho (the headline ranking metrics), Pearson r, MAE and RMSE (on
the target's scale), precision@k (the share of the true top-k among the predicted top-k), the
overlap of the true and predicted top fraction, NDCG@k (gains: targets scaled to [0, 1]) and the
regret of the predicted best (best true value minus the true value of the architecture ranked
first; 0 is perfect).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from archbench.errors import ArchbenchError

#: Keys of :func:`rank_metrics`' result, in reporting order.
METRIC_NAMES: tuple[str, ...] = ("kendall_tau", "spearman", "pearson", "mae", "rmse", "precision_at_k", "top_overlap",
                                 "ndcg_at_k", "regret")


class MetricInputError(ArchbenchError, ValueError):
    """Inputs on which ranking metrics are undefined (length mismatch, constant, non-finite)."""


def _check(y_true: Sequence[float], y_pred: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64).reshape(-1)
    p = np.asarray(y_pred, dtype=np.float64).reshape(-1)
    if t.shape != p.shape:
        raise MetricInputError(f"y_true has {t.size} values but y_pred has {p.size}; expected one prediction per target")
    if t.size < 2:
        raise MetricInputError(f"ranking metrics need at least 2 values, found {t.size}")
    for name, v in (("y_true", t), ("y_pred", p)):
        bad = ~np.isfinite(v)
        if bad.any():
            raise MetricInputError(f"{name} has {int(bad.sum())} non-finite values (first at {int(np.flatnonzero(bad)[0])}); "
                                   "expected finite numbers")
        if np.ptp(v) == 0:
            raise MetricInputError(f"{name} is constant ({v[0]!r} everywhere): rank correlations are undefined")
    return t, p


def top_k(values: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest values (ties broken by position, deterministic)."""
    order = np.lexsort((np.arange(values.size), -values))
    return order[:k]


def ndcg_at_k(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> float:
    """NDCG@k with gains ``(y - min) / (max - min)`` and ``log2(rank + 1)`` discounts."""
    gains = (y_true - y_true.min()) / np.ptp(y_true)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = float(np.sum(gains[top_k(y_pred, k)] * discounts))
    ideal = float(np.sum(np.sort(gains)[::-1][:k] * discounts))
    return dcg / ideal if ideal > 0 else 0.0


def rank_metrics(y_true: Sequence[float], y_pred: Sequence[float], *, k: int = 10, top_fraction: float = 0.05,
                 higher_is_better: bool = True) -> dict[str, float]:
    """Every ranking/regression metric of predictions ``y_pred`` against ``y_true``.

    Args:
        y_true, y_pred: one value per architecture, equal lengths (>= 2), finite, not constant.
        k: cut-off of precision@k and NDCG@k (clipped to the number of architectures).
        top_fraction: the share of architectures whose true and predicted top sets are compared
            (``top_overlap``; at least one architecture).
        higher_is_better: False for targets like latency or error: "top" and "best" then mean lowest.

    Returns:
        ``{name: value}`` for :data:`METRIC_NAMES` (regret is in the target's units, >= 0).

    Raises:
        MetricInputError: length mismatch, fewer than 2 values, non-finite or constant input.
    """
    from scipy import stats

    t, p = _check(y_true, y_pred)
    n = t.size
    k = max(1, min(int(k), n))
    kt = stats.kendalltau(t, p).statistic
    sp = stats.spearmanr(t, p).statistic
    pr = stats.pearsonr(t, p).statistic
    err = p - t
    st, sp_ = (t, p) if higher_is_better else (-t, -p)
    true_top = set(top_k(st, k).tolist())
    m = max(1, int(math.ceil(top_fraction * n)))
    overlap = len(set(top_k(st, m).tolist()) & set(top_k(sp_, m).tolist())) / m
    best_pred = top_k(sp_, 1)[0]
    return {
        "kendall_tau": float(kt),
        "spearman": float(sp),
        "pearson": float(pr),
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err ** 2))),
        "precision_at_k": len(true_top & set(top_k(sp_, k).tolist())) / k,
        "top_overlap": overlap,
        "ndcg_at_k": ndcg_at_k(st, sp_, k),
        "regret": float(st.max() - st[best_pred]),
    }


__all__ = ["METRIC_NAMES", "MetricInputError", "ndcg_at_k", "rank_metrics", "top_k"]
