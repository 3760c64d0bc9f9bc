"""Oracles: what evaluating an architecture costs one query of.

:class:`TabularOracle` answers from the benchmark tables (tabular NAS simulation: a table
look-up stands in for training) and counts the queries; :class:`CallableOracle` wraps a
user-supplied function, e.g. one that really trains the network.

An :class:`Objective` names what is measured and its direction. Its text form is the label
syntax of :class:`~archbench.datasets.views.LabelSpec` plus an optional direction::

    [source/]metric[@fidelity][#device][:max|:min]

for example ``nats_csv/test_accuracy@200``, ``latency#raspi4:min`` or ``params:min`` (``params``
and ``flops`` come from the ``archs`` table: totals of the computation graph).
"""
from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Hashable, Mapping, Sequence

import numpy as np
import pandas as pd

from archbench.datasets.views import LabelSpec
from archbench.errors import DataFormatError
from archbench.graphs.spaces import SearchSpace

from .base import SearchError, resolve_space

#: Objectives read from the ``archs`` table (graph totals) rather than the ``metrics`` table.
GRAPH_TOTALS = ("params", "flops")
#: Metrics minimized when an objective does not say ``:max`` or ``:min`` (the rest are maximized).
MINIMIZED_METRICS = frozenset({"latency", "latency_var", "energy", "params", "flops", "loss", "error",
                               "test_loss", "valid_loss", "train_time"})


@dataclass(frozen=True)
class Objective:
    """One measured quantity and its direction.

    Attributes:
        metric: metric name (``test_accuracy``, ``latency``) or a graph total (``params``, ``flops``).
        mode: ``"max"`` or ``"min"``.
        source, dataset, fidelity, device: label filters (None: any; an ambiguous match raises).
    """

    metric: str
    mode: str = "max"
    source: str | None = None
    dataset: str | None = None
    fidelity: float | None = None
    device: str | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("max", "min"):
            raise SearchError(f"objective mode must be 'max' or 'min', found {self.mode!r}")
        if not isinstance(self.metric, str) or not self.metric:
            raise SearchError(f"objective metric must be a non-empty string, found {self.metric!r}")

    @classmethod
    def parse(cls, text: "str | Objective", dataset: str | None = None) -> "Objective":
        """``"[source/]metric[@fidelity][#device][:max|:min]"``; default direction by :data:`MINIMIZED_METRICS`."""
        if isinstance(text, Objective):
            return text
        if not isinstance(text, str) or not text.strip():
            raise SearchError(f"objective must look like '[source/]metric[@fidelity][#device][:max|:min]', found {text!r}")
        body, mode = text.strip(), None
        head, sep, tail = body.rpartition(":")
        if sep and tail in ("max", "min"):
            body, mode = head, tail
        elif sep:
            raise SearchError(f"objective {text!r}: the direction after ':' must be 'max' or 'min', found {tail!r}")
        try:
            spec = LabelSpec.parse(body, dataset)
        except DataFormatError as err:
            raise SearchError(f"objective {text!r}: {err}") from None
        if mode is None:
            mode = "min" if spec.metric in MINIMIZED_METRICS else "max"
        return cls(spec.metric, mode, spec.source, spec.dataset, spec.fidelity, spec.device)

    @property
    def is_graph_total(self) -> bool:
        return self.metric in GRAPH_TOTALS and self.source is None and self.fidelity is None and self.device is None

    @property
    def key(self) -> str:
        """Column name in trajectories: ``test_accuracy@200``, ``latency#raspi4``, ``params``."""
        return self.label_spec().key

    @property
    def sign(self) -> float:
        """+1 for a maximized objective, -1 for a minimized one (optimizers maximize ``sign * value``)."""
        return 1.0 if self.mode == "max" else -1.0

    def label_spec(self) -> LabelSpec:
        return LabelSpec(self.metric, self.dataset, self.source, self.fidelity, self.device)

    def describe(self) -> str:
        return f"{self.mode} {self.label_spec().describe()}"

    def __str__(self) -> str:
        text = self.metric
        if self.source:
            text = f"{self.source}/{text}"
        if self.fidelity is not None:
            text += f"@{self.fidelity:g}"
        if self.device:
            text += f"#{self.device}"
        return f"{text}:{self.mode}"


def parse_objectives(objectives: "str | Objective | Sequence[str | Objective]", dataset: str | None = None) -> tuple[Objective, ...]:
    """One or several objectives from text or :class:`Objective` values (keys must differ)."""
    items = [objectives] if isinstance(objectives, (str, Objective)) else list(objectives)
    if not items:
        raise SearchError("give at least one objective, e.g. 'nats_csv/test_accuracy@200'")
    out = tuple(Objective.parse(o, dataset) for o in items)
    keys = [o.key for o in out]
    if len(set(keys)) != len(keys):
        raise SearchError(f"objectives must differ; found repeated keys in {keys}")
    return out


