"""The search-space protocol and its registry."""
from __future__ import annotations

import hashlib
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Hashable, Iterator

from archbench.errors import EncodingError
from archbench.registry import Registry

from ..cg import ComputationGraph


@dataclass(frozen=True)
class NetworkConfig:
    """How a space's cell/encoding becomes a whole network: input shape and head size."""

    name: str
    input_shape: tuple[int, int, int]
    num_classes: int


class SearchSpace(ABC):
    """A search space: native encodings, enumeration, sampling, mutation and CG construction.

    An architecture is a hashable, immutable value of the space's own kind (a tuple for NB201);
    ``parse``/``format`` convert it to and from the native string encoding. Randomness always
    comes from an explicit ``seed`` or ``random.Random``.
    """

    #: registry name, e.g. "nb201"
    name: str = ""
    #: network configurations by name; the first is the default
    configs: dict[str, NetworkConfig] = {}

    @property
    def default_config(self) -> str:
        return next(iter(self.configs))

    def config(self, name: str | None = None) -> NetworkConfig:
        name = name or self.default_config
        try:
            return self.configs[name]
        except KeyError:
            raise EncodingError(f"{self.name} has no network config {name!r}; expected one of: {', '.join(self.configs)}") from None

    @abstractmethod
    def parse(self, text: str) -> Hashable:
        """Native string encoding -> architecture; raises :class:`EncodingError` naming the problem."""

    @abstractmethod
    def format(self, arch: Hashable) -> str:
        """Architecture -> native string encoding (``parse(format(a)) == a``)."""

    @abstractmethod
    def sample(self, rng: random.Random) -> Hashable:
        """One architecture drawn uniformly at random."""

    @abstractmethod
    def mutate(self, arch: Hashable, rng: random.Random) -> Hashable:
        """A neighbour of ``arch`` that differs from it (one local change)."""

    @abstractmethod
    def build_cg(self, arch: Hashable, config: str | None = None) -> ComputationGraph:
        """The whole network as a computation graph of atomic ops."""

    def enumerate(self) -> Iterator[Hashable]:
        """Every architecture of the space, where the space is finite and small enough."""
        raise NotImplementedError(f"search space {self.name!r} cannot be enumerated")

    def size(self) -> int | None:
        """Number of architectures, or None if unknown or unbounded."""
        return None

    def representative(self, arch: Hashable) -> Hashable | None:
        """The benchmark's own isomorphism-class representative of ``arch`` (None if it defines none)."""
        return None

    def arch_key(self, arch: Hashable) -> str:
        """Short stable key of an architecture within its space (default: digest of the encoding)."""
        return hashlib.blake2b(self.format(arch).encode(), digest_size=8).hexdigest()

    def config_tag(self, config: str | None = None) -> str:
        """``"{space}"`` for the default network config, ``"{space}@{config}"`` for any other.

        The tag prefixes :meth:`arch_id` and names the config's units in a data home, so several
        configs of one space live side by side in the tables.
        """
        name = self.config(config).name
        return self.name if name == self.default_config else f"{self.name}{CONFIG_SEP}{name}"

    def arch_id(self, arch: Hashable, config: str | None = None) -> str:
        """Table key of ``arch`` built with network ``config``: ``"{space}:{key}"`` for the default
        config, ``"{space}@{config}:{key}"`` for another (see :func:`split_arch_id`)."""
        return f"{self.config_tag(config)}:{self.arch_key(arch)}"

    def coerce(self, arch: Any) -> Hashable:
        """Accept a native string or an architecture value."""
        return self.parse(arch) if isinstance(arch, str) else arch

    def samples(self, n: int, seed: int) -> list[Hashable]:
        """``n`` architectures sampled with replacement from a seeded generator."""
        rng = random.Random(seed)
        return [self.sample(rng) for _ in range(n)]


SPACES: Registry[type[SearchSpace]] = Registry("search space")

#: Separates the space from a non-default network config in :meth:`SearchSpace.config_tag`.
CONFIG_SEP = "@"


def split_arch_id(arch_id: str) -> tuple[str, str | None, str]:
    """``"{space}[@{config}]:{key}"`` -> ``(space, config or None for the default config, key)``."""
    tag, sep, key = arch_id.partition(":")
    if not sep or not tag or not key:
        raise EncodingError(f"an arch_id looks like 'space:key' or 'space@config:key', found {arch_id!r}")
    space, at, config = tag.partition(CONFIG_SEP)
    return space, (config if at else None), key


class EdgeOpCellSpace(SearchSpace):
    """A space whose architecture is a tuple with one op per cell edge (NAS-Bench-201, SpikeNAS).

    Subclasses set :attr:`cell_ops` and :attr:`num_edges` and implement ``coerce``; sampling
    draws each edge's op uniformly, mutation changes one edge to one of the other ops.
    """

    cell_ops: tuple[str, ...] = ()
    num_edges: int = 0

    def sample(self, rng: random.Random) -> tuple[str, ...]:
        if not isinstance(rng, random.Random):
            raise TypeError(f"sample needs a random.Random (e.g. random.Random(seed)), found {type(rng).__name__}")
        return tuple(rng.choice(self.cell_ops) for _ in range(self.num_edges))

    def mutate(self, arch: Hashable, rng: random.Random) -> tuple[str, ...]:
        """Change the op of one uniformly chosen edge to one of the other ops."""
        if not isinstance(rng, random.Random):
            raise TypeError(f"mutate needs a random.Random (e.g. random.Random(seed)), found {type(rng).__name__}")
        a = list(self.coerce(arch))
        e = rng.randrange(self.num_edges)
        a[e] = rng.choice([op for op in self.cell_ops if op != a[e]])
        return tuple(a)

