"""Tests of the TransNAS-Bench-101 readers (archbench.benchmarks.transnas101)."""
from __future__ import annotations

import json
import zipfile

import pytest

from archbench.benchmarks import get_reader
from archbench.benchmarks.base import check_reader_frame
from archbench.benchmarks.transnas101 import TASK_METRICS
from archbench.errors import DataFormatError


def _by(frame, **where):
    for col, value in where.items():
        frame = frame[frame[col] == value]
    return frame


def test_zen_zip_rows(synthetic, kit):
    reader = get_reader("transnas101_micro_zen")
    frame = reader.read(synthetic("transnas101_micro_zen"))
    check_reader_frame(frame, reader)
    assert len(frame) == kit.EXPECTED_ROWS["transnas101_micro_zen"]
    assert set(frame["arch"]) == {"64-41414-1_02_333", "64-41414-0_00_000"}
    assert set(frame["dataset"]) == {"class_scene", "room_layout"}
    assert dict(zip(frame["metric"], frame["unit"])) == {"valid_top1": "%", "valid_neg_loss": "1", "zc_zen": "score",
                                                         "zc_zen_time": "s"}
    assert _by(frame, metric="valid_top1", arch="64-41414-1_02_333")["value"].tolist() == [50.25]
    assert _by(frame, metric="valid_neg_loss", arch="64-41414-0_00_000")["value"].tolist() == [-1.0]
    # NASLib's -1e8 marks a failed proxy: that score is missing, its time is kept
    assert _by(frame, metric="zc_zen", dataset="room_layout")["arch"].tolist() == ["64-41414-1_02_333"]
    assert len(_by(frame, metric="zc_zen_time", dataset="room_layout")) == 2
    assert frame["fidelity"].isna().all() and frame["device"].isna().all()


def test_naslib_zc_rows(synthetic, kit):
    reader = get_reader("transnas101_micro_naslib_zc")
    frame = reader.read(synthetic("transnas101_micro_naslib_zc"))
    check_reader_frame(frame, reader)
    assert len(frame) == kit.EXPECTED_ROWS["transnas101_micro_naslib_zc"]
    assert set(frame["metric"]) == {"valid_top1", "valid_acc", "zc_flops", "zc_flops_time", "zc_epe_nas_time"}
    assert _by(frame, dataset="segmentsemantic", metric="valid_acc")["value"].tolist() == [93.5]
    assert sorted(_by(frame, dataset="class_scene", metric="valid_top1")["value"]) == [40.0, 41.0]
    assert set(frame["arch"]) == {"64-41414-1_00_210", "64-41414-3_33_333"}

    macro = get_reader("transnas101_macro_naslib_zc")
    frame = macro.read(synthetic("transnas101_macro_naslib_zc"))
    check_reader_frame(frame, macro)
    assert set(frame["arch"]) == {"64-1242-basic", "64-3112-basic"}
    assert dict(zip(frame["metric"], frame["unit"])) == {"valid_ssim": "1", "zc_nwot": "score", "zc_nwot_time": "s"}


def test_task_metrics_cover_the_benchmark():
    from archbench.graphs.spaces.transnas101 import TASKS

    assert set(TASK_METRICS) == set(TASKS) and len(TASKS) == 7
    assert TASK_METRICS["room_layout"] == ("valid_neg_loss", "1") and TASK_METRICS["normal"][0] == "valid_ssim"


def _json(tmp_path, data):
    path = tmp_path / "zc.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


REC = {"val_accuracy": 40.0, "flops": {"score": 1.0, "time": 0.5}}


