"""Fixtures for predictor tests: a small NB201 sample with a learnable synthetic target, and a data
home holding its tables (graphs + synthetic labels + a synthetic proxy score)."""
from __future__ import annotations

import random

import numpy as np
import pyarrow as pa
import pytest

from archbench.datasets.build import graph_tables
from archbench.datasets.store import Store, write_parquet
from archbench.datasets.views import GraphSet
from archbench.graphs.spaces import get_space

N_ARCHS = 120


def synthetic_accuracy(arch: tuple) -> float:
    """A target NB201 graph features can explain: 3x3 convs help, 'none' on the last edges hurts."""
    score = 60.0 + 4.0 * arch.count("nor_conv_3x3") + 2.0 * arch.count("nor_conv_1x1") + 1.0 * arch.count("skip_connect")
    score -= 15.0 * (arch[3] == arch[4] == arch[5] == "none")
    return score


def _nb201_sample(n: int, seed: int) -> list[tuple]:
    space = get_space("nb201")
    rng = random.Random(seed)
    archs = {}
    while len(archs) < n:
        a = space.sample(rng)
        archs[space.arch_key(a)] = a
    return [archs[k] for k in sorted(archs)]


@pytest.fixture(scope="session")
def nb201_task() -> tuple[GraphSet, np.ndarray]:
    """``(graphs, y)``: 120 NB201 networks, a synthetic target with noise, and a proxy extra."""
    space = get_space("nb201")
    archs = _nb201_sample(N_ARCHS, seed=7)
    graphs = GraphSet.from_graphs([space.build_cg(a) for a in archs], arch_ids=[space.arch_id(a) for a in archs])
    rng = np.random.default_rng(0)
    y = np.array([synthetic_accuracy(a) for a in archs]) + rng.normal(0, 0.5, len(archs))
    proxy = y + rng.normal(0, 3.0, len(archs))
    proxy[::17] = np.nan  # a few architectures without a score
    return graphs.with_extras({"zc_synflow": proxy}), y


def write_metrics(home, space_name: str, unit_source: str, rows: dict[str, list]) -> None:
    """Commit metric rows for ``space_name`` as unit ``space/source`` of the store in ``home``."""
    store = Store(home)
    n = len(rows["arch_id"])
    full = {"arch_id": rows["arch_id"], "space": [space_name] * n, "source": [unit_source] * n,
            "dataset": rows.get("dataset", ["cifar10"] * n), "metric": rows["metric"],
            "fidelity": rows.get("fidelity", [None] * n), "device": [None] * n, "value": rows["value"],
            "unit": ["%"] * n, "seed": pa.array([None] * n, pa.int64())}
    path = write_parquet(pa.table(full), "metrics", store.staging_dir(f"test-{unit_source}") / "metrics.parquet")
    with store.writer_lock():
        store.commit({f"{space_name}/{unit_source}": {"metrics": [path]}})
    store.drop_staging(f"test-{unit_source}")


@pytest.fixture(scope="session")
def nb201_home(tmp_path_factory, nb201_task) -> tuple:
    """A data home with the 120 graphs of ``nb201_task`` in its tables and their labels as metrics
    (``synthetic/test_accuracy`` at fidelity 200 and 12, ``synthetic/zc_synflow``)."""
    graphs, y = nb201_task
    home = tmp_path_factory.mktemp("predhome")
    space = get_space("nb201")
    # Exactly the sample's graphs (a build of enumerable NB201 would make all 15,625).
    store = Store(home)
    tables = graph_tables(space, [space.parse(e) for e in graphs.encoding], "cifar10")
    staged = {name: [write_parquet(tables[name], name, store.staging_dir("test-graphs") / f"{name}.parquet")]
              for name in ("archs", "nodes", "edges")}
    with store.writer_lock():
        store.commit({"nb201": staged})
    store.drop_staging("test-graphs")
    ids = list(graphs.arch_id)
    low = y - 20 + np.random.default_rng(1).normal(0, 2, len(y))
    proxy = graphs.extras["zc_synflow"]
    keep = ~np.isnan(proxy)
    write_metrics(home, "nb201", "synthetic", {
        "arch_id": ids + ids + [i for i, k in zip(ids, keep) if k],
        "metric": ["test_accuracy"] * (2 * len(ids)) + ["zc_synflow"] * int(keep.sum()),
        "fidelity": [200.0] * len(ids) + [12.0] * len(ids) + [None] * int(keep.sum()),
        "value": list(y) + list(low) + list(proxy[keep])})
    return home, graphs, y
