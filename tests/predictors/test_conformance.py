"""One conformance suite run on every registered predictor: the scikit-learn-style contract."""
from __future__ import annotations

import inspect
import json

import numpy as np
import pandas as pd
import pytest
import torch

from archbench.datasets.catalog import connect
from archbench.errors import DataFormatError, RegistryError
from archbench.predictors import NotFittedError, Predictor, get_predictor, list_predictors, load_predictor

NAMES = list_predictors()
#: Small settings so every predictor fits in well under a second on the test sample.
FAST = {"gbdt": {"n_estimators": 40}, "gnn": {"epochs": 3, "min_steps": 0, "hidden": 8, "layers": 2, "batch_size": 16}}


def make(name: str, **params) -> Predictor:
    return get_predictor(name, **{**FAST.get(name, {}), **params})


def test_registry_lists_the_predictors_and_names_them_on_error():
    assert {"gbdt", "gnn", "params", "flops", "random", "ridge", "proxy"} <= set(NAMES)
    with pytest.raises(RegistryError, match="unknown predictor 'xgb'.*gbdt"):
        get_predictor("xgb")
    with pytest.raises(ValueError, match="invalid parameters for predictor 'gbdt'.*max_depth"):
        get_predictor("gbdt", depth=3)


@pytest.mark.parametrize("name", NAMES)
def test_init_only_stores_keyword_parameters(name):
    cls = type(get_predictor(name))
    params = inspect.signature(cls.__init__).parameters
    assert all(p.kind == p.KEYWORD_ONLY for n, p in params.items() if n != "self")
    model = cls()
    assert model.get_params() == {n: p.default for n, p in params.items() if n != "self"}
    assert not [a for a in vars(model) if a.endswith("_")]  # no learned state before fit
    assert model.set_params(**model.get_params()) is model
    with pytest.raises(ValueError, match="invalid parameter"):
        model.set_params(not_a_parameter=1)


@pytest.mark.parametrize("name", NAMES)
def test_not_fitted_error(name, nb201_task, tmp_path):
    graphs, _ = nb201_task
    model = make(name)
    for call in (lambda: model.predict(graphs), lambda: model.save(tmp_path / "m"),
                 lambda: model.fine_tune(graphs, np.zeros(len(graphs)))):
        with pytest.raises(NotFittedError, match="not fitted yet: call fit"):
            call()


@pytest.mark.parametrize("name", NAMES)
def test_fit_predict_shapes_determinism_and_save_load(name, nb201_task, tmp_path):
    graphs, y = nb201_task
    train, test = graphs.subset(np.arange(80)), graphs.subset(np.arange(80, 120))
    model = make(name, **({"seed": 3} if "seed" in type(make(name))._param_names() else {}))
    assert model.fit(train, y[:80]) is model
    assert model.n_train_ == 80
    pred = model.predict(test)
    assert pred.shape == (40,) and pred.dtype == np.float64 and np.isfinite(pred).all()
    again = make(name, **model.get_params()).fit(train, y[:80]).predict(test)
    np.testing.assert_array_equal(pred, again)  # deterministic under a seed

    path = model.save(tmp_path / name)
    files = sorted(p.name for p in path.iterdir())
    assert "predictor.json" in files
    assert json.loads((path / "predictor.json").read_text())["predictor"] == name
    for f in files:  # nothing pickled: JSON, or a torch state dict that loads with weights_only
        if f.endswith(".pt"):
            assert all(isinstance(v, torch.Tensor) for v in torch.load(path / f, weights_only=True).values())
        else:
            json.loads((path / f).read_text())
    loaded = load_predictor(path)
    assert type(loaded) is type(model) and loaded.get_params() == model.get_params()
    np.testing.assert_allclose(loaded.predict(test), pred, rtol=1e-6, atol=1e-6)
    assert type(model).load(path).n_train_ == 80


@pytest.mark.parametrize("name", NAMES)
def test_target_checks(name, nb201_task):
    graphs, y = nb201_task
    with pytest.raises(DataFormatError, match="got 3 targets for 120 graphs"):
        make(name).fit(graphs, y[:3])
    bad = y.copy()
    bad[5] = np.nan
    with pytest.raises(DataFormatError, match="finite"):
        make(name).fit(graphs, bad)


@pytest.mark.parametrize("name", NAMES)
def test_fine_tune_returns_self(name, nb201_task):
    graphs, y = nb201_task
    model = make(name).fit(graphs.subset(np.arange(60)), y[:60])
    assert model.fine_tune(graphs.subset(np.arange(60, 80)), y[60:80]) is model
    assert np.isfinite(model.predict(graphs.subset(np.arange(80, 120)))).all()


@pytest.mark.parametrize("name", NAMES)
def test_accepts_graphs_encodings_and_table_rows(name, nb201_home):
    home, graphs, y = nb201_home
    model = make(name).fit(graphs, y)
    want = model.predict(graphs.subset(np.arange(5)))
    ids = list(graphs.arch_id[:5])
    frame = pd.DataFrame({"arch_id": ids})
    np.testing.assert_allclose(model.predict(frame, home=home), want, rtol=1e-6)
    with connect(home) as con:
        rel = con.sql("SELECT arch_id FROM archs ORDER BY arch_id DESC LIMIT 3")
        order = [list(graphs.arch_id).index(a) for a in rel.df()["arch_id"]]
        np.testing.assert_allclose(model.predict(rel, home=home), model.predict(graphs.subset(order)), rtol=1e-6)
    cgs = graphs.subset(np.arange(5)).to_graphs()
    encodings = list(graphs.encoding[:5])
    if model.required_extras:
        with pytest.raises(DataFormatError, match="needs per-graph values"):
            model.predict(cgs)
        # Extras can come with the rows themselves.
        with_scores = frame.assign(zc_synflow=graphs.extras["zc_synflow"][:5])
        np.testing.assert_allclose(model.predict(with_scores, home=home), want, rtol=1e-6)
    else:
        np.testing.assert_allclose(model.predict(cgs), want, rtol=1e-6)
        np.testing.assert_allclose(model.predict(encodings, space="nb201"), want, rtol=1e-6)
        with pytest.raises(DataFormatError, match="needs space="):
            model.predict(encodings)
