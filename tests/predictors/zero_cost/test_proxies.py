"""Tests for the 13 zero-cost proxies: registry conformance, hand-computed cases, and agreement
with a separate implementation of each reference definition (foresight/NASLib style: one fresh
network and its own passes per proxy) on small graphs."""
from __future__ import annotations

import logging
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from archbench.errors import RegistryError
from archbench.graphs.cg import GraphBuilder
from archbench.graphs.torch_module import to_module
from archbench.predictors.zero_cost import (PROXIES, Minibatch, RandomSource, compute_proxies, get_proxy,
                                            list_proxies)
from archbench.predictors.zero_cost.epe_nas import epe_nas_score
from archbench.predictors.zero_cost.jacob_cov import jacob_cov_score
from archbench.predictors.zero_cost.nwot import nwot_score

NASBENCH_SUITE_ZERO = {"synflow", "snip", "grasp", "fisher", "grad_norm", "jacob_cov", "nwot", "zen", "epe_nas",
                       "l2_norm", "plain", "params", "flops"}
K = 1e-5


def small_graph(classes: int = 5):
    """conv-BN-ReLU, a residual 1x1 conv-BN-ReLU, pooling and a linear head on 3x8x8 inputs."""
    b = GraphBuilder("test", "small", (3, 8, 8), classes)
    x = b.relu(b.batch_norm(b.conv(b.input(), 4, kernel=3)))
    y = b.relu(b.batch_norm(b.conv(x, 4, kernel=1)))
    z = b.avg_pool(b.add(x, y), 3, stride=2, padding=1)
    return b.output(b.linear(b.global_avg_pool(z), classes))


def batch(n: int = 6, classes: int = 5, seed: int = 1) -> Minibatch:
    return RandomSource().minibatch(n, seed, (3, 8, 8), classes)


def scores(graph, names, mb, dtype="float64", seed=0):
    return {k: v.value for k, v in compute_proxies(graph, names, data=mb, seed=seed, dtype=dtype).items()}


def weight_layers(m):
    return [l for l in m.modules() if isinstance(l, (nn.Conv2d, nn.Linear))]


def fresh(graph, seed=0, dtype=torch.float64):
    m = to_module(graph, seed=seed).to(dtype)
    m.train()
    return m


# ---- registry ----------------------------------------------------------------------------------

def test_registry_holds_the_13_proxies_of_nas_bench_suite_zero():
    assert set(list_proxies()) == NASBENCH_SUITE_ZERO
    with pytest.raises(RegistryError, match="unknown zero-cost proxy 'jacov'; expected one of: epe_nas"):
        get_proxy("jacov")


def test_definition_versions():
    # fisher v1 summed channel saliencies; v2 gives each channel's value to its weights (stored v1 scores are stale).
    assert get_proxy("fisher").version == 2 and get_proxy("params").version == 1
    from archbench.predictors.zero_cost import register_proxy

    with pytest.raises(ValueError, match="proxy 'x': version must be a positive integer, found 0"):
        register_proxy("x", data_dependent=False, reference="-", version=0)


@pytest.mark.parametrize("name", sorted(NASBENCH_SUITE_ZERO))
def test_every_proxy_returns_one_finite_float_and_cites_its_paper(name):
    proxy = get_proxy(name)
    assert proxy.reference and any(ch.isdigit() for ch in proxy.reference)  # a year at least
    doc = __import__(proxy.score.__module__, fromlist=["x"]).__doc__
    assert doc and ("20" in doc or "19" in doc)
    result = compute_proxies(small_graph(), [name], data=batch(), dtype="float32")[name]
    assert isinstance(result.value, float) and math.isfinite(result.value) and result.reason == ""
    assert result.seconds >= 0


@pytest.mark.parametrize("name", sorted(NASBENCH_SUITE_ZERO))
def test_data_dependence_flag_is_honest(name):
    """Images/labels of the same shape change exactly the data-dependent proxies."""
    g = small_graph()
    a = scores(g, [name], batch(seed=1))[name]
    b = scores(g, [name], batch(seed=2))[name]
    assert (a != b) == get_proxy(name).data_dependent


# ---- hand-computed cases -------------------------------------------------------------------------

def test_params_and_flops_are_the_graph_totals():
    g = small_graph()
    s = scores(g, ["params", "flops"], batch())
    assert s == {"params": float(g.params), "flops": float(g.flops)}
    assert g.params == sum(p.numel() for p in to_module(g).parameters())


def test_l2_norm_sums_weight_norms_only():
    g = small_graph()
    m = to_module(g, seed=3)
    want = sum(float(l.weight.detach().double().norm()) for l in weight_layers(m))
    assert scores(g, ["l2_norm"], batch(), seed=3)["l2_norm"] == pytest.approx(want, rel=1e-6)


