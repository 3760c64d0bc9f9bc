"""Canonical hash of a computation graph: equal for functionally identical networks.

:func:`canonical_hash` returns 32 hex characters (a 128-bit BLAKE2b digest) that depend neither
on node numbering nor on node order. It is computed Merkle-style, bottom-up in topological order:
every node gets a *value* (bytes) from its op and its operands' values, so a shared
subexpression is hashed once and the DAG is never expanded into a tree.

Rules (``v(i)`` is the value of node ``i``):

1. ``input``: ``v = H("input", shape)``; every input node of a graph has the same value.
2. ``identity`` and ``output`` are folded: ``v(i) = v(operand)``.
3. Zero propagation. A ``zero`` node's value is the zero token of its output shape,
   ``Z(shape) = H("zero", shape)``; its stride and channel attributes matter only through that
   shape. Zero operands then propagate:

   * ``add`` drops zero operands; no operand left gives ``Z(shape)``, a single one gives that
     operand's value itself (``x + 0 == x``);
   * ``mul`` with any zero operand is ``Z(shape)``;
   * any other op whose spec has ``zero_preserving=True`` is ``Z(shape)`` when *all* its
     operands are zero (for a unary op: its input); e.g. ``concat`` of all-zero inputs is zero,
     while ``concat(x, zero)`` keeps the shape-tagged zero token as an operand (adjacent zero
     operands of a ``concat`` merge into one token with their summed channels);
   * ops that are not zero-preserving (``sigmoid``, ``hsigmoid``, and a ``conv``/``dwconv``/
     ``linear`` with ``bias=1``, which maps zero to its bias) take the zero token as an ordinary
     operand.

   ``zero_preserving`` comes from the op vocabulary. For batch norm it is an idealization: a
   branch fed only by zeros counts as zero, as NAS-Bench-201's own de-duplication treats it,
   although a trained network's batch-norm shift would output a constant there.

4. Dead branches do not matter: the graph hash is built from the output's value only, so a node
   that does not reach the output (or only reaches it through a zero) contributes nothing.
5. ``add``, ``mul`` and ``concat`` are associative: an operand that is itself the same op
   (after folding) is replaced by its operands, so ``add(add(a, b), c) == add(a, b, c)``. ``add``
   and ``mul`` (the ops with ``commutative=True``) sort their operand values; ``concat`` keeps
   argument order. After flattening and zero dropping, one remaining operand is the value itself.
6. Every other node: ``v = H(op name, function attributes, output shape, operand values)``. The
   function attributes are by op category: ``conv`` -> kernel, stride, padding, dilation, groups,
   bias; ``pool`` -> kernel, stride, padding (none for ``global_avg_pool``); ``linear`` and
   ``norm`` -> bias (affine); ``graph`` -> kernel, bias; ``neuron`` -> kernel, dilation;
   ``recurrent`` -> groups (see :mod:`archbench.graphs.ops`); ``crop`` -> kernel, padding;
   ``channel_shuffle`` -> groups; ``embedding`` -> groups (vocabulary size); ``attention`` -> groups,
   padding (softmax scale and causal mask); none for the rest (``c_out`` is part of the output shape). Input
   shapes, params and FLOPs follow from these and are not hashed separately.
7. The graph hash is ``H(HASH_VERSION, input shape, num_classes, v(output), rule-8 pairs)``. The search-space
   name, encoding and config are *not* included: the same network from two spaces hashes equal.
8. Weight sharing counts. Values alone cannot tell one conv whose output feeds two consumers
   from two separately weighted convs of the same input (both have the value ``conv(x)``), yet
   the second network has twice the parameters. So for every value that more than one *live*
   node with parameters computes (live: feeds the output through non-zero values), the pair
   ``(value, count)`` enters the graph hash.

Speed: a chain of single-input ops is not hashed at every node. A unary node's value is a
16-byte digest of its (op, attributes, shape) followed by its input's value; a chain longer than
:data:`_CHAIN_LIMIT` bytes is sealed with one BLAKE2b call, and n-ary ops hash their operands with
a length header, so the encoding stays unambiguous. Per-(op, attributes, shape) digests are cached
across graphs.

The hash assumes a valid graph; on a malformed graph it runs :meth:`ComputationGraph.validate`
to raise an error that names the problem. Unknown ops raise :class:`UnknownOpError`.
"""
from __future__ import annotations

