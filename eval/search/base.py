"""The ask/tell optimizer protocol and the registry of search optimizers.

An optimizer proposes architectures of one search space with ``ask(n)`` and learns their values
with ``tell(archs, values)``; it never evaluates anything itself, so the same optimizer runs on a
benchmark table (:mod:`.oracle`), on real training, or inside someone else's loop.

Conventions every optimizer follows:

* values are **maximized**: pass ``-latency`` to minimize latency (:func:`~.run.run_search` does
  this for you from each objective's direction). A failed evaluation may be told as ``-inf``;
  NaN is refused.
* single-objective optimizers take ``values`` of shape ``(n,)``; multi-objective ones
  (``multi_objective = True``) take ``(n, k)``.
* ``ask`` does not repeat an architecture already asked or told while new ones can be found.
* all randomness comes from ``seed``: equal seeds and equal told values give equal proposals.
* ``tell`` accepts architectures the optimizer did not propose (warm starts, external proposals).
"""
from __future__ import annotations

import random
from abc import ABC, abstractmethod
from typing import Any, Hashable, Sequence

import numpy as np

from archbench.errors import ArchbenchError
from archbench.graphs.spaces import SearchSpace, get_space
from archbench.registry import Registry

#: How many draws ``ask`` makes to find one architecture not seen before, before repeating one.
MAX_DRAWS = 200


class SearchError(ArchbenchError, ValueError):
    """A search was configured or driven wrongly (bad values, budget, objective ...)."""


def resolve_space(space: str | SearchSpace) -> SearchSpace:
    """A search-space instance from a registered name or an instance."""
    if isinstance(space, SearchSpace):
        return space
    if isinstance(space, str):
        return get_space(space)
    raise SearchError(f"space must be a registered name (e.g. 'nb201') or a SearchSpace, found {type(space).__name__}")


