"""Benchmark readers: each reads one benchmark's labels from its original file format.

``get_reader(name).read(path=None, data_dir=None)`` returns a long table with exactly
:data:`archbench.datasets.schema.READER_COLUMNS`; see :mod:`archbench.benchmarks.base`.
"""
from __future__ import annotations

import importlib

from .base import READERS, BenchmarkReader

# Modules that define readers; imported on first lookup so ``import archbench`` stays cheap.
_READER_MODULES = ("nats_csv", "analognas", "help_latency", "hw_nas_bench_360", "brp_nas",
                  "darts_naslib_zc", "darts_antoyang", "darts_oncenas",
                  "transnas101", "help_mobile", "fbnet_nasflat_zc",
                  "nasbench_graph", "nasbench_nlp", "spikenas",
                  "nb101_tfrecord", "nb101_1k", "nb101_naslib_zc", "nb101_ecnas_surrogate", "hat")
_loaded = False


def _load_all() -> None:
    global _loaded
    if not _loaded:
        for mod in _READER_MODULES:
            importlib.import_module(f"{__name__}.{mod}")
        _loaded = True


def get_reader(name: str) -> BenchmarkReader:
    """An instance of the registered benchmark reader ``name`` (error lists the valid names)."""
    _load_all()
    return READERS.get(name)()


def list_readers() -> list[str]:
    """Names of all registered benchmark readers, sorted."""
    _load_all()
    return READERS.names()


__all__ = ["READERS", "BenchmarkReader", "get_reader", "list_readers"]
