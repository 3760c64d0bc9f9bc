"""The NAS-Bench-201 cell string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``, shared by every space
that writes a 4-node cell this way (NB201 and SpikeNAS-Bench).

Edge ``op~j`` in group ``i`` is the op on the edge from cell node ``j`` to node ``i``; the six ops are
returned in string order.
"""
from __future__ import annotations

from typing import Collection, Sequence

from archbench.errors import EncodingError


def parse_cell_str(text: object, ops: Collection[str], label: str, op_names: Sequence[str]) -> tuple[str, ...]:
    """Cell string -> tuple of 6 op names; errors say what was expected and found.

    Args:
        text: the string to parse.
        ops: the op names this space allows.
        label: the space's name in messages, e.g. ``"NB201"``.
        op_names: the allowed ops in their official order (for messages).
    """
    if not isinstance(text, str):
        raise EncodingError(f"{label} architecture must be a string like '|op~0|+|op~0|op~1|+|...|', "
                            f"found {type(text).__name__}")
    groups = text.strip().split("+")
    if len(groups) != 3:
        raise EncodingError(f"{label} string must have 3 node groups joined by '+', found {len(groups)} in {text!r}")
    arch: list[str] = []
    for target, group in enumerate(groups, start=1):
        if len(group) < 2 or not (group[0] == group[-1] == "|"):
            raise EncodingError(f"{label} node group {target} must look like '|op~0|...|', found {group!r} in {text!r}")
        items = group[1:-1].split("|")
        if len(items) != target:
            raise EncodingError(f"{label} node {target} must have {target} incoming edge(s), found {len(items)} in {group!r}")
        for source, item in enumerate(items):
            op, sep, src = item.partition("~")
            if not sep or src != str(source):
                raise EncodingError(f"{label} edge must be 'op~{source}' at node {target} position {source}, "
                                    f"found {item!r} in {text!r}")
            if op not in ops:
                raise EncodingError(f"unknown {label} op {op!r} in {text!r}; expected one of: {', '.join(op_names)}")
            arch.append(op)
    return tuple(arch)


def format_cell_str(arch: Sequence[str]) -> str:
    """Tuple of 6 op names (already checked by the caller) -> cell string."""
    a = arch
    return f"|{a[0]}~0|+|{a[1]}~0|{a[2]}~1|+|{a[3]}~0|{a[4]}~1|{a[5]}~2|"
