"""NAS-Bench-NLP reader: synthetic log zips and folders, malformed logs, and the real training logs."""
from __future__ import annotations

import json
import math
import zipfile

import numpy as np
import pytest

from archbench.benchmarks import get_reader
from archbench.benchmarks.base import check_reader_frame
from archbench.errors import DataFormatError
from archbench.graphs.spaces import get_space

READER = get_reader("nasbench_nlp")
SPACE = get_space("nasbench_nlp")


def _zip(tmp_path, logs: dict[str, dict]):
    path = tmp_path / "logs.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, log in logs.items():
            zf.writestr(name, json.dumps(log))
    return path


def _log(**changes) -> dict:
    log = {"recepie": json.dumps({"f": {"op": "linear", "input": ["x", "h_prev_0"]},
                                  "h_new_0": {"op": "activation_tanh", "input": ["f"]}}),
           "emsize": 400, "nhid": 600, "nlayers": 3, "tied": True, "num_params": 15_066_078,
           "train_losses": [6.0, 5.5], "val_losses": [5.8, 5.4], "test_losses": [5.7, 5.3], "wall_times": [140.0, 141.0]}
    log.update(changes)
    return log


def test_curves_fidelity_and_totals(synthetic):
    frame = READER.read(path=synthetic("nasbench_nlp"))
    assert frame["arch"].nunique() == 2 and set(frame["dataset"]) == {"wikitext2"}
    first = frame[frame["arch"] == SPACE.format(SPACE.parse(frame["arch"].iloc[0]))]
    val = first[first["metric"] == "valid_loss"]
    assert val["fidelity"].tolist() == [1.0, 2.0, 3.0] and val["value"].tolist() == [5.5, 5.3, 5.2]
    assert set(val["unit"]) == {"nats"}
    total = first[first["metric"] == "train_time"]
    assert total["value"].item() == 100.0 + 101.0 + 102.0 and total["fidelity"].item() == 3.0
    assert first[first["metric"] == "params"]["value"].item() == 15_066_078
    # the diverged run: its NaN losses are dropped, its epoch times are kept
    second = frame[frame["arch"] != first["arch"].iloc[0]]
    assert second[second["metric"] == "valid_loss"]["fidelity"].tolist() == [1.0]
    assert second[second["metric"] == "epoch_time"]["fidelity"].tolist() == [1.0, 2.0]


def test_arch_is_the_canonical_recipe(tmp_path):
    frame = READER.read(path=_zip(tmp_path, {"a.json": _log()}))
    arch = frame["arch"].iloc[0]
    assert arch == SPACE.format(SPACE.parse(_log()["recepie"])) and SPACE.parse(arch)


def test_reads_a_folder_of_logs(tmp_path):
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.json").write_text(json.dumps(_log()))
    assert len(READER.read(path=tmp_path / "logs")) == 4 * 2 + 2


@pytest.mark.parametrize("log, msg", [
    ({"recepie": "{}"}, "a NAS-Bench-NLP log needs fields"),
    (_log(nhid=200), "log has nhid=200, but the nasbench_nlp network config is nhid=600"),
    (_log(recepie='{"h_new_0": {"op": "conv", "input": ["x"]}}'), "unknown op 'conv'"),
    (_log(val_losses=["5.1", 5.0]), "val_losses should be a list of numbers"),
])
def test_malformed_logs(tmp_path, log, msg):
    with pytest.raises(DataFormatError, match=msg):
        READER.read(path=_zip(tmp_path, {"a.json": log}))


def test_not_a_zip_or_no_logs(tmp_path):
    bad = tmp_path / "x.zip"
    bad.write_text("hello")
    with pytest.raises(DataFormatError, match="not a zip file"):
        READER.read(path=bad)
    with pytest.raises(DataFormatError, match=r"found no \*.json log"):
        READER.read(path=_zip(tmp_path, {}))
    (tmp_path / "j").mkdir()
    (tmp_path / "j" / "a.json").write_text("{oops")
    with pytest.raises(DataFormatError, match="invalid JSON"):
        READER.read(path=tmp_path / "j")


@pytest.mark.realdata
def test_real_logs(shared_data):
    frame = READER.read(data_dir=shared_data)
    check_reader_frame(frame, READER)
    assert frame["arch"].nunique() == READER.num_archs == 291
    counts = frame.groupby("metric").size()
    assert counts["params"] == counts["train_time"] == 345            # one per run
    assert counts["epoch_time"] == 341 * 50 + 1 + 19 + 23 + 1           # 4 runs stopped early ("loss is nan!")
    rnn = SPACE.format(SPACE.parse(json.dumps({"f": {"op": "linear", "input": ["x", "h_prev_0"]},
                                               "h_new_0": {"op": "activation_tanh", "input": ["f"]}})))
    rows = frame[(frame["arch"] == rnn) & (frame["metric"] == "valid_loss")]
    assert rows["fidelity"].max() == 50.0 and 5.0 < rows["value"].min() < 5.3
    assert math.isclose(np.exp(rows["value"].min()), 186, rel_tol=0.05)  # perplexity of the plain RNN cell
