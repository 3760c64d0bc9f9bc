"""Local search: one-mutation neighbourhoods, first improvement, restarts at local optima."""
from __future__ import annotations

from archbench.eval.search import LocalSearch, TabularOracle, run_search
from archbench.graphs.spaces import get_space


def test_nb201_neighbourhood_is_all_24_one_edge_changes():
    opt = LocalSearch("nb201", seed=0)
    arch = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "none")
    nbs = opt.neighbors(arch)
    assert len(nbs) == len(set(nbs)) == 24
    assert all(sum(x != y for x, y in zip(nb, arch)) == 1 for nb in nbs)


def test_climbs_to_the_optimum_of_a_unimodal_objective(nb201_oracle):
    result = run_search(LocalSearch("nb201", seed=0, num_init=5), nb201_oracle, 150)
    # Additive objective: every non-optimal point has a better neighbour, so no restart is needed.
    assert result.best()["value"] == nb201_oracle.optimum()
    best = result.trajectory["best_so_far"].to_numpy()
    assert (best[1:] >= best[:-1]).all()


def test_restarts_at_a_local_optimum():
    space = get_space("tinychain")
    # Deceptive: (1,1,1,plain) is a local optimum (all its neighbours are worse); the global
    # optimum (3,3,3,skip) is four changes away.
    values = {a: (10.0 if a == (1, 1, 1, False) else 20.0 if a == (3, 3, 3, True) else -sum(a[:3]) - a[3])
              for a in space.enumerate()}
    oracle = TabularOracle.from_values(space, values, "v:max")
    opt = LocalSearch(space, seed=0, num_init=1)
    opt.tell([(1, 1, 1, False)], [10.0])
    for _ in range(4):  # its four neighbours, all worse
        arch = opt.ask(1)
        opt.tell(arch, oracle.lookup(arch)[:, 0])
    assert opt.current_[0] == (1, 1, 1, False)
    restart = opt.ask(1)  # neighbourhood exhausted: a random restart point
    opt.tell(restart, oracle.lookup(restart)[:, 0])
    assert opt.restarts_ == 1 and opt.current_[0] == restart[0]
