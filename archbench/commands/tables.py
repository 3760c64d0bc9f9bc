"""`archbench tables`: what the data home holds."""
from __future__ import annotations

import argparse

NAME = "tables"
HELP = "list the tables, their columns and row counts"


def add_parser(sub, home: argparse.ArgumentParser) -> None:
    p = sub.add_parser(NAME, parents=[home], help=HELP,
                       description="List the tables of the data home with their columns and row counts.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from archbench.datasets.catalog import connect, describe_tables, table_counts

    with connect(args.home) as con:
        for table, n in table_counts(con).items():
            print(f"{table:8s} {n:>12,} rows")
    print("\ncolumns:\n" + describe_tables())
    return 0
