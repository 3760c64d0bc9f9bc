"""Random search: uniform samples of the space, never repeating one while new ones can be found."""
from __future__ import annotations

from typing import Hashable

from .base import Optimizer, register_optimizer


@register_optimizer("random")
class RandomSearch(Optimizer):
    """Uniformly sampled architectures; ignores the values (so any number of objectives works).

    Args:
        space: search space (registered name or instance).
        seed: seed of the sampler.
    """

    multi_objective = None

    def _propose(self, n: int) -> list[Hashable]:
        return self._random(n)