class Oracle(ABC):
    """Evaluates architectures of one space on one or more objectives and counts the queries.

    Attributes:
        space: the search space.
        objectives: what each column of :meth:`evaluate`'s result measures.
        queries: architectures evaluated so far (a repeated architecture counts again).
        config: the network config the answers are for (the space's default unless a subclass says).
    """

    def __init__(self, space: str | SearchSpace, objectives: "str | Objective | Sequence[str | Objective]") -> None:
        self.space = resolve_space(space)
        self.objectives = parse_objectives(objectives)
        self.queries = 0
        self.config = self.space.default_config

    @property
    def signs(self) -> np.ndarray:
        """``(k,)`` +1/-1 per objective: ``values * signs`` is to be maximized."""
        return np.array([o.sign for o in self.objectives])

    def evaluate(self, archs: Sequence[Any]) -> np.ndarray:
        """float64 ``(n, k)``: the raw value of every objective for every architecture; counts ``n`` queries."""
        archs = [self.space.coerce(a) for a in archs]
        out = np.asarray(self._evaluate(archs), dtype=np.float64)
        if out.shape != (len(archs), len(self.objectives)):
            raise SearchError(f"{type(self).__name__} produced values of shape {out.shape}, expected "
                              f"({len(archs)}, {len(self.objectives)}) (architectures, objectives)")
        self.queries += len(archs)
        return out

    __call__ = evaluate

    @abstractmethod
    def _evaluate(self, archs: list[Hashable]) -> np.ndarray:
        """Values ``(n, k)`` of parsed architectures."""


class TabularOracle(Oracle):
    """Answers from a table of known values (a benchmark), one column per objective.

    Args:
        space: the search space.
        objectives: the objectives, in column order.
        table: DataFrame indexed by ``arch_id`` (``space.arch_id(arch, config)``) with one column per
            objective, named by :attr:`Objective.key`.
        config: the network config the table's values were measured on (default: the space's
            first); it picks the ``arch_id`` an architecture is looked up by.
    """

    def __init__(self, space: str | SearchSpace, objectives, table: pd.DataFrame, *, config: str | None = None) -> None:
        super().__init__(space, objectives)
        self.config = self.space.config(config).name
        keys = [o.key for o in self.objectives]
        missing = [k for k in keys if k not in table.columns]
        if missing:
            raise SearchError(f"table lacks objective column(s) {missing}; it has {list(table.columns)}")
        table = table[keys].dropna()
        if table.empty:
            raise SearchError(f"no architecture of {self.space.name!r} has a value for every objective {keys}")
        if not table.index.is_unique:
            raise SearchError("table index (arch_id) has repeated entries; expected one row per architecture")
        self.table = table
        self._values = table.to_numpy(dtype=np.float64)
        self._row = {aid: i for i, aid in enumerate(table.index)}

    # ---- construction ----------------------------------------------------------------------------
    @classmethod
    def from_tables(cls, space: str | SearchSpace, objectives, *, home: str | os.PathLike | None = None,
                    dataset: str | None = None, config: str | None = None) -> "TabularOracle":
        """Read every objective's values for one network config from the data home's tables (see :func:`label_table`)."""
        sp = resolve_space(space)
        objs = parse_objectives(objectives, dataset)
        return cls(sp, objs, label_table(sp.name, objs, home=home, config=config), config=config)

    @classmethod
    def from_values(cls, space: str | SearchSpace, values: Mapping[Any, float | Sequence[float]],
                    objectives="value:max", config: str | None = None) -> "TabularOracle":
        """From ``{architecture or native string: value or (value per objective)}`` measured on ``config``."""
        sp = resolve_space(space)
        objs = parse_objectives(objectives)
        rows = {}
        for arch, v in values.items():
            vals = np.atleast_1d(np.asarray(v, dtype=np.float64))
            if vals.shape != (len(objs),):
                raise SearchError(f"value of {arch!r} has {vals.size} entries, expected one per objective ({len(objs)})")
            rows[sp.arch_id(sp.coerce(arch), config)] = vals
        table = pd.DataFrame.from_dict(rows, orient="index", columns=[o.key for o in objs])
        return cls(sp, objs, table, config=config)

    # ---- answers ---------------------------------------------------------------------------------
    def _evaluate(self, archs: list[Hashable]) -> np.ndarray:
        rows = []
        for arch in archs:
            aid = self.space.arch_id(arch, self.config)
            i = self._row.get(aid)
            if i is None:
                raise SearchError(f"architecture {self.space.format(arch)!r} ({aid}) has no value for "
                                  f"{[o.key for o in self.objectives]} in the table ({len(self._row):,} architectures "
                                  "have one); build its labels or search a space the table covers")
            rows.append(self._values[i])
        return np.array(rows).reshape(len(archs), len(self.objectives))

    def lookup(self, archs: Sequence[Any]) -> np.ndarray:
        """Like :meth:`evaluate` but without counting queries (for reporting, not for searching)."""
        return np.asarray(self._evaluate([self.space.coerce(a) for a in archs]), dtype=np.float64)

    def optimum(self, objective: int = 0) -> float:
        """The best value of one objective over the whole table (the global optimum)."""
        col = self._values[:, objective]
        return float(col.max() if self.objectives[objective].mode == "max" else col.min())

    def true_front(self) -> pd.DataFrame:
        """The Pareto front of the whole table (rows of :attr:`table`, first objective best first)."""
        from .multi_objective import pareto_front

        return self.table.iloc[pareto_front(self._values * self.signs)]

    def __len__(self) -> int:
        return len(self._row)

    def __repr__(self) -> str:
        return (f"TabularOracle({self.space.config_tag(self.config)!r}, {len(self):,} architectures, objectives="
                f"{[str(o) for o in self.objectives]}, queries={self.queries})")


