"""Pareto ranks, fronts, crowding distance and hypervolume on hand-computed points; NSGA-II evolution."""
from __future__ import annotations

import numpy as np
import pytest

from archbench.eval.search import (ParetoEvolution, RandomSearch, SearchError, TabularOracle, crowding_distance,
                                   hypervolume_2d, non_dominated_rank, pareto_front, run_search)

# Both maximized. Front: (1,5), (2,4), (3,3) twice; then (2,2); then (1,1).
POINTS = np.array([[1, 5], [2, 4], [3, 3], [2, 2], [1, 1], [3, 3]], dtype=float)


def test_ranks_and_front():
    assert non_dominated_rank(POINTS).tolist() == [0, 0, 0, 1, 2, 0]
    assert pareto_front(POINTS).tolist() == [2, 5, 1, 0]  # best first objective first; duplicates kept
    assert pareto_front(np.zeros((0, 2))).tolist() == []


def test_crowding_distance_by_hand():
    front = np.array([[1, 5], [2, 4], [4, 1]], dtype=float)
    # middle point: (4-1)/(4-1) + (5-1)/(5-1) = 2; the extremes are infinite
    assert crowding_distance(front).tolist() == [np.inf, 2.0, np.inf]


def test_hypervolume_by_hand():
    assert hypervolume_2d([[1, 3], [2, 2], [3, 1]], (0, 0)) == 6.0
    assert hypervolume_2d([[1, 3], [2, 2], [3, 1], [1, 1]], (0, 0)) == 6.0  # dominated points add nothing
    assert hypervolume_2d([[1, 3]], (2, 0)) == 0.0
    with pytest.raises(SearchError, match="needs 2 objectives, found 3"):
        hypervolume_2d(np.ones((2, 3)), (0, 0, 0))


def _two_objective_oracle(nb201_table):
    return TabularOracle("nb201", ["score:max", "latency:min"], nb201_table)


def test_pareto_evolution_gets_closer_to_the_true_front_than_random(nb201_table):
    oracle = _two_objective_oracle(nb201_table)
    true = oracle.true_front().to_numpy() * oracle.signs
    ref = (true[:, 0].min() - 1, true[:, 1].min() - 1)

    def hv(result):
        return hypervolume_2d(result.objective_values() * oracle.signs, ref)

    evo = [hv(run_search(ParetoEvolution("nb201", seed=s, population_size=20, sample_size=5), oracle, 200)) for s in range(3)]
    rnd = [hv(run_search(RandomSearch("nb201", seed=s), oracle, 200)) for s in range(3)]
    assert np.mean(evo) > np.mean(rnd)
    assert max(evo) <= hypervolume_2d(true, ref) + 1e-9


def test_result_front_matches_the_trajectory_flags(nb201_table):
    oracle = _two_objective_oracle(nb201_table)
    result = run_search(ParetoEvolution("nb201", seed=0, population_size=10, sample_size=3), oracle, 60, batch_size=4)
    traj = result.trajectory
    assert {"score", "latency", "on_front"} <= set(traj.columns)
    front = result.pareto_front()
    assert set(front["arch_id"]) == set(traj.loc[traj["on_front"], "arch_id"])
    v = front[["score", "latency"]].to_numpy()
    for a in v:  # no front point dominates another
        assert not any((b[0] >= a[0] and b[1] <= a[1]) and (b[0] > a[0] or b[1] < a[1]) for b in v)
