"""Tests for archbench.eval.plots: files are written and importing needs no matplotlib."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from archbench.eval.plots import plot_sample_efficiency, plot_scatter


def test_plots_write_images(tmp_path):
    rows = pd.DataFrame({"task": "t", "predictor": ["a"] * 4 + ["b"] * 4, "n_train": [10, 10, 20, 20] * 2,
                         "kendall_tau": [0.1, 0.2, 0.3, 0.35, 0.2, 0.2, 0.4, 0.5]})
    p = plot_sample_efficiency(rows, tmp_path / "tau.png", references=[("paper", 20, 0.45)])
    assert p.stat().st_size > 1000 and p.read_bytes()[:4] == b"\x89PNG"
    s = plot_scatter(np.arange(50.0), np.arange(50.0) ** 1.5, tmp_path / "sub" / "scatter.png", title="x")
    assert s.exists()
    with pytest.raises(ValueError, match="no results"):
        plot_sample_efficiency(rows.iloc[:0], tmp_path / "none.png")


def test_import_does_not_load_matplotlib():
    code = "import sys, archbench.eval.plots, archbench.eval.protocols; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
