"""Benchmark of archbench's predictors: sample efficiency on NB201 / NB101 / NB301, transfer, timings.

Writes ``bench_results/predictors.json`` (summaries, every row, timings, published reference
points), plots under ``bench_results/plots/`` and appends every row to the results table of the
data home, and prints the figures.

Tasks (those whose tables are missing are skipped and reported as such):

* ``nb201/nats``:  NB201 CIFAR-10 test accuracy, 200 epochs, official NATS-Bench labels (all 15,625);
* ``nb201/analognas``: NB201 CIFAR-10 accuracy of the AnalogNAS-Bench package (all 15,625);
* ``nb101/1k``: NB101 validation accuracy at 108 epochs of the 1,000-cell set;
* ``nb301/naslib``: NB301 validation accuracy of NASLib's 725 DARTS cells with 12 zero-cost scores.

Build the tables first (about a minute)::

    archbench build nb201 --data-dir ../shared/data --home H
    archbench build nb101 --home H --source nb101_1k=../shared/data/nb101/nasbench101_1k_graphs.json \\
        --source nb101_naslib_zc=../shared/data/nb101/naslib_zc_nasbench101.json
    archbench build darts --config nb301 --home H \\
        --source nb301_naslib_zc=../shared/data/darts_nb301/naslib_zc_nasbench301_725.json
    python scripts/bench_predictors.py --home H
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from archbench.datasets.views import LabelSpec, load_graphs
from archbench.errors import ArchbenchError
from archbench.eval import plots, reports
from archbench.eval.protocols import PredictorSpec, Task, cross_space, sample_efficiency

REPO = Path(__file__).resolve().parents[1]
PROXIES = ("epe_nas", "fisher", "flops", "grad_norm", "grasp", "jacov", "l2_norm", "nwot", "params", "plain", "snip",
           "synflow")
#: Published points to beat: (task, label, n_train, Kendall tau).
REFERENCES = [
    ("nb201/nats", "XGBoost + ZC (NAS-Bench-Suite-Zero)", 400, 0.794),
    ("nb101/1k", "TA-GATES", 364, 0.779),
    ("nb301/naslib", "TA-GATES", 294, 0.712),
]


def task_specs(name: str) -> tuple[str, LabelSpec, list[str]]:
    """(space, target, extras to load) of a benchmark task."""
    if name == "nb201/nats":
        return "nb201", LabelSpec("test_accuracy", "cifar10", "nats_csv", 200.0), ["nats_csv/test_accuracy@12"]
    if name == "nb201/analognas":
        return "nb201", LabelSpec("test_accuracy", "cifar10", "analognas"), []
    if name == "nb101/1k":
        return "nb101", LabelSpec("valid_accuracy", "cifar10", "nb101_1k", 108.0), []
    if name == "nb301/naslib":
        return "darts", LabelSpec("valid_accuracy", "cifar10", "nb301_naslib_zc"), [f"nb301_naslib_zc/zc_{p}" for p in PROXIES]
    raise ArchbenchError(f"unknown benchmark task {name!r}")


def predictors_for(task: str, gnn: dict) -> list[PredictorSpec]:
    specs = [PredictorSpec("params", "params"), PredictorSpec("flops", "flops"), PredictorSpec("random", "random"),
             PredictorSpec("ridge", "ridge"), PredictorSpec("gbdt", "gbdt")]
    if task == "nb201/nats":
        specs.append(PredictorSpec("gbdt+lowfi", "gbdt", {"extras": ("test_accuracy@12",)}))
    if task == "nb301/naslib":
        specs.append(PredictorSpec("gbdt+zc", "gbdt", {"extras": tuple(f"zc_{p}" for p in PROXIES)}))
        specs += [PredictorSpec(f"zc:{p}", "proxy", {"metric": f"zc_{p}"}) for p in PROXIES]
    if gnn is not None:
        specs.append(PredictorSpec("gnn", "gnn", gnn))
    return specs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", default=os.environ.get("ARCHBENCH_HOME"), help="data home with the tables")
    ap.add_argument("--out", default=str(REPO / "bench_results" / "predictors.json"))
    ap.add_argument("--tasks", default="nb201/nats,nb201/analognas,nb101/1k,nb301/naslib")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--sizes", default="50,100,200,400,1000")
    ap.add_argument("--gnn-tasks", default="nb201/nats,nb101/1k,nb301/naslib", help="tasks the GNN runs on")
    ap.add_argument("--gnn-params", default="{}", help="JSON parameters of the GNN")
    ap.add_argument("--cross-space", action="store_true", help="also run the cross-space transfer protocol")
    ap.add_argument("--timings", action="store_true",
                    help="also time the NB201 fit/predict-all (automatic with the nb201/nats task); with "
                         "--tasks '' only that, e.g. on a quiet machine")
    ap.add_argument("--no-save", action="store_true", help="do not append to the results table")
    ap.add_argument("--merge", action="store_true",
                    help="add this run's tasks to an existing --out file (runs split across processes)")
    ap.add_argument("--merge-from", metavar="JSON", help="only merge this earlier run's file into --out, then exit")
    args = ap.parse_args(argv)
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)

    if args.merge_from:
        _write(json.loads(Path(args.merge_from).read_text()), args.out, merge=True)
        print(f"merged {args.merge_from} into {args.out}")
        return 0
    sizes = [int(v) for v in args.sizes.split(",")]
    gnn_params = json.loads(args.gnn_params)
    out = {"meta": {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "python": sys.version.split()[0],
                    "machine": platform.machine(), "cpus": os.cpu_count(), "load_avg_start": os.getloadavg(),
                    "seeds": args.seeds, "sizes": sizes, "gnn_params": gnn_params},
           "tasks": {}, "skipped": {}, "timings": {}, "references": REFERENCES}
    all_rows = []
    t_start = time.perf_counter()
    for name in [t for t in args.tasks.split(",") if t]:
        space, target, extras = task_specs(name)
        try:
            t = time.perf_counter()
            task = Task.load(args.home, space, target, extras=extras)
            load_s = time.perf_counter() - t
        except ArchbenchError as err:
            out["skipped"][name] = str(err).splitlines()[0]
            print(f"skip {name}: {out['skipped'][name]}", flush=True)
            continue
        task_sizes = [n for n in sizes if n <= len(task.y) - 100]
        specs = predictors_for(name, gnn_params if name in args.gnn_tasks.split(",") else None)
        print(f"\n== {name}: {len(task.y):,} labelled architectures of {space} ({task.name}), loaded in {load_s:.1f} s; "
              f"sizes {task_sizes}, {args.seeds} seeds, predictors {[s.label for s in specs]}", flush=True)
        t = time.perf_counter()
        rows = sample_efficiency(task, specs, train_sizes=task_sizes, seeds=range(args.seeds),
                                 progress=lambda line: print("  " + line, flush=True))
        rows["task"] = name
        all_rows.append(rows)
        summary = reports.summarize(rows)
        print()
        print(reports.format_table(summary, "kendall_tau"))
        print(reports.format_table(summary, "spearman"))
        out["tasks"][name] = {"space": space, "target": task.name, "n_archs": int(len(task.y)), "sizes": task_sizes,
                              "load_seconds": load_s, "run_seconds": time.perf_counter() - t,
                              "summary": json.loads(summary.to_json(orient="records"))}
        refs = [(label, n, tau) for tname, label, n, tau in REFERENCES if tname == name]
        plots.plot_sample_efficiency(rows, Path(args.out).parent / "plots" / f"{name.replace('/', '_')}_tau.png",
                                     references=refs)

    if "nb201/nats" in out["tasks"] or args.timings:
        out["timings"] = timings(args.home, gnn_params)
    if args.cross_space:
        out["cross_space"] = run_cross_space(args.home, gnn_params, all_rows)
    rows = pd.concat(all_rows, ignore_index=True) if all_rows else pd.DataFrame()
    out["rows"] = json.loads(rows.to_json(orient="records")) if len(rows) else []
    out["meta"]["total_seconds"] = time.perf_counter() - t_start
    out["meta"]["load_avg_end"] = os.getloadavg()
    if len(rows) and not args.no_save:
        out["meta"]["run_id"] = reports.append_results(rows, args.home)
    total = out["meta"]["total_seconds"]
    _write(out, args.out, merge=args.merge)  # with merge, out's meta becomes the list of runs
    print(f"\nwrote {args.out} ({total:.0f} s total)")
    return 0


def _write(out: dict, path: str, merge: bool) -> None:
    """Write ``out`` to ``path``; with ``merge``, add its tasks, timings and rows to the file's."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if merge and target.exists():
        old = json.loads(target.read_text())
        for key in ("tasks", "skipped", "timings", "cross_space"):
            merged = dict(old.get(key) or {})
            merged.update(out.get(key) or {})
            out[key] = merged
        out["rows"] = old.get("rows", []) + out.get("rows", [])
        runs = lambda d: d.get("meta", {}).get("runs", [d.get("meta")])  # noqa: E731
        out["meta"] = {"runs": runs(old) + runs(out)}
    target.write_text(json.dumps(out, indent=1))


