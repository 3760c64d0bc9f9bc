"""Tests of the DARTS / NAS-Bench-301 search space (archbench.graphs.spaces.darts)."""
from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from archbench.errors import EncodingError
from archbench.graphs.spaces import get_space, list_spaces
from archbench.graphs.spaces.darts import (
    CONFIGS,
    DARTS_OPS,
    NASLIB_OPS,
    SEARCH_OPS,
    DartsArch,
    DartsNetworkConfig,
    DartsSpace,
    build_network,
    canonical_arch,
    check_arch,
    format_arch,
    format_compact,
    num_archs,
    parse_arch,
)

# DARTS_V2 from the DARTS repository's genotypes.py (second-order DARTS, the paper's CIFAR-10 cell).
DARTS_V2 = ("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
            "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
            "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
            "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], "
            "reduce_concat=[2, 3, 4, 5])")
# A NASLib compact string and the Genotype it stands for (op codes: 0 max, 1 avg, 2 skip, 3 sep3, 4 sep5, 5 dil3, 6 dil5).
COMPACT = ("[[(0, 0), (1, 5), (1, 1), (0, 1), (1, 3), (0, 3), (1, 3), (3, 2)], "
           "[(1, 0), (0, 2), (1, 3), (0, 3), (3, 0), (0, 1), (2, 0), (3, 6)]]")
COMPACT_GENOTYPE = (
    "Genotype(normal=[('max_pool_3x3', 0), ('dil_conv_3x3', 1), ('avg_pool_3x3', 1), ('avg_pool_3x3', 0), "
    "('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 3)], normal_concat=range(2, 6), "
    "reduce=[('max_pool_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('max_pool_3x3', 3), "
    "('avg_pool_3x3', 0), ('max_pool_3x3', 2), ('dil_conv_5x5', 3)], reduce_concat=range(2, 6))")


@pytest.fixture(scope="module")
def space() -> DartsSpace:
    return get_space("darts")


def _genotype(normal, reduce, concat="range(2, 6)") -> str:
    pairs = lambda cell: ", ".join(f"({op!r}, {i})" for op, i in cell)  # noqa: E731
    return f"Genotype(normal=[{pairs(normal)}], normal_concat={concat}, reduce=[{pairs(reduce)}], reduce_concat={concat})"


# ---- registry, encodings ---------------------------------------------------------------------------

def test_registered_and_configs(space):
    assert "darts" in list_spaces() and isinstance(space, DartsSpace) and space.name == "darts"
    assert list(space.configs) == ["nb301", "darts", "pt_darts"] and space.default_config == "nb301"
    nb301, darts = space.config("nb301"), space.config("darts")
    assert (nb301.init_channels, nb301.layers, nb301.pool_bn) == (32, 8, False)
    assert (darts.init_channels, darts.layers, darts.pool_bn) == (36, 20, False)
    assert space.config("pt_darts").pool_bn
    with pytest.raises(NotImplementedError):
        space.enumerate()
    # 1 * 3 * 6 * 10 unordered input pairs per cell, 7 ops on each of 8 edges, two cells.
    assert space.size() == num_archs() == (180 * 7 ** 8) ** 2


def test_op_tables():
    assert NASLIB_OPS == ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
                          "dil_conv_3x3", "dil_conv_5x5")
    assert set(DARTS_OPS) == set(NASLIB_OPS) | {"none"} and SEARCH_OPS == NASLIB_OPS


def test_parse_format_round_trip_and_canonical_string(space):
    arch = space.parse(DARTS_V2)
    assert isinstance(arch, DartsArch) and len(arch.normal) == len(arch.reduce) == 8
    assert arch.normal[7] == ("dil_conv_3x3", 2) and arch.reduce[0] == ("max_pool_3x3", 0)
    text = space.format(arch)
    # the canonical form is DARTS's own repr (concat as range(2, 6)) and parses back to the same value
    assert text == DARTS_V2.replace("[2, 3, 4, 5]", "range(2, 6)")
    assert space.parse(text) == arch and format_arch(parse_arch(text)) == text


