"""`archbench proxies`: zero-cost proxy scores of a built space, stored as metrics rows."""
from __future__ import annotations

import argparse

NAME = "proxies"
HELP = "compute zero-cost proxy scores of a space's architectures into the metrics table"

_EPILOG = """\
proxies: synflow snip grasp fisher grad_norm jacob_cov nwot zen epe_nas l2_norm plain params flops
(the 13 of NAS-Bench-Suite-Zero; default: all).

data: 'random' (default, no download: N(0,1) images and uniform labels; data-dependent proxies then
rank networks differently from the literature), or your own images as an .npz with arrays x
(N,H,W,C uint8/float, or N,C,H,W with --data-layout NCHW) and y (N integer labels):
    archbench proxies nb201 --data cifar10=/path/cifar10_train.npz --limit 1000
Rows: metric zc_<proxy> (unit score) and zc_<proxy>_time (unit s), source archbench_zc,
dataset = the data name, seed = --seed. Re-running resumes; a larger --limit extends.

Stored scores are kept, never recomputed, while the options (batch size, dtype, data content) and
the proxy's definition version are the same. A change of either replaces the proxy's rows for
this data and seed, in one commit once the new scores cover the selection (until then, and if the
run is interrupted, the old rows stay). --recompute scores the selected architectures again
anyway (after a code change, say) and replaces their score and _time rows in one commit once all
are done; other architectures keep theirs. An interrupted recompute leaves the old rows and
resumes when the same command is run again:
    archbench proxies nb201 --proxies fisher --limit 1000 --data cifar10=PATH.npz --recompute
"""


def add_parser(sub, home: argparse.ArgumentParser) -> None:
    p = sub.add_parser(NAME, parents=[home], help=HELP, epilog=_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Score the architectures of SPACE (built with `archbench build`) with zero-cost "
                                   "proxies at initialization, from one minibatch, and commit the scores with their "
                                   "compute times as metrics rows. Resumable and idempotent; runs serially or on a "
                                   "Dask cluster.")
    p.add_argument("space", help="search space built in the data home, e.g. nb201")
    p.add_argument("--proxies", default="all", metavar="P1,P2,...",
                   help="comma-separated proxy names, or 'all' (default)")
    p.add_argument("--limit", type=int, metavar="N", help="score the first N architectures of the seeded order")
    p.add_argument("--data", default="random", metavar="SPEC",
                   help="minibatch source: 'random' (default), PATH.npz or NAME=PATH.npz")
    p.add_argument("--data-layout", default="NHWC", choices=("NHWC", "NCHW"), help="layout of the .npz images")
    p.add_argument("--batch-size", type=int, default=64, metavar="N", help="minibatch size (default 64)")
    p.add_argument("--seed", type=int, default=0, help="seed of initialization, minibatch and order (default 0)")
    p.add_argument("--dtype", default="float32", choices=("float32", "float64"),
                   help="module and batch precision (default float32; synflow always uses float64)")
    p.add_argument("--chunk-size", type=int, default=20, metavar="N", help="architectures per resumable chunk")
    p.add_argument("--workers", type=int, metavar="N", help="run on a local Dask cluster of N worker processes")
    p.add_argument("--scheduler", metavar="ADDRESS", help="run on the Dask cluster at ADDRESS (tcp://host:8786)")
    p.add_argument("--threads", type=int, default=1, metavar="N",
                   help="torch threads per process (default 1: identical scores serial or distributed)")
    p.add_argument("--recompute", action="store_true",
                   help="score the selected architectures again even where scores are stored, and replace their "
                        "rows in one commit once all are scored (an interrupted recompute keeps the old rows and "
                        "resumes when run again)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from archbench.errors import ArchbenchError
    from archbench.predictors.zero_cost.data import open_source
    from archbench.predictors.zero_cost.pipeline import run_proxies

    if args.workers is not None and args.scheduler is not None:
        raise ArchbenchError("give either --workers N (a local cluster) or --scheduler ADDRESS, not both")
    result = run_proxies(args.space, args.proxies, home=args.home, data=open_source(args.data, layout=args.data_layout),
                         batch_size=args.batch_size, seed=args.seed, dtype=args.dtype, limit=args.limit,
                         chunk_size=args.chunk_size, workers=args.workers, scheduler=args.scheduler,
                         threads=args.threads, recompute=args.recompute, progress=not args.quiet)
    print(f"\n{result.space}: {result.archs:,} architectures x {len(result.proxies)} proxies "
          f"(data {result.data}, seed {result.seed}) in {result.home}")
    print(f"  computed {result.computed:,} architectures in {result.seconds['compute']:.1f} s; "
          f"{result.already_done:,} (architecture, proxy) scores were already stored")
    for unit, fields in result.replaced.items():
        print(f"  replaced {unit}: its scores were computed with another {', '.join(fields)}")
    for unit in result.recomputed:
        print(f"  recomputed {unit}: the selected architectures' rows were replaced")
    for unit, n in result.pending.items():
        print(f"  {unit}: unfinished recompute ({n:,} of {result.archs:,} architectures scored; the old rows stay "
              f"until all are): run again with --recompute to finish it")
    for proxy in result.proxies:
        if result.nan.get(proxy):
            reason = result.reasons.get(proxy, "see earlier runs' log")
            print(f"  {proxy}: {result.nan[proxy]} non-finite scores (kept as NaN/inf), e.g.: {reason}")
    print("  committed: " + (", ".join(result.units) if result.units else "nothing new"))
    print("\nnext: archbench query \"SELECT metric, count(*), avg(value) FROM metrics "
          "WHERE source = 'archbench_zc' GROUP BY metric\"")
    return 0