def test_synflow_conserves_flow_layer_by_layer():
    """Tanaka et al.'s conservation: without bias/BN, each layer's synaptic saliency sums to R = sum(out)."""
    b = GraphBuilder("test", "chain", (2, 4, 4), 3)
    x = b.relu(b.conv(b.input(), 3, kernel=3))
    x = b.relu(b.conv(x, 5, kernel=1))
    g = b.output(b.linear(b.global_avg_pool(x), 3, bias=False))
    m = to_module(g, seed=0).double()
    with torch.no_grad():
        for p in m.parameters():
            p.abs_()
    with torch.no_grad():
        r = float(m(torch.ones(1, 2, 4, 4, dtype=torch.float64)).sum())
    mb = RandomSource().minibatch(4, 0, (2, 4, 4), 3)
    assert scores(g, ["synflow"], mb, seed=0)["synflow"] == pytest.approx(3 * r, rel=1e-12)


def test_synflow_drops_batch_norm_and_is_float64():
    g = small_graph()
    s32 = compute_proxies(g, ["synflow"], data=batch(), dtype="float32")["synflow"].value
    s64 = compute_proxies(g, ["synflow"], data=batch(), dtype="float64")["synflow"].value
    assert s32 == s64  # always float64, whatever the option
    m = fresh(g)
    for i, op in enumerate(g.ops):
        if op == "batch_norm":
            setattr(m, f"n{i}", nn.Identity())
    with torch.no_grad():
        for t in m.state_dict().values():
            t.abs_()
    m(torch.ones(1, 3, 8, 8, dtype=torch.float64)).sum().backward()
    want = sum(float((l.weight.detach() * l.weight.grad).abs().sum()) for l in weight_layers(m))
    assert s64 == pytest.approx(want, rel=1e-12)


def test_jacob_cov_score_hand_computed():
    # Orthogonal zero-mean rows: correlation matrix I, eigenvalues 1 -> -n (log(1+k) + 1/(1+k)).
    j = np.array([[1.0, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]])
    assert jacob_cov_score(j) == pytest.approx(-3 * (math.log(1 + K) + 1 / (1 + K)))
    undefined = jacob_cov_score(np.array([[1.0, 2, 3], [5, 5, 5]]))
    assert "1 of 2 samples have a constant input gradient" in undefined.reason


def test_epe_nas_score_hand_computed():
    j = np.array([[1.0, -1, 1, -1], [1, 1, -1, -1], [2, -2, 2, -2], [3, 1, 0, 2]])
    labels = np.array([0, 0, 1, 2])
    # class 0: correlation 0 off the diagonal; class 1: 1 sample -> log(1+k); class 2 likewise.
    s0 = 2 * math.log(1 + K) + 2 * math.log(K)
    want = abs(s0) + 2 * math.log(1 + K)
    assert epe_nas_score(j, labels, num_classes=10) == pytest.approx(want)
    # > 100 classes: per-class scores divided by their size, then mean pairwise |difference| (NASLib).
    per = np.array([s0 / 2, math.log(1 + K), math.log(1 + K)])
    want_many = np.abs(per[:, None] - per[None, :]).sum() / 3
    assert epe_nas_score(j, labels, num_classes=120) == pytest.approx(want_many)


def test_nwot_score_hand_computed():
    codes = np.array([[1, 0, 1], [0, 1, 1]], dtype=float)
    k = codes @ codes.T + (1 - codes) @ (1 - codes).T  # [[3, 1], [1, 3]]
    assert nwot_score(k) == pytest.approx(math.log(8))
    singular = nwot_score(np.ones((2, 2)))
    assert singular.value == -math.inf and "singular" in singular.reason  # log(0), as the reference gives


# ---- each proxy against its reference definition, computed separately ------------------------------

@pytest.fixture(scope="module")
def shared():
    g, mb = small_graph(), batch()
    return g, mb, scores(g, None, mb)


def test_loss_gradient_proxies_match_reference(shared):
    g, mb, s = shared
    m = fresh(g)
    F.cross_entropy(m(mb.x.double()), mb.y).backward()
    layers = weight_layers(m)
    assert s["grad_norm"] == pytest.approx(sum(float(l.weight.grad.norm()) for l in layers), rel=1e-9)
    assert s["snip"] == pytest.approx(sum(float((l.weight.grad * l.weight.detach()).abs().sum()) for l in layers), rel=1e-9)
    assert s["plain"] == pytest.approx(sum(float((l.weight.grad * l.weight.detach()).sum()) for l in layers), rel=1e-9)


def test_grasp_matches_two_pass_reference(shared):
    """foresight's GraSP: gradient from a first forward, Hessian-gradient product from a second."""
    g, mb, s = shared
    m = fresh(g)
    x = mb.x.double()
    weights = [l.weight for l in weight_layers(m)]
    grad_w = torch.autograd.grad(F.cross_entropy(m(x), mb.y), weights)
    grad_f = torch.autograd.grad(F.cross_entropy(m(x), mb.y), weights, create_graph=True)
    sum((gw * gf).sum() for gw, gf in zip(grad_w, grad_f)).backward()
    want = sum(float((-w.data * w.grad).sum()) for w in weights)
    assert s["grasp"] == pytest.approx(want, rel=1e-9)


