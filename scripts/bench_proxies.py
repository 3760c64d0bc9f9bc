"""Benchmark of the zero-cost proxies: rank correlations, speed, memory, and GBDT with proxy features.

Prints the figures and writes them to bench_results/proxies.json:

* Spearman rho and Kendall tau of each of the 13 proxies against NB201 CIFAR-10 test accuracy
  (200 epochs, NATS-Bench) on a fixed random sample (the first N of the pipeline's seeded order),
  computed with ``run_proxies`` on a local Dask cluster, next to Abdelfattah et al. 2021, Table 1;
  the same for NB101 and NB301 samples against NASLib's validation accuracies (NAS-Bench-Suite-Zero
  files), at NASLib's batch size (32), next to the Spearman of NASLib's own stored scores on the
  same architectures and the rank agreement between our scores and NASLib's; every proxy is
  reported on the architectures it has a stored score for (``scored``);
* (section ``nb201_all``, not in the default list) the same from the stored scores of all 15,625
  NB201 cells, for the proxies computed on all of them beforehand;
* seconds per NB201 architecture for all 13 proxies together and for each proxy alone (batch 64);
* peak RSS after 100 and after all architectures of a long serial run (in a fresh process);
* Kendall tau of the GBDT predictor with and without the 13 proxy scores as features, n = 100 / 400.

    .venv/bin/python scripts/bench_proxies.py [--home /tmp/zchome] [--data-dir ../shared/data]
        [--n201 1000] [--batch-size 16] [--workers 2] [--mem-archs 2000] [--n101 292] [--n301 300]
        [--naslib-batch-size 32] [--stored-only]

Resumable: scores already in the data home are not recomputed (see the pipeline's storage design).
The NB101/NB301 networks are large (about 5-10 s per architecture for 12 proxies and 15-20 s more
for GraSP at batch 32 on this CPU), so their scores are best computed beforehand, in the background,
with the same command the sections run (``archbench proxies``, resumable; GraSP in a second pass)::

    archbench proxies nb101 --home /tmp/zchome --data cifar10=PATH/cifar10_train4000.npz \
        --batch-size 32 --limit 292 --workers 2 --chunk-size 4 [--proxies ...]
    archbench proxies darts --home /tmp/zchome --data cifar10=PATH/cifar10_train4000.npz \
        --batch-size 32 --limit 300 --workers 2 --chunk-size 4 [--proxies ...]

and ``--stored-only`` then reports them without computing anything (the figures are read from the
stored metrics rows, so they are reproducible from the data home).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

#: Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021, Table 1: Spearman rho on
#: all 15,625 NB201 cells, CIFAR-10.
PUBLISHED_NB201 = {"synflow": 0.737, "jacob_cov": 0.731, "snip": 0.596, "grad_norm": 0.594, "grasp": 0.514,
                   "fisher": 0.360}
#: Our proxy names -> NASLib's (NAS-Bench-Suite-Zero JSON) names.
NASLIB_NAME = {"jacob_cov": "jacov"}


def ranks(x, y) -> dict:
    """Spearman rho and Kendall tau-b of the pairs without NaN (-inf ranks lowest), with how many were used."""
    import numpy as np
    from scipy import stats

    x, y = np.asarray(x, float), np.asarray(y, float)
    ok = ~np.isnan(x) & ~np.isnan(y)
    if ok.sum() < 3:
        return {"spearman": None, "kendall": None, "n": int(ok.sum())}
    return {"spearman": float(stats.spearmanr(x[ok], y[ok])[0]), "kendall": float(stats.kendalltau(x[ok], y[ok])[0]),
            "n": int(ok.sum())}


def ensure_built(home: Path, space: str, sources: list[str], config: str | None = None) -> None:
    from archbench.datasets.build import build
    from archbench.datasets.store import Store

    if not any(u == space for u in Store(home).manifest().units):
        build(space, home=home, sources=sources, config=config, workers=2, progress=False)


def scores_frame(home: Path, space: str, data: str, seed: int, ids):
    """Our scores (wide: arch_id x proxy) for ``ids``."""
    from archbench.datasets.catalog import query

    df = query("SELECT arch_id, metric, value FROM metrics WHERE source = 'archbench_zc' AND space = ? AND dataset = ? "
               "AND seed = ? AND unit = 'score'", [space, data, seed], home=home)
    wide = df.pivot(index="arch_id", columns="metric", values="value")
    wide.columns = [c[3:] for c in wide.columns]
    return wide.reindex(list(ids))


def labels(home: Path, space: str, metric: str, source: str, fidelity: float | None = None):
    from archbench.datasets.catalog import query

    sql = "SELECT arch_id, avg(value) AS v FROM metrics WHERE space = ? AND metric = ? AND source = ?"
    params = [space, metric, source]
    if fidelity is not None:
        sql += " AND fidelity = ?"
        params.append(fidelity)
    return query(sql + " GROUP BY arch_id", params, home=home).set_index("arch_id")["v"]


def naslib_scores(home: Path, space: str, source: str):
    from archbench.datasets.catalog import query

    df = query("SELECT arch_id, metric, avg(value) AS v FROM metrics WHERE space = ? AND source = ? AND unit = 'score' "
               "GROUP BY ALL", [space, source], home=home)
    wide = df.pivot(index="arch_id", columns="metric", values="v")
    wide.columns = [c[3:] for c in wide.columns]
    return wide


def stored_units(home: Path, space: str, data: str, seed: int) -> dict:
    """Per proxy, the batch size, definition version and architecture count of its committed score unit (manifest)."""
    from archbench.datasets.store import Store

    out = {}
    for unit, info in Store(home).manifest().info.items():
        if unit.startswith(f"{space}/zc/{data}/s{seed}/"):
            fp = info.get("fingerprint", {})
            out[unit.rsplit("/", 1)[1]] = {"batch_size": fp.get("batch_size"), "definition": fp.get("definition", 1),
                                           "archs": info.get("archs")}
    return out


def scored_mask(home: Path, space: str, data: str, seed: int, ids):
    """(arch_id x proxy) booleans: the architecture has a stored score row (NaN scores included)."""
    from archbench.datasets.catalog import query

    df = query("SELECT DISTINCT arch_id, metric FROM metrics WHERE source = 'archbench_zc' AND space = ? AND dataset = ? "
               "AND seed = ? AND unit = 'score'", [space, data, seed], home=home)
    df["v"] = True
    wide = df.pivot(index="arch_id", columns="metric", values="v")
    wide.columns = [c[3:] for c in wide.columns]
    return wide.reindex(list(ids)).fillna(False).astype(bool)


def mean_times(home: Path, space: str, source: str, ids, seed: int | None = None) -> dict:
    """Mean seconds per architecture of each proxy's ``zc_<proxy>_time`` rows of ``source`` over ``ids``."""
    from archbench.datasets.catalog import query

    sql = ("SELECT arch_id, metric, avg(value) AS v FROM metrics WHERE space = ? AND source = ? AND unit = 's' "
           "AND metric LIKE 'zc_%_time'")
    params = [space, source]
    if seed is not None:
        sql += " AND seed = ?"
        params.append(seed)
    df = query(sql + " GROUP BY ALL", params, home=home)
    df = df[df["arch_id"].isin(set(ids))]
    return {m[3:-5]: float(v) for m, v in df.groupby("metric")["v"].mean().items()}


