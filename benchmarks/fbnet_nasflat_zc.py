"""Zero-cost proxy scores of HELP's 5,000 FBNet networks, from nasflat_latency's ``zc_fbnet.json``.

File (abdelfattah-lab/nasflat_latency, no licence file): ``{"2_8_6_..._7": {<proxy>: score, ...}}``,
keyed by the 22 op indices (HW-NAS-Bench's op order) joined with ``_``; 13 NAS-Bench-Suite-Zero
proxies, as NASLib spells them, with no compute times. The networks are HW-NAS-Bench's CIFAR-100
configuration: the ``params`` proxy equals the parameter count of that network exactly (a
realdata test checks it against :mod:`archbench.graphs.spaces.fbnet`), so ``dataset`` is
``cifar100``. Rows: ``zc_<proxy>``, unit ``score``.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from archbench.errors import DataFormatError, EncodingError

from .base import READERS, BenchmarkReader, concat_rows, metric_rows
from .base import SCORE
from .darts_naslib_zc import NASLIB_PROXIES


def read_nasflat_zc(path: Path, source: str) -> pd.DataFrame:
    """``zc_fbnet.json`` -> reader rows (see the module doc)."""
    from archbench.graphs.spaces.fbnet import arch_from_indices, format_arch

    try:
        data = json.loads(path.read_bytes())
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{path}: expected nasflat's FBNet zero-cost JSON, could not parse it: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{path}: could not read it as nasflat's FBNet zero-cost JSON: {exc}") from None
    if not isinstance(data, dict) or not data:
        raise DataFormatError(f"{path}: expected {{'op_op_..._op': {{proxy: score}}}}, found {type(data).__name__}")
    archs = np.empty(len(data), dtype=object)
    values = {p: np.full(len(data), np.nan) for p in NASLIB_PROXIES}
    for i, (key, record) in enumerate(data.items()):
        try:
            archs[i] = format_arch(arch_from_indices(key))
        except EncodingError as exc:
            raise DataFormatError(f"{path}: key {key!r:.80} is not an FBNet op-index key: {exc}") from None
        if not isinstance(record, dict):
            raise DataFormatError(f"{path}: architecture {key!r}: expected {{proxy: score}}, found {record!r:.80}")
        for proxy, score in record.items():
            if proxy not in values:
                raise DataFormatError(f"{path}: architecture {key!r}: unknown zero-cost proxy {proxy!r}; "
                                      f"expected one of: {', '.join(NASLIB_PROXIES)}")
            if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
                raise DataFormatError(f"{path}: architecture {key!r}: {proxy} must be a finite number, found {score!r:.60}")
            values[proxy][i] = float(score)
    return concat_rows(metric_rows(source=source, space="fbnet", arch=archs, dataset="cifar100", metric=f"zc_{proxy}",
                                   value=column, unit=SCORE) for proxy, column in values.items())


@READERS.register("fbnet_nasflat_zc")
class FBNetNasflatZcReader(BenchmarkReader):
    """13 zero-cost proxy scores of HELP's 5,000 FBNet networks (nasflat_latency)."""

    name = "fbnet_nasflat_zc"
    space = "fbnet"
    description = ("FBNet space (HW-NAS-Bench CIFAR-100 setting): 13 zero-cost proxy scores of HELP's 5,000 networks; "
                   "abdelfattah-lab/nasflat_latency zc_fbnet.json (no licence file)")
    provides = tuple(f"zc_{p}" for p in NASLIB_PROXIES)
    default_relpath = "fbnet/zc_fbnet.json"
    num_archs = 5000

    def _read(self, path: Path) -> pd.DataFrame:
        return read_nasflat_zc(path, self.name)

    def _expected(self) -> str:
        return f"nasflat's FBNet zero-cost JSON ({self.default_relpath})"
