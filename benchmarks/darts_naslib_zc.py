"""NAS-Bench-301 zero-cost proxy scores and validation accuracies from NASLib (NAS-Bench-Suite-Zero).

Two JSON releases of automl/NASLib (Apache-2.0), both keyed by NASLib's compact DARTS encoding
(``"[[(input, op code), ...8], [...8]]"``, see :mod:`archbench.graphs.spaces.darts`):

- ``naslib_zc_nasbench301_725.json``: ``{"cifar10": {arch: {"idx", "arch", "val_accuracy",
  <proxy>: {"score", "time"}, ...}}}``, 12 proxies with their compute time in seconds;
- ``naslib_zc_nasbench301_500.json``: ``{"nasbench301": {"cifar10": {arch: {"val_accuracy",
  <proxy>: score, ...}}}}``, 11 proxies (no ``nwot``), no times.

Rows: ``valid_accuracy`` (%, fidelity 100 = NAS-Bench-301's training length; NASLib's
``val_accuracy`` field), ``zc_<proxy>`` (unit ``score``) and ``zc_<proxy>_time`` (unit ``s``),
with proxy names lowercase as NASLib spells them (``flops`` and ``params`` are NASLib's own counts
in millions on its NB301 model, kept as proxies). The two files were measured separately: for
architectures in both, scores and accuracies differ slightly, so each file is its own source.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from archbench.errors import DataFormatError, EncodingError
from archbench.graphs.spaces.darts import format_arch, parse_arch

from .base import PERCENT, READERS, SCORE, SECONDS, BenchmarkReader, concat_rows, metric_rows
from .base import finite_number, load_json

#: Zero-cost proxies of NAS-Bench-Suite-Zero, as NASLib spells them (metric ``zc_<name>``).
NASLIB_PROXIES: tuple[str, ...] = ("epe_nas", "fisher", "flops", "grad_norm", "grasp", "jacov", "l2_norm", "nwot",
                                   "params", "plain", "snip", "synflow", "zen")
#: Units of the proxy metrics.
#: NAS-Bench-301 trains every architecture for 100 epochs; NASLib's val_accuracy is at that fidelity.
NB301_EPOCHS = 100.0
_DATASET = "cifar10"
_NON_PROXY_KEYS = frozenset({"idx", "arch", "val_accuracy"})


def _entries(data: Any, path: Path) -> dict[str, dict]:
    """The ``{compact arch: record}`` mapping of either release layout."""
    if isinstance(data, dict) and isinstance(data.get("nasbench301"), dict):
        data = data["nasbench301"]
    if not (isinstance(data, dict) and isinstance(data.get(_DATASET), dict)):
        found = sorted(data)[:5] if isinstance(data, dict) else type(data).__name__
        raise DataFormatError(f"{path}: expected NASLib NB301 zero-cost data {{'cifar10': {{arch: {{...}}}}}} "
                              f"(optionally under 'nasbench301'), found top-level keys {found}")
    entries = data[_DATASET]
    if not entries:
        raise DataFormatError(f"{path}: the 'cifar10' mapping holds no architectures")
    return entries


def read_naslib_zc(path: Path, source: str) -> pd.DataFrame:
    """Read either NASLib NB301 zero-cost JSON layout into reader rows (see the module doc)."""
    entries = _entries(load_json(path, "a NASLib zero-cost JSON file"), path)
    archs: list[str] = []
    values: dict[tuple[str, str], list[float]] = {}  # (metric, unit) -> one value per arch (NaN if absent)
    for n, (key, record) in enumerate(entries.items()):
        where = f"{path}: architecture {key!r:.80}"
        try:
            arch = format_arch(parse_arch(key))
        except EncodingError as exc:
            raise DataFormatError(f"{path}: key {key!r:.80} is not a NASLib compact DARTS encoding: {exc}") from None
        if not isinstance(record, dict) or "val_accuracy" not in record:
            raise DataFormatError(f"{where}: expected a record with 'val_accuracy' and proxy scores, found {record!r:.80}")
        if "arch" in record and record["arch"] != key:
            raise DataFormatError(f"{where}: its 'arch' field {record['arch']!r:.80} differs from its key")
        row: dict[tuple[str, str], float] = {("valid_accuracy", PERCENT): finite_number(record["val_accuracy"], f"{where} val_accuracy")}
        for proxy, entry in record.items():
            if proxy in _NON_PROXY_KEYS:
                continue
            if proxy not in NASLIB_PROXIES:
                raise DataFormatError(f"{where}: unknown zero-cost proxy {proxy!r}; expected one of: {', '.join(NASLIB_PROXIES)}")
            if isinstance(entry, dict):  # 725 release: {"score": s, "time": t}
                if "score" not in entry:
                    raise DataFormatError(f"{where}: proxy {proxy!r} must hold a 'score', found keys {sorted(entry)}")
                row[(f"zc_{proxy}", SCORE)] = finite_number(entry["score"], f"{where} {proxy}.score")
                if "time" in entry:
                    row[(f"zc_{proxy}_time", SECONDS)] = finite_number(entry["time"], f"{where} {proxy}.time")
            else:  # 500 release: the score itself
                row[(f"zc_{proxy}", SCORE)] = finite_number(entry, f"{where} {proxy}")
        for k in row.keys() - values.keys():
            values[k] = [math.nan] * n
        for k, column in values.items():
            column.append(row.get(k, math.nan))
        archs.append(arch)
    arch_array = np.array(archs, dtype=object)
    blocks = []
    for (metric, unit), column in sorted(values.items()):
        blocks.append(metric_rows(source=source, space="darts", arch=arch_array, dataset=_DATASET, metric=metric,
                                  value=np.array(column), unit=unit,
                                  fidelity=NB301_EPOCHS if metric == "valid_accuracy" else None))
    return concat_rows(blocks)


_PROVIDES = ("valid_accuracy",) + tuple(f"zc_{p}" for p in NASLIB_PROXIES) + tuple(f"zc_{p}_time" for p in NASLIB_PROXIES)


class _NaslibZcReader(BenchmarkReader):
    space = "darts"
    provides = _PROVIDES

    def _read(self, path: Path) -> pd.DataFrame:
        return read_naslib_zc(path, self.name)

    def _expected(self) -> str:
        return f"a NASLib NB301 zero-cost JSON file ({self.default_relpath})"


@READERS.register("nb301_naslib_zc")
class Nb301NaslibZcReader(_NaslibZcReader):
    """725 NB301 architectures: NASLib validation accuracy, 12 zero-cost scores and their compute times."""

    name = "nb301_naslib_zc"
    description = ("NAS-Bench-301 (DARTS space, CIFAR-10): 725 architectures with validation accuracy and 12 "
                   "zero-cost proxy scores plus compute times (NAS-Bench-Suite-Zero, automl/NASLib, Apache-2.0)")
    default_relpath = "darts_nb301/naslib_zc_nasbench301_725.json"
    num_archs = 725


@READERS.register("nb301_naslib_zc500")
class Nb301NaslibZc500Reader(_NaslibZcReader):
    """500 NB301 architectures: NASLib validation accuracy and 11 zero-cost scores (no times)."""

    name = "nb301_naslib_zc500"
    description = ("NAS-Bench-301 (DARTS space, CIFAR-10): 500 architectures with validation accuracy and 11 "
                   "zero-cost proxy scores (NASLib's earlier NB301 release, automl/NASLib, Apache-2.0)")
    default_relpath = "darts_nb301/naslib_zc_nasbench301_500.json"
    num_archs = 500
