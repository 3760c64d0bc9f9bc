"""fisher: Fisher-information channel saliency summed over the network.

Theis, Korshunova, Tejani, Huszar, "Faster gaze prediction with dense networks and Fisher
pruning", 2018; Turner et al., "BlockSwap", ICLR 2020; as a NAS proxy in Abdelfattah et al.,
"Zero-Cost Proxies for Lightweight NAS", ICLR 2021. For every Conv2d/Linear output activation
``a`` (N, C, ...) with loss gradient ``g``: ``0.5 * mean_n (sum_spatial a * g)^2`` per channel.
As in the reference code (abdelfattah-lab/zero-cost-nas, and NASLib's NAS-Bench-Suite-Zero scores)
each channel's saliency is given to every weight of that channel (``C_in/groups * k * k`` for a
conv, ``in_features`` for a linear layer) and then everything is summed; a plain sum over channels
ranks NASLib's NB101 cells at 0.911 against its stored scores, this one at 0.989.

Version 2 is this per-weight sum; version 1 summed the channel saliencies (scores stored by it
are stale and recomputed by ``archbench proxies``).
"""
from __future__ import annotations

from .base import register_proxy, sum_over_layers


@register_proxy("fisher", needs=("act_grads",), data_dependent=True,
                reference="Theis et al. 2018; Turner et al., BlockSwap, ICLR 2020; Abdelfattah et al., ICLR 2021",
                version=2)
def fisher(ctx) -> float:
    return sum_over_layers(list(ctx.data_pass().fisher_terms))
