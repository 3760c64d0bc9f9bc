"""``build_all`` (datasets/build.py) and the cross-space summary ``compare_spaces`` (datasets/catalog.py)."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from archbench.datasets.build import available_sources, build_all, is_enumerable
from archbench.datasets.catalog import ALL_TASKS, compare_spaces, connect, query
from archbench.graphs.spaces import get_space


@pytest.fixture
def corrupt_data_dir(tmp_path):
    """A data dir whose only file is a DARTS source in the wrong format."""
    path = tmp_path / "data" / "darts_nb301" / "oncenas" / "data-545.csv"
    path.parent.mkdir(parents=True)
    path.write_text("foo,bar\n1,2\n")
    return tmp_path / "data"


def test_enumerable_and_available_sources(tmp_path):
    assert is_enumerable(get_space("tinychain")) and is_enumerable(get_space("nb201"))
    assert not is_enumerable(get_space("darts"))
    present, missing = available_sources("darts", None)
    assert present == [] and missing["darts_oncenas"] == "darts_nb301/oncenas/data-545.csv"
    assert available_sources("tinychain", tmp_path) == ([], {})


def test_build_all_builds_skips_and_reports(home, tmp_path):
    lines: list[str] = []
    result = build_all(home=home, data_dir=tmp_path, spaces=["tinychain", "darts"], limit=5, workers=1,
                       progress=False, report=lines.append)
    assert set(result.built) == {"tinychain"} and set(result.skipped) == {"darts"} and not result.failed
    assert result.built["tinychain"].archs == 5
    assert lines[0].startswith("tinychain") and "built 5 archs (tiny)" in lines[0] and "labels: none" in lines[0]
    assert lines[1].startswith("darts") and "skipped: cannot be enumerated" in lines[1]
    assert f"found under {tmp_path}" in lines[1] and "darts_oncenas (darts_nb301/oncenas/data-545.csv)" in lines[1]
    assert query("SELECT count(*) AS n FROM archs", home=home)["n"][0] == 5


def test_a_failing_space_does_not_stop_the_others(home, corrupt_data_dir):
    build_all(home=home, spaces=["tinychain"], limit=3, workers=1, progress=False)
    lines: list[str] = []
    result = build_all(home=home, data_dir=corrupt_data_dir, spaces=["darts", "tinychain"], limit=4, workers=1,
                       progress=False, report=lines.append)
    assert set(result.failed) == {"darts"} and set(result.built) == {"tinychain"}
    assert "DataFormatError" in result.failed["darts"] and "lacks column(s)" in result.failed["darts"]
    assert lines[0].startswith("darts") and "FAILED: DataFormatError" in lines[0]
    # The space that built replaced its tables; nothing of the failed one was committed.
    assert query("SELECT space, count(*) AS n FROM archs GROUP BY space", home=home).values.tolist() == [["tinychain", 4]]


@pytest.mark.package_data
def test_build_all_two_spaces_with_package_labels(home):
    result = build_all(home=home, spaces=["tinychain", "nb201"], limit=4, workers=1, progress=False)
    assert set(result.built) == {"tinychain", "nb201"}
    nb201 = result.built["nb201"]
    assert nb201.archs == 4 and nb201.metrics_rows["analognas"] > 0
    # nb201's file sources need a data dir; build_all says so instead of failing.
    assert "nats_csv" in nb201.skipped_sources
    with connect(home) as con:
        table = compare_spaces(con)
    assert table["space"].tolist()[:2] == ["nb201", "nb201"] and table["task"].tolist()[0] == ALL_TASKS
    row = table[(table["space"] == "nb201") & (table["task"] == "cifar10")].iloc[0]
    assert row["archs"] == 4 and 0 < row["best_test_accuracy"] <= 100
    tiny = table[table["space"] == "tinychain"]
    assert tiny["task"].tolist() == [ALL_TASKS] and tiny["archs"].tolist() == [4]


def test_compare_spaces_hand_computed():
    con = duckdb.connect()
    archs = pd.DataFrame({"arch_id": ["s:a", "s:b", "s:c", "t:x"], "space": ["s", "s", "s", "t"],
                          "config": ["c10", "c10", "c10", "tc"], "params": [10, 30, 20, 7],
                          "flops": [100, 300, 200, 70]})
    metrics = pd.DataFrame.from_records([
        # s:a on cifar10: 50 at 12 epochs; 90 and 92 (two seeds) at 200 epochs -> 91
        ("s:a", "s", "cifar10", "test_accuracy", 12.0, 50.0),
        ("s:a", "s", "cifar10", "test_accuracy", 200.0, 90.0),
        ("s:a", "s", "cifar10", "test_accuracy", 200.0, 92.0),
        # s:b on cifar10: 95 at 12 epochs but 89 at 200 -> 89; its valid accuracy has no fidelity -> 70
        ("s:b", "s", "cifar10", "test_accuracy", 12.0, 95.0),
        ("s:b", "s", "cifar10", "test_accuracy", 200.0, 89.0),
        ("s:b", "s", "cifar10", "valid_accuracy", None, 70.0),
        # s:c has only a latency on another task
        ("s:c", "s", "imagenet", "latency", None, 3.0),
    ], columns=["arch_id", "space", "dataset", "metric", "fidelity", "value"])
    con.register("archs", archs)
    con.register("metrics", metrics)
    table = compare_spaces(con)
    assert table[["space", "task", "archs", "min_params", "max_params", "min_flops", "max_flops"]].values.tolist() == [
        ["s", ALL_TASKS, 3, 10, 30, 100, 300],
        ["s", "cifar10", 2, 10, 30, 100, 300],
        ["s", "imagenet", 1, 20, 20, 200, 200],
        ["t", ALL_TASKS, 1, 7, 7, 70, 70],
    ]
    assert table["best_test_accuracy"].tolist()[1] == 91.0 and table["best_valid_accuracy"].tolist()[1] == 70.0
    assert table["best_test_accuracy"].isna().tolist() == [True, False, True, True]
    # Parameterized metric names: a space's "accuracy" can be any metric.
    assert compare_spaces(con, test_metric="latency")["best_test_accuracy"].tolist()[2] == 3.0
