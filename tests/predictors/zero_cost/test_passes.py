"""Tests for archbench.predictors.zero_cost.passes: shared passes, timing attribution, NB201 networks."""
from __future__ import annotations

import math

import pytest

from archbench.errors import ArchbenchError
from archbench.graphs.cg import GraphBuilder
from archbench.graphs.spaces import get_space
from archbench.predictors.zero_cost import RandomSource, compute_proxies
from archbench.predictors.zero_cost.passes import ProxyContext, resolve_dtype


def tiny():
    b = GraphBuilder("test", "tiny", (3, 6, 6), 4)
    x = b.relu(b.batch_norm(b.conv(b.input(), 4, kernel=3)))
    return b.output(b.linear(b.global_avg_pool(x), 4))


@pytest.fixture
def one_thread():
    """One torch thread (two threads on a busy 2-core machine wait on each other far longer than they compute)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_data_pass_runs_once_and_records_only_what_is_needed():
    g = tiny()
    mb = RandomSource().minibatch(4, 0, (3, 6, 6), 4)
    ctx = ProxyContext(g, mb, frozenset({"weight_grads"}))
    p = ctx.data_pass()
    assert ctx.data_pass() is p and set(ctx.pass_seconds) == {"module", "data"}
    assert p.weight_grads is not None and len(p.weight_grads) == len(p.weights) == 2
    assert p.hessian_grads is None and p.jacobian is None and p.relu_kernel is None and p.fisher_terms is None


def test_proxy_time_includes_the_shared_passes_it_used():
    g = tiny()
    r = compute_proxies(g, ["snip", "grad_norm", "params"], data=RandomSource(), batch_size=4)
    # snip ran the shared pass, grad_norm reused it: both are charged its full time.
    assert r["grad_norm"].seconds >= 0.5 * r["snip"].seconds
    assert r["params"].seconds < r["snip"].seconds


def test_dtype_option():
    assert str(resolve_dtype("float64")) == "torch.float64"
    with pytest.raises(ArchbenchError, match="dtype must be one of float32, float64, found 'float16'"):
        resolve_dtype("float16")


def test_graph_convolution_networks_are_refused_clearly():
    b = GraphBuilder("test", "gnn", (3, 5, 1), 2)
    x = b.add_node("gcn_conv", [b.input()], c_out=4)
    g = b.output(b.linear(b.global_avg_pool(x), 2))
    with pytest.raises(ArchbenchError, match="graph convolutions over an input graph"):
        compute_proxies(g, ["snip"], data=RandomSource(), batch_size=2)


def test_all_13_on_an_nb201_cell(one_thread):
    space = get_space("nb201")
    g = space.build_cg("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")
    r = compute_proxies(g, None, data=RandomSource(), batch_size=4)
    assert len(r) == 13
    assert all(math.isfinite(s.value) for s in r.values()), {k: s.reason for k, s in r.items() if s.reason}
    assert r["params"].value == g.params


def test_shared_passes_equal_one_proxy_at_a_time_on_an_nb201_network(one_thread):
    """All 13 together (one data pass, fast kernels, GraSP's closed-form double backward) equal each alone."""
    space = get_space("nb201")
    # Two ReLU-conv ops on cell node 0 (NASWOT codes computed once), pooling, zero and skip edges.
    g = space.build_cg("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
                       "imagenet16-120")
    mb = RandomSource().minibatch(3, 0, (3, 16, 16), 120)
    together = compute_proxies(g, None, data=mb, dtype="float64")
    assert all(math.isfinite(s.value) for s in together.values())
    # One proxy per pass entry (the others read the same entries): each alone runs only its own pass.
    for name in ("snip", "fisher", "grasp", "jacob_cov", "nwot"):
        alone = compute_proxies(g, [name], data=mb, dtype="float64")[name]
        assert alone.value == pytest.approx(together[name].value, rel=1e-10), name


def test_naswot_codes_match_the_definition_with_nan_and_leaky_relu():
    import numpy as np
    import torch
    from torch import nn

    from archbench.predictors.zero_cost.passes import _code_kernel

    x = torch.randn(5, 3, 4, 4).contiguous(memory_format=torch.channels_last)
    x[0, 0, 0, 0] = float("nan")
    x[1, 1, 1, 1] = 0.0
    c = (x.reshape(5, -1) > 0).double().numpy()
    want = c @ c.T + (1 - c) @ (1 - c).T
    for layer in (nn.ReLU(), nn.LeakyReLU(0.1)):
        out = layer(x)
        got = _code_kernel(x, out if isinstance(layer, nn.ReLU) else None).numpy()
        np.testing.assert_array_equal(got, want)