def timings(home, gnn_params: dict) -> dict:
    """Time to load, featurize, train at n=1000 and predict all 15,625 NB201 architectures."""
    from archbench.datasets.views import load_task
    from archbench.predictors import get_predictor

    res = {}
    t = time.perf_counter()
    graphs, y = load_task(home, task_specs("nb201/nats")[1], space="nb201")
    res["load_tables_s"] = time.perf_counter() - t
    rng = np.random.default_rng(0)
    train = np.sort(rng.permutation(len(y))[:1000])
    for name, params in (("gbdt", {}), ("gnn", gnn_params)):
        # cold: from the loaded graphs (featurization included); warm: features cached on the set
        fresh = load_graphs(home, space="nb201", arch_ids=list(graphs.arch_id))
        model = get_predictor(name, seed=0, **params)
        t = time.perf_counter()
        model.fit(fresh.subset(train), y[train])
        res[f"{name}_fit_n1000_cold_s"] = time.perf_counter() - t
        t = time.perf_counter()
        pred = model.predict(fresh)
        res[f"{name}_predict_all_cold_s"] = time.perf_counter() - t
        t = time.perf_counter()
        model.fit(fresh.subset(train), y[train])
        res[f"{name}_fit_n1000_warm_s"] = time.perf_counter() - t
        t = time.perf_counter()
        pred = model.predict(fresh)
        res[f"{name}_predict_all_warm_s"] = time.perf_counter() - t
        res[f"{name}_predicted"] = int(len(pred))
    print("\n== timings (NB201, 15,625 architectures):")
    for k, v in res.items():
        print(f"  {k:32s} {v:8.2f}" if isinstance(v, float) else f"  {k:32s} {v:8d}")
    return res


