"""Minibatch sources for data-dependent zero-cost proxies.

A source draws one minibatch ``(x, y)`` for a network's input shape and class count:

:class:`RandomSource` (the default, ``"random"``)
    Needs no download: images are i.i.d. standard normal pixels ``N(0, 1)`` of the network's input
    shape and labels are uniform over its classes, both from the seed. Data-independent proxies
    (synflow, zen, l2_norm, params, flops) are unaffected. The data-dependent ones (snip, grasp,
    fisher, grad_norm, plain, jacob_cov, nwot, epe_nas) then measure the network on noise: there is
    no correlation between samples or between an image and its label, so scores that rely on it
    (jacob_cov, epe_nas, nwot compare samples with each other; the loss-gradient proxies see
    random labels) rank networks differently from a natural-image batch. For comparable numbers
    use the task's own images (the literature uses a CIFAR-10 training batch);
    ``scripts/bench_proxies.py`` reports both.
:class:`ArraySource`
    A user's own arrays, in memory or from an ``.npz`` file (:meth:`ArraySource.from_npz`):
    images ``(N, H, W, C)`` (``layout="NHWC"``, e.g. CIFAR-10 as numpy/PIL store it) or
    ``(N, C, H, W)``, uint8 (scaled to [0, 1]) or float, and integer labels ``(N,)``. Images are
    standardized per channel with the mean and std of the whole array (``normalize=True``), the
    usual CIFAR preprocessing. The seed picks ``batch_size`` distinct samples.
:class:`LoaderSource`
    A ``torch.utils.data.DataLoader`` (or any iterable of ``(x, y)`` batches): its first
    ``batch_size`` samples, as the loader yields them (its own shuffling and transforms apply;
    the seed does not change them).

Every minibatch is checked against the network: ``x`` must be ``(batch_size, C, H, W)`` with the
graph's input shape, ``y`` integer labels in ``0 .. num_classes - 1``.
"""
from __future__ import annotations

import hashlib
import os
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import torch
from torch import Tensor

from archbench.errors import ArchbenchError, DataFormatError

Shape = tuple[int, int, int]


@dataclass(frozen=True)
class Minibatch:
    """One minibatch for proxy computation.

    Attributes:
        x: float32 images ``(N, C, H, W)``.
        y: int64 labels ``(N,)``.
        source: name of the source it came from (stored as the metrics ``dataset``).
    """

    x: Tensor
    y: Tensor
    source: str

    @property
    def batch_size(self) -> int:
        return int(self.x.shape[0])

    def digest(self) -> str:
        """Content hash of the images and labels (identifies the batch in staged results)."""
        h = hashlib.blake2b(digest_size=10)
        h.update(np.ascontiguousarray(self.x.numpy()).tobytes())
        h.update(np.ascontiguousarray(self.y.numpy()).tobytes())
        h.update(repr(tuple(self.x.shape)).encode())
        return h.hexdigest()

    def check(self, input_shape: Sequence[int], num_classes: int, what: str = "the network") -> "Minibatch":
        """Raise unless the batch fits a network with ``input_shape`` (C, H, W) and ``num_classes``."""
        shape = tuple(int(v) for v in input_shape)
        if self.x.dim() != 4 or tuple(self.x.shape[1:]) != shape:
            raise DataFormatError(
                f"data source {self.source!r} gives images of shape {_fmt(self.x.shape[1:])} (batch {tuple(self.x.shape)}), "
                f"but {what} expects {_fmt(shape)} (C x H x W); use data with that shape"
                + (" or layout='NCHW'/'NHWC' to match the array layout" if sorted(self.x.shape[1:]) == sorted(shape) else ""))
        if self.y.dim() != 1 or self.y.shape[0] != self.x.shape[0]:
            raise DataFormatError(f"data source {self.source!r}: expected one label per image ({self.x.shape[0]}), "
                                  f"found labels of shape {tuple(self.y.shape)}")
        if len(self.y) and (int(self.y.min()) < 0 or int(self.y.max()) >= num_classes):
            raise DataFormatError(
                f"data source {self.source!r} has labels in {int(self.y.min())}..{int(self.y.max())}, but {what} has "
                f"{num_classes} classes (labels 0..{num_classes - 1})")
        return self


