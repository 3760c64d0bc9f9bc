"""Tests of HAT's SubTransformer space (archbench.graphs.spaces.hat)."""
from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest
import torch

from archbench.errors import EncodingError
from archbench.graphs.hashing import canonical_hash
from archbench.graphs.spaces import get_space, list_spaces
from archbench.graphs.spaces.hat import (
    FEATURE_COLUMNS,
    NUM_ARCHS,
    TASKS,
    HatArch,
    HatSpace,
    determined,
    embedding_params,
    features,
    format_features,
    from_features,
    from_hat_config,
)
from archbench.graphs.torch_module import to_module

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "hat_transformer"
RPI_28_4 = "HAT_wmt14ende_raspberrypi@6.9s_bleu@28.4"
SMALL = HatArch(512, 512, (512,) * 6, (2,) * 6, (512,), (2,), (2,), (1,))


@pytest.fixture(scope="module")
def space() -> HatSpace:
    return get_space("hat")


def test_registered(space):
    assert "hat" in list_spaces()
    assert list(space.configs) == ["wmt14ende", "wmt14enfr", "wmt19ende", "iwslt14deen"]
    assert space.size() == NUM_ARCHS == 4 * 12 ** 6 * sum(108 ** n for n in range(1, 7))
    assert space.config("iwslt14deen").input_shape == (1, 23, 1) and space.config("iwslt14deen").num_classes == 6632
    with pytest.raises(NotImplementedError, match="cannot be enumerated"):
        space.enumerate()


def test_round_trips_and_coercions(space):
    for arch in space.samples(100, seed=0):
        text = space.format(arch)
        assert space.parse(text) == arch and space.coerce(text) == arch and space.coerce(tuple(arch)) == arch
    published = space.named(RPI_28_4)
    assert space.format(published) == ("e512:3072h8,3072h4,3072h8,3072h8,3072h8,3072h8|"
                                       "d512:2048h8x4a1,2048h8x8a2,3072h8x8a2,3072h4x8a2,2048h8x8a1")
    # HAT's own config dict (the yml's *-all-subtransformer lists; arbitrary attention in HAT's codes)
    hat_config = {"encoder": {"encoder_embed_dim": 512, "encoder_layer_num": 6, "encoder_ffn_embed_dim": [3072] * 6,
                              "encoder_self_attention_heads": [8, 4, 8, 8, 8, 8]},
                  "decoder": {"decoder_embed_dim": 512, "decoder_layer_num": 5,
                              "decoder_ffn_embed_dim": [2048, 2048, 3072, 3072, 2048, 1024],
                              "decoder_self_attention_heads": [8, 8, 8, 4, 8, 2],
                              "decoder_ende_attention_heads": [4, 8, 8, 8, 8, 2],
                              "decoder_arbitrary_ende_attn": [-1, 1, 1, 1, -1, 2]}}
    assert from_hat_config(hat_config) == published == space.coerce(hat_config)


@pytest.mark.parametrize("text, match", [
    ("e512:3072h8|d512:2048h8x4a1", "one value per layer"),
    ("e512:3072h8,3072h8,3072h8,3072h8,3072h8,3072h8|d512:2048h8x4", "2048h8x4a1"),
    ("e512:3072h8,3072h8,3072h8,3072h8,3072h8,3072h3|d512:2048h8x4a1", "heads .* must be one of"),
    ("e768:3072h8,3072h8,3072h8,3072h8,3072h8,3072h8|d512:2048h8x4a1", "encoder embed dim"),
    ("d512:2048h8x4a1", "must look like"),
    ("512,6,1877.3333333333333,6.0,640,3,1706.6666666666667,6.0,2.6666666666666665,9.0", "cannot be reached"),
    ("512,6,1877.1,6.0,640,3,1706.6666666666667,6.0,2.6666666666666665,1.0", "not a whole sum"),
    ("512,5,1877.3333333333333,6.0,640,3,1706.6666666666667,6.0,2.6666666666666665,1.0", "encoder_layer_num"),
])
def test_malformed_encodings_say_what_is_wrong(space, text, match):
    with pytest.raises(EncodingError, match=match):
        space.parse(text)


