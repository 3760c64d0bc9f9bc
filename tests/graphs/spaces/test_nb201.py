"""Tests of the NAS-Bench-201 search space (archbench.graphs.spaces.nb201)."""
from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from archbench.errors import EncodingError
from archbench.graphs.spaces import get_space, list_spaces
from archbench.graphs.spaces.nb201 import (
    EDGES,
    NB201_OPS,
    NUM_ARCHS,
    NB201Space,
    arch_to_index,
    format_arch_str,
    index_to_arch,
    iso_representative,
    num_iso_classes,
    parse_arch_str,
    unique_str,
)

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "nb201"
NATS_CSV = DATA / "nats_tss_cifar10.csv"
HW360 = DATA / "hw_nas_bench_360.parquet"

ALL_NONE = ("none",) * 6
ALL_SKIP = ("skip_connect",) * 6
ALL_CONV3 = ("nor_conv_3x3",) * 6
ALL_CONV1 = ("nor_conv_1x1",) * 6
ALL_POOL = ("avg_pool_3x3",) * 6


@pytest.fixture(scope="module")
def space() -> NB201Space:
    return get_space("nb201")


def _needs(path: Path):
    return pytest.mark.skipif(not path.exists(), reason=f"real data not found at {path} (../shared/data is absent)")


# ---- registry, encodings -------------------------------------------------------------------------

def test_registered(space):
    assert "nb201" in list_spaces()
    assert isinstance(space, NB201Space) and space.name == "nb201"
    assert space.size() == NUM_ARCHS == 15625
    assert list(space.configs) == ["cifar10", "cifar100", "imagenet16-120"]
    assert space.default_config == "cifar10"


def test_enumerate_all_distinct_and_round_trip(space):
    archs = list(space.enumerate())
    assert len(archs) == len(set(archs)) == 15625
    for arch in archs:
        assert len(arch) == 6 and set(arch) <= set(NB201_OPS)
        text = space.format(arch)
        assert space.parse(text) == arch
        assert format_arch_str(parse_arch_str(text)) == text


def test_string_order_matches_edges():
    arch = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "none")
    text = format_arch_str(arch)
    assert text == "|none~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|none~2|"
    # the '~k' of each position is the source node of EDGES
    items = [item for group in text.split("+") for item in group.strip("|").split("|")]
    assert [int(item.split("~")[1]) for item in items] == [src for src, _ in EDGES]


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("|none~0||skip_connect~0|none~1||none~0|none~1|none~2|", "3 node groups joined by '+'"),
        ("|none~0|+|none~0|none~1|", "3 node groups"),
        ("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|+|none~0|", "3 node groups"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 must have 2 incoming"),
        ("|none~0|+|none~0|none~1|+|none~0|none~1|", "node 3 must have 3 incoming"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "'op~0'"),
        ("|none~0|+|none~0|none~2|+|none~0|none~1|none~2|", "'op~1'"),
        ("|none0|+|none~0|none~1|+|none~0|none~1|none~2|", "'op~0'"),
        ("|none~0|+|none~0|none~1|+|none~0|none~1|none~x|", "'op~2'"),
        ("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown NB201 op 'conv_5x5'"),
        ("none~0+none~0|none~1+none~0|none~1|none~2", "must look like '|op~0|...|'"),
        ("", "3 node groups"),
    ],
)
def test_parse_rejects_malformed(text, fragment):
    with pytest.raises(EncodingError) as err:
        parse_arch_str(text)
    assert fragment in str(err.value)


@pytest.mark.parametrize("value", [None, 42.0, b"|none~0|", ("none",) * 6])
def test_parse_rejects_non_string(value):
    with pytest.raises(EncodingError, match="must be a string"):
        parse_arch_str(value)


def test_format_rejects_bad_tuples():
    with pytest.raises(EncodingError, match="needs 6 edge ops, found 5"):
        format_arch_str(("none",) * 5)
    with pytest.raises(EncodingError, match="unknown NB201 op 'conv_5x5'"):
        format_arch_str(("conv_5x5",) + ("none",) * 5)


