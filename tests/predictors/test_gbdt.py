"""Tests for archbench.predictors.gbdt: learning, early stopping, search, extras, transfer."""
from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import kendalltau

from archbench.predictors import get_predictor, load_predictor
from archbench.predictors.base import TargetScaler, validation_split
from archbench.predictors.gbdt import quantile_map


def test_learns_the_synthetic_target(nb201_task):
    graphs, y = nb201_task
    model = get_predictor("gbdt", objective="regression", n_estimators=300).fit(graphs.subset(np.arange(80)), y[:80])
    tau = kendalltau(y[80:], model.predict(graphs.subset(np.arange(80, 120)))).statistic
    assert tau > 0.6
    assert 1 <= model.n_rounds_ <= 300  # early stopping picked a number of rounds
    imp = model.feature_importances()
    assert imp and set(imp) <= set(model.feature_names_)


def test_pairwise_ranks_with_fixed_rounds_on_the_target_scale(nb201_task):
    graphs, y = nb201_task
    model = get_predictor("gbdt", n_estimators=200).fit(graphs.subset(np.arange(80)), y[:80])
    assert model.objective == "pairwise" and model.n_rounds_ == 200  # no early stopping
    assert model.calibration_.shape == (80,) and (np.diff(model.calibration_) >= 0).all()
    pred = model.predict(graphs.subset(np.arange(80, 120)))
    assert kendalltau(y[80:], pred).statistic > 0.6
    assert y[:80].min() - 5 < pred.min() and pred.max() < y[:80].max() + 5  # quantile-matched to the targets
    # the map to the target scale keeps the order of the booster's raw scores
    import xgboost as xgb

    raw = model.booster_.predict(xgb.DMatrix(model.featurizer_.transform(graphs.subset(np.arange(80, 120)))))
    assert kendalltau(raw, pred).statistic > 0.99
    with pytest.raises(ValueError, match="objective must be one of 'pairwise', 'regression', found 'lambdamart'"):
        get_predictor("gbdt", objective="lambdamart").fit(graphs, y)


def test_quantile_map_by_hand():
    xp, fp = np.array([0.0, 1.0, 3.0]), np.array([10.0, 20.0, 40.0])
    np.testing.assert_allclose(quantile_map(np.array([0.0, 0.5, 2.0, 3.0]), xp, fp), [10.0, 15.0, 30.0, 40.0])
    np.testing.assert_allclose(quantile_map(np.array([-1.0, 4.0]), xp, fp), [0.0, 50.0])  # end slopes 10 and 10
    flat = quantile_map(np.array([5.0, 6.0]), xp, np.array([10.0, 40.0, 40.0]))
    assert flat[1] > flat[0] > 40.0 - 1e-6  # a flat end still orders the scores beyond it
    with pytest.raises(ValueError, match="as many training scores as targets"):
        quantile_map(np.zeros(2), xp, fp[:2])


def test_model_saved_before_the_ranking_objective_loads_as_a_regression(nb201_task, tmp_path):
    graphs, y = nb201_task
    model = get_predictor("gbdt", objective="regression", n_estimators=50).fit(graphs, y)
    model.save(tmp_path / "m")
    manifest = tmp_path / "m" / "predictor.json"
    doc = json.loads(manifest.read_text())
    for key in ("objective", "pairs_per_graph"):
        del doc["params"][key]
    for key in ("objective", "calibration"):
        del doc["state"][key]
    manifest.write_text(json.dumps(doc))
    old = load_predictor(tmp_path / "m")
    assert old.objective == "regression" and old.calibration_ is None
    np.testing.assert_allclose(old.predict(graphs), model.predict(graphs))


def test_rank_and_standard_targets_map_back_to_the_target_scale(nb201_task):
    graphs, y = nb201_task
    for target in ("rank", "standard"):
        pred = get_predictor("gbdt", objective="regression", n_estimators=200, target=target).fit(graphs, y).predict(graphs)
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
