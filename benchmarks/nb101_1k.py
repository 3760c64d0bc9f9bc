"""1,000 NAS-Bench-101 cells with validation accuracy at 4/12/36/108 epochs (nasbench-vis).

File ``nasbench101_1k_graphs.json``: one JSON object of parallel lists, one entry per cell:
``key`` (official module hash), ``adjacency`` (7x7 0/1 floats, padded), ``operations`` (op codes,
see :data:`OP_CODES`), ``{4,12,36,108}_final_validation_accuracy`` (fraction), ``final_training_time``
(s, 108 epochs), ``trainable_parameters`` and a 2-d ``embedding`` (not read). Source:
tiga1231/nasbench-vis (no licence file; NB101 data: Apache-2.0).

Every accuracy is a multiple of 1/9,984 (the benchmark's validation batch count times 128), so
it is one training run, not a mean over NB101's three; which run the file took is not recorded,
so ``seed`` is NA. Every cell must hash to its ``key``. Rows: ``valid_accuracy`` (%) at each
fidelity, ``train_time`` (s, 108 epochs, TPU v2 as the benchmark), ``params`` (count).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from archbench.errors import DataFormatError, EncodingError
from archbench.graphs.spaces.nb101 import NB101_OPS, canonical_string, cell_from_codes, cell_hash

from .base import PERCENT, READERS, BenchmarkReader, concat_rows, metric_rows
from .base import finite_number, load_json
from .nb101_tfrecord import COUNT, SECONDS, OfficialNb101Reader

#: The file's op codes: the benchmark's own hash labels, plus -3 for padding vertices.
OP_CODES: dict[int, str | None] = {-1: "input", -2: "output", **dict(enumerate(NB101_OPS)), -3: None}
FIDELITIES = (4, 12, 36, 108)
_LISTS = ("key", "adjacency", "operations", "final_training_time", "trainable_parameters",
          *(f"{e}_final_validation_accuracy" for e in FIDELITIES))


@READERS.register("nb101_1k")
class Nb101OneKReader(BenchmarkReader):
    """1,000 NB101 cells: validation accuracy at 4/12/36/108 epochs, training time and parameters."""

    name = "nb101_1k"
    space = "nb101"
    description = ("NAS-Bench-101: 1,000 cells with validation accuracy at 4/12/36/108 epochs (one run each), "
                   "108-epoch training time and parameters (tiga1231/nasbench-vis; NB101 data: Apache-2.0)")
    provides = ("valid_accuracy", "train_time", "params")
    default_relpath = "nb101/nasbench101_1k_graphs.json"
    num_archs = 1000

    def _read(self, path: Path) -> pd.DataFrame:
        data = load_json(path, "the nasbench-vis 1k JSON")
        if not isinstance(data, dict):
            raise DataFormatError(f"{path}: expected a JSON object of parallel lists {list(_LISTS)}, found {type(data).__name__}")
        missing = [k for k in _LISTS if not isinstance(data.get(k), list)]
        if missing:
            raise DataFormatError(f"{path}: expected lists {missing} (nasbench-vis 1k layout); found keys {sorted(data)}")
        n = len(data["key"])
        uneven = {k: len(data[k]) for k in _LISTS if len(data[k]) != n}
        if uneven:
            raise DataFormatError(f"{path}: every list must have one entry per cell ({n} keys), found lengths {uneven}")
        archs = []
        for i in range(n):
            where = f"{path}: cell {i}"
            try:
                cell = cell_from_codes(data["adjacency"][i], data["operations"][i], OP_CODES)
            except (EncodingError, TypeError) as exc:
                raise DataFormatError(f"{where}: not a valid NB101 cell: {exc}") from None
            if cell_hash(cell) != data["key"][i]:
                raise DataFormatError(f"{where}: the cell hashes to {cell_hash(cell)}, but its key is {data['key'][i]!r}")
            archs.append(canonical_string(cell))
        arch = np.array(archs, dtype=object)

        def column(name: str, scale: float = 1.0) -> np.ndarray:
            return np.array([finite_number(v, f"{path}: {name}[{i}]") for i, v in enumerate(data[name])]) * scale

        blocks = [metric_rows(source=self.name, space=self.space, arch=arch, dataset="cifar10", metric="valid_accuracy",
                              value=column(f"{e}_final_validation_accuracy", 100.0), unit=PERCENT, fidelity=float(e))
                  for e in FIDELITIES]
        blocks.append(metric_rows(source=self.name, space=self.space, arch=arch, dataset="cifar10", metric="train_time",
                                  value=column("final_training_time"), unit=SECONDS, fidelity=108.0,
                                  device=OfficialNb101Reader.default_device))
        blocks.append(metric_rows(source=self.name, space=self.space, arch=arch, dataset="cifar10", metric="params",
                                  value=column("trainable_parameters"), unit=COUNT))
        return concat_rows(blocks)
