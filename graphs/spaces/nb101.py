"""NAS-Bench-101 search space (423,624 unique cells on CIFAR-10).

A cell is a DAG of at most 7 vertices and 9 edges given by an upper-triangular 0/1 adjacency
matrix and one op per vertex: vertex 0 is ``input``, the last is ``output`` and every interior
vertex is one of :data:`NB101_OPS`. An architecture is the pair ``(matrix, ops)`` with the matrix
as a tuple of row tuples.

Native string encoding (``format_cell`` / ``parse_cell``), rows joined by ``/``::

    adj=0110/0011/0001/0000;ops=input,conv1x1-bn-relu,conv3x3-bn-relu,output

Besides parsing and formatting, this module reproduces the benchmark's own facts:

- pruning (:func:`prune`): vertices that are not on an input -> output path are removed, as the
  benchmark's ``ModelSpec`` does before hashing, checking validity or building the network;
- the official graph hash (:func:`hash_module`, :func:`cell_hash`): the iterated MD5 hash of
  (out-degree, in-degree, op label) the benchmark uses as its record key, so records of every
  NB101-derived file join by it;
- the official representative of an isomorphism class (:func:`official_representative`): the
  member the benchmark's ``generate_graphs`` enumeration meets first, i.e. the one its files store;
- the whole trained network (:func:`build_network`): stem conv3x3 (128 channels), 3 stacks of 3
  cells with 2x2 max-pool downsampling and channel doubling between stacks, global average pool
  and a dense layer, with the benchmark's channel split (:func:`vertex_channels`), input
  projections and channel truncation, so parameter counts equal the published ones.
"""
from __future__ import annotations

import functools
import hashlib
import random
from typing import Any, Iterator, Sequence

import numpy as np

from archbench.errors import EncodingError

from ..cg import NODE_FIELDS, ComputationGraph
from ..ops import OPS, Shape
from .base import SPACES, NetworkConfig, SearchSpace

INPUT, OUTPUT = "input", "output"
#: Interior ops in the benchmark's ``available_ops`` order; the position is the op's label in
#: the official hash (input is -1, output -2).
NB101_OPS: tuple[str, ...] = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
MAX_VERTICES = 7
MAX_EDGES = 9
#: Number of unique cells (hash classes) in the benchmark.
NUM_CELLS = 423_624

Matrix = tuple[tuple[int, ...], ...]
Arch = tuple[Matrix, tuple[str, ...]]

_LABEL = {INPUT: -1, OUTPUT: -2, **{op: i for i, op in enumerate(NB101_OPS)}}
_EXAMPLE = "adj=0110/0011/0001/0000;ops=input,conv1x1-bn-relu,conv3x3-bn-relu,output"


# ---- encoding ------------------------------------------------------------------------------------

def parse_cell(text: str) -> Arch:
    """Native string ``adj=<rows>;ops=<names>`` -> validated ``(matrix, ops)``; errors say what was found."""
    if not isinstance(text, str):
        raise EncodingError(f"NB101 cell must be a string like {_EXAMPLE!r}, found {type(text).__name__}")
    adj, sep, ops = text.strip().partition(";")
    if not sep or not adj.startswith("adj=") or not ops.startswith("ops="):
        raise EncodingError(f"NB101 cell must look like {_EXAMPLE!r} (adjacency rows joined by '/'), found {text!r}")
    rows = adj[4:].split("/")
    matrix = []
    for i, row in enumerate(rows):
        if len(row) != len(rows):
            raise EncodingError(
                f"NB101 adjacency must be square: {len(rows)} rows, but row {i} has {len(row)} entries in {text!r}")
        if not set(row) <= {"0", "1"}:
            raise EncodingError(f"NB101 adjacency entries must be 0 or 1, found row {i} = {row!r} in {text!r}")
        matrix.append(tuple(map(int, row)))
    return make_cell(tuple(matrix), tuple(ops[4:].split(",")))