import hashlib
from operator import lt
from typing import TYPE_CHECKING

from archbench.errors import GraphValidationError

from .ops import ATTR_FIELDS, get_op

if TYPE_CHECKING:
    from .cg import ComputationGraph

#: Version of the rules above; part of every graph hash, bumped when a rule changes.
HASH_VERSION = 2  # v2: rule 8 (separately weighted copies of a computation count)

_DIGEST_SIZE = 16
#: A chain of unary values longer than this (bytes) is sealed into one digest.
_CHAIN_LIMIT = 8 * _DIGEST_SIZE
#: Bound of the per-process caches; a search space produces a few hundred distinct node rows.
_CACHE_MAX = 1 << 16

#: Attributes that change an op's function, by op category (the rest are ignored) ...
_FUNCTION_ATTRS: dict[str, tuple[str, ...]] = {
    "conv": ATTR_FIELDS,
    "pool": ("kernel", "stride", "padding"),
    "linear": ("bias",),
    "norm": ("bias",),
    "graph": ("kernel", "bias"),  # heads / K / stacks; the edge count (groups) is data, not function
    "neuron": ("kernel", "dilation"),  # firing threshold, membrane decay
    "recurrent": ("groups",),  # state slot
    "embedding": ("groups",),  # vocabulary size of an embedding table (unembed: c_out, in the shape)
    "attention": ("groups", "padding"),  # softmax: score scale 1/sqrt(d_k), causal mask
}
#: ... except where one op of a category differs.
_FUNCTION_ATTRS_BY_OP: dict[str, tuple[str, ...]] = {
    "global_avg_pool": (), "crop": ("kernel", "padding"), "channel_shuffle": ("groups",)}

# Node kinds, most frequent first (the main loop tests them in this order).
_UNARY, _PASS, _NARY, _ZERO, _INPUT, _OUTPUT = range(6)
_KIND_BY_OP = {"input": _INPUT, "output": _OUTPUT, "identity": _PASS, "zero": _ZERO}
# Zero rules: none, all operands zero -> zero, drop zero operands, any zero operand -> zero.
_Z_NONE, _Z_ALL, _Z_DROP, _Z_ABSORB = range(4)
_ZERO_RULE = {"add": _Z_DROP, "mul": _Z_ABSORB}
_ASSOCIATIVE = frozenset({"add", "mul", "concat"})

#: Columns a row-info key is built from, in key order.
_KEY_FIELDS = ("op",) + ATTR_FIELDS + ("c_out", "h_out", "w_out")


def _h(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=_DIGEST_SIZE).digest()


def _ints(values) -> bytes:
    return b"".join(int(v).to_bytes(8, "little", signed=True) for v in values)


def _zero_token(shape: tuple[int, int, int]) -> tuple[bytes, str]:
    """``(Z(shape), label)``; remembers the shape of every zero token (for merging in concat)."""
    token = _ZERO_TOKENS.get(shape)
    if token is None:
        shape = tuple(int(v) for v in shape)
        token = _ZERO_TOKENS[shape] = (_h(b"zero\0" + _ints(shape)), f"zero {'x'.join(map(str, shape))}")
        _ZERO_SHAPES[token[0]] = shape
    return token


class _RowInfo(dict):
    """Cache: (op, attrs..., out shape) -> (kind, tag, zero token, zero rule, commutative, associative, op, label)."""

    def __missing__(self, key: tuple) -> tuple:
        op, attrs, shape = key[0], dict(zip(ATTR_FIELDS, key[1:7])), key[7:10]
        spec = get_op(op)  # raises UnknownOpError listing the vocabulary
        used = _FUNCTION_ATTRS_BY_OP.get(op, _FUNCTION_ATTRS.get(spec.category, ()))
        shape_txt = "x".join(map(str, shape))
        kind = _KIND_BY_OP.get(op, _UNARY if spec.max_inputs == 1 else _NARY)
        if kind == _INPUT:
            tag, label = _h(b"input\0" + _ints(shape)), f"input {shape_txt}"
        else:
            tag = _h(b"op\0" + op.encode() + b"\0" + _ints(attrs[a] for a in used) + b"\0" + _ints(shape))
            label = f"{op}[{','.join(f'{a}={attrs[a]}' for a in used)}] {shape_txt}"
        # A conv or linear with a bias maps zero to its bias: a constant, not zero.
        preserves = spec.zero_preserving and not (spec.category in ("conv", "linear") and attrs["bias"])
        zero_rule = _ZERO_RULE.get(op, _Z_ALL if preserves else _Z_NONE)
        zero_token = _zero_token(shape)
        info = (kind, tag, zero_token, zero_rule, spec.commutative, op in _ASSOCIATIVE, op, label)
        self[key] = info
        return info


