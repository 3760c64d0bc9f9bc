"""archbench: neural-architecture performance prediction on one computation-graph representation.

Public API (imported lazily, so ``import archbench`` is cheap):

    archbench.get_space(name)      a search space (parse, sample, mutate, build_cg)
    archbench.list_spaces()
    archbench.connect(home=None)   read-only DuckDB connection with every table as a view
    archbench.build(space, ...)    build a space's tables into the data home
    archbench.load_predictor(path) a saved predictor with predict(archs, space=...) and rank(...)
"""
from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "get_space": ("archbench.graphs.spaces", "get_space"),
    "list_spaces": ("archbench.graphs.spaces", "list_spaces"),
    "ComputationGraph": ("archbench.graphs.cg", "ComputationGraph"),
    "GraphBuilder": ("archbench.graphs.cg", "GraphBuilder"),
    "connect": ("archbench.datasets.catalog", "connect"),
    "query": ("archbench.datasets.catalog", "query"),
    "build": ("archbench.datasets.build", "build"),
    "data_home": ("archbench.datasets.store", "data_home"),
    "load_predictor": ("archbench.api", "load_predictor"),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'archbench' has no attribute {name!r}")


__all__ = sorted(_LAZY) + ["__version__"]
