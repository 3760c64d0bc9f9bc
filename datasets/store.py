"""The data home: Parquet tables behind an atomically swapped manifest.

Layout of a data home::

    manifest.json            which files make up each table (the one commit point)
    tables/<table>/*.parquet immutable data files, named by the build that wrote them
    staging/<build key>/     chunk files of a build in progress (kept for resuming)
    catalog.duckdb           DuckDB views over the manifest's files (rebuilt when it changes)
    .lock                    writers hold an exclusive lock on it

Files are grouped in *units*: ``"nb201"`` holds the ``archs``/``nodes``/``edges`` files of a space's
default network config and ``"nb201/analognas"`` the ``metrics`` rows one source gave for them;
another config of the space has its own units, named by its tag (``"darts@pt_darts"``,
``"darts@pt_darts/darts_antoyang_random"``, see :meth:`SearchSpace.config_tag`), so configs live
side by side. A build replaces whole units and never touches another config's. Every data file is written under a temporary name and renamed into place, and the manifest
is replaced with ``os.replace``: a build killed at any point leaves the previous manifest, and so
the previous tables, readable and unchanged; files it left behind are removed by the next writer.
"""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from archbench.errors import DataFormatError, SchemaVersionError

from archbench.graphs.spaces.base import CONFIG_SEP

from .schema import SCHEMA_VERSION, TABLES, check_file_schema, table_schema

MANIFEST_FORMAT = 1
ENV_HOME = "ARCHBENCH_HOME"


def data_home(home: str | os.PathLike | None = None) -> Path:
    """The data home: ``home`` if given, else ``$ARCHBENCH_HOME``, else the user cache dir."""
    if home is not None:
        return Path(home).expanduser().resolve()
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser().resolve()
    import platformdirs

    return Path(platformdirs.user_cache_dir("archbench")).resolve()


def unit_space(unit: str) -> str:
    """The search space of a unit: ``"darts@pt_darts/darts_antoyang_random"`` -> ``"darts"``."""
    return unit.split("/", 1)[0].split(CONFIG_SEP, 1)[0]


@dataclass
class Manifest:
    """What the tables hold now: per unit, per table, the data files (relative to the home)."""

    generation: int = 0
    units: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    info: dict[str, dict] = field(default_factory=dict)

    def files(self, table: str) -> list[str]:
        return [f for unit in sorted(self.units) for f in self.units[unit].get(table, [])]

    def all_files(self) -> set[str]:
        return {f for unit in self.units.values() for files in unit.values() for f in files}

    def to_json(self) -> dict:
        return {"format": MANIFEST_FORMAT, "schema_version": SCHEMA_VERSION, "generation": self.generation,
                "units": self.units, "info": self.info}


