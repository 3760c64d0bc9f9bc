"""SpikeNAS-Bench: trained spiking cells on CIFAR-10 (all 15,625), CIFAR-100 and Tiny-ImageNet (subsets).

File: ``spikenas_bench_logs.parquet``, one row per (``dataset``, ``arch_id``): ``params``,
``test_acc`` and ``test_top5`` (percent, after ``n_epochs``; top-5 only for Tiny-ImageNet),
``elapsed_s`` (training time), ``firing_rates`` (16 values measured on the test set after
training: the LIF neurons of the 6 edges of cell 1 and of cell 2 in cell order, ``downconv1``,
``last_act``, the classifier, then the whole network; -1 where the edge has no neuron), and the
per-epoch lists ``train_acc``, ``train_loss``, ``val_acc``, ``val_loss`` (+ ``train_top5``,
``val_top5``). Tabulated from the train_process.txt logs of tju-sun-lab/SpikeNAS-Bench
(no licence file); ``arch_id`` is the benchmark's (base-5 edge codes, see
:mod:`archbench.graphs.spaces.spikenas`).

Rows: ``params``; ``test_accuracy``, ``test_top5_accuracy``, ``train_time`` (s) and the
``firing_rate_*`` metrics at fidelity ``n_epochs``; per-epoch ``train_accuracy``,
``train_loss``, ``valid_accuracy``, ``valid_loss``, ``train_top5_accuracy``,
``valid_top5_accuracy`` at fidelity = epoch (1-based). Losses are cross-entropy in nats.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from archbench.errors import DataFormatError, EncodingError
from archbench.graphs.spaces.spikenas import EDGES, NUM_ARCHS, format_arch_str, id_to_arch

from .base import DIMENSIONLESS, PERCENT, READERS, BenchmarkReader, concat_rows, metric_rows, require_columns

NATS, SECONDS = "nats", "s"
#: The file's dataset names -> the spikenas network configs.
DATASETS: dict[str, str] = {"CIFAR10": "cifar10", "CIFAR100": "cifar100", "TinyImagenet": "tinyimagenet"}
#: Metric of each firing-rate position (the benchmark's monitored modules, then the network average).
FIRING_RATES: tuple[str, ...] = (
    tuple(f"firing_rate_cell{c}_edge{s}{t}" for c in (1, 2) for s, t in EDGES)
    + ("firing_rate_downconv", "firing_rate_last_act", "firing_rate_classifier", "firing_rate")
)
#: Per-epoch list column -> (metric, unit).
CURVES: dict[str, tuple[str, str]] = {
    "train_acc": ("train_accuracy", PERCENT), "train_loss": ("train_loss", NATS),
    "val_acc": ("valid_accuracy", PERCENT), "val_loss": ("valid_loss", NATS),
    "train_top5": ("train_top5_accuracy", PERCENT), "val_top5": ("valid_top5_accuracy", PERCENT),
}
#: Scalar column -> (metric, unit, at fidelity n_epochs?).
SCALARS: dict[str, tuple[str, str, bool]] = {
    "params": ("params", DIMENSIONLESS, False), "test_acc": ("test_accuracy", PERCENT, True),
    "test_top5": ("test_top5_accuracy", PERCENT, True), "elapsed_s": ("train_time", SECONDS, True),
}
_COLUMNS = ("dataset", "arch_id", "n_epochs", "firing_rates", *SCALARS, *CURVES)


@READERS.register("spikenas")
class SpikeNASReader(BenchmarkReader):
    """SpikeNAS-Bench: params, test accuracy, firing rates, training time and per-epoch curves of spiking cells."""

    name = "spikenas"
    space = "spikenas"
    description = ("SpikeNAS-Bench: all 15,625 spiking NB201-like cells on CIFAR-10 (subsets on CIFAR-100, Tiny-ImageNet); "
                   "params, test accuracy, firing rates, per-epoch curves; tabulated logs of tju-sun-lab/SpikeNAS-Bench "
                   "(no licence file)")
    provides = tuple(m for m, _, _ in SCALARS.values()) + FIRING_RATES + tuple(m for m, _ in CURVES.values())
    default_relpath = "spikenas/spikenas_bench_logs.parquet"
    num_archs = NUM_ARCHS
    #: every dataset is its own network (input size, classes, voting layer): config = dataset
    config_column = "dataset"

    def _expected(self) -> str:
        return "SpikeNAS-Bench's spikenas_bench_logs.parquet (dataset, arch_id, params, test_acc, firing_rates, per-epoch lists)"

    def _read(self, path: Path) -> pd.DataFrame:
        try:
            schema = pq.read_schema(path)
        except (pa.ArrowInvalid, OSError) as err:
            raise DataFormatError(f"{path}: expected {self._expected()}, could not read it as Parquet: {err}") from None
        require_columns(schema.names, _COLUMNS, path, "the SpikeNAS-Bench log table")
        frame = pq.read_table(path, columns=list(_COLUMNS)).to_pandas()
        unknown = sorted(set(frame["dataset"]) - set(DATASETS))
        if unknown:
            raise DataFormatError(f"{path}: unknown dataset(s) {unknown}; expected {list(DATASETS)}")
        try:
            names = {i: format_arch_str(id_to_arch(int(i))) for i in frame["arch_id"].unique()}
        except EncodingError as err:
            raise DataFormatError(f"{path}: {err}") from None
        blocks = []
        for ds, g in frame.groupby("dataset", sort=True):
            blocks.extend(self._dataset_rows(DATASETS[ds], g, names, path))
        return concat_rows(blocks)

    def _dataset_rows(self, dataset: str, g: pd.DataFrame, names: dict, path: Path) -> list[pd.DataFrame]:
        arch = g["arch_id"].map(names).to_numpy(dtype=object)
        epochs = g["n_epochs"].to_numpy(dtype=float)
        common = dict(source=self.name, space=self.space, dataset=dataset)
        blocks = []
        for col, (metric, unit, at_end) in SCALARS.items():
            blocks.append(metric_rows(**common, arch=arch, metric=metric, value=g[col].to_numpy(dtype=float),
                                      unit=unit, fidelity=epochs if at_end else None))
        rates = _stack(g["firing_rates"], len(FIRING_RATES), f"{path}: firing_rates ({dataset})")
        rates[rates < 0] = np.nan  # -1: the edge has no neuron
        for j, metric in enumerate(FIRING_RATES):
            blocks.append(metric_rows(**common, arch=arch, metric=metric, value=rates[:, j], unit=DIMENSIONLESS,
                                      fidelity=epochs))
        for col, (metric, unit) in CURVES.items():
            lists = [np.asarray(v, dtype=float) if v is not None else np.zeros(0) for v in g[col]]
            lengths = np.array([len(v) for v in lists])
            if not lengths.any():
                continue
            values = np.concatenate(lists)
            fidelity = np.concatenate([np.arange(1, n + 1, dtype=float) for n in lengths])
            blocks.append(metric_rows(**common, arch=np.repeat(arch, lengths), metric=metric, value=values, unit=unit,
                                      fidelity=fidelity))
        return blocks


def _stack(lists: pd.Series, width: int, what: str) -> np.ndarray:
    """Equal-length lists -> float matrix ``(rows, width)``; other lengths raise naming the first bad row."""
    out = np.full((len(lists), width), np.nan)
    for i, v in enumerate(lists):
        if v is None:
            continue
        if len(v) != width:
            raise DataFormatError(f"{what}: row {i} has {len(v)} values, expected {width}")
        out[i] = v
    return out
