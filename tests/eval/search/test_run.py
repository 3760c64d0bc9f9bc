"""The search loop, its trajectory and result files, and search() over the tables."""
from __future__ import annotations

import numpy as np
import pytest

from archbench.eval.search import (RandomSearch, RegularizedEvolution, SearchError, SearchResult, TabularOracle,
                                   run_search, search)


def test_trajectory_rows_and_best_so_far(nb201_oracle):
    rounds = []
    result = run_search(RegularizedEvolution("nb201", seed=0, population_size=8, sample_size=3), nb201_oracle, 20,
                        batch_size=3, callback=lambda q, archs, raw: rounds.append((q, len(archs), raw.shape)))
    traj = result.trajectory
    assert list(traj.columns) == ["query", "arch", "arch_id", "value", "best_so_far"]
    assert traj["query"].tolist() == list(range(1, 21)) and nb201_oracle.queries == 20
    assert rounds[-1] == (20, 2, (2, 1)) and len(rounds) == 7  # 6 rounds of 3, then the last 2
    assert np.array_equal(traj["best_so_far"], np.maximum.accumulate(traj["value"]))
    assert traj["value"].tolist() == nb201_oracle.lookup(traj["arch"].tolist())[:, 0].tolist()
    best = result.best()
    assert best["value"] == traj["value"].max() and result.best_at(20) == best["value"]
    assert result.best_at(999) == best["value"]
    assert result.queries_to_reach(best["value"]) == int(traj.loc[traj["value"].idxmax(), "query"])
    assert result.queries_to_reach(1e9) is None


def test_minimized_objective_is_tracked_downwards(nb201_table):
    oracle = TabularOracle("nb201", "latency:min", nb201_table)
    result = run_search(RandomSearch("nb201", seed=0), oracle, 30)
    assert np.array_equal(result.trajectory["best_so_far"], np.minimum.accumulate(result.trajectory["value"]))
    assert result.best()["value"] == result.trajectory["value"].min()
    assert result.queries_to_reach(result.best()["value"]) is not None


def test_save_and_load_round_trip(tmp_path, nb201_oracle):
    result = run_search(RandomSearch("nb201", seed=4), nb201_oracle, 5)
    path = result.save(tmp_path / "sub" / "t.parquet")
    back = SearchResult.load(path)
    assert back.trajectory.equals(result.trajectory)
    assert (back.space, back.optimizer, back.objectives, back.params) == ("nb201", "random", result.objectives, {"seed": 4})
    with pytest.raises(SearchError, match="expected a .parquet path"):
        result.save(tmp_path / "t.csv")
    import pandas as pd

    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "other.parquet")
    with pytest.raises(SearchError, match="not an archbench search trajectory"):
        SearchResult.load(tmp_path / "other.parquet")


def test_run_checks_its_arguments(nb201_table, nb201_oracle, tiny_oracle):
    two = TabularOracle("nb201", ["score", "latency:min"], nb201_table)
    with pytest.raises(SearchError, match="optimizes one objective, but 2 were given.*pareto_evolution"):
        run_search(RegularizedEvolution("nb201"), two, 5)
    with pytest.raises(SearchError, match="positive number of queries, found 0"):
        run_search(RandomSearch("nb201"), nb201_oracle, 0)
    with pytest.raises(SearchError, match="optimizer searches 'nb201' but the oracle answers for 'tinychain'"):
        run_search(RandomSearch("nb201"), tiny_oracle, 3)
    # random search takes any number of objectives
    assert run_search(RandomSearch("nb201"), two, 4).trajectory["on_front"].any()


def test_search_over_the_tables(tiny_home):
    result, oracle = search("tinychain", "synth/score", 16, home=tiny_home, options={"population_size": 4})
    assert result.optimizer == "regularized_evolution" and result.best()["value"] == oracle.optimum() == 21.5
    result, _ = search("tinychain", ["synth/score", "latency#dev"], 10, home=tiny_home, seed=1)
    assert result.optimizer == "pareto_evolution" and "latency#dev" in result.trajectory
    result, _ = search("tinychain", "synth/score", 8, predictor="ridge", home=tiny_home,
                       options={"num_init": 4, "num_candidates": 6})
    assert result.optimizer == "bananas" and result.params["predictor"] == "ridge"
    with pytest.raises(SearchError, match="optimizer 'random' uses no predictor; predictor-guided ones are: bananas"):
        search("tinychain", "synth/score", 8, optimizer="random", predictor="ridge", home=tiny_home)


def test_search_with_a_saved_predictor_screens_without_retraining(tiny_home, tmp_path):
    from archbench.graphs.spaces import get_space
    from archbench.predictors.base import get_predictor

    space = get_space("tinychain")
    archs = list(space.enumerate())
    values = [4.0 * a[0] + 2.0 * a[1] + a[2] + 0.5 * a[3] for a in archs]
    get_predictor("ridge").fit(archs, values, space="tinychain").save(tmp_path / "model")
    result, oracle = search("tinychain", "synth/score", 3, predictor=str(tmp_path / "model"), home=tiny_home,
                            options={"num_candidates": 16, "population_size": 4, "sample_size": 2})
    assert result.optimizer == "screened_evolution"
    assert result.params["refit_every"] == 0 and result.params["num_init"] == 0 and result.params["predictor"] == "ridge"
    # The pre-trained screener sees all 16 candidates at once: its first pick is the optimum.
    assert result.trajectory["value"].iloc[0] == oracle.optimum()