_ROW_INFO = _RowInfo()
_ZERO_TOKENS: dict[tuple, tuple[bytes, str]] = {}
_ZERO_SHAPES: dict[bytes, tuple[int, int, int]] = {}


def _nary_key(tag: bytes, values: list[bytes]) -> bytes:
    # Operand count and per-operand lengths (in 16-byte blocks) make the concatenation unambiguous.
    header = len(values).to_bytes(4, "little") + bytes([len(v) >> 4 for v in values])
    return b"nary\0" + tag + header + b"".join(values)


def _merge_zero_runs(operands: list[bytes], zeros: set[bytes], record: dict | None) -> list[bytes]:
    """Concat operands with each run of adjacent zero tokens merged into one (zeros of summed channels)."""
    merged: list[bytes] = []
    for v in operands:
        if merged and v in zeros and merged[-1] in zeros:
            c1, h, w = _ZERO_SHAPES[merged[-1]]
            token, label = _zero_token((c1 + _ZERO_SHAPES[v][0], h, w))
            zeros.add(token)
            if record is not None:
                record[token] = (label, ())
            merged[-1] = token
        else:
            merged.append(v)
    return merged


def _values(graph: "ComputationGraph", record: dict | None = None) -> tuple[bytes, list[tuple[bytes, int]]]:
    """The canonical value of the graph's output node and the rule-8 pairs (see the module docstring).

    ``record``, if given, receives ``value -> (label, operand values)`` for every value made.
    """
    cols = graph.nodes
    n = len(cols["op"])
    src, dst = graph.src, graph.dst
    # Builder graphs list every node after its inputs; only other graphs need a real sort.
    order = range(n) if all(map(lt, src, dst)) else graph.topological_order()
    preds: list[list[int]] = [[] for _ in range(n)]
    for s, d in zip(src, dst):
        preds[d].append(s)
    if len(_ROW_INFO) > _CACHE_MAX or len(_ZERO_TOKENS) > _CACHE_MAX:
        _ROW_INFO.clear()
        _ZERO_TOKENS.clear()
        _ZERO_SHAPES.clear()
    infos = list(map(_ROW_INFO.__getitem__, zip(*(cols[f] for f in _KEY_FIELDS))))
    vals: list[bytes] = [b""] * n
    zeros: set[bytes] = set()
    flat: dict[bytes, tuple[str, list[bytes]]] = {}  # associative n-ary value -> (op, flattened operands)
    out_value, n_outputs = b"", 0
    h = _h
    for i in order:
        kind, tag, zero_token, zero_rule, commutative, associative, op, label = infos[i]
        args = preds[i]
        if kind == _UNARY:
            v = vals[args[0]]
            if zero_rule == _Z_ALL and v in zeros:
                w, label = zero_token
                operands = ()
            else:
                w = tag + v
                if len(w) > _CHAIN_LIMIT:
                    w = h(b"chain\0" + w)
                operands = (v,)
        elif kind == _PASS:
            vals[i] = vals[args[0]]
            continue
        elif kind == _NARY:
            operands = []
            n_zero = 0
            for j in args:
                v = vals[j]
                if v in zeros:
                    n_zero += 1
                    if zero_rule == _Z_DROP:
                        continue
                sub = flat.get(v) if associative else None
                if sub is not None and sub[0] == op:
                    operands.extend(sub[1])
                else:
                    operands.append(v)
            if n_zero and (zero_rule == _Z_ABSORB or (n_zero == len(args) and zero_rule != _Z_NONE)):
                w, label = zero_token
                operands = ()
            else:
                if op == "concat":
                    operands = _merge_zero_runs(operands, zeros, record)
                if associative and len(operands) == 1:
                    vals[i] = operands[0]
                    continue
                if commutative:
                    operands.sort()
                w = h(_nary_key(tag, operands))
                if associative:
                    flat[w] = (op, operands)
        elif kind == _ZERO:
            w, label = zero_token
            operands = ()
        elif kind == _INPUT:
            w = tag
            operands = ()
        else:  # _OUTPUT: folded like identity; remembered for the graph digest
            vals[i] = out_value = vals[args[0]]
            n_outputs += 1
            continue
        vals[i] = w
        if w is zero_token[0]:
            zeros.add(w)
        if record is not None:
            record[w] = (label, tuple(operands))
    if n_outputs != 1:
        graph.output_node()  # raises: a graph needs exactly one output node
    return out_value, _separate_weights(graph, vals, zeros, preds)


