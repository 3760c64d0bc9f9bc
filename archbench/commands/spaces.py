"""`archbench spaces`: the registered search spaces."""
from __future__ import annotations

import argparse

NAME = "spaces"
HELP = "list the search spaces"


def add_parser(sub, home: argparse.ArgumentParser) -> None:
    p = sub.add_parser(NAME, help=HELP,
                       description="List the registered search spaces with their sizes and network configs.")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from archbench.graphs.spaces import get_space, list_spaces

    for name in list_spaces():
        space = get_space(name)
        size = space.size()
        configs = ", ".join(space.configs)
        doc = (type(space).__doc__ or "").strip().splitlines()[0]
        print(f"{name:12s} {size if size is not None else 'unbounded':>10} archs  configs: {configs}\n{'':12s} {doc}")
    return 0