def correlation_section(home: Path, space: str, n: int, data, batch: int, workers: int, target, published=None,
                        naslib=None, naslib_source: str | None = None, compute: bool = True) -> dict:
    """Scores for the first ``n`` archs of ``space`` (computed if missing) and their rank correlations.

    With ``compute=False`` nothing is computed: each proxy is evaluated on those of the ``n``
    architectures that have a stored score. NASLib's own scores (``naslib``) are ranked on the
    same architectures as ours, so both columns share architectures and labels.
    """
    import numpy as np

    from archbench.predictors.zero_cost import list_proxies
    from archbench.predictors.zero_cost.pipeline import run_proxies, select_archs

    t0 = time.perf_counter()
    run = None
    if compute:
        run = run_proxies(space, None, home=home, data=data, batch_size=batch, seed=0, limit=n, workers=workers,
                          progress=True)
    wall = time.perf_counter() - t0
    ids = select_archs(home, space, n, 0)["arch_id"].tolist()
    ours = scores_frame(home, space, data.name, 0, ids)
    has = scored_mask(home, space, data.name, 0, ids)
    y = target.reindex(ids)
    units = stored_units(home, space, data.name, 0)
    other_batch = sorted({u["batch_size"] for u in units.values()} - {batch})
    if other_batch:
        print(f"  warning: {space} has stored scores at batch size(s) {other_batch}, not only {batch}", flush=True)
    out = {"space": space, "archs": len(ids), "labelled": int(y.notna().sum()), "batch_size": batch,
           "data": data.name, "computed_now": None if run is None else run.computed, "wall_seconds_this_run": wall,
           "workers": workers, "units": units, "proxies": {},
           # Wall seconds as stored with the scores (each includes its shared passes), measured under
           # whatever load the computing run had: an upper bound, not a clean timing.
           "stored_seconds_per_arch": mean_times(home, space, "archbench_zc", ids, seed=0)}
    if naslib_source:
        out["naslib_stored_seconds_per_arch"] = mean_times(home, space, naslib_source, ids)
    for p in list_proxies():
        mask = has[p].to_numpy() if p in has else np.zeros(len(ids), bool)
        row = {"scored": int(mask.sum()), **ranks(ours[p][mask] if p in ours else [], y[mask])}
        row["nan"] = int(ours[p][mask].isna().sum()) if p in ours else 0
        row["batch_size"] = units.get(p, {}).get("batch_size")
        if published and p in published:
            row["published_spearman"] = published[p]
            row["difference"] = None if row["spearman"] is None else row["spearman"] - published[p]
        if naslib is not None:
            theirs = naslib.reindex(ids).get(NASLIB_NAME.get(p, p))
            if theirs is not None and mask.any():
                ref = ranks(theirs[mask], y[mask])
                row["naslib_spearman_vs_accuracy"] = ref["spearman"]
                row["naslib_kendall_vs_accuracy"] = ref["kendall"]
                row["agreement_with_naslib_spearman"] = ranks(ours[p][mask], theirs[mask])["spearman"]
        out["proxies"][p] = row
    return out


