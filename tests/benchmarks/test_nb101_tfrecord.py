"""Tests for archbench.benchmarks.nb101_tfrecord: TFRecord framing, protobuf decoding, NB101/EC-NAS rows."""
from __future__ import annotations

import numpy as np
import pytest

from archbench.benchmarks import get_reader
from archbench.benchmarks.base import check_reader_frame
from archbench.benchmarks.nb101_tfrecord import (
    crc32c, decode_model_metrics, iter_tfrecords, masked_crc32c, read_records, wire_fields,
)
from archbench.errors import DataFormatError
from archbench.graphs.spaces import get_space
from archbench.graphs.spaces.nb101 import cell_hash, parse_cell


def test_crc32c_check_values():
    assert crc32c(b"123456789") == 0xE3069283                    # the CRC-32C check value
    assert crc32c(b"") == 0 and crc32c(b"\x00" * 32) == 0x8A9136AA  # RFC 3720 test vector
    data = bytes(range(256)) * 3
    assert crc32c(data[100:], crc32c(data[:100])) == crc32c(data)
    assert masked_crc32c(b"") == 0xA282EAD8


def test_wire_format_decoding(kit):
    pb = kit.nb101.metrics([{1: 4.0, 4: 0.5, 6: 0.25}], params=300_000, gpu="TITAN Xp")
    fields = list(wire_fields(pb))
    assert fields[0][:2] == (1, 2) and (2, 0, 300_000) in fields
    decoded = decode_model_metrics(pb + b"\xa8\x06\x07")          # + unknown varint field 101: skipped
    assert decoded["evaluation_data"] == [{"current_epoch": 4.0, "validation_accuracy": 0.5, "energy": 0.25}]
    assert decoded["trainable_parameters"] == 300_000 and decoded["total_time"] == 123.0
    assert decoded["gpus"] == ["TITAN Xp"] and decoded["cpus"] == ["cpu:0"]
    # field 6 as a string is the official checkpoint path, not energy
    assert decode_model_metrics(kit.nb101.metrics([{6: "/ckpt"}], 1))["evaluation_data"] == [{"checkpoint_path": "/ckpt"}]
    with pytest.raises(DataFormatError, match="declares 5 bytes"):
        decode_model_metrics(b"\x0a\x05ab")


def test_official_format_rows(synthetic, kit):
    reader = get_reader("nb101_tfrecord")
    frame = reader.read(path=synthetic("nb101_tfrecord"))
    check_reader_frame(frame, reader)
    a, b = kit.nb101.CELLS
    assert set(frame["arch"]) == {a, b} and set(frame["fidelity"].dropna()) == {108.0}
    va = frame[(frame.arch == a) & (frame.metric == "valid_accuracy")]
    assert va["value"].tolist() == pytest.approx([40.0 + 10.8] * 2) and va["seed"].tolist() == [0, 1]
    assert va["device"].tolist() == [None, None] and (va["unit"] == "%").all()
    t = frame[frame.metric == "train_time"]
    assert set(t["device"]) == {"tpuv2"} and t["value"].tolist() == [1080.0] * 3 and (t["unit"] == "s").all()
    assert frame[(frame.arch == b)]["seed"].isna().all()                 # one run: seed NA
    assert not ((frame.arch == b) & (frame.metric == "test_accuracy")).any()
    params = frame[frame.metric == "params"].set_index("arch")["value"]
    assert params.to_dict() == {a: 8555530.0, b: 1000.0} and "energy" not in set(frame.metric)


def test_ecnas_rows_have_energy_co2_and_the_gpu(synthetic):
    reader = get_reader("nb101_ecnas_4v")
    frame = reader.read(path=synthetic("nb101_ecnas_4v"))
    energy = frame[frame.metric == "energy"]
    assert energy["value"].tolist() == pytest.approx([0.005] * 2) and (energy["unit"] == "kWh").all()
    assert set(energy["device"]) == {"quadrortx6000"} and energy["seed"].tolist() == [0, 1]
    co2 = frame[frame.metric == "co2eq"]
    assert co2["value"].tolist() == pytest.approx([0.5] * 2) and (co2["unit"] == "g").all()


def test_hardware_folder_takes_the_device_from_file_names_and_checks_it(synthetic, kit, tmp_path):
    frame = get_reader("nb101_ecnas_hw").read(path=synthetic("nb101_ecnas_hw"))
    assert set(frame.loc[frame.metric == "energy", "device"]) == {"rtx3090", "titanxp"}
    assert (frame.metric == "params").sum() == 1
    folder = tmp_path / "hw"
    folder.mkdir()
    kit.nb101.write_ecnas(folder, "energy_4V9E_rtx3060.tfrecord", 1, "NVIDIA GeForce RTX 3090")
    with pytest.raises(DataFormatError, match="file name says device 'rtx3060'.*RTX 3090"):
        get_reader("nb101_ecnas_hw").read(path=folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DataFormatError, match="holds no \\*.tfrecord files"):
        get_reader("nb101_ecnas_hw").read(path=empty)


def test_truncated_file(synthetic):
    path = synthetic("nb101_ecnas_5v")
    blob = path.read_bytes()
    for cut, message in ((len(blob) - 3, "declares .* data bytes plus a 4-byte CRC"), (7, "needs a 12-byte header")):
        path.write_bytes(blob[:cut])
        with pytest.raises(DataFormatError, match=f"truncated TFRecord file: record 0 at byte 0 {message}"):
            get_reader("nb101_ecnas_5v").read(path=path)


