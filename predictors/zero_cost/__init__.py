"""Zero-cost proxies: score an untrained network from one minibatch, on any computation graph.

The 13 proxies of NAS-Bench-Suite-Zero, one module each, registered in :data:`PROXIES`:
synflow, snip, grasp, fisher, grad_norm, jacob_cov, nwot, zen, epe_nas, l2_norm, plain, params,
flops. Each returns one float per network (NaN, with the reason logged, where undefined).

    from archbench.predictors.zero_cost import compute_proxies, ArraySource
    scores = compute_proxies(graph, ["synflow", "jacob_cov"], data=ArraySource.from_npz("cifar10.npz"))

* :func:`compute_proxies` scores one graph (shared forward/backward passes: :mod:`.passes`);
* :mod:`.data`: minibatch sources (random default, numpy/.npz arrays, DataLoader);
* :func:`run_proxies` (:mod:`.pipeline`) scores a built space's architectures into the metrics
  table, resumably, serially or on a Dask cluster (``archbench proxies``).
"""
from __future__ import annotations

import importlib
import pkgutil

from .base import NEEDS, PROXIES, NonFinite, Proxy, register_proxy
from .compute import ProxyScore, compute_proxies, get_proxy, list_proxies, resolve_proxies
from .data import ArraySource, LoaderSource, Minibatch, MinibatchSource, RandomSource, open_source
from .pipeline import ProxyRunResult, run_proxies

#: Modules of this package that are machinery, not proxies.
_MACHINERY = frozenset({"base", "compute", "data", "fast_ops", "passes", "pipeline"})
_loaded = False


def _load_proxies() -> None:
    """Import every proxy module of this package (on first lookup, so importing the package stays cheap)."""
    global _loaded
    if not _loaded:
        for mod in pkgutil.iter_modules(__path__):
            if mod.name not in _MACHINERY and not mod.name.startswith("_"):
                importlib.import_module(f"{__name__}.{mod.name}")
        _loaded = True


__all__ = ["ArraySource", "LoaderSource", "Minibatch", "MinibatchSource", "NEEDS", "NonFinite", "PROXIES", "Proxy",
           "ProxyRunResult", "ProxyScore", "RandomSource", "compute_proxies", "get_proxy", "list_proxies", "open_source",
           "register_proxy", "resolve_proxies", "run_proxies"]
