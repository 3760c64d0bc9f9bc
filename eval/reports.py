"""The results table: evaluation rows appended to the data home, queryable in DuckDB.

Each run is committed as its own unit ``results/<run_id>`` through the store's atomic manifest
swap, so runs never replace each other and builds of spaces leave them alone::

    archbench query "SELECT predictor, n_train, avg(kendall_tau) FROM results GROUP BY ALL ORDER BY ALL"
"""
from __future__ import annotations

import os
import time
import uuid

import numpy as np
import pandas as pd
import pyarrow as pa

from archbench.datasets.schema import RESULTS
from archbench.datasets.store import Store, write_parquet
from archbench.errors import DataFormatError

RESULT_COLUMNS: tuple[str, ...] = tuple(RESULTS.names)


def new_run_id() -> str:
    """A unique, time-ordered run id like ``20250101-120000-1a2b3c``."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + uuid.uuid4().hex[:6]


def results_table(rows: pd.DataFrame, run_id: str, created_at: float | None = None) -> pa.Table:
    """``rows`` (columns of :data:`RESULT_COLUMNS`, missing ones null) as an Arrow table of the schema."""
    unknown = [c for c in rows.columns if c not in RESULT_COLUMNS]
    if unknown:
        raise DataFormatError(f"results rows have columns {unknown} the results table lacks; expected a subset of "
                              f"{list(RESULT_COLUMNS)}")
    frame = rows.copy()
    frame["run_id"] = run_id
    frame["created_at"] = time.time() if created_at is None else created_at
    arrays = []
    for f in RESULTS:
        if f.name in frame.columns:
            values = frame[f.name]
            if pa.types.is_integer(f.type):
                values = values.astype("Int64")
            arrays.append(pa.array(values, type=f.type, from_pandas=True))
        else:
            arrays.append(pa.nulls(len(frame), type=f.type))
    return pa.Table.from_arrays(arrays, schema=RESULTS)


def append_results(rows: pd.DataFrame, home: str | os.PathLike | Store | None = None, run_id: str | None = None) -> str:
    """Commit ``rows`` as a new unit of the results table; returns the run id."""
    if rows.empty:
        raise DataFormatError("no result rows to append")
    from archbench.datasets.catalog import refresh_catalog

    store = home if isinstance(home, Store) else Store(home)
    run_id = run_id or new_run_id()
    table = results_table(rows, run_id)
    staged = store.staging_dir(f"results-{run_id}") / "results.parquet"
    write_parquet(table, "results", staged)
    try:
        with store.writer_lock():
            store.commit({f"results/{run_id}": {"results": [staged]}}, {f"results/{run_id}": {"rows": table.num_rows}})
    finally:
        store.drop_staging(f"results-{run_id}")
    refresh_catalog(store)
    return run_id


def read_results(home: str | os.PathLike | Store | None = None, run_id: str | None = None) -> pd.DataFrame:
    """The results table (one run's rows with ``run_id``) as a DataFrame."""
    store = home if isinstance(home, Store) else Store(home)
    df = store.read_table("results").to_pandas()
    return df if run_id is None else df[df["run_id"] == run_id].reset_index(drop=True)


def summarize(rows: pd.DataFrame, metrics: tuple[str, ...] = ("kendall_tau", "spearman"),
              by: tuple[str, ...] = ("task", "predictor", "k_shot", "n_train")) -> pd.DataFrame:
    """Mean, std and count over seeds of ``metrics`` per group (the table every figure is read from)."""
    keys = [c for c in by if c in rows.columns and rows[c].notna().any()]
    agg = rows.groupby(keys, dropna=False)[list(metrics) + [c for c in ("fit_seconds", "predict_seconds") if c in rows]]
    out = agg.agg(["mean", "std"])
    out.columns = [f"{m}_{s}" for m, s in out.columns]
    out["seeds"] = rows.groupby(keys, dropna=False).size()
    return out.reset_index()


def format_table(summary: pd.DataFrame, metric: str = "kendall_tau", row: str = "predictor", col: str = "n_train") -> str:
    """A plain-text grid ``row x col`` of ``mean +- std`` of ``metric`` (for terminals and reports)."""
    if summary.empty:
        return "(no results)"
    cols = sorted(summary[col].dropna().unique())
    rows = list(dict.fromkeys(summary[row]))
    width = max(len(str(r)) for r in rows) + 2
    lines = [f"{metric} (mean +- std over seeds)", " " * width + "".join(f"{str(c):>16}" for c in cols)]
    for r in rows:
        cells = []
        for c in cols:
            hit = summary[(summary[row] == r) & (summary[col] == c)]
            if hit.empty:
                cells.append(f"{'-':>16}")
            else:
                m, s = hit[f"{metric}_mean"].iloc[0], hit[f"{metric}_std"].iloc[0]
                cells.append(f"{m:>9.3f} +- {0.0 if np.isnan(s) else s:.3f}")
        lines.append(f"{str(r):<{width}}" + "".join(cells))
    return "\n".join(lines)


__all__ = ["RESULT_COLUMNS", "append_results", "format_table", "new_run_id", "read_results", "results_table",
           "summarize"]