def timing_section(home: Path, data, n_archs: int, batch: int = 64) -> dict:
    """Seconds per NB201 architecture, all 13 together and each alone, serial, 1 torch thread."""
    import numpy as np
    import torch

    from archbench.graphs.spaces import get_space
    from archbench.predictors.zero_cost import compute_proxies, list_proxies
    from archbench.predictors.zero_cost.pipeline import select_archs

    torch.set_num_threads(1)
    space = get_space("nb201")
    ids = select_archs(home, "nb201", n_archs, 0)
    mb = data.minibatch(batch, 0, (3, 32, 32), 10)
    compute_proxies(space.build_cg(space.index_to_arch(0)), None, data=mb)  # warm-up
    together, together_cpu, alone = [], [], {p: [] for p in list_proxies()}
    no_grasp, two_threads = [], []
    flops, forward, forward_backward = [], [], []
    for enc in ids["encoding"]:
        g = space.build_cg(space.parse(enc))
        flops.append(g.flops)
        f, fb = _pass_seconds(g, mb)
        forward.append(f)
        forward_backward.append(fb)
        t0, c0 = time.perf_counter(), time.process_time()
        compute_proxies(g, None, data=mb)
        together.append(time.perf_counter() - t0)
        together_cpu.append(time.process_time() - c0)
        t0 = time.perf_counter()
        compute_proxies(g, [p for p in list_proxies() if p != "grasp"], data=mb)
        no_grasp.append(time.perf_counter() - t0)
        torch.set_num_threads(2)
        t0 = time.perf_counter()
        compute_proxies(g, None, data=mb)
        two_threads.append(time.perf_counter() - t0)
        torch.set_num_threads(1)
        for p in alone:
            t0 = time.perf_counter()
            compute_proxies(g, [p], data=mb)
            alone[p].append(time.perf_counter() - t0)
    return {"archs": len(ids), "batch_size": batch, "threads": 1, "mean_mflops_per_sample": float(np.mean(flops)) / 1e6,
            "all13_seconds_per_arch": float(np.mean(together)), "all13_cpu_seconds_per_arch": float(np.mean(together_cpu)),
            "all13_min_max": [float(min(together)), float(max(together))],
            "all12_without_grasp_seconds_per_arch": float(np.mean(no_grasp)),
            "all13_two_threads_seconds_per_arch": float(np.mean(two_threads)),
            "alone_seconds_per_arch": {p: float(np.mean(v)) for p, v in alone.items()},
            "sum_of_alone": float(sum(np.mean(v) for v in alone.values())),
            # The floor: one plain forward, and one forward + cross-entropy backward, of the same
            # modules (channels_last, fast_ops, training-mode BN) at the same batch, one thread.
            "forward_seconds_per_arch": float(np.mean(forward)),
            "forward_backward_seconds_per_arch": float(np.mean(forward_backward)),
            "load_average": os.getloadavg()}


