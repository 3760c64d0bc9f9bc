"""Compute zero-cost proxies for one computation graph (the library entry point for a single network)."""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import torch

from archbench.errors import ArchbenchError

from .base import PROXIES, NonFinite, Proxy
from .data import Minibatch, MinibatchSource, RandomSource
from .passes import ProxyContext

if TYPE_CHECKING:
    from archbench.graphs.cg import ComputationGraph

log = logging.getLogger("archbench.zero_cost")


@dataclass(frozen=True)
class ProxyScore:
    """One proxy's result.

    Attributes:
        value: the score (NaN where the proxy is undefined for this network, -inf for log(0); see ``reason``).
        seconds: compute time of the proxy with the shared passes it used (see :mod:`.passes`).
        reason: why ``value`` is not a finite number ("" when it is).
    """

    value: float
    seconds: float
    reason: str = ""


def _load_all() -> None:
    from . import _load_proxies

    _load_proxies()


def list_proxies() -> list[str]:
    """Names of every registered proxy (sorted)."""
    _load_all()
    return PROXIES.names()


def get_proxy(name: str) -> Proxy:
    """The registered proxy ``name`` (an unknown name raises listing the valid ones)."""
    _load_all()
    return PROXIES.get(name)


def resolve_proxies(proxies: "Sequence[str] | str | None") -> list[Proxy]:
    """Proxy records for names (a list, or one comma-separated string); None or "all" means every proxy."""
    if proxies is None or proxies == "all":
        return [get_proxy(n) for n in list_proxies()]
    names = [p.strip() for p in proxies.split(",")] if isinstance(proxies, str) else list(proxies)
    names = [n for n in names if n]
    if not names:
        raise ArchbenchError(f"no proxy named; expected some of: {', '.join(list_proxies())} (or 'all')")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ArchbenchError(f"proxies named more than once: {', '.join(dup)}")
    return [get_proxy(n) for n in names]


def compute_proxies(graph: "ComputationGraph", proxies: "Sequence[str] | str | None" = None, *,
                    data: "MinibatchSource | Minibatch | None" = None, batch_size: int = 64, seed: int = 0,
                    dtype: "str | torch.dtype" = "float32", device: "str | torch.device" = "cpu",
                    what: str | None = None) -> dict[str, ProxyScore]:
    """Score one network with zero-cost proxies at initialization.

    Args:
        graph: the network (its executable module is built with ``to_module(graph, seed=seed)``).
        proxies: names (see :func:`list_proxies`); None for all 13.
        data: a minibatch source (default :class:`~.data.RandomSource`, see :mod:`.data`) or a
            ready :class:`~.data.Minibatch`.
        batch_size: samples in the minibatch (ignored when ``data`` is a Minibatch).
        seed: seeds parameter initialization, the minibatch draw and zen's Gaussian draws.
        dtype: ``"float32"`` (default) or ``"float64"`` for module and batch (synflow always uses float64).
        device: where to compute.
        what: how to name the network in log messages (default ``space:encoding``).

    Returns:
        ``{proxy name: ProxyScore}`` in the order asked. Non-finite values are kept (never
        replaced) and their reason is logged on the ``archbench.zero_cost`` logger.
    """
    chosen = resolve_proxies(proxies)
    what = what or f"{graph.space}:{graph.encoding}"
    if isinstance(data, Minibatch):
        batch = data.check(graph.input_shape, graph.num_classes, what)
    else:
        source = data if data is not None else RandomSource()
        batch = source.minibatch(batch_size, seed, tuple(graph.input_shape), graph.num_classes)
    needs = frozenset().union(*(p.needs for p in chosen))
    ctx = ProxyContext(graph, batch, needs, seed=seed, dtype=dtype, device=device)
    results: dict[str, ProxyScore] = {}
    for proxy in chosen:
        before = sum(ctx.pass_seconds.values())
        ctx.start_proxy()
        t0 = time.perf_counter()
        raw = proxy.score(ctx)
        elapsed = time.perf_counter() - t0
        new_shared = sum(ctx.pass_seconds.values()) - before
        seconds = elapsed - new_shared + sum(ctx.pass_seconds[n] for n in ctx.used_passes())
        if isinstance(raw, NonFinite):
            value, reason = raw.value, raw.reason
        else:
            value, reason = float(raw), ""
            if not math.isfinite(value):
                reason = f"the computation gave {value} (overflow or an undefined operation in {proxy.name})"
        if reason:
            log.warning("zero-cost proxy %s is %s for %s: %s", proxy.name, value, what, reason)
        results[proxy.name] = ProxyScore(value, seconds, reason)
    return results
