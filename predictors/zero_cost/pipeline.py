"""Score a built space's architectures with zero-cost proxies into the metrics table.

``run_proxies("nb201", ["synflow", "snip"], limit=1000)`` (the ``archbench proxies`` command):

1. takes the space's architectures from the ``archs`` table of the data home (build them first
   with ``archbench build``), in a seeded hash order (``blake2b(seed:arch_id)``): ``limit`` N
   takes the first N, so a larger limit extends a smaller one and the order does not depend on
   which other architectures are in the table;
2. draws one minibatch per input shape from the data source (the same batch for every network);
3. computes, in chunks, the proxies each architecture still lacks (all requested proxies of an
   architecture together, so they share passes; see :mod:`.passes`), serially or on a Dask
   cluster; every finished chunk is written to the staging area at once;
4. commits: each proxy's staged rows become one Parquet file of its unit.

Storage design (resumable, idempotent, extendable). Rows are ``zc_<proxy>`` (unit ``score``) and
``zc_<proxy>_time`` (unit ``s``, with device ``cpu``/``cuda``), source ``archbench_zc``, dataset =
the data source's name, seed = the seed. One *unit* per ``(space, data source, seed, proxy)``,
``"<space>/zc/<data>/s<seed>/<proxy>"``: a unit is replaced atomically on commit, so a proxy has
at most one row per architecture there. Its staging directory
``staging/zc-<space>-<data>-s<seed>-<proxy>-<fingerprint>/`` holds one file per finished chunk and
is *kept* after commits: it is the complete record of what was computed under that fingerprint
(batch size, dtype, minibatch content digest, archbench version). A run

* reads which architectures each requested proxy's staging already has and computes only the
  others (a killed run resumes; re-running does nothing; a larger ``--limit`` or a new proxy
  computes only what is new; a different proxy set never touches other proxies' units);
* commits every ``commit_every`` seconds and at the end (also on Ctrl-C), replacing each touched
  unit with all its staged rows (restricted to architectures still in the ``archs`` table);
* with changed options (another batch size, dtype or data content) or a proxy whose definition
  changed (:attr:`~.base.Proxy.version`) gets a new fingerprint, hence a fresh staging directory,
  and *replaces* the unit once it has scored every selected architecture: the unit keeps all its
  old rows until then (also when the run is killed; the next run resumes from staging), and then
  switches in one commit, so scores computed under different options or definitions never mix in
  one unit (the manifest records each unit's fingerprint).

Recomputing (``recompute=True``, ``archbench proxies --recompute``) scores the selected
architectures again under the same fingerprint, e.g. after a code change that did not raise a
proxy's version. It stages new *generation* ``k`` chunks (``r<k>-chunk-*.parquet``) next to the
old ones, with a ``recompute.json`` marker naming ``k``; while the marker exists, generation ``k``
is invisible (commits and resumes use the older rows). Once generation ``k`` covers the selection,
the marker is removed, and the unit is committed: each recomputed architecture's score and time
rows replace its old ones (the newest generation wins per architecture and metric), the unit's
other architectures keep theirs, all in one manifest swap. An interrupted recompute therefore
leaves the old rows, and the same command resumes it (generation ``k``'s finished chunks count); a
run without ``--recompute`` leaves it pending (and says so). Staged files whose every row is
superseded are deleted when the recompute is complete.

If the staging directory is deleted while its unit is committed with the same fingerprint, the
committed file is linked back into staging, so nothing is recomputed. Two runs of one unit at the
same time are safe: an architecture both scored is committed once.

Reproducibility: a network's scores depend only on its graph, the minibatch, the seed, the dtype
and the torch thread count (``threads``, default 1 per process). A serial run and a Dask run with
the same arguments give bit-identical scores; only the ``_time`` rows differ.

Memory: a worker keeps one graph and one module at a time and frees them (and collects garbage)
after every chunk, so memory stays flat over any number of architectures.
"""
from __future__ import annotations

import gc
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from archbench.errors import ArchbenchError

from .compute import compute_proxies, resolve_proxies
from .data import Minibatch, MinibatchSource, open_source
from .passes import DTYPES, resolve_dtype

