"""Faster kernels for the proxies' passes, equal in value to PyTorch's: avg-pool and second derivatives.

Inside :func:`fast_ops` a module runs the same arithmetic through faster CPU kernels:

* ``avg_pool2d`` runs as a depthwise convolution with weights ``1/k^2`` (times ``k^2 / count`` at
  the border when padded zeros are not counted): PyTorch's CPU pooling kernel is 3-7 times slower
  than the convolution, forward and backward.

With ``second_order=True`` the graph it records can also be differentiated twice cheaply (GraSP's
Hessian-gradient product is a backward pass through a backward pass). PyTorch's own
double-backward formulas are exact but slow on the CPU for the layers every CNN is made of: the
weight term of a convolution's double backward runs as a generic convolution with an ``H x W``
kernel (batch and channels swapped, plus copies), batch-norm's is a composite of about 60
full-tensor operations, and ReLU's adds a zero tensor per layer. These three layers then run
through :class:`torch.autograd.Function` s that compute the same values with the same kernels
(``aten.convolution``, ``native_batch_norm``, ``relu``) and differentiate in closed form:

* convolution is bilinear in (input, weight); its input-gradient and weight-gradient maps are
  too, so the three maps differentiate into each other (:class:`_Conv`, :class:`_ConvInputGrad`,
  :class:`_ConvWeightGrad`), each computed by ``aten.convolution`` or ``aten.convolution_backward``
  (any order of derivative);
* batch-norm's backward (``native_batch_norm_backward``) has its derivative written out
  (:class:`_BatchNormBackward`, about a dozen full-tensor passes); third derivatives are not
  provided;
* ReLU's backward is linear in the incoming gradient and piecewise constant in the input.

Everything else (linear layers, max-pooling, additions, other ops) keeps PyTorch's kernels and
formulas. Values equal PyTorch's to rounding (``tests/predictors/zero_cost/test_fast_ops.py``:
``gradcheck``/``gradgradcheck`` and whole networks against plain autograd).
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, NamedTuple

import torch
from torch import Tensor
from torch.autograd import Function
from torch.autograd.function import once_differentiable
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode


class _ConvSpec(NamedTuple):
    """Hyper-parameters of a 2-d convolution (everything but its two tensor arguments)."""

    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int


def _pair(v: "int | tuple[int, ...] | list[int]") -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _conv(x: Tensor, w: Tensor, s: _ConvSpec) -> Tensor:
    return torch.ops.aten.convolution(x, w, None, s.stride, s.padding, s.dilation, False, (0, 0), s.groups)


def _conv_backward(gy: Tensor, x: Tensor, w: Tensor, s: _ConvSpec, mask: list[bool]) -> tuple[Tensor, Tensor, Tensor]:
    return torch.ops.aten.convolution_backward(gy, x, w, None, s.stride, s.padding, s.dilation, False, (0, 0),
                                               s.groups, mask)


def _channels_last(t: Tensor) -> bool:
    return t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last) and not t.is_contiguous()


def _like(shape: torch.Size, *others: Tensor) -> Tensor:
    """An uninitialized stand-in of ``shape`` for a convolution argument whose values are not read.

    Channels-last when another argument is (as PyTorch picks the layout of a convolution), so
    that the convolution does not convert it.
    """
    fmt = torch.channels_last if any(_channels_last(t) for t in others) else torch.contiguous_format
    return torch.empty(shape, dtype=others[0].dtype, device=others[0].device, memory_format=fmt)


#: Set by :func:`input_gradients_only`.
_SKIP_WEIGHT_GRADS = [False]


@contextmanager
def input_gradients_only() -> Iterator[None]:
    """Within this block, backward passes through recorded convolutions skip their weight gradients.

    A custom autograd function cannot see which of its inputs one ``autograd.grad`` call needs
    (PyTorch's own layers can), so a backward to the network input only (the input Jacobian)
    would also compute every convolution's weight gradient; run such a call in this block. Any
    weight gradient it would have given is missing (None), so ask for nothing else in it.
    """
    before = _SKIP_WEIGHT_GRADS[0]
    _SKIP_WEIGHT_GRADS[0] = True
    try:
        yield
    finally:
        _SKIP_WEIGHT_GRADS[0] = before


class _Conv(Function):
    """``y = conv(x, w)`` (no bias)."""

    @staticmethod
    def forward(ctx, x: Tensor, w: Tensor, spec: _ConvSpec) -> Tensor:
        ctx.save_for_backward(x, w)
        ctx.spec = spec
        return _conv(x, w, spec)

    @staticmethod
    def backward(ctx, gy: Tensor):
        x, w = ctx.saved_tensors
        gx = _ConvInputGrad.apply(gy, w, x.shape, ctx.spec) if ctx.needs_input_grad[0] else None
        gw = _ConvWeightGrad.apply(x, gy, w.shape, ctx.spec) if ctx.needs_input_grad[1] and not _SKIP_WEIGHT_GRADS[0] \
            else None
        return gx, gw, None


class _ConvInputGrad(Function):
    """``gx = A(w)^T gy``: the input gradient of a convolution, bilinear in (gy, w)."""

    @staticmethod
    def forward(ctx, gy: Tensor, w: Tensor, x_shape: torch.Size, spec: _ConvSpec) -> Tensor:
        ctx.save_for_backward(gy, w)
        ctx.spec = spec
        return _conv_backward(gy, _like(x_shape, gy, w), w, spec, [True, False, False])[0]

    @staticmethod
    def backward(ctx, ggx: Tensor):
        gy, w = ctx.saved_tensors
        # <ggx, A(w)^T gy> = <A(w) ggx, gy>: d/dgy = conv(ggx, w); d/dw = weight gradient of (ggx, gy).
        d_gy = _Conv.apply(ggx, w, ctx.spec) if ctx.needs_input_grad[0] else None
        d_w = _ConvWeightGrad.apply(ggx, gy, w.shape, ctx.spec) if ctx.needs_input_grad[1] else None
        return d_gy, d_w, None, None


class _ConvWeightGrad(Function):
    """``gw = B(x, gy)``: the weight gradient of a convolution, bilinear in (x, gy)."""

    @staticmethod
    def forward(ctx, x: Tensor, gy: Tensor, w_shape: torch.Size, spec: _ConvSpec) -> Tensor:
        ctx.save_for_backward(x, gy)
        ctx.spec = spec
        return _conv_backward(gy, x, _like(w_shape, x, gy), spec, [False, True, False])[1]

    @staticmethod
    def backward(ctx, ggw: Tensor):
        x, gy = ctx.saved_tensors
        # <ggw, B(x, gy)> = <conv(x, ggw), gy>: d/dx = A(ggw)^T gy; d/dgy = conv(x, ggw).
        d_x = _ConvInputGrad.apply(gy, ggw, x.shape, ctx.spec) if ctx.needs_input_grad[0] else None
        d_gy = _Conv.apply(x, ggw, ctx.spec) if ctx.needs_input_grad[1] else None
        return d_x, d_gy, None, None


def _channel_dims(x: Tensor) -> tuple[int, ...]:
    return (0,) + tuple(range(2, x.dim()))


def _per_channel(v: Tensor, x: Tensor) -> Tensor:
    """A per-channel vector ``(C,)`` shaped to broadcast against ``x`` ``(N, C, ...)``."""
    return v.view((1, -1) + (1,) * (x.dim() - 2))


class _BatchNorm(Function):
    """Training-mode batch-norm (batch statistics; running statistics updated as ``F.batch_norm`` does)."""

    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor | None, bias: Tensor | None, running_mean: Tensor | None,
                running_var: Tensor | None, momentum: float, eps: float) -> Tensor:
        y, mean, invstd = torch.native_batch_norm(x, weight, bias, running_mean, running_var, True, momentum, eps)
        ctx.save_for_backward(x, weight, mean, invstd)
        ctx.eps = eps
        return y

    @staticmethod
    def backward(ctx, gy: Tensor):
        x, weight, mean, invstd = ctx.saved_tensors
        gx, gw, gb = _BatchNormBackward.apply(gy, x, weight, mean, invstd, ctx.eps)
        return (gx if ctx.needs_input_grad[0] else None, gw if ctx.needs_input_grad[1] else None,
                gb if ctx.needs_input_grad[2] else None, None, None, None, None)


class _BatchNormBackward(Function):
    """``(gx, gw, gb)`` of training-mode batch-norm, with its derivative in closed form.

    Per channel, with ``M`` values, ``xh = (x - mean) * invstd``, ``gb = sum(gy)``,
    ``gw = sum(gy * xh)`` and ``gx = w * invstd * (gy - gb/M - xh * gw/M)``. For incoming
    gradients ``(u, ugw, ugb)`` of ``(gx, gw, gb)``, with ``A = mean(u gy) - mean(u) mean(gy)``,
    ``Bg = mean(gy xh)``, ``Bu = mean(u xh)``:

    * d/dgy = w invstd (u - mean(u) - xh Bu) + ugw xh + ugb;
    * d/dx = -w invstd^2 [xh (A - 3 Bg Bu) + Bu (gy - mean(gy)) + Bg (u - mean(u))]
      + ugw invstd (gy - mean(gy) - xh Bg);
    * d/dw = M invstd (A - Bg Bu).
    """

    @staticmethod
    def forward(ctx, gy: Tensor, x: Tensor, weight: Tensor | None, mean: Tensor, invstd: Tensor, eps: float):
        gx, gw, gb = torch.ops.aten.native_batch_norm_backward(gy, x, weight, None, None, mean, invstd, True, eps,
                                                               [True, True, True])
        ctx.save_for_backward(gy, x, weight, mean, invstd, gw, gb)
        return gx, gw, gb

    @staticmethod
    @once_differentiable
    def backward(ctx, u: Tensor | None, ugw: Tensor | None, ugb: Tensor | None):
        gy, x, weight, mean, invstd, gw, gb = ctx.saved_tensors
        dims = _channel_dims(x)
        m = x.numel() // x.shape[1]
        c = lambda v: _per_channel(v, x)  # noqa: E731
        xh = torch.addcmul(c(-mean * invstd), x, c(invstd))
        bg, gy_mean = gw / m, gb / m  # mean(gy xh), mean(gy): the forward's reductions
        gamma = torch.ones_like(invstd) if weight is None else weight
        d_gy = torch.zeros_like(gy) if u is None and ugw is None and ugb is None else None
        d_x = torch.zeros_like(x) if u is None and ugw is None else None
        d_w = None
        if u is not None:
            u_mean = u.mean(dims)
            a = (u * gy).mean(dims) - u_mean * gy_mean
            bu = (u * xh).mean(dims)
            s = gamma * invstd
            s2 = s * invstd
            # d/dgy = s (u - mean(u) - xh Bu)
            d_gy = torch.addcmul(c(-s * u_mean), u, c(s)).addcmul_(xh, c(-s * bu))
            # d/dx = -s2 [xh (A - 3 Bg Bu) + Bu (gy - mean(gy)) + Bg (u - mean(u))]
            d_x = torch.addcmul(c(s2 * (bu * gy_mean + bg * u_mean)), xh, c(-s2 * (a - 3 * bg * bu)))
            d_x.addcmul_(gy, c(-s2 * bu)).addcmul_(u, c(-s2 * bg))
            if weight is not None and ctx.needs_input_grad[2]:
                d_w = m * invstd * (a - bg * bu)
        if ugw is not None:
            term = torch.addcmul(c(-invstd * ugw * gy_mean), gy, c(invstd * ugw)).addcmul_(xh, c(-invstd * ugw * bg))
            d_x = term if d_x is None else d_x.add_(term)
            d_gy = xh * c(ugw) if d_gy is None else d_gy.addcmul_(xh, c(ugw))
        if ugb is not None:
            d_gy = c(ugb).expand_as(gy).clone() if d_gy is None else d_gy.add_(c(ugb))
        return d_gy, d_x, d_w, None, None, None


class _ReLU(Function):
    """``relu(x)``; its backward's derivative in the input is zero, so none is computed."""

    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        y = torch.relu(x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, gy: Tensor):
        (y,) = ctx.saved_tensors
        return _ReLUBackward.apply(gy, y)


class _ReLUBackward(Function):
    """``gy * [y > 0]``: linear in ``gy``; piecewise constant (derivative 0) in ``y``."""

    @staticmethod
    def forward(ctx, gy: Tensor, y: Tensor) -> Tensor:
        ctx.save_for_backward(y)
        return torch.ops.aten.threshold_backward(gy, y, 0)

    @staticmethod
    def backward(ctx, gg: Tensor):
        (y,) = ctx.saved_tensors
        return _ReLUBackward.apply(gg, y), None


def _conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    spec = _ConvSpec(_pair(stride), _pair(padding), _pair(dilation), int(groups))
    y = _Conv.apply(x, weight, spec)
    return y if bias is None else y + _per_channel(bias, y)


def _batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    return _BatchNorm.apply(x, weight, bias, running_mean, running_var, momentum, eps)


def _avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                divisor_override=None, *, conv=F.conv2d):
    """``F.avg_pool2d`` as a depthwise convolution (see the module doc); ``conv`` computes the convolution."""
    k, p = _pair(kernel_size), _pair(padding)
    s = _pair(stride) if stride not in (None, [], ()) else k
    c = x.shape[1]
    weight = torch.full((c, 1) + k, 1.0 / (k[0] * k[1]), dtype=x.dtype, device=x.device)
    if _channels_last(x):
        weight = weight.contiguous(memory_format=torch.channels_last)
    y = conv(x, weight, None, s, p, 1, c)
    if count_include_pad or p == (0, 0):
        return y
    # Windows at the border hold fewer than k^2 real values: rescale their mean to those.
    ones = torch.ones((1, 1) + tuple(x.shape[2:]), dtype=x.dtype, device=x.device)
    count = F.avg_pool2d(ones, k, s, p, count_include_pad=True) * (k[0] * k[1])
    return y * (k[0] * k[1] / count)


