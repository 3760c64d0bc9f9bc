"""HW-NAS-Bench-360 reader: a tiny Parquet file in the published schema, bad inputs, the real file."""
from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from archbench.benchmarks import get_reader
from archbench.benchmarks.base import check_reader_frame
from archbench.errors import DataFormatError
from archbench.graphs.spaces.nb201 import index_to_arch, iso_representative


def _write(tmp_path, frame: pd.DataFrame):
    path = tmp_path / "hw360.parquet"
    frame.to_parquet(path, index=False)
    return path


def test_synthetic_rows(synthetic, kit):
    frame = get_reader("hw_nas_bench_360").read(path=synthetic("hw_nas_bench_360"))
    s0, s1 = kit.STRINGS[:2]
    lat = frame[frame["metric"] == "latency"]
    assert set(lat["device"]) == {"raspberry_pi5_onnx", "pixel6a_litert"} and set(lat["unit"]) == {"ms"}
    assert set(lat["dataset"]) == {"cifar100", "ninapro", "darcy"} and lat["fidelity"].isna().all()
    assert set(lat.loc[lat["arch"] == s1, "value"]) == {2.0}
    energy = frame[frame["metric"] == "energy"]
    assert set(energy["device"]) == {"raspberry_pi5_onnx"} and set(energy["unit"]) == {"mJ"}  # Pixel: no energy
    assert set(frame.loc[frame["metric"] == "latency_var", "unit"]) == {"ms^2"}
    scores = frame[frame["metric"].isin(["test_accuracy", "test_score"])]
    got = {(a, d, m, u): v for a, d, m, u, v in scores[["arch", "dataset", "metric", "unit", "value"]].itertuples(index=False)}
    assert got == {(s0, "ninapro", "test_accuracy", "%"): 90.0, (s1, "ninapro", "test_accuracy", "%"): 91.0,
                   (s0, "darcy", "test_score", "1"): 0.9, (s1, "darcy", "test_score", "1"): 0.9}
    assert scores["device"].isna().all() and (scores["fidelity"] == 200.0).all()


def test_rows_with_failed_status_are_skipped(tmp_path, kit):
    frame = kit.hw360_frame()
    frame.loc[frame["device"] == "pixel", "status"] = "timeout"
    out = get_reader("hw_nas_bench_360").read(path=_write(tmp_path, frame))
    assert "pixel6a_litert" not in set(out["device"].dropna())


@pytest.mark.parametrize("change, message", [
    (lambda f: f.drop(columns=["energy_mj"]), r"lacks column\(s\) \['energy_mj'\]"),
    (lambda f: f.assign(device="tpu"), r"unknown device\(s\) \['tpu'\]"),
    (lambda f: f.assign(task="imagenet"), r"unknown task\(s\) \['imagenet'\]"),
    (lambda f: f.assign(arch_idx=15625), "0..15624"),
    (lambda f: f.assign(lat_ms_median=-1.0), "non-negative"),
    (lambda f: f.assign(accuracy=np.arange(len(f), dtype=float)), "must not depend on the device"),
    (lambda f: f.iloc[:0], "no rows"),
])
def test_bad_tables(tmp_path, kit, change, message):
    with pytest.raises(DataFormatError, match=message):
        get_reader("hw_nas_bench_360").read(path=_write(tmp_path, change(kit.hw360_frame())))


def test_not_a_parquet_file(tmp_path):
    path = tmp_path / "hw360.parquet"
    path.write_bytes(b"PAR1 this is not really parquet")
    with pytest.raises(DataFormatError, match="Parquet"):
        get_reader("hw_nas_bench_360").read(path=path)


@pytest.mark.realdata
def test_real_file(shared_data):
    reader = get_reader("hw_nas_bench_360")
    frame = reader.read(data_dir=shared_data)
    check_reader_frame(frame, reader)
    counts = frame.groupby("metric").size().to_dict()
    # 187,500 rows = 15,625 cells x 4 device settings x 3 tasks; var/energy on the 3 Pi 5 runtimes;
    # CIFAR-100 accuracy blanked in this copy, so only NinaPro and Darcy scores remain.
    assert counts == {"latency": 187_500, "latency_var": 140_625, "energy": 140_625,
                      "test_accuracy": 15_625, "test_score": 15_625}
    assert frame["arch"].nunique() == reader.num_archs
    assert set(frame.loc[frame["metric"] == "test_accuracy", "dataset"]) == {"ninapro"}

    # arch_idx is the official index: the file's own isomorphism representatives agree with ours.
    raw = pd.read_parquet(shared_data / reader.default_relpath, columns=["arch_idx", "rep_arch_idx"]).drop_duplicates()
    reps = np.array([iso_representative(index_to_arch(int(i))) for i in raw["arch_idx"]])
    assert len(raw) == 15_625 and (reps == raw["rep_arch_idx"].to_numpy()).all()

    # Darcy "accuracy" rises with CIFAR-10 accuracy: a higher-is-better score, not an error.
    nats = get_reader("nats_csv").read(data_dir=shared_data)
    nats = nats[nats["fidelity"] == 200.0].set_index("arch")["value"]
    darcy = frame[frame["metric"] == "test_score"].set_index("arch")["value"]
    rho_darcy = spearmanr(darcy, nats.loc[darcy.index]).statistic
    # Pi 5 latency ranks cells like HELP's Raspberry Pi 4 latency (fails on a wrong index order).
    help_pi4 = get_reader("help_latency").read(path=shared_data / "nb201" / "help_latency" / "raspi4.pt").set_index("arch")["value"]
    pi5 = frame[(frame["metric"] == "latency") & (frame["device"] == "raspberry_pi5_litert")
                & (frame["dataset"] == "cifar100")].set_index("arch")["value"]
    rho_pi = spearmanr(pi5, help_pi4.loc[pi5.index]).statistic
    print(f"\nHW-NAS-Bench-360: Darcy score vs CIFAR-10 accuracy Spearman {rho_darcy:.3f}; "
          f"Pi 5 LiteRT vs HELP raspi4 latency Spearman {rho_pi:.3f}")
    assert rho_darcy > 0.3
    assert rho_pi > 0.8
