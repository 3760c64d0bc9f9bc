"""DARTS / NAS-Bench-301 search space (CIFAR-10 cells of Liu et al., 2019; Siems et al., 2020).

An architecture is a normal and a reduction cell. Each cell has two input states (0: output of
the cell before the previous one, 1: output of the previous cell) and 4 intermediate nodes
(states 2..5); node ``k`` (k = 0..3) sums two ops applied to two distinct earlier states
``0..k+1``; the cell output is the channel concatenation of states 2..5.

Values. :class:`DartsArch` holds the two cells as tuples of 8 ``(op, input)`` pairs, node by
node, exactly in the order of the DARTS ``Genotype`` lists.

Encodings (:func:`parse_arch` reads all of them, never with ``eval``):

- the DARTS ``Genotype`` string (the canonical form, :func:`format_arch`)::

      Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ...], normal_concat=range(2, 6),
               reduce=[...], reduce_concat=range(2, 6))

  also with per-node nested lists ``normal=[[(op, i), (op, j)], ...]`` (pt.darts), and with
  ``[2, 3, 4, 5]`` for the concat ranges (NASLib);
- NASLib's compact encoding (:func:`format_compact`): two cells of 8 ``(input, op code)``
  pairs, ``[[(0, 3), (1, 3), ...], [...]]``, op codes from :data:`NASLIB_OPS`.

Keys. The two inputs of a node are summed, so their order does not change the network:
:meth:`DartsSpace.arch_key` digests the canonical string of :func:`canonical_arch` (each node's
pairs sorted by ``(input, op)``), so both orders get one ``arch_id``.

Networks. :func:`build_network` builds the DARTS evaluation network (``NetworkCIFAR``) at
atomic-op level; see :data:`CONFIGS` for the NAS-Bench-301 and DARTS-paper settings and
:func:`build_network` for the decomposition.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import math
import numbers
import random
from dataclasses import dataclass
from itertools import chain
from typing import Any, Callable, NamedTuple, Sequence

from archbench.errors import EncodingError

from ..cg import NODE_FIELDS, ComputationGraph, GraphBuilder
from ..ops import Shape
from .base import SPACES, NetworkConfig, SearchSpace

# ---- vocabulary ----------------------------------------------------------------------------------

#: Every op a DARTS genotype may name, in DARTS's own PRIMITIVES order ('none' only appears in
#: genotypes of other sources, e.g. OnceNAS; NAS-Bench-301 never uses it).
DARTS_OPS: tuple[str, ...] = ("none", "max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3",
                              "sep_conv_5x5", "dil_conv_3x3", "dil_conv_5x5")
#: NASLib's compact op codes for the NB301 space: ``NASLIB_OPS[code]`` (the one table of them).
NASLIB_OPS: tuple[str, ...] = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
                               "dil_conv_3x3", "dil_conv_5x5")
#: Ops that ``sample`` and ``mutate`` draw from: the NAS-Bench-301 space (no 'none').
SEARCH_OPS: tuple[str, ...] = NASLIB_OPS
NUM_NODES = 4
#: States concatenated into a cell's output (fixed in this space).
CONCAT: tuple[int, ...] = (2, 3, 4, 5)
CELL_NAMES: tuple[str, str] = ("normal", "reduce")

_NASLIB_CODE: dict[str, int] = {op: code for code, op in enumerate(NASLIB_OPS)}
_OP_SET = frozenset(DARTS_OPS)
assert set(NASLIB_OPS) < _OP_SET

Edge = tuple[str, int]
Cell = tuple[Edge, ...]


class DartsArch(NamedTuple):
    """A DARTS architecture: two cells of 8 ``(op, input state)`` pairs, node by node."""

    normal: Cell
    reduce: Cell


# ---- parsing ------------------------------------------------------------------------------------

_EXPECTED = ("a DARTS Genotype string \"Genotype(normal=[('sep_conv_3x3', 0), ...], normal_concat=range(2, 6), "
             "reduce=[...], reduce_concat=range(2, 6))\" or a NASLib compact encoding '[[(0, 3), (1, 3), ...], [...]]'")
_GENOTYPE_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")


def _short(text: str, limit: int = 120) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _src(node: ast.AST) -> str:
    return ast.unparse(node)


def parse_arch(text: str) -> DartsArch:
    """A Genotype string or a NASLib compact string -> :class:`DartsArch`.

    Raises:
        EncodingError: naming what was expected and what was found (unknown op, wrong number of
            nodes or pairs, input index out of range, repeated input, trailing text ...).
    """
    if not isinstance(text, str):
        raise EncodingError(f"DARTS architecture must be a string ({_EXPECTED}), found {type(text).__name__}")
    body = text.strip()
    try:
        # ast.parse only builds a syntax tree; nothing in the text is evaluated.
        tree = ast.parse(body, mode="eval").body
    except SyntaxError as err:
        raise EncodingError(f"expected {_EXPECTED}; could not parse {_short(text)}: {err.msg} "
                            f"(column {err.offset})") from None
    if isinstance(tree, ast.Call):
        return _genotype_from_ast(tree, text)
    if isinstance(tree, (ast.List, ast.Tuple)):
        return _compact_from_ast(tree, text)
    raise EncodingError(f"expected {_EXPECTED}; found a {type(tree).__name__} expression {_short(text)}")


def _genotype_from_ast(call: ast.Call, text: str) -> DartsArch:
    if not (isinstance(call.func, ast.Name) and call.func.id == "Genotype"):
        raise EncodingError(f"expected a call of Genotype(...), found {_src(call.func)}(...) in {_short(text)}")
    if len(call.args) > len(_GENOTYPE_FIELDS):
        raise EncodingError(f"Genotype takes {len(_GENOTYPE_FIELDS)} fields, found {len(call.args)} positional in {_short(text)}")
    fields: dict[str, ast.AST] = dict(zip(_GENOTYPE_FIELDS, call.args))
    for kw in call.keywords:
        if kw.arg not in _GENOTYPE_FIELDS:
            raise EncodingError(f"unknown Genotype field {kw.arg or '**'!r}; expected: {', '.join(_GENOTYPE_FIELDS)}")
        if kw.arg in fields:
            raise EncodingError(f"Genotype field {kw.arg!r} is given twice in {_short(text)}")
        fields[kw.arg] = kw.value
    missing = [f for f in _GENOTYPE_FIELDS if f not in fields]
    if missing:
        raise EncodingError(f"Genotype lacks field(s) {', '.join(missing)}; expected all of {', '.join(_GENOTYPE_FIELDS)}")
    cells = []
    for name in CELL_NAMES:
        _check_concat(fields[f"{name}_concat"], name)
        cells.append(_genotype_cell(fields[name], name))
    return DartsArch(*cells)


def _check_concat(node: ast.AST, cell: str) -> None:
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range"
            and not node.keywords and [_int_const(a) for a in node.args] == [CONCAT[0], CONCAT[-1] + 1]):
        return
    if isinstance(node, (ast.List, ast.Tuple)) and [_int_const(e) for e in node.elts] == list(CONCAT):
        return
    raise EncodingError(f"{cell}_concat must be range(2, 6) or [2, 3, 4, 5] (this space concatenates all "
                        f"{NUM_NODES} intermediate nodes), found {_src(node)}")


def _int_const(node: ast.AST) -> int | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
        return node.value
    return None


def _genotype_cell(node: ast.AST, cell: str) -> Cell:
    if not isinstance(node, (ast.List, ast.Tuple)):
        raise EncodingError(f"{cell} cell must be a list of (op, input) pairs, found {_src(node)}")
    items = node.elts
    # pt.darts nests the pairs per node: [[(op, i), (op, j)], ...]
    if items and all(isinstance(e, (ast.List, ast.Tuple)) and e.elts and isinstance(e.elts[0], (ast.List, ast.Tuple))
                     for e in items):
        if len(items) != NUM_NODES:
            raise EncodingError(f"{cell} cell must have {NUM_NODES} nodes, found {len(items)} in {_src(node)}")
        flat = []
        for k, group in enumerate(items):
            if len(group.elts) != 2:
                raise EncodingError(f"{cell} cell node {k + 2} must have 2 (op, input) pairs, found {len(group.elts)}: {_src(group)}")
            flat.extend(group.elts)
        items = flat
    if len(items) != 2 * NUM_NODES:
        raise EncodingError(f"{cell} cell must have {2 * NUM_NODES} (op, input) pairs ({NUM_NODES} nodes x 2 inputs), "
                            f"found {len(items)}")
    pairs = []
    for item in items:
        if not (isinstance(item, (ast.Tuple, ast.List)) and len(item.elts) == 2):
            raise EncodingError(f"{cell} cell entries must be (op, input) pairs, found {_src(item)}")
        op_node, idx_node = item.elts
        if not (isinstance(op_node, ast.Constant) and isinstance(op_node.value, str)):
            raise EncodingError(f"{cell} cell pair {_src(item)} must start with an op name string, found {_src(op_node)}")
        idx = _int_const(idx_node)
        if idx is None:
            raise EncodingError(f"{cell} cell pair {_src(item)} must end with an integer input index, found {_src(idx_node)}")
        pairs.append((op_node.value, idx))
    return _check_cell(pairs, cell)


def _compact_from_ast(node: ast.List | ast.Tuple, text: str) -> DartsArch:
    if len(node.elts) != 2:
        raise EncodingError(f"NASLib compact encoding must hold 2 cells (normal, reduce), found {len(node.elts)} in {_short(text)}")
    cells = []
    for name, cell in zip(CELL_NAMES, node.elts):
        if not isinstance(cell, (ast.List, ast.Tuple)) or len(cell.elts) != 2 * NUM_NODES:
            found = f"{len(cell.elts)} pairs" if isinstance(cell, (ast.List, ast.Tuple)) else _src(cell)
            raise EncodingError(f"NASLib compact {name} cell must have {2 * NUM_NODES} (input, op code) pairs "
                                f"({NUM_NODES} nodes x 2 inputs), found {found}")
        pairs = []
        for item in cell.elts:
            values = [_int_const(e) for e in item.elts] if isinstance(item, (ast.Tuple, ast.List)) else []
            if len(values) != 2 or None in values:
                raise EncodingError(f"NASLib compact {name} cell entries must be (input, op code) integer pairs, found {_src(item)}")
            idx, code = values
            if not 0 <= code < len(NASLIB_OPS):
                raise EncodingError(f"NASLib compact op code must be in 0..{len(NASLIB_OPS) - 1} "
                                    f"({', '.join(f'{i}={o}' for i, o in enumerate(NASLIB_OPS))}), found {code} in {_src(item)}")
            pairs.append((NASLIB_OPS[code], idx))
        cells.append(_check_cell(pairs, name))
    return DartsArch(*cells)


def _check_cell(pairs: Sequence[Any], cell: str) -> Cell:
    """Validate 8 ``(op, input)`` pairs of one cell and return them as a tuple."""
    if len(pairs) != 2 * NUM_NODES:
        raise EncodingError(f"{cell} cell must have {2 * NUM_NODES} (op, input) pairs ({NUM_NODES} nodes x 2 inputs), "
                            f"found {len(pairs)}")
    out = []
    for k in range(NUM_NODES):
        first, second = pairs[2 * k], pairs[2 * k + 1]
        for pair in (first, second):
            if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
                raise EncodingError(f"{cell} cell entries must be (op, input) pairs, found {pair!r}")
            op, idx = pair
            if op not in _OP_SET:
                raise EncodingError(f"unknown DARTS op {op!r} in the {cell} cell; expected one of: {', '.join(DARTS_OPS)}")
            if isinstance(idx, bool) or not isinstance(idx, numbers.Integral) or not 0 <= idx <= k + 1:
                raise EncodingError(f"{cell} cell node {k + 2} input index must be in 0..{k + 1} (an earlier state), "
                                    f"found {idx!r} in ({op!r}, {idx!r})")
            out.append((op, int(idx)))
        if out[-1][1] == out[-2][1]:
            raise EncodingError(f"{cell} cell node {k + 2} must take two distinct inputs, found input {out[-1][1]} twice "
                                f"({out[-2]!r}, {out[-1]!r})")
    return tuple(out)


def check_arch(arch: Any) -> DartsArch:
    """A :class:`DartsArch` (or a pair of 8-pair cells) validated; raises :class:`EncodingError`."""
    if isinstance(arch, str):
        return parse_arch(arch)
    if not (isinstance(arch, (tuple, list)) and len(arch) == 2):
        raise EncodingError(f"DARTS architecture must be a string or a (normal, reduce) pair of cells, "
                            f"found {type(arch).__name__} {arch!r:.120}")
    cells = []
    for name, cell in zip(CELL_NAMES, arch):
        if not isinstance(cell, (tuple, list)):
            raise EncodingError(f"{name} cell must be a sequence of {2 * NUM_NODES} (op, input) pairs, found {type(cell).__name__}")
        cells.append(_check_cell(list(cell), name))
    return DartsArch(*cells)


# ---- formatting and canonical form ---------------------------------------------------------------

def _pairs_str(cell: Cell) -> str:
    return ", ".join(f"({op!r}, {idx})" for op, idx in cell)


def format_arch(arch: DartsArch) -> str:
    """The canonical encoding: DARTS's own ``repr`` of its Genotype namedtuple."""
    a = check_arch(arch)
    return (f"Genotype(normal=[{_pairs_str(a.normal)}], normal_concat=range(2, 6), "
            f"reduce=[{_pairs_str(a.reduce)}], reduce_concat=range(2, 6))")


