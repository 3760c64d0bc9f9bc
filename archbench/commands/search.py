"""`archbench search`: architecture search against the benchmark tables (tabular NAS simulation)."""
from __future__ import annotations

import argparse
import json

from ._common import print_frame

NAME = "search"
HELP = "search a space for the best architectures, answering queries from the tables"

_EPILOG = """\
objectives: [source/]metric[@fidelity][#device][:max|:min], e.g.
  nats_csv/test_accuracy@200          CIFAR-10 test accuracy after 200 epochs (maximized)
  latency#raspi4                      HELP latency on a Raspberry Pi 4 (minimized by default)
  params:min, flops:min               totals of the computation graph
Give --objective twice for a multi-objective search (the Pareto front is printed).

examples:
  archbench search nb201 --objective nats_csv/test_accuracy@200 --budget 150
  archbench search nb201 --objective nats_csv/test_accuracy@200 --budget 100 --predictor gbdt --optimizer bananas
  archbench search nb201 --objective nats_csv/test_accuracy@200 --objective latency#raspi4 --budget 200 --plot front.png
"""


def _key_value(text: str) -> tuple[str, object]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, found {text!r}")
    try:
        return key, json.loads(value)
    except ValueError:
        return key, value  # a bare string


def add_parser(sub, home: argparse.ArgumentParser) -> None:
    p = sub.add_parser(NAME, parents=[home], help=HELP, epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Run an ask/tell optimizer over SPACE for --budget queries, each answered from the "
                                   "tables (a look-up stands in for training), print the best architecture found (or "
                                   "the Pareto front) and write the trajectory (query, architecture, value, best so "
                                   "far) as Parquet.")
    p.add_argument("space", help="search space name (see `archbench spaces`); its tables must be built")
    p.add_argument("--objective", action="append", required=True, metavar="SPEC",
                   help="what to optimize (repeatable, see below)")
    p.add_argument("--budget", type=int, default=100, metavar="N", help="number of queries (default 100)")
    p.add_argument("--optimizer", metavar="NAME",
                   help="random, regularized_evolution, local_search, screened_random, screened_evolution, bananas, "
                        "pareto_evolution (default: regularized_evolution; bananas with --predictor; "
                        "pareto_evolution for several objectives)")
    p.add_argument("--predictor", metavar="NAME|DIR",
                   help="predictor for the guided optimizers: a registered name (trained during the search, e.g. gbdt) "
                        "or a directory of a saved predictor (used as a fixed screener)")
    p.add_argument("--predictor-param", action="append", type=_key_value, default=[], metavar="KEY=VALUE",
                   help="parameter of a predictor given by name, e.g. n_estimators=300 (repeatable)")
    p.add_argument("--option", action="append", type=_key_value, default=[], metavar="KEY=VALUE",
                   help="optimizer parameter, e.g. population_size=20 or refit_every=10 (repeatable)")
    p.add_argument("--dataset", help="dataset filter for every objective's labels, e.g. cifar10")
    p.add_argument("--config", metavar="NAME",
                   help="network config whose labels are searched (default: the space's first; see `archbench spaces`)")
    p.add_argument("--seed", type=int, default=0, help="seed of the optimizer (default 0)")
    p.add_argument("--batch-size", type=int, default=1, metavar="N", help="architectures asked per round (default 1)")
    p.add_argument("--output", "-o", metavar="PATH",
                   help="trajectory Parquet file (default: search-SPACE-OPTIMIZER-seedS.parquet)")
    p.add_argument("--plot", metavar="PATH", help="also draw best-so-far against queries (or the Pareto front) to an image")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from archbench.eval.search.run import search

    result, oracle = search(args.space, args.objective, args.budget, optimizer=args.optimizer, predictor=args.predictor,
                            predictor_params=dict(args.predictor_param) or None, options=dict(args.option),
                            seed=args.seed, batch_size=args.batch_size, dataset=args.dataset, config=args.config, home=args.home)
    out = args.output or f"search-{result.space}-{result.optimizer}-seed{args.seed}.parquet"
    path = result.save(out)
    obj = result.objectives[0]
    print(f"{result.optimizer} on {result.space}: {result.num_queries} queries in {result.seconds:.1f} s")
    if len(result.objectives) == 1:
        best = result.best()
        optimum = oracle.optimum()
        print(f"best found: {best['arch']}  ({best['arch_id']})")
        print(f"  {obj.key} = {best['value']:.6g} at query {int(best['query'])}; global {obj.mode} in the table "
              f"{optimum:.6g} (regret {abs(optimum - best['value']):.4g})")
    else:
        front = result.pareto_front()
        cols = ["query", "arch_id"] + [o.key for o in result.objectives]
        print(f"Pareto front found ({len(front)} architectures; the table's true front has {len(oracle.true_front())}):")
        print_frame(front[cols + ["arch"]])
    print(f"wrote the trajectory to {path}")
    if args.plot:
        from archbench.eval.search import plots

        if len(result.objectives) == 1:
            fig = plots.plot_best_so_far(result, args.plot, optimum=oracle.optimum(), ylabel=obj.key)
        else:
            fig = plots.plot_pareto(result, args.plot, reference=oracle.true_front())
        print(f"wrote {fig}")
    return 0
