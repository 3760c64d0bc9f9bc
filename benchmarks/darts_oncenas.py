"""OnceNAS-Bench ("DARTS-Bench"): 545 DARTS-space networks on CIFAR-10 with accuracy, cost and GPU latency.

Files (OnceNAS-Bench/OnceNAS-Bench @8df26aa3, no licence file), the same numbers in two forms:

- ``data-545.csv``: one row per network: ``weights_index``, ``architecture`` (a DARTS Genotype
  string; 'none' ops occur), ``flop`` (millions), ``params`` (millions), ``train_time10``,
  ``train_acc10``, ``valid_acc10``, ``train_time50``, ``train_acc50``, ``valid_acc50``,
  ``test_acc50`` (times ``h:mm:ss``, accuracies %), ``gpu_latency`` (ms) and the rasp/fpga/mcu
  latency columns;
- ``data_545.pkl``: the benchmark API's dict (``meta_archs``, ``arch2infos`` ...), plain Python
  values only (read with the restricted unpickler, no globals allowed).

The networks are the DARTS evaluation network (C=36, 20 cells): their ``params`` equal the
``darts`` config's graphs exactly. The rasp/fpga/mcu latency columns are not read: they look
synthetic (uniform, uncorrelated with FLOPs; see the data MANIFEST).

Rows (dataset ``cifar10``): ``train_accuracy``/``valid_accuracy`` at fidelity 10 and 50,
``test_accuracy`` at 50, ``train_time`` (s) at 10 and 50, ``flops`` and ``params`` (counts,
unit ``1``; OnceNAS's FLOPs convention counts 4 per BN element and 1 per avg-pool output on top of
conv/linear MACs, so it differs from the graphs' ``flops``), ``latency`` (ms) on device
``oncenas_gpu`` (OnceNAS does not name the GPU model).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from archbench.errors import DataFormatError, EncodingError
from archbench.graphs.spaces.darts import format_arch, parse_arch

from .base import DIMENSIONLESS, MILLISECONDS, PERCENT, READERS, SECONDS, BenchmarkReader, concat_rows, metric_rows
from .tables import load_table, numeric_column
from .unpickle import restricted_load

DEVICE = "oncenas_gpu"
_DATASET = "cifar10"
_ARCH = "architecture"
_DURATION = re.compile(r"^\s*(\d+):([0-5]\d):([0-5]\d(?:\.\d+)?)\s*$")


def _duration_seconds(text: Any, where: str) -> float:
    """``'h:mm:ss'`` -> seconds; blank -> NaN."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return np.nan
    m = _DURATION.match(str(text))
    if not m:
        raise DataFormatError(f"{where}: expected a training time 'h:mm:ss', found {text!r}")
    h, mi, s = m.groups()
    return int(h) * 3600 + int(mi) * 60 + float(s)


@dataclass(frozen=True)
class _Column:
    metric: str
    unit: str
    fidelity: float | None = None
    device: str | None = None
    scale: float = 1.0
    bounds: tuple[float, float] | None = None
    duration: bool = False


#: CSV column -> what its numbers are (one table; the pickle's nested keys map onto the same names).
COLUMNS: dict[str, _Column] = {
    "flop": _Column("flops", DIMENSIONLESS, scale=1e6, bounds=(0.0, np.inf)),
    "params": _Column("params", DIMENSIONLESS, scale=1e6, bounds=(0.0, np.inf)),
    "train_time10": _Column("train_time", SECONDS, fidelity=10.0, duration=True),
    "train_acc10": _Column("train_accuracy", PERCENT, fidelity=10.0, bounds=(0.0, 100.0)),
    "valid_acc10": _Column("valid_accuracy", PERCENT, fidelity=10.0, bounds=(0.0, 100.0)),
    "train_time50": _Column("train_time", SECONDS, fidelity=50.0, duration=True),
    "train_acc50": _Column("train_accuracy", PERCENT, fidelity=50.0, bounds=(0.0, 100.0)),
    "valid_acc50": _Column("valid_accuracy", PERCENT, fidelity=50.0, bounds=(0.0, 100.0)),
    "test_acc50": _Column("test_accuracy", PERCENT, fidelity=50.0, bounds=(0.0, 100.0)),
    "gpu_latency": _Column("latency", MILLISECONDS, device=DEVICE, bounds=(0.0, np.inf)),
}
#: Columns of the release deliberately not read (synthetic-looking latencies).
SKIPPED_COLUMNS: tuple[str, ...] = ("rasp_latency", "fpga_latency", "mcu_latency")
#: Where each column lives in a record of the pickle's ``arch2infos[i]["all_results"]``.
_PICKLE_PATHS: dict[str, tuple[str, ...]] = {
    "flop": ("flop",), "params": ("params",),
    "train_time10": ("epoch9", "train_time10"), "train_acc10": ("epoch9", "train_acc10"),
    "valid_acc10": ("epoch9", "valid_acc10"),
    "train_time50": ("epoch49", "train_time50"), "train_acc50": ("epoch49", "train_acc50"),
    "valid_acc50": ("epoch49", "valid_acc50"), "test_acc50": ("epoch49", "test_acc50"),
    "gpu_latency": ("latency", "gpu_latency"),
}
assert set(_PICKLE_PATHS) == set(COLUMNS)


