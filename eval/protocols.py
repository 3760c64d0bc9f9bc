"""Evaluation protocols that match the literature, and the library side of the CLI commands.

* :func:`sample_efficiency`: train on ``n`` random architectures of a task for ``n`` in
  ``{50, 100, 200, 400, 1000}``, test on all the others, over several seeds (as NASLib's
  "How powerful are performance predictors" and NAS-Bench-Suite-Zero). Within a seed the
  training sets are nested and every predictor sees the same split.
* :func:`cross_space`: train on the labelled architectures of some spaces (targets turned into
  per-task quantiles, so accuracies of different benchmarks are comparable), predict a held-out
  space zero-shot, and after fine-tuning on ``k`` of its labels (k-shot); the same ``k`` labels
  alone, from scratch, are the reference a transfer has to beat.
* :func:`holdout`, :func:`train_on_task`, :func:`predict_space`: what ``archbench train`` /
  ``predict`` / ``evaluate --model`` call.

Every protocol returns rows of the results table (:mod:`archbench.eval.reports`).
"""
from __future__ import annotations

import copy
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from archbench.datasets.splits import random_split
from archbench.datasets.views import GraphSet, LabelSpec, load_graphs, load_task
from archbench.errors import ArchbenchError
from archbench.predictors.base import Predictor, get_predictor, load_predictor

from .metrics import METRIC_NAMES, rank_metrics

DEFAULT_TRAIN_SIZES = (50, 100, 200, 400, 1000)


@dataclass(frozen=True)
class PredictorSpec:
    """A predictor to evaluate: a result label, the registered name and its parameters."""

    label: str
    name: str
    params: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, params: Mapping[str, Any] | None = None) -> "PredictorSpec":
        """``"name"`` or ``"label=name"`` (e.g. ``"gbdt_lowfi=gbdt"``)."""
        label, sep, name = text.partition("=")
        if not sep:
            name = label
        if not label or not name:
            raise ArchbenchError(f"predictor must be NAME or LABEL=NAME, found {text!r}")
        return cls(label, name, dict(params or {}))

    def make(self, seed: int) -> Predictor:
        """A new predictor; ``seed`` is passed when the predictor takes one and none is set."""
        from archbench.predictors.base import predictor_class

        params = dict(self.params)
        if "seed" in predictor_class(self.name)._param_names() and "seed" not in params:
            params["seed"] = seed
        return get_predictor(self.name, **params)

    def required_extras(self) -> tuple[str, ...]:
        return self.make(0).required_extras


@dataclass
class Task:
    """Labelled architectures of one space: graphs, targets and what the targets are."""

    space: str
    target: LabelSpec
    graphs: GraphSet
    y: np.ndarray
    higher_is_better: bool = True

    @property
    def name(self) -> str:
        parts = [p for p in (self.target.source, self.target.dataset) if p]
        return "/".join([self.space, *parts, self.target.key])

    @classmethod
    def load(cls, home: Any, space: str, target: LabelSpec | str, *, extras: Sequence[str] = (),
             higher_is_better: bool | None = None) -> "Task":
        """Every labelled architecture of ``space`` from the data home (see :func:`load_task`).

        ``higher_is_better`` defaults to False for latency/energy/loss/error-like metrics.
        """
        target = LabelSpec.parse(target) if isinstance(target, str) else target
        graphs, y = load_task(home, target, space=space, extras=extras)
        if higher_is_better is None:
            higher_is_better = not any(w in target.metric for w in ("latency", "energy", "loss", "error", "time"))
        return cls(space, target, graphs, y, higher_is_better)

    def subset(self, index: np.ndarray) -> "Task":
        return Task(self.space, self.target, self.graphs.subset(index), self.y[index], self.higher_is_better)


def _row(spec: PredictorSpec, model: Predictor, task: Task, y_true: np.ndarray, y_pred: np.ndarray, *, protocol: str,
         n_train: int, seed: int, fit_s: float, pred_s: float, k: int, top_fraction: float,
         train_spaces: str | None = None, k_shot: int | None = None, label: str | None = None) -> dict:
    if np.ptp(y_pred) == 0:
        # A predictor may legitimately predict one value for every architecture (e.g. a transfer
        # whose features do not vary on the target space): rankings are then undefined, not 0.
        err = np.asarray(y_pred, dtype=float) - np.asarray(y_true, dtype=float)
        metrics = {name: float("nan") for name in METRIC_NAMES}
        metrics.update(mae=float(np.mean(np.abs(err))), rmse=float(np.sqrt(np.mean(err ** 2))))
    else:
        metrics = rank_metrics(y_true, y_pred, k=k, top_fraction=top_fraction, higher_is_better=task.higher_is_better)
    return {"protocol": protocol, "predictor": label or spec.label, "predictor_name": spec.name,
            "params": json.dumps(_jsonable(model.get_params()), sort_keys=True), "space": task.space,
            "train_spaces": train_spaces if train_spaces is not None else task.space, "task": task.name,
            "n_train": n_train, "n_test": len(y_true), "k_shot": k_shot, "seed": seed, **metrics,
            "k": min(k, len(y_true)), "top_fraction": top_fraction, "fit_seconds": fit_s, "predict_seconds": pred_s}


