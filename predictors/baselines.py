"""Baseline predictors: one number per graph (params, FLOPs, a zero-cost proxy), random, and ridge
regression on a one-hot of the native encoding.

The single-number baselines fit ``y ~ a + b * f(x)`` by least squares, where ``f`` is a monotone
transform of the number (``log1p`` for params and FLOPs, signed ``log1p`` for proxy scores), so
their ranking is the number's own (or its reverse, when training says higher is worse) and their
predictions are on the target's scale.
"""
from __future__ import annotations

import numpy as np

from archbench.datasets.views import GraphSet
from archbench.errors import DataFormatError

from .base import PREDICTORS, Predictor
from .features import encoding_tokens, onehot_tokens


class _SingleNumberBaseline(Predictor):
    """Least-squares line on one monotone-transformed number per graph."""

    def _number(self, graphs: GraphSet) -> np.ndarray:
        raise NotImplementedError

    def _fit(self, graphs: GraphSet, y: np.ndarray) -> None:
        x = self._number(graphs)
        ok = np.isfinite(x)
        self.fill_ = float(np.mean(y))
        if ok.sum() >= 2 and np.ptp(x[ok]) > 0:
            self.slope_, self.intercept_ = (float(v) for v in np.polyfit(x[ok], y[ok], 1))
        else:
            # Nothing to learn from (one graph, or all equal): predict the mean.
            self.slope_, self.intercept_ = 0.0, self.fill_

    def _predict(self, graphs: GraphSet) -> np.ndarray:
        x = self._number(graphs)
        return np.where(np.isfinite(x), self.intercept_ + self.slope_ * np.nan_to_num(x), self.fill_)

    def _get_state(self) -> dict:
        return {"slope": self.slope_, "intercept": self.intercept_, "fill": self.fill_}

    def _set_state(self, state: dict) -> None:
        self.slope_, self.intercept_, self.fill_ = float(state["slope"]), float(state["intercept"]), float(state["fill"])


@PREDICTORS.register("params")
class ParamsBaseline(_SingleNumberBaseline):
    """Ranks by trainable parameters (a line on log parameters)."""

    name = "params"
    description = "baseline: a line on log(parameters)"

    def __init__(self) -> None:
        pass

    def _number(self, graphs: GraphSet) -> np.ndarray:
        return np.log1p(graphs.params.astype(np.float64))


@PREDICTORS.register("flops")
class FlopsBaseline(_SingleNumberBaseline):
    """Ranks by FLOPs (a line on log FLOPs)."""

    name = "flops"
    description = "baseline: a line on log(FLOPs)"

    def __init__(self) -> None:
        pass

    def _number(self, graphs: GraphSet) -> np.ndarray:
        return np.log1p(graphs.flops.astype(np.float64))


@PREDICTORS.register("proxy")
class ProxyBaseline(_SingleNumberBaseline):
    """Ranks by one zero-cost proxy score read from the metrics table (a line on signed log1p).

    Args:
        metric: the per-graph extra holding the score, e.g. ``"zc_synflow"`` (NASLib-derived rows
            are named ``zc_<proxy>``). Graphs without a score get the training mean.
    """

    name = "proxy"
    description = "baseline: one zero-cost proxy score from the metrics table (metric=zc_<proxy>)"

    def __init__(self, *, metric: str = "zc_synflow") -> None:
        self.metric = metric

    @property
    def required_extras(self) -> tuple[str, ...]:
        return (self.metric,)

    def _number(self, graphs: GraphSet) -> np.ndarray:
        s = graphs.extras[self.metric]
        return np.sign(s) * np.log1p(np.abs(s))


@PREDICTORS.register("random")
class RandomBaseline(Predictor):
    """Random scores (normal with the training targets' mean and spread): the chance level.

    Args:
        seed: the same seed and input give the same scores.
    """

    name = "random"
    description = "baseline: random scores (chance level)"

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = seed

    def _fit(self, graphs: GraphSet, y: np.ndarray) -> None:
        self.mean_, self.std_ = float(np.mean(y)), float(np.std(y))

    def _predict(self, graphs: GraphSet) -> np.ndarray:
        return self.mean_ + self.std_ * np.random.default_rng(self.seed).standard_normal(len(graphs))

    def _get_state(self) -> dict:
        return {"mean": self.mean_, "std": self.std_}

    def _set_state(self, state: dict) -> None:
        self.mean_, self.std_ = float(state["mean"]), float(state["std"])


@PREDICTORS.register("ridge")
class OneHotRidge(Predictor):
    """Ridge regression on a one-hot of the native encoding's positional tokens.

    The one-hot (:func:`~archbench.predictors.features.encoding_tokens`) is the usual encoding
    baseline: for NB201 it is exactly the 6 x 5 one-hot of the cell's edge ops.

    Args:
        alpha: L2 penalty.
    """

    name = "ridge"
    description = "baseline: ridge regression on the one-hot native encoding"

    def __init__(self, *, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def _fit(self, graphs: GraphSet, y: np.ndarray) -> None:
        from sklearn.linear_model import Ridge

        vocab = sorted({t for sp, enc in zip(graphs.space, graphs.encoding) for t in encoding_tokens(str(sp), str(enc))})
        if not vocab:
            raise DataFormatError("ridge needs native encodings; the graphs have none (empty encoding strings)")
        X = onehot_tokens(graphs, vocab)
        model = Ridge(alpha=self.alpha).fit(X, y)
        self.vocabulary_ = vocab
        self.coef_ = model.coef_.astype(np.float64)
        self.intercept_ = float(model.intercept_)

    def _predict(self, graphs: GraphSet) -> np.ndarray:
        return onehot_tokens(graphs, self.vocabulary_) @ self.coef_ + self.intercept_

    def _get_state(self) -> dict:
        return {"vocabulary": self.vocabulary_, "coef": self.coef_.tolist(), "intercept": self.intercept_}

    def _set_state(self, state: dict) -> None:
        self.vocabulary_ = list(state["vocabulary"])
        self.coef_ = np.asarray(state["coef"], dtype=np.float64)
        self.intercept_ = float(state["intercept"])


__all__ = ["FlopsBaseline", "OneHotRidge", "ParamsBaseline", "ProxyBaseline", "RandomBaseline"]
