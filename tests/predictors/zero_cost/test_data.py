"""Tests for archbench.predictors.zero_cost.data: minibatch sources and their shape checks."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from archbench.errors import ArchbenchError, DataFormatError
from archbench.predictors.zero_cost import ArraySource, LoaderSource, Minibatch, RandomSource, open_source


def images(n=20, h=4, w=5, c=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, size=(n, h, w, c), dtype=np.uint8), rng.integers(0, 7, size=n)


def test_random_source_is_seeded_and_shaped():
    src = RandomSource()
    a = src.minibatch(8, 3, (3, 4, 5), 7)
    b = src.minibatch(8, 3, (3, 4, 5), 7)
    c = src.minibatch(8, 4, (3, 4, 5), 7)
    assert a.x.shape == (8, 3, 4, 5) and a.x.dtype == torch.float32 and a.y.dtype == torch.int64
    assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y) and not torch.equal(a.x, c.x)
    assert 0 <= int(a.y.min()) and int(a.y.max()) < 7 and a.source == "random"
    assert a.digest() == b.digest() != c.digest()


def test_array_source_nhwc_uint8_is_scaled_standardized_and_transposed():
    x, y = images()
    src = ArraySource(x, y, "mine")
    mb = src.minibatch(20, 0, (3, 4, 5), 7)  # every sample: the whole array
    assert mb.x.shape == (20, 3, 4, 5)
    assert torch.allclose(mb.x.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5)
    assert torch.allclose(mb.x.std(dim=(0, 2, 3), unbiased=False), torch.ones(3), atol=1e-5)
    # Sample order and channel 1 of pixel (2, 3) of sample 5, by hand.
    xf = x.astype(np.float64) / 255
    want = (xf[5, 2, 3, 1] - xf[..., 1].mean()) / xf[..., 1].std()
    assert float(mb.x[5, 1, 2, 3]) == pytest.approx(want, rel=1e-5)
    assert torch.equal(mb.y, torch.as_tensor(y))


def test_array_source_seed_picks_distinct_samples():
    x, y = images(n=50)
    src = ArraySource(x, y, "mine", normalize=False)
    a, b = src.minibatch(10, 0, (3, 4, 5), 7), src.minibatch(10, 1, (3, 4, 5), 7)
    assert not torch.equal(a.x, b.x)
    rows = {tuple(r) for r in a.x.reshape(10, -1).numpy().round(6)}
    assert len(rows) == 10  # no sample twice
    with pytest.raises(DataFormatError, match="has 50 samples, fewer than the batch size 64"):
        src.minibatch(64, 0, (3, 4, 5), 7)


def test_shape_and_label_checks_say_what_was_expected():
    x, y = images()
    src = ArraySource(x, y, "mine")
    with pytest.raises(DataFormatError, match=r"gives images of shape 3x4x5 .* but the network expects 3x32x32"):
        src.minibatch(4, 0, (3, 32, 32), 7)
    with pytest.raises(DataFormatError, match=r"labels in 0\.\.6, but the network has 5 classes"):
        src.minibatch(20, 0, (3, 4, 5), 5)
    nchw = ArraySource(x.transpose(0, 3, 1, 2), y, "nchw", layout="NHWC")
    with pytest.raises(DataFormatError, match="layout='NCHW'/'NHWC'"):
        nchw.minibatch(4, 0, (3, 4, 5), 7)
    ok = ArraySource(x.transpose(0, 3, 1, 2), y, "nchw", layout="NCHW").minibatch(20, 0, (3, 4, 5), 7)
    assert torch.allclose(ok.x, src.minibatch(20, 0, (3, 4, 5), 7).x)
    with pytest.raises(DataFormatError, match="labels must be integers"):
        ArraySource(x, y.astype(float), "bad")
    with pytest.raises(DataFormatError, match="4-d array"):
        ArraySource(x[0], y, "bad")


def test_npz_and_cli_spec(tmp_path):
    x, y = images()
    path = tmp_path / "my_images.npz"
    np.savez(path, x=x, y=y)
    assert open_source(str(path)).name == "my_images"
    named = open_source(f"cifar10={path}")
    assert named.name == "cifar10" and len(named) == 20
    assert isinstance(open_source("random"), RandomSource)
    with pytest.raises(ArchbenchError, match="--data must be 'random', PATH.npz or NAME=PATH.npz"):
        open_source("images.csv")
    np.savez(tmp_path / "other.npz", images=x, labels=y)
    with pytest.raises(DataFormatError, match=r"has no arrays \['x', 'y'\]; found \['images', 'labels'\]"):
        ArraySource.from_npz(tmp_path / "other.npz")
    assert len(ArraySource.from_npz(tmp_path / "other.npz", x_key="images", y_key="labels")) == 20
    with pytest.raises(DataFormatError, match="not found"):
        ArraySource.from_npz(tmp_path / "missing.npz")


def test_loader_source_takes_the_first_samples():
    x = torch.randn(10, 3, 4, 5)
    y = torch.arange(10) % 7
    loader = DataLoader(TensorDataset(x, y), batch_size=3, shuffle=False)
    mb = LoaderSource(loader, "loader").minibatch(5, 0, (3, 4, 5), 7)
    assert torch.equal(mb.x, x[:5]) and torch.equal(mb.y, y[:5])
    with pytest.raises(DataFormatError, match="yielded 10 samples, fewer than the batch size 12"):
        LoaderSource(loader, "loader").minibatch(12, 0, (3, 4, 5), 7)


def test_minibatch_check_rejects_wrong_label_count():
    mb = Minibatch(torch.zeros(4, 3, 2, 2), torch.zeros(3, dtype=torch.int64), "m")
    with pytest.raises(DataFormatError, match=r"one label per image \(4\)"):
        mb.check((3, 2, 2), 2)


@pytest.mark.realdata
def test_cifar10_images_from_shared_data(shared_data):
    src = ArraySource.from_npz(shared_data / "cifar10" / "cifar10_train4000.npz", name="cifar10")
    mb = src.minibatch(64, 0, (3, 32, 32), 10)
    assert len(src) == 4000 and mb.x.shape == (64, 3, 32, 32)
    assert len(set(mb.y.tolist())) >= 8  # a random batch of CIFAR-10 covers most classes
    assert abs(float(mb.x.mean())) < 0.3 and 0.7 < float(mb.x.std()) < 1.3
