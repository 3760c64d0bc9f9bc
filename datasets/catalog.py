"""DuckDB over the Parquet tables. All of archbench's SQL lives in this module.

``connect()`` opens ``catalog.duckdb`` of the data home read-only; that file holds one view per
table (``archs``, ``nodes``, ``edges``, ``metrics``) over the files the manifest lists, and is
rebuilt whenever the manifest changes. Queries run straight on the Parquet files.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import duckdb
import pandas as pd

from archbench.errors import ArchbenchError

from .schema import TABLES
from .store import Store

_DUCKDB_TYPES = {"string": "VARCHAR", "int8": "TINYINT", "int16": "SMALLINT", "int32": "INTEGER",
                 "int64": "BIGINT", "double": "DOUBLE", "float": "FLOAT"}


class QueryError(ArchbenchError):
    """A SQL query failed; the message holds DuckDB's error and the tables one can query."""


@dataclass(frozen=True)
class ExampleQuery:
    """A named, parameterized query shown in the README and timed by the benchmark script."""

    name: str
    sql: str
    params: tuple[Any, ...]
    doc: str


#: Representative queries (the benchmark times them; the README shows them).
EXAMPLE_QUERIES: tuple[ExampleQuery, ...] = (
    ExampleQuery(
        "top10_under_budget",
        """
        SELECT a.arch_id, a.encoding, a.params, acc.value AS test_accuracy, lat.value AS latency_ms
        FROM archs a
        JOIN metrics acc ON acc.arch_id = a.arch_id AND acc.metric = 'test_accuracy'
             AND acc.dataset = ? AND acc.fidelity = 200
        LEFT JOIN metrics lat ON lat.arch_id = a.arch_id AND lat.metric = 'latency' AND lat.device = ?
        WHERE a.space = ? AND a.params <= ?
        ORDER BY test_accuracy DESC
        LIMIT 10
        """,
        ("cifar10", "raspi4", "nb201", 500_000),
        "the ten most accurate NB201 networks under 0.5 M parameters, with their latency on a device",
    ),
    ExampleQuery(
        "accuracy_by_op_count",
        """
        SELECT n.conv3x3, count(*) AS archs, avg(m.value) AS mean_accuracy, max(m.value) AS best_accuracy
        FROM (SELECT arch_id, count(*) FILTER (WHERE op = 'conv' AND kernel = 3) AS conv3x3
              FROM nodes GROUP BY arch_id) n
        JOIN metrics m ON m.arch_id = n.arch_id AND m.metric = 'test_accuracy' AND m.fidelity = 200
        GROUP BY n.conv3x3 ORDER BY n.conv3x3
        """,
        (),
        "accuracy against the number of 3x3 convolutions in the whole network (a nodes-table aggregate)",
    ),
    ExampleQuery(
        "sources_summary",
        """
        SELECT space, source, dataset, metric, count(*) AS n_rows, count(DISTINCT arch_id) AS n_archs,
               min(value) AS min, max(value) AS max
        FROM metrics GROUP BY ALL ORDER BY ALL
        """,
        (),
        "what every source contributed",
    ),
)


def _view_sql(table: str, files: Sequence[Path]) -> str:
    schema = TABLES[table]
    cols = ", ".join(f'CAST({f.name} AS {_DUCKDB_TYPES[str(f.type)]}) AS {f.name}' for f in schema)
    if not files:
        nulls = ", ".join(f"CAST(NULL AS {_DUCKDB_TYPES[str(f.type)]}) AS {f.name}" for f in schema)
        return f"CREATE VIEW {table} AS SELECT {nulls} WHERE false"
    listing = ", ".join("'" + str(p).replace("'", "''") + "'" for p in files)
    return f"CREATE VIEW {table} AS SELECT {cols} FROM read_parquet([{listing}], union_by_name = true)"


def refresh_catalog(store: Store) -> Path:
    """(Re)write ``catalog.duckdb`` with one view per table for the current manifest."""
    path = store.home / "catalog.duckdb"
    with store.writer_lock():
        manifest = store.manifest()
        if _catalog_is_current(path, store, manifest.generation):
            return path
        fd, tmp = tempfile.mkstemp(dir=store.home, prefix=".catalog.", suffix=".duckdb")
        os.close(fd)
        os.unlink(tmp)  # DuckDB must create the file itself
        try:
            con = duckdb.connect(tmp)
            try:
                for table in TABLES:
                    con.execute(_view_sql(table, store.table_files(table, manifest)))
                con.execute("CREATE TABLE _archbench_catalog (generation BIGINT, home VARCHAR)")
                con.execute("INSERT INTO _archbench_catalog VALUES (?, ?)", [manifest.generation, str(store.home)])
            finally:
                con.close()
            os.replace(tmp, path)
        finally:
            for leftover in (tmp, tmp + ".wal"):
                if os.path.exists(leftover):
                    os.unlink(leftover)
    return path


