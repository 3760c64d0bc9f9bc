"""plain: first-order loss sensitivity ``sum W * dL/dW`` (signed, no absolute value).

Mozer & Smolensky, "Skeletonization: A Technique for Trimming the Fat from a Network via
Relevance Assessment", NeurIPS 1989; the ``plain`` proxy of Abdelfattah et al., "Zero-Cost
Proxies for Lightweight NAS", ICLR 2021, summed over Conv2d/Linear weights.
"""
from __future__ import annotations

from .base import register_proxy, sum_over_layers


@register_proxy("plain", needs=("weight_grads",), data_dependent=True,
                reference="Mozer & Smolensky, NeurIPS 1989; Abdelfattah et al., ICLR 2021")
def plain(ctx) -> float:
    p = ctx.data_pass()
    return sum_over_layers([None if g is None else w.detach() * g for w, g in zip(p.weights, p.weight_grads)])
