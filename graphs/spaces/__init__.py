"""Search spaces: each registers itself under its name in :data:`SPACES`."""
from __future__ import annotations

import importlib

from .base import SPACES, NetworkConfig, SearchSpace

# Modules that define spaces; imported on first lookup so ``import archbench`` stays cheap.
_SPACE_MODULES = ("nb201",)
_loaded = False


def _load_all() -> None:
    global _loaded
    if not _loaded:
        for mod in _SPACE_MODULES:
            importlib.import_module(f"{__name__}.{mod}")
        _loaded = True


def get_space(name: str) -> SearchSpace:
    """An instance of the registered search space ``name`` (error lists the valid names)."""
    _load_all()
    return SPACES.get(name)()


def list_spaces() -> list[str]:
    _load_all()
    return SPACES.names()


__all__ = ["SPACES", "NetworkConfig", "SearchSpace", "get_space", "list_spaces"]
