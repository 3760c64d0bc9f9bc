"""Build pipelines: search space -> computation graphs -> Parquet, plus benchmark labels -> metrics.

A build of a space

1. reads each label source in its original format and splits its rows by the network config
   they were measured on (the reader's ``config``, or per row its ``config_column``; default:
   the space's default config);
2. then, for each config built: lists the architectures: all of an enumerable space, else those
   the config's labels name; ``limit`` draws a seeded sample;
3. builds, canonically hashes and writes their graphs in chunks to ``staging/<build key>/``, in
   parallel processes; a chunk file is renamed into place only when complete, so a killed build
   resumes from the chunks it finished (same space, config and selection -> same build key);
4. maps the labels' architectures to the config's ``arch_id`` (dropping those outside the build) and
5. commits the config at once by swapping the manifest: the config's graph unit and the metrics
   units of every source read for it are replaced; other configs' units, and metrics of sources
   not read this time, are kept.
"""
from __future__ import annotations

import hashlib
import json
import os
import random
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Hashable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from archbench.errors import ArchbenchError, DataFormatError, EncodingError
from archbench.graphs.cg import INT_NODE_FIELDS
from archbench.graphs.hashing import canonical_hash
from archbench.graphs.ops import VOCAB_VERSION
from archbench.graphs.spaces import SearchSpace, get_space
from archbench.graphs.spaces.base import CONFIG_SEP

from .catalog import refresh_catalog
from .schema import READER_COLUMNS, SCHEMA_VERSION
from .store import Store, write_parquet

GRAPH_TABLES = ("archs", "nodes", "edges")


@dataclass
class SourceSpec:
    """A label source to read: a registered reader name and an optional explicit file path."""

    name: str
    path: str | None = None

    @classmethod
    def parse(cls, text: str) -> "SourceSpec":
        """``"name"`` or ``"name=path"`` (the CLI's ``--source`` syntax)."""
        name, sep, path = text.partition("=")
        if not name or (sep and not path):
            raise ArchbenchError(f"--source must be NAME or NAME=PATH, found {text!r}")
        return cls(name, path or None)


@dataclass
class BuildResult:
    """What a build did: counts, timings and where it wrote."""

    space: str
    config: str
    home: Path
    archs: int
    nodes: int
    edges: int
    chunks: int
    chunks_resumed: int
    metrics_rows: dict[str, int] = field(default_factory=dict)
    skipped_sources: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    #: the config's tag: ``space`` for the default config, else ``space@config`` (prefix of its arch_ids)
    tag: str = ""


def select_archs(space: SearchSpace, limit: int | None = None, seed: int = 0,
                 labelled: Sequence[str] = ()) -> list[Hashable]:
    """The architectures a build covers, in key order.

    An enumerable space: all of them. Otherwise: those the label sources name (``labelled``,
    native encodings), or, with no labels, ``limit`` sampled ones. ``limit`` always draws a
    seeded sample without repeats.
    """
    try:
        pool = list(space.enumerate())
    except NotImplementedError:
        pool = list({space.arch_key(a): a for a in (space.parse(enc) for enc in labelled)}.values())
        if not pool:
            if limit is None:
                raise ArchbenchError(f"search space {space.name!r} cannot be enumerated and no label source named any "
                                     f"architecture; give --limit N to build a random sample, or a --source") from None
            chosen: dict[str, Hashable] = {}
            rng = random.Random(seed)
            attempts = 0
            while len(chosen) < limit and attempts < 100 * limit:
                arch = space.sample(rng)
                chosen.setdefault(space.arch_key(arch), arch)
                attempts += 1
            pool = list(chosen.values())
    if limit is not None and limit < len(pool):
        pool = random.Random(seed).sample(pool, limit)
    return sorted(pool, key=space.arch_key)


def build_key(space: SearchSpace, config: str, archs: Sequence[Hashable], chunk_size: int) -> str:
    """Identifies a build's graph work: equal keys resume each other's staged chunks."""
    h = hashlib.blake2b(digest_size=10)
    h.update(json.dumps([space.name, config, chunk_size, VOCAB_VERSION, SCHEMA_VERSION, _code_version()]).encode())
    for arch in archs:
        h.update(space.format(arch).encode())
        h.update(b"\n")
    return f"{space.name}-{config}-{h.hexdigest()}"


