"""`archbench train`: fit a predictor on a task's labelled architectures and save it."""
from __future__ import annotations

import argparse

from ._task_args import add_task_args, label_spec, parse_params

NAME = "train"
HELP = "train a performance predictor on labelled architectures and save it"


def add_parser(sub, home: argparse.ArgumentParser) -> None:
    p = sub.add_parser(NAME, parents=[home], help=HELP,
                       description="Fit PREDICTOR (see --list) on the labelled architectures of --space from the "
                                   "tables; with --n-train, fit on a seeded random sample and report the ranking "
                                   "metrics on all the others. The fitted predictor is saved to --out.")
    p.add_argument("predictor", nargs="?", help="registered predictor name, e.g. gbdt, gnn, ridge, params")
    add_task_args(p, space_required=False)
    p.add_argument("--n-train", type=int, metavar="N", help="train on N random architectures, test on the rest")
    p.add_argument("--seed", type=int, default=0, help="seed of the sample and the predictor (default 0)")
    p.add_argument("--param", action="append", metavar="KEY=VALUE",
                   help="predictor parameter (repeatable), VALUE as JSON, e.g. max_depth=4 or 'extras=[\"zc_synflow\"]'")
    p.add_argument("--out", metavar="DIR", help="directory to save the fitted predictor to")
    p.add_argument("--list", action="store_true", help="list the predictors and their parameters, then exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from archbench.errors import ArchbenchError
    from archbench.eval.protocols import PredictorSpec, train_on_task
    from archbench.eval.reports import append_results
    from archbench.predictors import list_predictors
    from archbench.predictors.base import predictor_class

    if args.list:
        for name in list_predictors():
            cls = predictor_class(name)
            print(f"{name:8s} {cls.description}\n{'':8s} parameters: {', '.join(cls._param_names()) or '(none)'}")
        return 0
    if not args.predictor or not args.space:
        raise ArchbenchError("give a PREDICTOR and --space (or --list to see the predictors)")
    params = parse_params(args.param).get("*", {})
    spec = PredictorSpec(args.predictor, args.predictor, params)
    model, row, task = train_on_task(args.home, args.space, label_spec(args), spec, n_train=args.n_train,
                                     seed=args.seed, out=args.out)
    print(f"trained {model!r} on {model.n_train_:,} architectures of {task.name}")
    if row is not None:
        print(f"held-out ({row['n_test']:,} architectures): Kendall tau {row['kendall_tau']:.4f}, Spearman "
              f"{row['spearman']:.4f}, MAE {row['mae']:.4g}, precision@{row['k']} {row['precision_at_k']:.2f}, "
              f"regret {row['regret']:.4g}; fit {row['fit_seconds']:.1f} s, predict {row['predict_seconds']:.2f} s")
        import pandas as pd

        run_id = append_results(pd.DataFrame([row]), args.home)
        print(f"appended to the results table (run {run_id})")
    if args.out:
        print(f"saved to {args.out}; predict with: archbench predict {args.out} --space {args.space}")
    return 0
