"""l2_norm: sum over layers of the Euclidean norm of the initial weights.

The ``l2_norm`` baseline of NAS-Bench-Suite-Zero: Krishnakumar, White, Zela, Tu, Safari, Hutter,
"NAS-Bench-Suite-Zero: Accelerating Research on Zero Cost Proxies", NeurIPS 2022 Datasets and
Benchmarks: ``sum_l ||W_l||_2`` over Conv2d/Linear weights at initialization (no data).
"""
from __future__ import annotations

from .base import register_proxy, weight_layers


@register_proxy("l2_norm", needs=("module",), data_dependent=False,
                reference="Krishnakumar et al., NAS-Bench-Suite-Zero, NeurIPS 2022")
def l2_norm(ctx) -> float:
    return float(sum(float(layer.weight.detach().double().norm()) for layer in weight_layers(ctx.module)))
