"""Tests of the OnceNAS-Bench reader (archbench.benchmarks.darts_oncenas)."""
from __future__ import annotations

import pickle

import pandas as pd
import pytest

from archbench.benchmarks import get_reader
from archbench.benchmarks.base import check_reader_frame
from archbench.errors import DataFormatError


@pytest.fixture
def reader():
    return get_reader("darts_oncenas")


def _value(frame, metric, fidelity=None):
    rows = frame[frame["metric"] == metric]
    if fidelity is not None:
        rows = rows[rows["fidelity"] == fidelity]
    return rows.sort_values("value")["value"].tolist()


def test_synthetic_csv(synthetic, kit, reader):
    frame = reader.read(synthetic("darts_oncenas"))
    check_reader_frame(frame, reader)
    assert len(frame) == kit.EXPECTED_ROWS["darts_oncenas"]
    assert frame["arch"].nunique() == 2 and set(frame["dataset"]) == {"cifar10"}
    assert _value(frame, "params") == [3_262_942.0, 3_407_662.0]
    assert _value(frame, "flops") == pytest.approx([536_552_640.0, 560_799_936.0])
    assert _value(frame, "train_time", 10.0) == [20 * 60 + 57, 21 * 60 + 7]
    assert _value(frame, "train_time", 50.0) == [3600 + 44 * 60 + 56, 3600 + 45 * 60 + 33]
    assert _value(frame, "valid_accuracy", 10.0) == [79.76]  # the blank cell dropped its row
    assert _value(frame, "test_accuracy", 50.0) == [92.03999747, 92.41999719]
    latency = frame[frame["metric"] == "latency"]
    assert set(latency["device"]) == {"oncenas_gpu"} and set(latency["unit"]) == {"ms"}
    assert frame[frame["metric"] != "latency"]["device"].isna().all()
    # the synthetic-looking rasp/fpga/mcu columns are never read
    assert not frame["value"].isin([250.44, 489.66, 406.42]).any()


def test_pickle_form_gives_the_same_rows(synthetic, tmp_path, reader):
    csv = synthetic("darts_oncenas")
    table = pd.read_csv(csv)
    infos = {}
    for i, row in table.iterrows():
        infos[i] = {"arch_index": i, "arch_str": row["architecture"], "all_results": {
            "flop": row["flop"], "params": row["params"], "weights_index": row["weights_index"],
            "epoch9": {"train_time10": row["train_time10"], "train_acc10": row["train_acc10"], "valid_acc10": row["valid_acc10"]},
            "epoch49": {"train_time50": row["train_time50"], "train_acc50": row["train_acc50"],
                        "valid_acc50": row["valid_acc50"], "test_acc50": row["test_acc50"]},
            "latency": {"gpu_latency": row["gpu_latency"], "rasp_latency": row["rasp_latency"]}}}
    pkl = tmp_path / "data_545.pkl"
    pkl.write_bytes(pickle.dumps({"meta_archs": list(table["architecture"]), "arch2infos": infos}, protocol=4))
    key = ["arch", "metric", "fidelity"]
    a = reader.read(csv).sort_values(key).reset_index(drop=True)
    b = reader.read(pkl).sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    "edit, fragment",
    [
        (lambda t: t.replace("0:20:57", "20 min"), "expected a training time 'h:mm:ss', found '20 min'"),
        (lambda t: t.replace(",75.106,", ",175.106,"), "column 'train_acc10' must be in \\[0.0, 100.0\\], found '175.106' at data row 1"),
        (lambda t: t.replace(",29.33620105,", ",fast,"), "column 'gpu_latency' must hold finite numbers, found 'fast'"),
        (lambda t: t.replace("('sep_conv_3x3', 1)", "('sep_conv_9x9', 1)", 1), "data row 1: malformed DARTS genotype: unknown DARTS op 'sep_conv_9x9'"),
        (lambda t: t.replace("gpu_latency,", "gpu_lat,"), "lacks column\\(s\\) \\['gpu_latency'\\]"),
    ],
)
def test_malformed_csv_raises(synthetic, reader, edit, fragment):
    path = synthetic("darts_oncenas")
    path.write_text(edit(path.read_text()))
    with pytest.raises(DataFormatError, match=fragment):
        reader.read(path)


def test_wrong_suffix_and_wrong_pickle(tmp_path, reader):
    path = tmp_path / "data.json"
    path.write_text("{}")
    with pytest.raises(DataFormatError, match="a .csv or .pkl file, found suffix '.json'"):
        reader.read(path)
    path = tmp_path / "data.pkl"
    path.write_bytes(pickle.dumps({"meta_archs": []}))
    with pytest.raises(DataFormatError, match="expected the OnceNAS-Bench API dict with 'arch2infos'"):
        reader.read(path)


@pytest.mark.realdata
def test_real_csv_and_pickle_agree(shared_data, reader):
    csv = reader.read(data_dir=shared_data)
    check_reader_frame(csv, reader)
    assert csv["arch"].nunique() == 545 and len(csv) == 545 * 10
    pkl = reader.read(shared_data / "darts_nb301" / "oncenas" / "data_545.pkl")
    key = ["arch", "metric", "fidelity"]
    pd.testing.assert_frame_equal(csv.sort_values(key).reset_index(drop=True), pkl.sort_values(key).reset_index(drop=True))
    acc = csv[(csv["metric"] == "test_accuracy")]["value"]
    assert 50.0 < acc.min() and acc.max() < 95.0
    lat = csv[csv["metric"] == "latency"]["value"]
    flops = csv[csv["metric"] == "flops"].set_index("arch")["value"]
    # GPU latency grows with FLOPs (the columns this reader skips do not)
    assert pd.Series(lat.to_numpy(), index=csv[csv["metric"] == "latency"]["arch"]).corr(flops) > 0.5
