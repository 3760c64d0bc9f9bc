"""Tests for archbench.predictors.gbdt: learning, early stopping, search, extras, transfer."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kendalltau

from archbench.predictors import get_predictor
from archbench.predictors.base import TargetScaler, validation_split


def test_learns_the_synthetic_target(nb201_task):
    graphs, y = nb201_task
    model = get_predictor("gbdt", n_estimators=300).fit(graphs.subset(np.arange(80)), y[:80])
    tau = kendalltau(y[80:], model.predict(graphs.subset(np.arange(80, 120)))).statistic
    assert tau > 0.6
    assert 1 <= model.n_rounds_ <= 300  # early stopping picked a number of rounds
    imp = model.feature_importances()
    assert imp and set(imp) <= set(model.feature_names_)


def test_rank_and_standard_targets_map_back_to_the_target_scale(nb201_task):
    graphs, y = nb201_task
    for target in ("rank", "standard"):
        pred = get_predictor("gbdt", n_estimators=200, target=target).fit(graphs, y).predict(graphs)
        assert y.min() - 5 < pred.mean() < y.max() + 5
        assert np.corrcoef(pred, y)[0, 1] > 0.8
    with pytest.raises(ValueError, match="target must be 'rank' or 'standard'"):
        get_predictor("gbdt", target="log").fit(graphs, y)


def test_search_and_extras(nb201_task):
    graphs, y = nb201_task
    model = get_predictor("gbdt", n_estimators=100, search=3, extras=("zc_synflow",)).fit(graphs, y)
    assert model.best_params_ and set(model.best_params_) <= {"max_depth", "learning_rate", "min_child_weight",
                                                              "subsample", "colsample_bytree", "reg_lambda"}
    assert model.feature_names_[-1] == "extra:zc_synflow"
    assert model.required_extras == ("zc_synflow",)


def test_fine_tune_adds_rounds_and_takes_the_new_scale(nb201_task):
    graphs, y = nb201_task
    model = get_predictor("gbdt", n_estimators=50).fit(graphs.subset(np.arange(60)), y[:60])
    rounds = model.n_rounds_
    model.fine_tune(graphs.subset(np.arange(60, 80)), y[60:80] / 100.0)
    assert model.n_rounds_ > rounds
    assert model.predict(graphs.subset(np.arange(80, 90))).max() < 2.0  # now on the new targets' scale


def test_target_scaler_by_hand():
    s = TargetScaler("rank").fit(np.array([10.0, 20.0, 30.0, 40.0]))
    np.testing.assert_allclose(s.transform(np.array([10.0, 40.0, 25.0])), [0.125, 0.875, 0.5])
    np.testing.assert_allclose(s.inverse(np.array([0.125, 0.875])), [10.0, 40.0])
    assert s.inverse(np.array([1.0]))[0] > 40.0  # beyond the training range: extrapolated, order kept
    st = TargetScaler("standard").fit(np.array([1.0, 3.0]))
    np.testing.assert_allclose(st.transform(np.array([1.0, 3.0])), [-1.0, 1.0])


def test_validation_split():
    tr, va = validation_split(100, 0.2, seed=0)
    assert len(va) == 20 and len(tr) == 80 and not set(tr) & set(va)
    tr, va = validation_split(20, 0.2, seed=0)  # 4 validation graphs would be too few
    assert len(va) == 0 and len(tr) == 20
