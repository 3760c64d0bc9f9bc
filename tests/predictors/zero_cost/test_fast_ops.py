"""Tests for archbench.predictors.zero_cost.fast_ops: faster kernels and lean double backward equal PyTorch's."""
from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.autograd import gradcheck, gradgradcheck
from torch.nn import functional as F

from archbench.graphs.cg import GraphBuilder
from archbench.graphs.spaces import get_space
from archbench.graphs.torch_module import to_module
from archbench.predictors.zero_cost.fast_ops import fast_ops


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread (two threads on a busy 2-core machine wait on each other far longer than they compute)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _in_mode(fn):
    def run(*args):
        with fast_ops(second_order=True):
            return fn(*args)
    return run


@pytest.mark.parametrize("stride,padding,dilation,groups,bias", [(2, 1, 1, 1, True), (1, 2, 2, 2, False)])
def test_conv2d_first_second_and_third_derivatives(stride, padding, dilation, groups, bias):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 2, 4, 5, dtype=torch.float64, generator=g, requires_grad=True)
    w = torch.randn(2, 2 // groups, 3, 3, dtype=torch.float64, generator=g, requires_grad=True)
    b = torch.randn(2, dtype=torch.float64, generator=g, requires_grad=True) if bias else None
    fn = _in_mode(lambda x, w, *b: F.conv2d(x, w, b[0] if b else None, stride, padding, dilation, groups))
    args = (x, w) + ((b,) if bias else ())
    assert gradcheck(fn, args) and gradgradcheck(fn, args, fast_mode=True)
    # third order (conv's derivative maps differentiate into each other)
    def grad_fn(x, w):
        with fast_ops(second_order=True):
            y = F.conv2d(x, w, None, stride, padding, dilation, groups)
        (gx,) = torch.autograd.grad((y * y).sum(), x, create_graph=True)
        return gx
    assert gradgradcheck(grad_fn, (x, w), fast_mode=True)


def test_conv2d_matches_pytorch_in_channels_last():
    x = torch.randn(3, 4, 6, 6, dtype=torch.float64).contiguous(memory_format=torch.channels_last).requires_grad_()
    w = torch.randn(5, 4, 3, 3, dtype=torch.float64).contiguous(memory_format=torch.channels_last).requires_grad_()
    def hvp(mode: bool):
        with fast_ops(second_order=True) if mode else torch.enable_grad():
            y = F.conv2d(F.relu(x), w, None, 2, 1)
        gw = torch.autograd.grad((y.sin()).sum(), (w, x), create_graph=True)
        return torch.autograd.grad(sum((g.detach().cos() * g).sum() for g in gw), (w, x))
    for a, b in zip(hvp(True), hvp(False)):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("shape,affine", [((3, 2, 3, 3), True), ((3, 2, 3, 3), False), ((5, 2), True)])
def test_batch_norm_training_double_backward(shape, affine):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(shape, dtype=torch.float64, generator=g, requires_grad=True)
    w = (torch.rand(shape[1], dtype=torch.float64, generator=g) + 0.5).requires_grad_(affine)
    b = torch.randn(shape[1], dtype=torch.float64, generator=g).requires_grad_(affine)
    if affine:
        fn = _in_mode(lambda x, w, b: F.batch_norm(x, None, None, w, b, True, 0.1, 1e-5))
        args = (x, w, b)
    else:
        fn = _in_mode(lambda x: F.batch_norm(x, None, None, None, None, True, 0.1, 1e-5))
        args = (x,)
    assert gradcheck(fn, args) and gradgradcheck(fn, args, fast_mode=True)


def test_batch_norm_updates_running_statistics_like_pytorch():
    x = torch.randn(8, 3, 4, 4)
    a, b = nn.BatchNorm2d(3), nn.BatchNorm2d(3)
    ya = a(x)
    with fast_ops(second_order=True):
        yb = b(x)
    torch.testing.assert_close(ya, yb, rtol=0, atol=0)
    torch.testing.assert_close(a.running_mean, b.running_mean, rtol=0, atol=0)
    torch.testing.assert_close(a.running_var, b.running_var, rtol=0, atol=0)


def test_relu_double_backward():
    x = torch.randn(3, 7, dtype=torch.float64, requires_grad=True)
    fn = _in_mode(lambda x: F.relu(x) * x)
    assert gradcheck(fn, (x,)) and gradgradcheck(fn, (x,))


def _hessian_grad(module, x, y, mode: bool):
    weights = [m.weight for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with fast_ops(second_order=True) if mode else torch.enable_grad():
        out = module(x)
    grads = torch.autograd.grad(F.cross_entropy(out, y), weights, create_graph=True)
    z = sum((g.detach() * g).sum() for g in grads)
    return [g.detach() for g in grads], torch.autograd.grad(z, weights)


def test_hessian_gradient_product_of_an_nb201_network_equals_autograd():
    space = get_space("nb201")
    g = space.build_cg("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
                       "imagenet16-120")
    m = to_module(g, seed=0).double().to(memory_format=torch.channels_last).train()
    x = torch.randn(3, 3, 16, 16, dtype=torch.float64).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 120, (3,))
    ours, theirs = _hessian_grad(m, x, y, True), _hessian_grad(m, x, y, False)
    for a, b in zip(ours[0] + list(ours[1]), theirs[0] + list(theirs[1])):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)