def _pass_seconds(graph, mb, repeats: int = 3) -> tuple[float, float]:
    """Best-of-``repeats`` seconds of a forward and of a forward + backward of ``graph``'s proxy module on ``mb``."""
    import torch

    from archbench.predictors.zero_cost.fast_ops import fast_ops
    from archbench.predictors.zero_cost.passes import ProxyContext

    ctx = ProxyContext(graph, mb, frozenset())
    module, (x, y) = ctx.module.train(), ctx.inputs()
    fwd, both = [], []
    with fast_ops():
        for _ in range(repeats):
            t0 = time.perf_counter()
            with torch.no_grad():
                module(x)
            fwd.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            torch.nn.functional.cross_entropy(module(x), y).backward()
            both.append(time.perf_counter() - t0)
            module.zero_grad(set_to_none=True)
    return min(fwd), min(both)


def memory_only(args) -> None:
    """(Child process) a long serial run; prints peak RSS after 100 and after all architectures as JSON."""
    import shutil

    from archbench.predictors.zero_cost.pipeline import run_proxies

    home = Path(args.mem_home)
    shutil.rmtree(home, ignore_errors=True)
    ensure_built(home, "nb201", [])
    marks: dict[str, float] = {}

    def on_progress(done: int) -> None:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        if done >= 100 and "after_100" not in marks:
            marks["after_100"] = peak_mb
        marks["after_all"] = peak_mb
        marks["archs"] = done

    t0 = time.perf_counter()
    run = run_proxies("nb201", args.mem_proxies, home=home, batch_size=args.mem_batch, limit=args.mem_archs,
                      chunk_size=50, progress=False, on_progress=on_progress)
    marks["seconds"] = time.perf_counter() - t0
    marks["computed"] = run.computed
    shutil.rmtree(home, ignore_errors=True)
    print(json.dumps(marks))


def memory_section(args) -> dict:
    cmd = [sys.executable, __file__, "--memory-only", "--mem-home", args.mem_home, "--mem-archs", str(args.mem_archs),
           "--mem-batch", str(args.mem_batch), "--mem-proxies", args.mem_proxies]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    res = json.loads(out)
    res.update(proxies=args.mem_proxies, batch_size=args.mem_batch)
    return {"peak_rss_mb_after_100": res["after_100"], f"peak_rss_mb_after_{res['archs']}": res["after_all"], **res}


