"""Tests for archbench.predictors.base: the lazily imported registry of built-in predictors."""
from __future__ import annotations

import subprocess
import sys

import pytest

from archbench.errors import RegistryError
from archbench.predictors.base import _BUILTIN_MODULES, PREDICTORS, _load_all, list_predictors, predictor_class


def test_builtin_table_matches_what_the_modules_register():
    _load_all()
    builtin = {name for name in PREDICTORS.names()
               if PREDICTORS.get(name).__module__.rsplit(".", 1)[-1] in set(_BUILTIN_MODULES.values())}
    assert builtin == set(_BUILTIN_MODULES)
    for name, module in _BUILTIN_MODULES.items():
        assert PREDICTORS.get(name).__module__ == f"archbench.predictors.{module}"
        assert predictor_class(name) is PREDICTORS.get(name)
    assert set(_BUILTIN_MODULES) <= set(list_predictors())


def test_unknown_name_lists_every_predictor():
    with pytest.raises(RegistryError, match="unknown predictor 'nope'.*gbdt.*gnn"):
        predictor_class("nope")


def test_gbdt_and_listing_do_not_import_torch_or_pyg():
    # A fresh interpreter: this process may already hold torch from other tests.
    code = ("import sys\n"
            "from archbench.predictors import get_predictor, list_predictors\n"
            "get_predictor('gbdt', n_estimators=5); get_predictor('ridge')\n"
            "assert 'gnn' in list_predictors()\n"
            "print(sorted(m for m in ('torch', 'torch_geometric', 'archbench.predictors.gnn') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
