"""Fixtures for the search tests: tiny oracles built in code and a data home with synthetic labels."""
from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest

from archbench.eval.search import TabularOracle
from archbench.graphs.spaces import get_space

#: Additive NB201 score: the global optimum is nor_conv_3x3 on every edge (weights differ per edge
#: so every op choice matters, and no two edges tie).
_OP_SCORE = {"none": 0.0, "skip_connect": 1.0, "avg_pool_3x3": 1.5, "nor_conv_1x1": 3.0, "nor_conv_3x3": 4.0}
_EDGE_WEIGHT = (1.0, 1.1, 1.2, 1.3, 1.4, 1.5)


def tiny_value(arch) -> float:
    """Unique value per tinychain architecture; the best is (3, 3, 3, skip) = 21.5."""
    k0, k1, k2, skip = arch
    return 4.0 * k0 + 2.0 * k1 + k2 + 0.5 * skip


def nb201_value(arch) -> float:
    return float(sum(w * _OP_SCORE[op] for w, op in zip(_EDGE_WEIGHT, arch)))


def nb201_latency(arch) -> float:
    """A cost that grows with convolutions (3x3 dearer than 1x1): conflicts with nb201_value."""
    return float(sum({"nor_conv_3x3": 9.0, "nor_conv_1x1": 1.0}.get(op, 0.1) for op in arch))


@pytest.fixture(scope="session")
def tiny_oracle() -> TabularOracle:
    space = get_space("tinychain")
    return TabularOracle.from_values(space, {a: tiny_value(a) for a in space.enumerate()}, "score:max")


@pytest.fixture(scope="session")
def nb201_table() -> pd.DataFrame:
    space = get_space("nb201")
    archs = list(space.enumerate())
    return pd.DataFrame({"score": [nb201_value(a) for a in archs], "latency": [nb201_latency(a) for a in archs]},
                        index=[space.arch_id(a) for a in archs])


@pytest.fixture
def nb201_oracle(nb201_table) -> TabularOracle:
    return TabularOracle("nb201", "score:max", nb201_table)


def write_synthetic_metrics(home, rows: list[dict]) -> None:
    """Commit metrics rows (dicts of the metrics columns) as unit ``tinychain/synthetic``."""
    from archbench.datasets.catalog import refresh_catalog
    from archbench.datasets.store import Store, write_parquet

    store = Store(home)
    cols = ["arch_id", "space", "source", "dataset", "metric", "fidelity", "device", "value", "unit", "seed"]
    table = pa.table({c: [r.get(c) for r in rows] for c in cols})
    path = write_parquet(table, "metrics", store.staging_dir("synthetic") / "metrics.parquet")
    with store.writer_lock():
        store.commit({"tinychain/synthetic": {"metrics": [path]}})
    refresh_catalog(store)


@pytest.fixture
def tiny_home(home):
    """A data home with all 16 tinychain graphs and synthetic labels.

    ``score`` from two sources (``synth`` = :func:`tiny_value`, ``other`` = its negative) and
    ``latency`` on device ``dev`` (the number of 3x3 convolutions plus 1).
    """
    from archbench.datasets.build import build

    build("tinychain", home=home, sources=[], workers=1, progress=False)
    space = get_space("tinychain")
    rows = []
    for a in space.enumerate():
        base = {"arch_id": space.arch_id(a), "space": "tinychain", "dataset": "toy", "fidelity": 10.0, "unit": ""}
        rows.append({**base, "source": "synth", "metric": "score", "value": tiny_value(a)})
        rows.append({**base, "source": "other", "metric": "score", "value": -tiny_value(a)})
        rows.append({**base, "source": "synth", "metric": "latency", "device": "dev", "fidelity": None,
                     "value": 1.0 + sum(k == 3 for k in a[:3])})
    write_synthetic_metrics(home, rows)
    return home
