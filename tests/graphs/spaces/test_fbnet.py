"""Tests of the FBNet space (archbench.graphs.spaces.fbnet)."""
from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest
import torch

from archbench.errors import EncodingError
from archbench.graphs.spaces import get_space, list_spaces
from archbench.graphs.spaces.fbnet import (
    FBNET_OPS,
    NUM_ARCHS,
    NUM_LAYERS,
    FBNetSpace,
    arch_from_indices,
    format_arch,
    layer_plan,
    MACROS,
    parse_arch,
)
from archbench.graphs.torch_module import to_module

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "fbnet"
ALL_SKIP = (8,) * NUM_LAYERS


@pytest.fixture(scope="module")
def space() -> FBNetSpace:
    return get_space("fbnet")


def _needs(path: Path):
    return pytest.mark.skipif(not path.exists(), reason=f"real data not found at {path} (../shared/data is absent)")


def test_registered(space):
    assert "fbnet" in list_spaces()
    assert space.size() == NUM_ARCHS == 9 ** 22
    assert list(space.configs) == ["cifar100", "imagenet"]
    with pytest.raises(NotImplementedError, match="cannot be enumerated"):
        space.enumerate()


def test_layer_plan():
    assert [c for c, _ in layer_plan(MACROS["cifar100"])] == [16] + [24] * 4 + [32] * 4 + [64] * 4 + [112] * 4 + [184] * 4 + [352]
    assert [i for i, (_, s) in enumerate(layer_plan(MACROS["imagenet"])) if s == 2] == [1, 5, 9, 17]
    assert [i for i, (_, s) in enumerate(layer_plan(MACROS["cifar100"])) if s == 2] == [5, 9, 17]


def test_round_trips(space):
    for arch in space.samples(200, seed=0):
        text = space.format(arch)
        assert space.parse(text) == arch and parse_arch(format_arch(arch)) == arch
        key = "_".join(map(str, arch))
        assert space.coerce(key) == arch_from_indices(key) == arch
        assert space.coerce(list(arch)) == arch
        assert len(space.arch_key(arch)) == NUM_LAYERS
    assert format_arch((0, 1, 2, 3, 4, 5, 6, 7, 8) + (8,) * 13).startswith("k3_e1-k3_e1_g2-k3_e3-k3_e6-k5_e1-k5_e1_g2-k5_e3-k5_e6-skip")


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("k3_e1-skip", "join 22 op names with '-', found 2"),
        ("-".join(["k3_e1"] * 21 + ["k7_e6"]), "unknown FBNet op 'k7_e6' at layer 21"),
        (12, "must be a string"),
    ],
)
def test_parse_errors(text, fragment):
    with pytest.raises(EncodingError) as err:
        parse_arch(text)
    assert fragment in str(err.value)


def test_index_key_and_tuple_errors(space):
    with pytest.raises(EncodingError, match="needs 22 op indices"):
        arch_from_indices("1_2_3")
    with pytest.raises(EncodingError, match="layer 3 must have an op index in 0..8"):
        space.coerce((0, 0, 0, 9) + (0,) * 18)
    with pytest.raises(EncodingError, match="'_'-joined op indices"):
        arch_from_indices("1_a_3")


def test_mutate_changes_one_layer(space):
    rng = random.Random(4)
    for arch in space.samples(50, seed=1):
        child = space.mutate(arch, rng)
        assert sum(a != b for a, b in zip(arch, child)) == 1


def test_all_skip_params_hand_computed(space):
    # stem conv 3->16 3x3 + BN: 432 + 32; skip layers that change shape are 1x1 conv + BN:
    # 16->24: 384 + 48; 24->32: 768 + 64; 32->64: 2,048 + 128; 64->112: 7,168 + 224;
    # 112->184: 20,608 + 368; 184->352: 64,768 + 704; the other 16 skips are identities;
    # head conv 352->1504 + BN: 529,408 + 3,008; linear 1504->100 + bias: 150,500.
    g = space.build_cg(ALL_SKIP).validate()
    assert g.params == 464 + 432 + 832 + 2_176 + 7_392 + 20_976 + 65_472 + 532_416 + 150_500 == 780_660
    assert Counter(g.ops)["identity"] == 16


def test_block_structure(space):
    g = space.build_cg((1,) + ALL_SKIP[1:]).validate()      # k3_e1_g2 as the first layer (16 -> 16)
    convs = [i for i, op in enumerate(g.ops) if op in ("conv", "dwconv")]
    groups = [(g.ops[i], g.nodes["groups"][i], g.nodes["kernel"][i]) for i in convs[1:4]]
    assert groups == [("conv", 2, 1), ("dwconv", 16, 3), ("conv", 2, 1)]
    assert "add" in g.ops                                   # 16 -> 16, stride 1: residual


def test_published_fbnet_c(space):
    # FBNet-C (Wu et al. 2019): 5.5 M parameters on ImageNet.
    g = space.build_cg(space.named("fbnet_c"), "imagenet").validate()
    assert abs(g.params - 5.5e6) / 5.5e6 < 0.02
    with pytest.raises(EncodingError, match="fbnet_a, fbnet_b, fbnet_c"):
        space.named("fbnet_d")


@pytest.mark.parametrize("config, arch", [("cifar100", (7, 1, 5, 8, 0, 3, 2, 6, 4) + (3,) * 13),
                                          ("imagenet", "fbnet_b")])
def test_module_params_and_forward(space, config, arch):
    arch = space.named(arch) if isinstance(arch, str) else arch
    g = space.build_cg(arch, config).validate()
    module = to_module(g, seed=0).eval()
    assert sum(p.numel() for p in module.parameters()) == g.params
    c, h, w = g.input_shape
    with torch.no_grad():
        out = module(torch.randn(1, c, h, w))
    assert out.shape == (1, space.config(config).num_classes) and torch.isfinite(out).all()


@pytest.mark.realdata
@_needs(DATA / "metainfo.pt")
def test_help_op_order_matches_its_names():
    meta = torch.load(DATA / "metainfo.pt", weights_only=True)
    assert meta["dataset"] == "cifar100" and meta["num_classes"] == 100
    for entry in meta["arch"][:500]:
        assert [FBNET_OPS[i] for i in entry["op_idx_list"]] == entry["arch_str"]


@pytest.mark.realdata
@_needs(DATA / "zc_fbnet.json")
def test_params_equal_nasflat_params_proxy(space):
    """nasflat's 'params' proxy was computed on HW-NAS-Bench's CIFAR-100 network: it must equal ours."""
    data = json.loads((DATA / "zc_fbnet.json").read_text())
    assert len(data) == 5000
    for key, record in data.items():
        assert space.build_cg(key).params == record["params"], key
