"""Tests for archbench.eval.metrics (golden numbers computed by hand)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from archbench.eval.metrics import METRIC_NAMES, MetricInputError, ndcg_at_k, rank_metrics


def test_hand_computed_example():
    # One swapped pair among 4: 5 concordant, 1 discordant pair -> tau = 4/6; rho = 1 - 6*2/(4*15) = 0.8.
    m = rank_metrics([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 4.0, 3.0], k=2, top_fraction=0.25)
    assert list(m) == list(METRIC_NAMES)
    assert m["kendall_tau"] == pytest.approx(4 / 6)
    assert m["spearman"] == pytest.approx(0.8)
    assert m["pearson"] == pytest.approx(0.8)
    assert m["mae"] == pytest.approx(0.5) and m["rmse"] == pytest.approx(math.sqrt(0.5))
    assert m["precision_at_k"] == 1.0  # top-2 sets agree: {3, 4}
    assert m["top_overlap"] == 0.0  # top-1: true is index 3, predicted index 2
    assert m["regret"] == pytest.approx(1.0)  # picked the 3, best is 4
    # NDCG@2: gains (0, 1/3, 2/3, 1); predicted order 2, 3 -> (2/3 + 1/log2 3) / (1 + (2/3)/log2 3)
    want = (2 / 3 + 1 / math.log2(3)) / (1 + (2 / 3) / math.log2(3))
    assert m["ndcg_at_k"] == pytest.approx(want)


def test_perfect_and_reversed():
    y = np.arange(20.0)
    perfect = rank_metrics(y, 2 * y + 1)
    assert perfect["kendall_tau"] == pytest.approx(1.0) and perfect["regret"] == 0.0 and perfect["ndcg_at_k"] == pytest.approx(1.0)
    assert perfect["precision_at_k"] == 1.0
    rev = rank_metrics(y, -y)
    assert rev["kendall_tau"] == pytest.approx(-1.0) and rev["regret"] == 19.0 and rev["precision_at_k"] == 0.0


def test_lower_is_better_targets():
    lat = np.array([5.0, 1.0, 3.0])
    m = rank_metrics(lat, np.array([4.0, 2.0, 3.0]), k=1, higher_is_better=False)
    assert m["regret"] == 0.0 and m["precision_at_k"] == 1.0
    m = rank_metrics(lat, np.array([1.0, 2.0, 3.0]), k=1, higher_is_better=False)
    assert m["regret"] == pytest.approx(4.0)  # chose the slowest (5) instead of 1


def test_k_is_clipped():
    m = rank_metrics([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], k=10)
    assert m["precision_at_k"] == 1.0 and ndcg_at_k(np.array([1.0, 2.0]), np.array([2.0, 1.0]), 1) == 0.0


@pytest.mark.parametrize("t, p, match", [
    ([1.0, 2.0, 3.0], [1.0, 2.0], "y_true has 3 values but y_pred has 2"),
    ([1.0], [1.0], "at least 2"),
    ([1.0, 1.0, 1.0], [1.0, 2.0, 3.0], "y_true is constant"),
    ([1.0, 2.0, 3.0], [2.0, 2.0, 2.0], "y_pred is constant"),
    ([1.0, np.nan, 3.0], [1.0, 2.0, 3.0], "non-finite"),
])
def test_rejects_undefined_inputs(t, p, match):
    with pytest.raises(MetricInputError, match=match):
        rank_metrics(t, p)
