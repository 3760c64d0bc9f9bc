"""Tiny synthetic inputs in each benchmark's original file format, written in code.

``SYNTHETIC[name](folder) -> path`` writes a small valid input for reader ``name`` and returns
the path to pass to ``read(path=...)``; ``EXPECTED[name]`` is what that input must yield.
The conformance suite fails for a registered reader without an entry here. The real-data
fixture ``shared_data`` comes from ``tests/conftest.py``.
"""
from __future__ import annotations

import base64
import json
import itertools
import math
import pickle
import struct
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from archbench.graphs.spaces.nb201 import format_arch_str, index_to_arch

#: A few official (index, string) pairs used by the fixtures.
INDICES = (0, 1, 7, 15624)
STRINGS = tuple(format_arch_str(index_to_arch(i)) for i in INDICES)


def write_nats_csv(folder: Path) -> Path:
    path = folder / "nats_tss_cifar10.csv"
    rows = ["nb201_index,arch_str,cifar10_test_acc_200ep,cifar10_test_acc_12ep"]
    rows.append(f"{INDICES[0]},{STRINGS[0]},85.5,69.5")
    rows.append(f"{INDICES[1]},{STRINGS[1]},93.25,")          # blank 12-epoch value: row dropped
    rows.append(f"{INDICES[2]},{STRINGS[2]},10.0,10.0")
    path.write_text("\n".join(rows) + "\n")
    return path


def _fake_analognas_module() -> types.ModuleType:
    """A stand-in ``analognasbench.data`` so the real pickler writes the package's class paths."""
    module = types.ModuleType("analognasbench.data")

    class Architecture:
        pass

    class DriftMeasurement:
        pass

    for cls in (Architecture, DriftMeasurement):
        cls.__module__, cls.__qualname__ = "analognasbench.data", cls.__name__
        setattr(module, cls.__name__, cls)
    return module


def analognas_pickle_bytes(entries: dict[tuple[int, ...], dict], monkeypatch: pytest.MonkeyPatch) -> bytes:
    """Pickle ``{code tuple: field dict}`` exactly as data.anb is laid out (protocol 4, NEWOBJ + BUILD)."""
    module = _fake_analognas_module()
    # Both names must be present so pickle's import check finds them without importing the real package.
    monkeypatch.setitem(sys.modules, "analognasbench", types.ModuleType("analognasbench"))
    monkeypatch.setitem(sys.modules, "analognasbench.data", module)
    data = {}
    for key, fields in entries.items():
        arch = module.Architecture()
        arch.architecture = key
        for name, value in fields.items():
            if "_drift_" in name and isinstance(value, tuple):
                drift = module.DriftMeasurement()
                drift.value, drift.uncertainty = value
                value = drift
            setattr(arch, name, value)
        data[key] = arch
    return pickle.dumps(data, protocol=4)


def analognas_fields(base: float) -> dict:
    fields = {"baseline_accuracy": base, "ptq_accuracy": base - 1, "qat_accuracy": base - 2,
              "noisy_accuracy": base - 3, "analog_accuracy": base - 4}
    for kind in ("baseline", "analog"):
        for t in (60, 3600, 86400, 2592000):
            fields[f"{kind}_drift_{t}"] = (base - 5, 0.5)
    return fields


