"""HAT's measured SubTransformer latencies: 8 CSV files of 2,000 rows (4 translation tasks x 3 devices).

Folder ``hat_transformer/`` (mit-han-lab/hardware-aware-transformers ``latency_dataset/``, MIT),
one file per task and device, ``<task>_<cpu|gpu>_<device>_all.csv`` (written by HAT's
``latency_dataset.py``): tasks ``wmt14ende``, ``wmt14enfr``, ``wmt19ende``, ``iwslt14deen``
(the ``dataset`` column), devices ``raspberrypi`` (ARM Cortex-A72), ``xeon`` (Intel Xeon
E5-2640), ``titanxp`` (Nvidia TITAN Xp) (the ``device`` column).

Columns: HAT's 10 latency-predictor features (:data:`archbench.graphs.spaces.hat.FEATURE_COLUMNS`:
embed dims, layer counts and per-layer means; see :mod:`archbench.graphs.spaces.hat`), then
``latency_mean_encoder``, ``latency_mean_decoder``, ``latency_std_encoder``,
``latency_std_decoder``: milliseconds (CUDA events on the GPU, ``time.time() * 1000`` on CPUs),
mean and standard deviation over HAT's ``latiter`` runs (2 on the Raspberry Pi, 20 elsewhere)
after dropping the fastest and slowest 10 %. The encoder runs one sentence of 30 tokens (23 for
IWSLT); the decoder decodes as many tokens one at a time with beam 5.

Metrics (all ``ms``): ``latency_encoder``, ``latency_decoder``, ``latency`` (their sum: HAT's
"Overall Latency"), ``latency_std_encoder``, ``latency_std_decoder``. ``arch`` is the row's 10
feature values as the CSV writes them; the ``hat`` space parses that form to the row's canonical
representative SubTransformer (the features are per-layer means, which rarely determine the
layers; see the space's docstring).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from archbench.errors import DataFormatError, EncodingError

from .base import MILLISECONDS, READERS, BenchmarkReader, concat_rows, metric_rows, require_columns

#: ``<task>_<cpu|gpu>_<device>_all.csv``
FILE_NAME = re.compile(r"^(?P<task>wmt14ende|wmt14enfr|wmt19ende|iwslt14deen)_(?P<kind>cpu|gpu)_(?P<device>[a-z0-9]+)_all\.csv$")
LATENCY_COLUMNS: tuple[str, ...] = ("latency_mean_encoder", "latency_mean_decoder", "latency_std_encoder", "latency_std_decoder")
#: metric name of each latency column
METRICS: dict[str, str] = {"latency_mean_encoder": "latency_encoder", "latency_mean_decoder": "latency_decoder",
                           "latency_std_encoder": "latency_std_encoder", "latency_std_decoder": "latency_std_decoder"}


@READERS.register("hat")
class HatLatencyReader(BenchmarkReader):
    """HAT latencies (ms) of 16,000 sampled SubTransformers; ``path`` may be the folder or one CSV file."""

    name = "hat"
    space = "hat"
    description = ("HAT (Wang et al. 2020) SubTransformer encoder/decoder latencies in ms on Raspberry Pi, Xeon and "
                   "TITAN Xp for WMT'14 En-De/En-Fr, WMT'19 En-De and IWSLT'14 De-En; mit-han-lab/hardware-aware-transformers (MIT)")
    provides = ("latency", "latency_encoder", "latency_decoder", "latency_std_encoder", "latency_std_decoder")
    default_relpath = "hat_transformer"
    #: each task is its own network (vocabulary, sequence length): rows go to their task's graphs
    config_column = "dataset"

    def _expected(self) -> str:
        return "HAT's latency_dataset folder or one <task>_<cpu|gpu>_<device>_all.csv file"

    def files(self, path: Path) -> list[Path]:
        """The latency CSVs to read: ``path`` itself, or the matching files of the folder, sorted."""
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if FILE_NAME.match(p.name))
            if not files:
                raise DataFormatError(f"{path}: expected {self._expected()}; the folder has no file named like "
                                      f"wmt14ende_cpu_raspberrypi_all.csv")
            return files
        if not FILE_NAME.match(path.name):
            raise DataFormatError(f"{path}: expected {self._expected()} (task wmt14ende, wmt14enfr, wmt19ende or "
                                  f"iwslt14deen), found a file named {path.name!r}")
        return [path]

    def read_file(self, path: Path) -> pd.DataFrame:
        """One latency CSV as reader rows (validated: columns, numbers, features in HAT's design space)."""
        from archbench.graphs.spaces.hat import FEATURE_COLUMNS, format_features, from_features

        match = FILE_NAME.match(path.name)
        try:
            frame = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise DataFormatError(f"{path}: expected a HAT latency CSV, could not parse it: {exc}") from None
        require_columns(frame.columns, FEATURE_COLUMNS + LATENCY_COLUMNS, path, "a HAT latency CSV")
        if frame.empty:
            raise DataFormatError(f"{path}: a HAT latency CSV with a header but no rows")
        values = frame[list(FEATURE_COLUMNS + LATENCY_COLUMNS)]
        bad = [c for c in values.columns if not pd.api.types.is_numeric_dtype(values[c])]
        if bad:
            raise DataFormatError(f"{path}: expected numbers in every column, found text in {bad}")
        numbers = values.to_numpy(dtype=float)
        if not np.isfinite(numbers[:, : len(FEATURE_COLUMNS)]).all():
            row = int(np.where(~np.isfinite(numbers[:, : len(FEATURE_COLUMNS)]).any(axis=1))[0][0])
            raise DataFormatError(f"{path}: row {row + 2} has a missing or non-finite architecture feature")
        latency = numbers[:, len(FEATURE_COLUMNS):]
        if np.any(latency[np.isfinite(latency)] < 0):
            raise DataFormatError(f"{path}: latencies must be non-negative milliseconds, found {latency[latency < 0][0]}")
        archs = np.empty(len(frame), dtype=object)
        for i, row in enumerate(numbers[:, : len(FEATURE_COLUMNS)]):
            feats = tuple(float(v) for v in row)
            try:
                from_features(feats)  # in HAT's design space, else the file is not what it claims
            except EncodingError as err:
                raise DataFormatError(f"{path}: row {i + 2} is not a HAT SubTransformer: {err}") from None
            archs[i] = format_features(feats)
        task, device = match["task"], match["device"]
        blocks = [metric_rows(source=self.name, space=self.space, arch=archs, dataset=task, metric="latency",
                              value=latency[:, 0] + latency[:, 1], unit=MILLISECONDS, device=device)]
        for k, column in enumerate(LATENCY_COLUMNS):
            blocks.append(metric_rows(source=self.name, space=self.space, arch=archs, dataset=task,
                                      metric=METRICS[column], value=latency[:, k], unit=MILLISECONDS, device=device))
        return concat_rows(blocks)

    def _read(self, path: Path) -> pd.DataFrame:
        return concat_rows(self.read_file(f) for f in self.files(path))
