"""epe_nas: class-wise correlation of input Jacobians.

Lopes, Santos, Alexandre, "EPE-NAS: Efficient Performance Estimation Without Training for Neural
Architecture Search", ICANN 2021. The Jacobians ``d sum(logits_n) / d x_n`` are grouped by label;
for each class ``c`` present, ``s_c = sum_ij log(|Sigma_c[i, j]| + k)`` over the correlation
matrix of its Jacobians (``k = 1e-5``). With at most 100 classes the score is ``sum_c |s_c|``;
with more, ``s_c`` is first divided by the class's sample count and the score is
``sum_c sum_c' |s_c - s_c'| / (number of classes present)`` (NASLib's implementation).
"""
from __future__ import annotations

import numpy as np

from .base import NonFinite, register_proxy

K = 1e-5


def epe_nas_score(jacobian: np.ndarray, labels: np.ndarray, num_classes: int) -> "float | NonFinite":
    """The score of per-sample Jacobians ``(N, D)`` with integer ``labels`` ``(N,)``."""
    per_class = {}
    for c in np.unique(labels):
        rows = jacobian[labels == c]
        if len(rows) > 1:
            flat = int((rows.std(axis=1) == 0).sum())
            if flat:
                return NonFinite(f"{flat} samples of class {int(c)} have a constant input gradient, so their "
                                 f"correlation is undefined (the output does not vary with the input)")
            corr = np.corrcoef(rows)
        else:
            corr = np.ones((1, 1))  # one sample: its correlation with itself (np.corrcoef gives 1.0)
        s = float(np.sum(np.log(np.abs(corr) + K)))
        per_class[int(c)] = s / len(corr) if num_classes > 100 else s
    values = np.array(list(per_class.values()))
    if num_classes <= 100:
        return float(np.abs(values).sum())
    return float(np.abs(values[:, None] - values[None, :]).sum() / len(values))


@register_proxy("epe_nas", needs=("input_jacobian",), data_dependent=True,
                reference="Lopes et al., EPE-NAS, ICANN 2021")
def epe_nas(ctx) -> "float | NonFinite":
    p = ctx.data_pass()
    return epe_nas_score(p.jacobian, ctx.batch.y.numpy(), p.num_classes)