def test_other_layers_keep_pytorch_formulas():
    """Separable convolutions, max-pooling, layer-norm-free graphs of other spaces go through unchanged ops."""
    b = GraphBuilder("test", "mixed", (3, 8, 8), 4)
    x = b.relu(b.batch_norm(b.dwconv(b.conv(b.input(), 6, kernel=3, padding=1), 3, dilation=2)))
    x = b.max_pool(x, 3, stride=2, padding=1)
    g = b.output(b.linear(b.global_avg_pool(b.act(x, "swish")), 4))
    m = to_module(g, seed=0).double().train()
    inp, lab = torch.randn(5, 3, 8, 8, dtype=torch.float64), torch.randint(0, 4, (5,))
    ours, theirs = _hessian_grad(m, inp, lab, True), _hessian_grad(m, inp, lab, False)
    for a, b_ in zip(list(ours[1]), list(theirs[1])):
        torch.testing.assert_close(a, b_, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("kernel,stride,padding,include", [(3, 1, 1, False), (3, 1, 1, True), (2, 2, 0, False),
                                                            (3, 2, 1, False), (3, None, 0, True)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_avg_pool_as_depthwise_convolution_equals_pytorch(kernel, stride, padding, include, channels_last):
    x = torch.randn(2, 3, 7, 6, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    want = F.avg_pool2d(x, kernel, stride, padding, count_include_pad=include)
    with fast_ops():
        got = F.avg_pool2d(x, kernel, stride, padding, count_include_pad=include)
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    pool = _in_mode(lambda t: nn.AvgPool2d(kernel, stride, padding, count_include_pad=include)(t))
    xs = x[:1, :2, :5, :4].clone().requires_grad_()
    assert gradcheck(pool, (xs,)) and gradgradcheck(pool, (xs,), fast_mode=True)


def test_ceil_mode_pooling_keeps_pytorch_kernel():
    x = torch.randn(1, 2, 5, 5)
    with fast_ops():
        got = F.avg_pool2d(x, 2, 2, 0, ceil_mode=True)
    torch.testing.assert_close(got, F.avg_pool2d(x, 2, 2, 0, ceil_mode=True), rtol=0, atol=0)


def test_input_gradients_only_gives_the_same_input_gradient_without_weight_work():
    from archbench.predictors.zero_cost.fast_ops import input_gradients_only

    x = torch.randn(2, 3, 5, 5, dtype=torch.float64, requires_grad=True)
    conv = nn.Conv2d(3, 4, 3, padding=1).double()
    with fast_ops(second_order=True):
        y = F.relu(conv(x))
    with input_gradients_only():
        (gx,) = torch.autograd.grad(y.sum(), x, retain_graph=True)
    (want,) = torch.autograd.grad(F.relu(conv(x)).sum(), x)
    torch.testing.assert_close(gx, want, rtol=1e-12, atol=1e-12)
    gw = torch.autograd.grad(y.sum(), conv.weight)[0]  # outside the block weight gradients are back
    torch.testing.assert_close(gw, torch.autograd.grad(F.relu(conv(x)).sum(), conv.weight)[0], rtol=1e-12, atol=1e-12)