def format_cell(arch: Arch) -> str:
    """``(matrix, ops)`` -> native string (``parse_cell(format_cell(a)) == a``)."""
    matrix, ops = make_cell(*_pair(arch))
    return "adj=" + "/".join("".join(map(str, row)) for row in matrix) + ";ops=" + ",".join(ops)


def _pair(arch: Any) -> tuple[Any, Any]:
    if not (isinstance(arch, (tuple, list)) and len(arch) == 2):
        raise EncodingError(
            f"NB101 architecture must be a (matrix, ops) pair or a string like {_EXAMPLE!r}, "
            f"found {type(arch).__name__} {arch!r:.120}")
    return arch[0], arch[1]


def make_cell(matrix: Any, ops: Sequence[str]) -> Arch:
    """Validate an adjacency matrix (nested sequence or array of 0/1) and op names as an NB101 cell.

    The cell is returned as given (not pruned). The benchmark's limits (at most 7 vertices and
    9 edges) apply to the pruned cell, as in the benchmark's ``is_valid``.

    Raises:
        EncodingError: naming the problem (shape, entries, ops, connectivity or size).
    """
    try:
        rows = [list(row) for row in matrix]
    except TypeError:
        raise EncodingError(f"NB101 adjacency must be a square nested sequence of 0/1, found {matrix!r:.120}") from None
    n = len(rows)
    for i, row in enumerate(rows):
        if len(row) != n:
            raise EncodingError(f"NB101 adjacency must be square: {n} rows, but row {i} has {len(row)} entries")
    if not 2 <= n <= MAX_VERTICES:
        raise EncodingError(f"NB101 cell must have 2..{MAX_VERTICES} vertices, found a {n}x{n} adjacency matrix")
    clean = []
    for i, row in enumerate(rows):
        out = []
        for j, v in enumerate(row):
            if v not in (0, 1) or isinstance(v, str):
                raise EncodingError(f"NB101 adjacency entries must be 0 or 1, found {v!r} at ({i}, {j})")
            if v and j <= i:
                raise EncodingError(
                    f"NB101 adjacency must be upper-triangular (edges go from lower to higher vertex), "
                    f"found an edge {i} -> {j} on or below the diagonal")
            out.append(int(v))
        clean.append(tuple(out))
    if isinstance(ops, str) or not isinstance(ops, Sequence):
        raise EncodingError(f"NB101 ops must be a sequence of op names, found {type(ops).__name__} {ops!r:.80}")
    ops = tuple(ops)
    if len(ops) != n:
        raise EncodingError(f"NB101 cell needs one op per vertex: {n} vertices but {len(ops)} ops {list(ops)}")
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        raise EncodingError(f"NB101 ops must start with 'input' and end with 'output', found {list(ops)}")
    for v, op in enumerate(ops[1:-1], start=1):
        if op not in NB101_OPS:
            raise EncodingError(f"unknown NB101 op {op!r} at vertex {v}; expected one of: {', '.join(NB101_OPS)}")
    arch = (tuple(clean), ops)
    pruned = _prune(arch)
    if pruned is None:
        raise EncodingError(f"invalid NB101 cell: no path from input to output in {_describe(arch)}")
    edges = sum(map(sum, pruned[0]))
    if edges > MAX_EDGES:
        raise EncodingError(f"NB101 cells have at most {MAX_EDGES} edges, found {edges} (after pruning) in {_describe(arch)}")
    return arch


def _describe(arch: Arch) -> str:
    return "adj=" + "/".join("".join(map(str, r)) for r in arch[0]) + ";ops=" + ",".join(arch[1])


def _as_arch(arch: Any) -> Arch:
    """A native string or a (matrix, ops) pair -> validated architecture."""
    if isinstance(arch, str):
        return parse_cell(arch)
    try:
        if arch in _VALID:
            return arch
    except TypeError:  # unhashable (lists, arrays): validate below
        pass
    cell = make_cell(*_pair(arch))
    _VALID.add(cell)
    if len(_VALID) > _CACHE_MAX:
        _VALID.clear()
    return cell


