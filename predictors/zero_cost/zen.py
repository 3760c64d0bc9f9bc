"""zen: Zen-score, the expressivity of the pre-pooling feature map under a small input perturbation.

Lin, Wang, Sun, Chen, Sun, Qian, Li, Jin, "Zen-NAS: A Zero-Shot NAS for High-Performance Image
Recognition", ICCV 2021 (as implemented in NASLib for NAS-Bench-Suite-Zero). The network is
re-initialized with N(0, 1) Conv2d/Linear weights (zero biases, BatchNorm2d scale 1, shift 0) and
run in training mode on two Gaussian inputs of the minibatch's shape, ``x`` and
``x + 0.01 * eps``; with ``f`` the input of the last global average pool (the logits if there is
none): ``log(mean_n sum |f(x) - f(x + 0.01 eps)|) + sum_{BatchNorm2d} log sqrt(mean(running_var))``.
Data-independent (only the batch size matters); weights and inputs are drawn from the seed.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from archbench.graphs.torch_module import GlobalAvgPool

from .base import NonFinite, register_proxy, weight_layers
from .fast_ops import fast_ops

MIXUP_GAMMA = 1e-2


@register_proxy("zen", data_dependent=False,
                reference="Lin et al., Zen-NAS, ICCV 2021")
def zen(ctx) -> "float | NonFinite":
    module = ctx.fresh_module()
    gen = torch.Generator(device=ctx.device).manual_seed(ctx.seed)
    with torch.no_grad():
        for layer in weight_layers(module):
            # Drawn in logical (contiguous) order, so the values do not depend on the memory format.
            layer.weight.copy_(torch.empty(layer.weight.shape, dtype=layer.weight.dtype).normal_(generator=gen))
            if layer.bias is not None:
                layer.bias.zero_()
        for m in module.modules():
            if isinstance(m, nn.BatchNorm2d) and m.affine:
                m.weight.fill_(1.0)
                m.bias.zero_()
    module.train()
    shape = tuple(ctx.batch.x.shape)
    x = torch.randn(shape, generator=gen, dtype=ctx.dtype, device=ctx.device).contiguous(memory_format=torch.channels_last)
    eps = torch.randn(shape, generator=gen, dtype=ctx.dtype, device=ctx.device).contiguous(memory_format=torch.channels_last)

    pools = [m for m in module.modules() if isinstance(m, GlobalAvgPool)]
    features: list[torch.Tensor] = []
    hook = (pools[-1].register_forward_hook(lambda m, i, o: features.append(i[0])) if pools
            else None)  # modules() follows topological order: the last pool is the head's
    try:
        with torch.no_grad(), fast_ops():
            a = module(x)
            b = module(x + MIXUP_GAMMA * eps)
    finally:
        if hook is not None:
            hook.remove()
    if pools:
        a, b = features
    diff = (a - b).abs().sum(dim=tuple(range(1, a.dim()))).mean()
    if float(diff) == 0.0:
        return NonFinite("the perturbed input gives exactly the same features (they do not depend on the input), "
                         "so the score is log(0) = -inf", -math.inf)
    bn_scale = 0.0
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d) and m.running_var is not None:
            bn_scale += math.log(math.sqrt(float(m.running_var.mean())))
    return math.log(float(diff)) + bn_scale
