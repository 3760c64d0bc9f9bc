"""The zero-cost proxy record, its registry, and the layer conventions every proxy shares.

A proxy is a function ``score(ctx) -> float | NonFinite`` registered with :func:`register_proxy`
under its NAS-Bench-Suite-Zero name. It reads what it needs from a
:class:`~archbench.predictors.zero_cost.passes.ProxyContext`; proxies that declare the same
entries in ``needs`` share one forward/backward pass (see :mod:`.passes`).

Conventions taken from the reference implementation (Abdelfattah et al. 2021, ``foresight``,
reused by NASLib for NAS-Bench-Suite-Zero): per-parameter proxies are summed over the weights of
every ``Conv2d`` and ``Linear`` layer (biases and norm parameters are not scored), and reduced to
one float by summation.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterator

import torch
from torch import Tensor, nn

from archbench.registry import Registry

if TYPE_CHECKING:
    from .passes import ProxyContext

#: What a shared pass can provide (see :class:`~archbench.predictors.zero_cost.passes.DataPass`).
NEEDS: frozenset[str] = frozenset({
    "module",          # the initialized module (no data)
    "weight_grads",    # d CE / d W for every Conv2d/Linear weight
    "hessian_grad",    # H g: Hessian of CE times its gradient, per weight (GraSP)
    "act_grads",       # Conv2d/Linear outputs and d CE / d output (Fisher)
    "relu_kernel",     # NASWOT's Hamming kernel of ReLU activation codes
    "input_jacobian",  # d sum(logits) / d input, per sample (jacob_cov, epe_nas)
})

#: Layers whose weights per-parameter proxies score (as foresight/NASLib do).
WEIGHT_LAYERS: tuple[type[nn.Module], ...] = (nn.Conv2d, nn.Linear)


@dataclass(frozen=True)
class NonFinite:
    """A proxy value that is not a finite number, with the reason (logged, never replaced).

    Attributes:
        reason: why, in words.
        value: what the definition gives: NaN where it is undefined, -inf for ``log(0)``.
    """

    reason: str
    value: float = math.nan

    def __float__(self) -> float:
        return self.value


@dataclass(frozen=True)
class Proxy:
    """One registered zero-cost proxy.

    Attributes:
        name: registry name (``"synflow"``); stored as metric ``zc_<name>``.
        score: ``(ctx) -> float | NonFinite``.
        needs: entries of :data:`NEEDS` it reads from the shared passes.
        data_dependent: its value depends on the minibatch's images/labels (not only their shape).
        reference: the paper that defines it.
        version: version of archbench's definition (1 at first). Raise it when a change to the
            proxy's code changes its values: stored scores of another version are then stale,
            and ``archbench proxies`` recomputes them (the version is part of a stored unit's
            fingerprint, see :mod:`.pipeline`).
    """

    name: str
    score: Callable[["ProxyContext"], "float | NonFinite"]
    needs: frozenset[str]
    data_dependent: bool
    reference: str
    version: int = 1


PROXIES: Registry[Proxy] = Registry("zero-cost proxy")


def register_proxy(name: str, *, needs: tuple[str, ...] = (), data_dependent: bool, reference: str,
                   version: int = 1) -> Callable[[Callable], Callable]:
    """Decorator registering ``score(ctx)`` as proxy ``name`` (``version``: see :attr:`Proxy.version`)."""
    unknown = set(needs) - NEEDS
    if unknown:
        raise ValueError(f"proxy {name!r} needs unknown pass entries {sorted(unknown)}; expected some of {sorted(NEEDS)}")
    if not isinstance(version, int) or version < 1:
        raise ValueError(f"proxy {name!r}: version must be a positive integer, found {version!r}")

    def decorator(fn: Callable) -> Callable:
        PROXIES.register(name)(Proxy(name, fn, frozenset(needs), data_dependent, reference, version))
        return fn

    return decorator


def weight_layers(module: nn.Module) -> Iterator[nn.Module]:
    """The Conv2d/Linear layers of ``module`` in registration order."""
    return (m for m in module.modules() if isinstance(m, WEIGHT_LAYERS))


def sum_over_layers(values: list[Tensor | None]) -> float:
    """Sum of per-layer tensors (a layer whose gradient does not exist contributes 0)."""
    total = 0.0
    for v in values:
        if v is not None:
            total += float(v.sum(dtype=torch.float64))
    return total
