"""Predictor-guided search: a performance predictor screens many candidates, only the best are evaluated.

Three strategies share one loop (:class:`PredictorGuided`): ``num_init`` random architectures
are evaluated first; then, at every ``ask``, the predictor (refitted on everything told every
``refit_every`` results) scores a pool of fresh candidates and the best-scoring ones are asked.

* :class:`ScreenedRandomSearch` (``screened_random``): the pool is uniform random samples.
* :class:`ScreenedEvolution` (``screened_evolution``): the pool is children of regularized
  evolution (tournament winner of the aging population, one mutation each).
* :class:`Bananas` (``bananas``, White et al. 2021): an ensemble of predictors, each fitted on a
  bootstrap resample of the history, scores mutations of the best architectures so far with an
  acquisition function (independent Thompson sampling by default) on the ensemble's mean and
  spread.

The predictor is any registered predictor (:func:`archbench.predictors.get_predictor`), given by
name (a fresh one is trained on the search history) or as an object. An already fitted object
with ``refit_every=0`` is used as it is: a pre-trained screener that is never retrained.
Candidates become computation graphs once each (:class:`GraphCache`); a GraphSet of the whole
space (e.g. from :func:`archbench.datasets.views.load_graphs`) can be passed to skip building.
"""
from __future__ import annotations

import copy
import math
from collections import deque
from typing import Any, Callable, Hashable, Mapping

import numpy as np

from archbench.graphs.spaces import SearchSpace

from .base import Optimizer, SearchError, register_optimizer


class GraphCache:
    """Computation graphs of a space's architectures as GraphSets, each graph built at most once.

    Args:
        space: the search space.
        config: the space's network configuration (default: its first).
        graphs: optional pre-built GraphSet (``arch_id`` column set) used before building anything.
    """

    def __init__(self, space: SearchSpace, config: str | None = None, graphs=None) -> None:
        self.space = space
        self.config = config
        self.graphs = graphs
        self._pre = {aid: i for i, aid in enumerate(graphs.arch_id)} if graphs is not None else {}
        self._built: dict[Hashable, int] = {}
        self._built_sets: list = []  # GraphSets of one graph each, indexed by _built
        self._built_set = None  # the concatenation, refreshed when graphs were added

    def get(self, archs: list[Hashable]):
        """A GraphSet of ``archs``, in order."""
        from archbench.datasets.views import GraphSet

        ids = [self.space.arch_id(a, self.config) for a in archs]
        new = list(dict.fromkeys(a for a, aid in zip(archs, ids) if aid not in self._pre and a not in self._built))
        if new:
            graphs = [self.space.build_cg(a, self.config) for a in new]
            for a in new:
                self._built[a] = len(self._built)
            self._built_sets.append(GraphSet.from_graphs(graphs, arch_ids=[self.space.arch_id(a, self.config) for a in new]))
            self._built_set = None
        if self._built_set is None and self._built_sets:
            self._built_set = GraphSet.concat(self._built_sets)
            self._built_sets = [self._built_set]
        n_pre = len(self.graphs) if self.graphs is not None else 0
        index = np.array([self._pre[aid] if aid in self._pre else n_pre + self._built[a] for a, aid in zip(archs, ids)],
                         dtype=np.int64)
        if self.graphs is None:
            return self._built_set.subset(index)
        if self._built_set is None:
            return self.graphs.subset(index)
        # Mixed: gather each part, then restore the requested order.
        from_pre = index < n_pre
        parts = [self.graphs.subset(index[from_pre]), self._built_set.subset(index[~from_pre] - n_pre)]
        order = np.argsort(np.concatenate([np.flatnonzero(from_pre), np.flatnonzero(~from_pre)]), kind="stable")
        return GraphSet.concat(parts).subset(order)


# ---- acquisition functions ------------------------------------------------------------------------

def _its(mean: np.ndarray, std: np.ndarray, best: float, rng: np.random.Generator, kappa: float) -> np.ndarray:
    return rng.normal(mean, np.maximum(std, 1e-12))


def _ucb(mean: np.ndarray, std: np.ndarray, best: float, rng: np.random.Generator, kappa: float) -> np.ndarray:
    return mean + kappa * std


