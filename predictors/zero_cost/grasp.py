"""grasp: gradient signal preservation ``sum -W * (H g)``.

Wang, Zhang, Grosse, "Picking Winning Tickets Before Training by Preserving Gradient Flow"
(GraSP), ICLR 2020; as a NAS proxy in Abdelfattah et al., "Zero-Cost Proxies for Lightweight
NAS", ICLR 2021: ``-sum_l W_l * (H g)_l`` over Conv2d/Linear weights, with ``g`` the
cross-entropy gradient and ``H`` its Hessian (temperature 1, one iteration).
"""
from __future__ import annotations

from .base import register_proxy, sum_over_layers


@register_proxy("grasp", needs=("hessian_grad",), data_dependent=True,
                reference="Wang et al., GraSP, ICLR 2020; Abdelfattah et al., ICLR 2021")
def grasp(ctx) -> float:
    p = ctx.data_pass()
    return sum_over_layers([None if hg is None else -w.detach() * hg for w, hg in zip(p.weights, p.hessian_grads)])
