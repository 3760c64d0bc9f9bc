"""NATS-Bench tss CIFAR-10 CSV reader: synthetic file in the published layout, and the real file."""
from __future__ import annotations


import pytest

from archbench.benchmarks import get_reader
from archbench.benchmarks.base import check_reader_frame
from archbench.errors import DataFormatError
from archbench.graphs.spaces.nb201 import format_arch_str, index_to_arch

HEADER = "nb201_index,arch_str,cifar10_test_acc_200ep,cifar10_test_acc_12ep"


def test_synthetic_rows(synthetic, kit):
    frame = get_reader("nats_csv").read(path=synthetic("nats_csv"))
    got = {(a, f): v for a, f, v in frame[["arch", "fidelity", "value"]].itertuples(index=False)}
    s0, s1, s7 = kit.STRINGS[:3]
    assert got == {(s0, 200.0): 85.5, (s0, 12.0): 69.5, (s1, 200.0): 93.25, (s7, 200.0): 10.0, (s7, 12.0): 10.0}
    assert set(frame["metric"]) == {"test_accuracy"} and set(frame["unit"]) == {"%"}
    assert set(frame["dataset"]) == {"cifar10"} and frame["device"].isna().all()


def test_index_not_matching_string_is_refused(tmp_path):
    path = tmp_path / "nats.csv"
    path.write_text(f"{HEADER}\n1,{format_arch_str(index_to_arch(0))},90,80\n")
    with pytest.raises(DataFormatError, match="not the official nb201 index"):
        get_reader("nats_csv").read(path=path)


def test_missing_column_and_fraction_accuracies(tmp_path):
    s = format_arch_str(index_to_arch(0))
    path = tmp_path / "nats.csv"
    path.write_text(f"nb201_index,arch_str,cifar10_test_acc_200ep\n0,{s},90\n")
    with pytest.raises(DataFormatError, match="cifar10_test_acc_12ep"):
        get_reader("nats_csv").read(path=path)
    path.write_text(f"{HEADER}\n0,{s},0.9,140\n")  # 140 % cannot be an accuracy
    with pytest.raises(DataFormatError, match=r"\[0.0, 100.0\]"):
        get_reader("nats_csv").read(path=path)


def test_all_values_blank_is_an_error(tmp_path):
    path = tmp_path / "nats.csv"
    path.write_text(f"{HEADER}\n0,{format_arch_str(index_to_arch(0))},,\n")
    with pytest.raises(DataFormatError, match="no usable rows"):
        get_reader("nats_csv").read(path=path)


@pytest.mark.realdata
def test_real_file(shared_data):
    reader = get_reader("nats_csv")
    frame = reader.read(data_dir=shared_data)
    check_reader_frame(frame, reader)
    assert len(frame) == 2 * reader.num_archs == 31_250
    assert frame["arch"].nunique() == reader.num_archs
    best = frame[frame["fidelity"] == 200.0]["value"].max()
    assert best == pytest.approx(94.3733, abs=1e-3)  # MANIFEST: max 94.37
