"""The search loop: an optimizer asks, an oracle answers, the trajectory is recorded.

The trajectory has one row per query: ``query`` (1, 2, ...), ``arch`` (native string),
``arch_id``, ``value`` (the first objective, raw), ``best_so_far`` (of the first objective, in
its direction) and, with several objectives, one column per objective key and ``on_front``
(the row is on the Pareto front of everything evaluated).
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from .base import Optimizer, SearchError
from .multi_objective import pareto_front
from .oracle import Objective, Oracle

_META_KEY = b"archbench.search"


@dataclass
class SearchResult:
    """A finished search: its trajectory and what produced it.

    Attributes:
        space: search-space name.
        optimizer: optimizer name.
        params: the optimizer's parameters (predictor objects shown by name).
        objectives: the objectives, in column order.
        trajectory: one row per query (see the module docstring).
        seconds: wall time of the search (optimizer plus oracle).
    """

    space: str
    optimizer: str
    params: dict[str, Any]
    objectives: tuple[Objective, ...]
    trajectory: pd.DataFrame
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def num_queries(self) -> int:
        return len(self.trajectory)

    def best(self) -> pd.Series:
        """The trajectory row with the best first-objective value (the earliest on ties)."""
        if self.trajectory.empty:
            raise SearchError("the search made no query")
        v = self.trajectory["value"].to_numpy()
        i = int(np.argmax(v) if self.objectives[0].mode == "max" else np.argmin(v))
        return self.trajectory.iloc[i]

    def objective_values(self) -> np.ndarray:
        """Raw values ``(queries, k)`` of every objective."""
        if len(self.objectives) == 1:
            return self.trajectory[["value"]].to_numpy(dtype=np.float64)
        return self.trajectory[[o.key for o in self.objectives]].to_numpy(dtype=np.float64)

    def pareto_front(self) -> pd.DataFrame:
        """The non-dominated rows of the trajectory (first objective best first; repeats dropped)."""
        signs = np.array([o.sign for o in self.objectives])
        rows = self.trajectory.iloc[pareto_front(self.objective_values() * signs)]
        return rows.drop_duplicates("arch_id")

    def best_at(self, queries: int) -> float:
        """Best first-objective value after ``queries`` queries (the last one if the search was shorter)."""
        if self.trajectory.empty:
            raise SearchError("the search made no query")
        return float(self.trajectory["best_so_far"].iloc[min(queries, len(self.trajectory)) - 1])

    def queries_to_reach(self, target: float) -> int | None:
        """First query number whose best-so-far reaches ``target`` (in the objective's direction), or None."""
        b = self.trajectory["best_so_far"].to_numpy()
        hit = b >= target - 1e-9 if self.objectives[0].mode == "max" else b <= target + 1e-9
        return int(self.trajectory["query"].iloc[int(np.argmax(hit))]) if hit.any() else None

    # ---- files ---------------------------------------------------------------------------------------
    def metadata(self) -> dict[str, Any]:
        return {"space": self.space, "optimizer": self.optimizer, "params": self.params,
                "objectives": [str(o) for o in self.objectives], "seconds": self.seconds, "extra": self.extra}

    def save(self, path: str | os.PathLike) -> Path:
        """Write the trajectory as Parquet, with the search's settings in the file's metadata."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = Path(path)
        if path.suffix.lower() not in (".parquet", ".pq"):
            raise SearchError(f"trajectory files are Parquet: expected a .parquet path, found {str(path)!r}")
        path.parent.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pandas(self.trajectory, preserve_index=False)
        meta = dict(table.schema.metadata or {})
        meta[_META_KEY] = json.dumps(self.metadata(), default=str).encode()
        pq.write_table(table.replace_schema_metadata(meta), path)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> "SearchResult":
        """Read a trajectory written by :meth:`save`."""
        import pyarrow.parquet as pq

        table = pq.read_table(path)
        raw = (table.schema.metadata or {}).get(_META_KEY)
        if raw is None:
            raise SearchError(f"{path} is not an archbench search trajectory (no {_META_KEY.decode()!r} metadata)")
        meta = json.loads(raw)
        return cls(meta["space"], meta["optimizer"], meta["params"], tuple(Objective.parse(o) for o in meta["objectives"]),
                   table.to_pandas(), meta.get("seconds", 0.0), meta.get("extra", {}))


def _describe_params(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as JSON-friendly values (objects by their class name)."""
    out = {}
    for k, v in params.items():
        out[k] = v if isinstance(v, (str, int, float, bool, type(None), list, dict, tuple)) else type(v).__name__
    return out


def run_search(optimizer: Optimizer, oracle: Oracle, budget: int, *, batch_size: int = 1,
               callback: Callable[[int, list, np.ndarray], None] | None = None) -> SearchResult:
    """Ask, evaluate, tell until ``budget`` queries have been made.

    Args:
        optimizer: any :class:`~.base.Optimizer` (single-objective ones need one objective).
        oracle: the evaluator; its objectives' directions decide the signs the optimizer sees.
        budget: number of queries (architectures evaluated).
        batch_size: architectures asked per round (the last round may be smaller).
        callback: called after each round with ``(queries so far, archs, raw values (n, k))``.
    Returns:
        :class:`SearchResult` with one trajectory row per query.
    """
    if isinstance(budget, bool) or not isinstance(budget, (int, np.integer)) or budget < 1:
        raise SearchError(f"budget must be a positive number of queries, found {budget!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise SearchError(f"batch_size must be a positive integer, found {batch_size!r}")
    k = len(oracle.objectives)
    if k > 1 and optimizer.multi_objective is False:
        raise SearchError(f"optimizer {optimizer.name!r} optimizes one objective, but {k} were given "
                          f"({', '.join(str(o) for o in oracle.objectives)}); use a multi-objective one "
                          "(pareto_evolution, random)")
    space = oracle.space
    if optimizer.space_.name != space.name:
        raise SearchError(f"optimizer searches {optimizer.space_.name!r} but the oracle answers for {space.name!r}")
    signs = oracle.signs
    archs_all: list = []
    values_all: list[np.ndarray] = []
    t0 = time.perf_counter()
    while len(archs_all) < budget:
        n = min(batch_size, budget - len(archs_all))
        archs = optimizer.ask(n)
        raw = oracle.evaluate(archs)
        scores = raw * signs
        optimizer.tell(archs, scores if optimizer.multi_objective or (optimizer.multi_objective is None and k > 1)
                       else scores[:, 0])
        archs_all.extend(archs)
        values_all.append(raw)
        if callback is not None:
            callback(len(archs_all), archs, raw)
    seconds = time.perf_counter() - t0
    raw = np.concatenate(values_all)
    first = raw[:, 0]
    best = np.maximum.accumulate(first) if oracle.objectives[0].mode == "max" else np.minimum.accumulate(first)
    traj = pd.DataFrame({
        "query": np.arange(1, len(archs_all) + 1, dtype=np.int64),
        "arch": [space.format(a) for a in archs_all],
        "arch_id": [space.arch_id(a, oracle.config) for a in archs_all],
        "value": first,
        "best_so_far": best,
    })
    if k > 1:
        for j, obj in enumerate(oracle.objectives):
            traj[obj.key] = raw[:, j]
        on_front = np.zeros(len(traj), dtype=bool)
        on_front[pareto_front(raw * signs)] = True
        traj["on_front"] = on_front
    return SearchResult(space.name, optimizer.name, _describe_params(optimizer.get_params()), oracle.objectives,
                        traj, seconds)


def search(space: str, objectives, budget: int, *, optimizer: str | None = None, predictor: Any = None,
           predictor_params: dict[str, Any] | None = None, options: dict[str, Any] | None = None, seed: int = 0,
           batch_size: int = 1, dataset: str | None = None, config: str | None = None,
           home: str | os.PathLike | None = None) -> tuple[SearchResult, "Oracle"]:
    """Search a space against the benchmark tables (what ``archbench search`` runs).

    Args:
        space: registered search-space name.
        objectives: one or more objective specs (see :class:`~.oracle.Objective`).
        budget: queries (architectures looked up in the tables).
        optimizer: registered optimizer name; default: ``bananas`` with a predictor name,
            ``screened_evolution`` with a saved (pre-trained) predictor, ``pareto_evolution`` for
            several objectives, else ``regularized_evolution``.
        predictor: registered predictor name (trained during the search) or a directory written
            by ``Predictor.save`` (used as a fixed screener); only for predictor-guided optimizers.
        predictor_params: parameters of a predictor given by name.
        options: further optimizer parameters (e.g. ``{"population_size": 20}``).
        seed, batch_size: see :func:`run_search` and the optimizers.
        dataset: label dataset filter applied to every objective.
        config: the network config whose labels and graphs are searched (default: the space's first).
        home: data home with the tables.
    Returns:
        ``(result, oracle)``: the search and the oracle (for the global optimum / true front).
    """
    from .base import OPTIMIZERS, get_optimizer
    from .guided import PredictorGuided
    from .oracle import TabularOracle, parse_objectives

    objs = parse_objectives(objectives, dataset)
    oracle = TabularOracle.from_tables(space, objs, home=home, config=config)
    params = dict(options or {})
    pretrained = None
    if predictor is not None and not isinstance(predictor, str):
        pretrained = predictor
    elif isinstance(predictor, str) and Path(predictor).is_dir():
        from archbench.predictors.base import load_predictor

        pretrained = load_predictor(predictor)
    if optimizer is None:
        if predictor is not None:
            optimizer = "screened_evolution" if pretrained is not None else "bananas"
        else:
            optimizer = "pareto_evolution" if len(objs) > 1 else "regularized_evolution"
    cls = OPTIMIZERS.get(optimizer)
    guided = issubclass(cls, PredictorGuided)
    if predictor is not None and not guided:
        raise SearchError(f"optimizer {optimizer!r} uses no predictor; predictor-guided ones are: "
                          + ", ".join(n for n in OPTIMIZERS.names() if issubclass(OPTIMIZERS.get(n), PredictorGuided)))
    if guided:
        from archbench.datasets.views import load_graphs

        if pretrained is not None:
            params.setdefault("predictor", pretrained)
            params.setdefault("refit_every", 0)
            params.setdefault("num_init", 0)
            if optimizer == "bananas":
                params.setdefault("ensemble_size", 1)
        elif predictor is not None:
            params.setdefault("predictor", predictor)
        if predictor_params:
            params.setdefault("predictor_params", predictor_params)
        params.setdefault("graphs", load_graphs(home, space=oracle.space.name))
        params.setdefault("config", oracle.config)
    opt = get_optimizer(optimizer, oracle.space, seed=seed, **params)
    return run_search(opt, oracle, budget, batch_size=batch_size), oracle
