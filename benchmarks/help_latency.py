"""HELP's NAS-Bench-201 latencies: all 15,625 cells on 27 device settings, as the repo's .pt files.

Folder ``help_latency/`` (HayeonLee/HELP ``data/nasbench201``, MIT), loaded only with
``torch.load(weights_only=True)``:

- ``str_arch2idx.pt``: ``{official NB201 string: index}``; the latency lists are in this index
  order (it is the official NB201 order; a realdata test checks all 15,625 pairs);
- ``hardware_embedding_index.pt``: 10 indices, the reference cells HELP measures on a new
  device to build its hardware embedding (:meth:`HelpLatencyReader.reference_archs`);
- one ``<device>.pt`` per device setting: a list of 15,625 latencies; ``device`` = file stem.

Units: milliseconds for every device (checked by magnitude): GPUs at batch 1/32 (``*_1``,
``*_32``) 2.4-20 ms and at batch 256 6-48 ms per forward pass, Xeon CPUs (``gold_*``,
``silver_*``) 2.7-48 ms, ``raspi4`` up to 99 ms, ``pixel3`` up to 37 ms, ``eyeriss`` 1.7-10.5 ms
and ``fpga`` 1.1-8.7 ms (HW-NAS-Bench's units). Seconds or microseconds would give absurd speeds.
``raspi4``/``pixel3`` report ~0.01-0.1 ms for the 341 cells with no input->output path (the
compiled network output is a constant); those values are kept as measured.

The four 31 KB files (``essential_ph_1``, ``pixel2``, ``samsung_a50``, ``samsung_s7``) do *not*
hold fewer cells: they hold all 15,625 latencies as Python ints (whole milliseconds, 39-79
distinct values per device), which pickle to 2 bytes instead of 9. They are read like the others,
as floats in ms; their 1 ms resolution means many ties.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Collection

import numpy as np
import pandas as pd

from archbench.errors import DataFormatError, EncodingError

from .base import MILLISECONDS, READERS, BenchmarkReader, concat_rows, metric_rows

#: Files of the folder that are not device latencies.
ARCH_INDEX_FILE = "str_arch2idx.pt"
REFERENCE_INDEX_FILE = "hardware_embedding_index.pt"


def load_pt(path: Path) -> Any:
    """``torch.load(path, weights_only=True)``; an unreadable or unsafe file raises DataFormatError."""
    import pickle

    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError, AttributeError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataFormatError(f"{path}: expected a torch .pt file of plain lists/dicts of numbers "
                              f"(readable with weights_only=True), could not load it: {first}") from None


def _number_list(obj: Any, path: Path) -> np.ndarray:
    """A list/tuple of real numbers (or a 1-D numeric tensor) -> float64 array; else DataFormatError."""
    import torch

    if isinstance(obj, torch.Tensor):
        if obj.ndim != 1 or obj.is_complex() or obj.dtype == torch.bool:
            raise DataFormatError(f"{path}: expected a 1-D list of latencies, found a {obj.dtype} tensor of shape {tuple(obj.shape)}")
        return obj.to(torch.float64).numpy()
    if not isinstance(obj, (list, tuple)):
        raise DataFormatError(f"{path}: expected a list of latencies (numbers), found {type(obj).__name__}")
    if not set(map(type, obj)) <= {int, float}:  # exact types: bool (an int subclass) is refused
        bad = next(i for i, x in enumerate(obj) if type(x) not in (int, float))
        raise DataFormatError(f"{path}: expected a list of numbers, found {type(obj[bad]).__name__} {obj[bad]!r:.40} at position {bad}")
    return np.asarray(obj, dtype=float)


@READERS.register("help_latency")
class HelpLatencyReader(BenchmarkReader):
    """HELP NB201 latencies (ms) on 27 device settings; ``path`` may be the folder or one device file."""

    name = "help_latency"
    space = "nb201"
    description = ("HELP (Lee et al. 2021) NAS-Bench-201 latencies in ms on 27 device settings (GPUs at batch 1/32/256, "
                   "Xeon CPUs, Raspberry Pi 4, phones, Eyeriss, FPGA); HayeonLee/HELP data/nasbench201 (MIT)")
    provides = ("latency",)
    default_relpath = "nb201/help_latency"
    num_archs = 15_625
    #: The measured network is NB201's CIFAR-100 configuration (32x32 input): HELP's NB201
    #: experiments search for CIFAR-100 (its README's NAS results report 69.7-73.5 %, CIFAR-100
    #: accuracies); the files themselves do not say, and the 10- vs 100-class head barely
    #: changes latency.
    dataset = "cifar100"

    def _expected(self) -> str:
        return f"HELP's nasbench201 latency folder ({ARCH_INDEX_FILE} + one <device>.pt list per device)"

    def arch_strings(self, folder: Path) -> np.ndarray:
        """Official NB201 string of each list position, from the folder's ``str_arch2idx.pt``."""
        from archbench.graphs.spaces.nb201 import format_arch_str, parse_arch_str

        path = folder / ARCH_INDEX_FILE
        if not path.is_file():
            raise DataFormatError(f"{folder}: expected {self._expected()}; {ARCH_INDEX_FILE} is missing")
        mapping = load_pt(path)
        if not isinstance(mapping, dict) or not mapping:
            raise DataFormatError(f"{path}: expected a dict {{NB201 string: index}}, found {type(mapping).__name__}")
        n = len(mapping)
        strings = np.empty(n, dtype=object)
        seen = np.zeros(n, dtype=bool)
        for text, index in mapping.items():
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n or seen[index]:
                raise DataFormatError(f"{path}: indices must be a permutation of 0..{n - 1}; found {index!r} for {text!r}")
            try:
                strings[index] = format_arch_str(parse_arch_str(text))
            except EncodingError as exc:
                raise DataFormatError(f"{path}: malformed NB201 string {text!r} (index {index}): {exc}") from None
            seen[index] = True
        return strings

    def device_files(self, folder: Path) -> list[Path]:
        """The folder's device latency files, sorted by name."""
        return sorted(p for p in folder.glob("*.pt") if p.name not in (ARCH_INDEX_FILE, REFERENCE_INDEX_FILE))

    def reference_archs(self, path: str | Path | None = None, data_dir: str | Path | None = None) -> list[str]:
        """HELP's 10 reference cells (``hardware_embedding_index.pt``) as official NB201 strings."""
        folder = self._folder(self.locate(path, data_dir))
        indices = _number_list(load_pt(folder / REFERENCE_INDEX_FILE), folder / REFERENCE_INDEX_FILE)
        strings = self.arch_strings(folder)
        if not np.all((indices == np.round(indices)) & (indices >= 0) & (indices < len(strings))):
            raise DataFormatError(f"{folder / REFERENCE_INDEX_FILE}: expected indices in 0..{len(strings) - 1}, found {indices.tolist()}")
        return [strings[int(i)] for i in indices]

    @staticmethod
    def _folder(where: Path) -> Path:
        return where if where.is_dir() else where.parent

    def _read(self, path: Path) -> pd.DataFrame:
        return read_device_latencies(self, path, (ARCH_INDEX_FILE, REFERENCE_INDEX_FILE), ARCH_INDEX_FILE, positive=False)


