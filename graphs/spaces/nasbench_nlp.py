"""NAS-Bench-NLP: recurrent cells ("recipes") in a 3-layer AWD-LSTM-style language model.

A recipe is a DAG of named nodes, each ``{"op": ..., "input": [...]}``, over the inputs ``x``
(the layer input) and ``h_prev_0 .. h_prev_{k-1}`` (the recurrent state of the previous step);
``h_new_0 .. h_new_{k-1}`` are the new state and ``h_new_0`` is the layer output. Ops
(:data:`RECIPE_OPS`): ``linear`` (one weight matrix per input, one bias: a linear map of the
concatenated inputs), ``blend`` (``g*a + (1-g)*b``), ``elementwise_prod``, ``elementwise_sum``,
``activation_tanh``, ``activation_sigm``, ``activation_leaky_relu``. The native encoding is the
recipe's JSON (any key order parses; :func:`format_recipe` writes it with sorted node names).

The network, as NAS-Bench-NLP trained it on WikiText-2 (:data:`MODEL`): embedding 400, three
layers of the cell (hidden 600, 600 and 400: the last layer's size equals the embedding, whose
weight is tied to the decoder), decoder to the 33,278-token vocabulary. Dropouts are not part of
the graph.

The computation graph is the whole model over one time step. Its input is the embedded token,
``(400, 1, 1)``: the embedding matrix is the decoder's (tied), counted once, at the decoder, so
``graph.params`` equals the benchmark's ``num_params`` exactly. Per layer, each used
``h_prev_i`` is a ``state`` node of slot i (anchored on the layer input, see
:mod:`archbench.graphs.ops`); a ``linear`` over several inputs is ``concat`` + ``linear``; the
elementwise ops are ``mul`` / ``add``; the layer ends in ``carry(h_new_0, ..., h_new_{k-1})``,
which is the layer output and hands the new state to the next step. The head is the decoder
``linear`` (400 -> 33,278). FLOPs are per token.
"""
from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any, Iterable

from archbench.errors import EncodingError

from ..cg import ComputationGraph, GraphBuilder
from .base import SPACES, NetworkConfig, SearchSpace

#: Recipe op -> arity (min, max inputs; None = any number).
RECIPE_OPS: dict[str, tuple[int, int | None]] = {
    "linear": (1, None),
    "blend": (3, 3),
    "elementwise_prod": (2, None),
    "elementwise_sum": (2, None),
    "activation_tanh": (1, 1),
    "activation_sigm": (1, 1),
    "activation_leaky_relu": (1, 1),
}
#: Recipe op -> vocabulary op (``linear`` becomes concat + linear).
_VOCAB_OP: dict[str, str] = {
    "linear": "linear", "blend": "blend", "elementwise_prod": "mul", "elementwise_sum": "add",
    "activation_tanh": "tanh", "activation_sigm": "sigmoid", "activation_leaky_relu": "leaky_relu",
}
assert set(_VOCAB_OP) == set(RECIPE_OPS), "every recipe op needs a vocabulary op"
_ACTIVATIONS = ("activation_tanh", "activation_sigm", "activation_leaky_relu")
_MAX_STATES = 3