def test_fisher_matches_reference(shared):
    g, mb, s = shared
    m = fresh(g)
    acts = []

    def keep(module, inputs, output):
        output.retain_grad()
        acts.append((output, module.weight.shape))

    for layer in weight_layers(m):
        layer.register_forward_hook(keep)
    F.cross_entropy(m(mb.x.double()), mb.y).backward()
    want = 0.0
    for a, shape in acts:
        a = a.detach() * a.grad
        g_nk = a.sum(dim=(2, 3)) if a.dim() == 4 else a
        # every weight of an output channel carries that channel's saliency (as zero-cost-nas does)
        per_weight = (0.5 * g_nk.pow(2).mean(0)).view(-1, *([1] * (len(shape) - 1))).expand(shape)
        want += float(per_weight.sum())
    assert s["fisher"] == pytest.approx(want, rel=1e-9)


def test_jacobian_proxies_match_reference(shared):
    g, mb, s = shared
    m = fresh(g)
    x = mb.x.double().requires_grad_(True)
    y = m(x)
    y.backward(torch.ones_like(y))
    jac = x.grad.reshape(len(x), -1).numpy()
    v, _ = np.linalg.eig(np.corrcoef(jac))
    assert s["jacob_cov"] == pytest.approx(float(-np.sum(np.log(v.real + K) + 1.0 / (v.real + K))), rel=1e-9)
    assert s["epe_nas"] == pytest.approx(epe_nas_score(jac, mb.y.numpy(), 5), rel=1e-9)


def test_nwot_matches_reference(shared):
    g, mb, s = shared
    m = fresh(g)
    kernel = np.zeros((len(mb.x), len(mb.x)))

    def count(module, inputs, output):
        c = (inputs[0].view(inputs[0].size(0), -1) > 0).double()
        nonlocal kernel
        kernel = kernel + (c @ c.t()).numpy() + ((1 - c) @ (1 - c).t()).numpy()

    for layer in m.modules():
        if isinstance(layer, nn.ReLU):
            layer.register_forward_hook(count)
    m(mb.x.double())
    assert s["nwot"] == pytest.approx(np.linalg.slogdet(kernel)[1], rel=1e-12)


def test_zen_matches_reference(shared):
    g, mb, s = shared
    m = fresh(g)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for l in weight_layers(m):
            l.weight.normal_(generator=gen)
            if l.bias is not None:
                l.bias.zero_()
    x = torch.randn(mb.x.shape, generator=gen, dtype=torch.float64)
    eps = torch.randn(mb.x.shape, generator=gen, dtype=torch.float64)
    pool = next(i for i, op in enumerate(g.ops) if op == "global_avg_pool")
    pre = [i for i in range(g.num_edges) if g.dst[i] == pool]
    feat = lambda inp: m.node_outputs(inp)[g.src[pre[0]]]  # noqa: E731
    with torch.no_grad():
        diff = (feat(x) - feat(x + 0.01 * eps)).abs().sum(dim=(1, 2, 3)).mean()
    bn = sum(math.log(math.sqrt(float(l.running_var.mean()))) for l in m.modules() if isinstance(l, nn.BatchNorm2d))
    assert s["zen"] == pytest.approx(math.log(float(diff)) + bn, rel=1e-9)


def test_sharing_passes_changes_no_value(shared):
    """All 13 together equal each proxy computed alone (the shared pass is only an optimization)."""
    g, mb, together = shared
    for name in together:
        assert scores(g, [name], mb)[name] == pytest.approx(together[name], rel=1e-9), name


# ---- non-finite values are kept, with a reason --------------------------------------------------------

def test_non_finite_scores_are_kept_with_a_logged_reason(caplog):
    """A network whose output ignores its input: jacobian proxies are undefined (NaN), zen is log(0) = -inf;
    without ReLU NASWOT is undefined."""
    b = GraphBuilder("test", "deaf", (3, 8, 8), 4)
    x = b.zero(b.conv(b.input(), 4, kernel=3))
    g = b.output(b.linear(b.global_avg_pool(b.act(x, "tanh")), 4))
    with caplog.at_level(logging.WARNING, logger="archbench.zero_cost"):
        r = compute_proxies(g, ["jacob_cov", "epe_nas", "nwot", "zen", "params"], data=batch(classes=4))
    for name in ("jacob_cov", "epe_nas", "nwot"):
        assert math.isnan(r[name].value) and r[name].reason
        assert f"zero-cost proxy {name} is nan for test:deaf" in caplog.text
    assert "constant input gradient" in r["jacob_cov"].reason
    assert "no ReLU layer" in r["nwot"].reason
    assert r["zen"].value == -math.inf and "do not depend on the input" in r["zen"].reason
    assert "zero-cost proxy zen is -inf for test:deaf" in caplog.text
    assert r["params"].value == g.params and not r["params"].reason


def test_seed_changes_initialization_deterministically():
    g, mb = small_graph(), batch()
    a, b, c = (scores(g, ["snip", "zen"], mb, seed=s) for s in (0, 0, 1))
    assert a == b and a != c


def test_proxy_names_are_checked():
    with pytest.raises(Exception, match="proxies named more than once: snip"):
        compute_proxies(small_graph(), ["snip", "snip"], data=batch())
    assert len(PROXIES) == 13