def label_table(space: str, objectives: Sequence[Objective], *, home: str | os.PathLike | None = None,
                config: str | None = None) -> pd.DataFrame:
    """Values of ``objectives`` for every architecture of ``space`` built with network ``config``
    (default: the space's first) in the tables.

    Returns a DataFrame indexed by ``arch_id`` with one column per objective key (NaN where an
    architecture lacks a value). An objective matching several label sets (e.g. two sources or
    fidelities of ``test_accuracy``) raises, listing them so a filter can be added.
    """
    from archbench.datasets.catalog import arch_totals, connect, label_values

    sp = resolve_space(space)
    tag = sp.config_tag(config)
    where = repr(space) if sp.config(config).name == sp.default_config else f"{space!r} (network config {sp.config(config).name!r})"

    cols: dict[str, pd.Series] = {}
    with connect(home) as con:
        totals = None
        for obj in objectives:
            if obj.is_graph_total:
                if totals is None:
                    totals = arch_totals(con, space, tag).set_index("arch_id")
                if totals.empty:
                    raise DataFormatError(f"no {where} architectures in the tables; build them: archbench build {space}")
                cols[obj.key] = totals[obj.metric].astype(np.float64)
                continue
            df = label_values(con, space, obj.metric, dataset=obj.dataset, source=obj.source,
                              fidelity=obj.fidelity, device=obj.device, config_tag=tag)
            if df.empty:
                raise DataFormatError(
                    f"no {where} labels match objective {obj.describe()}; list what exists with: archbench query "
                    f"\"SELECT DISTINCT source, dataset, metric, fidelity, device FROM metrics WHERE space = '{space}'\"")
            combo = ["source", "dataset", "fidelity", "device"]
            sets = df[combo].astype(object).where(df[combo].notna(), None).drop_duplicates()
            sets = sets.sort_values(combo, key=lambda col: col.astype(str))
            if len(sets) > 1:
                listing = "; ".join(
                    f"{r['source']}/{obj.metric}" + (f"@{r['fidelity']:g}" if r["fidelity"] is not None else "")
                    + (f"#{r['device']}" if r["device"] is not None else "") + f" (dataset {r['dataset']})"
                    for _, r in sets.iterrows())
                raise SearchError(f"objective {str(obj)!r} matches {len(sets)} label sets: {listing}; "
                                  "name one as source/metric@fidelity#device (or give --dataset)")
            cols[obj.key] = df.set_index("arch_id")["value"].astype(np.float64)
    return pd.DataFrame(cols)


class CallableOracle(Oracle):
    """Evaluates with a user function, e.g. one that trains the network (every call is a query).

    Args:
        space: the search space.
        fn: ``fn(arch) -> value`` or a sequence of one value per objective; receives the native
            string encoding (``pass_string=True``) or the architecture value.
        objectives: what ``fn`` returns (default: one maximized ``value``).
        pass_string: give ``fn`` the native string (default) rather than the architecture value.
    """

    def __init__(self, space: str | SearchSpace, fn: Callable[[Any], float | Sequence[float]],
                 objectives="value:max", *, pass_string: bool = True) -> None:
        super().__init__(space, objectives)
        if not callable(fn):
            raise SearchError(f"fn must be callable (arch -> value), found {type(fn).__name__}")
        self.fn = fn
        self.pass_string = pass_string

    def _evaluate(self, archs: list[Hashable]) -> np.ndarray:
        rows = []
        for arch in archs:
            value = self.fn(self.space.format(arch) if self.pass_string else arch)
            vals = np.atleast_1d(np.asarray(value, dtype=np.float64))
            if vals.shape != (len(self.objectives),):
                raise SearchError(f"fn returned {value!r} for {self.space.format(arch)!r}; expected "
                                  f"{len(self.objectives)} number(s), one per objective")
            rows.append(vals)
        return np.array(rows).reshape(len(archs), len(self.objectives))
