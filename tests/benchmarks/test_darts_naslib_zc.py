"""Tests of the NASLib NB301 zero-cost readers (archbench.benchmarks.darts_naslib_zc)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from archbench.benchmarks import get_reader
from archbench.benchmarks.base import check_reader_frame
from archbench.errors import DataFormatError
from archbench.graphs.spaces.darts import format_arch, parse_arch

KEY = ("[[(0, 3), (1, 3), (0, 3), (1, 3), (1, 3), (0, 2), (0, 2), (2, 5)], "
       "[(0, 0), (1, 0), (2, 2), (1, 0), (0, 0), (2, 2), (2, 2), (1, 0)]]")


def test_725_layout_rows(synthetic, kit):
    reader = get_reader("nb301_naslib_zc")
    frame = reader.read(synthetic("nb301_naslib_zc"))
    check_reader_frame(frame, reader)
    assert len(frame) == kit.EXPECTED_ROWS["nb301_naslib_zc"]
    assert set(frame["space"]) == {"darts"} and set(frame["dataset"]) == {"cifar10"}
    # the compact keys become canonical Genotype strings
    assert format_arch(parse_arch(KEY)) in set(frame["arch"])
    assert all(a.startswith("Genotype(normal=[(") for a in frame["arch"])
    units = dict(zip(frame["metric"], frame["unit"]))
    assert units == {"valid_accuracy": "%", "zc_synflow": "score", "zc_synflow_time": "s", "zc_nwot": "score",
                     "zc_nwot_time": "s", "zc_params": "score", "zc_params_time": "s"}
    acc = frame[frame["metric"] == "valid_accuracy"]
    assert sorted(acc["value"]) == [93.0, 94.0] and set(acc["fidelity"]) == {100.0}
    assert frame[frame["metric"] != "valid_accuracy"]["fidelity"].isna().all()
    synflow = frame[(frame["metric"] == "zc_synflow") & (frame["arch"] == format_arch(parse_arch(KEY)))]
    assert synflow["value"].tolist() == [50.0]


def test_500_layout_rows(synthetic, kit):
    reader = get_reader("nb301_naslib_zc500")
    frame = reader.read(synthetic("nb301_naslib_zc500"))
    check_reader_frame(frame, reader)
    assert len(frame) == kit.EXPECTED_ROWS["nb301_naslib_zc500"]
    assert sorted(frame["metric"].unique()) == ["valid_accuracy", "zc_snip", "zc_synflow"]
    assert not frame["metric"].str.endswith("_time").any()


def _write(tmp_path, data, name="zc.json"):
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


@pytest.mark.parametrize(
    "data, fragment",
    [
        ("{not json", "could not parse it"),
        ({"nasbench201": {}}, "expected NASLib NB301 zero-cost data .*found top-level keys \\['nasbench201'\\]"),
        ({"cifar10": {}}, "holds no architectures"),
        ({"cifar10": {"[[(0, 9)]]": {"val_accuracy": 1.0}}}, "is not a NASLib compact DARTS encoding"),
        ({"cifar10": {KEY: {"synflow": 1.0}}}, "expected a record with 'val_accuracy'"),
        ({"cifar10": {KEY: {"val_accuracy": 90.0, "magic": 1.0}}}, "unknown zero-cost proxy 'magic'"),
        ({"cifar10": {KEY: {"val_accuracy": 90.0, "snip": {"time": 1.0}}}}, "must hold a 'score'"),
        ({"cifar10": {KEY: {"val_accuracy": "high"}}}, "val_accuracy: expected a finite number, found 'high'"),
        ({"cifar10": {KEY: {"val_accuracy": 90.0, "arch": "[[]]"}}}, "differs from its key"),
    ],
)
def test_malformed_files_raise(tmp_path, data, fragment):
    with pytest.raises(DataFormatError, match=fragment):
        get_reader("nb301_naslib_zc").read(_write(tmp_path, data))


def test_non_finite_score_raises(tmp_path):
    path = tmp_path / "zc.json"
    path.write_text('{"cifar10": {"%s": {"val_accuracy": 90.0, "snip": NaN}}}' % KEY)
    with pytest.raises(DataFormatError, match="snip: expected a finite number, found nan"):
        get_reader("nb301_naslib_zc").read(path)


def test_missing_file_says_where(tmp_path):
    with pytest.raises(DataFormatError, match="expected a NASLib NB301 zero-cost JSON file .* does not exist"):
        get_reader("nb301_naslib_zc").read(data_dir=tmp_path)


@pytest.mark.realdata
def test_real_files(shared_data):
    full = get_reader("nb301_naslib_zc").read(data_dir=shared_data)
    check_reader_frame(full, get_reader("nb301_naslib_zc"))
    assert full["arch"].nunique() == 725 and len(full) == 725 * 25  # accuracy + 12 proxies x (score, time)
    proxies = {m[3:] for m in full["metric"] if m.startswith("zc_") and not m.endswith("_time")}
    assert proxies == {"epe_nas", "fisher", "flops", "grad_norm", "grasp", "jacov", "l2_norm", "nwot", "params",
                       "plain", "snip", "synflow"}
    acc = full[full["metric"] == "valid_accuracy"]["value"]
    assert 85.0 < acc.min() and acc.max() < 96.0
    times = full[full["metric"].str.endswith("_time")]["value"]
    assert (times > 0).all() and times.max() < 60.0
    small = get_reader("nb301_naslib_zc500").read(data_dir=shared_data)
    assert small["arch"].nunique() == 500 and len(small) == 500 * 12
    # the two releases share 7 architectures, measured separately (values close, not equal)
    shared = set(full["arch"]) & set(small["arch"])
    assert len(shared) == 7
    a = full[full["arch"].isin(shared) & (full["metric"] == "valid_accuracy")].set_index("arch")["value"]
    b = small[small["arch"].isin(shared) & (small["metric"] == "valid_accuracy")].set_index("arch")["value"]
    assert np.allclose(a.sort_index(), b.sort_index(), atol=0.2)
    assert math.isclose(full[full["metric"] == "zc_params"]["value"].mean(), 0.9, rel_tol=0.2)