def _from_csv(path: Path) -> pd.DataFrame:
    return load_table(path, [_ARCH, *COLUMNS], "the OnceNAS-Bench CSV (architecture, flop, params, ..., gpu_latency)")


def _from_pickle(path: Path) -> pd.DataFrame:
    data = restricted_load(path, {})
    if not (isinstance(data, dict) and isinstance(data.get("arch2infos"), dict)):
        found = sorted(data)[:6] if isinstance(data, dict) else type(data).__name__
        raise DataFormatError(f"{path}: expected the OnceNAS-Bench API dict with 'arch2infos', found {found}")
    rows = []
    for key, info in sorted(data["arch2infos"].items(), key=lambda kv: str(kv[0])):
        try:
            results = info["all_results"]
            row = {_ARCH: info["arch_str"]}
            for column, keys in _PICKLE_PATHS.items():
                value: Any = results
                for k in keys:
                    value = value[k]
                row[column] = value
        except (KeyError, TypeError) as exc:
            raise DataFormatError(f"{path}: arch2infos[{key!r}] lacks {exc} (expected 'arch_str' and "
                                  f"'all_results' with epoch9/epoch49/latency entries)") from None
        rows.append(row)
    return pd.DataFrame(rows, columns=[_ARCH, *COLUMNS])


_LOADERS: dict[str, Callable[[Path], pd.DataFrame]] = {".csv": _from_csv, ".pkl": _from_pickle}


@READERS.register("darts_oncenas")
class DartsOnceNasReader(BenchmarkReader):
    """OnceNAS-Bench: 545 DARTS networks (C=36, 20 cells), accuracy at 10/50 epochs, FLOPs, params, GPU latency."""

    name = "darts_oncenas"
    space = "darts"
    description = ("OnceNAS-Bench: 545 DARTS-space networks (C=36, 20 cells) on CIFAR-10: train/valid accuracy at 10 and "
                   "50 epochs, test accuracy at 50, training time, FLOPs, params, GPU latency "
                   "(OnceNAS-Bench/OnceNAS-Bench @8df26aa3, no licence file)")
    provides = tuple(dict.fromkeys(c.metric for c in COLUMNS.values()))
    default_relpath = "darts_nb301/oncenas/data-545.csv"
    num_archs = 545
    #: the DARTS paper's evaluation network (C=36, 20 cells): OnceNAS's params equal its graphs' exactly
    config = "darts"

    def _expected(self) -> str:
        return "the OnceNAS-Bench data-545.csv (or data_545.pkl)"

    def _read(self, path: Path) -> pd.DataFrame:
        loader = _LOADERS.get(path.suffix.lower())
        if loader is None:
            raise DataFormatError(f"{path}: expected {self._expected()}: a .csv or .pkl file, found suffix {path.suffix!r}")
        table = loader(path)
        if len(table) == 0:
            raise DataFormatError(f"{path}: expected {self._expected()}, found no architectures")
        archs = np.empty(len(table), dtype=object)
        for i, text in enumerate(table[_ARCH]):
            if not isinstance(text, str):
                raise DataFormatError(f"{path}: data row {i + 1} has no architecture string (found {text!r})")
            try:
                archs[i] = format_arch(parse_arch(text))
            except EncodingError as exc:
                raise DataFormatError(f"{path}: data row {i + 1}: malformed DARTS genotype: {exc}") from None
        blocks = []
        for column, spec in COLUMNS.items():
            where = f"{path}: column {column!r}"
            if spec.duration:
                values = np.array([_duration_seconds(v, f"{where} data row {i + 1}") for i, v in enumerate(table[column])])
            else:
                values = numeric_column(table[column].astype(object), column, path) * spec.scale
            if spec.bounds is not None:
                lo, hi = spec.bounds[0] * spec.scale, spec.bounds[1] * spec.scale
                bad = np.flatnonzero((values < lo) | (values > hi))
                if bad.size:
                    raise DataFormatError(f"{where} must be in [{spec.bounds[0]}, {spec.bounds[1]}], found "
                                          f"{table[column].iloc[bad[0]]!r} at data row {bad[0] + 1}")
            blocks.append(metric_rows(source=self.name, space=self.space, arch=archs, dataset=_DATASET,
                                      metric=spec.metric, value=values, unit=spec.unit, fidelity=spec.fidelity,
                                      device=spec.device))
        return concat_rows(blocks)
