"""Tests for archbench.graphs.spaces.nb101: encoding, pruning, official hash and representative, networks."""
from __future__ import annotations

import itertools
import json
import random

import pytest
import torch

from archbench.errors import EncodingError
from archbench.graphs.hashing import canonical_hash
from archbench.graphs.spaces import get_space, list_spaces
from archbench.graphs.spaces import nb101
from archbench.graphs.spaces.nb101 import (
    NB101_OPS, cell_from_codes, cell_hash, format_cell, hash_module, make_cell, official_representative, parse_cell,
    prune, sample_spec, vertex_channels,
)
from archbench.graphs.torch_module import to_module

C3, C1, MP = NB101_OPS
IN, OUT = "input", "output"

#: The benchmark README's Inception-like cell (7 vertices, 9 edges).
INCEPTION = ((
    (0, 1, 1, 1, 0, 1, 0),
    (0, 0, 0, 0, 0, 0, 1),
    (0, 0, 0, 0, 0, 0, 1),
    (0, 0, 0, 0, 1, 0, 0),
    (0, 0, 0, 0, 0, 0, 1),
    (0, 0, 0, 0, 0, 0, 1),
    (0, 0, 0, 0, 0, 0, 0)), (IN, C1, C3, C3, C3, MP, OUT))
BARE = (((0, 1), (0, 0)), (IN, OUT))


@pytest.fixture(scope="module")
def space():
    return get_space("nb101")


def relabel(arch, order):
    """The same cell with vertices listed in ``order`` (old indices by new position)."""
    matrix, ops = arch
    return tuple(tuple(matrix[i][j] for j in order) for i in order), tuple(ops[v] for v in order)


def random_relabeling(arch, rng):
    """A random vertex order of a pruned cell that keeps the matrix upper-triangular (input/output fixed)."""
    matrix, ops = arch
    n = len(matrix)
    order, left = [0], set(range(1, n - 1))
    while left:
        ready = [v for v in sorted(left) if all(not matrix[u][v] or u in order for u in range(n))]
        v = rng.choice(ready)
        order.append(v)
        left.remove(v)
    return relabel(arch, order + [n - 1])


# ---- encoding ------------------------------------------------------------------------------------

def test_registered(space):
    assert "nb101" in list_spaces() and space.name == "nb101" and space.size() == 423_624
    with pytest.raises(NotImplementedError):
        space.enumerate()


def test_parse_format_round_trip(space):
    text = "adj=0110/0001/0001/0000;ops=input,conv3x3-bn-relu,maxpool3x3,output"
    arch = parse_cell(text)
    assert arch == (((0, 1, 1, 0), (0, 0, 0, 1), (0, 0, 0, 1), (0, 0, 0, 0)), (IN, C3, MP, OUT))
    assert format_cell(arch) == text and space.format(space.parse(text)) == text
    assert parse_cell(format_cell(INCEPTION)) == INCEPTION
    # an unpruned cell keeps its form: pruning is a separate, explicit step
    raw = "adj=01010/00001/00000/00001/00000;ops=input,conv1x1-bn-relu,maxpool3x3,conv3x3-bn-relu,output"
    assert format_cell(parse_cell(raw)) == raw
    assert space.coerce(([[0, 1], [0, 0]], [IN, OUT])) == BARE  # nested lists work too


@pytest.mark.parametrize("text, message", [
    (7, "must be a string"),
    ("0110/0001;input,output", "must look like 'adj="),
    ("adj=011/00/000;ops=input,maxpool3x3,output", "must be square: 3 rows, but row 1 has 2 entries"),
    ("adj=012/001/000;ops=input,maxpool3x3,output", "entries must be 0 or 1, found row 0 = '012'"),
    ("adj=011/101/000;ops=input,maxpool3x3,output", "upper-triangular .* found an edge 1 -> 0"),
    ("adj=011/001/000;ops=input,conv5x5,output", "unknown NB101 op 'conv5x5' at vertex 1; expected one of: conv3x3"),
    ("adj=011/001/000;ops=maxpool3x3,input,output", "must start with 'input' and end with 'output'"),
    ("adj=011/001/000;ops=input,output", "one op per vertex: 3 vertices but 2 ops"),
    ("adj=010/000/000;ops=input,maxpool3x3,output", "no path from input to output"),
    ("adj=" + "/".join(["00000001"] * 8) + ";ops=" + ",".join([IN] + [C3] * 6 + [OUT]), "2..7 vertices, found a 8x8"),
    ("adj=0111110/0011110/0001100/0000010/0000011/0000001/0000000;ops=" + ",".join([IN] + [C3] * 5 + [OUT]),
     "at most 9 edges, found 15"),
])
def test_malformed_encodings_say_what_was_found(text, message):
    with pytest.raises(EncodingError, match=message):
        parse_cell(text)


