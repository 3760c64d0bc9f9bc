"""Figures of evaluation results: Kendall tau against training-set size, predicted against true.

Matplotlib is imported inside each function and drawn on an Agg canvas directly (no pyplot, no
global backend switch), so importing this module is free and a user's backend is left alone.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd


def new_figure(width: float, height: float):
    """A matplotlib Figure on its own Agg canvas (no pyplot state, the user's backend untouched)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=120)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix), creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight")
    return path


def plot_sample_efficiency(results: pd.DataFrame, path: str | os.PathLike, *, metric: str = "kendall_tau",
                           x: str = "n_train", title: str | None = None,
                           references: Sequence[tuple[str, float, float]] = ()) -> Path:
    """``metric`` (mean +- std over seeds) against training-set size, one line per predictor and
    one panel per task.

    Args:
        results: rows of the results table (e.g. from :func:`~archbench.eval.protocols.sample_efficiency`).
        path: image file to write (.png, .svg, .pdf).
        x: the size column (``n_train``, or ``k_shot`` for transfer).
        references: published points to mark, as ``(label, x, value)``.
    """
    if results.empty:
        raise ValueError("no results to plot")
    tasks = list(dict.fromkeys(results["task"]))
    fig = new_figure(5.0 * len(tasks), 4.0)
    for i, task in enumerate(tasks):
        ax = fig.add_subplot(1, len(tasks), i + 1)
        rows = results[results["task"] == task]
        for label, group in rows.groupby("predictor", sort=False):
            stats = group.groupby(x)[metric].agg(["mean", "std"]).reset_index().sort_values(x)
            ax.errorbar(stats[x], stats["mean"], yerr=stats["std"].fillna(0.0), marker="o", ms=3, capsize=2, label=str(label))
        for label, rx, value in references:
            ax.plot([rx], [value], marker="*", ms=10, ls="none", label=label)
        ticks = sorted(rows[x].dropna().unique())
        if ticks and ticks[0] > 0:
            ax.set_xscale("log")
        ax.set_xticks(ticks, [str(int(t)) for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("training architectures" if x == "n_train" else x)
        ax.set_ylabel(metric.replace("_", " "))
        ax.set_title(title or task, fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return save_figure(fig, path)


def plot_scatter(y_true: Sequence[float], y_pred: Sequence[float], path: str | os.PathLike, *,
                 title: str | None = None, max_points: int = 20_000, seed: int = 0) -> Path:
    """Predicted against true values with the diagonal, Kendall tau and Spearman in the title.

    At most ``max_points`` (a seeded sample) are drawn; the correlations use all of them.
    """
    from .metrics import rank_metrics

    t = np.asarray(y_true, dtype=float)
    p = np.asarray(y_pred, dtype=float)
    m = rank_metrics(t, p)
    idx = np.arange(t.size)
    if t.size > max_points:
        idx = np.random.default_rng(seed).choice(t.size, max_points, replace=False)
    fig = new_figure(4.5, 4.5)
    ax = fig.add_subplot(1, 1, 1)
    ax.scatter(t[idx], p[idx], s=3, alpha=0.4, linewidths=0)
    lo, hi = float(min(t.min(), p.min())), float(max(t.max(), p.max()))
    ax.plot([lo, hi], [lo, hi], color="k", lw=0.8, ls="--")
    ax.set_xlabel("true")
    ax.set_ylabel("predicted")
    head = f"{title}\n" if title else ""
    ax.set_title(f"{head}Kendall tau {m['kendall_tau']:.3f}, Spearman {m['spearman']:.3f} (n={t.size:,})", fontsize=9)
    ax.grid(alpha=0.3)
    return save_figure(fig, path)


__all__ = ["plot_sample_efficiency", "plot_scatter"]