SOURCE = "archbench_zc"
SCORE_UNIT, TIME_UNIT = "score", "s"
_NAME_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
_ARCH_COLUMNS = ["arch_id", "encoding", "config", "input_channels", "input_height", "input_width", "num_classes"]

#: A minibatch as sent to workers: images, labels, source name.
BatchArrays = tuple[np.ndarray, np.ndarray, str]


@dataclass
class ProxyRunResult:
    """What a run did.

    Attributes:
        archs: architectures selected (the first ``limit`` of the seeded order).
        computed: architectures computed in this run (at least one proxy).
        already_done: ``(architecture, proxy)`` pairs found staged and not recomputed.
        nan: per proxy, how many of its selected architectures have a non-finite score.
        reasons: per proxy, the first reason a score was undefined in this run.
        units: committed units (empty if nothing changed).
        replaced: units whose earlier scores were replaced because the options or the proxy's
            definition changed, with the fingerprint fields that differ (e.g. ``["batch_size"]``).
        recomputed: units whose recompute finished and was committed in this run.
        pending: units with an unfinished recompute (not committed), with how many of the
            selected architectures it has scored.
        seconds: wall time of ``compute`` and ``total``.
    """

    space: str
    home: Path
    data: str
    seed: int
    proxies: list[str]
    archs: int = 0
    computed: int = 0
    already_done: int = 0
    chunks: int = 0
    nan: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    units: list[str] = field(default_factory=list)
    replaced: dict[str, list[str]] = field(default_factory=dict)
    recomputed: list[str] = field(default_factory=list)
    pending: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def arch_order_key(seed: int, arch_id: str) -> str:
    """Position of an architecture in the seeded order (independent of the other architectures)."""
    return hashlib.blake2b(f"{seed}:{arch_id}".encode(), digest_size=8).hexdigest()


def select_archs(home: str | os.PathLike | None, space: str, limit: int | None, seed: int):
    """The first ``limit`` architectures of ``space`` in the data home, in the seeded order (a DataFrame)."""
    from archbench.datasets.store import Store

    store = Store(home)
    table = store.read_table("archs", columns=_ARCH_COLUMNS, filter_space=space).to_pandas()
    if table.empty:
        raise ArchbenchError(f"no {space!r} architectures in the data home {store.home}; build them first: "
                             f"archbench build {space} [--limit N]")
    if limit is not None and limit < 1:
        raise ArchbenchError(f"--limit must be a positive number of architectures, found {limit}")
    table["_order"] = [arch_order_key(seed, a) for a in table["arch_id"]]
    table = table.sort_values(["_order", "arch_id"]).drop(columns="_order").reset_index(drop=True)
    return table if limit is None else table.head(limit)


def compute_chunk(space: str, jobs: Sequence[tuple[str, str, str, Sequence[str]]], batch: BatchArrays, seed: int,
                  dtype: str, threads: int | None = 1) -> dict[str, list]:
    """Worker: score a chunk of architectures; returns columns arch_id, proxy, value, seconds, reason.

    Args:
        space: registered space name.
        jobs: per architecture ``(arch_id, encoding, config, proxies to compute)``.
        batch: ``(images, labels, source name)`` numpy arrays of the minibatch.
        seed, dtype: as :func:`~.compute.compute_proxies`.
        threads: torch threads for this process while computing (restored after); None leaves it.
    """
    import torch

    from archbench.graphs.spaces import get_space

    sp = get_space(space)
    minibatch = Minibatch(torch.from_numpy(batch[0]), torch.from_numpy(batch[1]), batch[2])
    out: dict[str, list] = {"arch_id": [], "proxy": [], "value": [], "seconds": [], "reason": []}
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        for arch_id, encoding, config, proxies in jobs:
            graph = sp.build_cg(sp.parse(encoding), config or None)
            scores = compute_proxies(graph, list(proxies), data=minibatch, seed=seed, dtype=dtype, what=arch_id)
            for name, score in scores.items():
                out["arch_id"].append(arch_id)
                out["proxy"].append(name)
                out["value"].append(score.value)
                out["seconds"].append(score.seconds)
                out["reason"].append(score.reason)
            del graph, scores
    finally:
        if threads:
            torch.set_num_threads(previous)
        gc.collect()  # modules and autograd graphs of the chunk: gone before the next chunk
    return out


