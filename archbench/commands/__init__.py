"""CLI commands: one module each, defining NAME, HELP, ``add_parser(sub, home_parent)`` and ``run(args)``.

Modules are discovered, so a new command is a new file here and nothing else changes.
"""
from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType


def command_modules() -> list[ModuleType]:
    """Every command module of this package, sorted by command name."""
    mods = [importlib.import_module(f"{__name__}.{m.name}") for m in pkgutil.iter_modules(__path__)
            if not m.name.startswith("_")]
    return sorted(mods, key=lambda m: m.NAME)
