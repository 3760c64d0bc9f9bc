"""HELP's latencies of mobile-space networks: FBNet (27 device settings) and OFA MobileNetV3 (12 GPU settings).

Layout (HayeonLee/HELP ``data/fbnet`` and ``data/ofa``, MIT), read without executing pickled code:

- FBNet: ``arch.pt``, a list of 5,000 lists of 22 op indices (HW-NAS-Bench's op order, see
  :mod:`archbench.graphs.spaces.fbnet`), loaded with ``torch.load(weights_only=True)``;
- OFA: ``ofa_archs.pt``, ``{"dataset": "imagenet", "num_classes": 1000, "arch": [{"ks", "e",
  "d", "r"}, ...]}`` with the resolutions pickled as numpy ints; read from the torch zip's
  ``data.pkl`` by :func:`~archbench.benchmarks.unpickle.restricted_load`, which allows only
  numeric numpy scalars and the latin-1 ``_codecs.encode`` that protocol-2 pickles use for bytes;
- ``help_latency/<device>.pt`` (HELP's ``latency/``): a list of latencies, one per architecture in
  the arch file's order; ``device`` = file stem (HELP's device setting, e.g. ``titan_rtx_32`` =
  Titan RTX at batch 32). The arch file is found in the latency folder or its parent.

Units: milliseconds (checked by magnitude): FBNet on GPUs 6-22 ms, Xeon CPUs 19-244 ms, phones
17-159 ms (``essential_ph_1``, ``pixel2``, ``samsung_*`` store whole ms as ints), Raspberry Pi 4
17-53 ms, Eyeriss 3.8-7.3 ms, FPGA 9-42 ms; OFA on GPUs 3.9-108 ms (batch 1 to 64 at 128-224 px).

FBNet networks are HW-NAS-Bench's CIFAR-100 configuration (HELP's ``metainfo.pt`` says
``cifar100``, 100 classes), so ``dataset`` is ``cifar100``; OFA's is ``imagenet``.
"""
from __future__ import annotations

import io
import zipfile
from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from archbench.errors import DataFormatError, EncodingError

from .base import READERS, BenchmarkReader
from .help_latency import load_pt, read_device_latencies
from .unpickle import NUMPY_SCALAR_GLOBALS, restricted_load

#: Files next to the latencies that are not device latencies.
_NOT_DEVICES = frozenset({"arch.pt", "ofa_archs.pt", "metainfo.pt", "hardware_embedding_index.pt"})


def _latin1_bytes(text: Any, encoding: Any = "latin1") -> bytes:
    """What ``_codecs.encode`` does in a protocol-2 pickle of bytes; nothing else is accepted."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise DataFormatError(f"pickled _codecs.encode may only turn a str into latin-1 bytes, found ({type(text).__name__}, {encoding!r})")
    return text.encode("latin-1")


#: Globals an OFA arch file may name: numeric numpy scalars and bytes literals.
OFA_ARCH_GLOBALS: dict[tuple[str, str], object] = {**NUMPY_SCALAR_GLOBALS, ("_codecs", "encode"): _latin1_bytes}


def load_torch_zip_pickle(path: Path, allowed: dict[tuple[str, str], object]) -> Any:
    """The object in a torch zip file's ``data.pkl`` (no tensors), unpickled with only ``allowed`` globals."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
            if len(names) != 1:
                raise DataFormatError(f"{path}: expected one data.pkl in the torch zip file, found {names or archive.namelist()[:5]}")
            raw = io.BytesIO(archive.read(names[0]))
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataFormatError(f"{path}: expected a torch .pt (zip) file, could not open it: {exc}") from None
    raw.name = f"{path}!{names[0]}"  # errors name the file
    return restricted_load(raw, allowed)


