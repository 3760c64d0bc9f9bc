"""Tests of the 214-random-DARTS-architectures reader (archbench.benchmarks.darts_antoyang)."""
from __future__ import annotations

import pickle

import numpy as np
import pytest

from archbench.benchmarks import get_reader
from archbench.benchmarks.base import check_reader_frame
from archbench.errors import DataFormatError, UnsafePickleError


@pytest.fixture
def reader():
    return get_reader("darts_antoyang_random")


def test_synthetic_folder(synthetic, kit, reader):
    root = synthetic("darts_antoyang_random")
    frame = reader.read(root)
    check_reader_frame(frame, reader)
    assert len(frame) == kit.EXPECTED_ROWS["darts_antoyang_random"]
    assert frame["arch"].nunique() == 2
    assert all(a.startswith("Genotype(normal=[('") for a in frame["arch"])  # nested form -> canonical flat form
    curve = frame[frame["metric"] == "test_accuracy"].sort_values(["arch", "fidelity"])
    first = curve[curve["arch"] == curve["arch"].iloc[0]]
    assert set(curve["fidelity"]) == {1.0, 2.0, 3.0, 4.0, 5.0} and set(curve["unit"]) == {"%"}
    best = frame[frame["metric"] == "best_test_accuracy"].set_index("arch")["value"]
    assert set(frame[frame["metric"] == "best_test_accuracy"]["fidelity"]) == {5.0}
    assert best[first["arch"].iloc[0]] == first["value"].max()
    assert sorted(best) == [90.5, 92.75]


def test_curves_must_pair_with_genotypes(synthetic, reader):
    root = synthetic("darts_antoyang_random")
    curves = np.load(root / "214_random_architectures.npy")
    np.save(root / "214_random_architectures.npy", curves[::-1])  # rows swapped: maxima no longer match
    with pytest.raises(DataFormatError, match="curve row 0 .* peaks at 92.75 but 214genotypes.pkl entry 0 records .* 90.5"):
        reader.read(root)
    np.save(root / "214_random_architectures.npy", curves[:1])
    with pytest.raises(DataFormatError, match="expected a float array of shape \\(2, epochs\\).*found float64 \\(1, 5\\)"):
        reader.read(root)


def test_refuses_pickled_code_and_object_arrays(synthetic, reader):
    root = synthetic("darts_antoyang_random")
    genotypes = (root / "214genotypes.pkl").read_bytes()
    (root / "214genotypes.pkl").write_bytes(b"cos\nsystem\n(S'echo hacked'\ntR.")
    with pytest.raises(UnsafePickleError, match="refused to load global os.system"):
        reader.read(root)
    (root / "214genotypes.pkl").write_bytes(genotypes)
    np.save(root / "214_random_architectures.npy", np.array([[1, 2], [3, 4]], dtype=object), allow_pickle=True)
    with pytest.raises(DataFormatError, match="expected a plain float .npy array"):
        reader.read(root)


def test_bad_genotype_and_missing_files(tmp_path, reader):
    (tmp_path / "214genotypes.pkl").write_bytes(pickle.dumps([("GENOTYPE=Genotype(normal=[])", np.float64(1.0))]))
    np.save(tmp_path / "214_random_architectures.npy", np.ones((1, 3)))
    with pytest.raises(DataFormatError, match="entry 0 holds no valid DARTS genotype: Genotype lacks field"):
        reader.read(tmp_path)
    (tmp_path / "214genotypes.pkl").write_bytes(pickle.dumps([("x", "y")]))
    with pytest.raises(DataFormatError, match="entry 0 must be a \\(genotype text, accuracy\\) pair"):
        reader.read(tmp_path)
    (tmp_path / "214_random_architectures.npy").unlink()
    with pytest.raises(DataFormatError, match="expected 214_random_architectures.npy in this folder"):
        reader.read(tmp_path)


@pytest.mark.realdata
def test_real_folder(shared_data, reader):
    frame = reader.read(data_dir=shared_data)
    check_reader_frame(frame, reader)
    assert frame["arch"].nunique() == 214
    assert len(frame) == 214 * 600 + 214
    curve = frame[frame["metric"] == "test_accuracy"]
    assert curve["fidelity"].min() == 1.0 and curve["fidelity"].max() == 600.0
    best = frame[frame["metric"] == "best_test_accuracy"]["value"]
    assert 96.0 < best.min() and best.max() < 97.6
    final = curve[curve["fidelity"] == 600.0]["value"]
    assert (final.to_numpy() <= best.to_numpy()).all()
