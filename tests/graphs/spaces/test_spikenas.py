"""SpikeNAS-Bench space: arch_id decoding, encoding, sampling, the SNASNet graph and its parameters."""
from __future__ import annotations

import random

import pytest
import torch

from archbench.errors import EncodingError
from archbench.graphs.hashing import canonical_hash
from archbench.graphs.spaces import get_space
from archbench.graphs.spaces.spikenas import NUM_ARCHS, SPIKENAS_OPS, arch_to_id, id_to_arch
from archbench.graphs.torch_module import to_module

SPACE = get_space("spikenas")
BASE_PARAMS = {"cifar10": 17_179_620, "cifar100": 17_589_620, "tinyimagenet": 71_505_768}
PER_CONV_EDGE = (128 * 128 * 9 + 2 * 128) + (256 * 256 * 9 + 2 * 256)  # one edge in each of the two cells


def test_arch_id_is_base5_over_the_benchmark_edge_order():
    # digit p (weight 5**p) is the op of edge (0,1), (0,2), (0,3), (1,2), (1,3), (2,3)
    assert id_to_arch(0) == ("none",) * 6
    assert id_to_arch(1) == ("skip_connect", "none", "none", "none", "none", "none")  # edge (0,1)
    assert id_to_arch(5 ** 2 * 3) == ("none", "none", "none", "lif1.0_conv3x3", "none", "none")  # edge (0,3)
    assert id_to_arch(5 ** 3 * 4) == ("none", "none", "lif1.5_conv3x3", "none", "none", "none")  # edge (1,2)
    assert id_to_arch(NUM_ARCHS - 1) == ("lif1.5_conv3x3",) * 6
    assert all(arch_to_id(id_to_arch(i)) == i for i in range(0, NUM_ARCHS, 7))
    with pytest.raises(EncodingError, match=r"0\.\.15624"):
        id_to_arch(NUM_ARCHS)


def test_parse_format_and_errors():
    arch = id_to_arch(1234)
    text = SPACE.format(arch)
    assert text.startswith("|") and SPACE.parse(text) == arch and SPACE.coerce(1234) == arch
    assert SPACE.arch_id(arch) == "spikenas:01234"
    with pytest.raises(EncodingError, match="unknown SpikeNAS op 'nor_conv_3x3'"):
        SPACE.parse("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    with pytest.raises(EncodingError, match="3 node groups"):
        SPACE.parse("|none~0|")


def test_enumerate_sample_mutate():
    archs = list(SPACE.enumerate())
    assert len(archs) == SPACE.size() == NUM_ARCHS and archs[1234] == id_to_arch(1234)
    rng = random.Random(0)
    for _ in range(100):
        a = SPACE.sample(rng)
        b = SPACE.mutate(a, rng)
        assert sum(x != y for x, y in zip(a, b)) == 1 and set(b) <= set(SPIKENAS_OPS)


@pytest.mark.parametrize("config", sorted(BASE_PARAMS))
def test_params_hand_computed(config):
    for arch_id in (0, 1, 7, 1234, NUM_ARCHS - 1):
        arch = id_to_arch(arch_id)
        g = SPACE.build_cg(arch, config).validate()
        assert g.params == BASE_PARAMS[config] + PER_CONV_EDGE * sum(op.startswith("lif") for op in arch)
        assert g.num_classes == {"cifar10": 10, "cifar100": 100, "tinyimagenet": 200}[config]


def test_graph_structure():
    g = SPACE.build_cg(id_to_arch(NUM_ARCHS - 1))
    lifs = [i for i, op in enumerate(g.ops) if op == "lif"]
    assert len(lifs) == 2 * 6 + 3  # one per spiking edge in both cells + downconv, last_act, classifier
    assert {g.nodes["kernel"][i] for i in lifs} == {1000, 1500}  # cells: threshold 1.5; outside: 1.0
    assert {g.nodes["dilation"][i] for i in lifs} == {750}
    assert g.ops[g.inputs_of()[g.output_node()][0]] == "channel_avg_pool"


def test_thresholds_distinguish_architectures_in_the_hash():
    # one spiking edge 0 -> 3 (position 3 of the tuple), the others 'none'
    low, mid, high = (canonical_hash(SPACE.build_cg(("none",) * 3 + (op,) + ("none",) * 2)) for op in SPIKENAS_OPS[2:])
    assert len({low, mid, high}) == 3
    # a cell whose only path to the output is 'none' computes zero whatever its other edges do
    dead = [("lif0.5_conv3x3", "skip_connect", "lif1.0_conv3x3", "none", "none", "none"),
            ("none",) * 6]
    assert canonical_hash(SPACE.build_cg(dead[0])) == canonical_hash(SPACE.build_cg(dead[1]))


def test_module_params_and_one_step_forward():
    g = SPACE.build_cg(1234)
    m = to_module(g, seed=0).eval()
    assert sum(p.numel() for p in m.parameters()) == g.params
    with torch.no_grad():
        out = m.node_outputs(torch.randn(2, 3, 32, 32))
    assert out[g.output_node()].shape == (2, 10)
    lif = g.ops.index("lif")
    assert set(out[lif].unique().tolist()) <= {0.0, 1.0}


@pytest.mark.realdata
def test_params_and_spiking_edges_match_the_benchmark(shared_data):
    import pyarrow.parquet as pq

    from archbench.benchmarks.spikenas import DATASETS

    frame = pq.read_table(shared_data / "spikenas" / "spikenas_bench_logs.parquet",
                          columns=["dataset", "arch_id", "params", "firing_rates"]).to_pandas()
    assert len(frame[frame["dataset"] == "CIFAR10"]) == NUM_ARCHS
    sample = frame.sample(400, random_state=0)
    for ds, arch_id, params, rates in zip(sample["dataset"], sample["arch_id"], sample["params"], sample["firing_rates"]):
        arch = id_to_arch(int(arch_id))
        assert SPACE.build_cg(arch, DATASETS[ds]).params == params, (ds, arch_id)
        # the benchmark monitors a neuron on exactly the spiking edges (-1 elsewhere), in cell order
        assert [r != -1 for r in rates[:6]] == [op.startswith("lif") for op in arch], arch_id
