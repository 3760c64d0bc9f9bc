"""Tests for archbench.eval.protocols: sample efficiency, cross-space transfer, holdout, predict."""
from __future__ import annotations

import numpy as np
import pytest

from archbench.errors import ArchbenchError
from archbench.eval.protocols import (
    PredictorSpec, cross_space, evaluate_saved, holdout, predict_space, quantile_targets, sample_efficiency,
    train_on_task,
)
from archbench.eval.reports import RESULT_COLUMNS

SPECS = [PredictorSpec("params", "params"), PredictorSpec("small_gbdt", "gbdt", {"n_estimators": 30})]


def test_sample_efficiency_rows(tasks):
    task = tasks["nb201"]
    lines = []
    rows = sample_efficiency(task, SPECS, train_sizes=(10, 30, 59), seeds=[0, 1], progress=lines.append)
    # n=59 leaves 1 test architecture: skipped and said so
    assert len(rows) == 2 * 2 * 2 and any("skip n=59" in line for line in lines)
    assert set(rows.columns) <= set(RESULT_COLUMNS)
    assert set(rows["n_train"]) == {10, 30} and (rows["n_test"] == 60 - rows["n_train"]).all()
    assert (rows["protocol"] == "sample_efficiency").all() and (rows["task"] == "nb201/synthetic/acc").all()
    # Every predictor sees the same split: the params baseline's metrics depend only on (n, seed).
    a = rows[rows["predictor"] == "params"].set_index(["n_train", "seed"])["kendall_tau"]
    again = sample_efficiency(task, SPECS[:1], train_sizes=(10, 30), seeds=[0, 1]).set_index(["n_train", "seed"])["kendall_tau"]
    np.testing.assert_allclose(a.sort_index(), again.sort_index())
    capped = sample_efficiency(task, SPECS[:1], train_sizes=(10,), seeds=[0], max_test=7)
    assert capped["n_test"].tolist() == [7]


def test_cross_space_zero_and_k_shot(tasks):
    rows = cross_space([tasks["nb201"]], tasks["tinychain"], SPECS[1:], k_shots=(0, 4), seeds=[0])
    labels = rows["predictor"].tolist()
    assert labels == ["small_gbdt", "small_gbdt", "small_gbdt/scratch"]
    assert rows["k_shot"].tolist() == [0, 4, 4] and (rows["n_test"] == 12).all()
    assert rows["train_spaces"].tolist() == ["nb201", "nb201", "tinychain"]
    assert (rows["protocol"] == "cross_space").all()
    # Trees fit on NB201 features give tinychain graphs one value: undefined ranking, recorded as NaN.
    zero_shot = rows.iloc[0]
    assert np.isnan(zero_shot["kendall_tau"]) and np.isfinite(zero_shot["mae"])
    assert np.isfinite(rows["kendall_tau"].iloc[1:]).all()
    with pytest.raises(ArchbenchError, match="leaves fewer than 2"):
        cross_space([tasks["nb201"]], tasks["tinychain"], SPECS[:1], k_shots=(15,), seeds=[0])


def test_quantile_targets():
    np.testing.assert_allclose(quantile_targets(np.array([30.0, 10.0, 20.0, 20.0])), [0.875, 0.125, 0.5, 0.5])


def test_holdout_and_saved_model(tasks, tmp_path):
    task = tasks["nb201"]
    model, row, y_true, y_pred = holdout(task, SPECS[1], n_train=40, seed=1)
    assert row["n_train"] == 40 and row["n_test"] == 20 and len(y_true) == len(y_pred) == 20
    model.save(tmp_path / "m")
    row2, pred = evaluate_saved(tmp_path / "m", task)
    assert row2["protocol"] == "saved_model" and row2["n_train"] == 40 and len(pred) == 60
    _, none, _, _ = holdout(task, SPECS[0])
    assert none is None  # trained on everything: nothing left to test


def test_train_on_task_and_predict_space(tiny_home, tmp_path):
    model, row, task = train_on_task(tiny_home, "tinychain", "acc", PredictorSpec("ridge", "ridge"), n_train=10,
                                     out=tmp_path / "ridge")
    assert row["n_test"] == 6 and (tmp_path / "ridge" / "predictor.json").exists()
    df = predict_space(tmp_path / "ridge", tiny_home, "tinychain")
    assert len(df) == 16 and df["prediction"].is_monotonic_decreasing
    one = predict_space(model, tiny_home, "tinychain", encodings=["3-3-3-skip"])
    assert one["encoding"].tolist() == ["3-3-3-skip"]