def _code_version() -> str:
    from archbench import __version__

    return __version__


def graph_tables(space: SearchSpace, archs: Sequence[Hashable], config: str) -> dict[str, pa.Table]:
    """Build, hash and tabulate the graphs of ``archs`` (the work of one chunk)."""
    arch_rows: dict[str, list] = {k: [] for k in ("arch_id", "space", "encoding", "config", "canonical_hash",
                                                  "rep_arch_id", "num_nodes", "num_edges", "params", "flops",
                                                  "input_channels", "input_height", "input_width", "num_classes",
                                                  "vocab_version")}
    node_cols: dict[str, list] = {name: [] for name in ("op",) + INT_NODE_FIELDS}
    node_ids: list[str] = []
    node_index: list[np.ndarray] = []
    edge_src: list[int] = []
    edge_dst: list[int] = []
    edge_slot: list[int] = []
    edge_ids: list[str] = []
    for arch in archs:
        graph = space.build_cg(arch, config)
        aid = space.arch_id(arch, config)
        rep = space.representative(arch)
        n, e = graph.num_nodes, graph.num_edges
        c, h, w = graph.input_shape
        for key, value in (("arch_id", aid), ("space", space.name), ("encoding", graph.encoding),
                           ("config", graph.config), ("canonical_hash", canonical_hash(graph)),
                           ("rep_arch_id", None if rep is None else space.arch_id(rep, config)),
                           ("num_nodes", n), ("num_edges", e), ("params", graph.params), ("flops", graph.flops),
                           ("input_channels", c), ("input_height", h), ("input_width", w),
                           ("num_classes", graph.num_classes), ("vocab_version", graph.vocab_version)):
            arch_rows[key].append(value)
        for name, values in graph.nodes.items():
            node_cols[name].extend(values)
        node_ids.extend([aid] * n)
        node_index.append(np.arange(n, dtype=np.int32))
        seen: dict[int, int] = {}
        for d in graph.dst:
            k = seen.get(d, 0)
            edge_slot.append(k)
            seen[d] = k + 1
        edge_src.extend(graph.src)
        edge_dst.extend(graph.dst)
        edge_ids.extend([aid] * e)
    nodes = {"arch_id": node_ids, "node": np.concatenate(node_index) if node_index else np.zeros(0, np.int32)}
    nodes.update(node_cols)
    return {
        "archs": pa.table(arch_rows),
        "nodes": pa.table(nodes),
        "edges": pa.table({"arch_id": edge_ids, "src": edge_src, "dst": edge_dst, "slot": edge_slot}),
    }


def _build_chunk(space_name: str, config: str, encodings: list[str], out_dir: str, chunk: int) -> tuple[int, int, int]:
    """Worker: build one chunk and write its three files (archs last: it marks the chunk done)."""
    space = get_space(space_name)
    archs = [space.parse(enc) for enc in encodings]
    tables = graph_tables(space, archs, config)
    out = Path(out_dir)
    for name in ("nodes", "edges", "archs"):
        write_parquet(tables[name], name, out / f"{name}-{chunk:05d}.parquet")
    return len(archs), tables["nodes"].num_rows, tables["edges"].num_rows


def _chunk_done(out: Path, chunk: int) -> bool:
    return all((out / f"{name}-{chunk:05d}.parquet").exists() for name in GRAPH_TABLES)


def _reader(name: str):
    from archbench.benchmarks import get_reader

    return get_reader(name)


def default_sources(space: str, data_dir: str | os.PathLike | None) -> list[SourceSpec]:
    """The sources a build reads when none are named: package data, plus files found in ``data_dir``."""
    from archbench.benchmarks import get_reader, list_readers

    specs = []
    for name in list_readers():
        reader = get_reader(name)
        if reader.space != space:
            continue
        if reader.default_relpath is None:
            specs.append(SourceSpec(name))
        elif data_dir is not None and (Path(data_dir) / reader.default_relpath).exists():
            specs.append(SourceSpec(name, str(Path(data_dir) / reader.default_relpath)))
    return specs


def reader_configs(reader, space: SearchSpace) -> tuple[str, ...] | None:
    """The network config a reader's labels were measured on, or None when each row names its own."""
    if reader.config_column is not None:
        return None
    return (space.config(reader.config).name,)


