"""Search figures are written (Agg backend) and refuse what they cannot draw."""
from __future__ import annotations

import pytest

from archbench.eval.search import ParetoEvolution, RandomSearch, SearchError, TabularOracle, run_search
from archbench.eval.search.plots import plot_best_so_far, plot_pareto

PNG = b"\x89PNG"


def test_best_so_far_plots(tmp_path, nb201_oracle):
    runs = {"random": [run_search(RandomSearch("nb201", seed=s), nb201_oracle, 12 + s) for s in range(3)]}
    path = plot_best_so_far(runs, tmp_path / "a.png", optimum=nb201_oracle.optimum(), title="t")
    assert path.read_bytes().startswith(PNG)
    one = runs["random"][0]
    assert plot_best_so_far(one, tmp_path / "b.png").read_bytes().startswith(PNG)
    assert plot_best_so_far(runs, tmp_path / "c.png", optimum=nb201_oracle.optimum(), log_regret=True).exists()
    with pytest.raises(SearchError, match="log_regret needs the global optimum"):
        plot_best_so_far(one, tmp_path / "d.png", log_regret=True)


def test_pareto_plot(tmp_path, nb201_table, nb201_oracle):
    oracle = TabularOracle("nb201", ["score", "latency:min"], nb201_table)
    result = run_search(ParetoEvolution("nb201", seed=0, population_size=10, sample_size=3), oracle, 30)
    path = plot_pareto(result, tmp_path / "front.png", reference=oracle.true_front(), logx=True)
    assert path.read_bytes().startswith(PNG)
    with pytest.raises(SearchError, match="needs two objectives; the search had 1"):
        plot_pareto(run_search(RandomSearch("nb201"), nb201_oracle, 3), tmp_path / "x.png")