class _HelpMobileReader(BenchmarkReader):
    """Latencies of one mobile space on HELP's device settings; ``path`` may be the folder or one device file."""

    provides = ("latency",)
    #: name of the architecture file (in the latency folder or its parent)
    arch_file: ClassVar[str] = ""
    #: dataset the measured networks are configured for
    dataset: ClassVar[str] = ""

    def _expected(self) -> str:
        return f"HELP's {self.space} latency folder (one <device>.pt list per device, {self.arch_file} beside it or in its parent)"

    def _arch_path(self, folder: Path) -> Path:
        for candidate in (folder / self.arch_file, folder.parent / self.arch_file):
            if candidate.is_file():
                return candidate
        raise DataFormatError(f"{folder}: expected {self._expected()}; {self.arch_file} is in neither {folder} nor {folder.parent}")

    @abstractmethod
    def arch_strings(self, folder: Path) -> np.ndarray:
        """Native string of each latency-list position (the arch file's order)."""

    def device_files(self, folder: Path) -> list[Path]:
        """The folder's device latency files, sorted by name."""
        return sorted(p for p in folder.glob("*.pt") if p.name not in _NOT_DEVICES)

    def _read(self, path: Path) -> pd.DataFrame:
        return read_device_latencies(self, path, _NOT_DEVICES, self.arch_file, positive=True)


@READERS.register("fbnet_help_latency")
class FBNetHelpLatencyReader(_HelpMobileReader):
    """HELP FBNet latencies (ms): 5,000 networks on 27 device settings."""

    name = "fbnet_help_latency"
    space = "fbnet"
    description = ("HELP (Lee et al. 2021) latencies in ms of 5,000 FBNet networks (HW-NAS-Bench CIFAR-100 setting) on 27 "
                   "device settings: GPUs at batch 1/32/64, Xeon CPUs, Raspberry Pi 4, phones, Eyeriss, FPGA; "
                   "HayeonLee/HELP data/fbnet (MIT)")
    default_relpath = "fbnet/help_latency"
    num_archs = 5000
    arch_file = "arch.pt"
    dataset = "cifar100"

    def arch_strings(self, folder: Path) -> np.ndarray:
        from archbench.graphs.spaces.fbnet import check_arch, format_arch

        path = self._arch_path(folder)
        rows = load_pt(path)
        if not isinstance(rows, list) or not rows:
            raise DataFormatError(f"{path}: expected a list of FBNet op-index lists, found {type(rows).__name__}")
        out = np.empty(len(rows), dtype=object)
        for i, row in enumerate(rows):
            try:
                out[i] = format_arch(check_arch(row))
            except EncodingError as exc:
                raise DataFormatError(f"{path}: entry {i} is not an FBNet architecture: {exc}") from None
        return out


@READERS.register("ofa_mbv3_help_latency")
class OFAHelpLatencyReader(_HelpMobileReader):
    """HELP OFA MobileNetV3 latencies (ms): 5,000 sub-networks on 12 GPU settings."""

    name = "ofa_mbv3_help_latency"
    space = "ofa_mbv3"
    description = ("HELP (Lee et al. 2021) latencies in ms of 5,000 Once-for-All MobileNetV3 sub-networks (ImageNet, "
                   "128-224 px) on 12 GPU settings (2080 Ti, Titan RTX, Titan Xp, V100 at batch 1/32/64); "
                   "HayeonLee/HELP data/ofa (MIT)")
    default_relpath = "ofa_mbv3/help_latency"
    num_archs = 5000
    arch_file = "ofa_archs.pt"
    dataset = "imagenet"

    def arch_strings(self, folder: Path) -> np.ndarray:
        from archbench.graphs.spaces.ofa_mbv3 import check_arch, format_arch

        path = self._arch_path(folder)
        data = load_torch_zip_pickle(path, OFA_ARCH_GLOBALS)
        if not isinstance(data, dict) or not isinstance(data.get("arch"), list) or not data["arch"]:
            found = sorted(data)[:5] if isinstance(data, dict) else type(data).__name__
            raise DataFormatError(f"{path}: expected {{'dataset', 'num_classes', 'arch': [{{'ks', 'e', 'd', 'r'}}, ...]}}, found {found}")
        if data.get("dataset", self.dataset) != self.dataset:
            raise DataFormatError(f"{path}: expected OFA sub-networks for {self.dataset!r}, found dataset {data['dataset']!r}")
        out = np.empty(len(data["arch"]), dtype=object)
        for i, entry in enumerate(data["arch"]):
            try:
                out[i] = format_arch(check_arch(entry))
            except EncodingError as exc:
                raise DataFormatError(f"{path}: entry {i} is not an OFA MobileNetV3 sub-network: {exc}") from None
        return out
