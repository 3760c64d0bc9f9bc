"""The reader protocol, the registry, the row builder, and a conformance suite over every reader."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from archbench.benchmarks import READERS, BenchmarkReader, get_reader, list_readers
from archbench.benchmarks.base import check_reader_frame, concat_rows, metric_rows
from archbench.datasets.schema import READER_COLUMNS
from archbench.errors import DataFormatError, RegistryError
from archbench.graphs.spaces import list_spaces

ALL_READERS = list_readers()


def test_expected_readers_are_registered():
    assert {"nats_csv", "analognas", "help_latency", "hw_nas_bench_360", "brp_nas"} <= set(ALL_READERS)


def test_unknown_reader_lists_the_valid_names():
    with pytest.raises(RegistryError) as err:
        get_reader("nats_cvs")
    assert "nats_csv" in str(err.value) and "brp_nas" in str(err.value)


def test_duplicate_registration_raises():
    with pytest.raises(RegistryError, match="already registered"):
        READERS.register("nats_csv")(type("Dup", (BenchmarkReader,), {}))


def test_importing_the_package_loads_no_reader_module():
    code = ("import sys, archbench.benchmarks as b; "
            "print(sorted(m for m in sys.modules if m.startswith('archbench.benchmarks.')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "nats_csv" not in out and "analognas" not in out and "torch" not in out


def test_metric_rows_drops_missing_values_and_broadcasts():
    frame = metric_rows(source="s", space="nb201", arch=np.array(["a", "b", "c"], dtype=object), dataset="cifar10",
                        metric=np.array(["m1", "m2", "m3"], dtype=object), value=[1.0, np.nan, 3.0], unit="%",
                        fidelity=200, device=None)
    assert list(frame.columns) == list(READER_COLUMNS)
    assert frame["arch"].tolist() == ["a", "c"] and frame["metric"].tolist() == ["m1", "m3"]
    assert frame["fidelity"].tolist() == [200.0, 200.0]
    assert frame["device"].tolist() == [None, None]
    assert frame["seed"].isna().all() and str(frame["seed"].dtype) == "Int64"
    check_reader_frame(frame)


def test_metric_rows_seed_and_missing_fidelity():
    frame = metric_rows(source="s", space="nb201", arch=["a", "b"], dataset="d", metric="m", value=[1.0, 2.0],
                        unit="ms", device="raspi4", seed=[777, 888])
    assert frame["seed"].tolist() == [777, 888] and frame["fidelity"].isna().all()
    assert concat_rows([]).shape == (0, len(READER_COLUMNS))
    check_reader_frame(concat_rows([frame, frame]))


def test_check_reader_frame_catches_contract_violations():
    frame = metric_rows(source="s", space="nb201", arch=["a"], dataset="d", metric="m", value=[1.0], unit="%")
    bad = frame.copy()
    bad.loc[0, "value"] = np.nan
    with pytest.raises(AssertionError, match="NaN"):
        check_reader_frame(bad)
    with pytest.raises(AssertionError, match="columns"):
        check_reader_frame(frame.drop(columns=["unit"]))
    bad = frame.copy()
    bad.loc[0, "arch"] = 7
    with pytest.raises(AssertionError, match="'arch' holds non-strings"):
        check_reader_frame(bad)
    bad = frame.copy()
    bad.loc[0, "device"] = 3.5
    with pytest.raises(AssertionError, match="device holds non-strings"):
        check_reader_frame(bad)
    reader = get_reader("nats_csv")
    with pytest.raises(AssertionError, match="source is not 'nats_csv'"):
        check_reader_frame(frame, reader)


# --- conformance over every registered reader -------------------------------------------------------

@pytest.mark.parametrize("name", ALL_READERS)
def test_reader_class_attributes(name):
    reader = get_reader(name)
    assert reader.name == name
    assert reader.space in list_spaces()
    assert reader.description and "\n" not in reader.description
    assert reader.provides and len(set(reader.provides)) == len(reader.provides)
    assert reader.default_relpath is None or not reader.default_relpath.startswith("/")


@pytest.mark.parametrize("name", ALL_READERS)
def test_reader_conformance_on_synthetic_input(name, synthetic, kit):
    reader = get_reader(name)
    frame = reader.read(path=synthetic(name))
    check_reader_frame(frame, reader)            # columns, dtypes, no NaN, source, provides
    assert len(frame) == kit.EXPECTED_ROWS[name]
    assert frame.index.equals(pd.RangeIndex(len(frame)))


@pytest.mark.parametrize("name", ALL_READERS)
def test_reader_locates_through_data_dir(name, synthetic, tmp_path):
    reader = get_reader(name)
    if reader.default_relpath is None:
        pytest.skip(f"{name} reads package data; data_dir does not apply")
    src = synthetic(name)
    target = tmp_path / "data" / reader.default_relpath
    target.parent.mkdir(parents=True)
    src.rename(target)
    assert reader.locate(data_dir=tmp_path / "data") == target
    assert len(reader.read(data_dir=tmp_path / "data")) > 0


@pytest.mark.parametrize("name", ALL_READERS)
def test_missing_file_says_what_was_expected_where(name, tmp_path):
    reader = get_reader(name)
    with pytest.raises(DataFormatError) as err:
        reader.read(path=tmp_path / "nothing_here.bin")
    assert "nothing_here.bin" in str(err.value) and name in str(err.value) and "does not exist" in str(err.value)


@pytest.mark.parametrize("name", ALL_READERS)
def test_wrong_file_is_a_data_format_error(name, synthetic):
    # Hand each reader every other reader's input: it must refuse. Readers sharing one _read
    # read the same format (two files of one benchmark) and are not each other's wrong file;
    # readers without a synthetic input are reported by the conformance test above.
    same_format = type(get_reader(name))._read
    others = [n for n in ALL_READERS
              if n in synthetic.names and type(get_reader(n))._read is not same_format]
    for other in others:
        with pytest.raises(DataFormatError):
            get_reader(name).read(path=synthetic(other))


@pytest.mark.parametrize("name", ALL_READERS)
def test_empty_file_is_a_data_format_error(name, tmp_path):
    suffix = {"nats_csv": ".csv", "hw_nas_bench_360": ".parquet", "help_latency": ".pt"}.get(name, ".pkl")
    path = tmp_path / f"empty{suffix}"
    path.write_bytes(b"")
    with pytest.raises(DataFormatError):
        get_reader(name).read(path=path)


@pytest.mark.parametrize("name", ALL_READERS)
def test_reader_rows_name_network_configs_of_their_space(name, synthetic):
    # The build puts every row on the graphs of the network config it was measured on.
    from archbench.datasets.build import row_configs
    from archbench.graphs.spaces import get_space

    reader = get_reader(name)
    space = get_space(reader.space)
    assert reader.config is None or reader.config in space.configs
    assert reader.config_column is None or (reader.config is None and reader.config_column in READER_COLUMNS)
    assert set(row_configs(reader, space, reader.read(path=synthetic(name)))) <= set(space.configs)
