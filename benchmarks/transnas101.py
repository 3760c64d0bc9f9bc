"""TransNAS-Bench-101 task metrics and zero-cost scores from NASLib (NAS-Bench-Suite-Zero).

Three files of automl/NASLib (Apache-2.0), keyed by NASLib's op-index tuple string
(``"(1, 0, 0, 2, 1, 0)"``, see :func:`~archbench.graphs.spaces.transnas101.micro_from_naslib`):

- ``transnas101_micro_all_zen.zip``: ``zen/benchmark--transbench101_micro--<task>--<start>.json``
  members, lists of ``{"idx", "arch", "zen": {"score", "time"}, "val_accuracy"}``; all 4,096
  cells x 7 tasks;
- ``naslib_zc_transbench101_micro.json`` / ``_macro.json``: ``{task: {arch: {"idx", "arch",
  "val_accuracy", <proxy>: {"score", "time"}, ...}}}``, ~700 architectures per task, 11 proxies.

NASLib's ``val_accuracy`` field holds the metric TransNAS-Bench-101 reports for the task (NASLib's
``query`` maps it per task); rows use the benchmark's own metric names (:data:`TASK_METRICS`):
``valid_top1`` (%) for the classification and jigsaw tasks, ``valid_acc`` (pixel accuracy, %) for
semantic segmentation, ``valid_ssim`` (dimensionless) for surface normals and the autoencoder,
``valid_neg_loss`` (negative L2 loss, dimensionless) for room layout. ``dataset`` is the task name.
Proxies become ``zc_<proxy>`` (unit ``score``) and ``zc_<proxy>_time`` (unit ``s``).

NASLib writes ``-1e8`` where a proxy failed (epe_nas everywhere on these tasks, jacov and zen on
networks whose output is constant): those entries are missing values, so their rows are dropped.
The zen file and the JSON files were queried separately: for the same cell and task their task
metric can differ (different epoch choice), so each file is its own source.
"""
from __future__ import annotations

import math
import re
import zipfile
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from archbench.errors import DataFormatError, EncodingError
from archbench.graphs.spaces.transnas101 import (
    TASKS,
    format_macro,
    format_micro,
    macro_from_naslib,
    micro_from_naslib,
)

from .base import DIMENSIONLESS, PERCENT, READERS, BenchmarkReader, concat_rows, metric_rows
from .base import finite_number, load_json
from .base import SCORE, SECONDS
from .darts_naslib_zc import NASLIB_PROXIES

#: Task -> (metric TransNAS-Bench-101 reports and NASLib stores as ``val_accuracy``, its unit).
TASK_METRICS: dict[str, tuple[str, str]] = {
    "class_scene": ("valid_top1", PERCENT),
    "class_object": ("valid_top1", PERCENT),
    "room_layout": ("valid_neg_loss", DIMENSIONLESS),
    "jigsaw": ("valid_top1", PERCENT),
    "segmentsemantic": ("valid_acc", PERCENT),
    "normal": ("valid_ssim", DIMENSIONLESS),
    "autoencoder": ("valid_ssim", DIMENSIONLESS),
}
assert tuple(TASK_METRICS) == TASKS
#: Plausible range of each task metric; a value outside it means the wrong file or field.
_BOUNDS: dict[str, tuple[float, float]] = {"valid_top1": (0.0, 100.0), "valid_acc": (0.0, 100.0),
                                           "valid_ssim": (-1.0, 1.0), "valid_neg_loss": (-math.inf, 0.0)}
#: NASLib's marker of a proxy that could not be computed.
NASLIB_FAILED = -1e8

_TASK_METRIC_NAMES = tuple(dict.fromkeys(m for m, _ in TASK_METRICS.values()))
_ZEN_MEMBER = re.compile(r"(?:^|/)benchmark--transbench101_micro--([a-z_]+)--(\d+)\.json$")
_NON_PROXY_KEYS = frozenset({"idx", "arch", "val_accuracy"})
_JSON_WHAT = "NASLib TransNAS-Bench-101 JSON"


