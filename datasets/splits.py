"""Seeded splits of labelled architectures into training and test sets."""
from __future__ import annotations

import numpy as np


def random_split(n: int, n_train: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train, test)`` indices: the first ``n_train`` of a seeded permutation of ``range(n)``, and the rest.

    For one seed, training sets of increasing ``n_train`` are nested, so a sample-efficiency curve
    adds architectures instead of redrawing them. Both index arrays are sorted.

    Raises:
        ValueError: ``n_train`` outside ``0..n``.
    """
    if not 0 <= n_train <= n:
        raise ValueError(f"n_train must be in 0..{n} (the number of architectures), found {n_train}")
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[:n_train]), np.sort(perm[n_train:])


def kfold(n: int, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """``folds`` seeded ``(train, validation)`` splits covering every index once as validation."""
    if not 2 <= folds <= n:
        raise ValueError(f"folds must be in 2..{n}, found {folds}")
    perm = np.random.default_rng(seed).permutation(n)
    parts = np.array_split(perm, folds)
    return [(np.sort(np.concatenate(parts[:i] + parts[i + 1:])), np.sort(parts[i])) for i in range(folds)]


__all__ = ["kfold", "random_split"]
