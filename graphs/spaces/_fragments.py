"""Pre-built graph fragments and a fast assembler for whole-network computation graphs.

Building a 200-node network op by op through :class:`~archbench.graphs.cg.GraphBuilder` costs a
shape inference and a cost evaluation per node. Networks of a search space repeat the same few
blocks (an op on an edge at a given shape, a residual block, a head), so a space builds each block
once through ``GraphBuilder`` (which keeps shapes, params and FLOPs exactly as the op vocabulary
infers them), caches it as a :class:`Fragment`, and glues cached fragments with an
:class:`Assembler` that only extends lists.

A fragment refers to the nodes feeding it by negative indices: ``-1`` is its first input,
``-2`` its second, and so on. Its output is its last node.
"""
from __future__ import annotations

from typing import Callable, NamedTuple, Sequence

from ..cg import NODE_FIELDS, ComputationGraph, GraphBuilder
from ..ops import Shape

_NUM_FIELDS = len(NODE_FIELDS)


class Fragment(NamedTuple):
    """A run of nodes: columns in ``NODE_FIELDS`` order and edges in local indices.

    Attributes:
        cols: one tuple per node field, one entry per node.
        src, dst: edge endpoints; a negative source ``-(k + 1)`` is the fragment's k-th input.
        out_shape: ``(C, H, W)`` of the last node.
    """

    cols: tuple[tuple, ...]
    src: tuple[int, ...]
    dst: tuple[int, ...]
    out_shape: Shape

    @property
    def n(self) -> int:
        return len(self.cols[0])


def make_fragment(in_shapes: Sequence[Shape], body: Callable[..., object]) -> Fragment:
    """Run ``body(builder, *inputs)`` on placeholder inputs of ``in_shapes`` and keep its nodes.

    Args:
        in_shapes: ``(C, H, W)`` of each input the fragment reads.
        body: adds nodes to the builder; the last node it adds is the fragment's output.

    Returns:
        The fragment (placeholders dropped, their edges rewritten to negative indices).
    """
    b = GraphBuilder("", "", in_shapes[0], 0)
    inputs = []
    for shape in in_shapes:
        i = b.input()
        # Every placeholder is an ``input`` row; give each its own shape.
        b.graph.nodes["c_out"][i], b.graph.nodes["h_out"][i], b.graph.nodes["w_out"][i] = shape
        inputs.append(i)
    body(b, *inputs)
    g, k = b.graph, len(in_shapes)
    if g.num_nodes == k:
        raise ValueError("a fragment body must add at least one node")
    cols = tuple(tuple(g.nodes[name][k:]) for name in NODE_FIELDS)
    src = tuple(-(s + 1) if s < k else s - k for s in g.src)
    dst = tuple(d - k for d in g.dst)
    last = g.num_nodes - 1
    return Fragment(cols, src, dst, (g.nodes["c_out"][last], g.nodes["h_out"][last], g.nodes["w_out"][last]))


class Assembler:
    """Glues fragments into one graph's columns; each :meth:`add` returns the fragment's output index."""

    __slots__ = ("cols", "src", "dst", "shapes")

    def __init__(self) -> None:
        self.cols: list[list] = [[] for _ in range(_NUM_FIELDS)]
        self.src: list[int] = []
        self.dst: list[int] = []
        self.shapes: dict[int, Shape] = {}

    def input(self, shape: Shape) -> int:
        """Append the network's input node of ``shape``."""
        values = {name: 0 for name in NODE_FIELDS}
        values.update(op="input", c_out=shape[0], h_out=shape[1], w_out=shape[2])
        i = len(self.cols[0])
        for col, name in zip(self.cols, NODE_FIELDS):
            col.append(values[name])
        self.shapes[i] = tuple(shape)
        return i

    def add(self, frag: Fragment, *inputs: int) -> int:
        """Append ``frag`` fed by graph nodes ``inputs``; returns the index of its output node."""
        base = len(self.cols[0])
        for col, values in zip(self.cols, frag.cols):
            col.extend(values)
        self.src.extend(inputs[-s - 1] if s < 0 else s + base for s in frag.src)
        self.dst.extend(d + base for d in frag.dst)
        out = base + frag.n - 1
        self.shapes[out] = frag.out_shape
        return out

    def shape(self, i: int) -> Shape:
        """Output shape of a node returned by :meth:`input` or :meth:`add`."""
        return self.shapes[i]

    def finish(self, space: str, encoding: str, input_shape: Shape, num_classes: int, config: str) -> ComputationGraph:
        """The assembled :class:`ComputationGraph` (not validated here; tests validate)."""
        return ComputationGraph(space, encoding, tuple(input_shape), num_classes, config,
                                nodes=dict(zip(NODE_FIELDS, self.cols)), src=self.src, dst=self.dst)