def test_compact_encoding_both_ways(space):
    arch = space.parse(COMPACT)
    assert arch == space.parse(COMPACT_GENOTYPE)
    assert format_compact(arch) == COMPACT and space.format(arch) == COMPACT_GENOTYPE
    # the tuple-of-tuples form NASLib also uses
    assert space.parse(COMPACT.replace("[[", "((").replace("]]", "))").replace("], [", "), (")) == arch
    with pytest.raises(EncodingError, match="op 'none' in the normal cell has no NASLib compact code"):
        format_compact(check_arch(((("none", 0),) + arch.normal[1:], arch.reduce)))


def test_parse_accepts_nested_cells_and_whitespace(space):
    arch = space.parse(DARTS_V2)
    cells = [[list(c[2 * k:2 * k + 2]) for k in range(4)] for c in arch]
    nested = (f"  Genotype(normal={cells[0]!r},\n normal_concat=range(2, 6),\n"
              f" reduce={cells[1]!r}, reduce_concat=range(2, 6))\n")
    assert space.parse(nested) == arch
    # positional fields (a namedtuple call) are accepted too
    positional = f"Genotype({list(arch.normal)!r}, [2, 3, 4, 5], {list(arch.reduce)!r}, range(2, 6))"
    assert space.parse(positional) == arch


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("", "could not parse"),
        ("Genotype(normal=[('sep_conv_3x3', 0)", "could not parse"),
        (DARTS_V2 + " junk", "could not parse"),
        (DARTS_V2 + "; import os", "could not parse"),
        (DARTS_V2.replace("Genotype(", "__import__('os').system(", 1), "expected a call of Genotype"),
        ("42", "found a Constant expression"),
        (DARTS_V2.replace("'sep_conv_3x3', 0", "'conv_7x1_1x7', 0", 1), "unknown DARTS op 'conv_7x1_1x7'.*expected one of: none"),
        (_genotype([("sep_conv_3x3", 0)] * 6, [("sep_conv_3x3", 0), ("sep_conv_3x3", 1)] * 4), "normal cell must have 8 .* found 6"),
        (_genotype([("sep_conv_3x3", 0), ("sep_conv_3x3", 1)] * 4 + [("skip_connect", 0), ("skip_connect", 1)],
                   [("sep_conv_3x3", 0), ("sep_conv_3x3", 1)] * 4), "found 10"),
        (_genotype([("sep_conv_3x3", 0), ("sep_conv_3x3", 2)] + [("sep_conv_3x3", 0), ("sep_conv_3x3", 1)] * 3,
                   [("sep_conv_3x3", 0), ("sep_conv_3x3", 1)] * 4), "node 2 input index must be in 0..1.*found 2"),
        (_genotype([("sep_conv_3x3", 0), ("sep_conv_3x3", 1)] * 3 + [("sep_conv_3x3", 0), ("sep_conv_3x3", 6)],
                   [("sep_conv_3x3", 0), ("sep_conv_3x3", 1)] * 4), "node 5 input index must be in 0..4.*found 6"),
        (_genotype([("sep_conv_3x3", 0), ("sep_conv_3x3", 1)] * 4,
                   [("sep_conv_3x3", 1), ("sep_conv_3x3", 1)] * 4), "reduce cell node 2 must take two distinct inputs"),
        (_genotype([("sep_conv_3x3", 0), ("sep_conv_3x3", 1)] * 4, [("sep_conv_3x3", 0), ("sep_conv_3x3", 1)] * 4,
                   concat="range(1, 6)"), "normal_concat must be range\\(2, 6\\) or \\[2, 3, 4, 5\\].*found range\\(1, 6\\)"),
        (DARTS_V2.replace("reduce_concat=[2, 3, 4, 5]", "reduce_concat=[2, 3, 4, 5], extra=1"), "unknown Genotype field 'extra'"),
        (DARTS_V2.replace(", reduce_concat=[2, 3, 4, 5]", ""), "lacks field\\(s\\) reduce_concat"),
        (DARTS_V2.replace("('sep_conv_3x3', 0)", "('sep_conv_3x3', '0')", 1), "must end with an integer input index"),
        (DARTS_V2.replace("('sep_conv_3x3', 0)", "(sep_conv_3x3, 0)", 1), "must start with an op name string"),
        (DARTS_V2.replace("('sep_conv_3x3', 0)", "('sep_conv_3x3', True)", 1), "must end with an integer input index"),
        (COMPACT.replace("(3, 6)]]", "(3, 7)]]"), "op code must be in 0..6.*found 7"),
        (COMPACT.replace(", (3, 6)]]", "]]"), "reduce cell must have 8 .* found 7 pairs"),
        ("[[(0, 0)]]", "must hold 2 cells"),
        (COMPACT.replace("(0, 0)", "(0, 'x')", 1), "integer pairs"),
        (COMPACT.replace("(1, 5)", "(0, 5)", 1), "normal cell node 2 must take two distinct inputs"),
    ],
)
def test_parse_errors_name_expected_and_found(space, text, fragment):
    with pytest.raises(EncodingError, match=fragment):
        space.parse(text)


