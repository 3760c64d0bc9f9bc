"""grad_norm: sum over layers of the Euclidean norm of the loss gradient of the weights.

Abdelfattah, Mehrotra, Dudziak, Lane, "Zero-Cost Proxies for Lightweight NAS", ICLR 2021
(the ``grad_norm`` baseline): ``sum_l || d CE / d W_l ||_2`` over Conv2d/Linear weights at
initialization, on one minibatch.
"""
from __future__ import annotations

from .base import register_proxy


@register_proxy("grad_norm", needs=("weight_grads",), data_dependent=True,
                reference="Abdelfattah et al., Zero-Cost Proxies for Lightweight NAS, ICLR 2021")
def grad_norm(ctx) -> float:
    grads = ctx.data_pass().weight_grads
    return float(sum(float(g.double().norm()) for g in grads if g is not None))
