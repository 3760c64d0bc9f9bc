"""Regularized (aging) evolution, Real et al. 2019 (AmoebaNet).

The population holds the ``population_size`` most recently told architectures. A child is a
one-step mutation of the best of ``sample_size`` population members drawn at random; when a
child is told it joins the population and the oldest member leaves, whatever its value.
"""
from __future__ import annotations

from collections import deque
from typing import Hashable

import numpy as np

from .base import Optimizer, SearchError, register_optimizer


@register_optimizer("regularized_evolution")
class RegularizedEvolution(Optimizer):
    """Aging evolution: tournament selection, one mutation per child, oldest member dies.

    Until ``population_size`` architectures have been told, ``ask`` returns random samples.

    Args:
        space: search space (registered name or instance).
        seed: seed of sampling, tournaments and mutations.
        population_size: members kept (NASLib's NB201 setting: 30).
        sample_size: tournament size (NASLib's NB201 setting: 10).
    """

    def __init__(self, space, *, seed: int = 0, population_size: int = 30, sample_size: int = 10) -> None:
        self.population_size = population_size
        self.sample_size = sample_size
        super().__init__(space, seed=seed)

    def _reset_state(self) -> None:
        if not (isinstance(self.population_size, int) and self.population_size >= 1):
            raise SearchError(f"population_size must be a positive integer, found {self.population_size!r}")
        if not (isinstance(self.sample_size, int) and 1 <= self.sample_size):
            raise SearchError(f"sample_size must be a positive integer, found {self.sample_size!r}")
        self.population_: deque[tuple[Hashable, float]] = deque(maxlen=self.population_size)

    def _observe(self, archs: list[Hashable], values: np.ndarray) -> None:
        self.population_.extend(zip(archs, values.tolist()))

    def parent(self) -> Hashable:
        """Tournament winner: the best of ``sample_size`` members drawn without replacement."""
        k = min(self.sample_size, len(self.population_))
        contenders = self.rng_.sample(range(len(self.population_)), k)
        return max((self.population_[i] for i in contenders), key=lambda m: m[1])[0]

    def _propose(self, n: int) -> list[Hashable]:
        taken: set[Hashable] = set()
        out = []
        for _ in range(n):
            if len(self.population_) < self.population_size:
                out.extend(self._random(1, taken))
            else:
                out.append(self._fresh(lambda: self.space_.mutate(self.parent(), self.rng_), taken))
        return out