class Store:
    """Reads and atomically updates the tables of one data home."""

    def __init__(self, home: str | os.PathLike | None = None) -> None:
        self.home = data_home(home)

    # ---- paths -----------------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.home / "manifest.json"

    @property
    def tables_dir(self) -> Path:
        return self.home / "tables"

    def staging_dir(self, key: str) -> Path:
        return self.home / "staging" / key

    # ---- manifest ----------------------------------------------------------------------------------
    def manifest(self) -> Manifest:
        """The committed manifest (an empty one if nothing was built yet)."""
        path = self.manifest_path
        if not path.exists():
            return Manifest()
        try:
            raw = json.loads(path.read_text())
            fmt, version = raw["format"], raw["schema_version"]
            manifest = Manifest(int(raw["generation"]), raw["units"], raw.get("info", {}))
        except (ValueError, KeyError, TypeError) as err:
            raise DataFormatError(f"{path} is not a valid archbench manifest ({err}); rebuild the data home or restore it") from None
        if fmt > MANIFEST_FORMAT or version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{path} was written by a newer archbench (manifest format {fmt}, table schema v{version}); this "
                f"archbench reads manifest format {MANIFEST_FORMAT}, schema v{SCHEMA_VERSION}: upgrade archbench")
        return manifest

    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Exclusive lock for anything that changes the home (builds, catalog refresh)."""
        self.home.mkdir(parents=True, exist_ok=True)
        with open(self.home / ".lock", "a+") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def commit(self, replace: dict[str, dict[str, list[Path]]], info: dict[str, dict] | None = None,
               drop: Iterable[str] = ()) -> Manifest:
        """Move staged files into the tables and swap the manifest so ``replace``'s units are new.

        Args:
            replace: unit -> table -> staged file paths. A unit given here loses all its old files.
            info: unit -> free-form build information recorded in the manifest.
            drop: units to remove altogether (in the same atomic swap).
        Must be called under :meth:`writer_lock`.
        """
        old = self.manifest()
        new = Manifest(old.generation + 1, {u: dict(t) for u, t in old.units.items()}, dict(old.info))
        for unit in drop:
            new.units.pop(unit, None)
            new.info.pop(unit, None)
        stamp = f"g{new.generation:06d}-{int(time.time())}"
        for unit, tables in replace.items():
            new.units[unit] = {}
            for table, paths in tables.items():
                if table not in TABLES:
                    raise DataFormatError(f"unknown table {table!r}; expected one of: {', '.join(TABLES)}")
                target_dir = self.tables_dir / table
                target_dir.mkdir(parents=True, exist_ok=True)
                names = []
                for k, path in enumerate(paths):
                    name = f"{unit.replace('/', '__')}-{stamp}-{k:04d}.parquet"
                    os.replace(path, target_dir / name)  # same file system: atomic rename
                    names.append(f"tables/{table}/{name}")
                new.units[unit][table] = names
            if info and unit in info:
                new.info[unit] = info[unit]
        _atomic_write_text(self.manifest_path, json.dumps(new.to_json(), indent=1, sort_keys=True))
        self.collect_garbage(new)
        return new

    def collect_garbage(self, manifest: Manifest | None = None) -> int:
        """Delete data files no manifest refers to (left by replaced or interrupted builds)."""
        manifest = manifest or self.manifest()
        keep = manifest.all_files()
        removed = 0
        if self.tables_dir.exists():
            for path in self.tables_dir.rglob("*"):
                if path.is_file() and path.relative_to(self.home).as_posix() not in keep:
                    path.unlink()
                    removed += 1
        return removed

    def drop_staging(self, key: str) -> None:
        shutil.rmtree(self.staging_dir(key), ignore_errors=True)

    # ---- reading -------------------------------------------------------------------------------------
    def table_files(self, table: str, manifest: Manifest | None = None, check: bool = True) -> list[Path]:
        """Absolute paths of a table's files; with ``check``, each file's schema is verified."""
        if table not in TABLES:
            raise DataFormatError(f"unknown table {table!r}; expected one of: {', '.join(TABLES)}")
        manifest = manifest or self.manifest()
        paths = [self.home / f for f in manifest.files(table)]
        if check:
            for path in paths:
                check_file_schema(table, read_schema(path), str(path))
        return paths

    def read_table(self, table: str, columns: list[str] | None = None, filter_space: str | None = None) -> pa.Table:
        """One whole table as an Arrow table (schema-checked)."""
        manifest = self.manifest()
        paths = self.table_files(table, manifest)
        if filter_space is not None:
            units = {u for u in manifest.units if unit_space(u) == filter_space}
            keep = {self.home / f for u in units for f in manifest.units[u].get(table, [])}
            paths = [p for p in paths if p in keep]
        schema = TABLES[table]
        if not paths:
            return schema.empty_table() if columns is None else schema.empty_table().select(columns)
        parts = []
        for path in paths:
            try:
                parts.append(pq.read_table(path, columns=columns).cast(
                    schema if columns is None else pa.schema([schema.field(c) for c in columns])))
            except (pa.ArrowInvalid, OSError) as err:
                raise DataFormatError(f"cannot read {path} ({table!r} table): {err}") from None
        return pa.concat_tables(parts)


def read_schema(path: Path) -> pa.Schema:
    """The Parquet schema of ``path``; a truncated or non-Parquet file raises DataFormatError."""
    try:
        return pq.read_schema(path)
    except FileNotFoundError:
        raise DataFormatError(f"table file {path} is missing: the data home is damaged; rebuild it") from None
    except (pa.ArrowInvalid, OSError) as err:
        raise DataFormatError(f"{path} is not a readable Parquet file (truncated or corrupt?): {err}") from None


def write_parquet(table: pa.Table, name: str, path: Path) -> Path:
    """Write ``table`` as table ``name`` to ``path`` atomically (temp file, then rename)."""
    schema = table_schema(name)
    table = table.select(schema.names).cast(schema)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