class _FastMode(TorchFunctionMode):
    """Routes avg_pool2d (and with ``second_order`` conv2d / training-mode batch_norm / relu) to the functions above."""

    def __init__(self, second_order: bool) -> None:
        super().__init__()
        self.second_order = second_order

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is F.avg_pool2d and _plain_avg_pool2d(*args, **kwargs):
            return _avg_pool2d(*args, **kwargs, conv=_conv2d if self.second_order else F.conv2d)
        if self.second_order:
            if func is F.conv2d and _plain_conv2d(*args, **kwargs):
                return _conv2d(*args, **kwargs)
            if func is F.batch_norm and _training_batch_norm(*args, **kwargs):
                return _batch_norm(*args, **kwargs)
            if func in (F.relu, torch.relu) and not _inplace(*args, **kwargs):
                return _ReLU.apply(args[0] if args else kwargs["input"])
        return func(*args, **kwargs)


def _plain_avg_pool2d(x, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                      divisor_override=None) -> bool:
    return isinstance(x, Tensor) and x.dim() == 4 and not ceil_mode and divisor_override is None \
        and x.is_floating_point()


def _plain_conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1) -> bool:
    # String padding ("same"/"valid") and unbatched inputs keep PyTorch's path.
    return isinstance(x, Tensor) and x.dim() == 4 and weight.dim() == 4 and not isinstance(padding, str)


def _training_batch_norm(x, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1,
                         eps=1e-5) -> bool:
    return bool(training) and isinstance(x, Tensor) and x.dim() >= 2 and x.numel() > x.shape[1]


def _inplace(x=None, inplace=False, **kwargs) -> bool:
    return bool(inplace)


@contextmanager
def fast_ops(second_order: bool = False) -> Iterator[None]:
    """Within this block, modules run through the faster kernels of the module doc.

    Args:
        second_order: also record conv2d, training-mode batch_norm and relu with lean double
            backward; use it around the forward pass whose graph will be differentiated twice
            (``torch.autograd.grad(..., create_graph=True)`` then a second ``grad``).
    """
    with _FastMode(second_order):
        yield


__all__ = ["fast_ops", "input_gradients_only"]
