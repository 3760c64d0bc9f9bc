"""The benchmark-reader protocol, its registry, and the helpers that build a reader's long table.

A reader turns one benchmark file, in the format its authors published, into a long table with
exactly :data:`~archbench.datasets.schema.READER_COLUMNS`:

========  ======================================================================================
space     search-space name (``"nb201"``)
arch      the space's native string encoding (the official NB201 string)
source    the reader's registry name
dataset   ``"cifar10"``, ``"cifar100"``, ``"imagenet16-120"`` or a task name
metric    ``test_accuracy``, ``valid_accuracy``, ``latency``, ``energy``, ...
fidelity  training epochs (float) or NaN where it does not apply
device    short stable device name (str) or None for device-independent metrics
value     float; never NaN: a value missing in the original file drops its row
unit      ``"%"``, ``"ms"``, ``"mJ"``, ``"ms^2"``, or ``"1"`` for a dimensionless score
seed      Int64 training seed, or NA for a mean over seeds
========  ======================================================================================
"""
from __future__ import annotations

import json
import math
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Iterable, Sequence

import numpy as np
import pandas as pd

from archbench.datasets.schema import READER_COLUMNS
from archbench.errors import DataFormatError
from archbench.registry import Registry

#: Every registered reader class, by name.
READERS: Registry[type["BenchmarkReader"]] = Registry("benchmark reader")

#: Units used by the readers (one place, so the same quantity always has the same unit string).
PERCENT, MILLISECONDS, MILLIJOULES, MILLISECONDS_SQUARED, DIMENSIONLESS = "%", "ms", "mJ", "ms^2", "1"
#: Zero-cost proxy scores ("zc_<proxy>") and compute times ("zc_<proxy>_time", "train_time", ...).
SCORE, SECONDS = "score", "s"

_STRING_COLUMNS = ("space", "arch", "source", "dataset", "metric", "unit")


class BenchmarkReader(ABC):
    """Reads one benchmark's labels from its original file into the long reader table.

    Subclasses set the class attributes and implement :meth:`_read`; :meth:`read` locates the
    file, calls it and checks the result (columns, dtypes, at least one row).
    """

    #: registry name, also written to the ``source`` column
    name: ClassVar[str] = ""
    #: search space of every row
    space: ClassVar[str] = "nb201"
    #: one line: what the benchmark is, where it comes from, its licence
    description: ClassVar[str] = ""
    #: metric names this reader can emit
    provides: ClassVar[tuple[str, ...]] = ()
    #: file (or folder) relative to a data dir laid out like ``../shared/data``; None for
    #: readers of data shipped inside a PyPI package
    default_relpath: ClassVar[str | None] = None
    #: distinct architectures in the complete published file (None if it varies)
    num_archs: ClassVar[int | None] = None
    #: the space's network config (``SearchSpace.configs``) every row was measured on: the
    #: build puts the labels on that config's graphs. None: the space's default config.
    config: ClassVar[str | None] = None
    #: instead of one ``config``: the reader-table column that names each row's config
    #: (``"dataset"`` where every dataset is its own network, as in NAS-Bench-Graph)
    config_column: ClassVar[str | None] = None

    def locate(self, path: str | Path | None = None, data_dir: str | Path | None = None) -> Path:
        """The file to read: ``path`` if given, else ``data_dir/default_relpath``, else the package's file.

        Raises:
            DataFormatError: nothing to read at the chosen place (the message says what was expected where).
        """
        if path is not None:
            where, how = Path(path), "given path"
        elif data_dir is not None and self.default_relpath is not None:
            where, how = Path(data_dir) / self.default_relpath, f"data dir {data_dir}"
        else:
            where, how = self._package_file(), "installed package"
        if not where.exists():
            raise DataFormatError(
                f"benchmark reader {self.name!r}: expected {self._expected()} at {where} ({how}), but it does not exist")
        return where

    def read(self, path: str | Path | None = None, data_dir: str | Path | None = None) -> pd.DataFrame:
        """The benchmark's labels as a long table with exactly ``READER_COLUMNS`` (see module doc)."""
        where = self.locate(path, data_dir)
        frame = self._read(where)
        if len(frame) == 0:
            raise DataFormatError(
                f"benchmark reader {self.name!r}: {where} holds no usable rows (every value is missing); "
                f"expected {self._expected()}")
        return frame

    @abstractmethod
    def _read(self, path: Path) -> pd.DataFrame:
        """Read ``path`` (already located); return :func:`concat_rows` of :func:`metric_rows` blocks."""

    def _package_file(self) -> Path:
        """The data file inside an installed package (readers of PyPI-package data override this)."""
        raise DataFormatError(
            f"benchmark reader {self.name!r} reads {self._expected()}; pass path=... or data_dir=... "
            f"(a folder laid out like the shared data dir, holding {self.default_relpath})")

    def _expected(self) -> str:
        """Short description of the expected input, for error messages."""
        return self.default_relpath or "its data file"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r})"


