"""Gradient-boosted trees (XGBoost) on tabular features of the computation graph.

Features are :class:`~archbench.predictors.features.CGFeaturizer`'s (op-token and op-pair counts,
data-flow n-grams of 2-3 ops, live-path depth statistics, params, FLOPs, per-stage shapes) plus, optionally, per-graph extras
from the metrics table such as zero-cost proxy scores (``"zc_synflow"``) or low-fidelity
accuracies (``"test_accuracy@12"``).

Training: the targets are mapped to their training quantiles (``target="rank"``, default: what
ranking metrics reward, robust to the long tail of failed networks) or standardized; the number
of boosting rounds is chosen by early stopping on a validation split and the model is then
refit on all training graphs with that many rounds. ``search=k`` first tries ``k`` random
configurations of a small grid on the same split and keeps the best by Kendall tau.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np

from archbench.datasets.views import GraphSet
from archbench.errors import DataFormatError

from .base import PREDICTORS, Predictor, TargetScaler, validation_split
from .features import CGFeaturizer, flow_ngrams, raw_features

_BOOSTER_FILE = "booster.json"
#: Grid of the optional hyper-parameter search (sampled, not exhausted).
SEARCH_SPACE: dict[str, tuple] = {
    "max_depth": (3, 4, 6, 8),
    "learning_rate": (0.02, 0.05, 0.1),
    "min_child_weight": (1.0, 3.0, 10.0),
    "subsample": (0.6, 0.8, 1.0),
    "colsample_bytree": (0.5, 0.8, 1.0),
    "reg_lambda": (0.1, 1.0, 10.0),
}


@PREDICTORS.register("gbdt")
class GBDTPredictor(Predictor):
    """XGBoost on computation-graph features (see the module docstring).

    Args:
        n_estimators: most boosting rounds.
        learning_rate, max_depth, min_child_weight, subsample, colsample_bytree, reg_lambda:
            XGBoost's parameters of the same names.
        early_stopping_rounds: stop when the validation error has not improved for this many rounds.
        validation_fraction: share of the training graphs held out for early stopping (none when
            fewer than 5 graphs would be held out: then ``n_estimators`` rounds are used).
        refit: after early stopping, retrain on all graphs with the chosen number of rounds.
        target: ``"rank"`` (fit training quantiles) or ``"standard"`` (standardized targets).
        extras: per-graph extras to use as features, e.g. ``("zc_synflow", "test_accuracy@12")``.
        flow_length: longest data-flow n-gram used as a feature (``conv3>max_pool3>conv1``, see
            :func:`~archbench.predictors.features.flow_ngrams`); 0: none.
        search: number of random configurations of :data:`SEARCH_SPACE` to try (0: none).
        seed: seeds the split, the search and XGBoost.
        n_jobs: XGBoost threads.
    """

    name = "gbdt"
    description = "XGBoost on CG features (op/pair counts, flow n-grams, path depth, params, FLOPs, stage shapes, optional proxies)"

    def __init__(self, *, n_estimators: int = 2000, learning_rate: float = 0.05, max_depth: int = 4,
                 min_child_weight: float = 1.0, subsample: float = 0.8, colsample_bytree: float = 0.8,
                 reg_lambda: float = 1.0, early_stopping_rounds: int = 100, validation_fraction: float = 0.2,
                 refit: bool = True, target: str = "rank", extras: Sequence[str] = (), flow_length: int = 3,
                 search: int = 0, seed: int = 0, n_jobs: int = 1) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.reg_lambda = reg_lambda
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.refit = refit
        self.target = target
        self.extras = extras
        self.flow_length = flow_length
        self.search = search
        self.seed = seed
        self.n_jobs = n_jobs

    @property
    def required_extras(self) -> tuple[str, ...]:
        return tuple(self.extras)

    def prepare(self, graphs: GraphSet) -> GraphSet:
        raw_features(graphs)
        if self.flow_length >= 2:
            flow_ngrams(graphs, self.flow_length)
        return graphs

    def _xgb_params(self, overrides: dict | None = None) -> dict:
        p = {"objective": "reg:squarederror", "tree_method": "hist", "eta": self.learning_rate,
             "max_depth": self.max_depth, "min_child_weight": self.min_child_weight, "subsample": self.subsample,
             "colsample_bytree": self.colsample_bytree, "lambda": self.reg_lambda, "seed": self.seed,
             "nthread": self.n_jobs, "verbosity": 0}
        if overrides:
            renamed = {"learning_rate": "eta", "reg_lambda": "lambda"}
            p.update({renamed.get(k, k): v for k, v in overrides.items()})
        return p

    def _train(self, params: dict, X: np.ndarray, z: np.ndarray, tr: np.ndarray, va: np.ndarray):
        import xgboost as xgb

        dtrain = xgb.DMatrix(X[tr], label=z[tr], nthread=self.n_jobs)
        if va.size == 0:
            return xgb.train(params, dtrain, num_boost_round=self.n_estimators), self.n_estimators
        dval = xgb.DMatrix(X[va], label=z[va], nthread=self.n_jobs)
        booster = xgb.train(params, dtrain, num_boost_round=self.n_estimators, evals=[(dval, "val")],
                            early_stopping_rounds=self.early_stopping_rounds, verbose_eval=False)
        return booster, int(booster.best_iteration) + 1

    def _fit(self, graphs: GraphSet, y: np.ndarray) -> None:
        import xgboost as xgb

        self.featurizer_ = CGFeaturizer(extras=self.extras, flow_length=self.flow_length)
        X = self.featurizer_.fit_transform(graphs)
        self.scaler_ = TargetScaler(self.target).fit(y)
        z = self.scaler_.transform(y)
        tr, va = validation_split(len(y), self.validation_fraction, self.seed)
        overrides: dict = {}
        if self.search > 0 and va.size:
            overrides = self._search(X, z, tr, va)
        params = self._xgb_params(overrides)
        booster, rounds = self._train(params, X, z, tr, va)
        if self.refit and va.size:
            booster = xgb.train(params, xgb.DMatrix(X, label=z, nthread=self.n_jobs), num_boost_round=rounds)
        self.booster_ = booster
        self.n_rounds_ = rounds
        self.best_params_ = overrides

    def _search(self, X: np.ndarray, z: np.ndarray, tr: np.ndarray, va: np.ndarray) -> dict:
        import xgboost as xgb
        from scipy.stats import kendalltau

        rng = np.random.default_rng(self.seed + 1)
        best, best_tau = {}, -np.inf
        tried = set()
        for _ in range(self.search):
            cfg = {k: values[int(rng.integers(len(values)))] for k, values in SEARCH_SPACE.items()}
            key = tuple(sorted(cfg.items()))
            if key in tried:
                continue
            tried.add(key)
            booster, rounds = self._train(self._xgb_params(cfg), X, z, tr, va)
            pred = booster.predict(xgb.DMatrix(X[va], nthread=self.n_jobs), iteration_range=(0, rounds))
            tau = kendalltau(z[va], pred).statistic
            if np.isfinite(tau) and tau > best_tau:
                best, best_tau = cfg, tau
        return best

    def _predict(self, graphs: GraphSet) -> np.ndarray:
        import xgboost as xgb

        X = self.featurizer_.transform(graphs)
        z = self.booster_.predict(xgb.DMatrix(X, nthread=self.n_jobs))
        return self.scaler_.inverse(z.astype(np.float64))

    def _fine_tune(self, graphs: GraphSet, y: np.ndarray) -> None:
        """More boosting rounds on the new graphs (their targets on the fitted scale)."""
        import xgboost as xgb

        X = self.featurizer_.transform(graphs)
        # The new task's targets go on the model scale by their own quantiles / standardization
        # (transfer keeps rankings, not absolute values), and predictions map back to its scale.
        self.scaler_ = TargetScaler(self.target).fit(y)
        z = self.scaler_.transform(y)
        rounds = max(10, min(200, 5 * len(y)))
        self.booster_ = xgb.train(self._xgb_params(self.best_params_), xgb.DMatrix(X, label=z, nthread=self.n_jobs),
                                  num_boost_round=rounds, xgb_model=self.booster_)
        self.n_rounds_ += rounds

    @property
    def feature_names_(self) -> list[str]:
        self.check_is_fitted()
        return list(self.featurizer_.feature_names_)

    def feature_importances(self, kind: str = "gain") -> dict[str, float]:
        """Importance of each feature by name (XGBoost's ``get_score``; features never used are absent)."""
        self.check_is_fitted()
        names = self.featurizer_.feature_names_
        return {names[int(k[1:])]: float(v) for k, v in self.booster_.get_score(importance_type=kind).items()}

    def _get_state(self) -> dict:
        return {"featurizer": self.featurizer_.get_state(), "scaler": self.scaler_.get_state(),
                "n_rounds": self.n_rounds_, "best_params": self.best_params_}

    def _set_state(self, state: dict) -> None:
        self.featurizer_ = CGFeaturizer.from_state(state["featurizer"])
        self.scaler_ = TargetScaler.from_state(state["scaler"])
        self.n_rounds_ = int(state["n_rounds"])
        self.best_params_ = dict(state["best_params"])

    def _save_files(self, directory: Path) -> None:
        self.booster_.save_model(str(directory / _BOOSTER_FILE))

    def _load_files(self, directory: Path) -> None:
        import xgboost as xgb

        path = directory / _BOOSTER_FILE
        if not path.is_file():
            raise DataFormatError(f"{directory} lacks {_BOOSTER_FILE}: the saved GBDT predictor is incomplete")
        try:
            json.loads(path.read_text())
        except ValueError as err:
            raise DataFormatError(f"{path} is not XGBoost JSON ({err})") from None
        booster = xgb.Booster()
        booster.load_model(str(path))
        booster.set_param({"nthread": self.n_jobs})
        self.booster_ = booster


__all__ = ["GBDTPredictor", "SEARCH_SPACE"]
