"""Search against the official NATS-Bench CIFAR-10 labels (read straight from ../shared/data)."""
from __future__ import annotations

import pandas as pd
import pytest

from archbench.benchmarks import get_reader
from archbench.eval.search import LocalSearch, RandomSearch, TabularOracle, run_search
from archbench.graphs.spaces import get_space


def _official_oracle(shared_data) -> TabularOracle:
    reader = get_reader("nats_csv")
    df = reader.read(shared_data / reader.default_relpath)
    df = df[df["fidelity"] == 200]
    space = get_space("nb201")
    table = pd.DataFrame({"test_accuracy@200": df["value"].to_numpy()},
                         index=[space.arch_id(space.parse(a)) for a in df["arch"]])
    return TabularOracle(space, "test_accuracy@200", table)


@pytest.mark.realdata
def test_search_on_the_official_labels(shared_data):
    oracle = _official_oracle(shared_data)
    assert len(oracle) == 15625 and oracle.optimum() == pytest.approx(94.37, abs=0.005)
    local = run_search(LocalSearch("nb201", seed=0), oracle, 150)
    rnd = run_search(RandomSearch("nb201", seed=0), oracle, 150)
    # Local search is known to reach the NB201 optimum within ~100 queries (White et al. 2020).
    assert local.queries_to_reach(oracle.optimum()) is not None
    assert local.best_at(150) > rnd.best_at(150)
    assert oracle.queries == 300
