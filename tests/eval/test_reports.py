"""Tests for archbench.eval.reports: the results table in the data home, summaries."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from archbench.datasets.catalog import query
from archbench.datasets.store import Store
from archbench.errors import DataFormatError
from archbench.eval.reports import append_results, format_table, read_results, summarize


def rows(n: int = 4) -> pd.DataFrame:
    return pd.DataFrame({"protocol": "sample_efficiency", "predictor": ["a", "b"] * (n // 2), "predictor_name": "x",
                         "task": "t", "space": "s", "n_train": [10] * n, "seed": list(range(n)),
                         "kendall_tau": np.linspace(0.1, 0.4, n), "spearman": np.linspace(0.2, 0.5, n),
                         "k_shot": [None] * n})


def test_append_runs_are_units_and_queryable(home):
    first = append_results(rows(), home)
    second = append_results(rows(2), home)
    assert first != second
    manifest = Store(home).manifest()
    assert f"results/{first}" in manifest.units and f"results/{second}" in manifest.units
    assert len(read_results(home)) == 6 and len(read_results(home, second)) == 2
    counts = query("SELECT run_id, count(*) AS n FROM results GROUP BY run_id ORDER BY n", home=home)
    assert counts["n"].tolist() == [2, 4]
    got = read_results(home, first)
    assert got["k_shot"].isna().all() and got["seed"].tolist() == [0, 1, 2, 3]
    with pytest.raises(DataFormatError, match="lack"):
        append_results(rows().assign(bogus=1), home)


def test_empty_results_view_exists(home, tiny_home):
    assert query("SELECT count(*) AS n FROM results", home=home)["n"][0] == 0


def test_summarize_and_format():
    s = summarize(rows())
    assert s[["predictor", "n_train", "seeds"]].values.tolist() == [["a", 10, 2], ["b", 10, 2]]
    assert s["kendall_tau_mean"].tolist() == pytest.approx([0.2, 0.3])
    text = format_table(s)
    assert "kendall_tau" in text and "0.200 +-" in text and text.splitlines()[2].startswith("a")
