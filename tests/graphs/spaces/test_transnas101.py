"""Tests of the TransNAS-Bench-101 spaces (archbench.graphs.spaces.transnas101)."""
from __future__ import annotations

import json
import random
import zipfile
from collections import Counter
from pathlib import Path

import pytest
import torch

from archbench.errors import EncodingError
from archbench.graphs.spaces import get_space, list_spaces
from archbench.graphs.spaces.transnas101 import (
    MICRO_OPS,
    NUM_MACRO,
    NUM_MICRO,
    TransNAS101MacroSpace,
    TransNAS101MicroSpace,
    check_macro,
    format_macro,
    format_micro,
    macro_from_naslib,
    micro_from_naslib,
    parse_macro,
    parse_micro,
)
from archbench.graphs.torch_module import to_module

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "transnas101"


@pytest.fixture(scope="module")
def micro() -> TransNAS101MicroSpace:
    return get_space("transnas101_micro")


@pytest.fixture(scope="module")
def macro() -> TransNAS101MacroSpace:
    return get_space("transnas101_macro")


def _needs(path: Path):
    return pytest.mark.skipif(not path.exists(), reason=f"real data not found at {path} (../shared/data is absent)")


# ---- registry, enumeration, encodings -------------------------------------------------------------

def test_registered(micro, macro):
    assert {"transnas101_micro", "transnas101_macro"} <= set(list_spaces())
    assert micro.size() == NUM_MICRO == 4096 and macro.size() == NUM_MACRO == 3256
    assert list(micro.configs) == ["class_scene", "class_object", "room_layout"] == list(macro.configs)
    assert micro.config().input_shape == (3, 256, 256)
    assert [micro.config(c).num_classes for c in micro.configs] == [47, 75, 9]


def test_enumerate_micro_all_distinct_and_round_trip(micro):
    archs = list(micro.enumerate())
    assert len(archs) == len(set(archs)) == 4096
    keys = {micro.arch_key(a) for a in archs}
    assert len(keys) == 4096
    for arch in archs:
        text = micro.format(arch)
        assert micro.parse(text) == arch and parse_micro(format_micro(arch)) == arch


def test_enumerate_macro_counts_and_constraints(macro):
    archs = list(macro.enumerate())
    assert len(archs) == len(set(archs)) == 3256
    for arch in archs:
        assert macro.parse(macro.format(arch)) == arch
        assert 4 <= len(arch) <= 6
        assert 1 <= sum(c in (3, 4) for c in arch) <= 4 and 1 <= sum(c in (2, 4) for c in arch) <= 3
    # length 4 by hand: 4^4 = 256, minus no halving (codes 1/2 only: 16), minus no doubling (codes
    # 1/3 only: 16), plus 1111 removed twice, minus 4 doublings (codes 2/4 only, 15 of them with a 4)
    assert Counter(len(a) for a in archs)[4] == 256 - 16 - 16 + 1 - 15 == 210


def test_string_layout_matches_the_benchmark_readme():
    # "64-41414-1_02_333": node1 = skip(node0); node2 = none(node0) + conv1x1(node1);
    # node3 = conv3x3 of nodes 0, 1, 2.
    arch = parse_micro("64-41414-1_02_333")
    assert arch == (1, 0, 2, 3, 3, 3)
    assert [MICRO_OPS[c] for c in arch] == ["skip_connect", "none", "conv_1x1", "conv_3x3", "conv_3x3", "conv_3x3"]
    assert parse_macro("64-1234-basic") == (1, 2, 3, 4) and format_macro((1, 2, 3, 4)) == "64-1234-basic"


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("64-41414", "3 '-'-separated parts"),
        ("32-41414-1_02_333", "base channels must be 64"),
        ("64-4141-1_02_333", "micro skeleton must be '41414'"),
        ("64-41414-basic", "belongs to the macro space"),
        ("64-41414-1_02_33", "groups of 1, 2 and 3 op digits"),
        ("64-41414-102333", "groups of 1, 2 and 3 op digits"),
        ("64-41414-1_02_334", "op digits must be 0..3"),
        (41414, "must be a string"),
    ],
)
def test_parse_micro_errors(text, fragment):
    with pytest.raises(EncodingError) as err:
        parse_micro(text)
    assert fragment in str(err.value)


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("64-1234-1_02_333", "must end in '-basic'"),
        ("64-12a4-basic", "digits 1..4"),
        ("64-1254-basic", "module codes must be 1..4"),
        ("64-124-basic", "4..6 modules"),
        ("64-1234123-basic", "4..6 modules"),
        ("64-1122-basic", "halve the resolution 1..4 times"),
        ("64-1133-basic", "double the channels 1..3 times"),
        ("64-4444-basic", "double the channels 1..3 times"),
    ],
)
def test_parse_macro_errors(text, fragment):
    with pytest.raises(EncodingError) as err:
        parse_macro(text)
    assert fragment in str(err.value)