def test_parse_rejects_non_strings_and_bad_values(space):
    with pytest.raises(EncodingError, match="must be a string"):
        parse_arch(3)  # type: ignore[arg-type]
    with pytest.raises(EncodingError, match="a string or a \\(normal, reduce\\) pair"):
        space.coerce(42)
    good = space.parse(DARTS_V2)
    with pytest.raises(EncodingError, match="unknown DARTS op 'conv'"):
        check_arch(((("conv", 0),) + good.normal[1:], good.reduce))


# ---- keys, sampling, mutation ---------------------------------------------------------------------------

def test_arch_key_ignores_input_order_within_a_node(space):
    arch = space.parse(DARTS_V2)
    swapped = DartsArch(arch.normal[1::-1] + arch.normal[2:], arch.reduce)
    assert swapped != arch and canonical_arch(swapped) == canonical_arch(arch)
    assert space.arch_key(swapped) == space.arch_key(arch) and len(space.arch_key(arch)) == 16
    assert space.arch_id(arch) == f"darts:{space.arch_key(arch)}"
    other = DartsArch(arch.normal, (("avg_pool_3x3", 0),) + arch.reduce[1:])
    assert space.arch_key(other) != space.arch_key(arch)


def _valid(arch: DartsArch) -> bool:
    return check_arch(arch) == arch and all(op in SEARCH_OPS for cell in arch for op, _ in cell)


def test_sample_is_valid_deterministic_and_covers_the_space(space):
    archs = space.samples(300, seed=7)
    assert archs == space.samples(300, seed=7) and archs != space.samples(300, seed=8)
    assert all(_valid(a) for a in archs)
    ops = Counter(op for a in archs for cell in a for op, _ in cell)
    assert set(ops) == set(SEARCH_OPS)
    # node 5 draws its two distinct inputs from all 5 states
    assert {i for a in archs for _, i in a.normal[6:]} == {0, 1, 2, 3, 4}
    assert len({space.arch_key(a) for a in archs}) == 300
    with pytest.raises(TypeError, match="random.Random"):
        space.sample(7)  # type: ignore[arg-type]


def test_mutate_changes_exactly_one_pair_and_is_deterministic(space):
    rng = random.Random(3)
    arch = space.parse(DARTS_V2)
    kinds = Counter()
    for _ in range(300):
        child = space.mutate(arch, rng)
        assert _valid(child)
        diffs = [(c, p) for c in range(2) for p in range(8) if child[c][p] != arch[c][p]]
        assert len(diffs) == 1
        (c, p), = diffs
        kinds["op" if child[c][p][0] != arch[c][p][0] else "input"] += 1
        arch = child
    assert kinds["op"] > 50 and kinds["input"] > 50
    a = space.parse(DARTS_V2)
    assert space.mutate(a, random.Random(1)) == space.mutate(a, random.Random(1))


# ---- whole-network graphs ----------------------------------------------------------------------------------

