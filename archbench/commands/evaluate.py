"""`archbench evaluate`: sample-efficiency and cross-space protocols, or a saved predictor, into the results table."""
from __future__ import annotations

import argparse

from ._task_args import add_task_args, label_spec, parse_params

NAME = "evaluate"
HELP = "evaluate predictors (sample efficiency, cross-space transfer) and append to the results table"


def _ints(text: str) -> list[int]:
    from archbench.errors import ArchbenchError

    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ArchbenchError(f"expected comma-separated integers like 50,100,200, found {text!r}") from None


def add_parser(sub, home: argparse.ArgumentParser) -> None:
    p = sub.add_parser(NAME, parents=[home], help=HELP,
                       description="Sample efficiency (default): train each PREDICTOR on N random labelled "
                                   "architectures of --space for every N of --train-sizes and test on all the "
                                   "others, for several seeds. Cross-space (--train-space): train on other spaces, "
                                   "test on --space zero-shot and after fine-tuning on K of its labels (--k-shots). "
                                   "--model: score a saved predictor on every labelled architecture. Rows go to the "
                                   "results table (query it: archbench query \"SELECT * FROM results\"); --plot-dir "
                                   "writes a Kendall tau vs training-size plot (and a scatter for --model).")
    p.add_argument("predictors", nargs="*", metavar="PREDICTOR",
                   help="registered names, or LABEL=NAME for a variant (e.g. gbdt ridge lowfi=gbdt)")
    add_task_args(p)
    p.add_argument("--param", action="append", metavar="[LABEL.]KEY=VALUE",
                   help="predictor parameter (repeatable), VALUE as JSON; LABEL. limits it to one predictor")
    p.add_argument("--train-sizes", type=_ints, default=[50, 100, 200, 400, 1000], metavar="N,N,...",
                   help="training-set sizes (default 50,100,200,400,1000)")
    p.add_argument("--seeds", type=int, default=5, metavar="S", help="seeds 0..S-1 (default 5)")
    p.add_argument("--max-test", type=int, metavar="N", help="test on at most N of the other architectures")
    p.add_argument("--train-space", action="append", metavar="SPACE",
                   help="cross-space: train on this space's labels (repeatable); --space is the held-out target. "
                        "The same label filters apply to every space")
    p.add_argument("--k-shots", type=_ints, default=[0, 10, 50, 100], metavar="K,K,...",
                   help="cross-space: target labels for fine-tuning (default 0,10,50,100)")
    p.add_argument("--n-source", type=int, metavar="N", help="cross-space: at most N architectures per training space")
    p.add_argument("--model", metavar="DIR", help="evaluate this saved predictor instead of training any")
    p.add_argument("--k", type=int, default=10, help="cut-off of precision@k and NDCG@k (default 10)")
    p.add_argument("--plot-dir", metavar="DIR", help="write plots here")
    p.add_argument("--no-save", action="store_true", help="do not append the rows to the results table")
    p.add_argument("--quiet", action="store_true", help="no per-fit progress lines")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    import pandas as pd

    from archbench.errors import ArchbenchError
    from archbench.eval import plots, protocols, reports

    target = label_spec(args)
    progress = None if args.quiet else print
    if args.model:
        from archbench.predictors import load_predictor

        model = load_predictor(args.model)
        task = protocols.Task.load(args.home, args.space, target, extras=model.required_extras)
        row, pred = protocols.evaluate_saved(model, task, k=args.k)
        rows = pd.DataFrame([row])
        print(f"{model!r} on {len(task.y):,} architectures of {task.name}: Kendall tau {row['kendall_tau']:.4f}, "
              f"Spearman {row['spearman']:.4f}, MAE {row['mae']:.4g}, predict {row['predict_seconds']:.2f} s")
        if args.plot_dir:
            path = plots.plot_scatter(task.y, pred, Path(args.plot_dir) / "scatter.png", title=task.name)
            print(f"wrote {path}")
    else:
        if not args.predictors:
            raise ArchbenchError("name at least one PREDICTOR (see `archbench train --list`), or give --model DIR")
        labels = [protocols.PredictorSpec.parse(t).label for t in args.predictors]
        params = parse_params(args.param, labels)
        specs = [protocols.PredictorSpec.parse(t, {**params.get("*", {}), **params.get(lbl, {})})
                 for t, lbl in zip(args.predictors, labels)]
        extras = sorted({e for s in specs for e in s.required_extras()})
        task = protocols.Task.load(args.home, args.space, target, extras=extras)
        if args.train_space:
            sources = [protocols.Task.load(args.home, sp, target, extras=extras) for sp in args.train_space]
            rows = protocols.cross_space(sources, task, specs, k_shots=args.k_shots, seeds=range(args.seeds),
                                         n_source=args.n_source, k=args.k, progress=progress)
            x = "k_shot"
        else:
            rows = protocols.sample_efficiency(task, specs, train_sizes=args.train_sizes, seeds=range(args.seeds),
                                               k=args.k, max_test=args.max_test, progress=progress)
            x = "n_train"
        summary = reports.summarize(rows)
        print()
        print(reports.format_table(summary, "kendall_tau", col=x))
        print()
        print(reports.format_table(summary, "spearman", col=x))
        if args.plot_dir:
            path = plots.plot_sample_efficiency(rows, Path(args.plot_dir) / f"{x}_kendall_tau.png", x=x)
            print(f"wrote {path}")
    if not args.no_save:
        run_id = reports.append_results(rows, args.home)
        print(f"appended {len(rows)} rows to the results table (run {run_id})")
    return 0
