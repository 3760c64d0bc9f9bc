"""Regularized evolution: random until the population is full, then aging tournament + mutation."""
from __future__ import annotations

from archbench.eval.search import RegularizedEvolution, run_search


def _edge_changes(a, b) -> int:
    return sum(x != y for x, y in zip(a, b))


def test_population_keeps_the_most_recent_results(nb201_oracle):
    opt = RegularizedEvolution("nb201", seed=0, population_size=5, sample_size=5)
    archs = opt.ask(8)
    opt.tell(archs, nb201_oracle.lookup(archs)[:, 0])
    assert [a for a, _ in opt.population_] == archs[-5:]  # the three oldest died, good or bad


def test_children_mutate_the_tournament_winner(nb201_oracle):
    # sample_size = population_size: the tournament always picks the population's best.
    opt = RegularizedEvolution("nb201", seed=0, population_size=6, sample_size=6)
    archs = opt.ask(6)
    opt.tell(archs, nb201_oracle.lookup(archs)[:, 0])
    best = max(opt.population_, key=lambda m: m[1])[0]
    for child in opt.ask(4):
        assert _edge_changes(child, best) == 1


def test_evolution_beats_random_on_a_smooth_objective(nb201_oracle):
    from archbench.eval.search import RandomSearch

    evo = [run_search(RegularizedEvolution("nb201", seed=s, population_size=10, sample_size=3), nb201_oracle, 150)
           .best_at(150) for s in range(3)]
    rnd = [run_search(RandomSearch("nb201", seed=s), nb201_oracle, 150).best_at(150) for s in range(3)]
    assert min(evo) > max(rnd)
