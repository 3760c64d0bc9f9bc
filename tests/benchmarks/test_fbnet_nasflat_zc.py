"""Tests of nasflat's FBNet zero-cost reader (archbench.benchmarks.fbnet_nasflat_zc)."""
from __future__ import annotations

import json

import pytest

from archbench.benchmarks import get_reader
from archbench.benchmarks.base import check_reader_frame
from archbench.errors import DataFormatError
from archbench.graphs.spaces.fbnet import format_arch


def test_rows(synthetic, kit):
    reader = get_reader("fbnet_nasflat_zc")
    frame = reader.read(synthetic("fbnet_nasflat_zc"))
    check_reader_frame(frame, reader)
    assert len(frame) == kit.EXPECTED_ROWS["fbnet_nasflat_zc"]
    assert set(frame["metric"]) == {"zc_params", "zc_synflow", "zc_zen"} and set(frame["unit"]) == {"score"}
    params = frame[frame["metric"] == "zc_params"]
    assert dict(zip(params["arch"], params["value"]))[format_arch((0,) * 22)] == 2447973.0
    assert set(frame["dataset"]) == {"cifar100"} and frame["device"].isna().all()


@pytest.mark.parametrize(
    "data, fragment",
    [
        ("[oops", "could not parse it"),
        ([], "expected {'op_op_..._op'"),
        ({"cifar10": {"zen": 1.0}}, "'_'-joined op indices"),
        ({"_".join(["9"] * 22): {"zen": 1.0}}, "op index in 0..8"),
        ({"_".join(["1"] * 22): {"magic": 1.0}}, "unknown zero-cost proxy 'magic'"),
        ({"_".join(["1"] * 22): {"zen": "x"}}, "zen must be a finite number"),
        ({"_".join(["1"] * 22): [1.0]}, "expected {proxy: score}"),
    ],
)
def test_errors(tmp_path, data, fragment):
    path = tmp_path / "zc_fbnet.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    with pytest.raises(DataFormatError, match=fragment):
        get_reader("fbnet_nasflat_zc").read(path)


@pytest.mark.realdata
def test_real_file(shared_data):
    reader = get_reader("fbnet_nasflat_zc")
    frame = reader.read(data_dir=shared_data)
    check_reader_frame(frame, reader)
    assert len(frame) == 5000 * 13 and frame["arch"].nunique() == 5000
    # the same 5,000 networks as HELP's latency file
    help_archs = set(get_reader("fbnet_help_latency").read(shared_data / "fbnet" / "help_latency" / "eyeriss.pt")["arch"])
    assert set(frame["arch"]) == help_archs
