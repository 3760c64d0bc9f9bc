"""Data home, manifest commits, schema versions and damaged files."""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from archbench.datasets.build import build
from archbench.datasets.catalog import QueryError, connect, query
from archbench.datasets.schema import METADATA_KEY, SCHEMA_VERSION, check_file_schema, table_schema
from archbench.datasets.store import Store, data_home, write_parquet
from archbench.errors import DataFormatError, SchemaVersionError


def test_data_home_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("ARCHBENCH_HOME", str(tmp_path / "env"))
    assert data_home() == (tmp_path / "env").resolve()
    assert data_home(tmp_path / "flag") == (tmp_path / "flag").resolve()
    monkeypatch.delenv("ARCHBENCH_HOME")
    assert data_home().name == "archbench"  # the user cache dir


def test_write_parquet_is_atomic_and_tagged(tmp_path):
    schema = table_schema("edges")
    t = pa.table({"arch_id": ["a"], "src": [0], "dst": [1], "slot": [0]})
    path = write_parquet(t, "edges", tmp_path / "e.parquet")
    assert [p.name for p in tmp_path.iterdir()] == ["e.parquet"]  # no temp file left
    read = pq.read_schema(path)
    assert json.loads(read.metadata[METADATA_KEY]) == {"table": "edges", "version": SCHEMA_VERSION}
    assert read.remove_metadata().equals(schema.remove_metadata())


def test_newer_schema_version_is_refused(tmp_path):
    t = pa.table({"arch_id": ["a"], "src": [0], "dst": [1], "slot": [0]})
    newer = t.replace_schema_metadata({METADATA_KEY: json.dumps({"table": "edges", "version": SCHEMA_VERSION + 1})})
    pq.write_table(newer, tmp_path / "new.parquet")
    with pytest.raises(SchemaVersionError, match=rf"schema v{SCHEMA_VERSION + 1}.*reads up to v{SCHEMA_VERSION}"):
        check_file_schema("edges", pq.read_schema(tmp_path / "new.parquet"), "new.parquet")
    pq.write_table(t, tmp_path / "plain.parquet")
    with pytest.raises(DataFormatError, match="not an archbench 'edges' table"):
        check_file_schema("edges", pq.read_schema(tmp_path / "plain.parquet"), "plain.parquet")


def test_v1_tables_and_manifest_stay_readable(home):
    # v2 only added the network config to non-default arch ids; a v1 home (one config per space,
    # plain ids) is still valid v2 data, so it must read as it is.
    build("tinychain", home=home, sources=[], workers=1, limit=3, progress=False)
    store = Store(home)
    for path in store.table_files("archs"):
        table = pq.read_table(path)
        pq.write_table(table.replace_schema_metadata({METADATA_KEY: json.dumps({"table": "archs", "version": 1})}), path)
    raw = json.loads(store.manifest_path.read_text())
    raw["schema_version"] = 1
    store.manifest_path.write_text(json.dumps(raw))
    assert store.read_table("archs").num_rows == 3


def test_newer_manifest_is_refused(home):
    build("tinychain", home=home, sources=[], workers=1, limit=3, progress=False)
    path = home / "manifest.json"
    raw = json.loads(path.read_text())
    raw["schema_version"] = SCHEMA_VERSION + 1
    path.write_text(json.dumps(raw))
    with pytest.raises(SchemaVersionError, match="newer archbench"):
        Store(home).manifest()


def test_truncated_table_file_gives_clear_errors(home):
    build("tinychain", home=home, sources=[], workers=1, limit=4, progress=False)
    store = Store(home)
    victim = store.table_files("nodes")[0]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match="not a readable Parquet file .*truncated or corrupt"):
        store.read_table("nodes")
    # DuckDB reads the same damaged file: a QueryError, not a traceback.
    with pytest.raises(QueryError, match="Available tables"):
        query("SELECT sum(params) FROM nodes", home=home)


def test_read_table_and_empty_tables(home):
    build("tinychain", home=home, sources=[], workers=1, limit=4, progress=False)
    store = Store(home)
    archs = store.read_table("archs")
    assert archs.num_rows == 4 and archs.schema.names == table_schema("archs").names
    assert store.read_table("metrics").num_rows == 0  # nothing labelled: an empty, typed table
    with connect(home) as con:
        assert con.execute("SELECT count(*) FROM metrics").fetchone()[0] == 0
    with pytest.raises(DataFormatError, match="unknown table 'arch'; expected one of: archs, nodes, edges, metrics"):
        store.read_table("arch")


def test_garbage_from_interrupted_commit_is_collected(home):
    build("tinychain", home=home, sources=[], workers=1, limit=3, progress=False)
    stray = home / "tables" / "nodes" / "tinychain-g999999-0-0000.parquet"
    stray.write_bytes(b"left by a build killed between rename and manifest swap")
    assert Store(home).collect_garbage() == 1 and not stray.exists()
