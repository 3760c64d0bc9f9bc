"""Every CLI command has help text and is invoked here."""
from __future__ import annotations

import subprocess
import sys

import pytest

from archbench.cli import main, make_parser
from archbench.commands import command_modules

COMMANDS = [m.NAME for m in command_modules()]


def test_every_command_is_listed():
    sub = next(a for a in make_parser()._actions if a.dest == "command")
    assert sorted(sub.choices) == sorted(COMMANDS)
    assert {"build", "query", "tables", "spaces", "sources"} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_help(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert f"archbench {command}" in out and len(out.splitlines()) > 3


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "archbench build nb201" in capsys.readouterr().out


def test_build_query_tables(home, capsys, tmp_path):
    assert main(["build", "tinychain", "--workers", "1", "--quiet", "--source", "nonexistent"]) == 2
    assert "unknown benchmark reader 'nonexistent'" in capsys.readouterr().err
    assert main(["build", "tinychain", "--workers", "1", "--quiet", "--limit", "6"]) == 0
    out = capsys.readouterr().out
    assert "built 6 tinychain architectures" in out and "canonical_classes" in out

    assert main(["query", "SELECT count(*) AS n FROM archs WHERE space = ?", "--param", "tinychain"]) == 0
    assert capsys.readouterr().out.split() == ["n", "6"]
    target = tmp_path / "out.csv"
    assert main(["query", "SELECT arch_id FROM archs", "-o", str(target)]) == 0
    assert len(target.read_text().splitlines()) == 7

    assert main(["query", "SELEC oops"]) == 2
    err = capsys.readouterr().err
    assert "error" in err and "Available tables" in err and "Traceback" not in err

    assert main(["tables"]) == 0
    out = capsys.readouterr().out
    assert "archs" in out and "metrics" in out and "rows" in out


def test_spaces_and_sources(capsys):
    assert main(["spaces"]) == 0
    out = capsys.readouterr().out
    assert "nb201" in out and "15625" in out
    assert main(["sources"]) == 0
    assert "analognas" in capsys.readouterr().out


def test_module_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "archbench", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.startswith("archbench ")
