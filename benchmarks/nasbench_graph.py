"""NAS-Bench-Graph: validation/test performance, latency and parameters of 26,206 GNNs on nine datasets.

The PyPI package ``nas-bench-graph`` ships ``nas_bench_graph/light/<dataset>.bench``: a pickle
of ``{Arch.valid_hash(): {"valid_perf", "perf", "latency", "para"}}`` per dataset (cora,
citeseer, pubmed, cs, physics, photo, computers, arxiv: all 26,206 architectures; proteins:
2,021), values are Python or numpy floats, means over the benchmark's three seeds. ``perf`` is
accuracy (a fraction; here in percent) except on proteins, where it is ROC-AUC (here
``*_roc_auc``, dimensionless); ``latency`` is seconds (here ms) on the benchmark's GPU;
``para`` is millions of parameters (here a count; it includes batch norms the network never
uses, see :mod:`archbench.graphs.spaces.nasbench_graph`).

The package is never imported and its pickles are read with the restricted unpickler, allowing
only numpy's scalar reconstruction (:data:`~archbench.benchmarks.unpickle.NUMPY_SCALAR_GLOBALS`).
``path`` may be the ``light`` folder (all ``*.bench`` files) or one ``<dataset>.bench`` file.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from archbench.errors import DataFormatError, EncodingError
from archbench.graphs.spaces.nasbench_graph import DATASETS, arch_from_benchmark_key, format_arch

from .base import DIMENSIONLESS, MILLISECONDS, PERCENT, READERS, BenchmarkReader, concat_rows, metric_rows, package_data_path
from .unpickle import NUMPY_SCALAR_GLOBALS, restricted_load

#: The fields of every entry, in the files' order.
FIELDS: tuple[str, ...] = ("valid_perf", "perf", "latency", "para")
#: Dataset -> (metric stem of ``perf``, unit, scale of the file's value). Default: accuracy in percent.
_PERF = {"proteins": ("roc_auc", DIMENSIONLESS, 1.0)}
_ACCURACY = ("accuracy", PERCENT, 100.0)
#: The benchmark does not name its GPU.
DEVICE = "nasbench_graph_gpu"


@READERS.register("nasbench_graph")
class NASBenchGraphReader(BenchmarkReader):
    """NAS-Bench-Graph (PyPI ``nas-bench-graph``): valid/test performance, GPU latency and params on nine datasets."""

    name = "nasbench_graph"
    space = "nasbench_graph"
    description = ("NAS-Bench-Graph: 26,206 GNN architectures on 9 node-classification datasets (proteins: 2,021), "
                   "valid/test accuracy (ROC-AUC on proteins), latency and parameters, mean over 3 seeds; "
                   "light/*.bench of the PyPI package nas-bench-graph (THUMNLab/NAS-Bench-Graph)")
    provides = ("valid_accuracy", "test_accuracy", "valid_roc_auc", "test_roc_auc", "latency", "params")
    default_relpath = None
    num_archs = 26_206
    #: every dataset is its own network (input features, classes, hidden size): config = dataset
    config_column = "dataset"

    def _package_file(self) -> Path:
        return package_data_path(self.name, "nas_bench_graph", "nas-bench-graph", "light")

    def _expected(self) -> str:
        return ("NAS-Bench-Graph's light/<dataset>.bench files (pickles of {valid_hash: {valid_perf, perf, latency, para}}) "
                "or their folder")

    def _read(self, path: Path) -> pd.DataFrame:
        files = sorted(path.glob("*.bench")) if path.is_dir() else [path]
        if not files:
            raise DataFormatError(f"{path}: expected {self._expected()}, found no *.bench file in the folder")
        return concat_rows(block for f in files for block in self.read_file(f))

    def read_file(self, path: Path) -> list[pd.DataFrame]:
        """The row blocks of one ``<dataset>.bench`` file."""
        dataset = path.name.removesuffix(".bench")
        if dataset not in DATASETS:
            raise DataFormatError(f"{path}: the file name must be <dataset>.bench with a NAS-Bench-Graph dataset "
                                  f"({', '.join(DATASETS)}), found {path.name!r}")
        data = restricted_load(path, NUMPY_SCALAR_GLOBALS)
        if not isinstance(data, dict) or not data:
            raise DataFormatError(f"{path}: expected a non-empty dict {{valid_hash: {{{', '.join(FIELDS)}}}}}, "
                                  f"found {type(data).__name__}")
        archs, values = [], np.empty((len(data), len(FIELDS)))
        for row, (key, entry) in enumerate(data.items()):
            try:
                archs.append(format_arch(arch_from_benchmark_key(key)))
            except EncodingError as err:
                raise DataFormatError(f"{path}: {err}") from None
            if not isinstance(entry, dict) or any(f not in entry for f in FIELDS):
                raise DataFormatError(f"{path}: entry {key!r} must be a dict with {list(FIELDS)}, found {entry!r:.120}")
            for j, f in enumerate(FIELDS):
                v = entry[f]
                if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
                    raise DataFormatError(f"{path}: entry {key}.{f} should be a number, found {type(v).__name__} {v!r:.40}")
                values[row, j] = float(v)
        arch = np.array(archs, dtype=object)
        stem, unit, scale = _PERF.get(dataset, _ACCURACY)
        common = dict(source=self.name, space=self.space, arch=arch, dataset=dataset)
        return [
            metric_rows(**common, metric=f"valid_{stem}", value=values[:, 0] * scale, unit=unit),
            metric_rows(**common, metric=f"test_{stem}", value=values[:, 1] * scale, unit=unit),
            metric_rows(**common, metric="latency", value=values[:, 2] * 1000.0, unit=MILLISECONDS, device=DEVICE),
            metric_rows(**common, metric="params", value=values[:, 3] * 1e6, unit=DIMENSIONLESS),
        ]