def _proxy_rows(space: str, rows: dict[str, list], proxy: str, data: str, seed: int, device: str) -> pa.Table:
    """One proxy's rows of a chunk result as a metrics table (score and time rows)."""
    idx = [i for i, p in enumerate(rows["proxy"]) if p == proxy]
    ids = [rows["arch_id"][i] for i in idx]
    n = len(idx)
    return pa.table({
        "arch_id": ids + ids,
        "space": [space] * (2 * n),
        "source": [SOURCE] * (2 * n),
        "dataset": [data] * (2 * n),
        "metric": [f"zc_{proxy}"] * n + [f"zc_{proxy}_time"] * n,
        "fidelity": pa.nulls(2 * n, pa.float64()),
        "device": [None] * n + [device] * n,
        "value": [float(rows["value"][i]) for i in idx] + [float(rows["seconds"][i]) for i in idx],
        "unit": [SCORE_UNIT] * n + [TIME_UNIT] * n,
        "seed": [seed] * (2 * n),
    })


@dataclass
class _Unit:
    proxy: str
    unit: str
    staging: Path
    fingerprint: dict[str, Any]
    changed: bool = False           # the unit's staged rows differ from what it holds
    replaces: list[str] | None = None  # it holds rows of another fingerprint (these fields differ)
    pending: int | None = None      # generation of an unfinished recompute
    recompute: bool = False         # this run stages the recompute's generation (until it is complete)
    generation: int = 0             # generation this run's chunks are staged as


_GENERATION_RE = re.compile(r"^r(\d+)-")
RECOMPUTE_MARK = "recompute.json"


def _generation(path: Path) -> int:
    """Recompute generation of a staged file (``r<k>-chunk-*.parquet``); first computations are 0."""
    match = _GENERATION_RE.match(path.name)
    return int(match.group(1)) if match else 0


def _pending_recompute(directory: Path) -> int | None:
    """The generation an unfinished recompute stages into (from its marker), or None."""
    mark = directory / RECOMPUTE_MARK
    if not mark.exists():
        return None
    try:
        return int(json.loads(mark.read_text())["generation"])
    except (ValueError, KeyError, TypeError) as err:
        raise ArchbenchError(f"{mark} should be JSON with an integer 'generation' ({err}); delete it to drop the "
                             f"unfinished recompute") from None


def _staged_files(directory: Path, generation: int | None = None) -> list[Path]:
    """Staged chunk files: of one ``generation``, or (None) all but an unfinished recompute's."""
    files = sorted(p for p in directory.glob("*.parquet") if not p.name.startswith("."))
    if generation is not None:
        return [p for p in files if _generation(p) == generation]
    pending = _pending_recompute(directory)
    return [p for p in files if _generation(p) != pending]


def _staged_ids(files: Sequence[Path]) -> set[str]:
    ids: set[str] = set()
    for path in files:
        ids.update(pq.read_table(path, columns=["arch_id"])["arch_id"].to_pylist())
    return ids


def _files_digest(files: Sequence[Path]) -> str:
    """Names the set of staged files a commit was made from (chunk files are immutable)."""
    return hashlib.blake2b("\n".join(sorted(p.name for p in files)).encode(), digest_size=8).hexdigest()


def _read_staged(files: Sequence[Path]):
    """Staged rows (a DataFrame), one per (architecture, metric): the newest generation's.

    Within a generation the first file's row is kept: two concurrent runs of one unit may both
    have scored an architecture, and under one fingerprint the scores are identical (only the time
    differs).
    """
    import pandas as pd

    frames = []
    for path in files:
        frame = pq.read_table(path).to_pandas()
        frame["_generation"] = _generation(path)
        frames.append(frame)
    frame = pd.concat(frames, ignore_index=True).sort_values("_generation", ascending=False, kind="stable")
    frame = frame.drop_duplicates(["arch_id", "metric"], keep="first").sort_index()
    return frame.drop(columns="_generation")


