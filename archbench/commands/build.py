"""`archbench build`: build a search space's graphs and labels into the tables."""
from __future__ import annotations

import argparse

from ._common import print_frame

NAME = "build"
HELP = "build a search space's graphs and labels into Parquet tables"


def add_parser(sub, home: argparse.ArgumentParser) -> None:
    p = sub.add_parser(NAME, parents=[home], help=HELP,
                       description="Build every architecture of SPACE (or a sample, or those its label sources "
                                   "name) as a computation graph, read its label sources, and commit the tables "
                                   "atomically (a killed build resumes). Each label source's rows go to the graphs "
                                   "of the network config it was measured on; without --config, every config "
                                   "that has labels is built (e.g. all nine NAS-Bench-Graph datasets), side by side "
                                   "with the configs already in the home. With 'all', build every space that can "
                                   "be enumerated or has a label source, one after another, and compare them.")
    p.add_argument("space", help="search space name (see `archbench spaces`), or 'all'")
    p.add_argument("--config", action="append", metavar="CONFIG",
                   help="network configuration to build, e.g. cifar10 (repeatable; default: every config that has "
                        "labels, else the space's first; see `archbench spaces`)")
    p.add_argument("--source", action="append", metavar="NAME[=PATH]",
                   help="label source to read (repeatable; see `archbench sources`); default: the package data "
                        "plus every source found under --data-dir")
    p.add_argument("--data-dir", metavar="DIR", help="folder laid out like the benchmarks' releases (e.g. ../shared/data)")
    p.add_argument("--limit", type=int, metavar="N", help="build a seeded sample of N architectures instead of all")
    p.add_argument("--seed", type=int, default=0, help="seed for --limit (default 0)")
    p.add_argument("--workers", type=int, metavar="N", help="processes for graph building (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from archbench.datasets.build import build_configs
    from archbench.datasets.catalog import connect, metrics_summary, space_summary

    if args.space == "all":
        return run_all(args)
    results = build_configs(args.space, configs=args.config, home=args.home, sources=args.source,
                            data_dir=args.data_dir, limit=args.limit, seed=args.seed, workers=args.workers,
                            progress=not args.quiet)
    for result in results:
        s = result.seconds
        print(f"\nbuilt {result.archs:,} {result.space} architectures ({result.config}) into {result.home}")
        print(f"  graphs: {result.nodes:,} nodes, {result.edges:,} edges in {result.chunks} chunks"
              + (f" ({result.chunks_resumed} resumed)" if result.chunks_resumed else ""))
        print(f"  time: {s['total']:.1f} s (graphs {s['graphs']:.1f} s, labels {s['labels']:.1f} s, "
              f"commit {s['commit']:.1f} s)")
    for name, reason in results[-1].skipped_sources.items():
        print(f"  skipped source {name}: {reason}")
    result = results[-1]
    with connect(result.home) as con:
        print("\narchitectures:")
        print_frame(space_summary(con, result.space))
        print("\nlabels:")
        print_frame(metrics_summary(con, result.space))
    print('\nnext: archbench query "SELECT * FROM archs LIMIT 5"')
    return 0


def run_all(args: argparse.Namespace) -> int:
    """`archbench build all`: every space with something to build, then a cross-space summary."""
    from archbench.datasets.build import build_all
    from archbench.datasets.catalog import compare_spaces, connect
    from archbench.errors import ArchbenchError

    if args.config or args.source:
        raise ArchbenchError("--config and --source name one space's configs and sources; build all builds every "
                             "config that a source found has labels for (give --data-dir for file sources)")
    result = build_all(home=args.home, data_dir=args.data_dir, limit=args.limit, seed=args.seed,
                       workers=args.workers, progress=not args.quiet, report=print)
    spaces = len({r.space for r in result.built.values()})
    print(f"\nbuilt {len(result.built)} config(s) of {spaces} space(s), skipped {len(result.skipped)}, "
          f"failed {len(result.failed)} "
          f"in {result.seconds:.1f} s into {result.home}")
    if result.built:
        with connect(result.home) as con:
            print("\nspaces compared (task '(all)': every built architecture):")
            print_frame(compare_spaces(con))
    return 1 if result.failed else 0
