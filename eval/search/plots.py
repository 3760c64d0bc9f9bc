"""Figures of searches: best-so-far against queries, and Pareto fronts (matplotlib, Agg backend).

matplotlib is imported inside the functions (via :mod:`archbench.eval.plots`, no pyplot state), so importing
this module costs nothing.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..plots import new_figure, save_figure
from .base import SearchError
from .run import SearchResult


def _finish(fig, ax, path: str | os.PathLike, title: str | None) -> Path:
    """Title, grid and legend, then write the figure."""
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def _curves(runs: Sequence[SearchResult | pd.DataFrame]) -> np.ndarray:
    """``(runs, queries)`` best-so-far, each run padded with its last value to the longest run."""
    series = [(r.trajectory if isinstance(r, SearchResult) else r)["best_so_far"].to_numpy(dtype=float) for r in runs]
    if not series or any(len(s) == 0 for s in series):
        raise SearchError("every run needs at least one query to plot")
    n = max(len(s) for s in series)
    return np.stack([np.concatenate([s, np.full(n - len(s), s[-1])]) for s in series])


def plot_best_so_far(runs: "SearchResult | Mapping[str, Sequence[SearchResult | pd.DataFrame]]",
                     path: str | os.PathLike, *, optimum: float | None = None, ylabel: str | None = None,
                     title: str | None = None, log_regret: bool = False) -> Path:
    """Best value found against queries; with several seeds per method, the median and quartile band.

    Args:
        runs: one result, or ``{method name: [results or trajectories of several seeds]}``.
        path: image file to write (``.png``, ``.pdf``, ``.svg``).
        optimum: the global optimum, drawn as a dashed line (and the regret's reference).
        ylabel, title: axis label and title.
        log_regret: plot ``|optimum - best|`` on a log axis instead (needs ``optimum``).
    """
    if isinstance(runs, SearchResult):
        runs = {runs.optimizer: [runs]}
    if log_regret and optimum is None:
        raise SearchError("log_regret needs the global optimum")
    fig = new_figure(6.4, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    for name, group in runs.items():
        curves = _curves(group)
        if log_regret:
            curves = np.maximum(np.abs(optimum - curves), 1e-4)
        x = np.arange(1, curves.shape[1] + 1)
        med = np.median(curves, axis=0)
        ax.plot(x, med, label=f"{name} (n={len(curves)})" if len(curves) > 1 else name)
        if len(curves) > 1:
            lo, hi = np.percentile(curves, [25, 75], axis=0)
            ax.fill_between(x, lo, hi, alpha=0.2)
    if optimum is not None and not log_regret:
        ax.axhline(optimum, color="k", linestyle="--", linewidth=0.8, label=f"global best {optimum:g}")
    if log_regret:
        ax.set_yscale("log")
    ax.set_xlabel("queries")
    ax.set_ylabel(ylabel or ("regret" if log_regret else "best value so far"))
    return _finish(fig, ax, path, title)


def plot_pareto(result: SearchResult, path: str | os.PathLike, *, reference: pd.DataFrame | None = None,
                objectives: tuple[int, int] = (1, 0), title: str | None = None, logx: bool = False) -> Path:
    """Every evaluated architecture, the front the search found, and optionally the true front.

    Args:
        result: a search with at least two objectives.
        path: image file to write.
        reference: the true front (e.g. :meth:`TabularOracle.true_front`), columns named by objective key.
        objectives: which two objectives (indices) go on the x and y axes (default: the second
            objective, usually a cost, across; the first, usually accuracy, up).
        logx: logarithmic x axis (latencies and FLOPs span decades).
    """
    if len(result.objectives) < 2:
        raise SearchError(f"a Pareto plot needs two objectives; the search had {len(result.objectives)}")
    i, j = objectives
    oi, oj = result.objectives[i], result.objectives[j]
    traj = result.trajectory
    front = result.pareto_front().sort_values(oi.key)
    fig = new_figure(6.4, 4.2)
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(traj[oi.key], traj[oj.key], s=8, color="0.6", label=f"evaluated ({len(traj)})")
    if reference is not None:
        ref = reference.sort_values(oi.key)
        ax.step(ref[oi.key], ref[oj.key], where="post", color="k", linestyle="--", linewidth=1,
                label=f"true front ({len(ref)})")
    ax.step(front[oi.key], front[oj.key], where="post", color="C3", marker="o", markersize=4,
            label=f"found front ({len(front)})")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(f"{oi.key} ({oi.mode})")
    ax.set_ylabel(f"{oj.key} ({oj.mode})")
    return _finish(fig, ax, path, title)