def _drop_superseded(directory: Path) -> int:
    """Delete staged files every row of which a newer generation replaces (they no longer count)."""
    files = _staged_files(directory)
    ids = {path: _staged_ids([path]) for path in files}
    removed = 0
    for path in files:
        newer = set().union(*(ids[q] for q in files if _generation(q) > _generation(path)))
        if ids[path] <= newer:
            path.unlink()
            removed += 1
    return removed


def _write_json(path: Path, value: dict) -> None:
    """Write JSON to ``path`` atomically (temp file, then rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(value, sort_keys=True))
    os.replace(tmp, path)


def _link_or_copy(src: Path, dst: Path) -> None:
    try:
        os.link(src, dst)
    except OSError:
        import shutil

        shutil.copyfile(src, dst)


def _check_name(what: str, value: str) -> str:
    if not _NAME_RE.match(value):
        raise ArchbenchError(f"{what} must consist of letters, digits, '_', '-' and '.', found {value!r}")
    return value


def run_proxies(space: str, proxies: "Sequence[str] | str | None" = None, *, home: str | os.PathLike | None = None,
                data: "MinibatchSource | str" = "random", batch_size: int = 64, seed: int = 0,
                dtype: str = "float32", limit: int | None = None, chunk_size: int = 20, workers: int | None = None,
                scheduler: str | None = None, threads: int | None = 1, commit_every: float = 300.0,
                recompute: bool = False, progress: bool = True,
                on_progress: Callable[[int], None] | None = None) -> ProxyRunResult:
    """Compute and store zero-cost proxy scores of a built space (see the module docstring).

    Args:
        space: a space built in the data home (``archbench build SPACE``).
        proxies: names, a comma-separated string, or None/"all" for all 13.
        home: data home (default ``$ARCHBENCH_HOME`` or the user cache dir).
        data: a :class:`~.data.MinibatchSource` or the CLI syntax ``random`` | ``PATH.npz`` | ``NAME=PATH.npz``.
        batch_size, seed, dtype: applied to every proxy (see :func:`~.compute.compute_proxies`).
        limit: score the first ``limit`` architectures of the seeded order (default all).
        chunk_size: architectures per staged chunk (the unit of resuming and of distribution).
        workers: start a local Dask cluster with this many single-threaded worker processes (>1).
        scheduler: address of a running Dask scheduler (``tcp://host:8786``) instead.
        threads: torch threads per process (default 1: identical results serial or distributed).
        commit_every: seconds between intermediate commits.
        recompute: score the selected architectures again even where scores are stored, and
            replace their rows in one commit once all are scored (resumable; see the module
            docstring).
        progress: show a progress bar.
        on_progress: called with the number of selected architectures done after every chunk.
    """
    from tqdm.auto import tqdm

    from archbench import __version__
    from archbench.datasets.catalog import refresh_catalog
    from archbench.datasets.store import Store, write_parquet

    t_start = time.perf_counter()
    records = resolve_proxies(proxies)
    chosen = [p.name for p in records]
    source = open_source(data)
    _check_name("the data source name", source.name)
    _check_name("the space name", space)
    dtype = next(name for name, value in DTYPES.items() if value == resolve_dtype(dtype))
    if workers is not None and workers < 1:
        raise ArchbenchError(f"--workers must be at least 1, found {workers}")
    if chunk_size < 1:
        raise ArchbenchError(f"chunk_size must be at least 1, found {chunk_size}")
    store = Store(home)
    archs = select_archs(store.home, space, limit, seed)
    result = ProxyRunResult(space, store.home, source.name, seed, chosen, archs=len(archs))

    # One minibatch per (input shape, classes): the same batch for every network of that shape.
    shape_cols = ["input_channels", "input_height", "input_width", "num_classes"]
    groups = {tuple(int(v) for v in key): None for key in archs[shape_cols].itertuples(index=False)}
    batches: dict[tuple, BatchArrays] = {}
    digests = {}
    for key in groups:
        mb = source.minibatch(batch_size, seed, key[:3], key[3])
        batches[key] = (mb.x.numpy(), mb.y.numpy(), source.name)
        digests["x".join(map(str, key))] = mb.digest()

    manifest = store.manifest()
    units: dict[str, _Unit] = {}
    done: dict[str, set[str]] = {}
    for record in records:
        proxy = record.name
        fp = {"space": space, "proxy": proxy, "data": source.name, "data_digest": digests, "batch_size": batch_size,
              "seed": seed, "dtype": dtype, "archbench": __version__}
        if record.version != 1:  # version 1 stays implicit: units stored before versions existed keep their fingerprint
            fp["definition"] = record.version
        digest = hashlib.blake2b(json.dumps(fp, sort_keys=True).encode(), digest_size=6).hexdigest()
        unit = f"{space}/zc/{source.name}/s{seed}/{proxy}"
        staging = store.staging_dir(f"zc-{space}-{source.name}-s{seed}-{proxy}-{digest}")
        committed = manifest.units.get(unit, {}).get("metrics", [])
        held = manifest.info.get(unit, {})
        held_fp = held.get("fingerprint") or {}
        same_fp = held_fp == fp
        if not staging.exists():
            staging.mkdir(parents=True)
            if same_fp:  # staging was deleted: what the unit holds counts as done
                for k, rel in enumerate(committed):
                    _link_or_copy(store.home / rel, staging / f"committed-{k:04d}.parquet")
        u = units[proxy] = _Unit(proxy, unit, staging, fp, pending=_pending_recompute(staging))
        if committed and not same_fp:
            u.replaces = sorted(k for k in set(fp) | set(held_fp) if fp.get(k) != held_fp.get(k))
        view = _staged_files(staging)
        # Staged rows the unit does not hold yet (another fingerprint, a run killed before committing,
        # or a finished recompute not committed yet).
        u.changed = bool(view) and (held_fp != fp or held.get("staged_files") != _files_digest(view))
        if recompute:
            if u.pending is None:
                u.pending = 1 + max((_generation(f) for f in staging.glob("*.parquet")), default=0)
                _write_json(staging / RECOMPUTE_MARK, {"generation": u.pending, "started_at": time.time(),
                                                       "archs": len(archs)})
            u.recompute, u.generation = True, u.pending
            done[proxy] = _staged_ids(_staged_files(staging, u.pending))  # resumes an interrupted recompute
        else:
            done[proxy] = _staged_ids(view)
    ids = archs["arch_id"].tolist()
    selected = set(ids)
    jobs_by_group: dict[tuple, list] = {}
    for row in archs.itertuples(index=False):
        missing = [p for p in chosen if row.arch_id not in done[p]]
        result.already_done += len(chosen) - len(missing)
        if missing:
            key = (row.input_channels, row.input_height, row.input_width, row.num_classes)
            jobs_by_group.setdefault(key, []).append((row.arch_id, row.encoding, row.config, tuple(missing)))
    chunks = [(key, jobs[i:i + chunk_size]) for key, jobs in jobs_by_group.items()
              for i in range(0, len(jobs), chunk_size)]
    result.chunks = len(chunks)
    device = "cpu"
    done_archs = sum(1 for a in ids if all(a in done[p] for p in chosen))

    def record(chunk_jobs: list, rows: dict[str, list]) -> None:
        nonlocal done_archs
        for proxy, u in units.items():
            table = _proxy_rows(space, rows, proxy, source.name, seed, device)
            if table.num_rows == 0:
                continue
            name = hashlib.blake2b("\n".join(sorted(set(table["arch_id"].to_pylist()))).encode(),
                                   digest_size=10).hexdigest()
            prefix = f"r{u.generation}-" if u.generation else ""
            write_parquet(table, "metrics", u.staging / f"{prefix}chunk-{name}.parquet")
            u.changed = u.changed or not u.recompute  # an unfinished recompute's chunks do not count yet
        for value, proxy, reason in zip(rows["value"], rows["proxy"], rows["reason"]):
            if reason and proxy not in result.reasons:
                result.reasons[proxy] = reason
        result.computed += len(chunk_jobs)
        done_archs += len(chunk_jobs)
        bar.update(len(chunk_jobs))
        if on_progress is not None:
            on_progress(done_archs)

    finished: list[_Unit] = []  # recomputes completed in this run

    def commit() -> None:
        for u in units.values():
            if u.recompute and u.pending is not None and selected <= _staged_ids(_staged_files(u.staging, u.pending)):
                # Complete: from here on its rows are the unit's staged rows (they replace older ones).
                (u.staging / RECOMPUTE_MARK).unlink()
                _drop_superseded(u.staging)  # does not change the staged rows, only tidies
                u.pending, u.recompute, u.changed = None, False, True
                finished.append(u)
        touched = [u for u in units.values() if u.changed]
        if not touched:
            return
        replace: dict[str, dict[str, list[Path]]] = {}
        info: dict[str, dict] = {}
        known = set(store.read_table("archs", columns=["arch_id"], filter_space=space)["arch_id"].to_pylist())
        out_dir = store.staging_dir(f"zc-commit-{os.getpid()}")
        committing = []
        for u in touched:
            files = _staged_files(u.staging)
            if not files:
                continue
            staged = _staged_ids(files)
            if u.replaces is not None and not selected <= staged:
                continue  # the unit keeps its rows of another fingerprint until the new ones cover the selection
            frame = _read_staged(files)
            frame = frame[frame["arch_id"].isin(known)]
            table = pa.Table.from_pandas(frame, preserve_index=False)
            path = write_parquet(table, "metrics", out_dir / f"{u.proxy}.parquet")
            replace[u.unit] = {"metrics": [path]}
            info[u.unit] = {"fingerprint": u.fingerprint, "archs": table.num_rows // 2, "rows": table.num_rows,
                            "staged_archs": len(staged), "staged_files": _files_digest(files),
                            "staging": u.staging.name, "updated_at": time.time()}
            committing.append(u)
        if replace:
            with store.writer_lock():
                store.commit(replace, info)
            for u in committing:
                u.changed = False
                if u.replaces is not None:
                    result.replaced[u.unit] = u.replaces
                    u.replaces = None
                if u in finished:
                    result.recomputed.append(u.unit)
            result.units = sorted(set(result.units) | set(replace))
        store.drop_staging(out_dir.name)

    bar = tqdm(total=len(archs), initial=done_archs, unit="arch", desc=f"{space} proxies", disable=not progress)
    t_compute = time.perf_counter()
    last_commit = time.monotonic()
    distributed = scheduler is not None or (workers or 1) > 1
    try:
        if not distributed:
            for key, chunk_jobs in chunks:
                record(chunk_jobs, compute_chunk(space, chunk_jobs, batches[key], seed, dtype, threads))
                if time.monotonic() - last_commit > commit_every:
                    commit()
                    last_commit = time.monotonic()
        elif chunks:
            client, cluster = _dask_client(workers, scheduler)
            try:
                from distributed import as_completed

                scattered = {key: client.scatter(batches[key], broadcast=True) for key in {k for k, _ in chunks}}
                futures = {client.submit(compute_chunk, space, chunk_jobs, scattered[key], seed, dtype, threads,
                                         pure=False): chunk_jobs for key, chunk_jobs in chunks}
                for fut in as_completed(list(futures)):
                    record(futures.pop(fut), fut.result())
                    if time.monotonic() - last_commit > commit_every:
                        commit()
                        last_commit = time.monotonic()
            finally:
                client.close()
                if cluster is not None:
                    cluster.close()
    finally:
        bar.close()
        result.seconds["compute"] = time.perf_counter() - t_compute
        commit()
    if result.units:
        refresh_catalog(store)

    # NaN counts over everything the run's units hold (or will hold) for the selection.
    for proxy, u in units.items():
        files = _staged_files(u.staging)
        t = _read_staged(files) if files else None
        if t is not None:
            t = t[(t["metric"] == f"zc_{proxy}") & t["arch_id"].isin(selected)]
        result.nan[proxy] = 0 if t is None else int((~np.isfinite(t["value"].to_numpy())).sum())
        if u.pending is not None:
            result.pending[u.unit] = len(selected & _staged_ids(_staged_files(u.staging, u.pending)))
    result.seconds["total"] = time.perf_counter() - t_start
    return result


def _dask_client(workers: int | None, scheduler: str | None):
    """A Dask client: connected to ``scheduler``, or to a new local cluster of ``workers`` processes."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ArchbenchError("distributed proxy runs need Dask: pip install 'archbench[distributed]'") from None
    if scheduler is not None:
        return Client(scheduler), None
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
    return Client(cluster), cluster