def test_feature_rows_parse_to_their_canonical_representative(space):
    row = "512,6,1877.3333333333333,6.0,640,3,1706.6666666666667,6.0,2.6666666666666665,1.3333333333333333"
    rep = space.parse(row)
    # ffn sum 11264 = 512 x 22 over six layers from {6, 4, 2, 1} x 512: the least-variance split is 4,4,4,4,4,2;
    # heads sum 36 from {8, 4, 2}: 8,8,8,4,4,4 (8,8,8,8,2,2 varies more)
    assert rep.encoder_ffn == (2048,) * 5 + (1024,) and rep.encoder_heads == (8, 8, 8, 4, 4, 4)
    assert rep.decoder_ffn == (2048, 2048, 1024) and rep.decoder_self_heads == (8, 8, 2)
    assert rep.decoder_cross_heads == (4, 2, 2) and rep.decoder_ende_layers == (2, 1, 1)
    assert format_features(features(rep)) == row
    assert not determined(features(rep))
    assert determined(features(SMALL))  # every field at its smallest choice: one decomposition


def test_representatives_keep_params_and_flops(space):
    rng = random.Random(1)
    for arch in space.samples(20, seed=3):
        rep = space.representative(arch)
        assert space.representative(rep) == rep and features(rep) == features(arch)
        # params are linear in the per-layer values; FLOPs too, once all cross heads are equal
        # (the only non-linear term is cross heads x attended positions in a layer's softmax)
        same_cross = arch._replace(decoder_cross_heads=(4,) * arch.decoder_layers)
        g, r = space.build_cg(same_cross), space.build_cg(space.representative(same_cross))
        assert (g.params, g.flops) == (r.params, r.flops)
        assert space.build_cg(arch).params == space.build_cg(rep).params
        shuffled = list(zip(arch.encoder_ffn, arch.encoder_heads))
        rng.shuffle(shuffled)
        assert space.representative(arch._replace(encoder_ffn=tuple(f for f, _ in shuffled),
                                                  encoder_heads=tuple(h for _, h in shuffled))) == rep


def test_sample_and_mutate_are_seeded_and_local(space):
    assert space.samples(30, seed=7) == space.samples(30, seed=7)
    seen_depths = set()
    for arch in space.samples(200, seed=2):
        assert space.coerce(arch) == arch  # valid
        seen_depths.add(arch.decoder_layers)
        child = space.mutate(arch, random.Random(5))
        assert child != arch and space.coerce(child) == child
        assert child == space.mutate(arch, random.Random(5))
        changed = [f for f in HatArch._fields if getattr(child, f) != getattr(arch, f)]
        assert len(changed) == 1 or child.decoder_layers != arch.decoder_layers
    assert seen_depths == set(range(1, 7))
    with pytest.raises(TypeError, match="random.Random"):
        space.sample(3)


def test_published_subtransformer_params_match_hat(space):
    # HAT's "model size" leaves the embeddings out (train.py: "SubTransformer size (without
    # embedding weights)"); by hand from HAT's modules with d = 512, qkv_dim = 512: an encoder
    # layer with FFN 3072 has 4,201,984 parameters, a decoder layer 4,204,032 (FFN 2048) or
    # 5,253,632 (FFN 3072): 6 x 4,201,984 + 3 x 4,204,032 + 2 x 5,253,632 = 48,331,264, the
    # 48.3M HAT's paper reports for this model (WMT'14 En-De, Raspberry Pi, BLEU 28.4).
    graph = space.build_cg(space.named(RPI_28_4))
    graph.validate()
    assert graph.params - embedding_params(graph) == 48_331_264
    assert round((graph.params - embedding_params(graph)) / 1e6, 1) == 48.3
    assert embedding_params(graph) == 32768 * 512  # one shared table: encoder, decoder and output


