"""nwot (NASWOT): log-determinant of the Hamming kernel of ReLU activation codes.

Mellor, Turner, Storkey, Crowley, "Neural Architecture Search without Training", ICML 2021.
For every ReLU layer, each sample's binary code ``c = [input > 0]``; the kernel
``K = sum_layers c c^T + (1 - c)(1 - c)^T`` (N x N) counts agreeing units; the score is
``log |det K|``. ReLU layers are ReLU, ReLU6 and LeakyReLU (NASLib hooks every "ReLU" module);
a network without them has no score.
"""
from __future__ import annotations

import math

import numpy as np

from .base import NonFinite, register_proxy


def nwot_score(kernel: np.ndarray) -> "float | NonFinite":
    """``log |det K|`` of an N x N kernel."""
    sign, logdet = np.linalg.slogdet(kernel)
    if sign == 0:
        return NonFinite("the activation-code kernel is singular (e.g. two samples activate the same ReLU units), "
                         "so the score is log det K = log(0) = -inf", -math.inf)
    return float(logdet)


@register_proxy("nwot", needs=("relu_kernel",), data_dependent=True,
                reference="Mellor et al., Neural Architecture Search without Training, ICML 2021")
def nwot(ctx) -> "float | NonFinite":
    p = ctx.data_pass()
    if p.relu_layers == 0:
        return NonFinite("the network has no ReLU layer, whose activation codes NASWOT counts")
    return nwot_score(p.relu_kernel)
