"""NB201 cells stored by a benchmark as a 6-tuple of integer op codes -> official NB201 strings.

Benchmarks that key their data by code tuples each use their own op numbering and edge order;
each reader keeps its own tables (op code -> NB201 op name, tuple position -> edge) and hands
them to :class:`CellCodec`, which validates them and decodes the tuples.
"""
from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from archbench.errors import DataFormatError


class CellCodec:
    """Decodes a benchmark's op-code tuples into official NB201 strings.

    Args:
        ops: op code -> NB201 op name (a bijection onto ``NB201_OPS``).
        edges: for each tuple position, the NB201 edge ``(source, target)`` it describes
            (a permutation of ``nb201.EDGES``).
        source: benchmark name for error messages.
    """

    def __init__(self, ops: Mapping[int, str], edges: Sequence[tuple[int, int]], source: str) -> None:
        from archbench.graphs.spaces.nb201 import EDGES, NB201_OPS

        if sorted(ops.values()) != sorted(NB201_OPS) or len(ops) != len(NB201_OPS):
            raise ValueError(f"{source}: op table must map {len(NB201_OPS)} codes onto {NB201_OPS}, found {dict(ops)}")
        if sorted(edges) != sorted(EDGES) or len(edges) != len(EDGES):
            raise ValueError(f"{source}: edge table must be a permutation of {EDGES}, found {tuple(edges)}")
        self.ops = dict(ops)
        self.edges = tuple(edges)
        self.source = source
        # official string position of each tuple position
        self._position = np.array([EDGES.index(e) for e in self.edges])
        self._op_names = np.array([self.ops.get(c, "") for c in range(max(self.ops) + 1)], dtype=object)

    def check_keys(self, keys: Iterable[Any], where: str) -> np.ndarray:
        """Keys -> (n, 6) int array; raises DataFormatError naming the first key that is not a code tuple."""
        rows = []
        codes = set(self.ops)
        for key in keys:
            if (not isinstance(key, tuple) or len(key) != len(self.edges)
                    or not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) and int(c) in codes for c in key)):
                raise DataFormatError(
                    f"{where}: expected {self.source} cell keys as {len(self.edges)}-tuples of op codes {sorted(codes)}, "
                    f"found {key!r:.80}")
            rows.append(key)
        return np.array(rows, dtype=np.int64).reshape(-1, len(self.edges))

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """(n, 6) op-code array (tuple order) -> n official NB201 strings (object array)."""
        from archbench.graphs.spaces.nb201 import format_arch_str

        official = np.empty_like(codes)
        official[:, self._position] = codes
        names = self._op_names[official]
        return np.array([format_arch_str(tuple(row)) for row in names], dtype=object)

    def encode(self, arch: Sequence[str]) -> tuple[int, ...]:
        """NB201 op tuple (official string order) -> this benchmark's code tuple (for fixtures and tests)."""
        from archbench.graphs.spaces.nb201 import EDGES

        code_of = {name: code for code, name in self.ops.items()}
        return tuple(code_of[arch[EDGES.index(e)]] for e in self.edges)