def read_device_latencies(reader: Any, path: Path, not_devices: Collection[str], arch_file: str, *,
                          positive: bool) -> pd.DataFrame:
    """Latency rows of HELP device files: every ``<device>.pt`` of a folder, or the one file ``path``.

    Each device file lists one latency (ms) per architecture of ``arch_file``, in that file's order.

    Args:
        reader: the HELP reader (its ``name``, ``space``, ``dataset``, ``arch_strings``, ``device_files``).
        not_devices: ``.pt`` names in the folder that are not device files.
        positive: latencies must be > 0 (else >= 0).
    """
    if path.is_dir():
        folder, files = path, reader.device_files(path)
        if not files:
            raise DataFormatError(f"{path}: expected {reader._expected()}, found no device .pt files")
    else:
        if path.suffix != ".pt" or path.name in not_devices:
            raise DataFormatError(f"{path}: expected a HELP device latency file <device>.pt (or the folder), found {path.name!r}")
        folder, files = path.parent, [path]
    archs = reader.arch_strings(folder)
    blocks = []
    for file in files:
        latency = _number_list(load_pt(file), file)
        if len(latency) != len(archs):
            raise DataFormatError(f"{file}: expected {len(archs)} latencies (one per architecture of {arch_file}), "
                                  f"found {len(latency)}")
        bad = latency <= 0 if positive else latency < 0
        if np.any(bad):
            raise DataFormatError(f"{file}: latencies must be {'positive' if positive else 'non-negative'} milliseconds, "
                                  f"found {latency[bad][0]}")
        blocks.append(metric_rows(source=reader.name, space=reader.space, arch=archs, dataset=reader.dataset,
                                  metric="latency", value=latency, unit=MILLISECONDS, device=file.stem))
    return concat_rows(blocks)
