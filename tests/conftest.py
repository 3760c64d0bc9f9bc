"""Shared fixtures: the shared-data folder, a throw-away data home, and a tiny search space."""
from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from archbench.errors import EncodingError
from archbench.graphs.cg import GraphBuilder
from archbench.graphs.spaces import SPACES, NetworkConfig, SearchSpace

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` next to the repository; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real benchmark data not found at {SHARED_DATA} (only present in development and CI)")
    return SHARED_DATA


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """An empty data home; ARCHBENCH_HOME points at it so nothing touches the user's cache."""
    path = tmp_path / "home"
    monkeypatch.setenv("ARCHBENCH_HOME", str(path))
    return path


class TinyChainSpace(SearchSpace):
    """Test space: a 3-layer conv chain, each layer's kernel in {1, 3} and an optional skip add."""

    name = "tinychain"
    configs = {"tiny": NetworkConfig("tiny", (3, 8, 8), 4)}
    _kernels = (1, 3)

    def parse(self, text):
        parts = text.split("-") if isinstance(text, str) else []
        if len(parts) != 4 or any(p not in ("1", "3") for p in parts[:3]) or parts[3] not in ("skip", "plain"):
            raise EncodingError(f"tinychain encoding must look like '1-3-1-skip', found {text!r}")
        return (int(parts[0]), int(parts[1]), int(parts[2]), parts[3] == "skip")

    def format(self, arch):
        return f"{arch[0]}-{arch[1]}-{arch[2]}-{'skip' if arch[3] else 'plain'}"

    def enumerate(self):
        for ks in itertools.product(self._kernels, repeat=3):
            for skip in (False, True):
                yield (*ks, skip)

    def size(self):
        return 16

    def sample(self, rng: random.Random):
        return (rng.choice(self._kernels), rng.choice(self._kernels), rng.choice(self._kernels), rng.random() < 0.5)

    def mutate(self, arch, rng: random.Random):
        i = rng.randrange(4)
        new = list(arch)
        new[i] = (not arch[3]) if i == 3 else (3 if arch[i] == 1 else 1)
        return tuple(new)

    def build_cg(self, arch, config=None):
        cfg = self.config(config)
        b = GraphBuilder(self.name, self.format(arch), cfg.input_shape, cfg.num_classes, cfg.name)
        x = b.conv(b.input(), 8, kernel=3)
        y = x
        for k in arch[:3]:
            y = b.relu(b.batch_norm(b.conv(y, 8, kernel=k)))
        if arch[3]:
            y = b.add(y, x)
        return b.output(b.linear(b.global_avg_pool(y), cfg.num_classes))


if TinyChainSpace.name not in SPACES:
    SPACES.register(TinyChainSpace.name)(TinyChainSpace)
