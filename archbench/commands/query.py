"""`archbench query`: SQL over the tables."""
from __future__ import annotations

import argparse

from ._common import print_frame

NAME = "query"
HELP = "run SQL (DuckDB) over the tables"


def add_parser(sub, home: argparse.ArgumentParser) -> None:
    p = sub.add_parser(NAME, parents=[home], help=HELP,
                       description="Run a SQL query over the tables archs, nodes, edges and metrics and print "
                                   "the result, or write it with --output.")
    p.add_argument("sql", help='SQL text, e.g. "SELECT space, count(*) FROM archs GROUP BY space"; use ? for --param values')
    p.add_argument("--param", action="append", metavar="VALUE", help="value for the next ? placeholder (repeatable)")
    p.add_argument("--output", "-o", metavar="PATH", help="write the result to a .csv or .parquet file")
    p.add_argument("--max-rows", type=int, default=50, metavar="N", help="rows to print (default 50)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from archbench.datasets.catalog import query, write_result

    df = query(args.sql, params=args.param, home=args.home)
    if args.output:
        path = write_result(df, args.output)
        print(f"wrote {len(df):,} rows to {path}")
    else:
        print_frame(df, max_rows=args.max_rows)
    return 0