def gbdt_section(home: Path, n201: int, data_name: str, sizes=(100, 400), repeats: int = 5) -> dict:
    """Kendall tau of GBDT on held-out NB201 archs, with and without the 13 proxy scores as extras."""
    import numpy as np
    from scipy import stats

    from archbench.datasets.views import LabelSpec, load_graphs
    from archbench.predictors.zero_cost import list_proxies
    from archbench.predictors.zero_cost.pipeline import select_archs

    try:
        from archbench.predictors.gbdt import GBDTPredictor
    except ImportError:
        return {"skipped": "archbench.predictors.gbdt is not available"}
    ids = select_archs(home, "nb201", n201, 0)["arch_id"].tolist()
    y_all = labels(home, "nb201", "test_accuracy", "nats_csv", 200.0).reindex(ids).to_numpy()
    extras = [LabelSpec(f"zc_{p}", dataset=data_name, source="archbench_zc") for p in list_proxies()]
    graphs = load_graphs(home, space="nb201", arch_ids=ids, extras=extras)
    keys = [f"zc_{p}" for p in list_proxies()]
    # Trees only see the order of a feature, so a monotone transform changes nothing but the
    # range: synflow reaches 1e44 (beyond float32, which the featurizer uses) and zen/nwot are
    # -inf (log 0) for some networks; signed log1p, and -inf just below the smallest finite value.
    # NaN (jacob_cov/epe_nas of networks whose output ignores the input) stays missing for XGBoost.
    feats = {}
    for k in keys:
        v = graphs.extras[k]
        t = np.sign(v) * np.log1p(np.abs(v))
        finite = t[np.isfinite(t)]
        t[np.isneginf(v)] = finite.min() - 1.0
        feats[k] = t
    graphs = graphs.with_extras(feats)
    out: dict = {"pool": len(ids), "repeats": repeats, "test": "the rest of the pool", "results": {},
                 "features": "CGFeaturizer (op/pair counts, flow n-grams, depth, params, FLOPs, stage shapes) "
                             "[+ 13 proxies, signed log1p]",
                 "predictor": "archbench.predictors.gbdt.GBDTPredictor (defaults: pairwise ranking loss)"}
    for n in [n for n in sizes if n <= len(ids) - 50]:
        res = {"without": [], "with": []}
        for rep in range(repeats):
            rng = np.random.default_rng(rep)
            perm = rng.permutation(len(ids))
            train, test = perm[:n], perm[n:]
            for name, ex in (("without", ()), ("with", tuple(keys))):
                model = GBDTPredictor(extras=ex, seed=rep, n_jobs=2)
                model.fit(graphs.subset(train), y_all[train])
                pred = model.predict(graphs.subset(test))
                res[name].append(float(stats.kendalltau(pred, y_all[test])[0]))
        out["results"][str(n)] = {k: {"mean": float(np.mean(v)), "runs": v} for k, v in res.items()}
    return out


