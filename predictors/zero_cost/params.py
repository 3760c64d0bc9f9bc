"""params: number of trainable parameters.

A baseline of Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021, and of
NAS-Bench-Suite-Zero (Krishnakumar et al., NeurIPS 2022). Read from the computation graph (equal
to the executable module's parameter count); a plain count, where NASLib stores millions.
"""
from __future__ import annotations

from .base import register_proxy


@register_proxy("params", data_dependent=False,
                reference="Abdelfattah et al., ICLR 2021; Krishnakumar et al., NAS-Bench-Suite-Zero, NeurIPS 2022")
def params(ctx) -> float:
    return float(ctx.graph.params)
