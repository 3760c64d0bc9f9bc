"""Tests of the Once-for-All MobileNetV3 space (archbench.graphs.spaces.ofa_mbv3)."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from archbench.errors import EncodingError
from archbench.graphs.spaces import get_space, list_spaces
from archbench.graphs.spaces.ofa_mbv3 import (
    NUM_NETWORKS,
    OFAArch,
    OFAMobileNetV3Space,
    active_blocks,
    check_arch,
    format_arch,
    make_divisible,
    parse_arch,
)
from archbench.graphs.torch_module import to_module

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "ofa_mbv3"


@pytest.fixture(scope="module")
def space() -> OFAMobileNetV3Space:
    return get_space("ofa_mbv3")


def test_registered(space):
    assert "ofa_mbv3" in list_spaces()
    assert space.size() == NUM_NETWORKS == (9 ** 2 + 9 ** 3 + 9 ** 4) ** 5 * 25
    with pytest.raises(NotImplementedError, match="cannot be enumerated"):
        space.enumerate()


def test_make_divisible_hand_computed():
    assert make_divisible(60) == 64       # int(64) // 8 * 8
    assert make_divisible(18) == 24       # 16 would drop more than 10 % below 18
    assert make_divisible(240 // 4) == 64 and make_divisible(3) == 8


def test_round_trips_and_readable_form(space):
    for arch in space.samples(200, seed=0):
        assert space.parse(space.format(arch)) == arch
    a = space.max_net(176)
    assert format_arch(a) == "ks=" + ",".join(["7"] * 20) + ";e=" + ",".join(["6"] * 20) + ";d=4,4,4,4,4;r=176"
    help_entry = {"ks": list(a.ks), "e": list(a.e), "d": list(a.d), "r": 176}
    assert space.coerce(help_entry) == a and space.coerce(tuple(a)) == a


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("ks=3;e=3;d=2", "'ks=...;e=...;d=...;r=...' in this order"),
        ("e=" + ",".join(["3"] * 20) + ";ks=" + ",".join(["3"] * 20) + ";d=2,2,2,2,2;r=128", "in this order"),
        ("ks=" + ",".join(["3"] * 19) + ";e=" + ",".join(["3"] * 20) + ";d=2,2,2,2,2;r=128", "'ks' needs 20 values"),
        ("ks=" + ",".join(["9"] * 20) + ";e=" + ",".join(["3"] * 20) + ";d=2,2,2,2,2;r=128", "'ks'[0] must be one of [3, 5, 7]"),
        ("ks=" + ",".join(["3"] * 20) + ";e=" + ",".join(["3"] * 20) + ";d=2,2,2,2,5;r=128", "'d'[4] must be one of [2, 3, 4]"),
        ("ks=" + ",".join(["3"] * 20) + ";e=" + ",".join(["3"] * 20) + ";d=2,2,2,2,2;r=130", "'r'[0] must be one of [128"),
        ("ks=" + ",".join(["3"] * 20) + ";e=" + ",".join(["x"] * 20) + ";d=2,2,2,2,2;r=128", "comma-separated integers"),
        ("ks=" + ",".join(["3"] * 20) + ";e=" + ",".join(["3"] * 20) + ";d=2,2,2,2,2;r=128,132", "one resolution"),
    ],
)
def test_parse_errors(text, fragment):
    with pytest.raises(EncodingError) as err:
        parse_arch(text)
    assert fragment in str(err.value)


def test_dict_missing_key():
    with pytest.raises(EncodingError, match="missing \\['r'\\]"):
        check_arch({"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5})


def test_active_blocks_and_mutation(space):
    a = OFAArch((3,) * 20, (4,) * 20, (2, 3, 4, 2, 2), 224)
    assert [s for s, _, _ in active_blocks(a)] == [0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 4, 4]
    rng = random.Random(0)
    for arch in space.samples(100, seed=5):
        child = space.mutate(arch, rng)
        assert child != arch
        # a mutation is one the network feels: never only an unused block's setting
        assert active_blocks(child) != active_blocks(arch) or child.r != arch.r


def test_max_net_matches_published_size(space):
    # OFA's largest MobileNetV3 sub-network (k7, e6, d4): 7.7 M parameters.
    g = space.build_cg(space.max_net()).validate()
    assert abs(g.params - 7.7e6) / 7.7e6 < 0.01
    assert g.input_shape == (3, 224, 224)
    # squeeze-and-excitation in stages 2, 4, 5 (4 blocks each): a mul of the map by its C x 1 x 1 gate
    muls = [i for i, op in enumerate(g.ops) if op == "mul"]
    assert len(muls) == 12 and all(g.nodes["h_out"][i] > 1 for i in muls)


def test_module_params_and_forward(space):
    for arch in (space.min_net(128), space.sample(random.Random(7))):
        g = space.build_cg(arch).validate()
        module = to_module(g, seed=0).eval()
        assert sum(p.numel() for p in module.parameters()) == g.params
        with torch.no_grad():
            out = module(torch.randn(1, 3, arch.r, arch.r))
        assert out.shape == (1, 1000) and torch.isfinite(out).all()


def test_resolution_changes_flops_not_params(space):
    small, large = space.build_cg(space.max_net(128)), space.build_cg(space.max_net(224))
    assert small.params == large.params and small.flops < large.flops


@pytest.mark.realdata
def test_help_archs_parse(space):
    from archbench.benchmarks.help_mobile import OFA_ARCH_GLOBALS, load_torch_zip_pickle

    path = DATA / "ofa_archs.pt"
    if not path.exists():
        pytest.skip(f"real data not found at {path} (../shared/data is absent)")
    data = load_torch_zip_pickle(path, OFA_ARCH_GLOBALS)
    archs = [space.coerce(entry) for entry in data["arch"]]
    assert len(set(archs)) == 5000
    assert {a.r for a in archs} == set(range(128, 225, 4))
    assert all(space.parse(space.format(a)) == a for a in archs)