#: A recipe: ``(name, op, inputs)`` per node, sorted by name.
Recipe = tuple[tuple[str, str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class LanguageModel:
    """The benchmark's model around the cell (AWD-LSTM setting of its training logs)."""

    name: str
    vocab: int
    embedding: int
    hidden: int
    layers: int

    def layer_sizes(self) -> list[tuple[int, int]]:
        """(input size, hidden size) per layer; the last layer's hidden size is the (tied) embedding size."""
        return [(self.embedding if i == 0 else self.hidden, self.embedding if i == self.layers - 1 else self.hidden)
                for i in range(self.layers)]


#: WikiText-2 (33,278 tokens), emsize 400, nhid 600, 3 layers, tied weights: every training log.
MODEL = LanguageModel("wikitext2", vocab=33_278, embedding=400, hidden=600, layers=3)
CONFIGS: dict[str, NetworkConfig] = {MODEL.name: NetworkConfig(MODEL.name, (MODEL.embedding, 1, 1), MODEL.vocab)}
_MODELS = {MODEL.name: MODEL}


# ---- recipes ------------------------------------------------------------------------------------------

def _slot(name: str, prefix: str) -> int | None:
    """``k`` of ``prefix + str(k)`` (``h_new_2`` -> 2), else None."""
    if name.startswith(prefix) and name[len(prefix):].isdigit():
        return int(name[len(prefix):])
    return None


def check_recipe(nodes: Iterable[tuple[str, str, Iterable[str]]], text: Any = None) -> Recipe:
    """Validate recipe nodes and return the canonical recipe; errors name the node and the problem.

    Rules: ops from :data:`RECIPE_OPS` with their arity; inputs are ``x``, ``h_prev_i`` or other
    nodes; ``h_new_0 .. h_new_{k-1}`` exist (k <= 3) and only ``h_prev_i`` with i < k are read;
    no cycle; every node feeds some ``h_new_i``.
    """
    where = f" in recipe {text!r:.200}" if text is not None else ""
    recipe = tuple(sorted((str(n), str(op), tuple(str(i) for i in ins)) for n, op, ins in nodes))
    names = [n for n, _, _ in recipe]
    if len(set(names)) != len(names):
        raise EncodingError(f"recipe node names must be unique{where}")
    defined = set(names)
    states = sorted(k for k in (_slot(n, "h_new_") for n in names) if k is not None)
    if not states or states != list(range(len(states))) or len(states) > _MAX_STATES:
        raise EncodingError(f"a recipe must define h_new_0 .. h_new_{{k-1}} (1 <= k <= {_MAX_STATES}) without gaps, "
                            f"found {[f'h_new_{k}' for k in states]}{where}")
    k = len(states)
    for name, op, ins in recipe:
        if name == "x" or _slot(name, "h_prev_") is not None:
            raise EncodingError(f"recipe node {name!r} redefines an input (x and h_prev_i are given){where}")
        if op not in RECIPE_OPS:
            raise EncodingError(f"recipe node {name!r} has unknown op {op!r}{where}; expected one of: {', '.join(RECIPE_OPS)}")
        lo, hi = RECIPE_OPS[op]
        if len(ins) < lo or (hi is not None and len(ins) > hi):
            want = str(lo) if lo == hi else (f"at least {lo}" if hi is None else f"{lo}..{hi}")
            raise EncodingError(f"recipe node {name!r} ({op}) has {len(ins)} inputs, expected {want}{where}")
        for i in ins:
            s = _slot(i, "h_prev_")
            if i != "x" and i not in defined and (s is None or s >= k):
                raise EncodingError(f"recipe node {name!r} reads {i!r}, which is neither x, h_prev_0..h_prev_{k - 1} "
                                    f"nor a node of the recipe{where}")
    order = topological_order(recipe)  # raises on a cycle
    consumers: dict[str, list[str]] = {n: [] for n in names}
    for name, _, ins in recipe:
        for i in ins:
            if i in consumers:
                consumers[i].append(name)
    useful = {f"h_new_{s}" for s in range(k)}
    for name in reversed(order):
        if any(c in useful for c in consumers[name]):
            useful.add(name)
    dead = [n for n in names if n not in useful]
    if dead:
        raise EncodingError(f"recipe nodes {dead} feed no h_new_i (dead computation){where}")
    return recipe


def topological_order(recipe: Recipe) -> list[str]:
    """Node names so that every node comes after the nodes it reads (ties by name)."""
    ops = {n: ins for n, _, ins in recipe}
    indeg = {n: sum(i in ops for i in ins) for n, ins in ops.items()}
    ready = sorted(n for n, d in indeg.items() if d == 0)
    order: list[str] = []
    while ready:
        n = ready.pop(0)
        order.append(n)
        for m, ins in ops.items():
            if n in ins:
                indeg[m] -= ins.count(n)
                if indeg[m] == 0:
                    ready.append(m)
        ready.sort()
    if len(order) != len(ops):
        raise EncodingError(f"recipe has a cycle through nodes {sorted(set(ops) - set(order))}")
    return order


def parse_recipe(text: str) -> Recipe:
    """Recipe JSON (``{"node": {"op": ..., "input": [...]}, ...}``) -> canonical recipe."""
    if not isinstance(text, str):
        raise EncodingError(f"NAS-Bench-NLP architecture must be a recipe JSON string, found {type(text).__name__}")
    try:
        data = json.loads(text)
    except ValueError as err:
        raise EncodingError(f"NAS-Bench-NLP recipe is not valid JSON ({err}): {text!r:.200}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) and isinstance(v.get("op"), str)
                                             and isinstance(v.get("input"), list) for v in data.values()):
        raise EncodingError(f"NAS-Bench-NLP recipe must map node names to {{'op': str, 'input': [names]}}, found {text!r:.200}")
    return check_recipe(((n, v["op"], v["input"]) for n, v in data.items()), text)


def format_recipe(recipe: Recipe) -> str:
    """Canonical recipe JSON: nodes sorted by name, compact separators."""
    return json.dumps({n: {"op": op, "input": list(ins)} for n, op, ins in recipe}, separators=(",", ":"))


def num_states(recipe: Recipe) -> int:
    """k: the number of recurrent state slots (``h_new_0 .. h_new_{k-1}``)."""
    return sum(_slot(n, "h_new_") is not None for n, _, _ in recipe)


# ---- the network ----------------------------------------------------------------------------------------

def _add_cell(b: GraphBuilder, recipe: Recipe, order: list[str], x: int, hidden: int) -> int:
    """One layer's cell reading layer input ``x``; returns its ``carry`` node (the layer output)."""
    nodes = {n: (op, ins) for n, op, ins in recipe}
    values: dict[str, int] = {"x": x}
    used = {i for _, _, ins in recipe for i in ins}
    for k in range(num_states(recipe)):
        if f"h_prev_{k}" in used:
            values[f"h_prev_{k}"] = b.add_node("state", [x], c_out=hidden, groups=k)
    for name in order:
        op, ins = nodes[name]
        args = [values[i] for i in ins]
        if op == "linear":
            values[name] = b.linear(b.concat(*args) if len(args) > 1 else args[0], hidden, bias=True)
        else:
            values[name] = b.add_node(_VOCAB_OP[op], args)
    return b.add_node("carry", [values[f"h_new_{k}"] for k in range(num_states(recipe))])


def build_network(recipe: Recipe, model: LanguageModel = MODEL) -> ComputationGraph:
    """The whole language model with ``recipe`` cells over one time step (see the module doc)."""
    b = GraphBuilder("nasbench_nlp", format_recipe(recipe), (model.embedding, 1, 1), model.vocab, model.name)
    h = b.input()
    order = topological_order(recipe)
    for _, hidden in model.layer_sizes():
        h = _add_cell(b, recipe, order, h, hidden)
    return b.output(b.linear(h, model.vocab, bias=True))


# ---- sampling and mutation ------------------------------------------------------------------------------

def _arity(op: str, rng: random.Random) -> int:
    lo, hi = RECIPE_OPS[op]
    return rng.randint(lo, 3) if hi is None else lo


def random_recipe(rng: random.Random, states: int | None = None, max_attempts: int = 10_000) -> Recipe:
    """A random valid recipe (archbench's sampler, not the benchmark's own generator).

    k state slots (uniform in 1..3 unless given) and 2..4k+3 intermediate nodes; each node draws
    an op uniformly and reads distinct earlier values, preferring values nothing reads yet; ``x``
    feeds only ``linear`` nodes (its size differs from the hidden size); each ``h_new_i`` is an
    activation. Drawn until every node feeds a new state and every input is read.
    """
    for _ in range(max_attempts):
        k = states or rng.randint(1, _MAX_STATES)
        hidden_vals = [f"h_prev_{i}" for i in range(k)]
        nodes: list[tuple[str, str, tuple[str, ...]]] = []
        unread = set(hidden_vals) | {"x"}
        for j in range(rng.randint(2, 4 * k + 3)):
            op = rng.choice(tuple(RECIPE_OPS))
            pool = hidden_vals + (["x"] if op == "linear" else [])
            n = min(_arity(op, rng), len(pool))
            if n < RECIPE_OPS[op][0]:
                continue
            fresh = [v for v in pool if v in unread]
            picks = rng.sample(fresh, min(len(fresh), n))
            picks += rng.sample([v for v in pool if v not in picks], n - len(picks))
            name = f"node_{j}"
            nodes.append((name, op, tuple(picks)))
            unread.difference_update(picks)
            unread.add(name)
            hidden_vals.append(name)
        last = [v for v in hidden_vals if v in unread and not v.startswith("h_prev_")]
        rng.shuffle(last)
        for i in range(k):
            src = last[i] if i < len(last) else rng.choice(hidden_vals[k:] or hidden_vals)
            nodes.append((f"h_new_{i}", rng.choice(_ACTIVATIONS), (src,)))
        try:
            recipe = check_recipe(nodes)
        except EncodingError:
            continue
        if {"x"} | {f"h_prev_{i}" for i in range(k)} <= {i for _, _, ins in recipe for i in ins}:
            return recipe
    raise RuntimeError(f"no valid recipe in {max_attempts} attempts")  # pragma: no cover - vanishingly rare


def mutate_recipe(recipe: Recipe, rng: random.Random, max_attempts: int = 1_000) -> Recipe:
    """One local change: an op swapped for one of the same arity, or one input re-wired to another earlier value."""
    order = topological_order(recipe)
    k = num_states(recipe)
    by_name = {n: (op, ins) for n, op, ins in recipe}
    for _ in range(max_attempts):
        name = rng.choice(order)
        op, ins = by_name[name]
        new_op, new_ins = op, list(ins)
        if rng.random() < 0.5:
            same = [o for o in RECIPE_OPS if o != op and RECIPE_OPS[o] == RECIPE_OPS[op]
                    and (o == "linear" or "x" not in ins)]
            if not same:
                continue
            new_op = rng.choice(same)
        else:
            earlier = order[:order.index(name)] + [f"h_prev_{i}" for i in range(k)] + (["x"] if op == "linear" else [])
            pos = rng.randrange(len(ins))
            choices = [v for v in earlier if v not in ins]
            if not choices:
                continue
            new_ins[pos] = rng.choice(choices)
        nodes = [(n, o, i) for n, o, i in recipe if n != name] + [(name, new_op, tuple(new_ins))]
        try:
            out = check_recipe(nodes)
        except EncodingError:
            continue
        reads = {i for _, _, i2 in out for i in i2}
        if out != recipe and {"x"} | {f"h_prev_{i}" for i in range(k)} <= reads:
            return out
    raise RuntimeError(f"no valid mutation of the recipe in {max_attempts} attempts")  # pragma: no cover


# ---- the search space -----------------------------------------------------------------------------------

@SPACES.register("nasbench_nlp")
class NASBenchNLPSpace(SearchSpace):
    """NAS-Bench-NLP recurrent cells (not enumerable); architectures are canonical recipes."""

    name = "nasbench_nlp"
    configs = CONFIGS

    def parse(self, text: str) -> Recipe:
        return parse_recipe(text)

    def format(self, arch: Recipe) -> str:
        return format_recipe(arch)

    def coerce(self, arch: Any) -> Recipe:
        if isinstance(arch, str):
            return parse_recipe(arch)
        if isinstance(arch, dict):
            return parse_recipe(json.dumps(arch))
        if isinstance(arch, (tuple, list)):
            return check_recipe(arch)
        raise EncodingError(f"NAS-Bench-NLP architecture must be a recipe JSON string, dict or (name, op, inputs) "
                            f"tuples, found {type(arch).__name__}")

    def sample(self, rng: random.Random) -> Recipe:
        if not isinstance(rng, random.Random):
            raise TypeError(f"sample needs a random.Random (e.g. random.Random(seed)), found {type(rng).__name__}")
        return random_recipe(rng)

    def mutate(self, arch: Recipe, rng: random.Random) -> Recipe:
        if not isinstance(rng, random.Random):
            raise TypeError(f"mutate needs a random.Random (e.g. random.Random(seed)), found {type(rng).__name__}")
        return mutate_recipe(self.coerce(arch), rng)

    def build_cg(self, arch: Recipe | str, config: str | None = None) -> ComputationGraph:
        return build_network(self.coerce(arch), _MODELS[self.config(config).name])
