"""NAS-Bench-101 records in the benchmark's own TFRecord format, read without TensorFlow.

File layout (TFRecord framing), repeated until the end of the file::

    uint64 length (little-endian) | uint32 masked CRC-32C of the 8 length bytes
    data (length bytes)           | uint32 masked CRC-32C of the data

where ``masked(c) = ((c >> 15) | (c << 17)) + 0xa282ead8 (mod 2**32)``. Each record's data is
a JSON list ``[module hash, epochs, adjacency, ops, metrics]``: the official 32-hex module hash,
the training budget in epochs, the adjacency matrix as row-major ``0``/``1`` digits, the op names
joined by commas, and a base64 protocol buffer: the benchmark's ``ModelMetrics`` (EC-NAS-Bench
extends it as ``ModelMetricsEnergy``, see :data:`EVAL_FIELDS` and :data:`METRICS_FIELDS`),
decoded here by a small wire-format decoder.

Every record's cell must hash to its module hash (:func:`~archbench.graphs.spaces.nb101.cell_hash`);
rows name the cell by the native string of its official representative.

Rows per record, at fidelity = the record's epoch budget, from its final evaluation (the one at
that epoch, as the benchmark's API reports): ``train_accuracy``, ``valid_accuracy``,
``test_accuracy`` (%), ``train_time`` (s, training only) and, in EC-NAS files, ``energy`` (kWh)
and ``co2eq`` (g) of training up to that evaluation; plus ``params`` (trainable parameters, once
per cell). Accuracies are device-independent (device None); time, energy and CO2 carry the device:
the GPU named in the record's power-usage data (``"NVIDIA Quadro RTX 6000"`` -> ``quadrortx6000``),
else the reader's default (TPU v2 for the official files). ``seed`` is the repeat number (0, 1, 2
in file order; the files record no seed) where a file holds several runs of a cell at a budget,
and NA where it holds one.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Iterator

import numpy as np
import pandas as pd

from archbench.errors import DataFormatError, EncodingError
from archbench.graphs.spaces.nb101 import canonical_string, cell_hash, make_cell

from .base import PERCENT, READERS, BenchmarkReader, concat_rows, metric_rows

SECONDS, KWH, GRAMS, COUNT = "s", "kWh", "g", "count"
_DATASET = "cifar10"

# ---- CRC-32C (Castagnoli), slicing-by-8 ----------------------------------------------------------

_POLY = 0x82F63B78


def _crc_tables() -> tuple[list[int], ...]:
    first = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ _POLY if c & 1 else c >> 1
        first.append(c)
    tables = [first]
    for _ in range(7):
        prev = tables[-1]
        tables.append([(prev[i] >> 8) ^ first[prev[i] & 0xFF] for i in range(256)])
    return tuple(tables)


_TABLES: tuple[list[int], ...] | None = None


def crc32c(data: bytes, crc: int = 0) -> int:
    """CRC-32C of ``data`` (pure Python, ~15 MB/s); ``crc`` continues an earlier checksum."""
    global _TABLES
    if _TABLES is None:
        _TABLES = _crc_tables()
    t0, t1, t2, t3, t4, t5, t6, t7 = _TABLES
    crc ^= 0xFFFFFFFF
    n = len(data) - len(data) % 8
    for a, b in struct.iter_unpack("<II", memoryview(data)[:n]):
        a ^= crc
        crc = (t7[a & 0xFF] ^ t6[(a >> 8) & 0xFF] ^ t5[(a >> 16) & 0xFF] ^ t4[a >> 24]
               ^ t3[b & 0xFF] ^ t2[(b >> 8) & 0xFF] ^ t1[(b >> 16) & 0xFF] ^ t0[b >> 24])
    for x in data[n:]:
        crc = t0[(crc ^ x) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data: bytes) -> int:
    """TFRecord's masked CRC-32C of ``data``."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def iter_tfrecords(path: str | Path, verify_crc: bool = True) -> Iterator[bytes]:
    """The data of every record of a TFRecord file, in order.

    Args:
        path: the file.
        verify_crc: check both CRCs of every record (about 15 MB/s); False checks only the framing.

    Raises:
        DataFormatError: the file ends inside a record (truncated) or a CRC does not match.
    """
    try:
        blob = Path(path).read_bytes()
    except OSError as exc:
        raise DataFormatError(f"expected a TFRecord file at {path}, could not read it: {exc}") from None
    pos, k = 0, 0
    while pos < len(blob):
        if len(blob) - pos < 12:
            raise DataFormatError(f"{path}: truncated TFRecord file: record {k} at byte {pos} needs a 12-byte header, "
                                  f"found {len(blob) - pos} bytes")
        header = blob[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (length_crc,) = struct.unpack_from("<I", blob, pos + 8)
        if verify_crc and masked_crc32c(header) != length_crc:
            raise DataFormatError(f"{path}: corrupt TFRecord file: record {k} at byte {pos} has a length CRC "
                                  f"{length_crc:#010x}, expected {masked_crc32c(header):#010x} (not a TFRecord file?)")
        end = pos + 12 + length + 4
        if end > len(blob):
            raise DataFormatError(f"{path}: truncated TFRecord file: record {k} at byte {pos} declares {length} data "
                                  f"bytes plus a 4-byte CRC, but only {len(blob) - pos - 12} bytes follow")
        data = blob[pos + 12:pos + 12 + length]
        if verify_crc:
            (data_crc,) = struct.unpack_from("<I", blob, end - 4)
            if masked_crc32c(data) != data_crc:
                raise DataFormatError(f"{path}: corrupt TFRecord file: record {k} at byte {pos} has data CRC "
                                      f"{data_crc:#010x}, expected {masked_crc32c(data):#010x}")
        yield data
        pos, k = end, k + 1


# ---- protocol-buffer wire format -----------------------------------------------------------------

VARINT, FIXED64, LEN, FIXED32 = 0, 1, 2, 5


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if i >= len(buf):
            raise DataFormatError("protobuf ends inside a varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if b < 0x80:
            return result, i
        shift += 7
        if shift > 63:
            raise DataFormatError("protobuf varint longer than 10 bytes")


def wire_fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """``(field number, wire type, value)`` of every field of a message: int, float (fixed64 as
    double, fixed32 as float) or bytes (length-delimited)."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == VARINT:
            value, i = _varint(buf, i)
        elif wire == FIXED64:
            if i + 8 > len(buf):
                raise DataFormatError(f"protobuf ends inside fixed64 field {number}")
            (value,) = struct.unpack_from("<d", buf, i)
            i += 8
        elif wire == LEN:
            n, i = _varint(buf, i)
            if i + n > len(buf):
                raise DataFormatError(f"protobuf field {number} declares {n} bytes, only {len(buf) - i} remain")
            value, i = buf[i:i + n], i + n
        elif wire == FIXED32:
            if i + 4 > len(buf):
                raise DataFormatError(f"protobuf ends inside fixed32 field {number}")
            (value,) = struct.unpack_from("<f", buf, i)
            i += 4
        else:
            raise DataFormatError(f"protobuf field {number} has unsupported wire type {wire} (groups are not used here)")
        yield number, wire, value


#: ``EvaluationData`` (official) and EC-NAS's ``EvaluationDataEnergy``: (field, wire type) -> name.
#: Field 6 is the official checkpoint path (string) or EC-NAS's energy (double): the wire type tells.
EVAL_FIELDS: dict[tuple[int, int], str] = {
    (1, FIXED64): "current_epoch", (2, FIXED64): "training_time", (3, FIXED64): "train_accuracy",
    (4, FIXED64): "validation_accuracy", (5, FIXED64): "test_accuracy", (6, LEN): "checkpoint_path",
    (6, FIXED64): "energy", (7, FIXED64): "co2eq", (8, FIXED64): "avg_intensity", (9, LEN): "start_emission",
    (10, LEN): "stop_emission", (11, FIXED64): "pred_energy", (12, FIXED64): "pred_co2eq",
    (13, FIXED64): "pred_training_time", (14, FIXED64): "pred_avg_intensity", (15, LEN): "checkpoint_path",
}
#: ``ModelMetrics`` (fields 1-3) and EC-NAS's ``ModelMetricsEnergy`` (4-9), except field 1
#: (repeated evaluation data) and 9 (power usage), decoded separately.
METRICS_FIELDS: dict[tuple[int, int], str] = {
    (2, VARINT): "trainable_parameters", (3, FIXED64): "total_time", (4, FIXED64): "total_energy",
    (5, FIXED64): "total_co2eq", (6, LEN): "start_emission", (7, LEN): "stop_emission",
    (8, FIXED64): "overall_avg_intensity",
}
_STRINGS = frozenset({"checkpoint_path", "start_emission", "stop_emission"})


def _message(buf: bytes, schema: dict[tuple[int, int], str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for number, wire, value in wire_fields(buf):
        name = schema.get((number, wire))
        if name is not None:  # unknown fields are skipped, as protobuf readers do
            out[name] = value.decode("utf-8", "replace") if name in _STRINGS else value
    return out


def _device_names(buf: bytes, kind: int) -> list[str]:
    """Device names of PowerUsageData's ``gpu`` (kind 1) or ``cpu`` (kind 2) entry."""
    names = []
    for number, wire, usage in wire_fields(buf):
        if number == kind and wire == LEN:
            for n2, w2, device in wire_fields(usage):
                if n2 == 3 and w2 == LEN:
                    names += [v.decode("utf-8", "replace") for n3, w3, v in wire_fields(device) if n3 == 1 and w3 == LEN]
    return names


def decode_model_metrics(buf: bytes) -> dict[str, Any]:
    """The benchmark's ``ModelMetrics`` (or EC-NAS ``ModelMetricsEnergy``) protobuf as a dict.

    Returns:
        ``{"evaluation_data": [dict per evaluation], "trainable_parameters": int, "total_time": s,
        ..., "gpus": [device names], "cpus": [device names]}`` with the names of
        :data:`EVAL_FIELDS` / :data:`METRICS_FIELDS` for the fields present.
    """
    out: dict[str, Any] = {"evaluation_data": [], "gpus": [], "cpus": []}
    for number, wire, value in wire_fields(buf):
        if number == 1 and wire == LEN:
            out["evaluation_data"].append(_message(value, EVAL_FIELDS))
        elif number == 9 and wire == LEN:
            out["gpus"] += _device_names(value, 1)
            out["cpus"] += _device_names(value, 2)
        else:
            name = METRICS_FIELDS.get((number, wire))
            if name is not None:
                out[name] = value.decode("utf-8", "replace") if name in _STRINGS else value
    return out


# ---- records -------------------------------------------------------------------------------------

@dataclass
class NB101Record:
    """One decoded record: a cell trained for ``epochs`` epochs once."""

    module_hash: str
    epochs: int
    matrix: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]
    metrics: dict[str, Any] = field(repr=False)


_HEX32 = re.compile(r"[0-9a-f]{32}")


def parse_record(data: bytes, where: str) -> NB101Record:
    """Decode one record's JSON list and protobuf; errors name ``where`` and what was found."""
    try:
        item = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{where}: expected a JSON list [hash, epochs, adjacency, ops, metrics], "
                              f"could not parse it: {exc}") from None
    if not (isinstance(item, list) and len(item) == 5):
        raise DataFormatError(f"{where}: expected a JSON list [hash, epochs, adjacency, ops, metrics], found {item!r:.120}")
    module_hash, epochs, adjacency, ops, raw = item
    if not (isinstance(module_hash, str) and _HEX32.fullmatch(module_hash)):
        raise DataFormatError(f"{where}: module hash must be 32 lowercase hex digits, found {module_hash!r:.60}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs <= 0:
        raise DataFormatError(f"{where}: epochs must be a positive integer, found {epochs!r}")
    if not (isinstance(adjacency, str) and isinstance(ops, str) and isinstance(raw, str)):
        raise DataFormatError(f"{where}: adjacency, ops and metrics must be strings, found "
                              f"{type(adjacency).__name__}, {type(ops).__name__}, {type(raw).__name__}")
    n = int(round(len(adjacency) ** 0.5))
    if n * n != len(adjacency) or set(adjacency) - {"0", "1"}:
        raise DataFormatError(f"{where}: adjacency must be n*n digits 0/1 (row-major), found {adjacency!r:.80}")
    matrix = tuple(tuple(int(c) for c in adjacency[i * n:(i + 1) * n]) for i in range(n))
    try:
        cell = make_cell(matrix, tuple(ops.split(",")))
    except EncodingError as exc:
        raise DataFormatError(f"{where}: not a valid NB101 cell: {exc}") from None
    computed = cell_hash(cell)
    if computed != module_hash:
        raise DataFormatError(f"{where}: the record's cell hashes to {computed}, but the record says {module_hash}")
    try:
        metrics = decode_model_metrics(base64.b64decode(raw))
    except (binascii.Error, ValueError) as exc:
        raise DataFormatError(f"{where}: metrics are not base64: {exc}") from None
    except DataFormatError as exc:
        raise DataFormatError(f"{where}: metrics are not a ModelMetrics protobuf: {exc}") from None
    return NB101Record(module_hash, epochs, cell[0], cell[1], metrics)


def read_records(path: str | Path, verify_crc: bool = True) -> list[NB101Record]:
    """Every record of an NB101-format TFRecord file, decoded and hash-checked."""
    return [parse_record(data, f"{path}: record {k}") for k, data in enumerate(iter_tfrecords(path, verify_crc))]


def device_slug(name: str) -> str:
    """Short stable device name: lowercase alphanumerics without vendor/brand words (``rtx3090``)."""
    slug = re.sub(r"[^0-9a-z]", "", name.lower())
    for word in ("nvidia", "geforce"):
        slug = slug.replace(word, "")
    return slug


# (metric, evaluation field, unit, scale, device-dependent)
_EVAL_METRICS: tuple[tuple[str, str, str, float, bool], ...] = (
    ("train_accuracy", "train_accuracy", PERCENT, 100.0, False),
    ("valid_accuracy", "validation_accuracy", PERCENT, 100.0, False),
    ("test_accuracy", "test_accuracy", PERCENT, 100.0, False),
    ("train_time", "training_time", SECONDS, 1.0, True),
    ("energy", "energy", KWH, 1.0, True),
    ("co2eq", "co2eq", GRAMS, 1.0, True),
)
PROVIDES: tuple[str, ...] = tuple(m for m, *_ in _EVAL_METRICS) + ("params",)


def records_to_rows(records: list[NB101Record], source: str, where: str, default_device: str | None = None,
                    file_device: str | None = None) -> pd.DataFrame:
    """Reader rows of decoded records (see the module docstring).

    Args:
        default_device: device of time/energy rows when a record names no GPU.
        file_device: device the file name promises; a record naming another GPU raises.
    """
    runs = Counter((r.module_hash, r.epochs) for r in records)
    seen: Counter = Counter()
    columns: dict[str, list] = {k: [] for k in ("arch", "metric", "fidelity", "device", "value", "unit", "seed")}
    archs: dict[str, str] = {}
    params: dict[str, float] = {}
    for k, rec in enumerate(records):
        arch = archs.get(rec.module_hash)
        if arch is None:
            arch = archs[rec.module_hash] = canonical_string((rec.matrix, rec.ops))
        evals = rec.metrics["evaluation_data"]
        if not evals:
            raise DataFormatError(f"{where}: record {k} ({rec.module_hash}) has no evaluation data")
        final = evals[-1]
        if final.get("current_epoch") != rec.epochs:
            raise DataFormatError(f"{where}: record {k} ({rec.module_hash}): the last evaluation is at epoch "
                                  f"{final.get('current_epoch')}, expected the record's budget {rec.epochs}")
        gpus = {device_slug(g) for g in rec.metrics["gpus"]}
        if len(gpus) > 1:
            raise DataFormatError(f"{where}: record {k} names several GPUs {sorted(rec.metrics['gpus'])}; expected one")
        device = gpus.pop() if gpus else default_device
        if file_device is not None and device != file_device:
            raise DataFormatError(f"{where}: the file name says device {file_device!r}, but record {k} was measured "
                                  f"on {rec.metrics['gpus'] or 'no named GPU'}")
        key = (rec.module_hash, rec.epochs)
        seed = seen[key] if runs[key] > 1 else None
        seen[key] += 1
        for metric, name, unit, scale, on_device in _EVAL_METRICS:
            if name in final:
                columns["arch"].append(arch)
                columns["metric"].append(metric)
                columns["fidelity"].append(float(rec.epochs))
                columns["device"].append(device if on_device else None)
                columns["value"].append(final[name] * scale)
                columns["unit"].append(unit)
                columns["seed"].append(seed)
        if "trainable_parameters" in rec.metrics:
            value = float(rec.metrics["trainable_parameters"])
            if params.setdefault(arch, value) != value:
                raise DataFormatError(f"{where}: record {k} ({rec.module_hash}) gives {value:.0f} parameters, "
                                      f"an earlier record of the same cell {params[arch]:.0f}")
    blocks = [metric_rows(source=source, space="nb101", arch=np.array(columns["arch"], dtype=object),
                          dataset=_DATASET, metric=np.array(columns["metric"], dtype=object),
                          value=np.array(columns["value"], dtype=float),
                          unit=np.array(columns["unit"], dtype=object),
                          fidelity=np.array(columns["fidelity"], dtype=float),
                          device=np.array(columns["device"], dtype=object),
                          seed=np.array(columns["seed"], dtype=object))]
    if params:
        blocks.append(metric_rows(source=source, space="nb101", arch=np.array(list(params), dtype=object),
                                  dataset=_DATASET, metric="params", value=np.array(list(params.values())),
                                  unit=COUNT))
    return concat_rows(blocks)


# ---- readers -------------------------------------------------------------------------------------

class Nb101TfrecordReader(BenchmarkReader):
    """Reads NB101-format TFRecord files: one file, or every ``*.tfrecord`` of a folder.

    Class attributes configure a benchmark: ``default_device`` for records that name no GPU, and
    ``device_in_filename`` to take the device from file names ``<name>_<device>.tfrecord``
    (checked against the GPU each record names). ``verify_crc`` can be turned off per instance.
    """

    name: ClassVar[str] = "nb101_tfrecord"
    space: ClassVar[str] = "nb101"
    description: ClassVar[str] = (
        "NAS-Bench-101 (google-research/nasbench, Apache-2.0): the official nasbench_only108 / nasbench_full "
        "TFRecord file, read without TensorFlow: accuracies, training time (TPU v2) and parameters per cell")
    provides: ClassVar[tuple[str, ...]] = PROVIDES
    default_relpath: ClassVar[str | None] = "nb101/nasbench_only108.tfrecord"
    num_archs: ClassVar[int | None] = 423_624
    #: The benchmark trained every cell on TPU v2 accelerators; its records name no device.
    default_device: ClassVar[str | None] = "tpuv2"
    device_in_filename: ClassVar[bool] = False

    def __init__(self, verify_crc: bool = True) -> None:
        self.verify_crc = verify_crc

    def files(self, path: Path) -> list[Path]:
        """The TFRecord files at ``path`` (a file, or a folder's ``*.tfrecord`` in name order)."""
        if path.is_dir():
            found = sorted(path.glob("*.tfrecord"))
            if not found:
                raise DataFormatError(f"benchmark reader {self.name!r}: folder {path} holds no *.tfrecord files")
            return found
        return [path]

    def _read(self, path: Path) -> pd.DataFrame:
        frames = []
        for file in self.files(path):
            file_device = None
            if self.device_in_filename:
                stem, sep, file_device = file.stem.rpartition("_")
                if not sep or not file_device:
                    raise DataFormatError(f"{file}: expected a file name <benchmark>_<device>.tfrecord")
            frames.append(records_to_rows(read_records(file, self.verify_crc), self.name, str(file),
                                          self.default_device, file_device))
        frame = concat_rows(frames)
        # Several files of a folder describe the same cells: keep one params row per cell and value.
        repeated = (frame["metric"] == "params") & frame.duplicated(["arch", "metric", "value"])
        return frame[~repeated].reset_index(drop=True) if repeated.any() else frame

    def _expected(self) -> str:
        return f"an NB101-format TFRecord file ({self.default_relpath})"


_ECNAS = "EC-NAS-Bench (PedramBakh/EC-NAS-Bench, MIT)"


@READERS.register("nb101_tfrecord")
class OfficialNb101Reader(Nb101TfrecordReader):
    """The official NAS-Bench-101 TFRecord release (nasbench_only108.tfrecord or nasbench_full.tfrecord)."""


@READERS.register("nb101_ecnas_4v")
class EcNas4vReader(Nb101TfrecordReader):
    """EC-NAS-Bench's own runs of the 4-vertex NB101 sub-space: 3 repeats at 4/12/36/108 epochs."""

    name = "nb101_ecnas_4v"
    description = (f"{_ECNAS}: 91 NB101 cells of at most 4 vertices trained 3 times at 4/12/36/108 epochs on a "
                   "Quadro RTX 6000: accuracies, training time, energy (kWh) and CO2 (g)")
    default_relpath = "nb101/ec_nas/energy_4V9E.tfrecord"
    num_archs = 91
    default_device = None


@READERS.register("nb101_ecnas_5v")
class EcNas5vReader(Nb101TfrecordReader):
    """EC-NAS-Bench's own runs of the 5-vertex NB101 sub-space: one 4-epoch run per cell."""

    name = "nb101_ecnas_5v"
    description = (f"{_ECNAS}: 2,532 NB101 cells of at most 5 vertices trained once for 4 epochs on a Quadro RTX 6000: "
                   "accuracies, training time, energy (kWh) and CO2 (g)")
    default_relpath = "nb101/ec_nas/energy_5V9E.tfrecord"
    num_archs = 2532
    default_device = None


_ESTIMATED = ("time, energy and CO2 measured at 4 epochs and scaled linearly to 12/36/108 epochs; accuracies "
              "copied from NAS-Bench-101 (means over its 3 runs, constant over the checkpoints)")


@READERS.register("nb101_ecnas_4v_estimate")
class EcNas4vEstimateReader(Nb101TfrecordReader):
    """EC-NAS-Bench's estimated 4-vertex table (Quadro RTX 6000)."""

    name = "nb101_ecnas_4v_estimate"
    description = f"{_ECNAS}: 91 NB101 cells of at most 4 vertices on a Quadro RTX 6000; {_ESTIMATED}"
    default_relpath = "nb101/ec_nas/energy_4V9E_estimate.tfrecord"
    num_archs = 91
    default_device = None


@READERS.register("nb101_ecnas_hw")
class EcNasHardwareReader(Nb101TfrecordReader):
    """EC-NAS-Bench's 4-vertex tables on several GPUs: one file per GPU, named ``energy_4V9E_<gpu>.tfrecord``."""

    name = "nb101_ecnas_hw"
    description = (f"{_ECNAS}: 91 NB101 cells of at most 4 vertices on Quadro RTX 6000, RTX 3060, RTX 3090 and "
                   f"Titan Xp (device from the file name); {_ESTIMATED}")
    default_relpath = "nb101/ec_nas/hardware"
    num_archs = 91
    default_device = None
    device_in_filename = True

    def _expected(self) -> str:
        return f"a folder of EC-NAS energy_4V9E_<gpu>.tfrecord files ({self.default_relpath})"