@pytest.mark.parametrize(
    "data, fragment",
    [
        ("{oops", "could not parse it"),
        ([1, 2], "expected {task: {op-index tuple: record}}"),
        ({"cifar10": {"(1, 0, 0, 2, 1, 0)": REC}}, "unknown TransNAS-Bench-101 task 'cifar10'"),
        ({"class_scene": {"(1, 0, 0, 9, 1, 0)": REC}}, "is not a NASLib TransNAS-Bench-101 op-index tuple"),
        ({"class_scene": {"(1, 0, 0, 2, 1, 0)": {"val_accuracy": 140.0}}}, "valid_top1 for .class_scene. \\(in \\[0.0, 100.0\\]\\)"),
        ({"room_layout": {"(1, 0, 0, 2, 1, 0)": {"val_accuracy": 0.5}}}, "valid_neg_loss"),
        ({"class_scene": {"(1, 0, 0, 2, 1, 0)": {"val_accuracy": 40.0, "magic": {"score": 1.0}}}}, "unknown zero-cost proxy 'magic'"),
        ({"class_scene": {"(1, 0, 0, 2, 1, 0)": {"val_accuracy": 40.0, "flops": 3.0}}}, "must be {'score'"),
        ({"class_scene": {"(1, 0, 0, 2, 1, 0)": {"val_accuracy": "high"}}}, "expected a finite number"),
        ({"class_scene": {"(1, 0, 0, 2, 1, 0)": {"arch": "(0, 0, 0, 0, 0, 0)", "val_accuracy": 1.0}}}, "differs from its key"),
    ],
)
def test_naslib_zc_errors(tmp_path, data, fragment):
    with pytest.raises(DataFormatError, match=fragment):
        get_reader("transnas101_micro_naslib_zc").read(_json(tmp_path, data))


def test_macro_reader_refuses_micro_keys(tmp_path):
    with pytest.raises(DataFormatError, match="pad with zeros only at the end"):
        get_reader("transnas101_macro_naslib_zc").read(_json(tmp_path, {"class_scene": {"(1, 0, 0, 2, 1, 0)": REC}}))


def test_zen_zip_errors(tmp_path):
    reader = get_reader("transnas101_micro_zen")
    path = tmp_path / "zen.zip"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("zen/other.json", "[]")
    with pytest.raises(DataFormatError, match="expected members 'zen/benchmark--transbench101_micro--<task>"):
        reader.read(path)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("zen/benchmark--transbench101_micro--class_scene--0.json", json.dumps({"a": 1}))
    with pytest.raises(DataFormatError, match="expected a list of records"):
        reader.read(path)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("zen/benchmark--transbench101_micro--class_scene--0.json",
                   json.dumps([{"arch": "(1, 0, 0, 2, 1, 0)", "val_accuracy": 40.0, "grasp": {"score": 1.0}}]))
    with pytest.raises(DataFormatError, match="unknown zero-cost proxy 'grasp'; expected one of: zen"):
        reader.read(path)


# ---- real data -------------------------------------------------------------------------------------

@pytest.mark.realdata
def test_real_zen_zip(shared_data):
    reader = get_reader("transnas101_micro_zen")
    frame = reader.read(data_dir=shared_data)
    check_reader_frame(frame, reader)
    # 4,096 cells x 7 tasks x (metric, zen time) + zen scores, minus 169 failed zen scores per task
    assert len(frame) == 4096 * 7 * 3 - 169 * 7
    assert frame["arch"].nunique() == 4096
    # code 0 on the three edges into node 3 makes the output constant: chance-level accuracy, the
    # same for every such cell (this pins NASLib's op codes to the benchmark's: 0 = none)
    dead = frame[frame["arch"].str.endswith("_000") & (frame["metric"] == "valid_top1") & (frame["dataset"] == "class_scene")]
    assert len(dead) == 64 and dead["value"].nunique() == 1 and dead["value"].iloc[0] < 10
    scene = frame[(frame["metric"] == "valid_top1") & (frame["dataset"] == "class_scene")]
    assert 50 < scene["value"].max() < 60


@pytest.mark.realdata
@pytest.mark.parametrize("name, rows, archs", [("transnas101_micro_naslib_zc", 109_740, 711),
                                               ("transnas101_macro_naslib_zc", 109_284, 725)])
def test_real_naslib_zc(shared_data, name, rows, archs):
    reader = get_reader(name)
    frame = reader.read(data_dir=shared_data)
    check_reader_frame(frame, reader)
    assert len(frame) == rows and frame["arch"].nunique() == archs
    assert frame["dataset"].nunique() == 7
    proxies = {m for m in frame["metric"] if m.startswith("zc_") and not m.endswith("_time")}
    assert len(proxies) == 11
    # NASLib's epe_nas failed (-1e8) on every task but jigsaw: only jigsaw rows remain
    assert set(frame.loc[frame["metric"] == "zc_epe_nas", "dataset"]) == {"jigsaw"}
    seg = frame[(frame["dataset"] == "segmentsemantic")]
    assert set(seg["metric"]) - {m for m in seg["metric"] if m.startswith("zc_")} == {"valid_acc"}
