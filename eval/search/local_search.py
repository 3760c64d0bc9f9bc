"""Local search (hill climbing with random restarts), as in White et al. 2020 "Local search is
state of the art for NAS benchmarks".

Start from the best of ``num_init`` random architectures; evaluate its neighbours in random
order and move to the first one that is better; when every neighbour of the current point has
been evaluated without improvement (a local optimum), restart from a fresh random architecture.
"""
from __future__ import annotations

from typing import Hashable

import numpy as np

from .base import MAX_DRAWS, Optimizer, SearchError, register_optimizer


@register_optimizer("local_search")
class LocalSearch(Optimizer):
    """First-improvement hill climbing over one-mutation neighbourhoods, with random restarts.

    A neighbourhood is the set of distinct architectures ``space.mutate`` reaches in one step
    (found by drawing mutations until ``max_neighbors`` distinct ones or ``MAX_DRAWS`` draws
    bring nothing new: for NB201 that is all 24 neighbours).

    Args:
        space: search space (registered name or instance).
        seed: seed of sampling and neighbour order.
        num_init: random architectures evaluated before the first climb.
        max_neighbors: neighbourhood size cap.
    """

    def __init__(self, space, *, seed: int = 0, num_init: int = 10, max_neighbors: int = 64) -> None:
        self.num_init = num_init
        self.max_neighbors = max_neighbors
        super().__init__(space, seed=seed)

    def _reset_state(self) -> None:
        for name in ("num_init", "max_neighbors"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise SearchError(f"{name} must be a positive integer, found {value!r}")
        self.current_: tuple[Hashable, float] | None = None
        self._queue: list[Hashable] = []
        self._restart = False  # next proposal starts a new climb from a random point
        self.restarts_ = 0

    def neighbors(self, arch: Hashable) -> list[Hashable]:
        """Distinct one-mutation neighbours of ``arch``, in a seeded random order."""
        found: dict[Hashable, None] = {}
        idle = 0
        while len(found) < self.max_neighbors and idle < MAX_DRAWS:
            nb = self.space_.mutate(arch, self.rng_)
            if nb in found or nb == arch:
                idle += 1
            else:
                found[nb] = None
                idle = 0
        out = list(found)
        self.rng_.shuffle(out)
        return out

    def _move_to(self, arch: Hashable, value: float) -> None:
        self.current_ = (arch, value)
        self._queue = self.neighbors(arch)

    def _observe(self, archs: list[Hashable], values: np.ndarray) -> None:
        for arch, value in zip(archs, values.tolist()):
            if self._restart:
                # The first result after a restart is the new starting point, good or bad.
                self._restart = False
                self.restarts_ += 1
                self._move_to(arch, value)
            elif self.current_ is None:
                if self.num_told >= self.num_init:
                    i = int(np.argmax(self.values_))
                    self._move_to(self.archs_[i], float(self.values_[i]))
            elif value > self.current_[1]:
                self._move_to(arch, value)

    def _propose(self, n: int) -> list[Hashable]:
        taken: set[Hashable] = set()
        out: list[Hashable] = []
        while len(out) < n:
            if self.current_ is None or self._restart:
                out.extend(self._random(1, taken))
                continue
            while self._queue and (self._queue[0] in self.seen_ or self._queue[0] in taken):
                self._queue.pop(0)
            if self._queue:
                arch = self._queue.pop(0)
                taken.add(arch)
                out.append(arch)
            else:
                # Local optimum: every neighbour was evaluated without improvement.
                self._restart = True
        return out
