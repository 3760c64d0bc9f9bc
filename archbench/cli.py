"""The ``archbench`` command line. Each command lives in :mod:`archbench.commands` and calls one library function."""
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


def make_parser() -> argparse.ArgumentParser:
    from archbench import __version__

    from .commands import command_modules

    parser = argparse.ArgumentParser(prog="archbench", description=MAIN_DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"archbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    home = argparse.ArgumentParser(add_help=False)
    home.add_argument("--home", metavar="DIR",
                      help="data home holding the tables (default: $ARCHBENCH_HOME, else the user cache dir)")
    for module in command_modules():
        module.add_parser(sub, home)
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
