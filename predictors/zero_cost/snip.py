"""snip: connection sensitivity ``sum |W * dL/dW|``.

Lee, Ajanthan, Torr, "SNIP: Single-shot Network Pruning based on Connection Sensitivity",
ICLR 2019; as a NAS proxy (summed over all Conv2d/Linear weights) in Abdelfattah et al.,
"Zero-Cost Proxies for Lightweight NAS", ICLR 2021.
"""
from __future__ import annotations

from .base import register_proxy, sum_over_layers


@register_proxy("snip", needs=("weight_grads",), data_dependent=True,
                reference="Lee et al., SNIP, ICLR 2019; Abdelfattah et al., ICLR 2021")
def snip(ctx) -> float:
    p = ctx.data_pass()
    return sum_over_layers([None if g is None else (w.detach() * g).abs() for w, g in zip(p.weights, p.weight_grads)])