def _ei(mean: np.ndarray, std: np.ndarray, best: float, rng: np.random.Generator, kappa: float) -> np.ndarray:
    from scipy.special import ndtr

    s = np.maximum(std, 1e-12)
    z = (mean - best) / s
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return (mean - best) * ndtr(z) + s * pdf


def _mean(mean: np.ndarray, std: np.ndarray, best: float, rng: np.random.Generator, kappa: float) -> np.ndarray:
    return mean


#: Acquisition functions of the ensemble's mean and standard deviation (higher is better).
ACQUISITIONS: dict[str, Callable[..., np.ndarray]] = {
    "its": _its,    # independent Thompson sampling: one draw from N(mean, std) per candidate
    "ucb": _ucb,    # upper confidence bound: mean + kappa * std
    "ei": _ei,      # expected improvement over the best value told
    "mean": _mean,  # pure exploitation
}


class PredictorGuided(Optimizer):
    """Shared loop of the predictor-guided optimizers (see the module docstring).

    Args:
        space: search space (registered name or instance).
        seed: seed of sampling, mutations, resampling and the predictors' own seeds.
        predictor: registered predictor name, or a predictor object (fit/predict on GraphSets).
        predictor_params: parameters for a predictor given by name.
        num_init: random architectures evaluated before the predictor is used.
        num_candidates: candidates the predictor scores per ``ask``.
        refit_every: refit after this many new results (1: before every ask; 0: never, for a
            pre-trained predictor object).
        config: the space's network configuration for the graphs (default: its first).
        graphs: optional GraphSet of the space's graphs (``arch_id`` set) to avoid building them.
    """

    #: how many predictors are fitted (BANANAS: an ensemble)
    ensemble_size: int = 1

    def __init__(self, space, *, seed: int = 0, predictor: Any = "gbdt", predictor_params: Mapping[str, Any] | None = None,
                 num_init: int = 10, num_candidates: int = 100, refit_every: int = 1, config: str | None = None,
                 graphs=None) -> None:
        self.predictor = predictor
        self.predictor_params = predictor_params
        self.num_init = num_init
        self.num_candidates = num_candidates
        self.refit_every = refit_every
        self.config = config
        self.graphs = graphs
        super().__init__(space, seed=seed)

    def get_params(self) -> dict[str, Any]:
        params = super().get_params()
        params.pop("graphs", None)  # data, not a setting
        if not isinstance(self.predictor, str):
            params["predictor"] = getattr(self.predictor, "name", type(self.predictor).__name__)
        return params

    # ---- state -----------------------------------------------------------------------------------------
    def _reset_state(self) -> None:
        for name, low in (("num_init", 0), ("num_candidates", 1), ("refit_every", 0), ("ensemble_size", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise SearchError(f"{name} must be an integer >= {low}, found {value!r}")
        if not isinstance(self.predictor, str) and not (hasattr(self.predictor, "fit") and hasattr(self.predictor, "predict")):
            raise SearchError(f"predictor must be a registered name or an object with fit/predict, found "
                              f"{type(self.predictor).__name__}")
        if self.refit_every == 0:
            if isinstance(self.predictor, str):
                raise SearchError("refit_every=0 (never train) needs a fitted predictor object, not the name "
                                  f"{self.predictor!r}; load one with archbench.load_predictor(path)")
            self.models_: list | None = [self.predictor]
        else:
            self.models_ = None
        if self.num_init == 0 and self.refit_every != 0:
            raise SearchError("num_init=0 needs a pre-trained predictor (refit_every=0): a new one has nothing to learn from")
        self.cache_ = GraphCache(self.space_, self.config, self.graphs)
        self._predicted: dict[Hashable, np.ndarray] = {}
        self._fitted_at = -1
        self.fits_ = 0

    def _np_rng(self) -> np.random.Generator:
        return np.random.default_rng(self.rng_.getrandbits(63))

    def _new_model(self, k: int):
        if isinstance(self.predictor, str):
            from archbench.predictors.base import get_predictor

            model = get_predictor(self.predictor, **dict(self.predictor_params or {}))
        else:
            model = copy.deepcopy(self.predictor)
        params = model.get_params() if hasattr(model, "get_params") else {}
        if "seed" in params:
            # Each member and each refit gets its own seed, drawn from the optimizer's generator.
            model.set_params(seed=self.rng_.randrange(2**31))
        return model

    def _fit(self) -> None:
        values = self.values_
        ok = np.isfinite(values)  # failed evaluations (-inf) teach nothing a regressor can use
        archs = [a for a, good in zip(self.archs_, ok) if good]
        y = values[ok]
        if len(archs) < 2:
            raise SearchError(f"the predictor needs at least 2 finite results to train on, found {len(archs)}")
        graphs = self.cache_.get(archs)
        models = []
        for k in range(self.ensemble_size):
            idx = np.arange(len(archs))
            if self.ensemble_size > 1:
                idx = self._np_rng().integers(0, len(archs), len(archs))  # bootstrap resample
            models.append(self._new_model(k).fit(graphs.subset(idx), y[idx]))
        self.models_ = models
        self._predicted = {}
        self._fitted_at = self.num_told
        self.fits_ += 1

    def predict(self, archs: list[Hashable]) -> tuple[np.ndarray, np.ndarray]:
        """Ensemble mean and standard deviation ``(n,)`` of the predicted values of ``archs``."""
        if self.models_ is None:
            raise SearchError("the predictor is not trained yet: tell at least num_init results first")
        # Predictions are kept until the next refit: mutation pools revisit the same neighbours.
        missing = list(dict.fromkeys(a for a in archs if a not in self._predicted))
        if missing:
            graphs = self.cache_.get(missing)
            preds = np.stack([np.asarray(m.predict(graphs), dtype=np.float64).reshape(-1) for m in self.models_], axis=1)
            self._predicted.update(zip(missing, preds))
        preds = np.stack([self._predicted[a] for a in archs])
        return preds.mean(axis=1), preds.std(axis=1)

    # ---- proposing ---------------------------------------------------------------------------------------
    def _needs_fit(self) -> bool:
        if self.refit_every == 0:
            return False
        return self.models_ is None or self.num_told - self._fitted_at >= self.refit_every

    def _candidates(self, n: int, taken: set[Hashable]) -> list[Hashable]:
        """Up to ``n`` fresh candidates (the strategy)."""
        raise NotImplementedError

    def _score(self, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
        return mean

    def _propose(self, n: int) -> list[Hashable]:
        if self.num_told < self.num_init:
            return self._random(n)
        if self._needs_fit():
            self._fit()
        taken: set[Hashable] = set()
        # Candidates already evaluated only appear when the strategy's neighbourhood is exhausted.
        pool = [a for a in dict.fromkeys(self._candidates(max(self.num_candidates, n), taken)) if a not in self.seen_]
        chosen: list[Hashable] = []
        if pool:
            mean, std = self.predict(pool)
            score = self._score(mean, std)
            # Stable order on ties: the pool order, which is itself seeded.
            chosen = [pool[i] for i in np.argsort(-score, kind="stable")[:n]]
        if len(chosen) < n:
            chosen += self._random(n - len(chosen), set(chosen))
        return chosen


@register_optimizer("screened_random")
class ScreenedRandomSearch(PredictorGuided):
    """Random search whose predictor screens ``num_candidates`` samples per query (see :class:`PredictorGuided`)."""

    def __init__(self, space, *, seed: int = 0, predictor: Any = "gbdt", predictor_params: Mapping[str, Any] | None = None,
                 num_init: int = 10, num_candidates: int = 500, refit_every: int = 1, config: str | None = None,
                 graphs=None) -> None:
        super().__init__(space, seed=seed, predictor=predictor, predictor_params=predictor_params, num_init=num_init,
                         num_candidates=num_candidates, refit_every=refit_every, config=config, graphs=graphs)

    def _candidates(self, n: int, taken: set[Hashable]) -> list[Hashable]:
        return self._random(n, taken)


@register_optimizer("screened_evolution")
class ScreenedEvolution(PredictorGuided):
    """Regularized evolution whose predictor picks the best of ``num_candidates`` children per query.

    The aging population holds the ``population_size`` most recent results; each candidate is
    one mutation of the best of ``sample_size`` random members (see
    :class:`~.evolution.RegularizedEvolution`). Other arguments: :class:`PredictorGuided`.
    """

    def __init__(self, space, *, seed: int = 0, predictor: Any = "gbdt", predictor_params: Mapping[str, Any] | None = None,
                 num_init: int = 10, num_candidates: int = 100, refit_every: int = 1, population_size: int = 30,
                 sample_size: int = 10, config: str | None = None, graphs=None) -> None:
        self.population_size = population_size
        self.sample_size = sample_size
        super().__init__(space, seed=seed, predictor=predictor, predictor_params=predictor_params, num_init=num_init,
                         num_candidates=num_candidates, refit_every=refit_every, config=config, graphs=graphs)

    def _reset_state(self) -> None:
        for name in ("population_size", "sample_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SearchError(f"{name} must be a positive integer, found {value!r}")
        super()._reset_state()
        self.population_: deque[tuple[Hashable, float]] = deque(maxlen=self.population_size)

    def _observe(self, archs: list[Hashable], values: np.ndarray) -> None:
        self.population_.extend(zip(archs, values.tolist()))

    def _parent(self) -> Hashable:
        k = min(self.sample_size, len(self.population_))
        contenders = self.rng_.sample(range(len(self.population_)), k)
        return max((self.population_[i] for i in contenders), key=lambda m: m[1])[0]

    def _candidates(self, n: int, taken: set[Hashable]) -> list[Hashable]:
        if not self.population_:
            return self._random(n, taken)
        return [self._fresh(lambda: self.space_.mutate(self._parent(), self.rng_), taken) for _ in range(n)]


@register_optimizer("bananas")
class Bananas(PredictorGuided):
    """BANANAS: predictor ensemble + acquisition function over mutations of the best architectures.

    Candidates are ``num_candidates`` architectures, each 1..``max_mutations`` mutations of one
    of the ``mutate_top`` best results so far (a ``random_fraction`` of them uniform samples
    instead, to keep exploring). An ensemble of ``ensemble_size`` predictors, each fitted on a
    bootstrap resample of the history with its own seed, gives a mean and spread per candidate;
    ``acquisition`` (see :data:`ACQUISITIONS`; ``kappa`` weighs the spread in ``ucb``) ranks them.
    Other arguments: :class:`PredictorGuided`.
    """

    def __init__(self, space, *, seed: int = 0, predictor: Any = "gbdt", predictor_params: Mapping[str, Any] | None = None,
                 num_init: int = 10, num_candidates: int = 100, refit_every: int = 1, ensemble_size: int = 3,
                 acquisition: str = "its", kappa: float = 1.0, mutate_top: int = 10, max_mutations: int = 1,
                 random_fraction: float = 0.1, config: str | None = None, graphs=None) -> None:
        self.ensemble_size = ensemble_size
        self.acquisition = acquisition
        self.kappa = kappa
        self.mutate_top = mutate_top
        self.max_mutations = max_mutations
        self.random_fraction = random_fraction
        super().__init__(space, seed=seed, predictor=predictor, predictor_params=predictor_params, num_init=num_init,
                         num_candidates=num_candidates, refit_every=refit_every, config=config, graphs=graphs)

    def _reset_state(self) -> None:
        if self.acquisition not in ACQUISITIONS:
            raise SearchError(f"unknown acquisition {self.acquisition!r}; expected one of: {', '.join(ACQUISITIONS)}")
        for name in ("mutate_top", "max_mutations"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SearchError(f"{name} must be a positive integer, found {value!r}")
        if not 0.0 <= float(self.random_fraction) <= 1.0:
            raise SearchError(f"random_fraction must be in [0, 1], found {self.random_fraction!r}")
        if self.refit_every == 0 and self.ensemble_size != 1:
            raise SearchError("a pre-trained predictor (refit_every=0) is a single model: use ensemble_size=1")
        super()._reset_state()

    def _candidates(self, n: int, taken: set[Hashable]) -> list[Hashable]:
        values = self.values_
        if len(values) == 0:
            return self._random(n, taken)
        top = [self.archs_[i] for i in np.argsort(-values, kind="stable")[: self.mutate_top]]
        n_random = int(round(n * float(self.random_fraction)))

        def child() -> Hashable:
            arch = top[self.rng_.randrange(len(top))]
            for _ in range(self.rng_.randint(1, self.max_mutations)):
                arch = self.space_.mutate(arch, self.rng_)
            return arch

        out = [self._fresh(child, taken) for _ in range(n - n_random)]
        return out + self._random(n_random, taken)

    def _score(self, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
        best = float(np.max(self.values_)) if len(self.values_) else float("-inf")
        return ACQUISITIONS[self.acquisition](mean, std, best, self._np_rng(), float(self.kappa))
