"""Measured training energy of 4,310 NAS-Bench-101 cells (up to 7 vertices), the EC-NAS surrogate's data.

File ``surrogate_7v_energy.pt``: a tuple of four tensors, read with ``torch.load(weights_only=True)``:
adjacency ``(N, 7, 7)`` int64, op codes ``(N, 7)`` int64 (:data:`OP_CODES`; 0 pads cells with fewer
than 7 vertices), energy ``(N,)`` float32 in kWh and trainable parameters ``(N,)`` int64. Source:
raghavian/surrogate-ec-nasbench (MIT), the training data of EC-NAS-Bench's 7-vertex energy surrogate.

The file records neither the training budget nor the GPU, so ``energy`` rows have fidelity NaN
and device None. No accuracies. Rows: ``energy`` (kWh), ``params`` (count).
"""
from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from archbench.errors import DataFormatError, EncodingError, UnsafePickleError
from archbench.graphs.spaces.nb101 import MAX_VERTICES, canonical_string, cell_from_codes

from .base import READERS, BenchmarkReader, concat_rows, metric_rows
from .nb101_tfrecord import COUNT, KWH

#: The file's op codes (its ``op2vec``: position in its operation list plus one; 0 = padding).
OP_CODES: dict[int, str | None] = {0: None, 1: "input", 2: "conv1x1-bn-relu", 3: "conv3x3-bn-relu", 4: "maxpool3x3",
                                   5: "output"}


def load_tensors(path: Path) -> tuple:
    """The file's tuple of tensors (``weights_only=True``: no code in the file can run)."""
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise UnsafePickleError(f"{path}: refused to load: the file needs more than tensors and plain containers "
                                f"(torch weights_only): {exc}") from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise DataFormatError(f"{path}: expected a torch-saved tuple of tensors, could not load it: {exc}") from None


@READERS.register("nb101_ecnas_surrogate7v")
class EcNasSurrogate7vReader(BenchmarkReader):
    """4,310 NB101 cells of up to 7 vertices: measured training energy (kWh) and parameters."""

    name = "nb101_ecnas_surrogate7v"
    space = "nb101"
    description = ("EC-NAS-Bench 7-vertex energy surrogate data (raghavian/surrogate-ec-nasbench, MIT): 4,310 NB101 "
                   "cells with measured training energy (kWh; budget and GPU not recorded) and parameters")
    provides = ("energy", "params")
    default_relpath = "nb101/ec_nas/surrogate_7v_energy.pt"
    num_archs = None

    def _read(self, path: Path) -> pd.DataFrame:
        data = load_tensors(path)
        import torch

        if not (isinstance(data, (tuple, list)) and len(data) == 4 and all(isinstance(t, torch.Tensor) for t in data)):
            found = type(data).__name__ if not isinstance(data, (tuple, list)) else [type(t).__name__ for t in data]
            raise DataFormatError(f"{path}: expected a tuple of 4 tensors (adjacency, ops, energy, params), found {found}")
        adjacency, codes, energy, params = (t.numpy() for t in data)
        n = len(energy)
        want = {"adjacency": (n, MAX_VERTICES, MAX_VERTICES), "ops": (n, MAX_VERTICES), "energy": (n,), "params": (n,)}
        got = {"adjacency": adjacency.shape, "ops": codes.shape, "energy": energy.shape, "params": params.shape}
        if got != want:
            raise DataFormatError(f"{path}: expected tensor shapes {want}, found {got}")
        archs = []
        for i in range(n):
            try:
                archs.append(canonical_string(cell_from_codes(adjacency[i].tolist(), codes[i].tolist(), OP_CODES)))
            except EncodingError as exc:
                raise DataFormatError(f"{path}: cell {i}: {exc}") from None
        arch = np.array(archs, dtype=object)
        return concat_rows([
            metric_rows(source=self.name, space=self.space, arch=arch, dataset="cifar10", metric="energy",
                        value=energy.astype(float), unit=KWH),
            metric_rows(source=self.name, space=self.space, arch=arch, dataset="cifar10", metric="params",
                        value=params.astype(float), unit=COUNT),
        ])
