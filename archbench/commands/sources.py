"""`archbench sources`: the registered benchmark readers and where their data is."""
from __future__ import annotations

import argparse

NAME = "sources"
HELP = "list the benchmark label sources and whether their data is found"


def add_parser(sub, home: argparse.ArgumentParser) -> None:
    p = sub.add_parser(NAME, help=HELP,
                       description="List the registered benchmark readers, what they provide, and where their data is.")
    p.add_argument("--data-dir", metavar="DIR", help="folder laid out like the benchmarks' releases")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from archbench.benchmarks import get_reader, list_readers
    from archbench.errors import ArchbenchError

    for name in list_readers():
        reader = get_reader(name)
        try:
            where, status = str(reader.locate(data_dir=args.data_dir)), "found"
        except ArchbenchError:
            where, status = reader.default_relpath or "(PyPI package)", "missing"
        config = (f"per row, by {reader.config_column}" if reader.config_column is not None
                  else reader.config or "the space's default")
        print(f"{name:18s} {reader.space:10s} {status:8s} {where}\n{'':18s} {reader.description}\n"
              f"{'':18s} provides: {', '.join(reader.provides)}\n{'':18s} network config: {config}")
    return 0
