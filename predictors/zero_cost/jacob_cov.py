"""jacob_cov: correlation of input Jacobians across a minibatch.

Mellor, Turner, Storkey, Crowley, "Neural Architecture Search without Training", arXiv
2006.04647v1 (2020), Eq. 2; as a proxy in Abdelfattah et al., "Zero-Cost Proxies for
Lightweight NAS", ICLR 2021. With ``J_n = d sum(logits_n) / d x_n`` flattened, ``Sigma`` the
correlation matrix of the N Jacobians and ``v`` its eigenvalues:
``-sum_i [log(v_i + k) + 1 / (v_i + k)]`` with ``k = 1e-5``. (NASLib calls it ``jacov``.)
"""
from __future__ import annotations

import numpy as np

from .base import NonFinite, register_proxy

K = 1e-5


def jacob_cov_score(jacobian: np.ndarray) -> "float | NonFinite":
    """The score of an ``(N, D)`` matrix of per-sample Jacobians."""
    std = jacobian.std(axis=1)
    flat = int((std == 0).sum())
    if flat:
        return NonFinite(f"{flat} of {len(jacobian)} samples have a constant input gradient, so their correlation "
                         f"with the others is undefined (the output does not vary with the input)")
    corr = np.corrcoef(jacobian)
    v = np.linalg.eigvalsh(corr)  # symmetric: real eigenvalues (the reference's eig, without complex noise)
    if v.min() <= -K:
        return NonFinite(f"the Jacobian correlation matrix has eigenvalue {v.min():.3g} <= -k = -1e-5 "
                         f"(rounding error), so log(v + k) is undefined")
    return float(-np.sum(np.log(v + K) + 1.0 / (v + K)))


@register_proxy("jacob_cov", needs=("input_jacobian",), data_dependent=True,
                reference="Mellor et al., NAS without Training, arXiv:2006.04647v1, 2020; Abdelfattah et al., ICLR 2021")
def jacob_cov(ctx) -> "float | NonFinite":
    return jacob_cov_score(ctx.data_pass().jacobian)
