"""`archbench train`, `evaluate` and `predict` invoked end to end on a tiny data home."""
from __future__ import annotations

from archbench.cli import main
from archbench.datasets.catalog import query


def test_train_evaluate_predict(tiny_home, tmp_path, capsys):
    assert main(["train", "--list"]) == 0
    assert "gbdt" in capsys.readouterr().out
    model = tmp_path / "model"
    assert main(["train", "gbdt", "--space", "tinychain", "--metric", "acc", "--n-train", "10",
                 "--param", "n_estimators=20", "--out", str(model)]) == 0
    out = capsys.readouterr().out
    assert "held-out (6 architectures): Kendall tau" in out and (model / "booster.json").exists()

    assert main(["predict", str(model), "--space", "tinychain", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "16 architectures predicted" in out and len(out.strip().splitlines()) == 5

    plots = tmp_path / "plots"
    assert main(["evaluate", "params", "fast=gbdt", "--space", "tinychain", "--metric", "acc", "--train-sizes", "4,8",
                 "--seeds", "2", "--param", "fast.n_estimators=20", "--plot-dir", str(plots), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "kendall_tau (mean +- std over seeds)" in out and "fast" in out and (plots / "n_train_kendall_tau.png").exists()
    assert main(["evaluate", "--model", str(model), "--space", "tinychain", "--metric", "acc",
                 "--plot-dir", str(plots)]) == 0
    assert (plots / "scatter.png").exists()
    res = query("SELECT protocol, count(*) AS n FROM results GROUP BY protocol ORDER BY protocol", home=tiny_home)
    assert dict(zip(res["protocol"], res["n"])) == {"holdout": 1, "sample_efficiency": 8, "saved_model": 1}


def test_errors_are_clean(tiny_home, capsys):
    assert main(["evaluate", "nope", "--space", "tinychain", "--metric", "acc"]) == 2
    assert "unknown predictor 'nope'" in capsys.readouterr().err
    assert main(["evaluate", "params", "--space", "tinychain", "--metric", "acc", "--param", "other.x=1"]) == 2
    assert "not among" in capsys.readouterr().err
    assert main(["train", "gbdt"]) == 2
    assert "--space" in capsys.readouterr().err
