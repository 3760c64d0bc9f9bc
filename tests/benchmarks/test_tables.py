"""The general architecture-table reader: strings or official indices plus metric columns."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from archbench.benchmarks.base import check_reader_frame
from archbench.benchmarks.tables import MetricColumn, read_arch_table
from archbench.errors import DataFormatError
from archbench.graphs.spaces.nb201 import format_arch_str, index_to_arch

ACC = {"acc": MetricColumn("test_accuracy", "cifar10", fidelity=200.0, bounds=(0.0, 100.0))}
S0, S1, S2 = (format_arch_str(index_to_arch(i)) for i in (0, 1, 2))


def _csv(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_strings_are_normalized_and_blank_values_dropped(tmp_path):
    path = _csv(tmp_path, f"arch,acc,lat\n {S0} ,91.5,3.0\n{S1},,4.5\n")
    frame = read_arch_table(path, arch_column="arch", source="mine", metrics={
        **ACC, "lat": MetricColumn("latency", "cifar10", device="raspi4", unit="ms")})
    check_reader_frame(frame)
    assert frame[["arch", "metric", "value"]].values.tolist() == [
        [S0, "test_accuracy", 91.5], [S0, "latency", 3.0], [S1, "latency", 4.5]]
    assert frame["device"].tolist() == [None, "raspi4", "raspi4"]
    assert (frame["source"] == "mine").all()


def test_index_column_maps_through_the_official_order(tmp_path):
    path = tmp_path / "t.parquet"
    pd.DataFrame({"idx": [2, 0], "acc": [50.0, np.nan]}).to_parquet(path)
    frame = read_arch_table(path, index_column="idx", metrics=ACC)
    assert frame["arch"].tolist() == [S2] and frame["value"].tolist() == [50.0]


def test_tuple_specs(tmp_path):
    path = _csv(tmp_path, f"arch,lat\n{S0},2.5\n")
    frame = read_arch_table(path, arch_column="arch", metrics={"lat": ("latency", "cifar10", None, "pixel3", "ms")})
    assert frame[["metric", "device", "unit", "value"]].values.tolist() == [["latency", "pixel3", "ms", 2.5]]


def test_tsv_and_seed(tmp_path):
    path = _csv(tmp_path, f"arch\tacc\n{S0}\t77\n", name="t.tsv")
    frame = read_arch_table(path, arch_column="arch", metrics={"acc": MetricColumn("test_accuracy", "cifar10", seed=777)})
    assert frame["seed"].tolist() == [777]


def test_malformed_arch_string_names_row_and_string(tmp_path):
    path = _csv(tmp_path, f"arch,acc\n{S0},1\n|nor_conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|,2\n")
    with pytest.raises(DataFormatError, match=r"nor_conv_5x5.*data row 2|data row 2.*nor_conv_5x5"):
        read_arch_table(path, arch_column="arch", metrics=ACC)


def test_blank_arch_names_row(tmp_path):
    path = _csv(tmp_path, f"arch,acc\n{S0},1\n,2\n")
    with pytest.raises(DataFormatError, match="blank at data row 2"):
        read_arch_table(path, arch_column="arch", metrics=ACC)


@pytest.mark.parametrize("bad, message", [("15625", "0..15624"), ("1.5", "integer index"), ("x", "finite numbers")])
def test_bad_index_names_row(tmp_path, bad, message):
    path = _csv(tmp_path, f"idx,acc\n0,1\n{bad},2\n")
    with pytest.raises(DataFormatError, match=message) as err:
        read_arch_table(path, index_column="idx", metrics=ACC)
    assert "data row 2" in str(err.value)


def test_index_and_string_must_agree(tmp_path):
    path = _csv(tmp_path, f"idx,arch,acc\n0,{S0},1\n2,{S1},2\n")
    with pytest.raises(DataFormatError, match="not the official nb201 index.*data row 2"):
        read_arch_table(path, index_column="idx", arch_column="arch", metrics=ACC)


def test_missing_column_lists_what_was_found(tmp_path):
    path = _csv(tmp_path, f"arch,accuracy\n{S0},1\n")
    with pytest.raises(DataFormatError, match=r"lacks column\(s\) \['acc'\]; found columns \['arch', 'accuracy'\]"):
        read_arch_table(path, arch_column="arch", metrics=ACC)


@pytest.mark.parametrize("cell, message", [("abc", "finite numbers, found 'abc'"), ("inf", "finite"), ("101", r"\[0.0, 100.0\]")])
def test_bad_metric_values_name_row(tmp_path, cell, message):
    path = _csv(tmp_path, f"arch,acc\n{S0},1\n{S1},{cell}\n")
    with pytest.raises(DataFormatError, match=message) as err:
        read_arch_table(path, arch_column="arch", metrics=ACC)
    assert "data row 2" in str(err.value)


def test_empty_header_only_and_unknown_suffix(tmp_path):
    with pytest.raises(DataFormatError, match="empty"):
        read_arch_table(_csv(tmp_path, ""), arch_column="arch", metrics=ACC)
    with pytest.raises(DataFormatError, match="no data rows"):
        read_arch_table(_csv(tmp_path, "arch,acc\n", name="h.csv"), arch_column="arch", metrics=ACC)
    with pytest.raises(DataFormatError, match="suffix '.xlsx'"):
        read_arch_table(_csv(tmp_path, "x", name="t.xlsx"), arch_column="arch", metrics=ACC)
    not_parquet = _csv(tmp_path, "arch,acc\n", name="fake.parquet")
    with pytest.raises(DataFormatError, match="Parquet"):
        read_arch_table(not_parquet, arch_column="arch", metrics=ACC)


def test_configuration_errors(tmp_path):
    path = _csv(tmp_path, f"arch,acc\n{S0},1\n")
    with pytest.raises(DataFormatError, match="arch_column .* or index_column"):
        read_arch_table(path, metrics=ACC)
    with pytest.raises(DataFormatError, match="at least one metric"):
        read_arch_table(path, arch_column="arch", metrics={})
    with pytest.raises(DataFormatError, match="no architecture table codec for space 'nb999'"):
        read_arch_table(path, arch_column="arch", metrics=ACC, space="nb999")
