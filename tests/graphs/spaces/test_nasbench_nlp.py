"""NAS-Bench-NLP space: recipe encoding and validation, sampling, the one-step language-model graph."""
from __future__ import annotations

import json
import random
import zipfile

import pytest
import torch

from archbench.errors import EncodingError
from archbench.graphs.hashing import canonical_hash
from archbench.graphs.spaces import get_space
from archbench.graphs.spaces.nasbench_nlp import MODEL, num_states, topological_order
from archbench.graphs.torch_module import to_module

SPACE = get_space("nasbench_nlp")
RNN = {"f": {"op": "linear", "input": ["x", "h_prev_0"]}, "h_new_0": {"op": "activation_tanh", "input": ["f"]}}
# A GRU-like cell with two states, a 3-input linear and a blend.
CELL = {"node_0": {"op": "linear", "input": ["x", "h_prev_0", "h_prev_1"]},
        "node_1": {"op": "activation_sigm", "input": ["node_0"]},
        "node_2": {"op": "blend", "input": ["node_1", "h_prev_0", "h_prev_1"]},
        "node_3": {"op": "elementwise_prod", "input": ["node_2", "h_prev_1"]},
        "h_new_0": {"op": "activation_leaky_relu", "input": ["node_2"]},
        "h_new_1": {"op": "activation_tanh", "input": ["node_3"]}}


def _cell_params(n_in: int, hidden: int) -> int:
    return (n_in + 2 * hidden) * hidden + hidden  # one linear over [x, h_prev_0, h_prev_1]


def test_parse_format_roundtrip():
    text = json.dumps(CELL)
    arch = SPACE.parse(text)
    assert [n for n, _, _ in arch] == sorted(CELL) and num_states(arch) == 2
    assert SPACE.parse(SPACE.format(arch)) == arch
    shuffled = json.dumps(dict(reversed(list(CELL.items()))), indent=2)  # key order and whitespace do not matter
    assert SPACE.format(SPACE.parse(shuffled)) == SPACE.format(arch)
    assert SPACE.coerce(CELL) == arch
    assert topological_order(arch).index("node_1") < topological_order(arch).index("node_2")


@pytest.mark.parametrize("recipe, msg", [
    ({"h_new_0": {"op": "conv", "input": ["x"]}}, "unknown op 'conv'"),
    ({"h_new_0": {"op": "blend", "input": ["x", "h_prev_0"]}}, r"has 2 inputs, expected 3"),
    ({"h_new_0": {"op": "activation_tanh", "input": ["h_prev_1"]}}, "reads 'h_prev_1'"),
    ({"h_new_1": {"op": "activation_tanh", "input": ["x"]}}, "without gaps"),
    ({"a": {"op": "linear", "input": ["b"]}, "b": {"op": "linear", "input": ["a"]},
      "h_new_0": {"op": "activation_tanh", "input": ["a"]}}, "cycle"),
    ({"a": {"op": "linear", "input": ["x"]}, "h_new_0": {"op": "activation_tanh", "input": ["x"]}}, r"\['a'\] feed no h_new_i"),
    ({"x": {"op": "linear", "input": ["h_prev_0"]}, "h_new_0": {"op": "activation_tanh", "input": ["x"]}}, "redefines an input"),
])
def test_invalid_recipes_are_refused(recipe, msg):
    with pytest.raises(EncodingError, match=msg):
        SPACE.parse(json.dumps(recipe))
    with pytest.raises(EncodingError, match="not valid JSON"):
        SPACE.parse("{'h_new_0': 1}")


def test_params_hand_computed():
    # Elman cell: one linear over [x, h] per layer; tied embedding/decoder counted once (decoder).
    g = SPACE.build_cg(json.dumps(RNN)).validate()
    layers = [(400, 600), (600, 600), (600, 400)]
    cells = sum((i + h) * h + h for i, h in layers)
    assert g.params == cells + 400 * 33_278 + 33_278 == 15_066_078  # the benchmark log's num_params
    g2 = SPACE.build_cg(CELL).validate()
    assert g2.params == sum(_cell_params(i, h) for i, h in layers) + 400 * 33_278 + 33_278


def test_graph_structure():
    g = SPACE.build_cg(CELL)
    assert g.input_shape == (MODEL.embedding, 1, 1) and g.num_classes == MODEL.vocab
    assert g.ops.count("state") == 3 * 2 and g.ops.count("carry") == 3 and g.ops.count("blend") == 3
    slots = sorted(g.nodes["groups"][i] for i, op in enumerate(g.ops) if op == "state")
    assert slots == [0, 0, 0, 1, 1, 1]
    carries = [i for i, op in enumerate(g.ops) if op == "carry"]
    assert [len(g.inputs_of()[c]) for c in carries] == [2, 2, 2]  # (h_new_0, h_new_1) per layer
    assert g.node(carries[-1]).out_shape == (400, 1, 1)  # the last layer has the embedding's size


def test_module_runs_one_step():
    g = SPACE.build_cg(RNN)
    m = to_module(g, seed=0).eval()
    assert sum(p.numel() for p in m.parameters()) == g.params
    emb = torch.randn(2, 400)
    out = m(emb[:, :, None, None])  # the module's input convention: (N, C, H, W)
    assert out.shape == (2, 33_278)
    # from the zero initial state the first layer computes tanh(W [x, 0] + b)
    lin = getattr(m, f"n{g.ops.index('linear')}")
    first = m.node_outputs(emb[:, :, None, None])[g.ops.index("tanh")]
    torch.testing.assert_close(first, torch.tanh(lin(torch.cat([emb, torch.zeros(2, 600)], dim=1))))


def test_hash_ignores_node_names_but_not_structure():
    renamed = {"g": RNN["f"], "h_new_0": {"op": "activation_tanh", "input": ["g"]}}
    assert SPACE.format(SPACE.parse(json.dumps(renamed))) != SPACE.format(SPACE.parse(json.dumps(RNN)))
    assert canonical_hash(SPACE.build_cg(renamed)) == canonical_hash(SPACE.build_cg(RNN))
    sigm = {"f": RNN["f"], "h_new_0": {"op": "activation_sigm", "input": ["f"]}}
    assert canonical_hash(SPACE.build_cg(sigm)) != canonical_hash(SPACE.build_cg(RNN))


def test_sample_and_mutate_give_valid_recipes():
    rng = random.Random(0)
    states = set()
    for _ in range(150):
        a = SPACE.sample(rng)
        b = SPACE.mutate(a, rng)
        assert b != a
        for arch in (a, b):
            SPACE.build_cg(arch).validate()
            reads = {i for _, _, ins in arch for i in ins}
            assert "x" in reads and all(f"h_prev_{k}" in reads for k in range(num_states(arch)))
        states.add(num_states(a))
    assert states == {1, 2, 3}
    assert SPACE.samples(4, seed=2) == SPACE.samples(4, seed=2)
    with pytest.raises(NotImplementedError):
        SPACE.enumerate()


@pytest.mark.realdata
def test_every_logged_recipe_builds_with_the_logged_params(shared_data):
    path = shared_data / "nas_bench_nlp" / "train_logs_wikitext-2_logs.zip"
    with zipfile.ZipFile(path) as zf:
        logs = [json.loads(zf.read(n)) for n in zf.namelist() if n.endswith(".json")]
    assert len(logs) == 345
    for log in logs:
        g = SPACE.build_cg(log["recepie"])
        assert g.params == log["num_params"], log["recepie_id"]
    assert len({SPACE.format(SPACE.parse(log["recepie"])) for log in logs}) == 291
