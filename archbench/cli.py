"""The ``archbench`` command line: each command parses its arguments and calls one library function."""
from __future__ import annotations

import argparse
import sys
from typing import Sequence

from .errors import ArchbenchError

MAIN_DESCRIPTION = """\
archbench: neural-architecture performance prediction on one computation-graph representation.

Start with `archbench build nb201`: it builds all 15,625 NAS-Bench-201 networks as computation
graphs, with the labels that ship in the analog-nasbench package, into Parquet tables that
`archbench query "SQL"` (DuckDB) reads.
"""


def _home_parent() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--home", metavar="DIR",
                        help="data home holding the tables (default: $ARCHBENCH_HOME, else the user cache dir)")
    return parent


def _print_frame(df, max_rows: int | None = None) -> None:
    import pandas as pd

    with pd.option_context("display.max_rows", max_rows, "display.max_columns", None, "display.width", 200,
                           "display.max_colwidth", 100):
        print(df.to_string(index=False, max_rows=max_rows) if len(df) else "(no rows)")


# ---- commands ------------------------------------------------------------------------------------

def cmd_build(args: argparse.Namespace) -> int:
    from archbench.datasets.build import build
    from archbench.datasets.catalog import connect, metrics_summary, space_summary

    result = build(args.space, home=args.home, config=args.config, sources=args.source, data_dir=args.data_dir,
                   limit=args.limit, seed=args.seed, workers=args.workers, progress=not args.quiet)
    s = result.seconds
    print(f"\nbuilt {result.archs:,} {result.space} architectures ({result.config}) into {result.home}")
    print(f"  graphs: {result.nodes:,} nodes, {result.edges:,} edges in {result.chunks} chunks"
          + (f" ({result.chunks_resumed} resumed)" if result.chunks_resumed else ""))
    print(f"  time: {s['total']:.1f} s (graphs {s['graphs']:.1f} s, labels {s['labels']:.1f} s, commit {s['commit']:.1f} s)")
    for name, reason in result.skipped_sources.items():
        print(f"  skipped source {name}: {reason}")
    with connect(result.home) as con:
        print("\narchitectures:")
        _print_frame(space_summary(con, result.space))
        print("\nlabels:")
        _print_frame(metrics_summary(con, result.space))
    print('\nnext: archbench query "SELECT * FROM archs LIMIT 5"')
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    from archbench.datasets.catalog import query, write_result

    df = query(args.sql, params=args.param, home=args.home)
    if args.output:
        path = write_result(df, args.output)
        print(f"wrote {len(df):,} rows to {path}")
    else:
        _print_frame(df, max_rows=args.max_rows)
    return 0


def cmd_tables(args: argparse.Namespace) -> int:
    from archbench.datasets.catalog import connect, describe_tables, table_counts

    with connect(args.home) as con:
        for table, n in table_counts(con).items():
            print(f"{table:8s} {n:>12,} rows")
        print("\ncolumns:\n" + describe_tables())
    return 0


def cmd_spaces(args: argparse.Namespace) -> int:
    from archbench.graphs.spaces import get_space, list_spaces

    for name in list_spaces():
        space = get_space(name)
        size = space.size()
        configs = ", ".join(space.configs)
        doc = (type(space).__doc__ or "").strip().splitlines()[0]
        print(f"{name:10s} {size if size is not None else 'unbounded':>10} archs  configs: {configs}\n           {doc}")
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    from archbench.benchmarks import get_reader, list_readers

    for name in list_readers():
        reader = get_reader(name)
        try:
            where = str(reader.locate(data_dir=args.data_dir))
            status = "found"
        except ArchbenchError:
            where = reader.default_relpath or "(PyPI package)"
            status = "missing"
        print(f"{name:18s} {reader.space:8s} {status:8s} {where}\n{'':18s} {reader.description}\n"
              f"{'':18s} provides: {', '.join(reader.provides)}")
    return 0


# ---- parser ------------------------------------------------------------------------------------------

def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="archbench", description=MAIN_DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    from archbench import __version__

    parser.add_argument("--version", action="version", version=f"archbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    home = _home_parent()

    p = sub.add_parser("build", parents=[home], help="build a search space's graphs and labels into Parquet tables",
                       description="Build every architecture of SPACE (or a sample) as a computation graph, read "
                                   "its label sources, and commit the tables atomically (a killed build resumes).")
    p.add_argument("space", help="search space name (see `archbench spaces`)")
    p.add_argument("--config", help="network configuration, e.g. cifar10 (default: the space's first)")
    p.add_argument("--source", action="append", metavar="NAME[=PATH]",
                   help="label source to read (repeatable; see `archbench sources`); default: the package data "
                        "plus every source found under --data-dir")
    p.add_argument("--data-dir", metavar="DIR", help="folder laid out like the benchmarks' releases (e.g. ../shared/data)")
    p.add_argument("--limit", type=int, metavar="N", help="build a seeded sample of N architectures instead of all")
    p.add_argument("--seed", type=int, default=0, help="seed for --limit (default 0)")
    p.add_argument("--workers", type=int, metavar="N", help="processes for graph building (default: all cores)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("query", parents=[home], help="run SQL (DuckDB) over the tables",
                       description="Run a SQL query over the tables archs, nodes, edges and metrics and print "
                                   "the result, or write it with --output.")
    p.add_argument("sql", help='SQL text, e.g. "SELECT space, count(*) FROM archs GROUP BY space"; use ? for --param values')
    p.add_argument("--param", action="append", metavar="VALUE", help="value for the next ? placeholder (repeatable)")
    p.add_argument("--output", "-o", metavar="PATH", help="write the result to a .csv or .parquet file")
    p.add_argument("--max-rows", type=int, default=50, metavar="N", help="rows to print (default 50)")
    p.set_defaults(func=cmd_query)

    p = sub.add_parser("tables", parents=[home], help="list the tables, their columns and row counts",
                       description="List the tables of the data home with their columns and row counts.")
    p.set_defaults(func=cmd_tables)

    p = sub.add_parser("spaces", help="list the search spaces",
                       description="List the registered search spaces with their sizes and network configs.")
    p.set_defaults(func=cmd_spaces)

    p = sub.add_parser("sources", help="list the benchmark label sources and whether their data is found",
                       description="List the registered benchmark readers, what they provide, and where their data is.")
    p.add_argument("--data-dir", metavar="DIR", help="folder laid out like the benchmarks' releases")
    p.set_defaults(func=cmd_sources)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except ArchbenchError as err:
        print(f"archbench {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"archbench {args.command}: interrupted; committed tables are unchanged and a re-run resumes",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
