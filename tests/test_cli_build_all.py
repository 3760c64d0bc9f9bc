"""`archbench build all`: every registered space into one home, then the cross-space comparison."""
from __future__ import annotations

from archbench.cli import main
from archbench.datasets.catalog import query


def test_build_all_command(home, capsys):
    assert main(["build", "all", "--limit", "2", "--workers", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line and not line.startswith(" ")}
    # One line per registered space: enumerable ones are built, DARTS needs files from a data dir.
    assert "built 2 archs (tiny)" in lines["tinychain"] and "built 2 archs (cifar10)" in lines["nb201"]
    assert "skipped: cannot be enumerated" in lines["darts"] and "(no --data-dir given)" in lines["darts"]
    assert "spaces compared" in out and "best_test_accuracy" in out
    # Every config with labels is built (nasbench_graph: one per dataset), each with its 2 archs.
    built = query("SELECT space, config, count(*) AS n FROM archs GROUP BY ALL ORDER BY ALL", home=home)
    assert {"nb201", "tinychain"} <= set(built["space"]) and set(built["n"]) == {2}


def test_build_all_rejects_per_space_options(home, capsys):
    assert main(["build", "all", "--config", "cifar100", "--quiet"]) == 2
    assert "--config and --source name one space's" in capsys.readouterr().err