def test_build_cg_validates_and_matches_module_params_and_forward(space):
    import torch

    arch = space.samples(1, seed=11)[0]
    graph = space.build_cg(arch)
    graph.validate()
    assert (graph.space, graph.config, graph.encoding) == ("darts", "nb301", space.format(arch))
    module = graph.to_module()
    assert sum(p.numel() for p in module.parameters()) == graph.params
    module.eval()
    with torch.no_grad():
        out = module(torch.randn(1, 3, 32, 32))
    assert out.shape == (1, 10) and torch.isfinite(out).all()


def test_network_structure_nb301(space):
    graph = space.build_cg(space.parse(DARTS_V2), "nb301")
    ops = Counter(graph.ops)
    assert ops["input"] == 1 and ops["output"] == 1 and ops["linear"] == 1 and ops["global_avg_pool"] == 1
    # 8 cells, each: 4 adds and one concat of 4 nodes
    assert ops["add"] == 32 and ops["concat"] >= 8
    preds = graph.inputs_of()
    cell_outs = [i for i, op in enumerate(graph.ops) if op == "concat" and len(preds[i]) == 4]
    # cell outputs concatenate nodes 2..5: 4C channels with C = 32, 32, 64 (reduction), 64, 64, 128, 128, 128
    assert [graph.nodes["c_out"][i] for i in cell_outs] == [128, 128, 256, 256, 256, 512, 512, 512]
    assert [graph.nodes["h_out"][i] for i in cell_outs] == [32, 32, 16, 16, 16, 8, 8, 8]
    stem = graph.nodes["c_out"][1]
    assert graph.ops[1] == "conv" and stem == 96 and graph.nodes["kernel"][1] == 3
    head = graph.inputs_of()[graph.output_node()][0]
    assert graph.ops[head] == "linear" and graph.nodes["c_in"][head] == 512


