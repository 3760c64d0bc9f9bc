"""Benchmark of every registered search space, plus the torch.fx importer on NB201.

Per space, in a fresh child process (so its peak RSS is its own):

* architectures built per second: ``build_cg`` + ``canonical_hash``, single process, on up to
  ``--archs`` (2,000) architectures, the first ones of ``enumerate()`` or seeded samples;
* peak memory: the child's peak RSS, and the peak of Python allocations (tracemalloc) during a
  second pass over the same architectures (a separate pass: tracemalloc slows allocation);
* rows and Parquet bytes the build pipeline writes for ``--limit`` architectures (graph tables
  only: no label sources) into a temporary data home, or for the whole space with ``--full``
  where it can be enumerated.

Then the importer: NB201 networks made executable with ``to_module`` and imported back with
``from_module`` (only the import is timed), in modules per second.

Prints a table and writes bench_results/spaces.json. Target: >= 1,000 archs/s for every space.

    .venv/bin/python scripts/bench_spaces.py [--archs 2000] [--limit 500] [--full] [--modules 20] [--out PATH]
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGET_ARCHS_PER_SECOND = 1000


def _archs(space, n: int, seed: int) -> tuple[list, str]:
    """Up to ``n`` architectures: the first of ``enumerate()``, else seeded samples."""
    try:
        return list(itertools.islice(space.enumerate(), n)), "enumerate"
    except NotImplementedError:
        rng = random.Random(seed)
        return [space.sample(rng) for _ in range(n)], "sample"


def measure_space(name: str, n_archs: int, limit: int | None, full: bool, seed: int) -> dict:
    """Everything measured for one space (runs in the child process)."""
    from archbench.datasets.build import build, is_enumerable
    from archbench.datasets.store import Store
    from archbench.graphs.hashing import canonical_hash
    from archbench.graphs.spaces import get_space

    space = get_space(name)
    archs, how = _archs(space, n_archs, seed)
    nodes = 0
    t0 = time.perf_counter()
    for arch in archs:
        graph = space.build_cg(arch)
        canonical_hash(graph)
        nodes += graph.num_nodes
    seconds = time.perf_counter() - t0

    tracemalloc.start()
    for arch in archs:
        canonical_hash(space.build_cg(arch))
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()

    whole = full and is_enumerable(space)
    with tempfile.TemporaryDirectory(prefix="archbench-bench-spaces-") as tmp:
        t1 = time.perf_counter()
        result = build(name, home=tmp, sources=[], limit=None if whole else limit, seed=seed, workers=1,
                       progress=False)
        build_seconds = time.perf_counter() - t1
        store = Store(tmp)
        manifest = store.manifest()
        parquet = {t: sum((store.home / f).stat().st_size for f in manifest.files(t)) for t in ("archs", "nodes", "edges")}
    return {
        "space": name, "status": "ok", "archs_from": how, "archs_timed": len(archs),
        "archs_per_second": len(archs) / seconds, "mean_nodes": nodes / len(archs),
        "peak_traced_mb": traced_peak / 2**20,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "build": {"archs": result.archs, "whole_space": whole, "seconds": build_seconds,
                  "rows": {"archs": result.archs, "nodes": result.nodes, "edges": result.edges},
                  "parquet_bytes": parquet, "parquet_bytes_per_arch": sum(parquet.values()) / max(result.archs, 1)},
    }


def measure_importer(n_modules: int, seed: int) -> dict:
    """NB201 networks through ``to_module`` and back through ``from_module``: modules imported per second."""
    from archbench.graphs.importers import from_module
    from archbench.graphs.spaces import get_space
    from archbench.graphs.torch_module import to_module

    space = get_space("nb201")
    rng = random.Random(seed)
    graphs = [space.build_cg(space.sample(rng)) for _ in range(n_modules + 1)]
    modules = [to_module(g, seed=0) for g in graphs]
    from_module(modules[0], graphs[0].input_shape)  # warm-up: torch.fx and dispatcher first-call costs
    t0 = time.perf_counter()
    imported = [from_module(m, g.input_shape, g.num_classes) for g, m in zip(graphs[1:], modules[1:])]
    seconds = time.perf_counter() - t0
    same = sum(i.canonical_hash() == g.canonical_hash() and i.params == g.params for i, g in zip(imported, graphs[1:]))
    return {"space": "nb201", "modules": n_modules, "seconds": seconds, "modules_per_second": n_modules / seconds,
            "mean_graph_nodes": sum(g.num_nodes for g in graphs[1:]) / n_modules, "round_trips_equal": same}


def _child(args: list[str], timeout: float) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": "failed", "error": f"timed out after {timeout:.0f} s"}
    if proc.returncode:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
        return {"status": "failed", "error": tail[0][:300]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", type=int, default=2000, help="architectures timed per space (default 2000)")
    parser.add_argument("--limit", type=int, default=500, help="architectures built into Parquet per space (default 500)")
    parser.add_argument("--full", action="store_true", help="build every architecture of enumerable spaces instead")
    parser.add_argument("--modules", type=int, default=20, help="NB201 modules imported with torch.fx (default 20; 0 skips the importer)")
    parser.add_argument("--spaces", nargs="*", help="spaces to measure (default: every registered one)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=900, help="seconds per space before it counts as failed")
    parser.add_argument("--out", default=str(REPO / "bench_results" / "spaces.json"))
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one space, print JSON
    parser.add_argument("--importer", action="store_true", help=argparse.SUPPRESS)  # internal
    args = parser.parse_args()

    if args.one:
        print(json.dumps(measure_space(args.one, args.archs, args.limit, args.full, args.seed)))
        return
    if args.importer:
        print(json.dumps(measure_importer(args.modules, args.seed)))
        return

    from archbench.graphs.spaces import list_spaces

    names = args.spaces or list_spaces()
    common = ["--archs", str(args.archs), "--limit", str(args.limit), "--seed", str(args.seed)] + (["--full"] if args.full else [])
    rows = []
    header = (f"{'space':18s} {'archs/s':>9s} {'timed':>6s} {'nodes':>6s} {'RSS MB':>7s} {'traced MB':>9s} "
              f"{'built':>6s} {'rows (archs/nodes/edges)':>26s} {'Parquet KB':>10s} {'B/arch':>7s}  target")
    print(header)
    for name in names:
        row = {"space": name} | _child(["--one", name, *common], args.timeout)
        rows.append(row)
        if row["status"] != "ok":
            print(f"{name:18s} FAILED: {row['error']}")
            continue
        b = row["build"]
        r = b["rows"]
        ok = "ok" if row["archs_per_second"] >= TARGET_ARCHS_PER_SECOND else "BELOW"
        print(f"{name:18s} {row['archs_per_second']:9,.0f} {row['archs_timed']:6d} {row['mean_nodes']:6.0f} "
              f"{row['peak_rss_mb']:7.0f} {row['peak_traced_mb']:9.1f} {b['archs']:6d} "
              f"{r['archs']:>7,}/{r['nodes']:>9,}/{r['edges']:>8,} {sum(b['parquet_bytes'].values()) / 1024:10.0f} "
              f"{b['parquet_bytes_per_arch']:7.0f}  {ok}")
    importer = (_child(["--importer", "--modules", str(args.modules), "--seed", str(args.seed)], args.timeout)
                if args.modules > 0 else {"status": "skipped"})
    if importer.get("status") == "skipped":
        print("\ntorch.fx importer: not measured (--modules 0)")
    elif importer.get("status") == "failed":
        print(f"torch.fx importer: FAILED: {importer['error']}")
    else:
        print(f"\ntorch.fx importer on NB201: {importer['modules_per_second']:.1f} modules/s "
              f"({importer['modules']} modules, {importer['mean_graph_nodes']:.0f} graph nodes each; "
              f"{importer['round_trips_equal']}/{importer['modules']} round trips equal in hash and params)")

    import torch

    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
                    "torch": torch.__version__, "load_average_1min": os.getloadavg()[0]},
        "settings": {"archs": args.archs, "limit": args.limit, "full": args.full, "seed": args.seed},
        "target_archs_per_second": TARGET_ARCHS_PER_SECOND,
        "spaces": rows,
        "below_target": [r["space"] for r in rows if r["status"] == "ok" and r["archs_per_second"] < TARGET_ARCHS_PER_SECOND],
        "failed": [r["space"] for r in rows if r["status"] != "ok"],
        "fx_importer": importer,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