def metric_rows(*, source: str, space: str, arch: Sequence[str] | np.ndarray, dataset: Any, metric: Any,
                value: Any, unit: Any, fidelity: Any = None, device: Any = None, seed: Any = None) -> pd.DataFrame:
    """One block of reader rows; rows whose value is NaN are dropped.

    Args:
        arch: native strings, one per row (length n).
        dataset, metric, unit, device: a string for every row or a length-n array of strings.
        value: length-n array (or scalar) of floats; NaN means missing and drops the row.
        fidelity: epochs (scalar or length-n array), None/NaN where it does not apply.
        seed: int (scalar or length-n), None for a mean over seeds.

    Returns:
        DataFrame with exactly ``READER_COLUMNS`` and the reader dtypes.
    """
    arch = np.asarray(arch, dtype=object)
    n = len(arch)
    values = np.broadcast_to(np.asarray(value, dtype=float), (n,))
    keep = ~np.isnan(values)

    def column(x: Any, dtype: Any) -> np.ndarray:
        return np.broadcast_to(np.asarray(x, dtype=dtype), (n,))[keep]

    def text(x: Any) -> pd.Series:
        # object dtype on every pandas version (pandas 3 would otherwise infer its "str" dtype)
        return pd.Series(column(x, object), dtype=object)

    fid = np.nan if fidelity is None else fidelity
    frame = pd.DataFrame({
        "space": text(space),
        "arch": pd.Series(arch[keep], dtype=object),
        "source": text(source),
        "dataset": text(dataset),
        "metric": text(metric),
        "fidelity": column(fid, float),
        "device": text(device),
        "value": values[keep],
        "unit": text(unit),
        "seed": pd.array(column(seed, object), dtype="Int64") if seed is not None
        else pd.arrays.IntegerArray(np.zeros(int(keep.sum()), np.int64), np.ones(int(keep.sum()), bool)),
    }, columns=list(READER_COLUMNS))
    return frame


def concat_rows(blocks: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Stack :func:`metric_rows` blocks into one reader table (index 0..n-1, reader dtypes kept)."""
    blocks = [b for b in blocks if len(b)]
    if not blocks:
        return empty_rows()
    frame = pd.concat(blocks, ignore_index=True)
    frame["seed"] = frame["seed"].astype("Int64")
    for col in (*_STRING_COLUMNS, "device"):
        if frame[col].dtype != object:
            frame[col] = frame[col].astype(object)
    return frame


def empty_rows() -> pd.DataFrame:
    """A reader table with no rows (the reader dtypes)."""
    return metric_rows(source="", space="", arch=np.array([], dtype=object), dataset="", metric="",
                       value=np.array([], dtype=float), unit="")


def _expect(condition: Any, message: str) -> None:
    # explicit raise rather than assert, so the check survives python -O
    if not condition:
        raise AssertionError(message)


def check_reader_frame(frame: pd.DataFrame, reader: BenchmarkReader | None = None) -> None:
    """Raise AssertionError unless ``frame`` follows the reader contract (used by the tests and the build).

    Checks columns, dtypes, that ``value`` has no NaN, and with ``reader``: ``source``/``space``
    and that every metric emitted is listed in ``reader.provides``.
    """
    _expect(tuple(frame.columns) == READER_COLUMNS, f"columns {tuple(frame.columns)} != {READER_COLUMNS}")
    for col in _STRING_COLUMNS:
        _expect(frame[col].dtype == object, f"column {col!r} has dtype {frame[col].dtype}, expected object (str)")
        bad = frame[col].map(type) != str
        if bad.any():
            raise AssertionError(f"column {col!r} holds non-strings, e.g. {frame.loc[bad, col].iloc[0]!r}")
    _expect(frame["fidelity"].dtype == np.float64, f"fidelity dtype {frame['fidelity'].dtype}, expected float64")
    _expect(frame["value"].dtype == np.float64, f"value dtype {frame['value'].dtype}, expected float64")
    _expect(str(frame["seed"].dtype) == "Int64", f"seed dtype {frame['seed'].dtype}, expected Int64")
    _expect(frame["device"].dtype == object, f"device dtype {frame['device'].dtype}, expected object")
    bad = frame["device"].map(lambda d: d is not None and type(d) is not str)
    if bad.any():
        raise AssertionError(f"device holds non-strings, e.g. {frame.loc[bad, 'device'].iloc[0]!r}")
    _expect(not frame["value"].isna().any(), "value holds NaN (missing values must drop their row)")
    if reader is not None:
        _expect((frame["source"] == reader.name).all(), f"source is not {reader.name!r} everywhere")
        _expect((frame["space"] == reader.space).all(), f"space is not {reader.space!r} everywhere")
        extra = set(frame["metric"].unique()) - set(reader.provides)
        _expect(not extra, f"reader {reader.name!r} emits metrics {sorted(extra)} missing from provides")


def require_columns(found: Iterable[str], required: Iterable[str], path: Path | str, what: str) -> None:
    """Raise :class:`DataFormatError` naming the missing columns, unless all ``required`` are in ``found``."""
    found = list(found)
    missing = [c for c in required if c not in found]
    if missing:
        raise DataFormatError(f"{path} is not {what}: it lacks column(s) {missing}; found columns {found}")


def package_data_path(reader: str, package: str, pip_name: str, relpath: str) -> Path:
    """``relpath`` inside an installed package, located WITHOUT importing (executing) the package.

    ``importlib.util.find_spec`` of a top-level name finds its folder without running its code.
    """
    import importlib.util

    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataFormatError(
            f"benchmark reader {reader!r} reads {package}/{relpath} from the PyPI package {pip_name}, "
            f"which is not installed (pip install {pip_name}), or pass path=.../{relpath}")
    return Path(next(iter(spec.submodule_search_locations))) / relpath



def finite_number(value: Any, where: str) -> float:
    """``value`` as a float, or :class:`DataFormatError` when it is not a finite number (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise DataFormatError(f"{where}: expected a finite number, found {value!r:.60}")
    return float(value)


def load_json(raw: bytes | Path, what: str, where: str | Path | None = None) -> Any:
    """Parse JSON from a file or bytes; errors name ``what`` the file was expected to be and why it is not."""
    where = where if where is not None else raw
    try:
        return json.loads(raw.read_bytes() if isinstance(raw, Path) else raw)
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{where}: expected {what}, could not parse it: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{where}: expected {what}, could not read it: {exc}") from None
