"""214 random DARTS architectures trained for 600 epochs on CIFAR-10 (Yang et al., ICLR 2020).

Files (antoyang/NAS-Benchmark @c2758da7, GPL-3.0), in one folder:

- ``214genotypes.pkl``: a pickle of a list of ``(text, accuracy)`` pairs, ``text`` being
  ``"GENOTYPE=Genotype(normal=[[(op, i), (op, j)], ...], ...)"`` (pt.darts' per-node nesting) and
  ``accuracy`` a numpy float64, the best test accuracy (%) over the run. Read with the restricted
  unpickler: the only globals it needs are numpy's scalar reconstructors.
- ``214_random_architectures.npy``: float64 ``(214, 600)``, the test accuracy (%) after every
  epoch, row ``i`` for pair ``i`` of the pickle (its maximum equals the pickle's accuracy on
  every row, which the reader checks).
- ``56_random_mod_architectures.npy``: 600-epoch curves of 56 architectures from the authors'
  *modified* search space. The release has no genotypes for them, so they cannot be mapped to
  architectures: the reader never reads that file. The pairing check above guarantees none of
  its curves is taken for one of the 214 (their maxima match no pickle row by position).

Observation, not acted on: the first 59 genotypes never use ``dil_conv_5x5`` (chance would give
about 5 of 59; the other 155 use it at the expected rate), so they may have been sampled from a
6-op subset. Their genotypes still fully describe DARTS-space networks, so they are kept.

Rows: ``test_accuracy`` at fidelity = epoch (1..600) and ``best_test_accuracy`` (the pickle's
number) at fidelity 600, dataset ``cifar10``. The networks are pt.darts' AugmentCNN (C=36,
20 cells, BN after pools): the ``pt_darts`` config of the ``darts`` space.
"""
from __future__ import annotations

import math
import numbers
from pathlib import Path

import numpy as np
import pandas as pd

from archbench.errors import DataFormatError, EncodingError
from archbench.graphs.spaces.darts import format_arch, parse_arch

from .base import PERCENT, READERS, BenchmarkReader, concat_rows, metric_rows
from .unpickle import NUMPY_SCALAR_GLOBALS, restricted_load

GENOTYPES_FILE = "214genotypes.pkl"
CURVES_FILE = "214_random_architectures.npy"
#: The curves of the modified-space architectures (no genotypes published; never read).
MODIFIED_SPACE_FILE = "56_random_mod_architectures.npy"
#: Prefix of every genotype text in the pickle (a line of the authors' config dump).
_PREFIX = "GENOTYPE="
_DATASET = "cifar10"
#: Curves store accuracies with 2 decimals; their maximum equals the pickle's number to this tolerance.
_PAIRING_TOL = 1e-6


def read_genotypes(path: Path) -> list[tuple[str, float]]:
    """The pickle's ``(canonical Genotype string, best test accuracy)`` pairs, validated."""
    data = restricted_load(path, NUMPY_SCALAR_GLOBALS)
    if not isinstance(data, list) or not data:
        raise DataFormatError(f"{path}: expected a non-empty list of (genotype text, accuracy) pairs, found {type(data).__name__}")
    out = []
    for i, item in enumerate(data):
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
                and isinstance(item[1], (numbers.Real, np.floating)) and not isinstance(item[1], bool)):
            raise DataFormatError(f"{path}: entry {i} must be a (genotype text, accuracy) pair, found {item!r:.100}")
        text, acc = item
        body = text[len(_PREFIX):] if text.startswith(_PREFIX) else text
        try:
            arch = format_arch(parse_arch(body))
        except EncodingError as exc:
            raise DataFormatError(f"{path}: entry {i} holds no valid DARTS genotype: {exc}") from None
        acc = float(acc)
        if not (math.isfinite(acc) and 0.0 <= acc <= 100.0):
            raise DataFormatError(f"{path}: entry {i} accuracy must be a percentage in [0, 100], found {acc!r}")
        out.append((arch, acc))
    return out


