"""Tests for archbench.benchmarks.nb101_naslib_zc: NASLib's NB101 zero-cost JSON."""
from __future__ import annotations

import json

import pytest

from archbench.benchmarks import get_reader
from archbench.benchmarks.base import check_reader_frame
from archbench.benchmarks.nb101_naslib_zc import parse_naslib_key
from archbench.errors import DataFormatError, EncodingError
from archbench.graphs.spaces import get_space


def test_synthetic_rows(synthetic, kit):
    reader = get_reader("nb101_naslib_zc")
    frame = reader.read(path=synthetic("nb101_naslib_zc"))
    check_reader_frame(frame, reader)
    # two unpruned 7x7 specs of one cell (interior vertices swapped): one arch, two measurements
    assert set(frame["arch"]) == {kit.nb101.CELLS[0]}
    by_metric = frame.groupby("metric")["value"].apply(list).to_dict()
    assert by_metric == {"valid_accuracy": [91.5, 90.5], "zc_synflow": [30.5, 30.75], "zc_snip": [55.0, 57.0],
                         "zc_snip_time": [0.25, 0.5]}
    units = frame.groupby("metric")["unit"].first().to_dict()
    assert units == {"valid_accuracy": "%", "zc_synflow": "score", "zc_snip": "score", "zc_snip_time": "s"}
    assert set(frame.loc[frame.metric == "valid_accuracy", "fidelity"]) == {108.0}


def test_key_errors():
    with pytest.raises(EncodingError, match="tuple of 56 integers"):
        parse_naslib_key("(0, 1, 2)")
    with pytest.raises(EncodingError, match="tuple of 56 integers"):
        parse_naslib_key("[[(0, 3)]]")
    with pytest.raises(EncodingError, match="unknown NB101 op code 9"):
        parse_naslib_key(str(tuple([0] * 49 + [0, 9, 1, 1, 1, 1, 1])))


@pytest.mark.parametrize("data, message", [
    ({"nasbench101": {"cifar100": {}}}, "expected NASLib NB101 zero-cost data"),
    ({"cifar10": {"(1, 2)": {"val_accuracy": 1.0}}}, "tuple of 56 integers"),
])
def test_wrong_json(tmp_path, data, message):
    path = tmp_path / "zc.json"
    path.write_text(json.dumps(data))
    with pytest.raises(DataFormatError, match=message):
        get_reader("nb101_naslib_zc").read(path=path)


def test_unknown_proxy_and_missing_accuracy(tmp_path, synthetic):
    data = json.loads(synthetic("nb101_naslib_zc").read_text())
    records = data["nasbench101"]["cifar10"]
    first = next(iter(records))
    records[first]["magic"] = 1.0
    path = tmp_path / "zc.json"
    path.write_text(json.dumps(data))
    with pytest.raises(DataFormatError, match="unknown zero-cost proxy 'magic'"):
        get_reader("nb101_naslib_zc").read(path=path)
    del records[first]["magic"], records[first]["val_accuracy"]
    path.write_text(json.dumps(data))
    with pytest.raises(DataFormatError, match="expected a record with 'val_accuracy'"):
        get_reader("nb101_naslib_zc").read(path=path)


@pytest.mark.realdata
def test_real_file(shared_data):
    reader = get_reader("nb101_naslib_zc")
    frame = reader.read(data_dir=shared_data)
    check_reader_frame(frame, reader)
    assert (frame.metric == "valid_accuracy").sum() == 500 and frame["arch"].nunique() == 292
    assert {m for m in frame["metric"] if m.startswith("zc_")} == {
        f"zc_{p}" for p in ("epe_nas", "fisher", "flops", "grad_norm", "grasp", "jacov", "l2_norm", "params", "plain",
                            "snip", "synflow")}
    # NASLib's params proxy (millions) is our graph's count for most cells; it was measured on NASLib's
    # own vertex numbering, whose channel split differs from the official representative's for a few
    space = get_space("nb101")
    zc = frame[frame.metric == "zc_params"]
    same = sum(abs(space.build_cg(space.parse(a)).params / 1e6 - v) < 1e-6 for a, v in zip(zc["arch"], zc["value"]))
    assert same >= 0.9 * len(zc)