class _Table:
    """Collects (task, metric, unit) -> {native arch: value} and turns it into reader rows."""

    def __init__(self, source: str, space: str) -> None:
        self.source, self.space = source, space
        self.values: dict[tuple[str, str, str], dict[str, float]] = {}

    def put(self, task: str, metric: str, unit: str, arch: str, value: float, where: str) -> None:
        column = self.values.setdefault((task, metric, unit), {})
        if arch in column and column[arch] != value:
            raise DataFormatError(f"{where}: {arch!r} appears twice for task {task!r} with different {metric} "
                                  f"({column[arch]} and {value})")
        column[arch] = value

    def frame(self) -> pd.DataFrame:
        blocks = []
        for (task, metric, unit), column in sorted(self.values.items()):
            blocks.append(metric_rows(source=self.source, space=self.space, arch=np.array(list(column), dtype=object),
                                      dataset=task, metric=metric, value=np.fromiter(column.values(), float, len(column)),
                                      unit=unit))
        return concat_rows(blocks)


def _put_record(table: _Table, task: str, key: str, record: Any, to_arch: Callable[[str], str], where: str,
                proxies: Iterable[str] | None = None) -> None:
    """One NASLib record: the task metric and every ``{"score", "time"}`` proxy entry."""
    where = f"{where}: task {task!r}, architecture {key!r}"
    if not isinstance(record, dict):
        raise DataFormatError(f"{where}: expected a record dict with 'val_accuracy' and proxy scores, found {record!r:.80}")
    if "arch" in record and record["arch"] != key:
        raise DataFormatError(f"{where}: its 'arch' field {record['arch']!r:.80} differs from its key")
    arch = to_arch(key)
    metric, unit = TASK_METRICS[task]
    if record.get("val_accuracy") is not None:
        value = finite_number(record["val_accuracy"], f"{where} val_accuracy")
        low, high = _BOUNDS[metric]
        if not low <= value <= high:
            raise DataFormatError(f"{where}: val_accuracy should be TransNAS-Bench-101's {metric} for {task!r} "
                                  f"(in [{low}, {high}]), found {value}")
        table.put(task, metric, unit, arch, value, where)
    for proxy, entry in record.items():
        if proxy in _NON_PROXY_KEYS:
            continue
        if proxy not in NASLIB_PROXIES or (proxies is not None and proxy not in proxies):
            raise DataFormatError(f"{where}: unknown zero-cost proxy {proxy!r}; expected one of: "
                                  f"{', '.join(proxies or NASLIB_PROXIES)}")
        if not isinstance(entry, dict) or "score" not in entry:
            raise DataFormatError(f"{where}: proxy {proxy!r} must be {{'score': ..., 'time': ...}}, found {entry!r:.80}")
        score = finite_number(entry["score"], f"{where} {proxy}.score")
        if score != NASLIB_FAILED:
            table.put(task, f"zc_{proxy}", SCORE, arch, score, where)
        if entry.get("time") is not None:
            table.put(task, f"zc_{proxy}_time", SECONDS, arch, finite_number(entry["time"], f"{where} {proxy}.time"), where)


def _to_native(parse: Callable[[str], Any], fmt: Callable[[Any], str], cache: dict[str, str], where: str) -> Callable[[str], str]:
    def convert(key: str) -> str:
        try:
            return cache[key]
        except KeyError:
            try:
                cache[key] = fmt(parse(key))
            except EncodingError as exc:
                raise DataFormatError(f"{where}: key {key!r:.80} is not a NASLib TransNAS-Bench-101 op-index tuple: {exc}") from None
            return cache[key]

    return convert


def _check_task(task: Any, where: str) -> str:
    if task not in TASK_METRICS:
        raise DataFormatError(f"{where}: unknown TransNAS-Bench-101 task {task!r}; expected one of: {', '.join(TASKS)}")
    return task


def read_naslib_zc(path: Path, source: str, space: str) -> pd.DataFrame:
    """``naslib_zc_transbench101_{micro,macro}.json`` -> reader rows (see the module doc)."""
    data = load_json(path, _JSON_WHAT)
    if not isinstance(data, dict) or not data or not all(isinstance(v, dict) for v in data.values()):
        found = sorted(data)[:5] if isinstance(data, dict) else type(data).__name__
        raise DataFormatError(f"{path}: expected {{task: {{op-index tuple: record}}}} for the TransNAS-Bench-101 tasks, "
                              f"found {found}")
    parse, fmt = (micro_from_naslib, format_micro) if space == "transnas101_micro" else (macro_from_naslib, format_macro)
    to_arch = _to_native(parse, fmt, {}, str(path))
    table = _Table(source, space)
    for task, entries in data.items():
        _check_task(task, str(path))
        for key, record in entries.items():
            _put_record(table, task, key, record, to_arch, str(path))
    return table.frame()


