"""synflow: synaptic flow ``sum |W * dR/dW|`` of the linearized network.

Tanaka, Kunin, Yamins, Ganguli, "Pruning neural networks without any data by iteratively
conserving synaptic flow", NeurIPS 2020; as a NAS proxy in Abdelfattah et al., "Zero-Cost
Proxies for Lightweight NAS", ICLR 2021. The network at initialization with every parameter and
buffer replaced by its absolute value, batch-norm removed (as the reference's ``bn=False``), in
float64 (the products overflow float32 in deep networks), gets an all-ones input of one sample;
``R = sum(logits)``; the score sums ``|W * dR/dW|`` over Conv2d/Linear weights. Data-independent.
"""
from __future__ import annotations

import torch
from torch import nn

from .base import register_proxy, sum_over_layers, weight_layers
from .fast_ops import fast_ops


@register_proxy("synflow", data_dependent=False,
                reference="Tanaka et al., SynFlow, NeurIPS 2020; Abdelfattah et al., ICLR 2021")
def synflow(ctx) -> float:
    module = ctx.fresh_module(dtype=torch.float64)
    for i, op in enumerate(ctx.graph.ops):
        if op == "batch_norm":
            setattr(module, f"n{i}", nn.Identity())
    with torch.no_grad():
        for tensor in module.state_dict().values():
            if tensor.is_floating_point():
                tensor.abs_()
    module.train()
    x = torch.ones((1,) + tuple(ctx.graph.input_shape), dtype=torch.float64, device=ctx.device)
    layers = list(weight_layers(module))
    weights = [layer.weight for layer in layers]
    with fast_ops():
        r = module(x).sum()
    grads = torch.autograd.grad(r, weights, allow_unused=True)
    return sum_over_layers([None if g is None else (w.detach() * g).abs() for w, g in zip(weights, grads)])
