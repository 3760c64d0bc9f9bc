"""Benchmark of the foundation: NB201 build time and memory, Parquet size, DuckDB query times.

Prints the figures and writes them to bench_results/foundation.json. Targets (issue 2): the full
NB201 build in under 30 s on a 2-core machine; each representative query under 100 ms.

    .venv/bin/python scripts/bench_foundation.py [--data-dir ../shared/data] [--workers N] [--out PATH]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _tree_rss(pid: int) -> int:
    import psutil

    try:
        proc = psutil.Process(pid)
        procs = [proc] + proc.children(recursive=True)
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


def run_build(home: Path, data_dir: str | None, workers: int | None) -> dict:
    """Run `archbench build nb201` in a child process, sampling the RSS of its process tree."""
    cmd = [sys.executable, "-m", "archbench", "build", "nb201", "--home", str(home), "--quiet"]
    if data_dir:
        cmd += ["--data-dir", data_dir]
    if workers:
        cmd += ["--workers", str(workers)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    done.set()
    sampler.join()
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"build failed ({proc.returncode}):\n{out}")
    return {"wall_seconds": wall, "peak_rss_mb_process_tree": peak / 2**20, "output": out}


def time_queries(home: Path, repeats: int = 7) -> list[dict]:
    from archbench.datasets.catalog import EXAMPLE_QUERIES, connect

    results = []
    with connect(home) as con:
        for q in EXAMPLE_QUERIES:
            con.execute(q.sql, list(q.params)).fetchall()  # warm-up: file metadata into the OS cache
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                rows = con.execute(q.sql, list(q.params)).fetchall()
                times.append((time.perf_counter() - t0) * 1000)
            results.append({"name": q.name, "doc": q.doc, "median_ms": statistics.median(times),
                            "max_ms": max(times), "rows": len(rows)})
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_data = REPO.parent / "shared" / "data"
    parser.add_argument("--data-dir", default=str(default_data) if default_data.is_dir() else None,
                        help="benchmark files to add as label sources (default: ../shared/data if present)")
    parser.add_argument("--workers", type=int, help="build processes (default: all cores)")
    parser.add_argument("--out", default=str(REPO / "bench_results" / "foundation.json"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="archbench-bench-") as tmp:
        home = Path(tmp) / "home"
        graphs_only = run_build(Path(tmp) / "graphs-only", None, args.workers)
        full = run_build(home, args.data_dir, args.workers)
        from archbench.datasets.store import Store

        manifest = Store(home).manifest()
        sizes = {}
        for table in ("archs", "nodes", "edges", "metrics"):
            sizes[table] = sum((home / f).stat().st_size for f in manifest.files(table)) / 2**20
        queries = time_queries(home)
        from archbench.datasets.catalog import connect, table_counts

        with connect(home) as con:
            counts = table_counts(con)

    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "build_graphs_and_embedded_labels": {k: v for k, v in graphs_only.items() if k != "output"},
        "build_with_data_dir": {k: v for k, v in full.items() if k != "output"} | {"data_dir": args.data_dir},
        "build_output": full["output"].splitlines()[:12],
        "rows": counts,
        "parquet_mb": sizes | {"total": sum(sizes.values())},
        "queries": queries,
        "targets": {"build_seconds": 30, "query_ms": 100},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))

    g = report["build_graphs_and_embedded_labels"]
    f = report["build_with_data_dir"]
    print(f"NB201 build (15,625 CGs + analog-nasbench labels): {g['wall_seconds']:.1f} s wall, "
          f"peak RSS {g['peak_rss_mb_process_tree']:.0f} MB (process tree)   [target < 30 s]")
    print(f"NB201 build with every source in {args.data_dir}: {f['wall_seconds']:.1f} s wall, "
          f"peak RSS {f['peak_rss_mb_process_tree']:.0f} MB")
    print("rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
    print("Parquet on disk: " + ", ".join(f"{t} {mb:.1f} MB" for t, mb in report["parquet_mb"].items()))
    for q in queries:
        print(f"query {q['name']:24s} median {q['median_ms']:6.1f} ms  max {q['max_ms']:6.1f} ms  "
              f"({q['rows']} rows)   [target < 100 ms]")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
