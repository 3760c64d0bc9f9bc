"""HELP NB201 latency reader: a tiny folder of .pt lists, bad .pt files, and the real 27 devices."""
from __future__ import annotations

import os
import time

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from archbench.benchmarks import get_reader
from archbench.benchmarks.base import check_reader_frame
from archbench.errors import DataFormatError
from archbench.graphs.spaces.nb201 import format_arch_str, index_to_arch, parse_arch_str


def test_synthetic_folder(synthetic, kit):
    frame = get_reader("help_latency").read(path=synthetic("help_latency"))
    got = {(d, a): v for d, a, v in frame[["device", "arch", "value"]].itertuples(index=False)}
    s = kit.STRINGS
    assert got == {("pixel2", s[0]): 4.0, ("pixel2", s[1]): 5.0, ("pixel2", s[2]): 6.0, ("pixel2", s[3]): 7.0,
                   ("titanx_1", s[0]): 1.5, ("titanx_1", s[1]): 2.25, ("titanx_1", s[3]): 4.0}
    assert set(frame["unit"]) == {"ms"} and set(frame["metric"]) == {"latency"}
    assert frame["fidelity"].isna().all()


def test_single_device_file_and_reference_archs(synthetic, kit):
    folder = synthetic("help_latency")
    reader = get_reader("help_latency")
    frame = reader.read(path=folder / "pixel2.pt")
    assert set(frame["device"]) == {"pixel2"} and len(frame) == 4
    assert reader.reference_archs(path=folder) == [kit.STRINGS[3], kit.STRINGS[1]]


def _folder(tmp_path, kit, device_payload):
    root = tmp_path / "help"
    root.mkdir()
    torch.save({s: k for k, s in enumerate(kit.STRINGS)}, root / "str_arch2idx.pt")
    torch.save(device_payload, root / "dev.pt")
    return root


class _Evil:
    def __init__(self, sentinel):
        self.sentinel = str(sentinel)

    def __reduce__(self):
        return (os.system, (f"touch {self.sentinel}",))


@pytest.mark.parametrize("payload, message", [
    ({"a": 1.0}, "list of latencies"),
    (["1.0", "2.0", "3.0", "4.0"], "list of numbers, found str"),
    ([1.0, True, 2.0, 3.0], "list of numbers, found bool"),
    (torch.ones(2, 2), "1-D"),
    ([1.0, 2.0, 3.0], "expected 4 latencies"),
    ([1.0, -2.0, 3.0, 4.0], "non-negative"),
])
def test_bad_device_files(tmp_path, kit, payload, message):
    with pytest.raises(DataFormatError, match=message):
        get_reader("help_latency").read(path=_folder(tmp_path, kit, payload))


def test_a_1d_tensor_is_accepted(tmp_path, kit):
    frame = get_reader("help_latency").read(path=_folder(tmp_path, kit, torch.tensor([1.0, 2.0, 3.0, 4.0])))
    assert frame["value"].tolist() == [1.0, 2.0, 3.0, 4.0]


def test_malicious_pt_is_refused(tmp_path, kit):
    sentinel = tmp_path / "pwned"
    with pytest.raises(DataFormatError, match="weights_only"):
        get_reader("help_latency").read(path=_folder(tmp_path, kit, [_Evil(sentinel)]))
    assert not sentinel.exists()


def test_truncated_pt(tmp_path, kit):
    root = _folder(tmp_path, kit, [1.0, 2.0, 3.0, 4.0])
    data = (root / "dev.pt").read_bytes()
    (root / "dev.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match="dev.pt"):
        get_reader("help_latency").read(path=root)


def test_bad_arch_index(tmp_path, kit):
    root = tmp_path / "help"
    root.mkdir()
    torch.save([1.0], root / "dev.pt")
    with pytest.raises(DataFormatError, match="str_arch2idx.pt is missing"):
        get_reader("help_latency").read(path=root)
    torch.save({"|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|": 0}, root / "str_arch2idx.pt")
    with pytest.raises(DataFormatError, match=r"malformed NB201 string '\|conv~0"):
        get_reader("help_latency").read(path=root)
    torch.save({kit.STRINGS[0]: 0, kit.STRINGS[1]: 0}, root / "str_arch2idx.pt")
    with pytest.raises(DataFormatError, match="permutation"):
        get_reader("help_latency").read(path=root)
    with pytest.raises(DataFormatError, match="HELP device latency file"):
        get_reader("help_latency").read(path=root / "str_arch2idx.pt")


def test_folder_without_device_files(tmp_path, kit):
    root = tmp_path / "help"
    root.mkdir()
    torch.save({kit.STRINGS[0]: 0}, root / "str_arch2idx.pt")
    with pytest.raises(DataFormatError, match="no device .pt files"):
        get_reader("help_latency").read(path=root)


@pytest.mark.realdata
def test_real_folder(shared_data):
    reader = get_reader("help_latency")
    frame = reader.read(data_dir=shared_data)
    check_reader_frame(frame, reader)
    assert frame["device"].nunique() == 27 and len(frame) == 27 * 15_625
    wide = frame.pivot(index="arch", columns="device", values="value")
    assert len(wide) == reader.num_archs and not wide.isna().any().any()

    # Milliseconds: every device's median forward pass lies between 1 and 100 ms.
    medians = wide.median()
    assert medians.between(1, 100).all(), medians.to_dict()
    # The 31 KB files hold all 15,625 cells as whole milliseconds.
    for device in ("essential_ph_1", "pixel2", "samsung_a50", "samsung_s7"):
        assert (wide[device] == np.round(wide[device])).all() and wide[device].min() >= 1

    # The list order is the official NB201 index order.
    folder = shared_data / reader.default_relpath
    strings = reader.arch_strings(folder)
    assert all(strings[i] == format_arch_str(index_to_arch(i)) for i in range(len(strings)))

    # Sanity checks that fail on a wrong order or unit: two GPUs agree, 3x3 convs cost time.
    rho_gpu = spearmanr(wide["titanx_1"], wide["1080ti_1"]).statistic
    conv3 = np.array([parse_arch_str(a).count("nor_conv_3x3") for a in wide.index])
    rho_conv = spearmanr(conv3, wide["gold_6226"]).statistic
    all_conv = format_arch_str(("nor_conv_3x3",) * 6)
    all_skip = format_arch_str(("skip_connect",) * 6)
    print(f"\nHELP: titanx_1 vs 1080ti_1 Spearman {rho_gpu:.3f}; #conv3x3 vs gold_6226 Spearman {rho_conv:.3f}")
    assert rho_gpu > 0.9
    assert rho_conv > 0.6
    assert (wide.loc[all_conv] > 2 * wide.loc[all_skip]).all()
    assert len(reader.reference_archs(data_dir=shared_data)) == 10
