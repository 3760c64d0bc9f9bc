"""Multi-objective search: Pareto fronts and NSGA-II-style aging evolution.

Every function here maximizes every column; negate a column to minimize it (the runner does
this from each objective's direction).
"""
from __future__ import annotations

from typing import Hashable

import numpy as np

from .base import SearchError, register_optimizer
from .evolution import RegularizedEvolution


def _as_matrix(values) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise SearchError(f"objective values must have shape (n_points, n_objectives), found {arr.shape}")
    if np.isnan(arr).any():
        raise SearchError("objective values contain NaN")
    return arr


def dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """True if ``a`` is at least as good as ``b`` everywhere and better somewhere (maximizing)."""
    return bool(np.all(a >= b) and np.any(a > b))


def non_dominated_rank(values) -> np.ndarray:
    """Pareto rank of every point: 0 for the front, 1 for the front once it is removed, ...

    Args:
        values: ``(n, k)`` objective values, all maximized.
    Returns:
        int64 ``(n,)``.
    """
    v = _as_matrix(values)
    n = v.shape[0]
    # dom[i, j]: i dominates j. O(n^2 k) memory and time: meant for populations and search
    # histories (n up to a few thousand); use pareto_front for a whole benchmark table.
    ge = (v[:, None, :] >= v[None, :, :]).all(axis=2)
    gt = (v[:, None, :] > v[None, :, :]).any(axis=2)
    dom = ge & gt
    count = dom.sum(axis=0)  # how many points dominate each point
    rank = np.full(n, -1, dtype=np.int64)
    level = 0
    current = np.flatnonzero(count == 0)
    while current.size:
        rank[current] = level
        count = count - dom[current].sum(axis=0)
        count[rank >= 0] = -1
        current = np.flatnonzero(count == 0)
        level += 1
    return rank


def pareto_front(values) -> np.ndarray:
    """Indices of the non-dominated points (sorted by the first objective, best first).

    Duplicated points are all kept. Args: ``values`` ``(n, k)``, all maximized.
    """
    v = _as_matrix(values)
    if v.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    # Sweep in lexicographic order, best first: a point can only be dominated by one before it,
    # and only by a front point, so each point is compared with the front found so far
    # (O(n * front) instead of all pairs; whole benchmark tables take milliseconds).
    order = np.lexsort(tuple(-v[:, j] for j in range(v.shape[1] - 1, -1, -1)))
    front: list[int] = []
    for i in order:
        if front:
            f = v[front]
            if ((f >= v[i]).all(axis=1) & (f > v[i]).any(axis=1)).any():
                continue
        front.append(int(i))
    idx = np.array(front, dtype=np.int64)
    return idx[np.argsort(-v[idx, 0], kind="stable")]


def crowding_distance(values) -> np.ndarray:
    """NSGA-II crowding distance of every point within ``values`` (inf at each objective's extremes)."""
    v = _as_matrix(values)
    n, k = v.shape
    out = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for j in range(k):
        order = np.argsort(v[:, j], kind="stable")
        col = v[order, j]
        span = col[-1] - col[0]
        out[order[0]] = out[order[-1]] = np.inf
        if span > 0 and np.isfinite(span):
            out[order[1:-1]] += (col[2:] - col[:-2]) / span
    return out


def hypervolume_2d(values, reference) -> float:
    """Area dominated by two-objective points (both maximized) above ``reference`` ``(r0, r1)``."""
    v = _as_matrix(values)
    if v.shape[1] != 2:
        raise SearchError(f"hypervolume_2d needs 2 objectives, found {v.shape[1]}")
    r0, r1 = (float(x) for x in reference)
    v = v[(v[:, 0] > r0) & (v[:, 1] > r1)]
    if not len(v):
        return 0.0
    front = v[pareto_front(v)]  # sorted by objective 0 descending, so objective 1 ascends
    area, prev1 = 0.0, r1
    for x0, x1 in front:
        if x1 > prev1:
            area += (x0 - r0) * (x1 - prev1)
            prev1 = x1
    return float(area)


@register_optimizer("pareto_evolution")
class ParetoEvolution(RegularizedEvolution):
    """Aging evolution with NSGA-II selection: tournaments by (Pareto rank, crowding distance).

    Like :class:`~.evolution.RegularizedEvolution`, the population is the ``population_size``
    most recently told architectures and a child is one mutation of a tournament winner; a
    contender wins by lower Pareto rank within the population, ties broken by larger crowding
    distance (a sparser part of the front). Random samples until the population is full.

    Args:
        space: search space (registered name or instance).
        seed: seed of sampling, tournaments and mutations.
        population_size: members kept.
        sample_size: tournament size.
    """

    multi_objective = True

    def _reset_state(self) -> None:
        super()._reset_state()
        self._scores: tuple[np.ndarray, np.ndarray] | None = None

    def _observe(self, archs: list[Hashable], values: np.ndarray) -> None:
        self.population_.extend(zip(archs, values))
        self._scores = None

    def _rank_and_crowding(self) -> tuple[np.ndarray, np.ndarray]:
        if self._scores is None:
            v = np.stack([m[1] for m in self.population_])
            rank = non_dominated_rank(v)
            crowd = np.zeros(len(v))
            for r in np.unique(rank):
                members = np.flatnonzero(rank == r)
                crowd[members] = crowding_distance(v[members])
            self._scores = (rank, crowd)
        return self._scores

    def parent(self) -> Hashable:
        rank, crowd = self._rank_and_crowding()
        k = min(self.sample_size, len(self.population_))
        contenders = self.rng_.sample(range(len(self.population_)), k)
        best = min(contenders, key=lambda i: (rank[i], -crowd[i]))
        return self.population_[best][0]
