"""Fixtures for evaluation tests: in-memory tasks of two spaces, and a tiny data home with labels."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from archbench.datasets.build import build
from archbench.datasets.store import Store, write_parquet
from archbench.datasets.views import GraphSet, LabelSpec
from archbench.eval.protocols import Task
from archbench.graphs.spaces import get_space


def _accuracy(space: str, arch) -> float:
    if space == "tinychain":
        return 50.0 + 3.0 * sum(arch[:3]) + 4.0 * arch[3]
    return 60.0 + 4.0 * arch.count("nor_conv_3x3") + 2.0 * arch.count("nor_conv_1x1") - 10.0 * (arch[5] == "none")


@pytest.fixture(scope="session")
def tasks() -> dict[str, Task]:
    """``{"tinychain": all 16 archs, "nb201": 60 sampled archs}`` with synthetic accuracies."""
    out = {}
    for name, archs in (("tinychain", list(get_space("tinychain").enumerate())),
                        ("nb201", get_space("nb201").samples(60, seed=5))):
        space = get_space(name)
        graphs = GraphSet.from_graphs([space.build_cg(a) for a in archs], arch_ids=[space.arch_id(a) for a in archs])
        y = np.array([_accuracy(name, a) for a in archs]) + np.random.default_rng(0).normal(0, 0.3, len(archs))
        out[name] = Task(name, LabelSpec("acc", "synthetic"), graphs, y)
    return out


@pytest.fixture
def tiny_home(home):
    """tinychain's tables with a synthetic ``acc`` label (source ``synthetic``, dataset ``tiny``)."""
    build("tinychain", home=home, sources=[], workers=1, progress=False)
    space = get_space("tinychain")
    archs = list(space.enumerate())
    n = len(archs)
    rows = pa.table({"arch_id": [space.arch_id(a) for a in archs], "space": ["tinychain"] * n,
                     "source": ["synthetic"] * n, "dataset": ["tiny"] * n, "metric": ["acc"] * n,
                     "fidelity": [None] * n, "device": [None] * n,
                     "value": [_accuracy("tinychain", a) for a in archs], "unit": ["%"] * n,
                     "seed": pa.array([None] * n, pa.int64())})
    store = Store(home)
    path = write_parquet(rows, "metrics", store.staging_dir("t") / "m.parquet")
    with store.writer_lock():
        store.commit({"tinychain/synthetic": {"metrics": [path]}})
    return home
