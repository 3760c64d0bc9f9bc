"""Tests for archbench.benchmarks.nb101_ecnas_surrogate: EC-NAS 7-vertex energy data (torch tensors)."""
from __future__ import annotations

import pickle

import pytest
import torch

from archbench.benchmarks import get_reader
from archbench.benchmarks.base import check_reader_frame
from archbench.errors import DataFormatError, UnsafePickleError
from archbench.graphs.spaces import get_space


def test_synthetic_rows(synthetic, kit):
    reader = get_reader("nb101_ecnas_surrogate7v")
    frame = reader.read(path=synthetic("nb101_ecnas_surrogate7v"))
    check_reader_frame(frame, reader)
    a, b = kit.nb101.CELLS
    energy = frame[frame.metric == "energy"].set_index("arch")
    assert energy["value"].to_dict() == pytest.approx({a: 0.0184, b: 0.0102})
    assert (energy["unit"] == "kWh").all() and energy["fidelity"].isna().all() and energy["device"].isna().all()
    assert frame[frame.metric == "params"].set_index("arch")["value"].to_dict() == {a: 8555530.0, b: 1000.0}


def test_wrong_contents(tmp_path, synthetic):
    path = tmp_path / "s.pt"
    adj, ops, energy, params = torch.load(synthetic("nb101_ecnas_surrogate7v"), weights_only=True)
    torch.save((adj, ops, energy), path)
    with pytest.raises(DataFormatError, match="tuple of 4 tensors"):
        get_reader("nb101_ecnas_surrogate7v").read(path=path)
    torch.save((adj[:, :6, :6], ops, energy, params), path)
    with pytest.raises(DataFormatError, match="expected tensor shapes"):
        get_reader("nb101_ecnas_surrogate7v").read(path=path)
    bad_ops = ops.clone()
    bad_ops[1, 1] = 0                                            # a padding vertex that has edges
    torch.save((adj, bad_ops, energy, params), path)
    with pytest.raises(DataFormatError, match="cell 1: NB101 padding vertex 1"):
        get_reader("nb101_ecnas_surrogate7v").read(path=path)


class _Exploit:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_untrusted_pickle_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save(_Exploit(), path)
    with pytest.raises(UnsafePickleError, match="refused to load"):
        get_reader("nb101_ecnas_surrogate7v").read(path=path)
    assert "never run" not in capsys.readouterr().out
    path.write_bytes(pickle.dumps([1, 2])[:-3])
    with pytest.raises(DataFormatError):
        get_reader("nb101_ecnas_surrogate7v").read(path=path)


@pytest.mark.realdata
def test_real_file(shared_data):
    reader = get_reader("nb101_ecnas_surrogate7v")
    frame = reader.read(data_dir=shared_data)
    check_reader_frame(frame, reader)
    assert (frame.metric == "energy").sum() == 4310 and frame[frame.metric == "energy"]["value"].between(0, 1).all()
    space = get_space("nb101")
    params = frame[frame.metric == "params"].drop_duplicates("arch")
    assert all(space.build_cg(space.parse(a)).params == v for a, v in zip(params["arch"], params["value"]))