def read_zen_zip(path: Path, source: str) -> pd.DataFrame:
    """``transnas101_micro_all_zen.zip`` -> reader rows for every cell and task (see the module doc)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataFormatError(f"{path}: expected NASLib's TransNAS-Bench-101 zen zip, could not open it: {exc}") from None
    table = _Table(source, "transnas101_micro")
    to_arch = _to_native(micro_from_naslib, format_micro, {}, str(path))
    with archive:
        members = [(m, _ZEN_MEMBER.search(m)) for m in archive.namelist() if m.endswith(".json")]
        if not any(match for _, match in members):
            raise DataFormatError(f"{path}: expected members 'zen/benchmark--transbench101_micro--<task>--<start>.json', "
                                  f"found {[m for m, _ in members][:5] or archive.namelist()[:5]}")
        for member, match in members:
            if match is None:
                raise DataFormatError(f"{path}: member {member!r} is not named 'benchmark--transbench101_micro--<task>--<start>.json'")
            where = f"{path}!{member}"
            task = _check_task(match.group(1), where)
            records = load_json(archive.read(member), _JSON_WHAT, where)
            if not isinstance(records, list):
                raise DataFormatError(f"{where}: expected a list of records, found {type(records).__name__}")
            for record in records:
                if not isinstance(record, dict) or "arch" not in record:
                    raise DataFormatError(f"{where}: expected records with 'arch', 'zen' and 'val_accuracy', found {record!r:.80}")
                _put_record(table, task, record["arch"], record, to_arch, where, proxies=("zen",))
    return table.frame()


_ZC_PROVIDES = tuple(f"zc_{p}" for p in NASLIB_PROXIES) + tuple(f"zc_{p}_time" for p in NASLIB_PROXIES)


@READERS.register("transnas101_micro_zen")
class TransNAS101MicroZenReader(BenchmarkReader):
    """All 4,096 TransNAS-Bench-101 cells on 7 tasks: task metric and zen score (NASLib zip)."""

    name = "transnas101_micro_zen"
    space = "transnas101_micro"
    description = ("TransNAS-Bench-101 micro space: all 4,096 cells x 7 tasks, validation metric and zen-NAS score "
                   "with its compute time (NAS-Bench-Suite-Zero, automl/NASLib, Apache-2.0)")
    provides = _TASK_METRIC_NAMES + ("zc_zen", "zc_zen_time")
    default_relpath = "transnas101/transnas101_micro_all_zen.zip"
    num_archs = 4096

    def _read(self, path: Path) -> pd.DataFrame:
        return read_zen_zip(path, self.name)


class _NaslibZcReader(BenchmarkReader):
    provides = _TASK_METRIC_NAMES + _ZC_PROVIDES

    def _read(self, path: Path) -> pd.DataFrame:
        return read_naslib_zc(path, self.name, self.space)

    def _expected(self) -> str:
        return f"a NASLib TransNAS-Bench-101 zero-cost JSON file ({self.default_relpath})"


@READERS.register("transnas101_micro_naslib_zc")
class TransNAS101MicroNaslibZcReader(_NaslibZcReader):
    """~700 TransNAS-Bench-101 cells per task: task metric, 11 zero-cost scores and their times."""

    name = "transnas101_micro_naslib_zc"
    space = "transnas101_micro"
    description = ("TransNAS-Bench-101 micro space: 711 cells x 7 tasks, validation metric and 11 zero-cost proxy "
                   "scores plus compute times (NAS-Bench-Suite-Zero, automl/NASLib, Apache-2.0)")
    default_relpath = "transnas101/naslib_zc_transbench101_micro.json"
    num_archs = None


@READERS.register("transnas101_macro_naslib_zc")
class TransNAS101MacroNaslibZcReader(_NaslibZcReader):
    """~700 TransNAS-Bench-101 skeletons per task: task metric, 11 zero-cost scores and their times."""

    name = "transnas101_macro_naslib_zc"
    space = "transnas101_macro"
    description = ("TransNAS-Bench-101 macro space: 662-725 skeletons x 7 tasks, validation metric and 11 zero-cost "
                   "proxy scores plus compute times (NAS-Bench-Suite-Zero, automl/NASLib, Apache-2.0)")
    default_relpath = "transnas101/naslib_zc_transbench101_macro.json"
    num_archs = None