def test_embeddings_per_task_and_sharing(space):
    arch = SMALL._replace(encoder_embed_dim=640)
    for task in TASKS.values():
        graph = space.build_cg(arch, task.name)
        graph.validate()
        assert graph.num_classes == task.tgt_vocab and graph.input_shape == (1, task.seq_len, 1)
        if task.shared_embeddings:  # one table of max(e, d) = 640 columns
            assert embedding_params(graph) == task.src_vocab * 640
        else:  # source table, target table, output projection
            assert embedding_params(graph) == task.src_vocab * 640 + 2 * task.tgt_vocab * 512
    wider_decoder = space.build_cg(SMALL._replace(decoder_embed_dim=640))
    assert embedding_params(wider_decoder) == 32768 * 640


def test_hand_computed_differences(space):
    base = space.build_cg(SMALL)
    # heads only split the 512-wide projections: no params; softmax FLOPs = heads x 30 x 30 per attention
    more_heads = space.build_cg(SMALL._replace(encoder_heads=(8,) * 6))
    assert more_heads.params == base.params and more_heads.flops - base.flops == 6 * (8 - 2) * 30 * 30
    # FFN 512 -> 1024 in one encoder layer: 2 x 512 x 512 weights + 512 biases; x 30 positions + 512 x 30 ReLUs
    wider = space.build_cg(SMALL._replace(encoder_ffn=(1024,) + (512,) * 5))
    assert wider.params - base.params == 2 * 512 * 512 + 512
    assert wider.flops - base.flops == 30 * (2 * 512 * 512 + 512) + 30 * 512
    # attending to 3 encoder layers instead of 1: K and V over 90 positions, scores and mix over 90 keys,
    # and a softmax of 2 heads x 30 x 90
    three = space.build_cg(SMALL._replace(decoder_ende_layers=(3,)))
    assert three.params == base.params
    assert three.flops - base.flops == 2 * 60 * (512 * 512 + 512) + 2 * 30 * 60 * 512 + 2 * 30 * 60
    assert "concat_seq" in three.ops and "concat_seq" not in base.ops


def test_executable_module_matches_the_graph(space):
    torch.set_num_threads(1)
    for arch, config in ((SMALL._replace(decoder_ende_layers=(3,)), "iwslt14deen"),
                         (SMALL._replace(encoder_embed_dim=640, decoder_ffn=(1024,)), "wmt14ende")):
        graph = space.build_cg(arch, config)
        module = to_module(graph, seed=0).eval()
        assert sum(p.numel() for p in module.parameters()) == graph.params
        tokens = torch.randint(4, 100, (1, 1, graph.input_shape[1], 1)).float()
        with torch.no_grad():
            logits = module(tokens)
        assert logits.shape == (1, graph.input_shape[1], graph.num_classes) and torch.isfinite(logits).all()


def test_graphs_of_different_archs_hash_differently(space):
    archs = space.samples(50, seed=11)
    hashes = {canonical_hash(space.build_cg(a)) for a in archs}
    assert len(hashes) == len(set(archs))


@pytest.mark.realdata
def test_every_hat_csv_row_has_a_representative():
    if not DATA.is_dir():
        pytest.skip(f"real data not found at {DATA} (../shared/data is absent)")
    files = sorted(DATA.glob("*_all.csv"))
    assert len(files) == 8
    exact = 0
    for path in files:
        frame = pd.read_csv(path)
        for row in frame[list(FEATURE_COLUMNS)].itertuples(index=False):
            rep = from_features(tuple(map(float, row)))
            assert features(rep) == pytest.approx(tuple(row), rel=1e-12)
            exact += determined(tuple(row))
    assert exact == 11  # rows whose means pin down every layer (the module docstring's count)