def read_curves(path: Path, rows: int) -> np.ndarray:
    """The ``(rows, epochs)`` float array of per-epoch test accuracies (no pickled objects allowed)."""
    try:
        curves = np.load(path, allow_pickle=False)
    except ValueError as exc:  # object arrays need pickle: refused
        raise DataFormatError(f"{path}: expected a plain float .npy array of accuracy curves, could not load it: {exc}") from None
    except OSError as exc:
        raise DataFormatError(f"{path}: expected a .npy array of accuracy curves, could not read it: {exc}") from None
    if curves.ndim != 2 or curves.shape[0] != rows or curves.dtype.kind != "f":
        raise DataFormatError(f"{path}: expected a float array of shape ({rows}, epochs) (one curve per genotype), "
                              f"found {curves.dtype} {curves.shape}")
    finite = curves[np.isfinite(curves)]
    if finite.size and (finite.min() < 0.0 or finite.max() > 100.0):
        raise DataFormatError(f"{path}: accuracies must be percentages in [0, 100], found range "
                              f"[{finite.min()}, {finite.max()}]")
    return curves


@READERS.register("darts_antoyang_random")
class DartsAntoyangRandomReader(BenchmarkReader):
    """Yang et al.'s 214 random DARTS networks: 600-epoch CIFAR-10 test-accuracy curves and best accuracy."""

    name = "darts_antoyang_random"
    space = "darts"
    description = ("214 random DARTS-space networks (pt.darts AugmentCNN, C=36, 20 cells) trained 600 epochs on "
                   "CIFAR-10: per-epoch test accuracy and its best value (antoyang/NAS-Benchmark @c2758da7, GPL-3.0)")
    provides = ("test_accuracy", "best_test_accuracy")
    default_relpath = "darts_nb301/antoyang_random"
    num_archs = 214
    #: pt.darts' AugmentCNN (C=36, 20 cells, BN after pools), the network the authors trained
    config = "pt_darts"

    def _expected(self) -> str:
        return f"the folder {self.default_relpath} holding {GENOTYPES_FILE} and {CURVES_FILE}"

    def _read(self, path: Path) -> pd.DataFrame:
        if not path.is_dir():
            raise DataFormatError(f"{path}: expected {self._expected()}, found a file")
        for name in (GENOTYPES_FILE, CURVES_FILE):
            if not (path / name).is_file():
                raise DataFormatError(f"{path}: expected {name} in this folder ({self._expected()}); it is missing")
        pairs = read_genotypes(path / GENOTYPES_FILE)
        curves = read_curves(path / CURVES_FILE, len(pairs))
        archs = np.array([arch for arch, _ in pairs], dtype=object)
        best = np.array([acc for _, acc in pairs])
        peak = np.nanmax(np.where(np.isfinite(curves), curves, -np.inf), axis=1)
        bad = np.flatnonzero(np.abs(peak - best) > _PAIRING_TOL)
        if bad.size:
            i = int(bad[0])
            raise DataFormatError(
                f"{path}: curve row {i} of {CURVES_FILE} peaks at {peak[i]} but {GENOTYPES_FILE} entry {i} records a best "
                f"accuracy of {best[i]}; expected the two files to be row-paired ({bad.size} rows differ). "
                f"({MODIFIED_SPACE_FILE} holds modified-space curves without genotypes and cannot be used.)")
        epochs = curves.shape[1]
        fidelity = np.tile(np.arange(1, epochs + 1, dtype=float), len(pairs))
        return concat_rows([
            metric_rows(source=self.name, space=self.space, arch=np.repeat(archs, epochs), dataset=_DATASET,
                        metric="test_accuracy", value=curves.reshape(-1), unit=PERCENT, fidelity=fidelity),
            metric_rows(source=self.name, space=self.space, arch=archs, dataset=_DATASET, metric="best_test_accuracy",
                        value=best, unit=PERCENT, fidelity=float(epochs)),
        ])
