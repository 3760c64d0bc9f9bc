"""BRP-NAS (Eagle) NAS-Bench-201 latencies on an Intel i7-7820X desktop CPU, as the published pickle.

File: a pickle of ``{6-tuple of op codes: numpy.float64 latency in seconds}`` for 15,284 cells
(fork fatememirjalili2000/brp-nas of Samsung's BRP-NAS / Eagle, Apache-2.0). Its values are
numpy scalars, so the restricted unpickler allows exactly ``numpy.core.multiarray.scalar`` and
``numpy.dtype`` (mapped to safe numeric-only rebuilders) and nothing else. Latencies become ms.

The file does not say what the codes and tuple positions mean. Determined empirically
(``tests/benchmarks/test_brp_nas.py::test_mapping_on_real_data`` re-derives the evidence):

1. **none = 0, edge order = official string order (or its mirror).** The 341 cells missing from
   the file are exactly the cells with no input->output path when code 0 is ``none`` and the
   tuple follows the official string order (0->1, 0->2, 1->2, 0->3, 1->3, 2->3): 0 mismatches
   over all 15,625 cells. Of all 5 x 720 (none code, edge order) candidates only this order and
   its mirror image (reverse the cell: edge i->j becomes (3-j)->(3-i)) give 0 mismatches; the
   next best order gives 128, any other none code >= 676.
2. **Mirror vs string order cannot be told apart from this file:** both give the same pruned
   graphs up to reversal, and the latency is mirror-symmetric (Spearman 0.990 between a cell and
   its mirror over 14,688 pairs; median |difference| 1.8 %). The string order
   is taken because it is what BRP-NAS's own code produces (Eagle's nasbench201 utils:
   ``get_arch_vector_from_arch_str`` lists the string's ops in order).
3. **skip = 1, conv3x3 = 3, conv1x1 = 2, avg_pool = 4.** A least-squares fit of latency on the
   number of *live* cell edges (on an input->output path) per code explains R^2 = 0.836 of the
   variance (0.637 when dead edges are counted too, confirming TF-graph pruning) with per-edge
   costs code 1: 0.003 ms, code 2: 0.34 ms, code 3: 1.30 ms, code 4: 1.19 ms (x 15 cells). Code 1
   is free: an identity. Code 3 is the most expensive: the 3x3 convolution. Of codes 2 and 4,
   code 2 costs 26 % of code 3, code 4 91 %: a 1x1 convolution has 1/9 of a 3x3 convolution's
   MACs and is a plain GEMM, so code 2 is ``nor_conv_1x1`` and code 4 ``avg_pool_3x3`` (TF's CPU
   average pooling is slow). Independent check on another TF-family runtime: Spearman with HELP's
   ``pixel3`` (HW-NAS-Bench, TFLite) is 0.689 with this mapping and 0.615 with codes 2 and 4
   swapped. (Correlating with HELP's PyTorch CPU/GPU latencies is *not* a usable criterion: there
   ``none`` is an executed ``x * 0`` and nothing is pruned, so ``none`` and ``skip`` swap costs;
   those references prefer a mapping that contradicts fact 1.)

This is the official NB201 op order :data:`BRP_NAS_OPS`, which BRP-NAS's code also uses.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from archbench.errors import DataFormatError

from .base import MILLISECONDS, READERS, BenchmarkReader, concat_rows, metric_rows
from .cells import CellCodec
from .unpickle import NUMPY_SCALAR_GLOBALS, restricted_load

#: BRP-NAS op code -> NB201 op name (determined empirically, see the module doc).
BRP_NAS_OPS: dict[int, str] = {0: "none", 1: "skip_connect", 2: "nor_conv_1x1", 3: "nor_conv_3x3", 4: "avg_pool_3x3"}
#: Tuple position -> NB201 edge: the official string order.
BRP_NAS_EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))

_CODEC = CellCodec(BRP_NAS_OPS, BRP_NAS_EDGES, "BRP-NAS")
_SECONDS_TO_MS = 1000.0


@READERS.register("brp_nas")
class BrpNasReader(BenchmarkReader):
    """BRP-NAS latency (ms) of 15,284 NB201 cells on an Intel i7-7820X (TensorFlow, batch 1)."""

    name = "brp_nas"
    space = "nb201"
    description = ("BRP-NAS / Eagle NAS-Bench-201 latencies on an Intel i7-7820X desktop CPU (15,284 connected cells); "
                   "fork fatememirjalili2000/brp-nas of Samsung's BRP-NAS (Apache-2.0)")
    provides = ("latency",)
    default_relpath = "nb201/brp_nas_latency_i7_7820x.pkl"
    num_archs = 15_284
    device = "i7_7820x"
    #: BRP-NAS builds the CIFAR-10 network (32x32 input, 10-class head).
    dataset = "cifar10"

    def _expected(self) -> str:
        return "BRP-NAS's latency pickle {6-tuple of op codes: latency in seconds}"

    def load_raw(self, path: Path) -> dict:
        """The pickle's ``{code tuple: seconds}`` dict, loaded with only numpy scalars allowed."""
        data = restricted_load(path, NUMPY_SCALAR_GLOBALS)
        if not isinstance(data, dict):
            raise DataFormatError(f"{path}: expected {self._expected()}, found a pickled {type(data).__name__}")
        return data

    def _read(self, path: Path) -> pd.DataFrame:
        data = self.load_raw(path)
        codes = _CODEC.check_keys(data.keys(), str(path))
        values = list(data.values())
        if not all(isinstance(v, (float, int, np.floating, np.integer)) and not isinstance(v, (bool, np.bool_)) for v in values):
            key, bad = next((k, v) for k, v in data.items()
                            if not isinstance(v, (float, int, np.floating, np.integer)) or isinstance(v, (bool, np.bool_)))
            raise DataFormatError(f"{path}: latency of {key} should be a number of seconds, found {type(bad).__name__} {bad!r:.40}")
        seconds = np.array(values, dtype=float)
        if np.any(seconds[~np.isnan(seconds)] < 0):
            raise DataFormatError(f"{path}: latencies must be non-negative seconds, found {np.nanmin(seconds)}")
        return concat_rows([metric_rows(source=self.name, space=self.space, arch=_CODEC.decode(codes), dataset=self.dataset,
                                        metric="latency", value=seconds * _SECONDS_TO_MS, unit=MILLISECONDS,
                                        device=self.device)])