def test_naslib_keys():
    assert micro_from_naslib("(1, 0, 0, 2, 1, 0)") == (1, 0, 0, 2, 1, 0)
    assert macro_from_naslib("(1, 2, 4, 2, 0, 0)") == (1, 2, 4, 2)
    assert macro_from_naslib((4, 1, 1, 1, 1, 2)) == (4, 1, 1, 1, 1, 2)
    with pytest.raises(EncodingError, match="pad with zeros only at the end"):
        macro_from_naslib("(1, 0, 4, 2, 0, 0)")
    with pytest.raises(EncodingError, match="edge 2 .* code in 0..3"):
        micro_from_naslib("(1, 0, 4, 2, 1, 0)")
    with pytest.raises(EncodingError, match="tuple of 6 ints"):
        micro_from_naslib("(1, 0, 2)")
    with pytest.raises(EncodingError, match="tuple of 6 ints"):
        micro_from_naslib("not a tuple")


def test_coerce_accepts_naslib_and_tuples(micro, macro):
    assert micro.coerce("(3, 3, 3, 3, 3, 3)") == micro.coerce("64-41414-3_33_333") == (3,) * 6
    assert macro.coerce("(4, 1, 1, 1, 0, 0)") == macro.coerce([4, 1, 1, 1]) == (4, 1, 1, 1)
    assert micro.arch_key((1, 0, 2, 3, 3, 3)) == "1_02_333" and macro.arch_key((1, 2, 3, 4)) == "1234"
    assert micro.arch_id((1, 0, 2, 3, 3, 3)) == "transnas101_micro:1_02_333"
    with pytest.raises(EncodingError):
        micro.coerce((1, 0, 2, 3, 3, True))


# ---- sampling and mutation ------------------------------------------------------------------------

def test_sample_and_mutate_micro(micro):
    a = micro.samples(50, seed=3)
    assert a == micro.samples(50, seed=3) and len(set(a)) > 40
    rng = random.Random(0)
    for arch in a:
        child = micro.mutate(arch, rng)
        assert sum(x != y for x, y in zip(arch, child)) == 1
    with pytest.raises(TypeError, match="random.Random"):
        micro.sample(0)


def test_sample_and_mutate_macro(macro):
    rng = random.Random(1)
    all_archs = set(macro.enumerate())
    for _ in range(100):
        arch = macro.sample(rng)
        assert arch in all_archs
        child = macro.mutate(arch, rng)
        assert child != arch and child in all_archs and abs(len(child) - len(arch)) <= 1
        if len(child) == len(arch):
            assert sum(x != y for x, y in zip(arch, child)) == 1
    # (4, 1, 1, 1): every substitution that keeps a halving and a doubling, plus insertions and deletions
    neighbours = macro.neighbours((4, 1, 1, 1))
    assert (4, 1, 1) not in neighbours                      # 3 modules: too short
    assert (2, 1, 1, 1) not in neighbours                   # no halving left
    assert (4, 2, 1, 1) in neighbours and (4, 1, 3, 1) in neighbours
    assert (4, 1, 1, 1, 1) in neighbours and (1, 4, 1, 1, 1) in neighbours


# ---- whole-network graphs -------------------------------------------------------------------------