def _catalog_is_current(path: Path, store: Store, generation: int) -> bool:
    if not path.exists():
        return False
    try:
        con = duckdb.connect(str(path), read_only=True)
        try:
            row = con.execute("SELECT generation, home FROM _archbench_catalog").fetchone()
        finally:
            con.close()
    except duckdb.Error:
        return False
    return row is not None and row[0] == generation and row[1] == str(store.home)


def connect(home: str | os.PathLike | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only DuckDB connection with ``archs``, ``nodes``, ``edges`` and ``metrics`` views."""
    store = Store(home)
    if not store.manifest_path.exists():
        raise ArchbenchError(f"no archbench tables in {store.home}; build some first: archbench build nb201")
    path = refresh_catalog(store)
    return duckdb.connect(str(path), read_only=True)


def describe_tables() -> str:
    """One line per table: its name and columns (for error messages and ``archbench tables``).

    Taken from the schema, not from the files, so it also works when a file is damaged.
    """
    return "\n".join(f"  {table}({', '.join(schema.names)})" for table, schema in TABLES.items())


def query(sql: str, params: Sequence[Any] | None = None, home: str | os.PathLike | None = None,
          con: duckdb.DuckDBPyConnection | None = None) -> pd.DataFrame:
    """Run ``sql`` (with ``?`` parameters) on the tables and return a DataFrame.

    A DuckDB error becomes :class:`QueryError` with DuckDB's message and the available tables.
    """
    own = con is None
    con = con or connect(home)
    try:
        try:
            return con.execute(sql, list(params or [])).df()
        except duckdb.Error as err:
            raise QueryError(f"{type(err).__name__}: {err}\n\nAvailable tables:\n{describe_tables()}") from None
    finally:
        if own:
            con.close()


def table_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Row count of every table."""
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def space_summary(con: duckdb.DuckDBPyConnection, space: str) -> pd.DataFrame:
    """Per space: architectures, distinct canonical hashes and representatives, params/FLOPs ranges."""
    return con.execute(
        """
        SELECT space, config, count(*) AS archs, count(DISTINCT canonical_hash) AS canonical_classes,
               count(DISTINCT rep_arch_id) AS benchmark_classes, min(params) AS min_params,
               max(params) AS max_params, min(flops) AS min_flops, max(flops) AS max_flops,
               avg(num_nodes) AS mean_nodes
        FROM archs WHERE space = ? GROUP BY space, config
        """, [space]).df()


def metrics_summary(con: duckdb.DuckDBPyConnection, space: str) -> pd.DataFrame:
    """Per network config, source, dataset and metric of a space: rows, architectures and value range."""
    return con.execute(
        """
        SELECT a.config, m.source, m.dataset, m.metric, count(*) AS n_rows, count(DISTINCT m.arch_id) AS n_archs,
               count(DISTINCT m.device) AS devices, min(m.value) AS min, max(m.value) AS max
        FROM metrics m LEFT JOIN archs a ON a.arch_id = m.arch_id
        WHERE m.space = ? GROUP BY ALL ORDER BY ALL
        """, [space]).df()


def write_result(df: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Save a query result as CSV or Parquet, chosen by the file suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        df.to_csv(path, index=False)
    elif suffix in (".parquet", ".pq"):
        df.to_parquet(path, index=False)
    else:
        raise ArchbenchError(f"cannot write {path}: expected a .csv or .parquet file name, found suffix {suffix!r}")
    return path


def label_values(con: duckdb.DuckDBPyConnection, space: str, metric: str, *, dataset: str | None = None,
                 source: str | None = None, fidelity: float | None = None, device: str | None = None,
                 config_tag: str | None = None) -> pd.DataFrame:
    """One value per architecture and label set (source, dataset, fidelity, device) of ``metric``.

    Filters left as None match anything; ``config_tag`` (``SearchSpace.config_tag``, e.g.
    ``"darts@pt_darts"``) keeps the ``arch_id``s of one network config. Per-seed rows are averaged.
    Columns: ``arch_id``, ``source``, ``dataset``, ``fidelity``, ``device``, ``value``. Used by the
    search oracle.
    """
    return con.execute(
        """
        SELECT arch_id, source, dataset, fidelity, device, avg(value) AS value
        FROM metrics
        WHERE space = ? AND metric = ?
          AND (CAST(? AS VARCHAR) IS NULL OR dataset = ?)
          AND (CAST(? AS VARCHAR) IS NULL OR source = ?)
          AND (CAST(? AS DOUBLE) IS NULL OR abs(fidelity - ?) < 1e-9)
          AND (CAST(? AS VARCHAR) IS NULL OR device = ?)
          AND (CAST(? AS VARCHAR) IS NULL OR starts_with(arch_id, ? || ':'))
        GROUP BY arch_id, source, dataset, fidelity, device
        ORDER BY arch_id
        """, [space, metric, dataset, dataset, source, source, fidelity, fidelity, device, device,
              config_tag, config_tag]).df()


def arch_totals(con: duckdb.DuckDBPyConnection, space: str, config_tag: str | None = None) -> pd.DataFrame:
    """``arch_id``, ``encoding``, ``params`` and ``flops`` of every architecture of ``space``
    (of one network config with ``config_tag``, see :func:`label_values`)."""
    return con.execute(
        """
        SELECT arch_id, encoding, params, flops FROM archs
        WHERE space = ? AND (CAST(? AS VARCHAR) IS NULL OR starts_with(arch_id, ? || ':'))
        ORDER BY arch_id
        """, [space, config_tag, config_tag]).df()


#: Label of the row of :func:`compare_spaces` that covers every built architecture of a space.
ALL_TASKS = "(all)"


def compare_spaces(con: duckdb.DuckDBPyConnection, test_metric: str = "test_accuracy",
                   valid_metric: str = "valid_accuracy") -> pd.DataFrame:
    """Spaces side by side: per space, network config and task, architectures, params and FLOPs ranges, best accuracy.

    One row per space and config with task ``"(all)"`` (every built architecture), then one per
    task (metrics ``dataset``) with the architectures that have any label for it. An
    architecture's accuracy on a task is the mean over seeds and sources at its highest fidelity
    (null fidelity, e.g. a surrogate's final value, counts as highest); ``best_*`` is the maximum
    over the config's architectures. Params and FLOPs are those of the config's networks.

    Args:
        con: a connection from :func:`connect`.
        test_metric, valid_metric: metric names of the two accuracy columns.
    """
    return con.execute(
        """
        WITH per_task AS (
            SELECT DISTINCT space, dataset AS task, arch_id FROM metrics
            UNION ALL
            SELECT space, ? AS task, arch_id FROM archs
        ),
        accuracy AS (
            SELECT m.space, a.config, m.dataset, m.arch_id, m.metric, avg(m.value) AS value
            FROM metrics m JOIN archs a ON a.arch_id = m.arch_id
            WHERE m.metric IN (?, ?)
            GROUP BY m.space, a.config, m.dataset, m.arch_id, m.metric, m.fidelity
            QUALIFY row_number() OVER (PARTITION BY m.space, a.config, m.dataset, m.arch_id, m.metric
                                       ORDER BY m.fidelity DESC NULLS FIRST) = 1
        ),
        best AS (
            SELECT space, config, dataset AS task, max(value) FILTER (WHERE metric = ?) AS best_test_accuracy,
                   max(value) FILTER (WHERE metric = ?) AS best_valid_accuracy
            FROM accuracy GROUP BY space, config, dataset
        )
        SELECT t.space, t.task, a.config, count(*) AS archs,
               min(a.params) AS min_params, max(a.params) AS max_params,
               min(a.flops) AS min_flops, max(a.flops) AS max_flops,
               any_value(b.best_test_accuracy) AS best_test_accuracy,
               any_value(b.best_valid_accuracy) AS best_valid_accuracy
        FROM per_task t
        JOIN archs a ON a.arch_id = t.arch_id
        LEFT JOIN best b ON b.space = t.space AND b.config = a.config AND b.task = t.task
        GROUP BY t.space, a.config, t.task
        ORDER BY t.space, a.config, t.task <> ?, t.task
        """, [ALL_TASKS, test_metric, valid_metric, test_metric, valid_metric, ALL_TASKS]).df()
