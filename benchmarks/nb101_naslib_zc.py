"""NAS-Bench-101 zero-cost proxy scores and validation accuracies from NASLib (NAS-Bench-Suite-Zero).

File ``naslib_zc_nasbench101.json``: ``{"nasbench101": {"cifar10": {key: record}}}`` (the outer
level may be absent). A key is NASLib's tuple of 56 integers: the 7x7 adjacency matrix row-major,
then 7 op codes (:data:`OP_CODES`). A record holds ``val_accuracy`` (%, 108 epochs) and one entry
per proxy: the score, or ``{"score": s, "time": t}`` in releases with compute times (this file
has none). Source: automl/NASLib (Apache-2.0).

NASLib drew its cells with the benchmark's biased random sampler, so its matrices are unpruned
7-vertex specs and small cells recur: the 500 keys are 292 distinct cells, one of them 55 times.
Every key is one measurement (its own proxy scores, and the validation accuracy of one of NB101's
three runs), so every key gives rows, and a cell measured k times has k rows per metric.

Rows: ``valid_accuracy`` (%, fidelity 108, seed NA: which run is not recorded), ``zc_<proxy>``
(unit ``score``) and ``zc_<proxy>_time`` (unit ``s``), proxy names lowercase as NASLib spells
them (``flops`` and ``params`` are NASLib's own counts in millions, kept as proxies).
"""
from __future__ import annotations

import ast
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from archbench.errors import DataFormatError, EncodingError
from archbench.graphs.spaces.nb101 import MAX_VERTICES, canonical_string, cell_from_codes

from .base import PERCENT, READERS, BenchmarkReader, concat_rows, metric_rows
from .base import finite_number, load_json
from .darts_naslib_zc import NASLIB_PROXIES, SCORE, SECONDS

#: NASLib's NB101 op codes (its ``all_ops`` order).
OP_CODES: dict[int, str | None] = {0: "input", 1: "output", 2: "maxpool3x3", 3: "conv1x1-bn-relu", 4: "conv3x3-bn-relu"}
NB101_EPOCHS = 108.0
_DATASET = "cifar10"
_KEY_LENGTH = MAX_VERTICES * MAX_VERTICES + MAX_VERTICES


def parse_naslib_key(key: str) -> str:
    """NASLib's 56-integer NB101 key -> native string of the cell's official representative."""
    try:
        values = ast.literal_eval(key)
    except (ValueError, SyntaxError):
        raise EncodingError(f"NASLib NB101 key must be a tuple of {_KEY_LENGTH} integers, found {key!r:.80}") from None
    if not (isinstance(values, tuple) and len(values) == _KEY_LENGTH and all(type(v) is int for v in values)):
        raise EncodingError(f"NASLib NB101 key must be a tuple of {_KEY_LENGTH} integers (7x7 adjacency, 7 op codes), "
                            f"found {key!r:.80}")
    n = MAX_VERTICES
    matrix = [values[i * n:(i + 1) * n] for i in range(n)]
    return canonical_string(cell_from_codes(matrix, values[n * n:], OP_CODES))


@READERS.register("nb101_naslib_zc")
class Nb101NaslibZcReader(BenchmarkReader):
    """500 NASLib NB101 measurements: validation accuracy and zero-cost proxy scores."""

    name = "nb101_naslib_zc"
    space = "nb101"
    description = ("NAS-Bench-101 (CIFAR-10): 500 NASLib measurements (292 distinct cells) of validation accuracy and "
                   "11 zero-cost proxy scores (NAS-Bench-Suite-Zero, automl/NASLib, Apache-2.0)")
    provides = ("valid_accuracy",) + tuple(f"zc_{p}" for p in NASLIB_PROXIES) + tuple(f"zc_{p}_time" for p in NASLIB_PROXIES)
    default_relpath = "nb101/naslib_zc_nasbench101.json"
    num_archs = 292

    def _read(self, path: Path) -> pd.DataFrame:
        data = load_json(path, "a NASLib NB101 zero-cost JSON file")
        if isinstance(data, dict) and isinstance(data.get("nasbench101"), dict):
            data = data["nasbench101"]
        if not (isinstance(data, dict) and isinstance(data.get(_DATASET), dict) and data[_DATASET]):
            found = sorted(data)[:5] if isinstance(data, dict) else type(data).__name__
            raise DataFormatError(f"{path}: expected NASLib NB101 zero-cost data {{'nasbench101': {{'cifar10': "
                                  f"{{key: {{...}}}}}}}}, found top-level keys {found}")
        archs: list[str] = []
        values: dict[tuple[str, str], list[float]] = {}
        for n, (key, record) in enumerate(data[_DATASET].items()):
            where = f"{path}: key {key!r:.60}"
            try:
                arch = parse_naslib_key(key)
            except EncodingError as exc:
                raise DataFormatError(f"{where}: {exc}") from None
            if not isinstance(record, dict) or "val_accuracy" not in record:
                raise DataFormatError(f"{where}: expected a record with 'val_accuracy' and proxy scores, found {record!r:.80}")
            row = {("valid_accuracy", PERCENT): finite_number(record["val_accuracy"], f"{where} val_accuracy")}
            for name, entry in record.items():
                if name == "val_accuracy":
                    continue
                proxy = name.lower()
                if proxy not in NASLIB_PROXIES:
                    raise DataFormatError(f"{where}: unknown zero-cost proxy {name!r}; expected one of: {', '.join(NASLIB_PROXIES)}")
                if isinstance(entry, dict):
                    if "score" not in entry:
                        raise DataFormatError(f"{where}: proxy {name!r} must hold a 'score', found keys {sorted(entry)}")
                    row[(f"zc_{proxy}", SCORE)] = finite_number(entry["score"], f"{where} {name}.score")
                    if "time" in entry:
                        row[(f"zc_{proxy}_time", SECONDS)] = finite_number(entry["time"], f"{where} {name}.time")
                else:
                    row[(f"zc_{proxy}", SCORE)] = finite_number(entry, f"{where} {name}")
            for k in row.keys() - values.keys():
                values[k] = [math.nan] * n
            for k, column in values.items():
                column.append(row.get(k, math.nan))
            archs.append(arch)
        arch_array = np.array(archs, dtype=object)
        return concat_rows(
            metric_rows(source=self.name, space=self.space, arch=arch_array, dataset=_DATASET, metric=metric,
                        value=np.array(column), unit=unit,
                        fidelity=NB101_EPOCHS if metric == "valid_accuracy" else None)
            for (metric, unit), column in sorted(values.items()))