def write_analognas(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # AnalogNAS codes: 0 skip, 1 none, 2 conv3x3, 3 conv1x1, 4 avg_pool; tuple ordered by edge.
    first = analognas_fields(90.0)
    second = analognas_fields(80.0)
    second["ptq_accuracy"] = float("nan")       # missing: dropped
    second["analog_drift_60"] = (float("nan"), float("nan"))
    path = folder / "data.anb"
    path.write_bytes(analognas_pickle_bytes({(2, 2, 2, 2, 2, 2): first, (0, 1, 3, 4, 0, 1): second}, monkeypatch))
    return path


def write_help_folder(folder: Path) -> Path:
    root = folder / "help_latency"
    root.mkdir()
    torch.save({s: k for k, s in enumerate(STRINGS)}, root / "str_arch2idx.pt")
    torch.save([3, 1], root / "hardware_embedding_index.pt")
    torch.save([1.5, 2.25, float("nan"), 4.0], root / "titanx_1.pt")   # NaN: dropped
    torch.save([4, 5, 6, 7], root / "pixel2.pt")                          # whole ms as ints
    return root


def hw360_frame() -> pd.DataFrame:
    rows = []
    for idx in INDICES[:2]:
        for device, framework, var, energy in (("pi5", "onnx", 0.01, 2.5), ("pixel", "litert", math.nan, math.nan)):
            for task, acc in (("cifar100", math.nan), ("ninapro", 90.0 + idx), ("darcy", 0.9)):
                rows.append({"arch_idx": idx, "rep_arch_idx": idx, "device": device, "framework": framework, "task": task,
                             "lat_ms_median": 1.0 + idx, "lat_ms_var": var, "energy_mj": energy, "accuracy": acc,
                             "status": "ok"})
    return pd.DataFrame(rows)


def write_hw360(folder: Path) -> Path:
    path = folder / "hw_nas_bench_360.parquet"
    hw360_frame().to_parquet(path, index=False)
    return path


def write_brp(folder: Path) -> Path:
    path = folder / "brp.pkl"
    # BRP-NAS codes = NB201_OPS order, tuple in string order; values numpy float64 seconds.
    data = {(0, 0, 0, 2, 2, 4): np.float64(0.0015), (3, 3, 3, 3, 3, 3): np.float64(0.0095), (1, 1, 1, 1, 1, 1): np.float64(0.001)}
    path.write_bytes(pickle.dumps(data, protocol=3))
    return path


# ---- DARTS / NAS-Bench-301 readers ------------------------------------------------------------------

#: Two DARTS genotypes as NASLib compact strings (op codes 0 max, 1 avg, 2 skip, 3 sep3, 4 sep5, 5 dil3, 6 dil5).
DARTS_COMPACT = ("[[(0, 3), (1, 3), (0, 3), (1, 3), (1, 3), (0, 2), (0, 2), (2, 5)], "
                 "[(0, 0), (1, 0), (2, 2), (1, 0), (0, 0), (2, 2), (2, 2), (1, 0)]]",
                 "[[(0, 0), (1, 5), (1, 1), (0, 1), (1, 3), (0, 3), (1, 3), (3, 2)], "
                 "[(1, 0), (0, 2), (1, 3), (0, 3), (3, 0), (0, 1), (2, 0), (3, 6)]]")


def _darts_genotypes() -> tuple[str, ...]:
    from archbench.graphs.spaces.darts import format_arch, parse_arch

    return tuple(format_arch(parse_arch(c)) for c in DARTS_COMPACT)


def write_nb301_naslib_zc(folder: Path) -> Path:
    path = folder / "naslib_zc_nasbench301_725.json"
    data = {key: {"idx": str(i), "arch": key, "val_accuracy": 93.0 + i,
                  "synflow": {"score": 50.0 + i, "time": 1.5}, "nwot": {"score": 440.0, "time": 0.9},
                  "params": {"score": 0.8 + i, "time": 0.5}}
            for i, key in enumerate(DARTS_COMPACT)}
    path.write_text(json.dumps({"cifar10": data}))
    return path


def write_nb301_naslib_zc500(folder: Path) -> Path:
    path = folder / "naslib_zc_nasbench301_500.json"
    data = {key: {"val_accuracy": 92.5 + i, "synflow": 60.0 + i, "snip": 200.0} for i, key in enumerate(DARTS_COMPACT)}
    path.write_text(json.dumps({"nasbench301": {"cifar10": data}}))
    return path


def write_darts_antoyang(folder: Path) -> Path:
    root = folder / "antoyang_random"
    root.mkdir()
    # pt.darts' per-node nesting behind the config-dump prefix, as in 214genotypes.pkl
    from archbench.graphs.spaces.darts import parse_arch

    texts = []
    for genotype in _darts_genotypes():
        arch = parse_arch(genotype)
        nest = lambda cell: [list(cell[2 * k:2 * k + 2]) for k in range(4)]  # noqa: E731
        texts.append(f"GENOTYPE=Genotype(normal={nest(arch.normal)!r}, normal_concat=range(2, 6), "
                     f"reduce={nest(arch.reduce)!r}, reduce_concat=range(2, 6))")
    curves = np.array([[50.0, 80.0, 90.5, 90.25, 90.0], [40.0, math.nan, 91.0, 92.75, 92.5]])  # NaN: dropped
    pairs = [(text, np.float64(np.nanmax(row))) for text, row in zip(texts, curves)]
    (root / "214genotypes.pkl").write_bytes(pickle.dumps(pairs, protocol=3))
    np.save(root / "214_random_architectures.npy", curves)
    (root / "56_random_mod_architectures.npy").write_bytes(b"never read")
    return root


def write_darts_oncenas(folder: Path) -> Path:
    path = folder / "data-545.csv"
    a, b = _darts_genotypes()
    header = ("weights_index,architecture,flop,params,train_time10,train_acc10,valid_acc10,train_time50,"
              "train_acc50,valid_acc50,test_acc50,gpu_latency,rasp_latency,fpga_latency,mcu_latency")
    rows = [header,
            f'000-00,"{a}",536.55264,3.262942,0:20:57,75.106,79.76,1:44:56,86.726,92.04,92.03999747,29.33620105,250.44,489.66,406.42',
            f'000-01,"{b}",560.799936,3.407662,0:21:07,76.4,,1:45:33,88.15,92.42,92.41999719,29.52694659,241.3,436.06,480.96']
    path.write_text("\n".join(rows) + "\n")  # blank valid_acc10 on the second row: dropped
    return path


# ---- TransNAS-Bench-101, FBNet and OFA MobileNetV3 readers ------------------------------------------

def _naslib_zc_record(key: str, value: float, proxies: dict) -> dict:
    return {"idx": "0", "arch": key, "val_accuracy": value,
            **{p: {"score": s, "time": t} for p, (s, t) in proxies.items()}}


def write_transnas101_micro_zen(folder: Path) -> Path:
    import zipfile

    path = folder / "transnas101_micro_all_zen.zip"
    scene = [{"idx": "0", "arch": "(1, 0, 2, 3, 3, 3)", "zen": {"score": 80.5, "time": 2.0}, "val_accuracy": 50.25},
             {"idx": "1", "arch": "(0, 0, 0, 0, 0, 0)", "zen": {"score": 8.0, "time": 2.5}, "val_accuracy": 7.5}]
    layout = [{"idx": "0", "arch": "(1, 0, 2, 3, 3, 3)", "zen": {"score": 81.0, "time": 2.0}, "val_accuracy": -0.75},
              {"idx": "1", "arch": "(0, 0, 0, 0, 0, 0)", "zen": {"score": -1e8, "time": 2.5}, "val_accuracy": -1.0}]
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("zen/", "")
        z.writestr("zen/benchmark--transbench101_micro--class_scene--0.json", json.dumps(scene))
        z.writestr("zen/benchmark--transbench101_micro--room_layout--0.json", json.dumps(layout))
    return path


def write_transnas101_micro_naslib_zc(folder: Path) -> Path:
    path = folder / "naslib_zc_transbench101_micro.json"
    proxies = {"flops": (263.3, 0.8), "epe_nas": (-1e8, 1.9)}     # epe_nas failed: score dropped, time kept
    keys = ("(1, 0, 0, 2, 1, 0)", "(3, 3, 3, 3, 3, 3)")
    data = {"class_scene": {k: _naslib_zc_record(k, 40.0 + i, proxies) for i, k in enumerate(keys)},
            "segmentsemantic": {keys[0]: _naslib_zc_record(keys[0], 93.5, proxies)}}
    path.write_text(json.dumps(data))
    return path


def write_transnas101_macro_naslib_zc(folder: Path) -> Path:
    path = folder / "naslib_zc_transbench101_macro.json"
    keys = ("(1, 2, 4, 2, 0, 0)", "(3, 1, 1, 2, 0, 0)")
    data = {"autoencoder": {k: _naslib_zc_record(k, 0.5 + i / 10, {"nwot": (500.0, 6.0)}) for i, k in enumerate(keys)}}
    path.write_text(json.dumps(data))
    return path


#: Two FBNet architectures as HELP's op-index lists, and two OFA sub-networks as HELP's dicts.
FBNET_ARCHS = ([7, 8, 1, 8, 4, 8, 8, 8, 7, 4, 1, 4, 7, 3, 2, 7, 3, 2, 4, 2, 4, 5], [0] * 22)
OFA_ARCHS = ({"ks": [7] * 20, "e": [6] * 20, "d": [4] * 5, "r": np.int64(224)},
             {"ks": [3, 5, 7, 3] * 5, "e": [3, 4, 6, 4] * 5, "d": [2, 3, 4, 2, 3], "r": np.int64(128)})


def write_fbnet_help(folder: Path) -> Path:
    root = folder / "help_latency"
    root.mkdir()
    torch.save([list(a) for a in FBNET_ARCHS], root / "arch.pt")
    torch.save([4.0, 5.5], root / "eyeriss.pt")
    torch.save([28, 30], root / "pixel2.pt")                    # whole ms as ints
    torch.save([10.5, float("nan")], root / "titanx_1.pt")      # NaN: dropped
    return root


def write_ofa_help(folder: Path) -> Path:
    root = folder / "help_latency"
    root.mkdir()
    # torch.save pickles the numpy ints as numpy scalars (protocol 2), as HELP's file does
    torch.save({"dataset": "imagenet", "num_classes": 1000, "arch": [dict(a) for a in OFA_ARCHS]}, root / "ofa_archs.pt")
    torch.save([7.5, 8.0], root / "v100_1.pt")
    torch.save([20.0, 30.0], root / "titan_rtx_64.pt")
    return root


def write_fbnet_nasflat_zc(folder: Path) -> Path:
    path = folder / "zc_fbnet.json"
    data = {"_".join(map(str, a)): {"params": 2447972.0 + i, "synflow": 7.6e31, "zen": 64.25} for i, a in enumerate(FBNET_ARCHS)}
    path.write_text(json.dumps(data))
    return path


# --- NAS-Bench-Graph, NAS-Bench-NLP, SpikeNAS-Bench -------------------------------------------------

def nasbench_graph_entries() -> dict[str, dict[int, dict]]:
    """``{dataset: {valid_hash: entry}}``: 3 cora archs (one latency NaN) and 2 proteins archs."""
    from archbench.graphs.spaces.nasbench_graph import all_archs, benchmark_key

    archs = all_archs()
    cora = {benchmark_key(a): {"valid_perf": 0.7 + i / 100, "perf": 0.71 + i / 100, "latency": 0.005 if i else math.nan,
                               "para": np.float64(1.5 + i)} for i, a in enumerate(archs[:3])}
    prot = [a for a in archs if set(a[1]) <= {"gcn", "sage", "arma", "fc", "skip"}][:2]
    proteins = {benchmark_key(a): {"valid_perf": np.float64(0.77), "perf": np.float64(0.73 + i / 100),
                                   "latency": 0.002, "para": np.float64(0.5)} for i, a in enumerate(prot)}
    return {"cora": cora, "proteins": proteins}


def write_nasbench_graph(folder: Path) -> Path:
    light = folder / "light"
    light.mkdir()
    for dataset, entries in nasbench_graph_entries().items():
        (light / f"{dataset}.bench").write_bytes(pickle.dumps(entries, protocol=3))
    return light


NLP_RECIPES = (
    {"f": {"op": "linear", "input": ["x", "h_prev_0"]}, "h_new_0": {"op": "activation_tanh", "input": ["f"]}},
    {"node_0": {"op": "linear", "input": ["x", "h_prev_0", "h_prev_1"]},
     "node_1": {"op": "blend", "input": ["node_0", "h_prev_0", "h_prev_1"]},
     "h_new_0": {"op": "activation_leaky_relu", "input": ["node_1"]},
     "h_new_1": {"op": "activation_sigm", "input": ["node_0"]}},
)


def nasbench_nlp_log(recipe: dict, losses: list, status: str = "OK") -> dict:
    return {"recepie_id": 1, "emsize": 400, "nhid": 600, "nlayers": 3, "tied": True, "epochs": 50,
            "recepie": json.dumps(recipe), "num_params": 15_066_078, "wall_times": [100.0 + e for e in range(len(losses))],
            "train_losses": [v + 0.5 for v in losses], "val_losses": losses, "test_losses": [v - 0.1 for v in losses],
            "status": status}


def write_nasbench_nlp(folder: Path) -> Path:
    import zipfile

    path = folder / "train_logs_wikitext-2_logs.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("log_stats_model_1_a.json", json.dumps(nasbench_nlp_log(NLP_RECIPES[0], [5.5, 5.3, 5.2])))
        zf.writestr("log_stats_model_2_b.json", json.dumps(nasbench_nlp_log(NLP_RECIPES[1], [6.0, math.nan], "loss is nan!")))
    return path


def spikenas_frame() -> pd.DataFrame:
    """Three runs: two CIFAR-10 cells (3 epochs) and one Tiny-ImageNet cell with top-5 curves (2 epochs)."""
    fr = [0.05] * 16
    fr0 = [-1.0] * 12 + [0.1, 0.2, 0.3, 0.15]     # arch 0: no spiking edge
    return pd.DataFrame({
        "dataset": ["CIFAR10", "CIFAR10", "TinyImagenet"],
        "arch_id": [0, 15624, 7],
        "params": [17_179_620, 21_607_908, 72_243_816],
        "test_acc": [10.0, 88.5, 30.0],
        "test_top5": [np.nan, np.nan, 55.0],
        "elapsed_s": [100.0, 200.0, 300.0],
        "n_epochs": [3, 3, 2],
        "firing_rates": [fr0, fr, fr],
        "train_acc": [[10.0, 10.0, 10.0], [50.0, 60.0, 70.0], [5.0, 8.0]],
        "train_loss": [[2.3, 2.3, 2.3], [1.5, 1.2, 1.0], [4.0, 3.5]],
        "val_acc": [[10.0, 10.0, 10.0], [55.0, 65.0, 75.0], [6.0, 9.0]],
        "val_loss": [[2.3, 2.3, 2.3], [1.4, 1.1, 0.9], [3.9, 3.4]],
        "train_top5": [None, None, [20.0, 25.0]],
        "val_top5": [None, None, [21.0, 26.0]],
    })


def write_spikenas(folder: Path) -> Path:
    path = folder / "spikenas_bench_logs.parquet"
    spikenas_frame().to_parquet(path, index=False)
    return path


# ---- NAS-Bench-101 readers ---------------------------------------------------------------------------

#: Two NB101 cells (official-representative form) used by the NB101 fixtures.
NB101_CELLS = ("adj=0110/0001/0001/0000;ops=input,conv3x3-bn-relu,maxpool3x3,output",
               "adj=011/001/000;ops=input,conv1x1-bn-relu,output")


def _pb_varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def pb_field(number: int, value) -> bytes:
    """One protobuf field: float -> fixed64 double, int -> varint, bytes/str -> length-delimited."""
    if isinstance(value, float):
        return _pb_varint(number << 3 | 1) + struct.pack("<d", value)
    if isinstance(value, int):
        return _pb_varint(number << 3) + _pb_varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _pb_varint(number << 3 | 2) + _pb_varint(len(data)) + data


def nb101_metrics(evals: list[dict], params: int, gpu: str | None = None, extra_eval: dict | None = None) -> bytes:
    """A ModelMetrics(-Energy) protobuf: ``evals`` map field numbers to values (see EVAL_FIELDS)."""
    out = b"".join(pb_field(1, b"".join(pb_field(k, v) for k, v in e.items())) for e in evals)
    out += pb_field(2, params) + pb_field(3, 123.0)
    if gpu is not None:
        device = pb_field(3, pb_field(1, gpu))
        out += pb_field(9, pb_field(1, pb_field(1, pb_field(1, 250.0)) + device) + pb_field(2, pb_field(3, pb_field(1, "cpu:0"))))
    return out


def nb101_record(cell: str, epochs: int, metrics: bytes, module_hash: str | None = None) -> bytes:
    """The JSON list of one NB101 TFRecord record (hash computed from the cell unless given)."""
    from archbench.graphs.spaces.nb101 import cell_hash, parse_cell

    matrix, ops = parse_cell(cell)
    return json.dumps([module_hash or cell_hash((matrix, ops)), epochs, "".join(str(v) for row in matrix for v in row),
                       ",".join(ops), base64.encodebytes(metrics).decode()]).encode()


def _crc32c_bitwise(data: bytes) -> int:
    # An independent (slow, bit-by-bit) CRC-32C, so the fixture does not trust the reader's CRC code.
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def tfrecord_bytes(records: list[bytes]) -> bytes:
    """TFRecord framing: length, masked CRC of length, data, masked CRC of data."""
    def masked(data: bytes) -> bytes:
        c = _crc32c_bitwise(data)
        return struct.pack("<I", (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF)

    out = b""
    for data in records:
        header = struct.pack("<Q", len(data))
        out += header + masked(header) + data + masked(data)
    return out


def _nb101_evals(epochs: int, energy: bool, test: bool = True) -> list[dict]:
    evals = []
    for epoch in (0.0, epochs / 2, float(epochs)):
        e = {1: epoch, 2: 10.0 * epoch, 3: 0.5 + epoch / 1000, 4: 0.4 + epoch / 1000}
        if test:
            e[5] = 0.45
        if energy:
            e.update({6: 0.001 * (1 + epoch), 7: 0.1 * (1 + epoch), 9: "2022-05-29 06:03:58"})
        else:
            e[6] = "/ckpt/model.ckpt-0"   # official layout: field 6 is the checkpoint path
        evals.append(e)
    return evals


def write_nb101_official(folder: Path) -> Path:
    path = folder / "nasbench_only108.tfrecord"
    a, b = NB101_CELLS
    path.write_bytes(tfrecord_bytes([
        nb101_record(a, 108, nb101_metrics(_nb101_evals(108, energy=False), 8555530)),
        nb101_record(a, 108, nb101_metrics(_nb101_evals(108, energy=False), 8555530)),
        nb101_record(b, 108, nb101_metrics(_nb101_evals(108, energy=False, test=False), 1000)),  # no test accuracy
    ]))
    return path


def write_nb101_ecnas(folder: Path, name: str = "energy_4V9E.tfrecord", repeats: int = 2,
                      gpu: str = "NVIDIA Quadro RTX 6000") -> Path:
    path = folder / name
    path.write_bytes(tfrecord_bytes([nb101_record(NB101_CELLS[0], 4, nb101_metrics(_nb101_evals(4, energy=True), 77, gpu))
                                     for _ in range(repeats)]))
    return path


def write_nb101_ecnas_hw(folder: Path) -> Path:
    root = folder / "hardware"
    root.mkdir()
    write_nb101_ecnas(root, "energy_4V9E_rtx3090.tfrecord", 1, "NVIDIA GeForce RTX 3090")
    write_nb101_ecnas(root, "energy_4V9E_titanxp.tfrecord", 1, "TITAN Xp")
    return root


def nb101_1k_data() -> dict:
    # Cell 0 padded to 7x7 (code -3) as in the file; nasbench-vis op codes: -1 in, -2 out, 0/1/2 ops.
    pad = [[0.0] * 7 for _ in range(7)]
    for i, j in ((0, 1), (0, 2), (1, 3), (2, 3)):
        pad[i][j] = 1.0
    small = [[0.0, 1.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]]
    from archbench.graphs.spaces.nb101 import cell_hash

    data = {"key": [cell_hash(c) for c in NB101_CELLS], "adjacency": [pad, small],
            "operations": [[-1, 0, 2, -2, -3, -3, -3], [-1, 1, -2]], "final_training_time": [1500.5, 900.0],
            "trainable_parameters": [8555530, 1000], "embedding": [[0.0, 1.0], [2.0, 3.0]]}
    for e in (4, 12, 36, 108):
        data[f"{e}_final_validation_accuracy"] = [0.5 + e / 1000, 0.25]
    return data


def write_nb101_1k(folder: Path) -> Path:
    path = folder / "nasbench101_1k_graphs.json"
    path.write_text(json.dumps(nb101_1k_data()))
    return path


def write_nb101_naslib_zc(folder: Path) -> Path:
    # NASLib codes: 0 in, 1 out, 2 maxpool, 3 conv1x1, 4 conv3x3; 7x7 unpruned specs, row-major + 7 codes.
    first = [0] * 49
    for i, j in ((0, 1), (0, 2), (1, 6), (2, 6), (3, 4)):   # vertices 3-5 are off every path: pruned
        first[i * 7 + j] = 1
    second = [0] * 49
    for i, j in ((0, 2), (0, 1), (2, 6), (1, 6)):           # the same cell, interior vertices swapped
        second[i * 7 + j] = 1
    keys = (str(tuple(first + [0, 4, 2, 3, 3, 3, 1])), str(tuple(second + [0, 2, 4, 3, 3, 3, 1])))
    data = {keys[0]: {"val_accuracy": 91.5, "synflow": 30.5, "snip": {"score": 55.0, "time": 0.25}},
            keys[1]: {"val_accuracy": 90.5, "synflow": 30.75, "snip": {"score": 57.0, "time": 0.5}}}
    path = folder / "naslib_zc_nasbench101.json"
    path.write_text(json.dumps({"nasbench101": {"cifar10": data}}))
    return path


def write_nb101_surrogate(folder: Path) -> Path:
    # Codes: 0 pad, 1 in, 2 conv1x1, 3 conv3x3, 4 maxpool, 5 out.
    adj = torch.zeros(2, 7, 7, dtype=torch.int64)
    for i, j in ((0, 1), (0, 2), (1, 3), (2, 3)):
        adj[0, i, j] = 1
    for i, j in ((0, 1), (0, 2), (1, 2)):
        adj[1, i, j] = 1
    ops = torch.tensor([[1, 3, 4, 5, 0, 0, 0], [1, 2, 5, 0, 0, 0, 0]])
    path = folder / "surrogate_7v_energy.pt"
    torch.save((adj, ops, torch.tensor([0.0184, 0.0102]), torch.tensor([8555530, 1000])), path)
    return path


HAT_HEADER = ("encoder_embed_dim,encoder_layer_num,encoder_ffn_embed_dim_avg,encoder_self_attention_heads_avg,"
              "decoder_embed_dim,decoder_layer_num,decoder_ffn_embed_dim_avg,decoder_self_attention_heads_avg,"
              "decoder_ende_attention_heads_avg,decoder_arbitrary_ende_attn_avg,latency_mean_encoder,"
              "latency_mean_decoder,latency_std_encoder,latency_std_decoder")


def write_hat(folder: Path) -> Path:
    """HAT's latency_dataset folder: two task/device files (3 + 1 rows), one decoder latency missing."""
    (folder / "wmt14ende_cpu_raspberrypi_all.csv").write_text("\n".join([
        HAT_HEADER,
        "512,6,1877.3333333333333,6.0,640,3,1706.6666666666667,6.0,2.6666666666666665,1.3333333333333333,"
        "1990.5,5932.5,413.8,45.8",
        "640,6,512.0,2.0,512,1,3072.0,8.0,8.0,3.0,2302.6,,136.5,1271.8",
        "512,6,3072.0,8.0,512,6,512.0,2.0,2.0,1.0,2500.0,9000.0,10.0,20.0"]) + "\n")
    (folder / "iwslt14deen_gpu_titanxp_all.csv").write_text(
        HAT_HEADER + "\n640,6,1962.6666666666667,6.0,512,4,1920.0,2.5,5.5,1.5,5.5,124.5,0.05,0.44\n")
    return folder


@pytest.fixture
def synthetic(tmp_path, monkeypatch):
    """``synthetic(name) -> path`` of a small valid input for reader ``name`` (each call in a fresh folder).

    A writer takes the folder to write into and returns the path to pass to ``read(path=...)``.
    """
    count = itertools.count()
    writers = {
        "nats_csv": write_nats_csv,
        "analognas": lambda folder: write_analognas(folder, monkeypatch),
        "help_latency": write_help_folder,
        "hw_nas_bench_360": write_hw360,
        "brp_nas": write_brp,
        "nb301_naslib_zc": write_nb301_naslib_zc,
        "nb301_naslib_zc500": write_nb301_naslib_zc500,
        "darts_antoyang_random": write_darts_antoyang,
        "darts_oncenas": write_darts_oncenas,
        "transnas101_micro_zen": write_transnas101_micro_zen,
        "transnas101_micro_naslib_zc": write_transnas101_micro_naslib_zc,
        "transnas101_macro_naslib_zc": write_transnas101_macro_naslib_zc,
        "fbnet_help_latency": write_fbnet_help,
        "ofa_mbv3_help_latency": write_ofa_help,
        "fbnet_nasflat_zc": write_fbnet_nasflat_zc,
        "nasbench_graph": write_nasbench_graph,
        "nasbench_nlp": write_nasbench_nlp,
        "spikenas": write_spikenas,
        "nb101_tfrecord": write_nb101_official,
        "nb101_ecnas_4v": write_nb101_ecnas,
        "nb101_ecnas_5v": lambda folder: write_nb101_ecnas(folder, "energy_5V9E.tfrecord", 1),
        "nb101_ecnas_4v_estimate": lambda folder: write_nb101_ecnas(folder, "energy_4V9E_estimate.tfrecord", 1),
        "nb101_ecnas_hw": write_nb101_ecnas_hw,
        "nb101_1k": write_nb101_1k,
        "nb101_naslib_zc": write_nb101_naslib_zc,
        "nb101_ecnas_surrogate7v": write_nb101_surrogate,
        "hat": write_hat,
    }

    def make(name: str) -> Path:
        if name not in writers:
            pytest.fail(f"benchmark reader {name!r} has no synthetic input: add a writer for it to the `synthetic` "
                        f"fixture and its row count to EXPECTED_ROWS in tests/benchmarks/conftest.py")
        folder = tmp_path / f"{name}-{next(count)}"
        folder.mkdir()
        return writers[name](folder)

    make.names = frozenset(writers)  # readers that have a synthetic input
    return make


#: Rows each synthetic input must yield.
EXPECTED_ROWS = {
    "nats_csv": 3 * 2 - 1,              # 3 cells x 2 fidelities, one blank
    "analognas": 2 * 21 - 3,            # 2 cells x 21 metrics, one PTQ value and one drift value+std missing
    "help_latency": 4 + 4 - 1,          # 2 devices x 4 cells, one NaN
    "hw_nas_bench_360": 12 + 6 + 6 + 4,  # latency on 12 rows, var/energy on the 6 Pi 5 rows, 2 cells x 2 scored tasks
    "brp_nas": 3,
    "nb301_naslib_zc": 2 * (1 + 3 * 2),   # 2 archs x (accuracy + 3 proxies x (score, time))
    "nb301_naslib_zc500": 2 * 3,        # 2 archs x (accuracy + 2 proxies)
    "darts_antoyang_random": 2 * 5 - 1 + 2,  # 2 curves x 5 epochs, one NaN; 2 best accuracies
    "darts_oncenas": 2 * 10 - 1,        # 2 archs x 10 columns, one blank
    "transnas101_micro_zen": 2 * 2 * 3 - 1,    # 2 tasks x 2 cells x (metric, zen, zen time), one failed zen
    "transnas101_micro_naslib_zc": 3 * 4,      # 3 records x (metric, flops, flops time, epe_nas time)
    "transnas101_macro_naslib_zc": 2 * 3,      # 2 records x (metric, nwot, nwot time)
    "fbnet_help_latency": 3 * 2 - 1,           # 3 devices x 2 archs, one NaN
    "ofa_mbv3_help_latency": 2 * 2,            # 2 devices x 2 sub-networks
    "fbnet_nasflat_zc": 2 * 3,                 # 2 archs x 3 proxies
    "nasbench_graph": (3 + 2) * 4 - 1,         # (3 cora + 2 proteins archs) x 4 fields, one latency NaN
    "nasbench_nlp": (4 * 3 + 2) + (3 * 1 + 2 + 2),  # per log: 4 curves x epochs + params + train_time; the
                                                   # 2nd log's 2nd-epoch losses are NaN (3 rows dropped)
    # scalars: 3 params + 3 test acc + 1 top-5 + 3 times; firing rates: 4 + 16 + 16; curves: 4 x (3+3+2) + 2 x 2
    "spikenas": (3 + 3 + 1 + 3) + (4 + 16 + 16) + (4 * 8 + 2 * 2),
    "nb101_tfrecord": 2 * 4 + 3 + 2,          # cell A: 2 runs x 4 metrics; cell B: no test accuracy; 2 params
    "nb101_ecnas_4v": 2 * 6 + 1,              # 2 runs x (3 accuracies, time, energy, co2eq) + params
    "nb101_ecnas_5v": 6 + 1,
    "nb101_ecnas_4v_estimate": 6 + 1,
    "nb101_ecnas_hw": 2 * 6 + 1,              # 2 GPU files x 6 metrics; params once
    "nb101_1k": 2 * (4 + 1 + 1),              # 2 cells x (4 accuracies, time, params)
    "nb101_naslib_zc": 2 * (1 + 1 + 2),       # 2 keys x (accuracy, synflow, snip + time)
    "nb101_ecnas_surrogate7v": 2 * 2,         # 2 cells x (energy, params)
    "hat": 4 * 5 - 2,                         # 4 rows x 5 metrics; one missing decoder latency (and its sum)
}



@pytest.fixture
def kit(monkeypatch):
    """The fixture helpers of this file, for test modules (which cannot import conftest)."""
    return types.SimpleNamespace(
        INDICES=INDICES, STRINGS=STRINGS, EXPECTED_ROWS=EXPECTED_ROWS,
        analognas_pickle=lambda entries: analognas_pickle_bytes(entries, monkeypatch),
        analognas_fields=analognas_fields, hw360_frame=hw360_frame,
        nb101=types.SimpleNamespace(CELLS=NB101_CELLS, metrics=nb101_metrics, record=nb101_record,
                                    tfrecord_bytes=tfrecord_bytes, evals=_nb101_evals, one_k_data=nb101_1k_data,
                                    write_ecnas=write_nb101_ecnas),
    )