def row_configs(reader, space: SearchSpace, frame: pd.DataFrame) -> np.ndarray:
    """The network config of every row of a reader's table (object array), checked against the space."""
    if reader.config_column is None:
        return np.full(len(frame), space.config(reader.config).name, dtype=object)
    if reader.config_column not in frame.columns:
        raise DataFormatError(f"source {reader.name!r} names each row's network config in column "
                              f"{reader.config_column!r}, but its table has only {list(frame.columns)}")
    configs = frame[reader.config_column].to_numpy(dtype=object)
    unknown = sorted(set(configs) - set(space.configs), key=str)
    if unknown:
        raise DataFormatError(f"source {reader.name!r} labels network config(s) {unknown} (its {reader.config_column!r} "
                              f"column), but space {space.name!r} has only: {', '.join(space.configs)}")
    return configs


def metrics_table(space: SearchSpace, frame: pd.DataFrame, source: str, known_ids: set[str] | None,
                  config: str | None = None) -> pa.Table:
    """A reader's rows with ``arch`` mapped to ``config``'s ``arch_id`` (validated; unknown archs dropped)."""
    missing = [c for c in READER_COLUMNS if c not in frame.columns]
    if missing:
        raise DataFormatError(f"source {source!r} returned no columns {missing}; expected {list(READER_COLUMNS)}")
    spaces = set(frame["space"].unique())
    if spaces != {space.name}:
        raise DataFormatError(f"source {source!r} gives labels for space(s) {sorted(spaces)}, but this build is for {space.name!r}")
    values = frame["value"].to_numpy(dtype=float)
    bad = ~np.isfinite(values)
    if bad.any():
        first = frame.loc[bad].iloc[0]
        raise DataFormatError(
            f"source {source!r} gave {int(bad.sum())} non-finite values (NaN/inf), e.g. {first['metric']} of "
            f"{first['arch']!r} = {first['value']}; expected finite numbers (readers drop missing entries)")
    ids: dict[str, str] = {}
    for enc in frame["arch"].unique():
        try:
            ids[enc] = space.arch_id(space.parse(enc), config)
        except EncodingError as err:
            raise DataFormatError(f"source {source!r}: {err}") from None
    out = frame.assign(arch_id=frame["arch"].map(ids))
    if known_ids is not None:
        out = out[out["arch_id"].isin(known_ids)]
    out = out.drop(columns=["arch"])
    out["seed"] = out["seed"].astype("Int64")
    return pa.Table.from_pandas(out, preserve_index=False)


def build(space: str, *, home: str | os.PathLike | None = None, config: str | None = None,
          sources: Sequence[SourceSpec | str] | None = None, data_dir: str | os.PathLike | None = None,
          limit: int | None = None, seed: int = 0, workers: int | None = None, chunk_size: int = 500,
          progress: bool = True) -> BuildResult:
    """Build one network config of a space into the data home (see the module docstring for the steps).

    Only labels measured on ``config``'s networks are attached; other configs' tables are kept.

    Args:
        space: registered search-space name, e.g. ``"nb201"``.
        home: data home (default: ``$ARCHBENCH_HOME`` or the user cache dir).
        config: the space's network config (default: its first, e.g. ``"cifar10"``).
        sources: label sources as names or ``"name=path"``; default: the package data plus every
            source of this space found under ``data_dir`` that labels ``config``. A named source
            that has no labels for ``config`` raises, naming the configs it labels.
        data_dir: a folder laid out like the benchmarks' releases (e.g. ``../shared/data``).
        limit, seed: build a seeded sample of ``limit`` architectures instead of all.
        workers: processes for graph building (default: all cores).
        chunk_size: architectures per staged chunk file.
        progress: show progress bars.
    """
    sp = get_space(space)
    return build_configs(space, configs=[sp.config(config).name], home=home, sources=sources, data_dir=data_dir,
                         limit=limit, seed=seed, workers=workers, chunk_size=chunk_size, progress=progress)[0]


