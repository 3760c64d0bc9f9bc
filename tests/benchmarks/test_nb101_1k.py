"""Tests for archbench.benchmarks.nb101_1k: the nasbench-vis 1,000-cell JSON."""
from __future__ import annotations

import json

import numpy as np
import pytest

from archbench.benchmarks import get_reader
from archbench.benchmarks.base import check_reader_frame
from archbench.errors import DataFormatError
from archbench.graphs.spaces import get_space


def test_synthetic_rows(synthetic, kit):
    reader = get_reader("nb101_1k")
    frame = reader.read(path=synthetic("nb101_1k"))
    check_reader_frame(frame, reader)
    a, b = kit.nb101.CELLS                     # cell a was stored padded to 7x7 (code -3)
    va = frame[(frame.metric == "valid_accuracy") & (frame.arch == a)].set_index("fidelity")["value"]
    assert va.to_dict() == pytest.approx({4.0: 50.4, 12.0: 51.2, 36.0: 53.6, 108.0: 60.8})
    time = frame[frame.metric == "train_time"]
    assert time["value"].tolist() == [1500.5, 900.0] and set(time["device"]) == {"tpuv2"}
    assert frame["seed"].isna().all()
    assert frame[frame.metric == "params"].set_index("arch")["value"].to_dict() == {a: 8555530.0, b: 1000.0}


@pytest.mark.parametrize("change, message", [
    (lambda d: d.update(key=["0" * 32, d["key"][1]]), "cell 0: the cell hashes to .* but its key is '000"),
    (lambda d: d.pop("trainable_parameters"), "expected lists \\['trainable_parameters'\\]"),
    (lambda d: d["operations"][1].__setitem__(1, 7), "cell 1: not a valid NB101 cell: unknown NB101 op code 7"),
    (lambda d: d["adjacency"].pop(), "one entry per cell \\(2 keys\\), found lengths \\{'adjacency': 1\\}"),
    (lambda d: d["final_training_time"].__setitem__(0, "slow"), "final_training_time\\[0\\]: expected a finite number"),
])
def test_malformed_files(tmp_path, kit, change, message):
    data = kit.nb101.one_k_data()
    change(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(DataFormatError, match=message):
        get_reader("nb101_1k").read(path=path)


def test_wrong_json(tmp_path):
    path = tmp_path / "list.json"
    path.write_text("[1, 2]")
    with pytest.raises(DataFormatError, match="expected a JSON object of parallel lists"):
        get_reader("nb101_1k").read(path=path)


@pytest.mark.realdata
def test_real_file(shared_data):
    reader = get_reader("nb101_1k")
    frame = reader.read(data_dir=shared_data)            # every cell hashes to its key, or this raises
    check_reader_frame(frame, reader)
    assert frame["arch"].nunique() == 1000 and len(frame) == 6000
    space = get_space("nb101")
    params = frame[frame.metric == "params"]
    built = np.array([space.build_cg(space.parse(a)).params for a in params["arch"]])
    assert (built == params["value"].to_numpy()).all()
    va = frame[frame.metric == "valid_accuracy"]
    assert va["value"].between(5, 96).all() and set(va["fidelity"]) == {4.0, 12.0, 36.0, 108.0}
    # one training run each: accuracies are whole counts of the 9,984 validation images
    counts = va["value"].to_numpy() / 100 * 9984
    assert np.allclose(counts, np.round(counts), atol=1e-3)