class MinibatchSource(ABC):
    """Where proxy minibatches come from; ``name`` is stored as the metrics ``dataset``."""

    name: str = ""

    @abstractmethod
    def minibatch(self, batch_size: int, seed: int, input_shape: Shape, num_classes: int) -> Minibatch:
        """One checked minibatch of ``batch_size`` samples for a network of ``input_shape``/``num_classes``."""


class RandomSource(MinibatchSource):
    """Standard-normal images and uniform labels from the seed (no download; see the module doc)."""

    def __init__(self, name: str = "random") -> None:
        self.name = name

    def minibatch(self, batch_size: int, seed: int, input_shape: Shape, num_classes: int) -> Minibatch:
        _check_batch_size(batch_size)
        gen = torch.Generator().manual_seed(int(seed))
        x = torch.randn((batch_size,) + tuple(int(v) for v in input_shape), generator=gen)
        y = torch.randint(0, int(num_classes), (batch_size,), generator=gen)
        return Minibatch(x, y, self.name).check(input_shape, num_classes)

    def __repr__(self) -> str:
        return f"RandomSource(name={self.name!r})"


class ArraySource(MinibatchSource):
    """Images and labels from numpy arrays (see the module doc for layouts and preprocessing).

    Args:
        x: images ``(N, H, W, C)`` or ``(N, C, H, W)`` (see ``layout``), uint8 or float.
        y: integer labels ``(N,)``.
        name: source name stored with the scores (e.g. ``"cifar10"``).
        layout: ``"NHWC"`` or ``"NCHW"``: how ``x`` is laid out.
        normalize: standardize every channel with the array's own mean and std.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, name: str, layout: str = "NHWC", normalize: bool = True) -> None:
        if layout not in ("NHWC", "NCHW"):
            raise ArchbenchError(f"layout must be 'NHWC' or 'NCHW', found {layout!r}")
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim != 4:
            raise DataFormatError(f"data source {name!r}: expected images as a 4-d array ({layout}), found shape {x.shape}")
        if y.ndim != 1 or len(y) != len(x):
            raise DataFormatError(f"data source {name!r}: expected {len(x)} labels as a 1-d array, found shape {y.shape}")
        if not np.issubdtype(y.dtype, np.integer):
            raise DataFormatError(f"data source {name!r}: labels must be integers, found dtype {y.dtype}")
        if not (x.dtype == np.uint8 or np.issubdtype(x.dtype, np.floating)):
            raise DataFormatError(f"data source {name!r}: images must be uint8 or float, found dtype {x.dtype}")
        self.name, self.layout, self.normalize = name, layout, normalize
        self._x, self._y = x, y
        self._stats: tuple[np.ndarray, np.ndarray] | None = None

    @classmethod
    def from_npz(cls, path: str | os.PathLike, name: str | None = None, x_key: str = "x", y_key: str = "y",
                 layout: str = "NHWC", normalize: bool = True) -> "ArraySource":
        """Arrays ``x_key``/``y_key`` of an ``.npz`` file (loaded without pickle); name defaults to the file stem."""
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as npz:
                missing = [k for k in (x_key, y_key) if k not in npz.files]
                if missing:
                    raise DataFormatError(f"{path} has no arrays {missing}; found {npz.files} (set x_key/y_key)")
                x, y = npz[x_key], npz[y_key]
        except FileNotFoundError:
            raise DataFormatError(f"data file {path} not found") from None
        except (ValueError, OSError) as err:
            raise DataFormatError(f"{path} is not a readable .npz file of arrays: {err}") from None
        return cls(x, y, name or path.stem, layout=layout, normalize=normalize)

    def __len__(self) -> int:
        return len(self._x)

    def _channel_stats(self) -> tuple[np.ndarray, np.ndarray]:
        if self._stats is None:
            axes = (0, 1, 2) if self.layout == "NHWC" else (0, 2, 3)
            x = self._x.astype(np.float64) / (255.0 if self._x.dtype == np.uint8 else 1.0)
            std = x.std(axis=axes)
            self._stats = (x.mean(axis=axes), np.where(std > 0, std, 1.0))
        return self._stats

    def minibatch(self, batch_size: int, seed: int, input_shape: Shape, num_classes: int) -> Minibatch:
        _check_batch_size(batch_size)
        if batch_size > len(self._x):
            raise DataFormatError(f"data source {self.name!r} has {len(self._x)} samples, fewer than the batch size {batch_size}")
        idx = np.sort(np.random.default_rng(int(seed)).choice(len(self._x), size=batch_size, replace=False))
        x = self._x[idx].astype(np.float64) / (255.0 if self._x.dtype == np.uint8 else 1.0)
        if self.normalize:
            mean, std = self._channel_stats()
            shape = (1, 1, 1, -1) if self.layout == "NHWC" else (1, -1, 1, 1)
            x = (x - mean.reshape(shape)) / std.reshape(shape)
        if self.layout == "NHWC":
            x = x.transpose(0, 3, 1, 2)
        batch = Minibatch(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
                          torch.from_numpy(self._y[idx].astype(np.int64)), self.name)
        return batch.check(input_shape, num_classes)

    def __repr__(self) -> str:
        return f"ArraySource(name={self.name!r}, n={len(self._x)}, layout={self.layout!r})"


class LoaderSource(MinibatchSource):
    """The first ``batch_size`` samples of a DataLoader (or any iterable of ``(x, y)`` batches).

    Args:
        loader: yields ``(x, y)`` with ``x`` float ``(B, C, H, W)`` and ``y`` integer ``(B,)``.
        name: source name stored with the scores.
    """

    def __init__(self, loader: Iterable[Any], name: str) -> None:
        self.loader, self.name = loader, name

    def minibatch(self, batch_size: int, seed: int, input_shape: Shape, num_classes: int) -> Minibatch:
        _check_batch_size(batch_size)
        xs, ys, n = [], [], 0
        for item in self.loader:
            if not isinstance(item, (tuple, list)) or len(item) < 2:
                raise DataFormatError(f"data source {self.name!r}: the loader must yield (images, labels) pairs, "
                                      f"found {type(item).__name__}")
            x, y = torch.as_tensor(item[0]), torch.as_tensor(item[1])
            xs.append(x)
            ys.append(y)
            n += len(x)
            if n >= batch_size:
                break
        if n < batch_size:
            raise DataFormatError(f"data source {self.name!r} yielded {n} samples, fewer than the batch size {batch_size}")
        x = torch.cat(xs)[:batch_size]
        y = torch.cat(ys)[:batch_size]
        if not x.is_floating_point() or y.is_floating_point():
            raise DataFormatError(f"data source {self.name!r}: expected float images and integer labels, "
                                  f"found {x.dtype} and {y.dtype}")
        return Minibatch(x.detach().to(torch.float32).contiguous(), y.detach().to(torch.int64), self.name).check(
            input_shape, num_classes)

    def __repr__(self) -> str:
        return f"LoaderSource(name={self.name!r})"


def open_source(spec: "str | MinibatchSource", layout: str = "NHWC") -> MinibatchSource:
    """A source from the CLI syntax: ``"random"``, ``"PATH.npz"`` or ``"NAME=PATH.npz"`` (arrays ``x``, ``y``).

    Args:
        spec: the text, or a source (returned as is).
        layout: how the file's images are laid out, ``"NHWC"`` or ``"NCHW"``.
    """
    if isinstance(spec, MinibatchSource):
        return spec
    if spec == "random":
        return RandomSource()
    name, sep, path = spec.partition("=")
    if not sep:
        name, path = "", spec
    if (sep and not name) or not path.endswith(".npz"):
        raise ArchbenchError(f"--data must be 'random', PATH.npz or NAME=PATH.npz (numpy arrays x, y), found {spec!r}")
    return ArraySource.from_npz(path, name=name or None, layout=layout)


def _check_batch_size(batch_size: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ArchbenchError(f"batch_size must be a positive integer, found {batch_size!r}")


def _fmt(shape: Sequence[int]) -> str:
    return "x".join(str(int(v)) for v in shape)
