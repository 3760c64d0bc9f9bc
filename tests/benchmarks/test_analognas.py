"""AnalogNAS-Bench reader: synthetic data.anb-shaped pickles, bad inputs, and the real package file."""
from __future__ import annotations

import importlib.util
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import spearmanr

from archbench.benchmarks import get_reader
from archbench.benchmarks.analognas import ANALOGNAS_OPS, DRIFT_FIELDS, SCALAR_FIELDS
from archbench.benchmarks.base import check_reader_frame
from archbench.errors import DataFormatError, UnsafePickleError


def _read(tmp_path, data: bytes):
    path = tmp_path / "data.anb"
    path.write_bytes(data)
    return get_reader("analognas").read(path=path)


def test_code_tuple_maps_to_official_string(tmp_path, kit):
    # AnalogNAS tuple order: 0->1, 0->2, 0->3, 1->2, 1->3, 2->3; codes 0 skip 1 none 2 c3 3 c1 4 pool.
    frame = _read(tmp_path, kit.analognas_pickle({(0, 1, 3, 4, 0, 1): kit.analognas_fields(70.0)}))
    assert set(frame["arch"]) == {"|skip_connect~0|+|none~0|avg_pool_3x3~1|+|nor_conv_1x1~0|skip_connect~1|none~2|"}


def test_metrics_fidelity_and_dropped_values(synthetic):
    frame = get_reader("analognas").read(path=synthetic("analognas"))
    conv = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    rows = frame[frame["arch"] == conv].set_index("metric")
    assert len(rows) == 21
    assert rows.loc["test_accuracy", "value"] == 90.0 and rows.loc["test_accuracy", "fidelity"] == 200.0
    assert rows.loc["ptq_accuracy", "value"] == 89.0 and np.isnan(rows.loc["ptq_accuracy", "fidelity"])
    assert rows.loc["analog_drift_accuracy_2592000s", "value"] == 85.0
    assert rows.loc["baseline_drift_accuracy_60s_std", "value"] == 0.5
    other = frame[frame["arch"] != conv]["metric"]
    assert "ptq_accuracy" not in set(other)                     # NaN in the file: dropped
    assert "analog_drift_accuracy_60s" not in set(other) and "analog_drift_accuracy_60s_std" not in set(other)
    assert set(frame["dataset"]) == {"cifar10"} and set(frame["unit"]) == {"%"}


def test_provides_names_every_field():
    reader = get_reader("analognas")
    assert len(reader.provides) == len(SCALAR_FIELDS) + 2 * len(DRIFT_FIELDS) == 21
    assert "baseline_drift_accuracy_60s" in reader.provides and "analog_drift_accuracy_2592000s_std" in reader.provides
    assert sorted(ANALOGNAS_OPS) == [0, 1, 2, 3, 4]


class _Evil:
    def __init__(self, sentinel):
        self.sentinel = str(sentinel)

    def __reduce__(self):
        return (os.system, (f"touch {self.sentinel}",))


def test_malicious_pickle_is_refused(tmp_path):
    sentinel = tmp_path / "pwned"
    with pytest.raises(UnsafePickleError, match=r"os\.system|posix\.system") as err:
        _read(tmp_path, pickle.dumps({(0,) * 6: _Evil(sentinel)}, protocol=4))
    assert "analognasbench.data.Architecture" in str(err.value)
    assert not sentinel.exists()


def test_truncated_pickle(tmp_path, kit):
    data = kit.analognas_pickle({(2,) * 6: kit.analognas_fields(90.0), (3,) * 6: kit.analognas_fields(80.0)})
    with pytest.raises(DataFormatError, match="truncated|corrupt|ends early"):
        _read(tmp_path, data[: len(data) // 2])


@pytest.mark.parametrize("entries, message", [
    ({(0, 1, 2): None}, r"6-tuples of op codes"),
    ({(0, 1, 2, 3, 4, 5): None}, r"6-tuples of op codes"),
])
def test_bad_keys(tmp_path, entries, message):
    with pytest.raises(DataFormatError, match=message):
        _read(tmp_path, pickle.dumps(entries, protocol=4))


def test_bad_records(tmp_path, kit):
    fields = kit.analognas_fields(90.0)
    del fields["qat_accuracy"]
    with pytest.raises(DataFormatError, match=r"lacks fields \['qat_accuracy'\]"):
        _read(tmp_path, kit.analognas_pickle({(2,) * 6: fields}))
    fields = kit.analognas_fields(90.0)
    fields["noisy_accuracy"] = "91.0"
    with pytest.raises(DataFormatError, match="noisy_accuracy should be a number, found str"):
        _read(tmp_path, kit.analognas_pickle({(2,) * 6: fields}))
    fields = kit.analognas_fields(90.0)
    fields["architecture"] = (3,) * 6
    with pytest.raises(DataFormatError, match=r"holds the record of architecture \(3, 3, 3, 3, 3, 3\)"):
        _read(tmp_path, kit.analognas_pickle({(2,) * 6: fields}))
    with pytest.raises(DataFormatError, match="found a pickled list"):
        _read(tmp_path, pickle.dumps([1, 2], protocol=4))
    with pytest.raises(DataFormatError, match="should be an analognasbench.data.Architecture, found int"):
        _read(tmp_path, pickle.dumps({(2,) * 6: 1}, protocol=4))


def test_missing_package_is_explained(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(DataFormatError, match="pip install analog-nasbench"):
        get_reader("analognas").locate()


@pytest.mark.package_data
def test_package_file_is_read_without_importing_the_package():
    if importlib.util.find_spec("analognasbench") is None:
        pytest.skip("analog-nasbench is not installed")
    code = ("import sys; from archbench.benchmarks import get_reader; df = get_reader('analognas').read(); "
            "print(len(df), 'analognasbench' in sys.modules, 'pkg_resources' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["328125", "False", "False"]


@pytest.mark.package_data
@pytest.mark.realdata
def test_mapping_matches_nats_bench_on_real_data(shared_data):
    """The op-code/edge table is right iff the baseline accuracy ranks cells like NATS-Bench does."""
    if importlib.util.find_spec("analognasbench") is None:
        pytest.skip("analog-nasbench is not installed")
    reader = get_reader("analognas")
    frame = reader.read()
    check_reader_frame(frame, reader)
    assert frame["arch"].nunique() == reader.num_archs == 15_625
    assert len(frame) == 21 * 15_625
    ours = frame[frame["metric"] == "test_accuracy"].set_index("arch")["value"]
    nats = get_reader("nats_csv").read(data_dir=shared_data)
    nats = nats[nats["fidelity"] == 200.0].set_index("arch")["value"]
    assert set(ours.index) == set(nats.index)
    rho = spearmanr(ours, nats.loc[ours.index]).statistic
    assert rho > 0.98
