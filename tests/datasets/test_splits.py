"""Tests for archbench.datasets.splits."""
from __future__ import annotations

import numpy as np
import pytest

from archbench.datasets.splits import kfold, random_split


def test_random_split_is_seeded_nested_and_disjoint():
    tr, te = random_split(50, 10, seed=3)
    assert len(tr) == 10 and len(te) == 40 and not set(tr) & set(te) and set(tr) | set(te) == set(range(50))
    tr20, _ = random_split(50, 20, seed=3)
    assert set(tr) <= set(tr20)  # nested for one seed
    np.testing.assert_array_equal(random_split(50, 10, seed=3)[0], tr)
    assert not np.array_equal(random_split(50, 10, seed=4)[0], tr)
    with pytest.raises(ValueError, match="n_train must be in 0..50"):
        random_split(50, 51, seed=0)


def test_kfold_covers_every_index_once():
    folds = kfold(10, 3, seed=0)
    assert sorted(np.concatenate([va for _, va in folds]).tolist()) == list(range(10))
    assert all(not set(tr) & set(va) for tr, va in folds)
