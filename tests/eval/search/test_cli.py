"""`archbench search` and the JSON-lines mode of `archbench predict` (--stdin / --input), invoked as a user would."""
from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from archbench.cli import main
from archbench.eval.search import SearchResult
from archbench.graphs.spaces import get_space
from archbench.predictors.base import get_predictor


def test_search_single_objective(tiny_home, tmp_path, capsys):
    out, fig = tmp_path / "t.parquet", tmp_path / "t.png"
    assert main(["search", "tinychain", "--objective", "synth/score", "--budget", "16", "--option", "population_size=4",
                 "-o", str(out), "--plot", str(fig)]) == 0
    text = capsys.readouterr().out
    assert "regularized_evolution on tinychain: 16 queries" in text
    assert "best found: 3-3-3-skip" in text and "score = 21.5" in text and "regret 0" in text
    traj = pd.read_parquet(out)
    assert list(traj.columns) == ["query", "arch", "arch_id", "value", "best_so_far"] and len(traj) == 16
    assert SearchResult.load(out).params["population_size"] == 4
    assert fig.read_bytes().startswith(b"\x89PNG")


def test_search_two_objectives_and_a_predictor(tiny_home, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["search", "tinychain", "--objective", "synth/score", "--objective", "latency#dev", "--budget", "10",
                 "--plot", "front.png"]) == 0
    text = capsys.readouterr().out
    assert "Pareto front found" in text and "latency#dev" in text
    assert (tmp_path / "search-tinychain-pareto_evolution-seed0.parquet").exists() and (tmp_path / "front.png").exists()
    assert main(["search", "tinychain", "--objective", "synth/score", "--budget", "8", "--predictor", "ridge",
                 "--predictor-param", "alpha=0.5", "--option", "num_init=4", "--option", "num_candidates=6",
                 "--seed", "2"]) == 0
    assert "bananas on tinychain: 8 queries" in capsys.readouterr().out
    assert SearchResult.load(tmp_path / "search-tinychain-bananas-seed2.parquet").params["predictor_params"] == {"alpha": 0.5}


def test_search_errors_are_messages(tiny_home, capsys):
    assert main(["search", "tinychain", "--objective", "score", "--budget", "5"]) == 2
    err = capsys.readouterr().err
    assert "matches 2 label sets" in err and "Traceback" not in err
    assert main(["search", "tinychain", "--objective", "synth/score", "--optimizer", "nope"]) == 2
    assert "unknown search optimizer 'nope'; expected one of" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["search", "tinychain", "--objective", "synth/score", "--option", "novalue"])
    assert "expected KEY=VALUE" in capsys.readouterr().err


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    space = get_space("nb201")
    train = space.samples(30, seed=0)
    path = tmp_path_factory.mktemp("predict") / "ridge"
    get_predictor("ridge").fit(train, [sum(op == "nor_conv_3x3" for op in a) for a in train], space="nb201").save(path)
    return path


GOOD = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
POOR = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


def test_predict_json_lines_from_stdin(model_dir):
    lines = [GOOD, "", "not an architecture", json.dumps({"arch": POOR, "id": 7}), json.dumps(POOR), '{"id": 1}',
             "{broken json", "|conv9~0|+|none~0|none~1|+|none~0|none~1|none~2|"]
    proc = subprocess.run([sys.executable, "-m", "archbench", "predict", "--model", str(model_dir), "--space", "nb201",
                           "--stdin"], input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["line"] for r in out] == [1, 3, 4, 5, 6, 7, 8]  # the blank line 2 is skipped
    assert out[0]["arch"] == GOOD and out[0]["prediction"] > out[2]["prediction"]
    assert "NB201 string must have 3 node groups" in out[1]["error"]
    assert out[2]["id"] == 7 and out[3]["prediction"] == out[2]["prediction"]
    assert 'needs an "arch" field' in out[4]["error"] and out[4]["id"] == 1
    assert "JSONDecodeError" in out[5]["error"]
    assert "unknown NB201 op 'conv9'" in out[6]["error"]


def test_predict_batches_a_file_and_checks_arguments(model_dir, tmp_path, capsys):
    src = tmp_path / "archs.txt"
    src.write_text("\n".join([GOOD, POOR, "bad"]) + "\n")
    assert main(["predict", "--model", str(model_dir), "--space", "nb201", "--input", str(src), "--batch-size", "2"]) == 0
    out = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [("prediction" in r, "error" in r) for r in out] == [(True, False), (True, False), (False, True)]
    assert main(["predict", "--model", str(tmp_path), "--space", "nb201", "--stdin"]) == 2
    assert "is not a saved archbench predictor" in capsys.readouterr().err
    assert main(["predict", "--model", str(model_dir), "--space", "nope", "--stdin"]) == 2
    assert "unknown search space 'nope'" in capsys.readouterr().err
    assert main(["predict", str(model_dir), "--model", str(model_dir), "--space", "nb201", "--stdin"]) == 2
    assert "give the saved predictor's directory once" in capsys.readouterr().err