class Optimizer(ABC):
    """Base class: ask/tell bookkeeping (history, seen set, best) around ``_propose``.

    Args:
        space: search space (registered name or instance).
        seed: seed of the optimizer's own random generator.

    Attributes (set by :meth:`reset`, updated by :meth:`tell`):
        archs_: every architecture told, in order.
        values_: float64 array ``(len(archs_),)`` or ``(len(archs_), k)`` of told values.
    """

    #: registry name
    name: str = ""
    #: False: ``tell`` takes ``(n,)`` values; True: ``(n, k)`` (several objectives, all maximized);
    #: None: either (the optimizer ignores values, e.g. random search)
    multi_objective: bool | None = False

    def __init__(self, space: str | SearchSpace, *, seed: int = 0) -> None:
        self.space = space
        self.seed = seed
        self.reset()

    # ---- state ---------------------------------------------------------------------------------------
    def reset(self) -> "Optimizer":
        """Forget everything told and restart the random generator from ``seed``."""
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)):
            raise SearchError(f"seed must be an integer, found {type(self.seed).__name__} {self.seed!r}")
        self.space_ = resolve_space(self.space)
        self.rng_ = random.Random(int(self.seed))
        self.archs_: list[Hashable] = []
        self._values: list[np.ndarray] = []
        self.seen_: set[Hashable] = set()
        self._reset_state()
        return self

    def _reset_state(self) -> None:
        """Subclasses reset their own state here."""

    @property
    def values_(self) -> np.ndarray:
        if not self._values:
            return np.zeros((0, 0) if self.multi_objective else 0)
        return np.array(self._values, dtype=np.float64)

    @property
    def num_told(self) -> int:
        return len(self.archs_)

    def best(self) -> tuple[Hashable, float]:
        """The best architecture told so far and its value (single objective)."""
        if not self.archs_:
            raise SearchError("nothing told yet: call tell(archs, values) before best()")
        values = self.values_
        if values.ndim != 1:
            raise SearchError(f"{self.name} was told {values.shape[1]} objectives: best() needs one; "
                              "use archbench.eval.search.pareto_front(optimizer.values_) instead")
        i = int(np.argmax(values))
        return self.archs_[i], float(values[i])

    # ---- the protocol -------------------------------------------------------------------------------
    def ask(self, n: int = 1) -> list[Hashable]:
        """``n`` architectures to evaluate next (not asked or told before, while new ones can be found)."""
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise SearchError(f"ask(n) needs a positive integer n, found {n!r}")
        archs = self._propose(int(n))
        if len(archs) != n:
            raise SearchError(f"{type(self).__name__}._propose returned {len(archs)} architectures, expected {n}")
        self.seen_.update(archs)
        return archs

    def tell(self, archs: Sequence[Any], values: Sequence[float] | np.ndarray) -> None:
        """Record the values of ``archs`` (native strings or architecture values); higher is better."""
        archs = [self.space_.coerce(a) for a in archs]
        vals = self._check_values(values, len(archs))
        self.archs_.extend(archs)
        self._values.extend(vals)
        self.seen_.update(archs)
        self._observe(archs, vals)

    @abstractmethod
    def _propose(self, n: int) -> list[Hashable]:
        """``n`` new architectures (the subclass's strategy)."""

    def _observe(self, archs: list[Hashable], values: np.ndarray) -> None:
        """Subclasses update their state with newly told results here."""

    # ---- helpers for subclasses ------------------------------------------------------------------------
    def _check_values(self, values: Any, n: int) -> np.ndarray:
        arr = np.asarray(values, dtype=np.float64)
        if self.multi_objective is None and arr.ndim == 2 and arr.shape[0] == n:
            pass  # either shape is fine for an optimizer that ignores values
        elif self.multi_objective:
            if arr.ndim == 1 and arr.shape[0] == n:
                arr = arr[:, None]
            if arr.ndim != 2 or arr.shape[0] != n:
                raise SearchError(f"{self.name} takes values of shape (n_archs, n_objectives) = ({n}, k), found {arr.shape}")
        elif arr.shape != (n,):
            raise SearchError(f"{self.name} takes one value per architecture, shape ({n},); found {arr.shape} "
                              "(a multi-objective search needs a multi-objective optimizer, e.g. pareto_evolution)")
        if self._values and np.shape(self._values[0]) != arr.shape[1:]:
            raise SearchError(f"{self.name} was told values of shape {np.shape(self._values[0]) or 'scalar'} per "
                              f"architecture before, now {arr.shape[1:] or 'scalar'}")
        if np.isnan(arr).any():
            raise SearchError("values contain NaN; tell a failed evaluation as float('-inf') instead")
        return arr

    def _fresh(self, draw, taken: set[Hashable]) -> Hashable:
        """An architecture from ``draw()`` not seen and not in ``taken``; after MAX_DRAWS tries, any draw."""
        arch = draw()
        for _ in range(MAX_DRAWS):
            if arch not in self.seen_ and arch not in taken:
                break
            arch = draw()
        taken.add(arch)
        return arch

    def _random(self, n: int, taken: set[Hashable] | None = None) -> list[Hashable]:
        """``n`` fresh uniformly sampled architectures."""
        taken = set() if taken is None else taken
        return [self._fresh(lambda: self.space_.sample(self.rng_), taken) for _ in range(n)]

    def get_params(self) -> dict[str, Any]:
        """The constructor parameters (for reports and the trajectory's metadata)."""
        import inspect

        names = [p for p in inspect.signature(type(self).__init__).parameters if p not in ("self", "space")]
        return {p: getattr(self, p) for p in names if hasattr(self, p)}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        space = self.space if isinstance(self.space, str) else self.space.name
        return f"{type(self).__name__}({space!r}, {params})"


OPTIMIZERS: Registry[type[Optimizer]] = Registry("search optimizer")


def register_optimizer(name: str):
    """Class decorator: register an :class:`Optimizer` subclass under ``name`` (sets its ``name``)."""
    def decorator(cls: type[Optimizer]) -> type[Optimizer]:
        cls.name = name
        return OPTIMIZERS.register(name)(cls)

    return decorator


def get_optimizer(name: str, space: str | SearchSpace, **params: Any) -> Optimizer:
    """An optimizer ``name`` over ``space`` (the error lists the valid names and parameters)."""
    cls = OPTIMIZERS.get(name)
    try:
        return cls(space, **params)
    except TypeError as err:
        import inspect

        valid = [p for p in inspect.signature(cls.__init__).parameters if p not in ("self", "space")]
        raise SearchError(f"optimizer {name!r}: {err}; its parameters are: {', '.join(valid)}") from None


def list_optimizers(multi_objective: bool | None = None) -> list[str]:
    """Registered optimizer names; ``multi_objective=True`` / ``False``: those that take several / one objective."""
    names = OPTIMIZERS.names()
    if multi_objective is None:
        return names
    return [n for n in names if OPTIMIZERS.get(n).multi_objective in (bool(multi_objective), None)]
