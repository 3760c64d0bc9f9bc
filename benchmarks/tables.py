"""A general reader for CSV/Parquet tables of architectures plus metric columns.

Any table with one row per architecture (an NB201 string column and/or an official-index column)
and numeric metric columns becomes reader rows with :func:`read_arch_table`; a benchmark
published as such a table is then a few lines of configuration (see :mod:`.nats_csv`).
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from archbench.errors import DataFormatError, EncodingError

from .base import PERCENT, concat_rows, metric_rows, require_columns


@dataclass(frozen=True)
class MetricColumn:
    """How one numeric column of a table becomes metric rows.

    Args:
        metric: metric name (``test_accuracy``, ``latency`` ...).
        dataset: dataset or task name.
        fidelity: training epochs, None where it does not apply.
        device: device name, None for device-independent metrics.
        unit: unit of the column's values.
        seed: training seed, None for a mean over seeds.
        bounds: inclusive (low, high) range; a value outside it means the wrong file/column.
    """

    metric: str
    dataset: str
    fidelity: float | None = None
    device: str | None = None
    unit: str = PERCENT
    seed: int | None = None
    bounds: tuple[float, float] | None = None


@dataclass(frozen=True)
class _Codec:
    parse: Callable[[str], tuple]
    format: Callable[[tuple], str]
    index_to_arch: Callable[[int], tuple] | None
    arch_to_index: Callable[[tuple], int] | None


# Per space: module and function names of its string/index codec (imported on first use).
_CODEC_FUNCTIONS: dict[str, tuple[str, str, str, str | None, str | None]] = {
    "nb201": ("archbench.graphs.spaces.nb201", "parse_arch_str", "format_arch_str", "index_to_arch", "arch_to_index"),
}

_READERS_BY_SUFFIX = {".csv": "csv", ".tsv": "tsv", ".parquet": "parquet", ".pq": "parquet"}


def _codec(space: str) -> _Codec:
    try:
        module_name, *names = _CODEC_FUNCTIONS[space]
    except KeyError:
        raise DataFormatError(f"no architecture table codec for space {space!r}; expected one of: {', '.join(_CODEC_FUNCTIONS)}") from None
    module = importlib.import_module(module_name)
    return _Codec(*(getattr(module, n) if n else None for n in names))


def load_table(path: Path | str, columns: list[str], what: str, optional: Sequence[str] = ()) -> pd.DataFrame:
    """Read ``columns`` (and those of ``optional`` present) of a CSV/TSV/Parquet file; errors name the file.

    The format comes from the suffix. CSV/TSV cells are read as text (convert with
    :func:`numeric_column`); Parquet columns keep their types.

    Raises:
        DataFormatError: unknown suffix, empty/corrupt file, or a missing column.
    """
    path = Path(path)
    kind = _READERS_BY_SUFFIX.get(path.suffix.lower())
    if kind is None:
        raise DataFormatError(f"{path}: expected {what} as a table file ({', '.join(_READERS_BY_SUFFIX)}), found suffix {path.suffix!r}")
    if kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            names = pq.read_schema(path).names
            require_columns(names, columns, path, what)
            wanted = columns + [c for c in optional if c in names and c not in columns]
            return pq.read_table(path, columns=wanted).to_pandas()
        except (pa.ArrowException, OSError) as exc:
            raise DataFormatError(f"{path}: expected {what} as a Parquet file, could not read it: {exc}") from None
    try:
        header = pd.read_csv(path, sep="\t" if kind == "tsv" else ",", nrows=0).columns
        require_columns(header, columns, path, what)
        wanted = columns + [c for c in optional if c in header and c not in columns]
        # Keep text as text (no dtype guessing on the arch/index columns); numbers are converted later.
        return pd.read_csv(path, sep="\t" if kind == "tsv" else ",", usecols=wanted, dtype=str, keep_default_na=True)
    except pd.errors.EmptyDataError:
        raise DataFormatError(f"{path}: expected {what}, but the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{path}: expected {what} as {kind.upper()}, could not parse it: {exc}") from None


def numeric_column(values: pd.Series, column: str, path: Path | str) -> np.ndarray:
    """A column as float64 (blank/NA -> NaN); a non-numeric or infinite entry raises naming its row."""
    if pd.api.types.is_bool_dtype(values.dtype):
        raise DataFormatError(f"{path}: column {column!r} must be numeric, found booleans")
    out = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = (np.isnan(out) & values.notna().to_numpy()) | np.isinf(out)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataFormatError(f"{path}: column {column!r} must hold finite numbers, found {values.iloc[row]!r} at data row {row + 1}")
    return out


def _arch_strings_from_text(texts: pd.Series, column: str, codec: _Codec, path: Path | str) -> np.ndarray:
    if texts.isna().any():
        row = int(np.flatnonzero(texts.isna().to_numpy())[0])
        raise DataFormatError(f"{path}: column {column!r} must hold an architecture string on every row, found a blank at data row {row + 1}")
    codes, uniques = pd.factorize(texts.astype(str), sort=False)
    normalized = np.empty(len(uniques), dtype=object)
    for k, text in enumerate(uniques):
        try:
            normalized[k] = codec.format(codec.parse(text))
        except EncodingError as exc:
            row = int(np.flatnonzero(codes == k)[0])
            raise DataFormatError(f"{path}: malformed architecture string {text!r} at data row {row + 1} of column {column!r}: {exc}") from None
    return normalized[codes]


def _arch_strings_from_index(values: pd.Series, column: str, codec: _Codec, space: str, path: Path | str) -> np.ndarray:
    if codec.index_to_arch is None:
        raise DataFormatError(f"space {space!r} has no official index order; give an architecture string column instead")
    numbers = numeric_column(values, column, path)
    bad = np.isnan(numbers) | (numbers != np.round(numbers))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataFormatError(f"{path}: column {column!r} must hold an integer index on every row, found {values.iloc[row]!r} at data row {row + 1}")
    indices = numbers.astype(np.int64)
    uniques, inverse = np.unique(indices, return_inverse=True)
    strings = np.empty(len(uniques), dtype=object)
    for k, index in enumerate(uniques):
        try:
            strings[k] = codec.format(codec.index_to_arch(int(index)))
        except EncodingError as exc:
            row = int(np.flatnonzero(indices == index)[0])
            raise DataFormatError(f"{path}: bad {space} index {int(index)} at data row {row + 1} of column {column!r}: {exc}") from None
    return strings[inverse]


def resolve_archs(table: pd.DataFrame, *, space: str, arch_column: str | None, index_column: str | None,
                  path: Path | str) -> np.ndarray:
    """The native string of every row, from a string column, an official-index column, or both.

    With both columns the two must name the same architecture on every row (a mismatch means
    the index is not in the official order, i.e. the wrong file).
    """
    if arch_column is None and index_column is None:
        raise DataFormatError("an architecture table needs arch_column (native strings) or index_column (official indices); got neither")
    codec = _codec(space)
    from_text = _arch_strings_from_text(table[arch_column], arch_column, codec, path) if arch_column else None
    from_index = _arch_strings_from_index(table[index_column], index_column, codec, space, path) if index_column else None
    if from_text is not None and from_index is not None:
        differ = from_text != from_index
        if differ.any():
            row = int(np.flatnonzero(differ)[0])
            raise DataFormatError(
                f"{path}: {index_column!r} is not the official {space} index of {arch_column!r}: data row {row + 1} has "
                f"index {table[index_column].iloc[row]} (official arch {from_index[row]!r}) but string {from_text[row]!r}")
    return from_text if from_text is not None else from_index  # type: ignore[return-value]


def read_arch_table(path: Path | str, *, metrics: Mapping[str, MetricColumn | tuple], space: str = "nb201",
                    arch_column: str | None = None, index_column: str | None = None,
                    source: str = "arch_table", what: str = "an architecture table") -> pd.DataFrame:
    """Read a CSV/TSV/Parquet table of architectures and metric columns into reader rows.

    Args:
        path: the table; the format comes from the suffix (.csv, .tsv, .parquet, .pq).
        metrics: column name -> :class:`MetricColumn` saying what the column's numbers are (a
            tuple is taken as ``MetricColumn(*tuple)``: metric, dataset, fidelity, device, unit, ...).
        space: search space of the architectures (its parser validates every string).
        arch_column: column of native architecture strings.
        index_column: column of official indices (with ``arch_column`` too, both must agree).
        source: written to the ``source`` column (the calling reader's name).
        what: description of the expected file, used in error messages.

    Returns:
        Reader table (``READER_COLUMNS``); blank/NaN metric cells are dropped.

    Raises:
        DataFormatError: missing column, malformed arch string or index (naming the data row,
            1-based, header excluded), non-numeric or out-of-bounds metric value, unreadable file.
    """
    if not metrics:
        raise DataFormatError("read_arch_table needs at least one metric column; got none")
    metrics = {col: spec if isinstance(spec, MetricColumn) else MetricColumn(*spec) for col, spec in metrics.items()}
    arch_cols = [c for c in (arch_column, index_column) if c]
    table = load_table(path, list(dict.fromkeys(arch_cols + list(metrics))), what)
    if len(table) == 0:
        raise DataFormatError(f"{path}: expected {what}, found a header but no data rows")
    archs = resolve_archs(table, space=space, arch_column=arch_column, index_column=index_column, path=path)
    blocks = []
    for column, spec in metrics.items():
        values = numeric_column(table[column], column, path)
        if spec.bounds is not None:
            low, high = spec.bounds
            out = (values < low) | (values > high)
            if out.any():
                row = int(np.flatnonzero(out)[0])
                raise DataFormatError(f"{path}: column {column!r} ({spec.metric}, {spec.unit}) must lie in [{low}, {high}], "
                                      f"found {values[row]} at data row {row + 1}")
        blocks.append(metric_rows(source=source, space=space, arch=archs, dataset=spec.dataset, metric=spec.metric,
                                  value=values, unit=spec.unit, fidelity=spec.fidelity, device=spec.device,
                                  seed=spec.seed))
    return concat_rows(blocks)
