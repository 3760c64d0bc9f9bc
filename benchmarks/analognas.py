"""AnalogNAS-Bench: all 15,625 NAS-Bench-201 cells on CIFAR-10, digital and analog-hardware accuracies.

The PyPI package ``analog-nasbench`` ships ``analognasbench/data.anb``: a pickle of
``{6-tuple of op codes: analognasbench.data.Architecture}``, each Architecture holding
``baseline_accuracy`` (200 epochs), ``ptq_accuracy``, ``qat_accuracy``, ``noisy_accuracy``,
``analog_accuracy`` and eight ``DriftMeasurement(value, uncertainty)`` fields
(``{baseline,analog}_drift_{60,3600,86400,2592000}``: accuracy after that many seconds of
conductance drift). All accuracies are percentages on CIFAR-10.

The package is never imported (its ``__init__`` imports ``pkg_resources`` and would run code):
the file is found with ``importlib.util.find_spec`` and read through the restricted unpickler,
with inert stand-ins for the two classes.

The op codes and tuple order are undocumented; measured (and checked by a realdata test): the
tuple is ordered by edge (0->1, 0->2, 0->3, 1->2, 1->3, 2->3) and the codes are
:data:`ANALOGNAS_OPS`. With this mapping ``baseline_accuracy`` has Spearman 0.991 with the official
NATS-Bench CIFAR-10 200-epoch test accuracy.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from archbench.errors import DataFormatError

from .base import PERCENT, READERS, BenchmarkReader, concat_rows, metric_rows, package_data_path
from .cells import CellCodec
from .unpickle import Record, restricted_load

#: AnalogNAS-Bench op code -> NB201 op name (the one place this mapping lives).
ANALOGNAS_OPS: dict[int, str] = {0: "skip_connect", 1: "none", 2: "nor_conv_3x3", 3: "nor_conv_1x1", 4: "avg_pool_3x3"}
#: Tuple position -> NB201 edge (source, target): the tuple is ordered by edge.
ANALOGNAS_EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))

#: Architecture field -> (metric, fidelity in epochs or None). Only the baseline is the plain
#: 200-epoch training result; the others come from post-training procedures (quantization,
#: noise injection, analog-hardware simulation) whose epoch budgets the package does not state.
SCALAR_FIELDS: dict[str, tuple[str, float | None]] = {
    "baseline_accuracy": ("test_accuracy", 200.0),
    "ptq_accuracy": ("ptq_accuracy", None),
    "qat_accuracy": ("qat_accuracy", None),
    "noisy_accuracy": ("noisy_accuracy", None),
    "analog_accuracy": ("analog_accuracy", None),
}
#: Drift times (seconds) of the DriftMeasurement fields.
DRIFT_SECONDS: tuple[int, ...] = (60, 3600, 86400, 2592000)
#: DriftMeasurement field -> metric name of its value (its uncertainty is the same name + "_std").
DRIFT_FIELDS: dict[str, str] = {f"{kind}_drift_{t}": f"{kind}_drift_accuracy_{t}s"
                                for kind in ("baseline", "analog") for t in DRIFT_SECONDS}

_CODEC = CellCodec(ANALOGNAS_OPS, ANALOGNAS_EDGES, "AnalogNAS-Bench")


class AnalogArchitecture(Record):
    """Inert stand-in for ``analognasbench.data.Architecture``."""


class DriftMeasurement(Record):
    """Inert stand-in for ``analognasbench.data.DriftMeasurement`` (``value``, ``uncertainty``)."""


#: The only globals data.anb may name.
ALLOWED_GLOBALS: dict[tuple[str, str], object] = {
    ("analognasbench.data", "Architecture"): AnalogArchitecture,
    ("analognasbench.data", "DriftMeasurement"): DriftMeasurement,
}


_NUMBER_TYPES = (int, float, np.integer, np.floating)


def _as_float_matrix(rows: list[list[Any]], labels: list[str], keys: list[Any], where: Path) -> np.ndarray:
    """Rows of plain numbers (None = missing) -> float array; anything else raises naming key and field."""
    flat = [x for row in rows for x in row]
    if not all(x is None or (isinstance(x, _NUMBER_TYPES) and not isinstance(x, bool)) for x in flat):
        for key, row in zip(keys, rows):
            for label, x in zip(labels, row):
                if not (x is None or (isinstance(x, _NUMBER_TYPES) and not isinstance(x, bool))):
                    raise DataFormatError(f"{where}: {key}.{label} should be a number, found {type(x).__name__} {x!r:.40}")
    return np.array([[np.nan if x is None else float(x) for x in row] for row in rows], dtype=float).reshape(len(rows), len(labels))


@READERS.register("analognas")
class AnalogNASReader(BenchmarkReader):
    """AnalogNAS-Bench (PyPI ``analog-nasbench``): CIFAR-10 baseline, PTQ, QAT, noisy, analog and drift accuracies."""

    name = "analognas"
    space = "nb201"
    description = ("AnalogNAS-Bench: all NB201 cells on CIFAR-10, 200-epoch baseline plus PTQ/QAT/noisy/analog-hardware "
                   "and drift accuracies; data.anb of the PyPI package analog-nasbench 0.1.x (no licence stated in its metadata)")
    provides = (tuple(m for m, _ in SCALAR_FIELDS.values())
                + tuple(DRIFT_FIELDS.values()) + tuple(f"{m}_std" for m in DRIFT_FIELDS.values()))
    default_relpath = None
    num_archs = 15_625
    dataset = "cifar10"

    def _package_file(self) -> Path:
        return package_data_path(self.name, "analognasbench", "analog-nasbench", "data.anb")

    def _expected(self) -> str:
        return "AnalogNAS-Bench's data.anb (a pickle of {6-tuple: analognasbench.data.Architecture})"

    def load_records(self, path: Path) -> dict[tuple[int, ...], AnalogArchitecture]:
        """The raw ``{code tuple: record}`` dict of ``path`` (records are checked by :meth:`read`)."""
        data = restricted_load(path, ALLOWED_GLOBALS)
        if not isinstance(data, dict):
            raise DataFormatError(f"{path}: expected {self._expected()}, found a pickled {type(data).__name__}")
        return data

    def _read(self, path: Path) -> pd.DataFrame:
        data = self.load_records(path)
        codes = _CODEC.check_keys(data.keys(), str(path))
        fields = list(SCALAR_FIELDS) + list(DRIFT_FIELDS)
        keys, scalar_rows, drift_rows = list(data), [], []
        for key in keys:
            record = data[key]
            if not isinstance(record, AnalogArchitecture):
                raise DataFormatError(f"{path}: entry {key} should be an analognasbench.data.Architecture, found {type(record).__name__}")
            state = record.__dict__
            if not all(f in state for f in fields):
                raise DataFormatError(f"{path}: Architecture {key} lacks fields {[f for f in fields if f not in state]}; found {sorted(state)}")
            if "architecture" in state and state["architecture"] != key:
                raise DataFormatError(f"{path}: entry {key} holds the record of architecture {state['architecture']!r}")
            scalar_rows.append([state[f] for f in SCALAR_FIELDS])
            row = []
            for field in DRIFT_FIELDS:
                m = state[field]
                if m is None:
                    row += [None, None]
                elif isinstance(m, DriftMeasurement) and "value" in m.__dict__ and "uncertainty" in m.__dict__:
                    row += [m.value, m.uncertainty]
                else:
                    raise DataFormatError(f"{path}: {key}.{field} should be a DriftMeasurement(value, uncertainty), found {m!r:.80}")
            drift_rows.append(row)
        scalars = _as_float_matrix(scalar_rows, list(SCALAR_FIELDS), keys, path)
        drift_labels = [f"{f}.{part}" for f in DRIFT_FIELDS for part in ("value", "uncertainty")]
        drift = _as_float_matrix(drift_rows, drift_labels, keys, path).reshape(len(keys), len(DRIFT_FIELDS), 2)
        archs = _CODEC.decode(codes)
        blocks = []
        for j, (metric, fidelity) in enumerate(SCALAR_FIELDS.values()):
            blocks.append(self._rows(archs, metric, scalars[:, j], fidelity))
        for j, metric in enumerate(DRIFT_FIELDS.values()):
            blocks.append(self._rows(archs, metric, drift[:, j, 0], None))
            blocks.append(self._rows(archs, f"{metric}_std", drift[:, j, 1], None))
        return concat_rows(blocks)

    def _rows(self, archs: np.ndarray, metric: str, values: np.ndarray, fidelity: float | None) -> pd.DataFrame:
        return metric_rows(source=self.name, space=self.space, arch=archs, dataset=self.dataset, metric=metric,
                           value=values, unit=PERCENT, fidelity=fidelity)