def test_factorized_reduce_is_param_and_shape_exact():
    # skip_connect on a reduction-cell input is FactorizedReduce: relu, two 1x1 stride-2 convs of C/2, concat, BN
    cell = (("skip_connect", 0), ("skip_connect", 1)) + (("sep_conv_3x3", 0), ("sep_conv_3x3", 1)) * 3
    arch = check_arch((cell, cell))
    cfg = DartsNetworkConfig("tiny", (3, 8, 8), 10, init_channels=4, layers=3)
    graph = build_network(arch, cfg).validate()
    fr_convs = [i for i, op in enumerate(graph.ops)
                if op == "conv" and graph.nodes["stride"][i] == 2 and graph.nodes["kernel"][i] == 1]
    assert fr_convs  # FactorizedReduce in reduction cells and in the preprocessing after them
    for i in fr_convs:
        n = graph.node(i)
        assert n.c_out * 2 == graph.node(graph.outputs_of()[i][0]).c_out  # concat of two halves
        assert (n.h_out, n.params) == ((n.h_in - 1) // 2 + 1, n.c_in * n.c_out)
    assert sum(p.numel() for p in graph.to_module().parameters()) == graph.params


def test_published_param_count_darts_v2(space):
    # DARTS's train.py logs "param size = 3.349342MB" for DARTS_V2 at C=36, 20 layers: its
    # count_parameters_in_MB excludes the auxiliary head, as the graph does.
    assert space.build_cg(DARTS_V2, "darts").params == 3_349_342
    # pt.darts adds an affine BN after each pool: 2C params per pool op instance
    assert space.build_cg(DARTS_V2, "pt_darts").params > 3_349_342


def test_nb301_training_network_param_count(space):
    # NAS-Bench-301's repository ships a training result (surrogate_models/test/results_fidelity_0)
    # for this genotype at init_channels=50, layers=20 with the auxiliary head: model_parameters 6,369,358.
    arch = _genotype(
        [("skip_connect", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("skip_connect", 1), ("dil_conv_3x3", 0),
         ("dil_conv_5x5", 2), ("sep_conv_3x3", 1), ("skip_connect", 2)],
        [("max_pool_3x3", 0), ("avg_pool_3x3", 1), ("skip_connect", 0), ("dil_conv_5x5", 1), ("sep_conv_3x3", 1),
         ("sep_conv_5x5", 2), ("sep_conv_3x3", 2), ("dil_conv_3x3", 3)])
    c = 50
    graph = build_network(parse_arch(arch), DartsNetworkConfig("nb301_c50", (3, 32, 32), 10, init_channels=c, layers=20))
    # DARTS AuxiliaryHeadCIFAR on the 16C-channel output of cell 2*layers//3: conv1x1 16C->128 + BN,
    # conv2x2 128->768 + BN, linear 768->10 (with bias).
    aux = 16 * c * 128 + 2 * 128 + 128 * 768 * 4 + 2 * 768 + 768 * 10 + 10
    assert graph.params + aux == 6_369_358


def test_none_op_is_a_strided_zero():
    cell = (("none", 0), ("sep_conv_3x3", 1)) + (("sep_conv_3x3", 0), ("none", 1)) * 3
    graph = build_network(check_arch((cell, cell)), CONFIGS["nb301"]).validate()
    zeros = [graph.node(i) for i, op in enumerate(graph.ops) if op == "zero"]
    assert {z.stride for z in zeros} == {1, 2}
    assert all(z.h_out == (z.h_in - 1) // z.stride + 1 for z in zeros)


# ---- real files --------------------------------------------------------------------------------------------

@pytest.mark.realdata
def test_real_naslib_compact_keys_round_trip(space, shared_data):
    data = shared_data / "darts_nb301"
    keys = list(json.loads((data / "naslib_zc_nasbench301_725.json").read_text())["cifar10"])
    keys += list(json.loads((data / "naslib_zc_nasbench301_500.json").read_text())["nasbench301"]["cifar10"])
    assert len(keys) == 1225
    for key in keys:
        arch = space.parse(key)
        assert format_compact(arch) == key and space.parse(space.format(arch)) == arch


@pytest.mark.realdata
def test_real_oncenas_genotypes_params_and_flops(space, shared_data):
    data = shared_data / "darts_nb301"
    import pandas as pd

    table = pd.read_csv(data / "oncenas" / "data-545.csv")
    assert len(table) == 545
    uses_none = 0
    for text, params, mflops in zip(table["architecture"], table["params"], table["flop"]):
        arch = space.parse(text)
        assert space.format(arch) == text  # OnceNAS strings are already in the canonical form
        graph = space.build_cg(arch, "darts")
        # OnceNAS's parameter counts equal the DARTS evaluation network's, 'none' ops included
        assert graph.params == round(params * 1e6)
        # Its FLOPs use thop's convention: conv/linear MACs (no bias), 4 per BN element, 1 per
        # avg-pool output, and input + output elements for the global pool.
        n = graph.nodes
        thop = 0
        for i, op in enumerate(graph.ops):
            out = n["c_out"][i] * n["h_out"][i] * n["w_out"][i]
            if op in ("conv", "dwconv"):
                thop += n["flops"][i]
            elif op == "linear":
                thop += n["c_in"][i] * n["c_out"][i]
            elif op == "batch_norm":
                thop += 4 * out
            elif op == "avg_pool":
                thop += out
            elif op == "global_avg_pool":
                thop += n["c_in"][i] * n["h_in"][i] * n["w_in"][i] + out
        assert abs(thop - mflops * 1e6) < 1.0
        uses_none += "none" in text
    assert uses_none > 300


@pytest.mark.realdata
def test_real_antoyang_genotypes_parse(space, shared_data):
    data = shared_data / "darts_nb301"
    from archbench.benchmarks.unpickle import NUMPY_SCALAR_GLOBALS, restricted_load

    pairs = restricted_load(data / "antoyang_random" / "214genotypes.pkl", NUMPY_SCALAR_GLOBALS)
    archs = [space.parse(text.removeprefix("GENOTYPE=")) for text, _ in pairs]
    assert len(archs) == 214 and all(space.parse(space.format(a)) == a for a in archs)
    graph = space.build_cg(archs[0], "pt_darts")
    assert sum(p.numel() for p in graph.to_module().parameters()) == graph.params