def run_cross_space(home, gnn_params: dict, all_rows: list) -> dict:
    """Train on two spaces, test on the third: zero-shot and k-shot, GBDT and GNN."""
    res = {}
    loaded = {}
    for name in ("nb201/nats", "nb101/1k", "nb301/naslib"):
        space, target, _ = task_specs(name)
        try:
            loaded[name] = Task.load(home, space, target)
        except ArchbenchError:
            pass
    specs = [PredictorSpec("gbdt", "gbdt"), PredictorSpec("gnn", "gnn", gnn_params)]
    for held in ("nb301/naslib", "nb101/1k"):
        sources = [t for n, t in loaded.items() if n != held]
        if held not in loaded or not sources:
            continue
        print(f"\n== cross-space: {[s.space for s in sources]} -> {held}", flush=True)
        rows = cross_space(sources, loaded[held], specs, k_shots=(0, 10, 50, 100), seeds=range(3), n_source=1000,
                           progress=lambda line: print("  " + line, flush=True))
        rows["task"] = held
        all_rows.append(rows)
        summary = reports.summarize(rows)
        print(reports.format_table(summary, "kendall_tau", col="k_shot"))
        res[held] = json.loads(summary.to_json(orient="records"))
        plots.plot_sample_efficiency(rows, REPO / "bench_results" / "plots" / f"transfer_{held.replace('/', '_')}.png",
                                     x="k_shot")
    return res


if __name__ == "__main__":
    sys.exit(main())