# ---- official index order ----------------------------------------------------------------------

def test_index_round_trip(space):
    for i, arch in enumerate(space.enumerate()):
        assert arch_to_index(arch) == i
        assert index_to_arch(i) == arch
    assert arch_to_index(format_arch_str(ALL_CONV3)) == arch_to_index(ALL_CONV3)


def test_official_first_index():
    # NAS-Bench-201's own generation script asserts this string is index 0 after its shuffle.
    assert format_arch_str(index_to_arch(0)) == (
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|")


@pytest.mark.parametrize("bad", [-1, 15625, 10**9])
def test_index_out_of_range(bad):
    with pytest.raises(EncodingError, match=r"0\.\.15624, found"):
        index_to_arch(bad)


@pytest.mark.parametrize("bad", [1.0, "7", True, None])
def test_index_wrong_type(bad):
    with pytest.raises(EncodingError, match=r"integer in 0\.\.15624"):
        index_to_arch(bad)


def test_arch_key_and_id(space):
    assert space.arch_key(index_to_arch(42)) == "00042"
    assert space.arch_id(index_to_arch(42)) == "nb201:00042"
    assert space.arch_id(15624) == "nb201:15624"


def test_coerce(space):
    arch = index_to_arch(123)
    assert space.coerce(arch) == arch
    assert space.coerce(list(arch)) == arch
    assert space.coerce(format_arch_str(arch)) == arch
    assert space.coerce(123) == arch
    with pytest.raises(EncodingError, match="found bool"):
        space.coerce(True)
    with pytest.raises(EncodingError, match="found float"):
        space.coerce(1.5)
    with pytest.raises(EncodingError, match="found 5"):
        space.coerce(("none",) * 5)
    with pytest.raises(EncodingError, match=r"0\.\.15624, found 15625"):
        space.coerce(15625)


@pytest.mark.realdata
@_needs(NATS_CSV)
def test_official_order_matches_nats_bench_csv():
    import pandas as pd

    table = pd.read_csv(NATS_CSV, usecols=["nb201_index", "arch_str"])
    assert len(table) == 15625 and sorted(table.nb201_index) == list(range(15625))
    mismatches = [(i, s) for i, s in zip(table.nb201_index, table.arch_str) if format_arch_str(index_to_arch(i)) != s]
    assert not mismatches, f"{len(mismatches)} indices differ from NATS-Bench, first: {mismatches[:3]}"


# ---- isomorphism classes -----------------------------------------------------------------------

def test_unique_str_hand_cases():
    assert unique_str(ALL_NONE) == "#+#+#"  # the benchmark keeps zero terms in a sum
    assert unique_str(ALL_SKIP) == "0+0+0+0"  # node 1 = 0, node 2 = 0+0, node 3 = 0 + 0 + (0+0)
    # node 1 and 2 unused by the conv path: the class ignores the ops that only feed zeros
    a = ("nor_conv_3x3", "avg_pool_3x3", "none", "nor_conv_1x1", "none", "none")
    b = ("avg_pool_3x3", "nor_conv_3x3", "nor_conv_3x3", "nor_conv_1x1", "none", "none")
    assert unique_str(a) == unique_str(b) == "#+#+(0)@nor_conv_1x1"
    # a zero node 1 turns its outgoing edges into zeros whatever their op; node 2 = "#+0" is
    # passed on by the skip as a term of its own
    c = ("none", "skip_connect", "nor_conv_3x3", "skip_connect", "avg_pool_3x3", "skip_connect")
    assert unique_str(c) == "#+#+0+0"
    # skip-connect chains are the same function as a single skip
    assert unique_str(("skip_connect", "none", "nor_conv_3x3", "none", "none", "skip_connect")) == \
        unique_str(("nor_conv_3x3", "none", "skip_connect", "none", "none", "skip_connect"))


def test_num_iso_classes_and_representatives(space):
    assert num_iso_classes() == 6466  # the figure published with NAS-Bench-201
    reps = Counter(iso_representative(a) for a in space.enumerate())
    assert len(reps) == 6466
    for rep in reps:
        # the representative is a member of its own class, and the smallest index in it
        assert iso_representative(index_to_arch(rep)) == rep
    for i, arch in enumerate(space.enumerate()):
        assert iso_representative(arch) <= i
    arch = ("skip_connect", "none", "nor_conv_3x3", "none", "none", "skip_connect")
    rep = space.representative(arch)
    assert unique_str(rep) == unique_str(arch) and arch_to_index(rep) == iso_representative(arch)
    assert space.arch_id(rep) == f"nb201:{iso_representative(arch):05d}"


@pytest.mark.realdata
@_needs(HW360)
def test_iso_classes_match_hw_nas_bench_360():
    import pandas as pd

    ref = pd.read_parquet(HW360, columns=["arch_idx", "rep_arch_idx"]).drop_duplicates()
    assert len(ref) == 15625 and ref.arch_idx.is_unique
    ours = {i: iso_representative(index_to_arch(i)) for i in range(15625)}
    # same partition, and the same representative (smallest official index of the class)
    diff = [(i, r, ours[i]) for i, r in zip(ref.arch_idx, ref.rep_arch_idx) if ours[i] != r]
    assert not diff, f"{len(diff)} cells differ (index, reference rep, ours), first: {diff[:3]}"


# ---- sampling and mutation -----------------------------------------------------------------------

def test_sample_deterministic_and_covering(space):
    a = [space.sample(random.Random(7)) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    assert space.samples(50, seed=3) == space.samples(50, seed=3)
    rng = random.Random(0)
    draws = [space.sample(rng) for _ in range(3000)]
    # every op appears on every edge (a uniform draw gives each about 600 times)
    for e in range(6):
        counts = Counter(d[e] for d in draws)
        assert set(counts) == set(NB201_OPS) and min(counts.values()) > 450


def test_mutate_changes_exactly_one_edge(space):
    rng = random.Random(1)
    edges_hit = set()
    for arch in space.samples(300, seed=5):
        child = space.mutate(arch, rng)
        diff = [e for e in range(6) if child[e] != arch[e]]
        assert len(diff) == 1 and child[diff[0]] in NB201_OPS
        edges_hit.add(diff[0])
    assert edges_hit == set(range(6))
    arch = index_to_arch(99)
    assert space.mutate(arch, random.Random(3)) == space.mutate(arch, random.Random(3))


def test_sample_needs_rng(space):
    with pytest.raises(TypeError, match="random.Random"):
        space.sample(0)


# ---- computation graphs --------------------------------------------------------------------------

@pytest.mark.parametrize("config", ["cifar10", "cifar100", "imagenet16-120"])
def test_build_cg_validates(space, config):
    archs = [ALL_NONE, ALL_SKIP, ALL_CONV3, ALL_CONV1, ALL_POOL] + space.samples(15, seed=11)
    for arch in archs:
        g = space.build_cg(arch, config).validate()
        cfg = space.config(config)
        assert (g.space, g.config, g.input_shape, g.num_classes) == ("nb201", config, cfg.input_shape, cfg.num_classes)
        assert g.encoding == format_arch_str(arch)
        assert g.node(g.output_node()).out_shape == (cfg.num_classes, 1, 1)


def test_build_cg_structure_all_none(space):
    g = space.build_cg(ALL_NONE)
    ops = Counter(g.ops)
    # 15 cells x (6 zero edges + adds at nodes 2 and 3)
    assert ops["zero"] == 90 and ops["identity"] == 0
    # 30 cell adds + 2 residual adds
    assert ops["add"] == 32
    # stem conv, 2 x (conv_a, conv_b, shortcut 1x1)
    assert ops["conv"] == 7
    assert ops["batch_norm"] == 1 + 2 * 2 + 1
    assert ops["input"] == ops["output"] == ops["linear"] == ops["global_avg_pool"] == 1
    # the n-ary add of node 3 takes 3 inputs, node 2's add takes 2
    preds = g.inputs_of()
    assert sorted(Counter(len(preds[i]) for i, op in enumerate(g.ops) if op == "add").items()) == [(2, 17), (3, 15)]


def test_build_cg_spatial_sizes(space):
    g = space.build_cg(ALL_CONV3, "imagenet16-120")
    sizes = {(g.nodes["c_out"][i], g.nodes["h_out"][i]) for i, op in enumerate(g.ops) if op == "conv"}
    assert sizes == {(16, 16), (32, 8), (64, 4)}


def test_golden_params_hand_computed(space):
    # all-'none' cells have no parameters; what is left is the skeleton:
    #   stem   conv 3*16*9 = 432, BN 2*16 = 32                                  ->    464
    #   res1   conv_a 16*32*9 = 4608, BN 64; conv_b 32*32*9 = 9216, BN 64;
    #          shortcut 1x1 16*32 = 512                                          -> 14,464
    #   res2   conv_a 32*64*9 = 18432, BN 128; conv_b 64*64*9 = 36864, BN 128;
    #          shortcut 32*64 = 2048                                             -> 57,600
    #   lastact BN 128; classifier 64*10 + 10 = 650                              ->    778
    assert space.build_cg(ALL_NONE).params == 464 + 14_464 + 57_600 + 778 == 73_306
    # all-conv3x3 adds 6 x (C*C*9 + 2C) per cell, 5 cells per stage:
    #   C=16: 5*6*(2304+32) = 70,080; C=32: 5*6*(9216+64) = 278,400; C=64: 5*6*(36864+128) = 1,109,760
    assert space.build_cg(ALL_CONV3).params == 73_306 + 70_080 + 278_400 + 1_109_760 == 1_531_546
    # the head only changes with the number of classes: 64*C + C
    assert space.build_cg(ALL_NONE, "cifar100").params == 73_306 - 650 + 6_500 == 79_156
    assert space.build_cg(ALL_NONE, "imagenet16-120").params == 73_306 - 650 + 7_800 == 80_456


def test_nb201_flops_convention(space):
    # NAS-Bench-201 counts only conv and linear multiply-accumulates (+ the linear bias).
    # all-none: stem 432*32*32 = 442,368; each residual block 4608*16*16 (or 18432*8*8) = 1,179,648,
    # 9216*256 (36864*64) = 2,359,296, 512*256 (2048*64) = 131,072; head 640 + 10.
    def conv_linear_flops(g):
        return sum(f for op, f in zip(g.ops, g.nodes["flops"]) if op in ("conv", "linear"))

    assert conv_linear_flops(space.build_cg(ALL_NONE)) == 442_368 + 2 * (1_179_648 + 2_359_296 + 131_072) + 650
    # all-conv3x3 adds 5 cells * 6 convs * C*C*9*H*W = 5*6*2304*1024 per stage (same for each stage)
    assert conv_linear_flops(space.build_cg(ALL_CONV3)) == 7_783_050 + 3 * 5 * 6 * 2304 * 1024


def test_params_range_over_all_archs(space):
    archs = list(space.enumerate())
    params = [space.build_cg(a).params for a in archs]
    assert min(params) == space.build_cg(ALL_NONE).params == 73_306
    assert max(params) == space.build_cg(ALL_CONV3).params == 1_531_546
    # the minimum is exactly the conv-free cells (3 ops on 6 edges: 3**6), the maximum is unique
    no_conv = [p for a, p in zip(archs, params) if not any(op.startswith("nor_conv") for op in a)]
    assert len(no_conv) == 3**6 and set(no_conv) == {73_306}
    assert params.count(73_306) == 3**6 and params.count(1_531_546) == 1


def test_build_cg_accepts_string_and_index(space):
    arch = index_to_arch(5)
    g1, g2, g3 = space.build_cg(arch), space.build_cg(5), space.build_cg(format_arch_str(arch))
    assert (g1.nodes, g1.src, g1.dst) == (g2.nodes, g2.src, g2.dst) == (g3.nodes, g3.src, g3.dst)
    with pytest.raises(EncodingError, match="no network config 'svhn'"):
        space.build_cg(arch, "svhn")


def _torch_module():
    pytest.importorskip("torch")
    try:
        from archbench.graphs.torch_module import to_module
    except ModuleNotFoundError as err:  # written by another part of the project
        if err.name == "archbench.graphs.torch_module":
            pytest.skip("archbench.graphs.torch_module is not available")
        raise
    return to_module


def test_params_match_torch_module(space):
    to_module = _torch_module()
    import torch

    archs = [ALL_NONE, ALL_SKIP, ALL_CONV3, ALL_POOL] + space.samples(4, seed=2)
    for arch in archs:
        g = space.build_cg(arch)
        module = to_module(g)
        assert sum(p.numel() for p in module.parameters()) == g.params, format_arch_str(arch)
    module.eval()
    with torch.no_grad():
        out = module(torch.randn(2, 3, 32, 32))
    assert tuple(out.shape) == (2, 10)


# ---- the CG canonical hash versus the benchmark's classes ---------------------------------------

def _canonical_hash():
    try:
        from archbench.graphs.hashing import canonical_hash
    except ModuleNotFoundError as err:  # written by another part of the project
        if err.name == "archbench.graphs.hashing":
            pytest.skip("archbench.graphs.hashing is not available")
        raise
    return canonical_hash


@pytest.mark.parametrize(
    "a, b, why",
    [
        # x + 0 == x: the benchmark keeps the zero term ("#+..."), the network is the same
        (("nor_conv_3x3", "none", "skip_connect", "none", "none", "skip_connect"),
         ("nor_conv_3x3", "none", "skip_connect", "none", "skip_connect", "none"), "x + 0"),
        # a sum passed on by a skip is not flattened by the benchmark before sorting its terms
        (index_to_arch(26), index_to_arch(3297), "associativity"),
        # a node whose inputs are all zero is zero; the benchmark keys it "#+#" and convolves it
        (("nor_conv_3x3", "none", "none", "avg_pool_3x3", "none", "nor_conv_3x3"),
         ("nor_conv_3x3", "none", "none", "avg_pool_3x3", "none", "nor_conv_1x1"), "zero propagation"),
    ],
)
def test_hash_merges_what_the_benchmark_keeps_apart(space, a, b, why):
    canonical_hash = _canonical_hash()
    assert unique_str(a) != unique_str(b), why
    assert canonical_hash(space.build_cg(a)) == canonical_hash(space.build_cg(b)), why


def test_hash_separates_different_functions(space):
    canonical_hash = _canonical_hash()
    archs = [ALL_NONE, ALL_SKIP, ALL_CONV3, ALL_CONV1, ALL_POOL]
    assert len({canonical_hash(space.build_cg(a)) for a in archs}) == len(archs)
    # the whole network is hashed, so the config (input size, classes) matters
    assert len({canonical_hash(space.build_cg(ALL_CONV3, c)) for c in space.configs}) == 3


@pytest.mark.slow
def test_hash_classes_over_all_archs(space):
    # 5,260 functional classes. The hash merges what the benchmark keeps apart for the three
    # reasons above, and separates what the benchmark merges only where the networks differ in
    # weights: one conv feeding two nodes through skips versus two separately weighted convs have
    # the same NB201 key but not the same parameters (hashing rule 8).
    canonical_hash = _canonical_hash()
    by_hash: dict[str, set[int]] = {}
    by_rep: dict[int, set[str]] = {}
    params_by_rep: dict[int, set[int]] = {}
    for i, arch in enumerate(space.enumerate()):
        graph = space.build_cg(arch)
        h, r = canonical_hash(graph), iso_representative(arch)
        by_hash.setdefault(h, set()).add(r)
        by_rep.setdefault(r, set()).add(h)
        params_by_rep.setdefault(r, set()).add(graph.params)
    assert len(by_rep) == 6466
    split = [r for r, hashes in by_rep.items() if len(hashes) > 1]
    assert split and all(len(params_by_rep[r]) > 1 for r in split)
    assert len(by_hash) == 5260