_CACHE_MAX = 1 << 17
_VALID: set = set()  # architectures already validated (a validation costs ~10 us; builds repeat them)


def cell_from_codes(matrix: Any, codes: Sequence[int], vocabulary: dict[int, str | None]) -> Arch:
    """A cell from a benchmark file's integer op codes; vertices coded as padding (None) are dropped.

    Args:
        matrix: square 0/1 adjacency (nested sequence or array), padding vertices included.
        codes: one integer op code per row of ``matrix``.
        vocabulary: the file's code -> op name (``"input"``, an NB101 op, ``"output"``), or None
            for a padding vertex, which must have no edges.

    Raises:
        EncodingError: an unknown code, a padding vertex with edges, or an invalid cell.
    """
    rows = [list(row) for row in matrix]
    if len(codes) != len(rows):
        raise EncodingError(f"NB101 cell needs one op code per vertex: {len(rows)} matrix rows but {len(codes)} codes {list(codes)}")
    keep, ops = [], []
    for v, code in enumerate(codes):
        try:
            op = vocabulary[int(code)]
        except (KeyError, TypeError, ValueError):
            raise EncodingError(f"unknown NB101 op code {code!r} at vertex {v}; expected one of {sorted(vocabulary)}") from None
        if op is None:
            if any(rows[v]) or any(row[v] for row in rows):
                raise EncodingError(f"NB101 padding vertex {v} (code {code}) must have no edges, found row {rows[v]}")
            continue
        keep.append(v)
        ops.append(op)
    return make_cell([[rows[i][j] for j in keep] for i in keep], ops)


def canonical_string(arch: Arch | str) -> str:
    """Native string of the cell's official representative: equal cells from any source give equal text."""
    return format_cell(official_representative(arch))


# ---- pruning, hashing, representatives -----------------------------------------------------------

def _prune(arch: Arch) -> Arch | None:
    """Drop vertices not on an input -> output path; None if input does not reach output."""
    matrix, ops = arch
    n = len(matrix)
    fwd = {0}
    for i in range(n):  # upper-triangular: one forward sweep finds every vertex reachable from input
        if i in fwd:
            fwd.update(j for j in range(i + 1, n) if matrix[i][j])
    bwd = {n - 1}
    for j in range(n - 1, -1, -1):
        if j in bwd:
            bwd.update(i for i in range(j) if matrix[i][j])
    keep = sorted(fwd & bwd)
    if len(keep) < 2:
        return None
    if len(keep) == n:
        return arch
    return tuple(tuple(matrix[i][j] for j in keep) for i in keep), tuple(ops[i] for i in keep)


def prune(arch: Arch | str) -> Arch:
    """The cell without the vertices that lie on no input -> output path (the benchmark's pruning)."""
    return _prune(_as_arch(arch))  # type: ignore[return-value]  # valid cells always prune


def hash_module(matrix: Sequence[Sequence[int]], labels: Sequence[int]) -> str:
    """The benchmark's graph hash of an adjacency matrix and integer vertex labels (32 hex).

    Each vertex starts from the MD5 of ``str((out_degree, in_degree, label))``; then, as many
    times as there are vertices, every vertex is re-hashed from its in-neighbours' sorted hashes,
    its out-neighbours' sorted hashes and its own hash (joined by ``|``); the fingerprint is the
    MD5 of ``str`` of the sorted vertex hashes. Labels: input -1, output -2, interior ops their
    index in :data:`NB101_OPS`. The matrix must already be pruned to match the benchmark's keys.
    """
    n = len(matrix)
    preds = [[i for i in range(n) if matrix[i][j]] for j in range(n)]
    succs = [[j for j in range(n) if matrix[i][j]] for i in range(n)]
    md5 = hashlib.md5
    hashes = [md5(str((len(succs[v]), len(preds[v]), int(labels[v]))).encode()).hexdigest() for v in range(n)]
    for _ in range(n):
        hashes = [md5(("".join(sorted([hashes[w] for w in preds[v]])) + "|"
                       + "".join(sorted([hashes[w] for w in succs[v]])) + "|" + hashes[v]).encode()).hexdigest()
                  for v in range(n)]
    return md5(str(sorted(hashes)).encode()).hexdigest()