def build_configs(space: str, *, configs: Sequence[str] | None = None, home: str | os.PathLike | None = None,
                  sources: Sequence[SourceSpec | str] | None = None, data_dir: str | os.PathLike | None = None,
                  limit: int | None = None, seed: int = 0, workers: int | None = None, chunk_size: int = 500,
                  progress: bool = True) -> list[BuildResult]:
    """Build several network configs of a space, reading each label source once; one commit per config.

    Args:
        configs: the configs to build; default: every config some source has labels for (the
            space's default config when none has), e.g. all nine NAS-Bench-Graph datasets.
        Others as for :func:`build`.

    Returns:
        One :class:`BuildResult` per config, in the space's config order. The time spent
        reading the sources is counted in the first one's ``labels`` and ``total`` seconds.
    """
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    sp = get_space(space)
    wanted = None if configs is None else list(dict.fromkeys(sp.config(c).name for c in configs))
    store = Store(home)
    skipped: dict[str, str] = {}
    named = sources is not None
    specs = [SourceSpec.parse(s) if isinstance(s, str) else s for s in sources] if named \
        else default_sources(sp.name, data_dir)
    readers = [(spec, _reader(spec.name)) for spec in specs]  # unknown names fail before any work
    for spec, reader in readers:
        if reader.space != sp.name:
            raise ArchbenchError(f"source {spec.name!r} gives {reader.space!r} labels; it cannot label space {sp.name!r}")
    if not named and wanted is not None:
        # Default sources measured on other networks are not even read.
        readers = [(spec, reader) for spec, reader in readers
                   if (static := reader_configs(reader, sp)) is None or set(static) & set(wanted)]

    # Labels first: a space that cannot be enumerated builds the architectures its sources name.
    by_config: dict[str, list[tuple[SourceSpec, pd.DataFrame]]] = {}
    labelled: dict[str, list[str]] = {}
    read: list[tuple[SourceSpec, object]] = []
    for spec, reader in tqdm(readers, desc="reading labels", unit="source", disable=not progress or not readers):
        try:
            frame = reader.read(spec.path)
        except DataFormatError as err:
            if spec.path is None and reader.default_relpath is None:
                # A package source that is not installed: skip it, say so, keep building.
                skipped[spec.name] = str(err)
                continue
            raise
        read.append((spec, reader))
        per_row = row_configs(reader, sp, frame)
        names = [c for c in sp.configs if c in set(per_row)]
        labelled[spec.name] = names
        for name in names:
            part = frame if len(names) == 1 else frame[per_row == name].reset_index(drop=True)
            by_config.setdefault(name, []).append((spec, part))
    if wanted is None:
        wanted = [c for c in sp.configs if c in by_config] or [sp.default_config]
    for spec, _ in read:
        if not set(labelled[spec.name]) & set(wanted):
            if named:
                raise ArchbenchError(
                    f"source {spec.name!r} has labels for network config(s) {labelled[spec.name]} of {sp.name!r} (the "
                    f"networks it measured), none for {wanted}; build with --config {labelled[spec.name][0]}")
            skipped[spec.name] = f"no labels for config(s) {wanted} (it labels {labelled[spec.name]})"
    t_labels = time.perf_counter() - t0

    results = []
    for name in wanted:
        result = _build_config(sp, name, by_config.get(name, []), store, limit=limit, seed=seed,
                               workers=workers, chunk_size=chunk_size, progress=progress)
        result.skipped_sources.update(skipped)
        results.append(result)
    results[0].seconds["labels"] += t_labels
    results[0].seconds["total"] += t_labels
    return results


def stale_units(space: SearchSpace, units: Sequence[str]) -> list[str]:
    """Metrics units of ``space``'s readers under a config the reader has no labels for.

    Builds before table schema v2 put every source's labels on the default config's graphs; such
    a unit (e.g. ``"darts/darts_oncenas"``) is dropped by the next build of the space.
    """
    from archbench.benchmarks import list_readers

    static = {}
    for name in list_readers():
        reader = _reader(name)
        if reader.space == space.name and (configs := reader_configs(reader, space)) is not None:
            static[name] = configs
    out = []
    for unit in units:
        tag, _, source = unit.partition("/")
        name, _, config = tag.partition(CONFIG_SEP)
        if name == space.name and source in static and (config or space.default_config) not in static[source]:
            out.append(unit)
    return out