def test_edge_limit_applies_after_pruning():
    # 12 edges, 3 of them into vertex 4, which feeds nothing: the pruned cell has 9 (the benchmark's rule)
    matrix = [[0, 1, 1, 1, 1, 0], [0, 0, 1, 1, 1, 1], [0, 0, 0, 1, 1, 1], [0, 0, 0, 0, 0, 1],
              [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0]]
    assert sum(map(sum, matrix)) == 12
    cell = make_cell(matrix, [IN, C3, C3, C3, MP, OUT])
    assert sum(map(sum, prune(cell)[0])) == 9 and prune(cell)[1] == (IN, C3, C3, C3, OUT)


def test_cell_from_codes_drops_padding():
    codes = {-1: IN, -2: OUT, 0: C3, 1: C1, 2: MP, -3: None}
    padded = [[0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert cell_from_codes(padded, [-1, 1, -2, -3], codes) == (((0, 1, 1), (0, 0, 1), (0, 0, 0)), (IN, C1, OUT))
    with pytest.raises(EncodingError, match="padding vertex 3 .* must have no edges"):
        cell_from_codes([[0, 1, 1, 1], [0, 0, 1, 0], [0, 0, 0, 0], [0, 0, 0, 0]], [-1, 1, -2, -3], codes)
    with pytest.raises(EncodingError, match="unknown NB101 op code 9 at vertex 1"):
        cell_from_codes(padded, [-1, 9, -2, -3], codes)


# ---- pruning, hash, representative ---------------------------------------------------------------

def test_pruning_removes_vertices_off_every_path():
    # vertex 2 has no way to the output, vertex 3 no way from the input
    matrix = ((0, 1, 1, 0, 0), (0, 0, 0, 0, 1), (0, 0, 0, 0, 0), (0, 0, 0, 0, 1), (0, 0, 0, 0, 0))
    arch = make_cell(matrix, (IN, C3, MP, C1, OUT))
    assert prune(arch) == (((0, 1, 0), (0, 0, 1), (0, 0, 0)), (IN, C3, OUT))
    assert cell_hash(arch) == cell_hash(prune(arch))
    assert prune(INCEPTION) == INCEPTION


def test_hash_is_invariant_under_vertex_permutation_and_separates_cells():
    rng = random.Random(0)
    for _ in range(30):
        arch = nb101.sample_cell(rng)
        h = cell_hash(arch)
        assert len(h) == 32 and int(h, 16) >= 0
        for _ in range(3):
            assert cell_hash(random_relabeling(arch, rng)) == h
        matrix, ops = arch
        if len(ops) > 2:  # another op at one vertex is another cell
            other = (matrix, (ops[0], MP if ops[1] != MP else C3, *ops[2:]))
            assert cell_hash(other) != h


def test_hash_module_is_the_documented_algorithm_on_a_two_vertex_cell():
    import hashlib

    md5 = lambda s: hashlib.md5(s.encode()).hexdigest()  # noqa: E731
    h = [md5(str((1, 0, -1))), md5(str((0, 1, -2)))]
    for _ in range(2):
        h = [md5("|" + h[1] + "|" + h[0]), md5(h[0] + "||" + h[1])]
    assert hash_module(((0, 1), (0, 0)), [-1, -2]) == md5(str(sorted(h)))


def _benchmark_enumeration(n: int) -> dict[str, tuple]:
    """The benchmark's generate_graphs for n vertices: first labeled graph of every hash."""
    bits_of = [(i, j) for j in range(n) for i in range(j)]  # bit x + y(y-1)/2 is edge x -> y
    first: dict[str, tuple] = {}
    for bits in range(1 << len(bits_of)):
        matrix = [[0] * n for _ in range(n)]
        for k, (i, j) in enumerate(bits_of):
            matrix[i][j] = bits >> k & 1
        full = all(any(matrix[v]) for v in range(n - 1)) and all(any(r[v] for r in matrix) for v in range(1, n))
        if not full or sum(map(sum, matrix)) > nb101.MAX_EDGES:
            continue
        for labels in itertools.product(range(3), repeat=n - 2):
            arch = (tuple(map(tuple, matrix)), (IN, *(NB101_OPS[x] for x in labels), OUT))
            first.setdefault(cell_hash(arch), arch)
    return first


@pytest.mark.parametrize("n", [2, 3, 4, 5])
def test_representative_is_the_benchmarks_first_enumerated_graph(n):
    first = _benchmark_enumeration(n)
    for h, arch in first.items():
        assert official_representative(arch) == arch
    # every labeled graph maps to its hash class's first graph, and 1/k per labeled graph counts the classes
    masks = nb101._full_dag_masks(n)
    total = 0.0
    for bits in masks.tolist():
        for labels in itertools.product(NB101_OPS, repeat=n - 2):
            arch = (nb101._from_bits(bits, n), (IN, *labels, OUT))
            assert official_representative(arch) == first[cell_hash(arch)]
            total += 1 / len(nb101._relabelings(arch))
    assert round(total) == len(first) and abs(total - len(first)) < 1e-6


@pytest.mark.slow
def test_six_vertex_classes_counted_two_ways():
    first = _benchmark_enumeration(6)
    total = sum(1 / len(nb101._relabelings((nb101._from_bits(b, 6), (IN, *labels, OUT))))
                for b in nb101._full_dag_masks(6).tolist() for labels in itertools.product(NB101_OPS, repeat=4))
    assert abs(total - len(first)) < 1e-6


# ---- sampling and mutation -----------------------------------------------------------------------

def test_sample_is_valid_deterministic_and_spread(space):
    a = space.samples(300, seed=1)
    assert a == space.samples(300, seed=1) and a != space.samples(300, seed=2)
    for arch in a:
        assert make_cell(*arch) == arch and prune(arch) == arch and official_representative(arch) == arch
    # uniform over 423,624 cells: repeats are rare and most cells have 7 vertices
    assert len({cell_hash(x) for x in a}) >= 295
    assert sum(len(x[1]) == 7 for x in a) > 200
    with pytest.raises(TypeError, match="random.Random"):
        space.sample(3)


def test_sample_spec_reproduces_the_benchmarks_small_cell_bias():
    rng = random.Random(0)
    cells = [sample_spec(rng) for _ in range(300)]
    assert all(official_representative(c) == c for c in cells)
    assert sum(len(c[1]) == 7 for c in cells) < 30   # valid raw 7x7 specs mostly prune to small cells


def test_mutate_changes_one_thing_and_stays_valid(space):
    rng = random.Random(3)
    for arch in space.samples(40, seed=5):
        child = space.mutate(arch, rng)
        assert make_cell(*child) == child and cell_hash(child) != cell_hash(arch)
        assert official_representative(child) == child
    a = space.samples(5, seed=9)
    assert [space.mutate(x, random.Random(1)) for x in a] == [space.mutate(x, random.Random(1)) for x in a]
    grown = space.mutate(BARE, random.Random(0))
    assert len(grown[1]) == 3 and grown[0][0][2] == 1


def test_arch_key_and_representative(space):
    arch = random_relabeling(INCEPTION, random.Random(4))
    assert space.arch_key(arch) == cell_hash(INCEPTION) and space.arch_id(arch) == f"nb101:{cell_hash(INCEPTION)}"
    rep = space.representative(arch)
    assert space.arch_id(rep) == space.arch_id(arch) and official_representative(INCEPTION) == rep
    assert space.arch_key(format_cell(arch)) == space.arch_key(arch)


# ---- networks ------------------------------------------------------------------------------------

def test_vertex_channels_split_the_output_as_the_benchmark():
    # 3 vertices feed the output: 128 = 43 + 43 + 42; vertex 1 feeds only vertex 2 and takes its 43
    m = ((0, 1, 0, 1, 1, 0), (0, 0, 1, 0, 0, 0), (0, 0, 0, 0, 0, 1), (0, 0, 0, 0, 0, 1), (0, 0, 0, 0, 0, 1),
         (0, 0, 0, 0, 0, 0))
    assert vertex_channels(64, 128, m) == [64, 43, 43, 43, 42, 128]
    assert vertex_channels(64, 128, ((0, 1), (0, 0))) == [64, 128]


def test_bare_cell_network_params_by_hand(space):
    # every cell is a 1x1 conv-bn-relu projection; stem 3x3 conv 3->128 + BN; dense 512->10
    proj = lambda c, d: c * d + 2 * d  # noqa: E731
    want = (3 * 9 * 128 + 256) + 3 * proj(128, 128) + proj(128, 256) + 2 * proj(256, 256) \
        + proj(256, 512) + 2 * proj(512, 512) + 512 * 10 + 10
    g = space.build_cg(BARE).validate()
    assert g.params == want == 882_570
    assert g.ops.count("max_pool") == 2 and g.ops.count("conv") == 1 + 9


def test_truncation_becomes_channel_slices(space):
    # vertices 1, 2, 3 feed the output; vertex 1 also feeds 2 and 3. Output channels split as
    # 128 -> 43/43/42, 256 -> 86/85/85, 512 -> 171/171/170: the benchmark drops vertex 1's extra
    # channel on 1 edge, 2 edges and 1 edge per cell of the three stacks: 3 * (1 + 2 + 1) slices.
    m = ((0, 1, 0, 0, 0), (0, 0, 1, 1, 1), (0, 0, 0, 0, 1), (0, 0, 0, 0, 1), (0, 0, 0, 0, 0))
    arch = make_cell(m, (IN, C3, C1, MP, OUT))
    g = space.build_cg(arch).validate()
    slices = [g.node(i) for i, op in enumerate(g.ops) if op == "channel_slice"]
    assert len(slices) == 12 and {(s.c_in - s.c_out) for s in slices} == {1}
    module = to_module(g, seed=0).eval()
    assert sum(p.numel() for p in module.parameters()) == g.params
    with torch.no_grad():
        assert module(torch.randn(1, 3, 32, 32)).shape == (1, 10)


EXTREMES = [
    BARE,
    (((0, 1, 0), (0, 0, 1), (0, 0, 0)), (IN, MP, OUT)),                       # no conv in the cell
    INCEPTION,
    (tuple(tuple(int(j == i + 1 or (i == 0 and j == 6) or (j == 6 and i == 5)) for j in range(7)) for i in range(7)),
     (IN, C3, C3, C3, C3, C3, OUT)),                                           # longest chain
    (((0, 1, 1, 1, 1, 1, 1), (0, 0, 0, 0, 0, 0, 1), (0, 0, 0, 0, 0, 0, 1), (0, 0, 0, 0, 0, 0, 1),
      (0, 0, 0, 0, 0, 0, 0), (0, 0, 0, 0, 0, 0, 0), (0, 0, 0, 0, 0, 0, 0)), (IN, C3, C3, C3, C3, C3, OUT)),  # pruned to 5
]


@pytest.mark.parametrize("k", range(len(EXTREMES)))
def test_params_equal_the_executable_module(space, k):
    g = space.build_cg(EXTREMES[k]).validate()
    assert sum(p.numel() for p in to_module(g).parameters()) == g.params


def test_sampled_networks_validate_and_match_their_modules(space):
    for arch in space.samples(12, seed=11):
        g = space.build_cg(arch).validate()
        assert g.encoding == format_cell(arch) and g.space == "nb101" and g.config == "cifar10"
        assert sum(p.numel() for p in to_module(g).parameters()) == g.params


def test_forward_pass_shape(space):
    g = space.build_cg(EXTREMES[1])
    m = to_module(g, seed=0).eval()
    with torch.no_grad():
        assert m(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_isomorphic_cells_with_equal_channel_splits_build_equal_networks(space):
    # swapping two parallel vertices that do not feed the output changes nothing but numbering
    a = make_cell(((0, 1, 1, 0, 0), (0, 0, 0, 1, 0), (0, 0, 0, 1, 0), (0, 0, 0, 0, 1), (0, 0, 0, 0, 0)),
                  (IN, C1, C3, MP, OUT))
    b = relabel(a, [0, 2, 1, 3, 4])
    assert a != b and cell_hash(a) == cell_hash(b)
    assert canonical_hash(space.build_cg(a)) == canonical_hash(space.build_cg(b))
    assert canonical_hash(space.build_cg(a)) != canonical_hash(space.build_cg(EXTREMES[1]))


# ---- real data -----------------------------------------------------------------------------------

@pytest.mark.realdata
def test_official_hash_representative_and_params_on_the_1k_cells(space, shared_data):
    data = json.loads((shared_data / "nb101" / "nasbench101_1k_graphs.json").read_text())
    codes = {-1: IN, -2: OUT, 0: C3, 1: C1, 2: MP, -3: None}
    n = len(data["key"])
    hashes = reps = params = 0
    for i in range(n):
        cell = cell_from_codes(data["adjacency"][i], data["operations"][i], codes)
        hashes += cell_hash(cell) == data["key"][i]
        reps += official_representative(cell) == cell
        params += space.build_cg(cell).params == data["trainable_parameters"][i]
    assert n == 1000 and hashes == reps == params == n