def _separate_weights(graph: "ComputationGraph", vals: list[bytes], zeros: set[bytes],
                      preds: list[list[int]]) -> list[tuple[bytes, int]]:
    """Values computed by more than one live node with parameters, with their counts (rule 8).

    A node is live if it is the output or feeds a live node whose value is not zero; only live
    nodes with parameters and a non-zero value count.
    """
    n = len(vals)
    cols = graph.nodes
    live = [False] * n
    for i, op in enumerate(cols["op"]):
        if op == "output":
            live[i] = True
    params = cols["params"]
    order = range(n - 1, -1, -1) if all(map(lt, graph.src, graph.dst)) else reversed(graph.topological_order())
    counts: dict[bytes, int] = {}
    for i in order:
        if not live[i] or vals[i] in zeros:
            continue
        for j in preds[i]:
            live[j] = True
        if params[i]:
            counts[vals[i]] = counts.get(vals[i], 0) + 1
    return sorted((v, k) for v, k in counts.items() if k > 1)


def _graph_digest(graph: "ComputationGraph", out_value: bytes, shared: list[tuple[bytes, int]]) -> bytes:
    head = b"archbench-cg\0" + _ints((HASH_VERSION, *graph.input_shape, graph.num_classes))
    tail = b"".join(b"\0sep" + _ints((k,)) + v for v, k in shared)
    return hashlib.blake2b(head + b"\0" + out_value + tail, digest_size=_DIGEST_SIZE).digest()


def _checked_values(graph: "ComputationGraph", record: dict | None = None) -> tuple[bytes, list[tuple[bytes, int]]]:
    try:
        return _values(graph, record)
    except (IndexError, KeyError, TypeError) as err:
        # A malformed graph (wrong arity, edge out of range, missing column): let validate() name it.
        graph.validate()
        raise GraphValidationError(f"cannot hash graph {graph.summary()}: {err!r}") from err


def canonical_hash(graph: "ComputationGraph") -> str:
    """Hash of the function the graph computes: 32 hex characters, independent of node numbering.

    Args:
        graph: a valid :class:`~archbench.graphs.cg.ComputationGraph`.

    Returns:
        The hex digest; equal for graphs that the rules in the module docstring make identical.
    """
    return _graph_digest(graph, *_checked_values(graph)).hex()


def canonical_form(graph: "ComputationGraph") -> str:
    """A readable listing of the canonical DAG behind :func:`canonical_hash` (for debugging).

    One line per distinct canonical node reachable from the output, numbered in post-order with
    operands in canonical order, so two graphs with equal hashes give equal text and a diff of
    two listings shows where two graphs differ.
    """
    record: dict[bytes, tuple[str, tuple[bytes, ...]]] = {}
    out_value, shared = _checked_values(graph, record)
    ids: dict[bytes, int] = {}
    lines = [f"graph input={'x'.join(map(str, graph.input_shape))} num_classes={graph.num_classes}"]
    # Iterative post-order walk (a deep chain would overflow recursion).
    stack: list[tuple[bytes, bool]] = [(out_value, False)]
    while stack:
        v, expanded = stack.pop()
        if v in ids:
            continue
        label, operands = record[v]
        if not expanded:
            stack.append((v, True))
            stack.extend((o, False) for o in reversed(operands) if o not in ids)
            continue
        ids[v] = len(ids)
        args = ", ".join(f"%{ids[o]}" for o in operands)
        lines.append(f"%{ids[v]} = {label}" + (f" ({args})" if operands else ""))
    lines.append(f"output = %{ids[out_value]}")
    lines.extend(f"separate weights: {k} nodes compute %{ids[v]}" for v, k in sorted(shared, key=lambda vk: ids[vk[0]]))
    return "\n".join(lines)


__all__ = ["HASH_VERSION", "canonical_form", "canonical_hash"]
