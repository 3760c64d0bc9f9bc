"""SpikeNAS-Bench reader: a synthetic log table, malformed tables, and the real parquet."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from archbench.benchmarks import get_reader
from archbench.benchmarks.base import check_reader_frame
from archbench.benchmarks.spikenas import FIRING_RATES
from archbench.errors import DataFormatError
from archbench.graphs.spaces import get_space
from archbench.graphs.spaces.spikenas import id_to_arch

READER = get_reader("spikenas")
SPACE = get_space("spikenas")


def test_scalars_firing_rates_and_curves(synthetic):
    frame = READER.read(path=synthetic("spikenas"))
    best = frame[frame["arch"] == SPACE.format(id_to_arch(15624))].set_index("metric")
    assert best.loc["test_accuracy", "value"] == 88.5 and best.loc["test_accuracy", "fidelity"] == 3.0
    assert best.loc["params", "value"] == 21_607_908 and np.isnan(best.loc["params", "fidelity"])
    assert best.loc["train_time", "unit"] == "s"
    curve = frame[(frame["arch"] == SPACE.format(id_to_arch(15624))) & (frame["metric"] == "valid_accuracy")]
    assert curve["fidelity"].tolist() == [1.0, 2.0, 3.0] and curve["value"].tolist() == [55.0, 65.0, 75.0]
    # arch 0 has no spiking edge: its 12 edge rates (-1 in the file) are dropped
    empty = frame[frame["arch"] == SPACE.format(id_to_arch(0))]
    assert sorted(m for m in empty["metric"] if m.startswith("firing_rate")) == sorted(FIRING_RATES[12:])
    tiny = frame[frame["dataset"] == "tinyimagenet"]
    assert {"test_top5_accuracy", "train_top5_accuracy", "valid_top5_accuracy"} <= set(tiny["metric"])
    assert "test_top5_accuracy" not in set(frame[frame["dataset"] == "cifar10"]["metric"])
    assert set(frame["dataset"]) == {"cifar10", "tinyimagenet"}
    assert set(frame[frame["metric"].str.endswith("loss")]["unit"]) == {"nats"}


def test_firing_rate_names_follow_the_monitored_modules():
    assert len(FIRING_RATES) == 16
    assert FIRING_RATES[:3] == ("firing_rate_cell1_edge01", "firing_rate_cell1_edge02", "firing_rate_cell1_edge12")
    assert FIRING_RATES[-1] == "firing_rate"


def _table(tmp_path, frame: pd.DataFrame):
    path = tmp_path / "t.parquet"
    frame.to_parquet(path, index=False)
    return path


def test_malformed_tables(tmp_path, synthetic):
    good = pd.read_parquet(synthetic("spikenas"))
    with pytest.raises(DataFormatError, match=r"lacks column\(s\) \['firing_rates'\]"):
        READER.read(path=_table(tmp_path, good.drop(columns=["firing_rates"])))
    with pytest.raises(DataFormatError, match=r"unknown dataset\(s\) \['MNIST'\]"):
        READER.read(path=_table(tmp_path, good.assign(dataset=["MNIST", "CIFAR10", "CIFAR10"])))
    with pytest.raises(DataFormatError, match=r"arch_id must be an integer in 0\.\.15624"):
        READER.read(path=_table(tmp_path, good.assign(arch_id=[0, 1, 15_625])))
    bad_rates = good.copy()
    bad_rates["firing_rates"] = [[0.1] * 15] * 3
    with pytest.raises(DataFormatError, match="row 0 has 15 values, expected 16"):
        READER.read(path=_table(tmp_path, bad_rates))
    text = tmp_path / "x.parquet"
    text.write_text("not parquet")
    with pytest.raises(DataFormatError, match="could not read it as Parquet"):
        READER.read(path=text)


@pytest.mark.realdata
def test_real_table_sample(shared_data, tmp_path):
    # The real file's first 600 rows, rewritten unchanged (the full read takes ~15 s; see the slow test).
    path = shared_data / READER.default_relpath
    head = pq.read_table(path).slice(0, 600)
    pq.write_table(head, tmp_path / "head.parquet")
    frame = READER.read(path=tmp_path / "head.parquet")
    check_reader_frame(frame, READER)
    raw = head.to_pandas()
    row = raw.iloc[123]
    arch = SPACE.format(id_to_arch(int(row["arch_id"])))
    mine = frame[(frame["arch"] == arch) & (frame["dataset"] == "cifar10")]
    assert mine[mine["metric"] == "test_accuracy"]["value"].item() == row["test_acc"]
    assert mine[mine["metric"] == "params"]["value"].item() == SPACE.build_cg(arch).params
    curve = mine[mine["metric"] == "train_loss"]
    assert len(curve) == row["n_epochs"] and np.allclose(curve["value"], row["train_loss"])


@pytest.mark.realdata
@pytest.mark.slow
def test_real_table_full(shared_data):
    frame = READER.read(data_dir=shared_data)
    assert frame["arch"].nunique() == 15_625
    counts = frame.groupby(["dataset", "metric"]).size()
    assert counts[("cifar10", "test_accuracy")] == 15_625 and counts[("cifar100", "params")] == 276
    assert counts[("cifar10", "valid_accuracy")] == 14_935 * 100 + 690 * 200