@functools.lru_cache(maxsize=_CACHE_MAX)
def _cell_hash(arch: Arch) -> str:
    matrix, ops = _prune(arch)  # type: ignore[misc]
    return hash_module(matrix, [_LABEL[op] for op in ops])


def cell_hash(arch: Arch | str) -> str:
    """The official NB101 hash of a cell (of its pruned form): the benchmark's record key."""
    return _cell_hash(_as_arch(arch))


def _topological_orders(preds: list[int], n: int) -> Iterator[list[int]]:
    """Every order of vertices 1..n-2 that keeps edges forward (vertex bitmask ``preds``)."""
    order: list[int] = []
    placed = 1  # bitmask; input (vertex 0) comes first
    interior = range(1, n - 1)

    def extend() -> Iterator[list[int]]:
        nonlocal placed
        if len(order) == n - 2:
            yield order
            return
        for v in interior:
            if not placed >> v & 1 and preds[v] & ~placed == 0:
                order.append(v)
                placed |= 1 << v
                yield from extend()
                placed &= ~(1 << v)
                order.pop()

    yield from extend()


def _relabelings(arch: Arch) -> dict[tuple[int, tuple[int, ...]], tuple[int, ...]]:
    """The distinct labeled matrices of a pruned cell's class: ``(bit mask, labels) -> vertex order``.

    Input stays first and output last; the interior vertices take every order that keeps the
    matrix upper-triangular. A bit mask numbers edge x -> y (x < y) as bit x + y(y-1)/2, as the
    benchmark's ``generate_graphs`` does; labels are the interior ops' labels in the new order.
    """
    matrix, ops = arch
    n = len(matrix)
    preds = [sum(1 << i for i in range(n) if matrix[i][j]) for j in range(n)]
    edges = [(i, j) for i in range(n) for j in range(i + 1, n) if matrix[i][j]]
    found: dict[tuple[int, tuple[int, ...]], tuple[int, ...]] = {}
    for interior in _topological_orders(preds, n):
        order = (0, *interior, n - 1)
        pos = {v: k for k, v in enumerate(order)}
        bits = sum(1 << (pos[i] + pos[j] * (pos[j] - 1) // 2) for i, j in edges)
        found.setdefault((bits, tuple(_LABEL[ops[v]] for v in interior)), order)
    return found


@functools.lru_cache(maxsize=_CACHE_MAX)
def _representative(arch: Arch) -> Arch:
    matrix, ops = _prune(arch)  # type: ignore[misc]
    relabelings = _relabelings((matrix, ops))
    return _reorder((matrix, ops), relabelings[min(relabelings)])


def official_representative(arch: Arch | str) -> Arch:
    """The member of the cell's hash class that the benchmark stores (and its parameter counts describe).

    The benchmark's ``generate_graphs`` enumerates matrices by increasing edge bit mask and then
    labelings in lexicographic order, keeping the first graph of every hash. Among the vertex
    orders of the pruned cell that keep the matrix upper-triangular, this returns the one with the
    smallest ``(bit mask, labels)``, i.e. that first graph.
    """
    return _representative(_as_arch(arch))


# ---- sampling -----------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _full_dag_masks(n: int) -> np.ndarray:
    """Edge bit masks of every n-vertex matrix the benchmark enumerates: at most 9 edges and every
    vertex on an input -> output path (each non-output vertex has an out-edge, each non-input
    vertex an in-edge), in ``generate_graphs``' bit numbering. uint32 array, increasing."""
    masks = np.arange(1 << (n * (n - 1) // 2), dtype=np.uint32)
    ok = np.bitwise_count(masks) <= MAX_EDGES
    for v in range(n):
        if v < n - 1:
            ok &= (masks & np.uint32(sum(1 << (v + y * (y - 1) // 2) for y in range(v + 1, n)))) != 0
        if v > 0:
            ok &= (masks & np.uint32(sum(1 << (x + v * (v - 1) // 2) for x in range(v)))) != 0
    return masks[ok]


@functools.lru_cache(maxsize=1)
def _size_weights() -> tuple[tuple[int, ...], tuple[int, ...]]:
    # Labeled full DAGs per vertex count: bit masks x op labelings of the interior vertices.
    sizes = tuple(range(2, MAX_VERTICES + 1))
    return sizes, tuple(len(_full_dag_masks(n)) * len(NB101_OPS) ** (n - 2) for n in sizes)


def _from_bits(bits: int, n: int) -> Matrix:
    return tuple(tuple((bits >> (i + j * (j - 1) // 2)) & 1 if j > i else 0 for j in range(n)) for i in range(n))


def _reorder(arch: Arch, order: Sequence[int]) -> Arch:
    matrix, ops = arch
    return tuple(tuple(matrix[i][j] for j in order) for i in order), tuple(ops[v] for v in order)


def sample_cell(rng: random.Random) -> Arch:
    """A cell drawn uniformly from the benchmark's 423,624 hash classes, in official-representative form.

    A labeled matrix is drawn uniformly from all those the benchmark enumerates (vertex count in
    proportion to how many it has, then a bit mask and op labels uniformly); a class with k
    distinct labeled matrices is met k times as often, so the draw is kept with probability 1/k.
    """
    sizes, weights = _size_weights()
    while True:
        n = rng.choices(sizes, weights)[0]
        masks = _full_dag_masks(n)
        bits = int(masks[rng.randrange(len(masks))])
        ops = (INPUT, *(rng.choice(NB101_OPS) for _ in range(n - 2)), OUTPUT)
        arch = (_from_bits(bits, n), ops)
        relabelings = _relabelings(arch)
        if rng.random() * len(relabelings) < 1.0:
            return _reorder(arch, relabelings[min(relabelings)])


def sample_spec(rng: random.Random) -> Arch:
    """A cell drawn as the benchmark's examples and NASLib draw one: biased toward small cells.

    Every upper-triangular bit of a 7x7 matrix and every interior op is drawn uniformly and
    invalid specs are redrawn, so the draw is uniform over valid 7-vertex *specs*; after pruning,
    cells with few vertices come out far more often than under :func:`sample_cell`. Use it to
    reproduce NASLib-style random search. Returns the official representative.
    """
    n = MAX_VERTICES
    while True:
        bits = rng.getrandbits(n * (n - 1) // 2)
        ops = (INPUT, *(rng.choice(NB101_OPS) for _ in range(n - 2)), OUTPUT)
        try:
            cell = make_cell(_from_bits(bits, n), ops)
        except EncodingError:
            continue
        return _representative(cell)


# ---- the whole network ---------------------------------------------------------------------------

#: The benchmark's network skeleton (its default config): stem width, stacks, cells per stack.
STEM_CHANNELS = 128
NUM_STACKS = 3
CELLS_PER_STACK = 3

CONFIGS: dict[str, NetworkConfig] = {"cifar10": NetworkConfig("cifar10", (3, 32, 32), 10)}

_C_OUT, _H_OUT, _W_OUT = (NODE_FIELDS.index(f) for f in ("c_out", "h_out", "w_out"))


def vertex_channels(in_channels: int, out_channels: int, matrix: Matrix) -> list[int]:
    """Output channels of every vertex of a pruned cell, as the benchmark computes them.

    The output channels are split evenly over the vertices feeding the output (the lowest-numbered
    ones get one extra channel when the split is uneven); every other interior vertex gets the
    largest channel count among the interior vertices it feeds. Vertex 0 has ``in_channels``.
    """
    n = len(matrix)
    channels = [0] * n
    channels[0], channels[-1] = in_channels, out_channels
    feeders = [v for v in range(1, n - 1) if matrix[v][n - 1]]
    if not feeders:
        return channels
    base, extra = divmod(out_channels, len(feeders))
    for k, v in enumerate(feeders):
        channels[v] = base + (k < extra)
    for v in range(n - 3, 0, -1):
        if not matrix[v][n - 1]:
            channels[v] = max(channels[d] for d in range(v + 1, n - 1) if matrix[v][d])
    return channels


@functools.lru_cache(maxsize=None)
def _row(op: str, in_shapes: tuple[Shape, ...], kernel: int = 0, stride: int = 0, padding: int = 0,
         c_out: int = 0, bias: int = 0) -> tuple:
    """One node's columns (NODE_FIELDS order) with shape, params and FLOPs from the op vocabulary."""
    spec = OPS[op]
    attrs = {"kernel": kernel, "stride": stride, "padding": padding, "dilation": 1 if kernel and op == "conv" else 0,
             "groups": 1 if op == "conv" else 0, "bias": bias, "c_out": c_out}
    out = spec.infer_shape(in_shapes, attrs)
    params, flops = spec.cost(in_shapes, out, attrs)
    # cg.py's node record: the first input's shape, or the summed channels for concat.
    c_in = sum(s[0] for s in in_shapes) if op == "concat" else in_shapes[0][0]
    values = dict(attrs, op=op, c_in=c_in, h_in=in_shapes[0][1], w_in=in_shapes[0][2], c_out=out[0], h_out=out[1],
                  w_out=out[2], params=params, flops=flops)
    return tuple(values[name] for name in NODE_FIELDS)


@functools.lru_cache(maxsize=None)
def _conv_bn_relu(c_in: int, c_out: int, kernel: int, h: int, w: int) -> tuple[tuple, ...]:
    """Rows of the benchmark's conv_bn_relu: conv (no bias, 'same' padding), affine BN, ReLU."""
    conv = _row("conv", ((c_in, h, w),), kernel=kernel, stride=1, padding=(kernel - 1) // 2, c_out=c_out)
    shape = ((c_out, h, w),)
    return conv, _row("batch_norm", shape, bias=1), _row("relu", shape)


class _Assembler:
    """Columns and edges of a graph under construction; rows come from the cached fragments above."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []
        self.src: list[int] = []
        self.dst: list[int] = []

    def node(self, row: tuple, inputs: Sequence[int]) -> int:
        i = len(self.rows)
        self.rows.append(row)
        self.src.extend(inputs)
        self.dst.extend([i] * len(inputs))
        return i

    def chain(self, rows: Sequence[tuple], x: int) -> int:
        """Append single-input rows in sequence after node ``x``; returns the last one."""
        i = len(self.rows)
        self.rows.extend(rows)
        self.src.append(x)
        self.src.extend(range(i, i + len(rows) - 1))
        self.dst.extend(range(i, i + len(rows)))
        return i + len(rows) - 1

    def copy(self, block: "_Assembler", x: int) -> int:
        """Append a block built with input placeholder -1, feeding it from node ``x``."""
        base = len(self.rows)
        self.rows.extend(block.rows)
        self.src.extend(x if s < 0 else s + base for s in block.src)
        self.dst.extend(d + base for d in block.dst)
        return len(self.rows) - 1


def _cell_block(matrix: Matrix, ops: tuple[str, ...], c_in: int, c_out: int, h: int, w: int) -> _Assembler:
    """One module of the benchmark's ``build_module`` for a pruned cell; input is placeholder -1.

    Interior vertex t sums its inputs: each interior predecessor (truncated to t's channels when
    it has one more) and, if the input feeds t, a 1x1 conv-bn-relu projection of the input. The
    output concatenates the vertices feeding it in vertex order and adds a projection of the input
    if the input feeds the output; a 2-vertex cell is just that projection. The last row is the
    cell output.
    """
    n = len(matrix)
    ch = vertex_channels(c_in, c_out, matrix)
    asm = _Assembler()
    tensors = [-1]
    for t in range(1, n - 1):
        shape = (ch[t], h, w)
        terms = []
        for s in range(1, t):
            if matrix[s][t]:
                x = tensors[s]
                if ch[s] != ch[t]:
                    x = asm.node(_row("channel_slice", ((ch[s], h, w),), c_out=ch[t]), [x])
                terms.append(x)
        if matrix[0][t]:
            terms.append(asm.chain(_conv_bn_relu(c_in, ch[t], 1, h, w), -1))
        x = terms[0] if len(terms) == 1 else asm.node(_row("add", (shape,) * len(terms)), terms)
        op = ops[t]
        if op == "maxpool3x3":
            x = asm.node(_row("max_pool", (shape,), kernel=3, stride=1, padding=1), [x])
        else:
            x = asm.chain(_conv_bn_relu(ch[t], ch[t], 3 if op == "conv3x3-bn-relu" else 1, h, w), x)
        tensors.append(x)
    feeders = [tensors[t] for t in range(1, n - 1) if matrix[t][n - 1]]
    if not feeders:  # input -> output only
        asm.chain(_conv_bn_relu(c_in, c_out, 1, h, w), -1)
        return asm
    out = feeders[0]
    if len(feeders) > 1:
        out = asm.node(_row("concat", tuple((asm.rows[f][_C_OUT], h, w) for f in feeders)), feeders)
    if matrix[0][n - 1]:
        proj = asm.chain(_conv_bn_relu(c_in, c_out, 1, h, w), -1)
        out = asm.node(_row("add", ((c_out, h, w),) * 2), [out, proj])
    if out != len(asm.rows) - 1:  # cannot happen for a pruned cell: its last vertex feeds the output
        raise AssertionError("NB101 cell output must be the block's last node")
    return asm


def build_network(arch: Arch | str, config: NetworkConfig) -> ComputationGraph:
    """The whole NAS-Bench-101 network for a cell as a computation graph of atomic ops.

    stem conv3x3-bn-relu (128 channels); 3 stacks of 3 cells; before stacks 2 and 3 a 2x2 max
    pool with stride 2 and doubled cell channels; global average pool; dense layer with bias.
    The cell is pruned first, as the benchmark does.
    """
    a = _as_arch(arch)
    matrix, ops = _prune(a)  # type: ignore[misc]
    c, h, w = config.input_shape
    asm = _Assembler()
    x = asm.node(_input_row(config.input_shape), [])
    x = asm.chain(_conv_bn_relu(c, STEM_CHANNELS, 3, h, w), x)
    channels = STEM_CHANNELS
    blocks: dict[tuple, _Assembler] = {}
    for stack in range(NUM_STACKS):
        c_in = channels
        if stack:
            x = asm.node(_row("max_pool", ((channels, h, w),), kernel=2, stride=2, padding=0), [x])
            h, w = asm.rows[x][_H_OUT], asm.rows[x][_W_OUT]
            channels *= 2
        for _ in range(CELLS_PER_STACK):
            key = (c_in, channels, h, w)
            block = blocks.get(key)
            if block is None:
                block = blocks[key] = _cell_block(matrix, ops, c_in, channels, h, w)
            x = asm.copy(block, x)
            c_in = channels
    x = asm.node(_row("global_avg_pool", ((channels, h, w),)), [x])
    x = asm.node(_row("linear", ((channels, 1, 1),), c_out=config.num_classes, bias=1), [x])
    asm.node(_row("output", ((config.num_classes, 1, 1),)), [x])
    nodes = {name: list(col) for name, col in zip(NODE_FIELDS, zip(*asm.rows))}
    return ComputationGraph("nb101", format_cell(a), config.input_shape, config.num_classes, config.name,
                            nodes=nodes, src=asm.src, dst=asm.dst)


@functools.lru_cache(maxsize=None)
def _input_row(shape: Shape) -> tuple:
    values = dict.fromkeys(NODE_FIELDS, 0)
    values.update(op="input", c_out=shape[0], h_out=shape[1], w_out=shape[2])
    return tuple(values[name] for name in NODE_FIELDS)


# ---- the search space ----------------------------------------------------------------------------

@SPACES.register("nb101")
class NB101Space(SearchSpace):
    """NAS-Bench-101: cells of at most 7 vertices and 9 edges, keyed by the official hash.

    An architecture is a ``(matrix, ops)`` pair (see the module docstring); ``coerce`` accepts
    the native string or such a pair (nested lists or arrays work). ``arch_key`` is the official
    32-hex hash of the pruned cell, so ``arch_id`` is ``"nb101:<hash>"`` and isomorphic cells
    share it. ``sample`` and ``mutate`` return cells in official-representative form.
    """

    name = "nb101"
    configs = CONFIGS

    def parse(self, text: str) -> Arch:
        return parse_cell(text)

    def format(self, arch: Arch) -> str:
        return format_cell(arch)

    def coerce(self, arch: Any) -> Arch:
        return _as_arch(arch)

    def sample(self, rng: random.Random) -> Arch:
        """A cell drawn uniformly from the 423,624 unique cells (:func:`sample_cell`).

        :func:`sample_spec` draws as the benchmark's examples and NASLib do (biased to small cells).
        """
        if not isinstance(rng, random.Random):
            raise TypeError(f"sample needs a random.Random (e.g. random.Random(seed)), found {type(rng).__name__}")
        return sample_cell(rng)

    def mutate(self, arch: Arch, rng: random.Random) -> Arch:
        """A cell one change away with a different hash: one edge flipped or one interior op changed.

        Candidate changes are tried in random order until one gives a valid cell of another hash
        class. The bare input -> output cell has no such change; its neighbours are the cells with
        one vertex inserted on a new input -> vertex -> output path. Returns the official
        representative of the result.
        """
        if not isinstance(rng, random.Random):
            raise TypeError(f"mutate needs a random.Random (e.g. random.Random(seed)), found {type(rng).__name__}")
        matrix, ops = _prune(self.coerce(arch))  # type: ignore[misc]
        n = len(matrix)
        if n == 2:
            return _representative((((0, 1, 1), (0, 0, 1), (0, 0, 0)), (INPUT, rng.choice(NB101_OPS), OUTPUT)))
        old = _cell_hash((matrix, ops))
        moves = [("edge", i, j) for i in range(n) for j in range(i + 1, n)]
        moves += [("op", v, op) for v in range(1, n - 1) for op in NB101_OPS if op != ops[v]]
        rng.shuffle(moves)
        for kind, a, b in moves:
            new_m, new_ops = [list(r) for r in matrix], list(ops)
            if kind == "edge":
                new_m[a][b] = 1 - new_m[a][b]
            else:
                new_ops[a] = b
            try:
                cell = make_cell(new_m, new_ops)
            except EncodingError:
                continue
            if _cell_hash(cell) != old:
                return _representative(cell)
        raise EncodingError(f"NB101 cell {format_cell((matrix, ops))!r} has no valid neighbour one change away")

    def size(self) -> int:
        return NUM_CELLS

    def arch_key(self, arch: Arch) -> str:
        """The official NB101 hash (32 hex) of the pruned cell: ``arch_id`` is ``"nb101:<hash>"``."""
        return cell_hash(arch)

    def representative(self, arch: Arch | str) -> Arch:
        """The benchmark's stored member of the cell's hash class (:func:`official_representative`).

        Its ``arch_id`` equals ``arch``'s: the official hash already identifies the class.
        """
        return official_representative(arch)

    def prune(self, arch: Arch | str) -> Arch:
        return prune(arch)

    def build_cg(self, arch: Arch | str, config: str | None = None) -> ComputationGraph:
        """The whole network at atomic-op level (see :func:`build_network`)."""
        return build_network(self.coerce(arch), self.config(config))
