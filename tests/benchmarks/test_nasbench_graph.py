"""NAS-Bench-Graph reader: synthetic .bench pickles, unsafe and malformed inputs, and the package's files."""
from __future__ import annotations

import importlib.util
import math
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest

from archbench.benchmarks import get_reader
from archbench.benchmarks.base import check_reader_frame
from archbench.benchmarks.nasbench_graph import DEVICE
from archbench.errors import DataFormatError, UnsafePickleError
from archbench.graphs.spaces import get_space
from archbench.graphs.spaces.nasbench_graph import all_archs, benchmark_key

READER = get_reader("nasbench_graph")
SPACE = get_space("nasbench_graph")


def _write(folder, dataset: str, data) -> "os.PathLike":
    path = folder / f"{dataset}.bench"
    path.write_bytes(pickle.dumps(data, protocol=3))
    return path


def test_values_units_and_metric_names(synthetic):
    frame = READER.read(path=synthetic("nasbench_graph"))
    first = SPACE.format(all_archs()[0])
    rows = frame[(frame["dataset"] == "cora") & (frame["arch"] == first)].set_index("metric")
    # accuracy fraction -> percent, latency s -> ms (NaN dropped), para millions -> count
    assert rows.loc["valid_accuracy", "value"] == pytest.approx(70.0) and rows.loc["valid_accuracy", "unit"] == "%"
    assert rows.loc["test_accuracy", "value"] == pytest.approx(71.0)
    assert "latency" not in rows.index
    assert rows.loc["params", "value"] == 1.5e6 and rows.loc["params", "unit"] == "1"
    lat = frame[frame["metric"] == "latency"]
    assert set(lat["device"]) == {DEVICE} and set(lat["unit"]) == {"ms"} and lat["value"].iloc[0] == pytest.approx(5.0)
    prot = frame[frame["dataset"] == "proteins"]
    assert set(prot["metric"]) == {"valid_roc_auc", "test_roc_auc", "latency", "params"}
    assert prot[prot["metric"] == "test_roc_auc"]["value"].max() == pytest.approx(0.74)  # ROC-AUC stays a fraction
    assert frame["fidelity"].isna().all() and frame["seed"].isna().all()


def test_keys_map_to_canonical_architectures(tmp_path):
    arch = SPACE.parse("link=0,1,2,3;ops=skip,gcn,gat,fc")
    path = _write(tmp_path, "pubmed", {benchmark_key(arch): {"valid_perf": 0.5, "perf": 0.5, "latency": 0.1, "para": 0.1}})
    frame = READER.read(path=path)
    assert set(frame["arch"]) == {SPACE.format(arch)} and SPACE.representative(arch) == arch


def test_single_file_and_folder(synthetic):
    light = synthetic("nasbench_graph")
    assert len(READER.read(path=light / "proteins.bench")) == 2 * 4
    assert len(READER.read(path=light)) == 19


@pytest.mark.parametrize("data, msg", [
    ({99_999: {"valid_perf": 0.5, "perf": 0.5, "latency": 0.1, "para": 0.1}}, "99999 is no NAS-Bench-Graph architecture key"),
    ({0: {"valid_perf": 0.5, "perf": 0.5}}, r"entry 0 must be a dict with \['valid_perf', 'perf', 'latency', 'para'\]"),
    ({0: {"valid_perf": "high", "perf": 0.5, "latency": 0.1, "para": 0.1}}, "entry 0.valid_perf should be a number, found str"),
    ([1, 2], "expected a non-empty dict"),
])
def test_malformed_files(tmp_path, data, msg):
    with pytest.raises(DataFormatError, match=msg):
        READER.read(path=_write(tmp_path, "cora", data))


def test_file_name_must_be_a_dataset(tmp_path):
    with pytest.raises(DataFormatError, match="<dataset>.bench with a NAS-Bench-Graph dataset"):
        READER.read(path=_write(tmp_path, "imdb", {}))
    empty = tmp_path / "folder"
    empty.mkdir()
    with pytest.raises(DataFormatError, match=r"found no \*.bench file"):
        READER.read(path=empty)


class _Evil:
    def __init__(self, sentinel):
        self.sentinel = str(sentinel)

    def __reduce__(self):
        return (os.system, (f"touch {self.sentinel}",))


def test_unsafe_pickle_is_refused_without_executing(tmp_path):
    sentinel = tmp_path / "pwned"
    path = _write(tmp_path, "cora", {0: {"valid_perf": _Evil(sentinel), "perf": 0.5, "latency": 0.1, "para": 0.1}})
    with pytest.raises(UnsafePickleError, match="refused to load global"):
        READER.read(path=path)
    assert not sentinel.exists()


def test_missing_package_is_explained(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(DataFormatError, match="pip install nas-bench-graph"):
        READER.locate()


@pytest.mark.package_data
def test_package_files_are_read_without_importing_the_package():
    if importlib.util.find_spec("nas_bench_graph") is None:
        pytest.skip("nas-bench-graph is not installed")
    code = ("import sys; from archbench.benchmarks import get_reader; df = get_reader('nasbench_graph').read(); "
            "print(len(df), df['arch'].nunique(), 'nas_bench_graph' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    # 8 datasets x 26,206 + proteins 2,021, each with 4 metrics; nothing missing
    assert out == [str(4 * (8 * 26_206 + 2_021)), "26206", "False"]


@pytest.mark.package_data
def test_package_values_match_the_raw_pickles():
    if importlib.util.find_spec("nas_bench_graph") is None:
        pytest.skip("nas-bench-graph is not installed")
    from archbench.benchmarks.unpickle import NUMPY_SCALAR_GLOBALS, restricted_load

    light = READER.locate()
    frame = READER.read(path=light / "cora.bench")
    check_reader_frame(frame, READER)
    raw = restricted_load(light / "cora.bench", NUMPY_SCALAR_GLOBALS)
    first = SPACE.format(all_archs()[0])  # key 0: four GATs on the input
    rows = frame[frame["arch"] == first].set_index("metric")["value"]
    assert rows["test_accuracy"] == pytest.approx(raw[0]["perf"] * 100) and rows["params"] == pytest.approx(1_736_711)
    # the benchmark's best cora architecture by validation accuracy, as a sanity check of the ranking
    valid = frame[frame["metric"] == "valid_accuracy"]
    assert 80 < valid["value"].max() < 90 and math.isclose(len(valid), 26_206)
    assert np.isfinite(frame["value"]).all()