def variant_section(home: Path, variant_home: Path, data_dir: Path, data, batch: int, base_batch: int, n: int,
                    proxies: str, workers: int) -> dict:
    """The same first ``n`` NB201 archs with other options (data source or batch size) for ``proxies``.

    A different batch size is another fingerprint of the same unit, so it runs in ``variant_home``
    (a second NB201 build) to leave the main scores alone; another data source has its own units.
    """
    from archbench.predictors.zero_cost.pipeline import run_proxies, select_archs

    target_home = variant_home if batch != base_batch else home
    if target_home != home:
        ensure_built(target_home, "nb201", [f"nats_csv={data_dir / 'nb201' / 'nats_tss_cifar10.csv'}"])
    t0 = time.perf_counter()
    run_proxies("nb201", proxies, home=target_home, data=data, batch_size=batch, seed=0, limit=n, workers=workers)
    wall = time.perf_counter() - t0
    ids = select_archs(home, "nb201", n, 0)["arch_id"].tolist()
    assert ids == select_archs(target_home, "nb201", n, 0)["arch_id"].tolist()
    acc = labels(home, "nb201", "test_accuracy", "nats_csv", 200.0).reindex(ids)
    base = scores_frame(home, "nb201", "cifar10", 0, ids)
    var = scores_frame(target_home, "nb201", data.name, 0, ids)
    out = {"archs": n, "batch_size": batch, "data": data.name, "wall_seconds": wall, "proxies": {}}
    for p in proxies.split(","):
        out["proxies"][p] = {"spearman_base": ranks(base[p], acc)["spearman"], "spearman_variant": ranks(var[p], acc)["spearman"],
                             "kendall_base": ranks(base[p], acc)["kendall"], "kendall_variant": ranks(var[p], acc)["kendall"],
                             "rank_agreement": ranks(base[p], var[p])["spearman"]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--home", default="/tmp/zchome")
    ap.add_argument("--data-dir", default=str((REPO / ".." / "shared" / "data").resolve()))
    ap.add_argument("--n201", type=int, default=1000)
    ap.add_argument("--n101", type=int, default=292, help="NB101 archs (NASLib's file holds 292 distinct cells)")
    ap.add_argument("--n301", type=int, default=300)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--naslib-batch-size", type=int, default=32,
                    help="batch size of the NB101/NB301 sections (NASLib's NAS-Bench-Suite-Zero used 32)")
    ap.add_argument("--stored-only", action="store_true",
                    help="NB101/NB301 sections: report the stored scores, compute nothing")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--timing-archs", type=int, default=5)
    ap.add_argument("--mem-archs", type=int, default=2000)
    ap.add_argument("--mem-batch", type=int, default=2)
    ap.add_argument("--mem-proxies", default="snip,nwot,synflow,l2_norm,params")
    ap.add_argument("--mem-home", default="/tmp/zcmem")
    ap.add_argument("--memory-only", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--variant-archs", type=int, default=200)
    ap.add_argument("--variant-proxies", default="snip,grad_norm,fisher,plain,jacob_cov,epe_nas,nwot")
    ap.add_argument("--sections", default="memory,timing,nb201,gbdt,nb101,nb301,random,batch64")
    ap.add_argument("--out", default=str(REPO / "bench_results" / "proxies.json"))
    args = ap.parse_args()
    if args.memory_only:
        memory_only(args)
        return

    from archbench.predictors.zero_cost import ArraySource

    home, data_dir = Path(args.home), Path(args.data_dir)
    cifar = ArraySource.from_npz(data_dir / "cifar10" / "cifar10_train4000.npz", name="cifar10")
    sections = args.sections.split(",")
    out_path = Path(args.out)
    results = json.loads(out_path.read_text()) if out_path.exists() else {}
    results["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()}
    results["data"] = "CIFAR-10 training images (cifar10_train4000.npz), per-channel standardized, seed 0"

    def save() -> None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        out_path.write_text(json.dumps(results, indent=1))

    if "memory" in sections:
        print(f"memory: {args.mem_archs} NB201 archs, serial ({args.mem_proxies}, batch {args.mem_batch}) ...", flush=True)
        results["memory"] = memory_section(args)
        print(json.dumps(results["memory"], indent=1))
        save()
    ensure_built(home, "nb201", [f"nats_csv={data_dir / 'nb201' / 'nats_tss_cifar10.csv'}"])
    if "timing" in sections:
        print(f"timing: {args.timing_archs} NB201 archs at batch 64 ...", flush=True)
        results["timing_nb201_batch64"] = timing_section(home, cifar, args.timing_archs)
        print(json.dumps(results["timing_nb201_batch64"], indent=1))
        save()
    if "nb201" in sections:
        print(f"nb201: {args.n201} archs, batch {args.batch_size}, {args.workers} Dask workers ...", flush=True)
        acc = labels(home, "nb201", "test_accuracy", "nats_csv", 200.0)
        results["nb201"] = correlation_section(home, "nb201", args.n201, cifar, args.batch_size, args.workers, acc,
                                               published=PUBLISHED_NB201)
        results["nb201"]["target"] = "NATS-Bench CIFAR-10 test accuracy, 200 epochs (nats_tss_cifar10.csv)"
        save()
    if "nb201_all" in sections:
        # Stored scores only: every proxy on whichever of the 15,625 cells has one. Compute them
        # beforehand, e.g. archbench proxies nb201 --limit 15625 --batch-size 16 --proxies ... --workers 2.
        print(f"nb201_all: stored scores of all 15,625 archs, batch {args.batch_size} ...", flush=True)
        acc = labels(home, "nb201", "test_accuracy", "nats_csv", 200.0)
        results["nb201_all"] = correlation_section(home, "nb201", 15625, cifar, args.batch_size, args.workers, acc,
                                                   published=PUBLISHED_NB201, compute=False)
        results["nb201_all"]["target"] = results.get("nb201", {}).get("target", "NATS-Bench CIFAR-10 test accuracy, 200 epochs")
        save()
    if "gbdt" in sections:
        print("gbdt: n = 100, 400 ...", flush=True)
        results["gbdt_nb201"] = gbdt_section(home, args.n201, "cifar10")
        print(json.dumps(results["gbdt_nb201"], indent=1))
        save()
    for space, config, source, rel, n in (("nb101", None, "nb101_naslib_zc", "nb101/naslib_zc_nasbench101.json", args.n101),
                                          ("darts", "nb301", "nb301_naslib_zc", "darts_nb301/naslib_zc_nasbench301_725.json",
                                           args.n301)):
        key = "nb101" if space == "nb101" else "nb301"
        if key not in sections:
            continue
        print(f"{key}: {n} archs, batch {args.naslib_batch_size} ...", flush=True)
        ensure_built(home, space, [f"{source}={data_dir / rel}"], config)
        acc = labels(home, space, "valid_accuracy", source)
        results[key] = correlation_section(home, space, n, cifar, args.naslib_batch_size, args.workers, acc,
                                           naslib=naslib_scores(home, space, source), naslib_source=source,
                                           compute=not args.stored_only)
        results[key]["target"] = (f"NASLib validation accuracy ({source}; isomorphic duplicates in the file are "
                                  "one architecture here, labels and NASLib scores averaged over them)")
        save()
    from archbench.predictors.zero_cost import RandomSource

    if "random" in sections:
        print(f"random data: first {args.variant_archs} NB201 archs, batch {args.batch_size} ...", flush=True)
        results["nb201_random_data"] = variant_section(home, home, data_dir, RandomSource(), args.batch_size,
                                                       args.batch_size, args.variant_archs, args.variant_proxies,
                                                       args.workers)
        save()
    if "batch64" in sections:
        print(f"batch 64: first {args.variant_archs} NB201 archs ...", flush=True)
        results["nb201_batch64"] = variant_section(home, Path(str(home) + "_b64"), data_dir, cifar, 64, args.batch_size,
                                                   args.variant_archs, args.variant_proxies, args.workers)
        save()
    print_summary(results)
    print(f"\nwrote {out_path}")


def print_summary(r: dict) -> None:
    for key in ("nb201", "nb201_all", "nb101", "nb301"):
        if key not in r:
            continue
        s = r[key]
        print(f"\n{key}: {s['archs']} archs ({s['labelled']} labelled), batch {s['batch_size']}, data {s['data']}")
        print(f"  {'proxy':10s} {'n':>4s} {'spearman':>9s} {'kendall':>8s} {'published':>9s} {'naslib':>7s} {'agree':>6s}")
        for p, v in s["proxies"].items():
            f = lambda x: "-" if x is None else f"{x:.3f}"  # noqa: E731
            mark = "*" if v.get("batch_size") not in (None, s["batch_size"]) else " "
            print(f"  {p:9s}{mark} {v.get('scored', v['n']):>4d} {f(v['spearman']):>9s} {f(v['kendall']):>8s} "
                  f"{f(v.get('published_spearman')):>9s} {f(v.get('naslib_spearman_vs_accuracy')):>7s} "
                  f"{f(v.get('agreement_with_naslib_spearman')):>6s}")
        if any(v.get("batch_size") not in (None, s["batch_size"]) for v in s["proxies"].values()):
            print(f"  * stored at another batch size (see '{key}.units' in the JSON)")
    if "timing_nb201_batch64" in r:
        t = r["timing_nb201_batch64"]
        print(f"\ntiming (batch 64, 1 thread): all 13 together {t['all13_seconds_per_arch']:.2f} s/arch; alone: "
              + ", ".join(f"{p} {s:.2f}" for p, s in t["alone_seconds_per_arch"].items()))
    if "memory" in r:
        print(f"\nmemory: {r['memory']}")
    for key in ("nb201_random_data", "nb201_batch64"):
        if key in r:
            print(f"\n{key} (first {r[key]['archs']} archs): spearman base -> variant (agreement)")
            for p, v in r[key]["proxies"].items():
                print(f"  {p:10s} {v['spearman_base']:.3f} -> {v['spearman_variant']:.3f} ({v['rank_agreement']:.3f})")
    if "gbdt_nb201" in r and "results" in r["gbdt_nb201"]:
        for n, v in r["gbdt_nb201"]["results"].items():
            print(f"gbdt n={n}: kendall without proxies {v['without']['mean']:.3f}, with {v['with']['mean']:.3f}")


if __name__ == "__main__":
    main()
