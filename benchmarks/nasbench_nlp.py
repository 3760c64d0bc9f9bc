"""NAS-Bench-NLP: 50-epoch WikiText-2 training logs of recurrent-cell language models.

File: ``train_logs_wikitext-2_logs.zip``, one JSON log per training run
(``log_stats_model_<recipe id>_<time>_<experiment id>.json``) holding the cell ``recepie``
(JSON string), the model settings, ``num_params``, and per-epoch ``train_losses``,
``val_losses``, ``test_losses`` (cross-entropy in nats per token) and ``wall_times``
(seconds per epoch). ``status`` is ``"OK"`` or ``"loss is nan!"`` (training stopped: the curves
end early). Source: fmsnew/nas-bench-nlp-release (Apache-2.0). ``path`` may also be a folder of
the extracted logs.

Rows: ``train_loss``, ``valid_loss``, ``test_loss`` (nats) and ``epoch_time`` (s) at every
epoch (fidelity = epoch, 1-based); ``params`` and ``train_time`` (sum of the epoch times, at the
last logged epoch) once per run. The 345 logs hold 291 distinct recipes (the benchmark's
generator produced duplicates under different recipe ids, and recipe 1002429 was trained twice):
every run keeps its rows, so such a recipe has several values per metric and epoch; the logs
state no seed.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pandas as pd

from archbench.errors import DataFormatError, EncodingError
from archbench.graphs.spaces.nasbench_nlp import MODEL, format_recipe, parse_recipe

from .base import DIMENSIONLESS, READERS, BenchmarkReader, concat_rows, metric_rows

NATS, SECONDS = "nats", "s"
#: Log field -> (metric, unit) of the per-epoch curves.
CURVES: dict[str, tuple[str, str]] = {
    "train_losses": ("train_loss", NATS),
    "val_losses": ("valid_loss", NATS),
    "test_losses": ("test_loss", NATS),
    "wall_times": ("epoch_time", SECONDS),
}
_REQUIRED = ("recepie", "num_params", *CURVES)
#: The model every log must describe (the space's network config).
_MODEL_FIELDS = {"emsize": MODEL.embedding, "nhid": MODEL.hidden, "nlayers": MODEL.layers, "tied": True}


def _logs(path: Path) -> Iterator[tuple[str, bytes]]:
    """``(name, JSON bytes)`` of every ``*.json`` log in a zip or a folder, in name order."""
    if path.is_dir():
        for f in sorted(path.rglob("*.json")):
            yield f.name, f.read_bytes()
        return
    try:
        with zipfile.ZipFile(path) as zf:
            for name in sorted(n for n in zf.namelist() if n.endswith(".json")):
                yield name, zf.read(name)
    except zipfile.BadZipFile:
        raise DataFormatError(f"{path}: expected a zip of NAS-Bench-NLP JSON logs, but it is not a zip file") from None


@READERS.register("nasbench_nlp")
class NASBenchNLPReader(BenchmarkReader):
    """NAS-Bench-NLP (WikiText-2): per-epoch train/valid/test loss and epoch time, params, training time."""

    name = "nasbench_nlp"
    space = "nasbench_nlp"
    description = ("NAS-Bench-NLP: recurrent cells in a 3-layer language model trained 50 epochs on WikiText-2; "
                   "per-epoch losses (nats) and times, params; training-log zip of fmsnew/nas-bench-nlp-release (Apache-2.0)")
    provides = ("train_loss", "valid_loss", "test_loss", "epoch_time", "train_time", "params")
    default_relpath = "nas_bench_nlp/train_logs_wikitext-2_logs.zip"
    num_archs = 291
    dataset = "wikitext2"

    def _expected(self) -> str:
        return "NAS-Bench-NLP's training-log zip (JSON logs with recepie, num_params and per-epoch losses) or its folder"

    def _read(self, path: Path) -> pd.DataFrame:
        blocks = []
        n = 0
        for name, raw in _logs(path):
            blocks.extend(self._run_rows(self._load(path, name, raw), f"{path}:{name}"))
            n += 1
        if not n:
            raise DataFormatError(f"{path}: expected {self._expected()}, found no *.json log")
        return concat_rows(blocks)

    @staticmethod
    def _load(path: Path, name: str, raw: bytes) -> dict[str, Any]:
        try:
            log = json.loads(raw)
        except ValueError as err:
            raise DataFormatError(f"{path}:{name}: expected a JSON training log, found invalid JSON ({err})") from None
        if not isinstance(log, dict) or any(k not in log for k in _REQUIRED):
            found = sorted(log) if isinstance(log, dict) else type(log).__name__
            raise DataFormatError(f"{path}:{name}: a NAS-Bench-NLP log needs fields {list(_REQUIRED)}, found {found}")
        for key, want in _MODEL_FIELDS.items():
            if key in log and log[key] != want:
                raise DataFormatError(f"{path}:{name}: log has {key}={log[key]!r}, but the nasbench_nlp network config "
                                      f"is {key}={want!r}; this reader reads the benchmark's WikiText-2 logs only")
        return log

    def _run_rows(self, log: dict[str, Any], where: str) -> list[pd.DataFrame]:
        try:
            arch = format_recipe(parse_recipe(log["recepie"]))
        except EncodingError as err:
            raise DataFormatError(f"{where}: {err}") from None
        common = dict(source=self.name, space=self.space, dataset=self.dataset)
        blocks = []
        times = None
        for field, (metric, unit) in CURVES.items():
            values = _numbers(log[field], f"{where}: {field}")
            epochs = np.arange(1, len(values) + 1, dtype=float)
            blocks.append(metric_rows(**common, arch=np.full(len(values), arch, dtype=object), metric=metric,
                                      value=values, unit=unit, fidelity=epochs))
            if field == "wall_times":
                times = values
        params = _numbers([log["num_params"]], f"{where}: num_params")
        blocks.append(metric_rows(**common, arch=np.array([arch], dtype=object), metric="params", value=params,
                                  unit=DIMENSIONLESS))
        if times is not None and len(times) and np.isfinite(times).all():
            blocks.append(metric_rows(**common, arch=np.array([arch], dtype=object), metric="train_time",
                                      value=[times.sum()], unit=SECONDS, fidelity=float(len(times))))
        return blocks


def _numbers(values: Any, what: str) -> np.ndarray:
    """A list of numbers (None = missing) -> float array; anything else raises naming the field."""
    if not isinstance(values, list) or not all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool))
                                               for v in values):
        raise DataFormatError(f"{what} should be a list of numbers, found {values!r:.80}")
    return np.array([np.nan if v is None else float(v) for v in values], dtype=float)