def test_corrupt_crcs(synthetic):
    path = synthetic("nb101_ecnas_5v")
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 0xFF                                              # data CRC
    path.write_bytes(bytes(blob))
    with pytest.raises(DataFormatError, match="record 0 at byte 0 has data CRC"):
        get_reader("nb101_ecnas_5v").read(path=path)
    reader = get_reader("nb101_ecnas_5v")
    reader.verify_crc = False                                     # documented escape hatch
    assert len(reader.read(path=path)) == 7
    blob[8] ^= 0xFF                                               # length CRC
    path.write_bytes(bytes(blob))
    with pytest.raises(DataFormatError, match="has a length CRC"):
        get_reader("nb101_ecnas_5v").read(path=path)


def test_bad_records_name_the_problem(tmp_path, kit):
    nb = kit.nb101
    cell = nb.CELLS[0]
    good = nb.metrics(nb.evals(4, energy=True), 77)
    cases = [
        (nb.record(cell, 4, good, module_hash="0" * 32), "hashes to .* but the record says 00000000"),
        (nb.record(cell, 12, good), "last evaluation is at epoch 4.0, expected the record's budget 12"),
        (b'["abc", 4]', "expected a JSON list \\[hash, epochs"),
        (b"not json", "could not parse it"),
        (nb.record(cell, 4, good).replace(b'"0110', b'"0120'), "adjacency must be n\\*n digits"),
        (nb.record(cell, 4, good).replace(b"maxpool3x3", b"avgpool3x3"), "unknown NB101 op 'avgpool3x3'"),
    ]
    for data, message in cases:
        path = tmp_path / "x.tfrecord"
        path.write_bytes(nb.tfrecord_bytes([data]))
        with pytest.raises(DataFormatError, match=message):
            get_reader("nb101_ecnas_4v").read(path=path)


def test_iter_tfrecords_yields_the_data(tmp_path, kit):
    path = tmp_path / "r.tfrecord"
    path.write_bytes(kit.nb101.tfrecord_bytes([b"one", b"", b"three"]))
    assert list(iter_tfrecords(path)) == [b"one", b"", b"three"]


# ---- real data -----------------------------------------------------------------------------------

ECNAS_FILES = {  # reader -> (records, distinct cells)
    "nb101_ecnas_4v": (1092, 91), "nb101_ecnas_4v_estimate": (364, 91), "nb101_ecnas_5v": (2532, 2532),
    "nb101_ecnas_hw": (364 * 3 + 352, 91),
}


@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(ECNAS_FILES))
def test_real_ecnas_files(name, shared_data):
    reader = get_reader(name)
    space = get_space("nb101")
    records = [r for f in reader.files(reader.locate(data_dir=shared_data)) for r in read_records(f)]
    n_records, n_cells = ECNAS_FILES[name]
    # read_records checks every record's cell against its official hash: all of them agree
    assert len(records) == n_records and len({r.module_hash for r in records}) == n_cells
    frame = reader.read(data_dir=shared_data)
    check_reader_frame(frame, reader)
    assert frame["arch"].nunique() == n_cells
    assert set(frame["arch"]) == {space.format(space.representative((r.matrix, r.ops))) for r in records}
    # the published parameter counts are those of our whole-network graphs
    params = frame[frame.metric == "params"]
    assert len(params) == n_cells
    assert all(space.build_cg(space.parse(a)).params == v for a, v in zip(params["arch"], params["value"]))
    devices = set(frame["device"].dropna())
    assert devices == ({"quadrortx6000", "rtx3060", "rtx3090", "titanxp"} if name == "nb101_ecnas_hw" else {"quadrortx6000"})
    acc = frame[frame.metric == "valid_accuracy"]["value"]
    assert acc.between(5, 100).all()


@pytest.mark.realdata
def test_real_4v_repeats_and_estimate_extrapolation(shared_data):
    runs = get_reader("nb101_ecnas_4v").read(data_dir=shared_data)
    assert sorted(runs["seed"].dropna().unique()) == [0, 1, 2] and set(runs["fidelity"].dropna()) == {4, 12, 36, 108}
    est = get_reader("nb101_ecnas_4v_estimate").read(data_dir=shared_data)
    assert est["seed"].isna().all()
    energy = est[est.metric == "energy"].pivot(index="arch", columns="fidelity", values="value")
    # measured at 4 epochs, scaled linearly with the budget (what the description says)
    for epochs in (12, 36, 108):
        np.testing.assert_allclose(energy[float(epochs)], energy[4.0] * epochs / 4, rtol=1e-3)
    # accuracies are means of NB101's 3 runs: multiples of 1/(3 * 9984)
    v = est.loc[est.metric == "valid_accuracy", "value"].to_numpy() / 100 * 3 * 9984
    assert np.allclose(v, np.round(v), atol=1e-3)


@pytest.mark.realdata
def test_real_record_hash_matches_the_space(shared_data):
    records = read_records(shared_data / "nb101" / "ec_nas" / "energy_4V9E.tfrecord")
    r = records[0]
    assert cell_hash(parse_cell(get_space("nb101").format((r.matrix, r.ops)))) == r.module_hash
