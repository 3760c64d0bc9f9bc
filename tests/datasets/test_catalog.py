"""DuckDB catalog: read-only views, parameterized queries, SQL errors, result files."""
from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from archbench.datasets.build import build
from archbench.datasets.catalog import QueryError, connect, query, write_result
from archbench.errors import ArchbenchError


@pytest.fixture
def built(home):
    build("tinychain", home=home, sources=[], workers=1, progress=False)
    return home


def test_connect_is_read_only_with_all_views(built):
    with connect(built) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        assert {"archs", "nodes", "edges", "metrics"} <= tables
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute("CREATE TABLE x AS SELECT 1")


def test_parameterized_query(built):
    df = query("SELECT count(*) AS n FROM archs WHERE space = ? AND params > ?", params=["tinychain", 0], home=built)
    assert df["n"][0] == 16


def test_bad_sql_names_the_error_and_the_tables(built):
    with pytest.raises(QueryError) as err:
        query("SELECT nope FROM archs", home=built)
    text = str(err.value)
    assert "nope" in text and "Available tables" in text and "archs(arch_id, space, encoding" in text
    with pytest.raises(QueryError, match="no_such_table"):
        query("SELECT * FROM no_such_table", home=built)


def test_connect_without_tables_says_what_to_do(home):
    with pytest.raises(ArchbenchError, match="archbench build nb201"):
        connect(home)


def test_catalog_follows_a_moved_home(built, tmp_path):
    moved = tmp_path / "moved"
    built.rename(moved)
    assert query("SELECT count(*) AS n FROM archs", home=moved)["n"][0] == 16


def test_write_result(tmp_path):
    df = pd.DataFrame({"a": [1, 2]})
    assert pd.read_csv(write_result(df, tmp_path / "r.csv")).equals(df)
    assert pd.read_parquet(write_result(df, tmp_path / "r.parquet")).equals(df)
    with pytest.raises(ArchbenchError, match=r"expected a .csv or .parquet file name, found suffix '.xlsx'"):
        write_result(df, tmp_path / "r.xlsx")
