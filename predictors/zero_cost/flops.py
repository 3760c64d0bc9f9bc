"""flops: floating-point operations of one forward pass for one sample.

A baseline of Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021, and of
NAS-Bench-Suite-Zero (Krishnakumar et al., NeurIPS 2022). Read from the computation graph, with
its convention (one multiply-accumulate = one FLOP, as NAS-Bench-201 counts); a plain count,
where NASLib stores millions.
"""
from __future__ import annotations

from .base import register_proxy


@register_proxy("flops", data_dependent=False,
                reference="Abdelfattah et al., ICLR 2021; Krishnakumar et al., NAS-Bench-Suite-Zero, NeurIPS 2022")
def flops(ctx) -> float:
    return float(ctx.graph.flops)
