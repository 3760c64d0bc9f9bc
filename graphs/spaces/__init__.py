"""Search spaces: each module of this package registers its space(s) in :data:`SPACES`."""
from __future__ import annotations

import importlib
import pkgutil

from .base import SPACES, NetworkConfig, SearchSpace

_loaded = False


def _load_all() -> None:
    """Import every space module of this package (on first lookup, so ``import archbench`` stays cheap)."""
    global _loaded
    if not _loaded:
        for mod in pkgutil.iter_modules(__path__):
            if mod.name != "base" and not mod.name.startswith("_"):
                importlib.import_module(f"{__name__}.{mod.name}")
        _loaded = True


def get_space(name: str) -> SearchSpace:
    """An instance of the registered search space ``name`` (error lists the valid names)."""
    _load_all()
    return SPACES.get(name)()


def list_spaces() -> list[str]:
    _load_all()
    return SPACES.names()


__all__ = ["SPACES", "NetworkConfig", "SearchSpace", "get_space", "list_spaces"]
