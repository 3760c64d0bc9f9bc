"""Tests of HELP's FBNet and OFA MobileNetV3 latency readers (archbench.benchmarks.help_mobile)."""
from __future__ import annotations

import codecs
import pickle

import pytest
import torch
from scipy.stats import spearmanr

from archbench.benchmarks import get_reader
from archbench.benchmarks.base import check_reader_frame
from archbench.benchmarks.help_mobile import OFA_ARCH_GLOBALS
from archbench.benchmarks.unpickle import restricted_load
from archbench.errors import DataFormatError, UnsafePickleError
from archbench.graphs.spaces import get_space


def test_fbnet_rows(synthetic, kit):
    reader = get_reader("fbnet_help_latency")
    frame = reader.read(synthetic("fbnet_help_latency"))
    check_reader_frame(frame, reader)
    assert len(frame) == kit.EXPECTED_ROWS["fbnet_help_latency"]
    assert set(frame["device"]) == {"eyeriss", "pixel2", "titanx_1"}
    assert set(frame["unit"]) == {"ms"} and set(frame["dataset"]) == {"cifar100"}
    eyeriss = frame[frame["device"] == "eyeriss"]
    assert eyeriss["arch"].tolist()[1] == "-".join(["k3_e1"] * 22) and eyeriss["value"].tolist() == [4.0, 5.5]
    assert eyeriss["arch"].tolist()[0].startswith("k5_e6-skip-k3_e1_g2-skip-k5_e1")


def test_fbnet_single_device_file_and_arch_in_parent(synthetic, tmp_path):
    root = synthetic("fbnet_help_latency")
    frame = get_reader("fbnet_help_latency").read(root / "pixel2.pt")
    assert frame["value"].tolist() == [28.0, 30.0]
    # HELP's own layout: latency/ next to arch.pt
    (root.parent / "latency").mkdir()
    (root / "arch.pt").rename(root.parent / "arch.pt")
    (root / "eyeriss.pt").rename(root.parent / "latency" / "eyeriss.pt")
    assert len(get_reader("fbnet_help_latency").read(root.parent / "latency")) == 2


def test_ofa_rows_with_numpy_resolutions(synthetic, kit):
    reader = get_reader("ofa_mbv3_help_latency")
    frame = reader.read(synthetic("ofa_mbv3_help_latency"))
    check_reader_frame(frame, reader)
    assert len(frame) == kit.EXPECTED_ROWS["ofa_mbv3_help_latency"]
    assert set(frame["dataset"]) == {"imagenet"} and set(frame["device"]) == {"v100_1", "titan_rtx_64"}
    archs = frame[frame["device"] == "v100_1"]["arch"].tolist()
    assert archs[0].endswith(";d=4,4,4,4,4;r=224") and archs[1].endswith(";d=2,3,4,2,3;r=128")


def test_errors(synthetic, tmp_path):
    fbnet = get_reader("fbnet_help_latency")
    root = synthetic("fbnet_help_latency")
    torch.save([1.0, 2.0, 3.0], root / "raspi4.pt")
    with pytest.raises(DataFormatError, match="expected 2 latencies .* found 3"):
        fbnet.read(root)
    (root / "raspi4.pt").unlink()
    torch.save([1.0, -2.0], root / "raspi4.pt")
    with pytest.raises(DataFormatError, match="positive milliseconds"):
        fbnet.read(root)
    (root / "raspi4.pt").unlink()
    torch.save([[0] * 21], root / "arch.pt")
    with pytest.raises(DataFormatError, match="entry 0 is not an FBNet architecture: .*needs 22 op indices"):
        fbnet.read(root)
    with pytest.raises(DataFormatError, match="expected a HELP device latency file"):
        fbnet.read(root / "arch.pt")
    empty = tmp_path / "empty_folder"
    empty.mkdir()
    with pytest.raises(DataFormatError, match="found no device .pt files"):
        fbnet.read(empty)


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


class _Utf8Bytes:
    def __reduce__(self):
        return (codecs.encode, ("x", "utf-8"))


def test_ofa_arch_file_refuses_code(tmp_path):
    root = tmp_path / "help_latency"
    root.mkdir()
    torch.save({"dataset": "imagenet", "arch": [_Evil()]}, root / "ofa_archs.pt")
    torch.save([1.0], root / "v100_1.pt")
    with pytest.raises(UnsafePickleError, match="ofa_archs.pt!.*refused to load global __builtin__.print"):
        get_reader("ofa_mbv3_help_latency").read(root)
    # _codecs.encode is allowed only as protocol 2 uses it: str -> latin-1 bytes
    with pytest.raises(DataFormatError, match="may only turn a str into latin-1 bytes"):
        restricted_load(pickle.dumps(_Utf8Bytes(), protocol=2), OFA_ARCH_GLOBALS)


def test_ofa_wrong_dataset(tmp_path):
    root = tmp_path / "help_latency"
    root.mkdir()
    torch.save({"dataset": "cifar10", "arch": [{"ks": [3] * 20, "e": [3] * 20, "d": [2] * 5, "r": 128}]}, root / "ofa_archs.pt")
    torch.save([1.0], root / "v100_1.pt")
    with pytest.raises(DataFormatError, match="expected OFA sub-networks for 'imagenet', found dataset 'cifar10'"):
        get_reader("ofa_mbv3_help_latency").read(root)


# ---- real data -------------------------------------------------------------------------------------

@pytest.mark.realdata
def test_real_fbnet_latencies(shared_data):
    reader = get_reader("fbnet_help_latency")
    frame = reader.read(data_dir=shared_data)
    check_reader_frame(frame, reader)
    assert len(frame) == 5000 * 27 and frame["device"].nunique() == 27 and frame["arch"].nunique() == 5000
    # ms: GPUs at batch 1 take 5-15 ms per forward pass, Eyeriss 3.8-7.4 ms
    gpu = frame[frame["device"] == "titan_rtx_1"]["value"]
    assert 5 < gpu.median() < 15
    # the list order is the arch file's: on Eyeriss, latency follows the network's FLOPs
    eyeriss = frame[frame["device"] == "eyeriss"].iloc[:400]
    space = get_space("fbnet")
    flops = [space.build_cg(a).flops for a in eyeriss["arch"]]
    assert spearmanr(flops, eyeriss["value"]).statistic > 0.9


@pytest.mark.realdata
def test_real_ofa_latencies(shared_data):
    reader = get_reader("ofa_mbv3_help_latency")
    frame = reader.read(data_dir=shared_data)
    check_reader_frame(frame, reader)
    assert len(frame) == 5000 * 12 and frame["device"].nunique() == 12 and frame["arch"].nunique() == 5000
    # at batch 64 a GPU is compute-bound: latency follows the sub-network's FLOPs (measured 0.995)
    big = frame[frame["device"] == "titan_rtx_64"].iloc[:400]
    space = get_space("ofa_mbv3")
    flops = [space.build_cg(a).flops for a in big["arch"]]
    assert spearmanr(flops, big["value"]).statistic > 0.95