def format_compact(arch: DartsArch) -> str:
    """NASLib's compact string (as the keys of its zero-cost JSON files); 'none' has no code."""
    a = check_arch(arch)
    cells = []
    for name, cell in zip(CELL_NAMES, a):
        pairs = []
        for op, idx in cell:
            if op not in _NASLIB_CODE:
                raise EncodingError(f"op {op!r} in the {name} cell has no NASLib compact code; expected one of: "
                                    f"{', '.join(NASLIB_OPS)}")
            pairs.append(f"({idx}, {_NASLIB_CODE[op]})")
        cells.append("[" + ", ".join(pairs) + "]")
    return "[" + ", ".join(cells) + "]"


def canonical_arch(arch: DartsArch) -> DartsArch:
    """``arch`` with each node's two pairs sorted by ``(input, op)`` (the sum does not depend on their order)."""
    a = check_arch(arch)
    cells = []
    for cell in a:
        out: list[Edge] = []
        for k in range(NUM_NODES):
            out.extend(sorted(cell[2 * k:2 * k + 2], key=lambda p: (p[1], p[0])))
        cells.append(tuple(out))
    return DartsArch(*cells)


# ---- sampling and mutation (NASLib / NAS-Bench-301 rules) --------------------------------------------

def _check_rng(rng: Any, what: str) -> None:
    if not isinstance(rng, random.Random):
        raise TypeError(f"{what} needs a random.Random (e.g. random.Random(seed)), found {type(rng).__name__}")


