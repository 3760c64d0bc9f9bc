"""Importers: networks defined elsewhere (PyTorch modules, ...) as computation graphs of the one op vocabulary."""
from __future__ import annotations

from .torch_fx import from_module

__all__ = ["from_module"]
