"""The computation-graph (CG) record: one network as a DAG of atomic ops.

Storage is columnar (one Python list per node field) so that tens of thousands of graphs can be
built and written to Parquet quickly; ``graph.node(i)`` gives a readable view of one node.

Fields of a node (all integers except ``op``; 0 where an attribute does not apply):

    op            name from the op vocabulary (:mod:`archbench.graphs.ops`)
    kernel, stride, padding, dilation, groups
    bias          1 if the conv/linear has a bias, or the norm is affine
    c_in, h_in, w_in     shape of the (first) input; for concat ``c_in`` is the summed channels
    c_out, h_out, w_out  shape of the output
    params        trainable parameters of this node
    flops         FLOPs of this node (see the convention in :mod:`archbench.graphs.ops`)

Edges are data flow ``src -> dst``; the order of a node's incoming edges is its argument order
(it matters for ``concat``).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Iterable, NamedTuple, Sequence

from archbench.errors import GraphValidationError

from .ops import ATTR_FIELDS, OPS, VOCAB_VERSION, Shape, get_op

SHAPE_FIELDS: tuple[str, ...] = ("c_in", "h_in", "w_in", "c_out", "h_out", "w_out")
INT_NODE_FIELDS: tuple[str, ...] = ATTR_FIELDS + SHAPE_FIELDS + ("params", "flops")
#: Every node column, in table order.
NODE_FIELDS: tuple[str, ...] = ("op",) + INT_NODE_FIELDS


class Node(NamedTuple):
    """A read-only view of one node (see the module docstring for field meanings)."""

    index: int
    op: str
    kernel: int
    stride: int
    padding: int
    dilation: int
    groups: int
    bias: int
    c_in: int
    h_in: int
    w_in: int
    c_out: int
    h_out: int
    w_out: int
    params: int
    flops: int

    @property
    def out_shape(self) -> Shape:
        return (self.c_out, self.h_out, self.w_out)


def _empty_columns() -> dict[str, list]:
    return {name: [] for name in NODE_FIELDS}


@dataclass
class ComputationGraph:
    """One network as a DAG of atomic ops with shapes, parameters and FLOPs per node.

    Attributes:
        space: search-space name (``"nb201"``), or ``"torch"`` for imported modules.
        encoding: the architecture's native encoding in its space (e.g. the NB201 string).
        input_shape: ``(channels, height, width)`` of one input sample.
        num_classes: output size of the network head.
        config: the space's network configuration (e.g. ``"cifar10"``), "" if none.
        nodes: node columns, ``nodes[field][i]`` (see :data:`NODE_FIELDS`).
        src, dst: edge endpoints; incoming-edge order is argument order.
        vocab_version: op vocabulary version the graph was built with.
    """

    space: str
    encoding: str
    input_shape: Shape
    num_classes: int
    config: str = ""
    nodes: dict[str, list] = field(default_factory=_empty_columns)
    src: list[int] = field(default_factory=list)
    dst: list[int] = field(default_factory=list)
    vocab_version: int = VOCAB_VERSION

    # ---- basic access ------------------------------------------------------------------------
    @property
    def num_nodes(self) -> int:
        return len(self.nodes["op"])

    @property
    def num_edges(self) -> int:
        return len(self.src)

    @property
    def ops(self) -> list[str]:
        return self.nodes["op"]

    def node(self, i: int) -> Node:
        return Node(i, *(self.nodes[name][i] for name in NODE_FIELDS))

    def iter_nodes(self) -> Iterable[Node]:
        return (self.node(i) for i in range(self.num_nodes))

    @property
    def params(self) -> int:
        """Total trainable parameters."""
        return sum(self.nodes["params"])

    @property
    def flops(self) -> int:
        """Total FLOPs for one input sample."""
        return sum(self.nodes["flops"])

    def inputs_of(self) -> list[list[int]]:
        """Predecessors of every node, in argument order."""
        preds: list[list[int]] = [[] for _ in range(self.num_nodes)]
        for s, d in zip(self.src, self.dst):
            preds[d].append(s)
        return preds

    def outputs_of(self) -> list[list[int]]:
        """Successors of every node."""
        succs: list[list[int]] = [[] for _ in range(self.num_nodes)]
        for s, d in zip(self.src, self.dst):
            succs[s].append(d)
        return succs

    def input_nodes(self) -> list[int]:
        return [i for i, op in enumerate(self.nodes["op"]) if op == "input"]

    def output_node(self) -> int:
        outs = [i for i, op in enumerate(self.nodes["op"]) if op == "output"]
        if len(outs) != 1:
            raise GraphValidationError(f"a graph needs exactly one output node, found {len(outs)}")
        return outs[0]

    def topological_order(self) -> list[int]:
        """Node indices so that every edge goes forward; raises on a cycle."""
        n = self.num_nodes
        indeg = [0] * n
        succs = self.outputs_of()
        for d in self.dst:
            indeg[d] += 1
        queue = deque(i for i in range(n) if indeg[i] == 0)
        order: list[int] = []
        while queue:
            i = queue.popleft()
            order.append(i)
            for j in succs[i]:
                indeg[j] -= 1
                if indeg[j] == 0:
                    queue.append(j)
        if len(order) != n:
            raise GraphValidationError(f"the graph has a cycle: {self._describe_cycle(indeg)}")
        return order

    def _describe_cycle(self, indeg: list[int]) -> str:
        # Walk predecessors among the nodes left with positive in-degree until one repeats.
        preds = self.inputs_of()
        start = next(i for i, d in enumerate(indeg) if d > 0)
        path, seen = [start], {start}
        while True:
            nxt = next(p for p in preds[path[-1]] if indeg[p] > 0)
            if nxt in seen:
                cycle = path[path.index(nxt):] + [nxt]
                return " <- ".join(f"{i} ({self.nodes['op'][i]})" for i in cycle)
            path.append(nxt)
            seen.add(nxt)

    # ---- validation ----------------------------------------------------------------------------
    def validate(self) -> "ComputationGraph":
        """Check the graph and return it; raise :class:`GraphValidationError` naming the problem.

        Checks: known ops; field columns of equal length; edges within range; no cycle; arity;
        exactly one output; no dangling node (every node but the output feeds something, every
        node but an input has inputs); the output reachable from an input; every edge carries the
        shape its consumer expects; shapes, params and FLOPs equal what the op vocabulary infers.
        """
        n = self.num_nodes
        for name in NODE_FIELDS:
            if len(self.nodes.get(name, ())) != n:
                raise GraphValidationError(
                    f"node column {name!r} has {len(self.nodes.get(name, ()))} entries, expected {n} (one per node)"
                )
        if len(self.src) != len(self.dst):
            raise GraphValidationError(f"edge lists differ in length: {len(self.src)} sources, {len(self.dst)} targets")
        for i, op in enumerate(self.nodes["op"]):
            if op not in OPS:
                get_op(op)  # raises UnknownOpError listing the vocabulary
        for k, (s, d) in enumerate(zip(self.src, self.dst)):
            if not (0 <= s < n and 0 <= d < n):
                raise GraphValidationError(f"edge {k} ({s} -> {d}) points outside the graph's {n} nodes (0..{n - 1})")
            if s == d:
                raise GraphValidationError(f"edge {k} is a self-loop on node {s} ({self.nodes['op'][s]})")
        order = self.topological_order()
        preds, succs = self.inputs_of(), self.outputs_of()
        out = self.output_node()
        inputs = self.input_nodes()
        if not inputs:
            raise GraphValidationError("the graph has no input node")
        for i in range(n):
            spec = OPS[self.nodes["op"][i]]
            k = len(preds[i])
            if k < spec.min_inputs or (spec.max_inputs is not None and k > spec.max_inputs):
                want = str(spec.min_inputs) if spec.max_inputs == spec.min_inputs else (
                    f"at least {spec.min_inputs}" if spec.max_inputs is None else f"{spec.min_inputs}..{spec.max_inputs}")
                raise GraphValidationError(f"node {i} ({spec.name}) has {k} inputs, expected {want}")
            if i != out and not succs[i]:
                raise GraphValidationError(f"node {i} ({spec.name}) is dangling: its output feeds no node")
        reach = _reachable(inputs, succs)
        if out not in reach:
            raise GraphValidationError("no path from an input node to the output node")
        self._check_shapes(order, preds)
        return self

    def _check_shapes(self, order: Sequence[int], preds: list[list[int]]) -> None:
        cols = self.nodes
        for i in order:
            op = cols["op"][i]
            got_out = (cols["c_out"][i], cols["h_out"][i], cols["w_out"][i])
            if op == "input":
                if got_out != tuple(self.input_shape):
                    raise GraphValidationError(
                        f"input node {i} has shape {_fmt(got_out)}, expected the graph's input shape {_fmt(self.input_shape)}")
                continue
            spec = OPS[op]
            in_shapes = [(cols["c_out"][p], cols["h_out"][p], cols["w_out"][p]) for p in preds[i]]
            recorded_in = (cols["c_in"][i], cols["h_in"][i], cols["w_in"][i])
            expect_in = _input_record(op, in_shapes)
            if recorded_in != expect_in:
                src = preds[i][0]
                raise GraphValidationError(
                    f"shape mismatch on edge {src} -> {i}: node {i} ({op}) expects input {_fmt(recorded_in)} "
                    f"but node {src} ({cols['op'][src]}) produces {_fmt(in_shapes[0])}"
                    + (f" (inputs: {', '.join(_fmt(s) for s in in_shapes)})" if len(in_shapes) > 1 else ""))
            attrs = {name: cols[name][i] for name in ATTR_FIELDS}
            attrs["c_out"] = cols["c_out"][i]
            try:
                want_out = spec.infer_shape(in_shapes, attrs)
            except GraphValidationError as err:
                raise GraphValidationError(f"node {i} ({op}): {err}") from None
            if got_out != want_out:
                raise GraphValidationError(f"node {i} ({op}) records output {_fmt(got_out)}, but its inputs and attributes give {_fmt(want_out)}")
            params, flops = spec.cost(in_shapes, want_out, attrs)
            if (cols["params"][i], cols["flops"][i]) != (params, flops):
                raise GraphValidationError(
                    f"node {i} ({op}) records params={cols['params'][i]}, flops={cols['flops'][i]}; expected params={params}, flops={flops}")

    # ---- conversions (thin wrappers; the work lives in sibling modules) -----------------------
    def to_pyg(self):
        """A ``torch_geometric.data.Data`` for this graph (see :mod:`archbench.graphs.pyg`)."""
        from .pyg import to_pyg

        return to_pyg(self)

    def to_module(self):
        """An executable ``torch.nn.Module`` computing this graph (see :mod:`archbench.graphs.torch_module`)."""
        from .torch_module import to_module

        return to_module(self)

    def canonical_hash(self) -> str:
        """Order-independent hash equal for functionally identical graphs (see :mod:`archbench.graphs.hashing`)."""
        from .hashing import canonical_hash

        return canonical_hash(self)

    def summary(self) -> str:
        return (f"ComputationGraph({self.space}:{self.encoding!r}, config={self.config or '-'}, "
                f"{self.num_nodes} nodes, {self.num_edges} edges, params={self.params:,}, flops={self.flops:,})")

    __repr__ = summary


def _reachable(starts: Iterable[int], succs: list[list[int]]) -> set[int]:
    seen = set(starts)
    stack = list(seen)
    while stack:
        for j in succs[stack.pop()]:
            if j not in seen:
                seen.add(j)
                stack.append(j)
    return seen


def _input_record(op: str, in_shapes: Sequence[Shape]) -> Shape:
    """What a node records as its input shape: the first input, or summed channels for concat."""
    if op == "concat":
        return (sum(s[0] for s in in_shapes), in_shapes[0][1], in_shapes[0][2])
    return in_shapes[0]


def _fmt(shape: Sequence[int]) -> str:
    return "x".join(str(v) for v in shape)


class GraphBuilder:
    """Builds a :class:`ComputationGraph` node by node, inferring shapes, params and FLOPs.

    Every method adds one node and returns its index::

        b = GraphBuilder("nb201", enc, input_shape=(3, 32, 32), num_classes=10)
        x = b.input()
        x = b.conv(x, 16, kernel=3, padding=1)
        x = b.batch_norm(x)
        ...
        graph = b.output(b.linear(b.global_avg_pool(x), 10))
    """

    def __init__(self, space: str, encoding: str, input_shape: Sequence[int], num_classes: int, config: str = "") -> None:
        self.graph = ComputationGraph(space, encoding, tuple(int(v) for v in input_shape), int(num_classes), config)
        self._cols = self.graph.nodes

    def shape(self, x: int) -> Shape:
        c = self._cols
        return (c["c_out"][x], c["h_out"][x], c["w_out"][x])

    def add_node(self, op: str, inputs: Sequence[int], *, kernel: int = 0, stride: int = 0, padding: int = 0,
                 dilation: int = 0, groups: int = 0, bias: int = 0, c_out: int = 0) -> int:
        """Add a node of any vocabulary op; shape, params and FLOPs are inferred."""
        spec = get_op(op)
        c = self._cols
        in_shapes = [(c["c_out"][p], c["h_out"][p], c["w_out"][p]) for p in inputs]
        attrs = {"kernel": kernel, "stride": stride, "padding": padding, "dilation": dilation,
                 "groups": groups, "bias": int(bias), "c_out": c_out}
        if len(in_shapes) < spec.min_inputs or (spec.max_inputs is not None and len(in_shapes) > spec.max_inputs):
            raise GraphValidationError(f"{op} takes {spec.min_inputs}..{spec.max_inputs or 'n'} inputs, got {len(in_shapes)}")
        out = spec.infer_shape(in_shapes, attrs)
        params, flops = spec.cost(in_shapes, out, attrs)
        c_in, h_in, w_in = _input_record(op, in_shapes)
        i = len(c["op"])
        for name, value in (("op", op), ("kernel", kernel), ("stride", stride), ("padding", padding),
                            ("dilation", dilation), ("groups", groups), ("bias", int(bias)),
                            ("c_in", c_in), ("h_in", h_in), ("w_in", w_in),
                            ("c_out", out[0]), ("h_out", out[1]), ("w_out", out[2]),
                            ("params", params), ("flops", flops)):
            c[name].append(value)
        g = self.graph
        for p in inputs:
            g.src.append(p)
            g.dst.append(i)
        return i

    # ---- one method per common op ------------------------------------------------------------
    def input(self) -> int:
        c = self._cols
        i = len(c["op"])
        shape = self.graph.input_shape
        values = {name: 0 for name in INT_NODE_FIELDS}
        values.update(c_out=shape[0], h_out=shape[1], w_out=shape[2])
        c["op"].append("input")
        for name in INT_NODE_FIELDS:
            c[name].append(values[name])
        return i

    def conv(self, x: int, c_out: int, kernel: int, stride: int = 1, padding: int | None = None,
             dilation: int = 1, groups: int = 1, bias: bool = False) -> int:
        if padding is None:
            padding = dilation * (kernel - 1) // 2
        return self.add_node("conv", [x], kernel=kernel, stride=stride, padding=padding, dilation=dilation,
                             groups=groups, bias=bias, c_out=c_out)

    def dwconv(self, x: int, kernel: int, stride: int = 1, padding: int | None = None, dilation: int = 1,
               bias: bool = False, multiplier: int = 1) -> int:
        c = self.shape(x)[0]
        if padding is None:
            padding = dilation * (kernel - 1) // 2
        return self.add_node("dwconv", [x], kernel=kernel, stride=stride, padding=padding, dilation=dilation,
                             groups=c, bias=bias, c_out=c * multiplier)

    def linear(self, x: int, c_out: int, bias: bool = True) -> int:
        return self.add_node("linear", [x], bias=bias, c_out=c_out)

    def batch_norm(self, x: int, affine: bool = True) -> int:
        return self.add_node("batch_norm", [x], bias=affine)

    def layer_norm(self, x: int, affine: bool = True) -> int:
        return self.add_node("layer_norm", [x], bias=affine)

    def act(self, x: int, kind: str = "relu") -> int:
        if get_op(kind).category != "activation":
            raise GraphValidationError(f"{kind!r} is not an activation op")
        return self.add_node(kind, [x])

    def relu(self, x: int) -> int:
        return self.add_node("relu", [x])

    def add(self, *xs: int) -> int:
        return self.add_node("add", list(xs))

    def mul(self, *xs: int) -> int:
        return self.add_node("mul", list(xs))

    def concat(self, *xs: int) -> int:
        return self.add_node("concat", list(xs))

    def avg_pool(self, x: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
        return self.add_node("avg_pool", [x], kernel=kernel, stride=stride, padding=padding)

    def max_pool(self, x: int, kernel: int, stride: int = 1, padding: int = 0) -> int:
        return self.add_node("max_pool", [x], kernel=kernel, stride=stride, padding=padding)

    def global_avg_pool(self, x: int) -> int:
        return self.add_node("global_avg_pool", [x])

    def flatten(self, x: int) -> int:
        return self.add_node("flatten", [x])

    def identity(self, x: int) -> int:
        return self.add_node("identity", [x])

    def zero(self, x: int, stride: int = 1, c_out: int = 0) -> int:
        return self.add_node("zero", [x], stride=stride, c_out=c_out)

    def output(self, x: int) -> ComputationGraph:
        """Add the output node and return the finished graph."""
        self.add_node("output", [x])
        return self.graph