def sample_arch(rng: random.Random) -> DartsArch:
    """Each node of each cell: 2 distinct inputs among the earlier states, 2 ops uniform over :data:`SEARCH_OPS`."""
    _check_rng(rng, "sample")
    cells = []
    for _ in CELL_NAMES:
        cell: list[Edge] = []
        for k in range(NUM_NODES):
            inputs = rng.sample(range(k + 2), 2)
            cell.extend((rng.choice(SEARCH_OPS), idx) for idx in inputs)
        cells.append(tuple(cell))
    return DartsArch(*cells)


def mutate_arch(arch: DartsArch, rng: random.Random) -> DartsArch:
    """One local change (NASLib's rule): a random pair of a random cell gets a new op, or a new input
    distinct from its current input and from its sibling's; redrawn until something changed."""
    _check_rng(rng, "mutate")
    a = check_arch(arch)
    while True:
        c = rng.randrange(2)
        cell = list(a[c])
        p = rng.randrange(2 * NUM_NODES)
        op, idx = cell[p]
        if rng.randrange(2):
            cell[p] = (rng.choice([o for o in SEARCH_OPS if o != op]), idx)
        else:
            sibling = cell[p ^ 1][1]
            choices = [j for j in range(p // 2 + 2) if j not in (idx, sibling)]
            if not choices:
                continue  # node 2 has only states 0 and 1: no other input to move to
            cell[p] = (op, rng.choice(choices))
        cells = list(a)
        cells[c] = tuple(cell)
        return DartsArch(*cells)


def num_archs() -> int:
    """Distinct architectures of the NB301 space (7 ops, unordered input pairs): about 1.08e18."""
    per_cell = 1
    for k in range(NUM_NODES):
        per_cell *= math.comb(k + 2, 2) * len(SEARCH_OPS) ** 2
    return per_cell ** 2


# ---- whole-network computation graphs --------------------------------------------------------------

@dataclass(frozen=True)
class DartsNetworkConfig(NetworkConfig):
    """The DARTS evaluation network (``NetworkCIFAR``) around the cells.

    Attributes:
        init_channels: C, channels of a cell in the first stage (doubled at each reduction).
        layers: number of cells; reduction cells at ``layers // 3`` and ``2 * layers // 3``.
        stem_multiplier: the stem conv has ``stem_multiplier * C`` channels.
        pool_bn: pooling ops are followed by a BatchNorm (pt.darts' ``PoolBN``) instead of
            nothing (the DARTS repository, which NAS-Bench-301 and OnceNAS use).
    """

    init_channels: int = 32
    layers: int = 8
    stem_multiplier: int = 3
    pool_bn: bool = False


#: Network configs; the first is the default. The auxiliary head is never part of the graph: it
#: only adds a training loss (DARTS's own parameter counts exclude it too).
CONFIGS: dict[str, DartsNetworkConfig] = {
    # NAS-Bench-301's training runs (its data_generation config): CIFAR-10, init_channels 32,
    # layers 8, auxiliary head (weight 0.4) and drop path 0.2 during training only.
    "nb301": DartsNetworkConfig("nb301", (3, 32, 32), 10, init_channels=32, layers=8),
    # The DARTS paper's CIFAR-10 evaluation network (also OnceNAS-Bench's): C=36, 20 cells.
    "darts": DartsNetworkConfig("darts", (3, 32, 32), 10, init_channels=36, layers=20),
    # pt.darts' AugmentCNN (used by Yang et al.'s 214 random DARTS networks): C=36, 20 cells, BN after pools.
    "pt_darts": DartsNetworkConfig("pt_darts", (3, 32, 32), 10, init_channels=36, layers=20, pool_bn=True),
}


class _Block(NamedTuple):
    """A cached run of nodes: columns in NODE_FIELDS order, edges in local indices.

    Local index ``-k`` (k >= 1) is the block's k-th input; the block's output is its last node.
    """

    cols: tuple[tuple, ...]
    src: tuple[int, ...]
    dst: tuple[int, ...]
    n: int


def _block(in_shape: Shape, arity: int, body: Callable[..., object], keep_input: bool = False) -> _Block:
    """Run ``body(builder, *inputs)`` on ``arity`` placeholder inputs of ``in_shape`` and keep its nodes.

    Going through :class:`GraphBuilder` keeps shapes, params and FLOPs exactly as the op
    vocabulary infers them. Placeholders are dropped (``keep_input`` keeps a single one as a real
    ``input`` node, for the stem).
    """
    b = GraphBuilder("darts", "", in_shape, 0)
    inputs = [b.input() for _ in range(arity)]
    body(b, *inputs)
    g = b.graph
    if keep_input:
        return _Block(tuple(tuple(g.nodes[name]) for name in NODE_FIELDS), tuple(g.src), tuple(g.dst), g.num_nodes)

    def local(i: int) -> int:
        # placeholder i (0-based) becomes the block's input -(i + 1); real nodes shift down
        return i - arity if i >= arity else -(i + 1)

    return _Block(tuple(tuple(g.nodes[name][arity:]) for name in NODE_FIELDS),
                  tuple(local(s) for s in g.src), tuple(local(d) for d in g.dst), g.num_nodes - arity)


class _Assembler:
    """Chains cached blocks into one graph, wiring each block's inputs to given nodes.

    Blocks are only recorded while adding (their columns are joined once in :meth:`columns`),
    which keeps building a whole network at a few microseconds per block.
    """

    __slots__ = ("blocks", "n", "src", "dst")

    def __init__(self) -> None:
        self.blocks: list[_Block] = []
        self.n = 0
        self.src: list[int] = []
        self.dst: list[int] = []

    def add(self, block: _Block, *inputs: int) -> int:
        """Append ``block`` fed by the nodes ``inputs``; returns the index of its output node."""
        base = self.n
        self.blocks.append(block)
        self.n += block.n
        self.src.extend([inputs[-s - 1] if s < 0 else s + base for s in block.src])
        self.dst.extend([d + base for d in block.dst])
        return self.n - 1

    def columns(self) -> dict[str, list]:
        per_field = zip(*(b.cols for b in self.blocks))  # field -> the blocks' tuples for it
        return {name: list(chain.from_iterable(parts)) for name, parts in zip(NODE_FIELDS, per_field)}


# Atomic decompositions of DARTS's operations (operations.py of the DARTS repository).

def _relu_conv_bn(b: GraphBuilder, x: int, c_out: int, kernel: int = 1, stride: int = 1) -> int:
    # ReLUConvBN: ReLU, conv without bias, affine BN.
    return b.batch_norm(b.conv(b.relu(x), c_out, kernel, stride=stride, padding=(kernel - 1) // 2))


def _dil_conv(b: GraphBuilder, x: int, c_out: int, kernel: int, stride: int, dilation: int) -> int:
    # DilConv: ReLU, depthwise k x k (dilated), pointwise 1x1, BN; padding keeps the size (2 for 3x3
    # and 4 for 5x5 at dilation 2, as DARTS's OPS table).
    y = b.dwconv(b.relu(x), kernel, stride=stride, dilation=dilation)
    return b.batch_norm(b.conv(y, c_out, 1))


def _sep_conv(b: GraphBuilder, x: int, kernel: int, stride: int) -> int:
    # SepConv: two DilConv(dilation=1) blocks, only the first strided.
    c = b.shape(x)[0]
    return _dil_conv(b, _dil_conv(b, x, c, kernel, stride, 1), c, kernel, 1, 1)


def _factorized_reduce(b: GraphBuilder, x: int, c_out: int) -> int:
    # FactorizedReduce: ReLU; two 1x1 stride-2 convs of c_out/2 channels; concat; BN. The second
    # conv reads x[:, :, 1:, 1:] (the odd pixels): a crop with offset (kernel) 1 and no padding.
    r = b.relu(x)
    half = c_out // 2
    shifted = b.add_node("crop", [r], kernel=1, padding=0)
    left = b.conv(r, half, 1, stride=2, padding=0)
    return b.batch_norm(b.concat(left, b.conv(shifted, half, 1, stride=2, padding=0)))


def _pool(kind: str, pool_bn: bool) -> Callable[[GraphBuilder, int, int], int]:
    def body(b: GraphBuilder, x: int, stride: int) -> int:
        # DARTS: AvgPool2d(count_include_pad=False) / MaxPool2d, kernel 3, padding 1.
        y = (b.avg_pool if kind == "avg" else b.max_pool)(x, 3, stride=stride, padding=1)
        return b.batch_norm(y) if pool_bn else y

    return body


def _skip(b: GraphBuilder, x: int, stride: int) -> int:
    return b.identity(x) if stride == 1 else _factorized_reduce(b, x, b.shape(x)[0])


#: DARTS op name -> ``(builder, input, stride, pool_bn) -> output``; the one table of decompositions.
_OP_BODIES: dict[str, Callable[[GraphBuilder, int, int, bool], int]] = {
    "none": lambda b, x, s, pbn: b.zero(x, stride=s),
    "max_pool_3x3": lambda b, x, s, pbn: _pool("max", pbn)(b, x, s),
    "avg_pool_3x3": lambda b, x, s, pbn: _pool("avg", pbn)(b, x, s),
    "skip_connect": lambda b, x, s, pbn: _skip(b, x, s),
    "sep_conv_3x3": lambda b, x, s, pbn: _sep_conv(b, x, 3, s),
    "sep_conv_5x5": lambda b, x, s, pbn: _sep_conv(b, x, 5, s),
    "dil_conv_3x3": lambda b, x, s, pbn: _dil_conv(b, x, b.shape(x)[0], 3, s, 2),
    "dil_conv_5x5": lambda b, x, s, pbn: _dil_conv(b, x, b.shape(x)[0], 5, s, 2),
}
assert set(_OP_BODIES) == _OP_SET, "every DARTS op needs a CG decomposition"


@functools.lru_cache(maxsize=None)
def _op_block(op: str, shape: Shape, stride: int, pool_bn: bool) -> _Block:
    return _block(shape, 1, lambda b, x: _OP_BODIES[op](b, x, stride, pool_bn))


@functools.lru_cache(maxsize=None)
def _preprocess_block(in_shape: Shape, c_out: int, reduce: bool) -> _Block:
    if reduce:
        return _block(in_shape, 1, lambda b, x: _factorized_reduce(b, x, c_out))
    return _block(in_shape, 1, lambda b, x: _relu_conv_bn(b, x, c_out))


@functools.lru_cache(maxsize=None)
def _add_block(shape: Shape) -> _Block:
    return _block(shape, 2, lambda b, x, y: b.add(x, y))


@functools.lru_cache(maxsize=None)
def _concat_block(shape: Shape) -> _Block:
    return _block(shape, len(CONCAT), lambda b, *xs: b.concat(*xs))


@functools.lru_cache(maxsize=None)
def _stem_block(input_shape: Shape, channels: int) -> _Block:
    return _block(input_shape, 1, lambda b, x: b.batch_norm(b.conv(x, channels, 3, padding=1)), keep_input=True)


@functools.lru_cache(maxsize=None)
def _head_block(shape: Shape, num_classes: int) -> _Block:
    return _block(shape, 1, lambda b, x: b.output(b.linear(b.global_avg_pool(x), num_classes, bias=True)))


def _halve(shape: Shape) -> Shape:
    return (shape[0], (shape[1] - 1) // 2 + 1, (shape[2] - 1) // 2 + 1)


def build_network(arch: DartsArch | str, config: DartsNetworkConfig) -> ComputationGraph:
    """The DARTS evaluation network (``NetworkCIFAR``) for ``arch`` as a CG of atomic ops.

    Structure (DARTS's model.py): stem conv3x3 (``stem_multiplier * C`` channels, no bias) + BN;
    ``layers`` cells, reductions (stride 2, channels doubled) at ``layers // 3`` and
    ``2 * layers // 3``; global average pool; linear head. A cell preprocesses its two inputs
    to C channels (ReLU-conv1x1-BN, or FactorizedReduce for the first input after a reduction
    cell), applies its 8 ops (stride 2 on the inputs 0 and 1 of a reduction cell), adds each
    node's two op outputs and concatenates nodes 2..5 (4C channels).

    Ops: ``sep_conv_kxk`` = relu, dwconv k (stride s), conv1x1, BN, relu, dwconv k, conv1x1, BN;
    ``dil_conv_kxk`` = relu, dwconv k dilation 2 (stride s), conv1x1, BN; pools 3x3 padding 1
    (avg without counting padding), plus BN when ``config.pool_bn``; ``skip_connect`` is identity,
    or FactorizedReduce when strided; ``none`` is a (strided) zero. All convs are bias-free, all
    BNs affine. The auxiliary head (training only) is not part of the graph.

    FactorizedReduce = relu; conv1x1 stride 2 of the relu output and conv1x1 stride 2 of its
    ``crop`` ``x[:, :, 1:, 1:]`` (C/2 channels each); concat; BN, exactly as DARTS computes it.
    """
    a = check_arch(arch)
    cfg = config
    c_in, h, w = cfg.input_shape
    asm = _Assembler()
    stem_c = cfg.stem_multiplier * cfg.init_channels
    s_prev = asm.add(_stem_block((c_in, h, w), stem_c))
    s_prev_prev = s_prev
    shape_pp = shape_p = (stem_c, h, w)
    c_curr = cfg.init_channels
    reduction_prev = False
    reductions = {cfg.layers // 3, 2 * cfg.layers // 3}
    for layer in range(cfg.layers):
        reduction = layer in reductions
        if reduction:
            c_curr *= 2
        cell = a.reduce if reduction else a.normal
        size = shape_p[1:]
        states = [asm.add(_preprocess_block(shape_pp, c_curr, reduction_prev), s_prev_prev),
                  asm.add(_preprocess_block(shape_p, c_curr, False), s_prev)]
        in_shape: Shape = (c_curr, *size)
        out_shape = _halve(in_shape) if reduction else in_shape
        for k in range(NUM_NODES):
            outs = []
            for op, idx in cell[2 * k:2 * k + 2]:
                stride = 2 if reduction and idx < 2 else 1
                outs.append(asm.add(_op_block(op, in_shape if idx < 2 else out_shape, stride, cfg.pool_bn), states[idx]))
            states.append(asm.add(_add_block(out_shape), *outs))
        cell_out = asm.add(_concat_block(out_shape), *(states[i] for i in CONCAT))
        s_prev_prev, s_prev = s_prev, cell_out
        shape_pp, shape_p = shape_p, (len(CONCAT) * c_curr, *out_shape[1:])
        reduction_prev = reduction
    asm.add(_head_block(shape_p, cfg.num_classes), s_prev)
    return ComputationGraph("darts", format_arch(a), cfg.input_shape, cfg.num_classes, cfg.name,
                            nodes=asm.columns(), src=asm.src, dst=asm.dst)


# ---- the search space ----------------------------------------------------------------------------

@SPACES.register("darts")
class DartsSpace(SearchSpace):
    """DARTS / NAS-Bench-301 cell space: normal + reduction cell, 4 nodes x 2 inputs, 7 ops.

    An architecture is a :class:`DartsArch`. ``parse`` reads the Genotype string (flat or
    nested) and NASLib's compact string; ``format`` writes the Genotype string. The space cannot
    be enumerated (about 1e18 architectures).
    """

    name = "darts"
    configs = CONFIGS

    def parse(self, text: str) -> DartsArch:
        return parse_arch(text)

    def format(self, arch: DartsArch) -> str:
        return format_arch(arch)

    def coerce(self, arch: Any) -> DartsArch:
        return check_arch(arch)

    def format_compact(self, arch: DartsArch) -> str:
        return format_compact(arch)

    def canonical(self, arch: DartsArch) -> DartsArch:
        return canonical_arch(arch)

    def sample(self, rng: random.Random) -> DartsArch:
        return sample_arch(rng)

    def mutate(self, arch: DartsArch, rng: random.Random) -> DartsArch:
        return mutate_arch(arch, rng)

    def size(self) -> int:
        return num_archs()

    def arch_key(self, arch: DartsArch | str) -> str:
        """16 hex digits: digest of the canonical string of :func:`canonical_arch` (input order ignored)."""
        return hashlib.blake2b(format_arch(canonical_arch(self.coerce(arch))).encode(), digest_size=8).hexdigest()

    def build_cg(self, arch: DartsArch | str, config: str | None = None) -> ComputationGraph:
        """The whole evaluation network at atomic-op level (see :func:`build_network`)."""
        return build_network(self.coerce(arch), self.config(config))