def test_macro_params_hand_computed(macro):
    # stem: conv 3->32 3x3 (864) + BN (64) + conv 32->64 3x3 (18,432) + BN (128)            = 19,488
    # module '1' at 64 ch: 2 blocks x 2 x (conv 64->64 3x3 36,864 + BN 128)                 = 147,968
    # module '4' 64->128, stride 2: block 1 = 73,728 + 256 + 147,456 + 256 + shortcut 8,192 + 256
    #   = 230,144; block 2 = 2 x (147,456 + 256) = 295,424                                  = 525,568
    # head: linear 128 -> 47 with bias                                                      = 6,063
    g = macro.build_cg("64-1114-basic").validate()
    assert g.params == 19_488 + 3 * 147_968 + 525_568 + 6_063 == 995_023
    assert g.input_shape == (3, 256, 256) and g.num_classes == 47 and g.config == "class_scene"
    assert macro.build_cg("64-1114-basic", "room_layout").params == 995_023 - 6_063 + 128 * 9 + 9


def test_micro_graph_structure(micro):
    g = micro.build_cg("64-41414-0_00_000").validate()
    ops = Counter(g.ops)
    # 10 cells x 6 zero edges; node 2 and node 3 sums: 10 x 2 adds
    assert ops["zero"] == 60 and ops["add"] == 20
    g = micro.build_cg("64-41414-1_11_111").validate()
    # the 3 skip edges leaving node 0 of each of the 3 stride-2 cells are factorized reduces
    # (ReLU, 2 convs, concat, BN); the other 60 - 9 skips are identities
    assert Counter(g.ops)["concat"] == 9 and Counter(g.ops)["identity"] == 60 - 9
    shapes = {(g.nodes["c_out"][i], g.nodes["h_out"][i]) for i in range(g.num_nodes) if g.ops[i] == "add"}
    assert shapes == {(128, 32), (256, 16), (512, 8)}


@pytest.mark.parametrize("space_name, arch", [("transnas101_micro", "64-41414-1_02_333"),
                                              ("transnas101_micro", "64-41414-3_10_203"),
                                              ("transnas101_macro", "64-1234-basic")])
def test_module_params_and_forward(space_name, arch):
    g = get_space(space_name).build_cg(arch).validate()
    module = to_module(g, seed=0)
    assert sum(p.numel() for p in module.parameters()) == g.params
    with torch.no_grad():
        out = module.eval()(torch.randn(1, 3, 256, 256))
    assert out.shape == (1, 47) and torch.isfinite(out).all()


# ---- real data -------------------------------------------------------------------------------------

@pytest.mark.realdata
@_needs(DATA / "transnas101_micro_all_zen.zip")
def test_zen_zip_covers_the_whole_micro_space(micro):
    with zipfile.ZipFile(DATA / "transnas101_micro_all_zen.zip") as z:
        members = [m for m in z.namelist() if "--class_object--" in m]
        keys = [r["arch"] for m in members for r in json.loads(z.read(m))]
    assert len(keys) == 4096 and {micro_from_naslib(k) for k in keys} == set(micro.enumerate())


def _naslib_head(channels: int, task: str) -> int:
    # NASLib's zero-cost models use 63 scene and 100 object classes (TransNAS-Bench-101's configs: 47, 75).
    classes = {"class_scene": 63, "class_object": 100, "room_layout": 9}[task]
    return channels * classes + classes


@pytest.mark.realdata
@pytest.mark.parametrize("kind", ["micro", "macro"])
def test_encoder_params_equal_naslib_params(kind):
    """NASLib's 'params' proxy (millions, 6 decimals) is the benchmark network: encoder + its head."""
    path = DATA / f"naslib_zc_transbench101_{kind}.json"
    if not path.exists():
        pytest.skip(f"real data not found at {path} (../shared/data is absent)")
    space = get_space(f"transnas101_{kind}")
    data = json.loads(path.read_text())
    for task in ("class_scene", "class_object", "room_layout"):
        for key, record in data[task].items():
            g = space.build_cg(space.coerce(key), task)
            linear = g.ops.index("linear")
            encoder = g.params - g.nodes["params"][linear]
            assert encoder + _naslib_head(g.nodes["c_in"][linear], task) == round(record["params"]["score"] * 1e6), key