def _build_config(sp: SearchSpace, config: str, frames: list[tuple[SourceSpec, pd.DataFrame]], store: Store,
                  *, limit: int | None, seed: int, workers: int | None,
                  chunk_size: int, progress: bool) -> BuildResult:
    """Build, label and commit one config (steps 2-5 of the module docstring)."""
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    tag = sp.config_tag(config)
    archs = select_archs(sp, limit, seed, labelled=[enc for _, f in frames for enc in f["arch"].unique()])
    key = build_key(sp, config, archs, chunk_size)
    out = store.staging_dir(key)
    out.mkdir(parents=True, exist_ok=True)
    chunks = [archs[i:i + chunk_size] for i in range(0, len(archs), chunk_size)]
    pending = [k for k in range(len(chunks)) if not _chunk_done(out, k)]
    result = BuildResult(sp.name, config, store.home, len(archs), 0, 0, len(chunks), len(chunks) - len(pending), tag=tag)
    t_list = time.perf_counter()

    workers = workers or os.cpu_count() or 1
    bar = tqdm(total=len(archs), unit="arch", desc=f"building {tag} graphs", disable=not progress,
               initial=sum(len(chunks[k]) for k in range(len(chunks)) if k not in pending))
    jobs = [(sp.name, config, [sp.format(a) for a in chunks[k]], str(out), k) for k in pending]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            for fut in as_completed([pool.submit(_build_chunk, *job) for job in jobs]):
                bar.update(fut.result()[0])
    else:
        for job in jobs:
            bar.update(_build_chunk(*job)[0])
    bar.close()
    t_graphs = time.perf_counter()

    known: set[str] = set()
    for k in range(len(chunks)):
        known.update(pq.read_table(out / f"archs-{k:05d}.parquet", columns=["arch_id"])["arch_id"].to_pylist())
        result.nodes += pq.read_metadata(out / f"nodes-{k:05d}.parquet").num_rows
        result.edges += pq.read_metadata(out / f"edges-{k:05d}.parquet").num_rows
    replace: dict[str, dict[str, list[Path]]] = {
        tag: {name: [out / f"{name}-{k:05d}.parquet" for k in range(len(chunks))] for name in GRAPH_TABLES}}
    info = {tag: {"config": config, "archs": len(archs), "limit": limit, "seed": seed, "built_at": time.time()}}
    for spec, frame in frames:
        table = metrics_table(sp, frame, spec.name, known, config)
        path = write_parquet(table, "metrics", out / f"metrics-{spec.name}.parquet")
        unit = f"{tag}/{spec.name}"
        replace[unit] = {"metrics": [path]}
        info[unit] = {"path": spec.path, "config": config, "rows": table.num_rows}
        result.metrics_rows[spec.name] = table.num_rows
    t_metrics = time.perf_counter()

    with store.writer_lock():
        drop = [u for u in stale_units(sp, list(store.manifest().units)) if u not in replace]
        store.commit(replace, info, drop=drop)
    store.drop_staging(key)
    refresh_catalog(store)
    t_end = time.perf_counter()

    result.seconds = {"labels": t_metrics - t_graphs, "select": t_list - t0, "graphs": t_graphs - t_list,
                      "commit": t_end - t_metrics, "total": t_end - t0}
    return result


# ---- every space at once -----------------------------------------------------------------------------

@dataclass
class BuildAllResult:
    """What ``build_all`` did: one :class:`BuildResult` per built config, a reason per skipped or failed space.

    ``built`` is keyed by config tag: the space name for its default config, ``"space@config"``
    for another (``"darts@pt_darts"``).
    """

    home: Path
    built: dict[str, BuildResult] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


def is_enumerable(space: SearchSpace) -> bool:
    """Whether ``space.enumerate()`` lists the space (the base class raises NotImplementedError)."""
    try:
        next(iter(space.enumerate()), None)
    except NotImplementedError:
        return False
    return True


