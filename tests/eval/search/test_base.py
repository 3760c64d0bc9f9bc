"""The ask/tell protocol, checked on every registered optimizer, and the optimizer registry."""
from __future__ import annotations

import numpy as np
import pytest

from archbench.errors import RegistryError
from archbench.eval.search import (OPTIMIZERS, Optimizer, SearchError, get_optimizer, list_optimizers, register_optimizer,
                                   run_search)
from archbench.eval.search.guided import PredictorGuided
from archbench.graphs.spaces import get_space

ALL = list_optimizers()


def make(name: str, space, seed: int = 0, **params) -> Optimizer:
    """An optimizer with small settings, so that every strategy acts within a few queries."""
    cls = OPTIMIZERS.get(name)
    if issubclass(cls, PredictorGuided):
        params = {"predictor": "ridge", "num_init": 4, "num_candidates": 8, **params}
    if name in ("regularized_evolution", "pareto_evolution", "screened_evolution"):
        params = {"population_size": 4, "sample_size": 2, **params}
    if name == "local_search":
        params = {"num_init": 3, **params}
    return get_optimizer(name, space, seed=seed, **params)


def tell_values(opt: Optimizer, oracle, archs) -> np.ndarray:
    raw = oracle.lookup(archs) * oracle.signs
    return raw if opt.multi_objective else raw[:, 0]


def test_registry_holds_every_strategy_of_the_issue():
    assert {"random", "regularized_evolution", "local_search", "screened_random", "screened_evolution", "bananas",
            "pareto_evolution"} <= set(ALL)
    assert set(list_optimizers(multi_objective=True)) == {"random", "pareto_evolution"}
    assert "pareto_evolution" not in list_optimizers(multi_objective=False)


@pytest.mark.parametrize("name", ALL)
def test_ask_tell_protocol(name, tiny_oracle):
    space = get_space("tinychain")
    opt = make(name, space)
    asked = []
    for _ in range(6):
        archs = opt.ask(2)
        assert len(archs) == 2
        for a in archs:
            assert space.parse(space.format(a)) == a  # valid architectures of the space
        opt.tell(archs, tell_values(opt, tiny_oracle, archs))
        asked.extend(archs)
    # 12 of the space's 16 architectures: none repeated while new ones exist.
    assert len(set(asked)) == len(asked)
    assert opt.num_told == 12 and len(opt.values_) == 12
    if opt.multi_objective is not True:
        best_arch, best_value = opt.best()
        assert best_value == max(tiny_oracle.lookup(asked)[:, 0]) and best_arch in asked


@pytest.mark.parametrize("name", ALL)
def test_same_seed_same_search_and_reset(name, nb201_oracle):
    runs = [run_search(make(name, "nb201", seed=s), nb201_oracle, 14, batch_size=3)
            for s in (0, 0, 1)]
    assert runs[0].trajectory["arch"].tolist() == runs[1].trajectory["arch"].tolist()
    assert runs[0].trajectory["arch"].tolist() != runs[2].trajectory["arch"].tolist()
    opt = make(name, "nb201", seed=0)
    first = opt.ask(3)
    opt.tell(first, tell_values(opt, nb201_oracle, first))
    assert opt.reset().num_told == 0 and opt.ask(3) == first


@pytest.mark.parametrize("name", ALL)
def test_tell_accepts_strings_and_external_archs(name, tiny_oracle):
    opt = make(name, "tinychain")
    opt.tell(["3-3-3-skip", "1-1-1-plain"], tell_values(opt, tiny_oracle, ["3-3-3-skip", "1-1-1-plain"]))
    assert (3, 3, 3, True) in opt.archs_
    assert not {(3, 3, 3, True), (1, 1, 1, False)} & set(opt.ask(4))  # told ones are not asked again


def test_values_are_checked(tiny_oracle):
    opt = make("regularized_evolution", "tinychain")
    archs = opt.ask(2)
    with pytest.raises(SearchError, match=r"one value per architecture, shape \(2,\); found \(3,\)"):
        opt.tell(archs, [1.0, 2.0, 3.0])
    with pytest.raises(SearchError, match="NaN.*float\\('-inf'\\)"):
        opt.tell(archs, [1.0, float("nan")])
    opt.tell(archs, [1.0, float("-inf")])  # a failed evaluation is allowed
    with pytest.raises(SearchError, match="positive integer n, found 0"):
        opt.ask(0)
    mo = make("pareto_evolution", "tinychain")
    with pytest.raises(SearchError, match=r"shape \(n_archs, n_objectives\) = \(2, k\), found \(2, 2, 1\)"):
        mo.tell(archs, np.zeros((2, 2, 1)))
    mo.tell(archs, np.zeros((2, 2)))
    with pytest.raises(SearchError, match="told values of shape \\(2,\\) per architecture before, now \\(3,\\)"):
        mo.tell(archs, np.zeros((2, 3)))
    with pytest.raises(SearchError, match="told 2 objectives: best\\(\\) needs one"):
        mo.best()


def test_registry_errors_list_the_choices():
    with pytest.raises(RegistryError, match="unknown search optimizer 'nope'; expected one of: bananas, local_search"):
        get_optimizer("nope", "nb201")
    with pytest.raises(SearchError, match="its parameters are: seed, population_size, sample_size"):
        get_optimizer("regularized_evolution", "nb201", populaton_size=3)
    with pytest.raises(SearchError, match="population_size must be a positive integer, found 0"):
        get_optimizer("regularized_evolution", "nb201", population_size=0)
    with pytest.raises(RegistryError, match="unknown search space 'nope'"):
        get_optimizer("random", "nope")
    with pytest.raises(RegistryError, match="already registered"):
        register_optimizer("random")(type("Again", (Optimizer,), {"_propose": lambda self, n: []}))


def test_repr_shows_the_parameters():
    assert repr(get_optimizer("regularized_evolution", "nb201", seed=3)) == \
        "RegularizedEvolution('nb201', seed=3, population_size=30, sample_size=10)"
