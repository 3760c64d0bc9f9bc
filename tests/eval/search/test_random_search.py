"""Random search: uniform samples, no repeats while the space has unseen architectures."""
from __future__ import annotations

from archbench.eval.search import RandomSearch, run_search


def test_covers_a_small_space_without_repeats(tiny_oracle):
    result = run_search(RandomSearch("tinychain", seed=0), tiny_oracle, 16, batch_size=5)
    assert result.trajectory["arch"].nunique() == 16
    assert result.best()["value"] == tiny_oracle.optimum() == 21.5
    assert tiny_oracle.queries == 16


def test_repeats_only_once_the_space_is_exhausted():
    opt = RandomSearch("tinychain", seed=1)
    first = opt.ask(16)
    assert len(set(first)) == 16
    assert len(opt.ask(3)) == 3  # nothing new is left: it still answers


def test_ignores_values_of_any_shape():
    opt = RandomSearch("tinychain", seed=0)
    archs = opt.ask(2)
    opt.tell(archs, [[1.0, 2.0], [3.0, 4.0]])
    assert opt.values_.shape == (2, 2)
