"""Predictor-guided search: graph cache, acquisition functions, screening, BANANAS, pre-trained screeners."""
from __future__ import annotations

import numpy as np
import pytest

from archbench.datasets.views import GraphSet
from archbench.eval.search import (Bananas, RandomSearch, RegularizedEvolution, ScreenedEvolution, ScreenedRandomSearch,
                                   SearchError, run_search)
from archbench.eval.search.guided import ACQUISITIONS, GraphCache
from archbench.graphs.spaces import get_space
from archbench.predictors.base import get_predictor


def test_graph_cache_builds_once_and_keeps_order():
    space = get_space("tinychain")
    archs = list(space.enumerate())
    pre = GraphSet.from_graphs([space.build_cg(a) for a in archs[:4]], arch_ids=[space.arch_id(a) for a in archs[:4]])
    cache = GraphCache(space, graphs=pre)
    wanted = [archs[5], archs[1], archs[6], archs[0], archs[5]]
    gs = cache.get(wanted)
    assert gs.encoding.tolist() == [space.format(a) for a in wanted]
    assert len(cache._built) == 2  # only the two architectures outside the pre-built set were built
    assert np.array_equal(gs.params, [space.build_cg(a).params for a in wanted])
    assert GraphCache(space).get(wanted[:2]).encoding.tolist() == [space.format(a) for a in wanted[:2]]


def test_acquisitions():
    mean, std = np.array([1.0, 2.0, 2.0]), np.array([0.0, 0.0, 1.0])
    rng = np.random.default_rng(0)
    assert ACQUISITIONS["mean"](mean, std, 2.0, rng, 1.0).tolist() == [1.0, 2.0, 2.0]
    assert ACQUISITIONS["ucb"](mean, std, 2.0, rng, 2.0).tolist() == [1.0, 2.0, 4.0]
    ei = ACQUISITIONS["ei"](mean, std, 2.0, rng, 1.0)
    # No spread: no expected improvement at or below the best; with spread 1 at the best: 1/sqrt(2 pi).
    assert ei[0] == pytest.approx(0.0, abs=1e-12) and ei[1] == pytest.approx(0.0, abs=1e-12)
    assert ei[2] == pytest.approx(1 / np.sqrt(2 * np.pi))
    its = ACQUISITIONS["its"](mean, std, 2.0, np.random.default_rng(0), 1.0)
    assert its[:2] == pytest.approx([1.0, 2.0]) and its[2] != pytest.approx(2.0)


def _best_after(opt, oracle, budget):
    return run_search(opt, oracle, budget).best_at(budget)


def test_screening_with_a_predictor_beats_the_unguided_strategy(nb201_oracle):
    # Ridge on the one-hot encoding learns an additive objective exactly: screening must help.
    ridge = {"predictor": "ridge", "refit_every": 5}
    for seed in range(2):
        assert _best_after(ScreenedRandomSearch("nb201", seed=seed, num_candidates=60, **ridge), nb201_oracle, 30) > \
            _best_after(RandomSearch("nb201", seed=seed), nb201_oracle, 30)
        assert _best_after(ScreenedEvolution("nb201", seed=seed, population_size=10, sample_size=3, num_candidates=20,
                                             **ridge), nb201_oracle, 60) >= \
            _best_after(RegularizedEvolution("nb201", seed=seed, population_size=10, sample_size=3), nb201_oracle, 60)


def test_bananas_finds_the_optimum_of_a_learnable_objective(nb201_oracle):
    opt = Bananas("nb201", seed=0, predictor="ridge", ensemble_size=3, num_candidates=50, refit_every=5)
    result = run_search(opt, nb201_oracle, 60)
    assert result.best()["value"] == nb201_oracle.optimum()
    assert len(opt.models_) == 3 and opt.fits_ == 10  # refit every 5 results after the 10 random ones


def test_refit_schedule_and_prediction_cache(nb201_oracle):
    opt = Bananas("nb201", seed=0, predictor="ridge", num_init=6, refit_every=4, ensemble_size=2)
    run_search(opt, nb201_oracle, 14)
    assert opt.fits_ == 2  # at 6 and 10 results
    mean, std = opt.predict([("nor_conv_3x3",) * 6])
    assert mean.shape == std.shape == (1,) and std[0] >= 0


def test_pretrained_screener_is_used_as_is(nb201_oracle):
    space = get_space("nb201")
    train = space.samples(60, seed=1)
    model = get_predictor("ridge").fit(train, nb201_oracle.lookup(train)[:, 0], space="nb201")
    opt = ScreenedEvolution("nb201", seed=0, predictor=model, refit_every=0, num_init=0, num_candidates=50,
                            population_size=10, sample_size=3)
    result = run_search(opt, nb201_oracle, 20)
    assert opt.fits_ == 0 and opt.models_ == [model]
    # The very first query is already the best of 50 screened random candidates.
    assert result.trajectory["value"].iloc[0] > np.median(nb201_oracle.table["score"])


def test_guided_arguments_are_checked():
    with pytest.raises(SearchError, match="refit_every=0 \\(never train\\) needs a fitted predictor object, not the name 'ridge'"):
        ScreenedRandomSearch("nb201", predictor="ridge", refit_every=0)
    with pytest.raises(SearchError, match="num_init=0 needs a pre-trained predictor"):
        ScreenedRandomSearch("nb201", predictor="ridge", num_init=0)
    with pytest.raises(SearchError, match="unknown acquisition 'pi'; expected one of: its, ucb, ei, mean"):
        Bananas("nb201", acquisition="pi")
    with pytest.raises(SearchError, match="predictor must be a registered name or an object with fit/predict, found int"):
        Bananas("nb201", predictor=3)