def available_sources(space: str, data_dir: str | os.PathLike | None) -> tuple[list[SourceSpec], dict[str, str]]:
    """The label sources of ``space`` whose data is present, and for each other one what it needs.

    Package sources count when their package data is installed; file sources when their file
    is under ``data_dir`` (the places :func:`default_sources` looks). A missing file source maps
    to its expected path relative to a data dir, a missing package source to the reader's error.
    """
    from archbench.benchmarks import list_readers

    present: list[SourceSpec] = []
    missing: dict[str, str] = {}
    for name in list_readers():
        reader = _reader(name)
        if reader.space != space:
            continue
        if reader.default_relpath is not None and (data_dir is None or not (Path(data_dir) / reader.default_relpath).exists()):
            missing[name] = reader.default_relpath
            continue
        try:
            path = reader.locate(data_dir=data_dir)
        except DataFormatError as err:
            missing[name] = str(err)
            continue
        present.append(SourceSpec(name, None if reader.default_relpath is None else str(path)))
    return present, missing


def space_line(name: str, result: BuildResult | None = None, skipped: str | None = None, failed: str | None = None) -> str:
    """One line about one space (or config tag) of a ``build_all`` (what the CLI prints as each finishes)."""
    if result is None:
        return f"{name:18s} {'skipped' if failed is None else 'FAILED'}: {failed if failed is not None else skipped}"
    labels = ", ".join(f"{source} {rows:,} rows" for source, rows in result.metrics_rows.items()) or "none"
    line = (f"{name:18s} built {result.archs:,} archs ({result.config}) in {result.seconds['total']:.1f} s: "
            f"{result.nodes:,} nodes, {result.edges:,} edges; labels: {labels}")
    if result.skipped_sources:
        line += f"; sources not found: {', '.join(result.skipped_sources)}"
    return line


def build_all(*, home: str | os.PathLike | None = None, data_dir: str | os.PathLike | None = None,
              spaces: Sequence[str] | None = None, limit: int | None = None, seed: int = 0,
              workers: int | None = None, chunk_size: int = 500, progress: bool = True,
              report: Callable[[str], None] | None = None) -> BuildAllResult:
    """Build every registered space that has something to build into one data home, one after another.

    A space is built when it can be enumerated, or when at least one of its label sources is
    present (package data, or files under ``data_dir``); every network config that a present
    source has labels for is built (see :func:`build_configs`; the default config when none
    has). Other spaces are skipped with the reason. A space whose build
    raises an :class:`ArchbenchError` (e.g. a malformed source file) is recorded as failed and
    the next space is built; its previous tables stay as they were.

    Args:
        home: data home (default: ``$ARCHBENCH_HOME`` or the user cache dir).
        data_dir: a folder laid out like the benchmarks' releases (e.g. ``../shared/data``).
        spaces: names of the spaces to consider (default: every registered space).
        limit, seed: build a seeded sample of ``limit`` architectures per space instead of all.
        workers, chunk_size, progress: as for :func:`build`.
        report: called with one line per built config or skipped space (see :func:`space_line`)
            as soon as it is done.

    Returns:
        A :class:`BuildAllResult`; the cross-space summary is
        :func:`archbench.datasets.catalog.compare_spaces` on the home.
    """
    from archbench.graphs.spaces import list_spaces

    t0 = time.perf_counter()
    names = list(spaces) if spaces is not None else list_spaces()
    out = BuildAllResult(Store(home).home)
    for name in names:
        sp = get_space(name)  # an unknown name raises with the valid ones, before any work
        present, missing = available_sources(sp.name, data_dir)
        lines = []
        if not present and not is_enumerable(sp):
            where = f"under {data_dir}" if data_dir is not None else "(no --data-dir given)"
            reason = (f"cannot be enumerated and none of its label sources was found {where}: "
                      + ", ".join(f"{k} ({v})" for k, v in missing.items()) if missing else
                      "cannot be enumerated and no benchmark reader gives its labels")
            out.skipped[name] = reason
            lines.append(space_line(name, skipped=reason))
        else:
            try:
                results = build_configs(name, home=out.home, sources=present, limit=limit, seed=seed,
                                        workers=workers, chunk_size=chunk_size, progress=progress)
            except ArchbenchError as err:
                out.failed[name] = f"{type(err).__name__}: {err}"
                lines.append(space_line(name, failed=out.failed[name]))
            else:
                for result in results:
                    result.skipped_sources.update(missing)
                    out.built[result.tag] = result
                    lines.append(space_line(result.tag, result))
        if report is not None:
            for line in lines:
                report(line)
    out.seconds = time.perf_counter() - t0
    return out
