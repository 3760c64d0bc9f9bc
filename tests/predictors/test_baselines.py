"""Tests for archbench.predictors.baselines."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau

from archbench.predictors import get_predictor


def test_params_and_flops_rank_by_their_number(nb201_task):
    graphs, y = nb201_task
    for name, number in (("params", graphs.params), ("flops", graphs.flops)):
        pred = get_predictor(name).fit(graphs, y).predict(graphs)
        assert abs(kendalltau(pred, number).statistic) == 1.0
    # a target that falls with size flips the ranking
    pred = get_predictor("params").fit(graphs, -np.log(graphs.params)).predict(graphs)
    assert kendalltau(pred, graphs.params).statistic == -1.0


def test_proxy_baseline_reads_the_extra_and_fills_missing(nb201_task):
    graphs, y = nb201_task
    model = get_predictor("proxy", metric="zc_synflow").fit(graphs, y)
    pred = model.predict(graphs)
    score = graphs.extras["zc_synflow"]
    ok = ~np.isnan(score)
    assert kendalltau(pred[ok], score[ok]).statistic == pytest.approx(1.0)
    np.testing.assert_allclose(pred[~ok], y.mean())


def test_random_is_seeded(nb201_task):
    graphs, y = nb201_task
    a = get_predictor("random", seed=1).fit(graphs, y).predict(graphs)
    b = get_predictor("random", seed=2).fit(graphs, y).predict(graphs)
    assert not np.allclose(a, b) and abs(kendalltau(a, y).statistic) < 0.3


def test_ridge_recovers_an_additive_function_of_the_encoding(nb201_task):
    graphs, _ = nb201_task
    # Additive in the edge ops: exactly what a one-hot linear model represents.
    y = np.array([sum(op.count("conv") + 0.5 * (op == "avg_pool_3x3") for op in enc.split("|") if "~" in op)
                  for enc in graphs.encoding], dtype=float)
    model = get_predictor("ridge", alpha=1e-3).fit(graphs.subset(np.arange(80)), y[:80])
    np.testing.assert_allclose(model.predict(graphs.subset(np.arange(80, 120))), y[80:], atol=0.05)
    assert len(model.vocabulary_) > 5