def _jsonable(params: dict) -> dict:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}


def _timed_fit(model: Predictor, graphs: GraphSet, y: np.ndarray) -> float:
    t = time.perf_counter()
    model.fit(graphs, y)
    return time.perf_counter() - t


def _timed_predict(model: Predictor, graphs: GraphSet) -> tuple[np.ndarray, float]:
    t = time.perf_counter()
    pred = model.predict(graphs)
    return pred, time.perf_counter() - t


def sample_efficiency(task: Task, specs: Sequence[PredictorSpec], *, train_sizes: Sequence[int] = DEFAULT_TRAIN_SIZES,
                      seeds: Iterable[int] = range(5), k: int = 10, top_fraction: float = 0.05,
                      max_test: int | None = None, progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Train on ``n`` random architectures, test on the others, for each ``n`` and seed.

    Args:
        task: the labelled architectures (e.g. ``Task.load(home, "nb201", target)``).
        specs: predictors to compare; all see the same splits.
        train_sizes: training-set sizes; sizes that leave fewer than 2 test architectures are skipped.
        seeds: one random permutation per seed; its first ``n`` architectures train.
        max_test: test on at most this many of the others (None: all of them).
        progress: called with a line of text after every fit.

    Returns:
        Rows of the results table (``protocol="sample_efficiency"``).
    """
    rows = []
    g = len(task.y)
    for spec in specs:  # featurize the whole task once; every split's subsets reuse it
        spec.make(0).prepare(task.graphs)
    for seed in seeds:
        for n in train_sizes:
            if n > g - 2:
                if progress:
                    progress(f"skip n={n}: {task.name} has only {g} labelled architectures")
                continue
            train, test = random_split(g, n, seed)
            if max_test is not None:
                test = test[:max_test]
            tr, te = task.graphs.subset(train), task.graphs.subset(test)
            for spec in specs:
                model = spec.make(seed)
                fit_s = _timed_fit(model, tr, task.y[train])
                pred, pred_s = _timed_predict(model, te)
                row = _row(spec, model, task, task.y[test], pred, protocol="sample_efficiency", n_train=n, seed=seed,
                           fit_s=fit_s, pred_s=pred_s, k=k, top_fraction=top_fraction)
                rows.append(row)
                if progress:
                    progress(f"{task.name} {spec.label:>12} n={n:<5} seed={seed} tau={row['kendall_tau']:.3f} "
                             f"rho={row['spearman']:.3f} fit {fit_s:.1f}s predict {pred_s:.1f}s")
    return pd.DataFrame(rows)


def quantile_targets(y: np.ndarray) -> np.ndarray:
    """Targets as mid-rank quantiles in (0, 1): comparable across benchmarks with different scales."""
    from scipy.stats import rankdata

    return (rankdata(y) - 0.5) / len(y)


def cross_space(sources: Sequence[Task], target: Task, specs: Sequence[PredictorSpec], *,
                k_shots: Sequence[int] = (0, 10, 50, 100), seeds: Iterable[int] = range(3),
                n_source: int | None = None, scratch: bool = True, k: int = 10, top_fraction: float = 0.05,
                progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Train on ``sources``, predict ``target`` zero-shot and after k-shot fine-tuning.

    Args:
        sources: labelled tasks of the training spaces (targets become per-task quantiles).
        target: the held-out task; every ``k`` is tested on the same architectures (those not
            among the largest ``k``'s shots).
        k_shots: numbers of target labels used for fine-tuning (0: zero-shot).
        n_source: use at most this many architectures per source task (seeded sample).
        scratch: also train on the ``k`` target labels alone (label ``"<label>/scratch"``).

    Returns:
        Rows of the results table (``protocol="cross_space"``; ``n_train`` = target labels used).
    """
    if not sources:
        raise ArchbenchError("cross_space needs at least one source task")
    rows = []
    for spec in specs:  # featurize once; the subsets and their concatenation reuse it
        for t in [*sources, target]:
            spec.make(0).prepare(t.graphs)
    train_spaces = ",".join(sorted({s.space for s in sources}))
    kmax = max(k_shots)
    if kmax > len(target.y) - 2:
        raise ArchbenchError(f"k-shot {kmax} leaves fewer than 2 of the {len(target.y)} target architectures to test on")
    for seed in seeds:
        parts = []
        for i, src in enumerate(sources):
            idx = np.arange(len(src.y))
            if n_source is not None and n_source < len(idx):
                idx = np.sort(np.random.default_rng([seed, i]).choice(len(idx), n_source, replace=False))
            parts.append((src.graphs.subset(idx), quantile_targets(src.y[idx])))
        src_graphs = GraphSet.concat([p[0] for p in parts])
        src_y = np.concatenate([p[1] for p in parts])
        perm = np.random.default_rng(seed).permutation(len(target.y))
        test = np.sort(perm[kmax:])
        te = target.graphs.subset(test)
        for spec in specs:
            model = spec.make(seed)
            fit_s = _timed_fit(model, src_graphs, src_y)
            for shots in k_shots:
                chosen = np.sort(perm[:shots])
                m, ft_s = model, 0.0
                if shots:
                    m = copy.deepcopy(model)
                    t = time.perf_counter()
                    m.fine_tune(target.graphs.subset(chosen), target.y[chosen])
                    ft_s = time.perf_counter() - t
                pred, pred_s = _timed_predict(m, te)
                rows.append(_row(spec, m, target, target.y[test], pred, protocol="cross_space", n_train=shots, seed=seed,
                                 fit_s=fit_s + ft_s, pred_s=pred_s, k=k, top_fraction=top_fraction,
                                 train_spaces=train_spaces, k_shot=shots))
                if progress:
                    progress(f"{train_spaces} -> {target.name} {spec.label} k={shots} seed={seed} "
                             f"tau={rows[-1]['kendall_tau']:.3f}")
                if scratch and shots >= 2:
                    fresh = spec.make(seed)
                    s_fit = _timed_fit(fresh, target.graphs.subset(chosen), target.y[chosen])
                    pred, pred_s = _timed_predict(fresh, te)
                    rows.append(_row(spec, fresh, target, target.y[test], pred, protocol="cross_space", n_train=shots,
                                     seed=seed, fit_s=s_fit, pred_s=pred_s, k=k, top_fraction=top_fraction,
                                     train_spaces=target.space, k_shot=shots, label=f"{spec.label}/scratch"))
    return pd.DataFrame(rows)


def holdout(task: Task, spec: PredictorSpec, *, n_train: int | None = None, seed: int = 0, k: int = 10,
            top_fraction: float = 0.05) -> tuple[Predictor, dict | None, np.ndarray, np.ndarray]:
    """Fit on ``n_train`` random architectures (all when None) and test on the rest.

    Returns:
        ``(model, results row or None when nothing is left to test, test y_true, test y_pred)``.
    """
    g = len(task.y)
    if n_train is None or n_train >= g:
        train, test = np.arange(g), np.zeros(0, dtype=np.int64)
    else:
        train, test = random_split(g, n_train, seed)
    model = spec.make(seed)
    fit_s = _timed_fit(model, task.graphs.subset(train), task.y[train])
    if test.size < 2:
        return model, None, np.zeros(0), np.zeros(0)
    pred, pred_s = _timed_predict(model, task.graphs.subset(test))
    row = _row(spec, model, task, task.y[test], pred, protocol="holdout", n_train=len(train), seed=seed, fit_s=fit_s,
               pred_s=pred_s, k=k, top_fraction=top_fraction)
    return model, row, task.y[test], pred


def train_on_task(home: Any, space: str, target: LabelSpec | str, spec: PredictorSpec, *, n_train: int | None = None,
                  seed: int = 0, out: str | os.PathLike | None = None) -> tuple[Predictor, dict | None, Task]:
    """``archbench train``: load the task, fit (holding out the rest when ``n_train`` is given), save."""
    task = Task.load(home, space, target, extras=spec.required_extras())
    model, row, _, _ = holdout(task, spec, n_train=n_train, seed=seed)
    if out is not None:
        model.save(out)
    return model, row, task


def evaluate_saved(model: Predictor | str | os.PathLike, task: Task, *, k: int = 10,
                   top_fraction: float = 0.05) -> tuple[dict, np.ndarray]:
    """Metrics of a fitted (or saved) predictor on every labelled architecture of ``task``."""
    model = load_predictor(model) if not isinstance(model, Predictor) else model
    pred, pred_s = _timed_predict(model, task.graphs)
    spec = PredictorSpec(model.name, model.name, model.get_params())
    row = _row(spec, model, task, task.y, pred, protocol="saved_model", n_train=int(model.n_train_), seed=0, fit_s=0.0,
               pred_s=pred_s, k=k, top_fraction=top_fraction)
    return row, pred


def predict_space(model: Predictor | str | os.PathLike, home: Any, space: str,
                  encodings: Sequence[str] | None = None) -> pd.DataFrame:
    """Predictions for every architecture of ``space`` in the tables (or for ``encodings``, built
    from the space), best first: columns ``arch_id``, ``encoding``, ``prediction``."""
    model = load_predictor(model) if not isinstance(model, Predictor) else model
    if encodings:
        from archbench.datasets.views import as_graphset

        graphs = as_graphset(list(encodings), space=space)
        if model.required_extras:
            from archbench.datasets.views import attach_extras

            graphs = attach_extras(graphs, home, model.required_extras, space=space)
    else:
        graphs = load_graphs(home, space=space, extras=model.required_extras)
    pred = model.predict(graphs)
    df = pd.DataFrame({"arch_id": graphs.arch_id, "encoding": graphs.encoding, "prediction": pred})
    return df.sort_values("prediction", ascending=False, kind="stable").reset_index(drop=True)


__all__ = ["DEFAULT_TRAIN_SIZES", "PredictorSpec", "Task", "cross_space", "evaluate_saved", "holdout", "predict_space",
           "quantile_targets", "sample_efficiency", "train_on_task"]
