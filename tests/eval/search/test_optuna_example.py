"""examples/optuna_screening.py: an archbench predictor screens Optuna's ask/tell trials."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna", reason="the Optuna example needs optuna (pip install archbench[test])")

import archbench  # noqa: E402
from archbench.graphs.spaces import get_space  # noqa: E402
from archbench.predictors.base import get_predictor  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "optuna_screening.py"


def _example():
    spec = importlib.util.spec_from_file_location("optuna_screening", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_screening_optuna_trials_with_a_saved_predictor(tmp_path, nb201_oracle):
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    example = _example()
    train = get_space("nb201").samples(60, seed=1)
    get_predictor("ridge").fit(train, nb201_oracle.lookup(train)[:, 0], space="nb201").save(tmp_path / "model")
    model = archbench.load_predictor(tmp_path / "model")

    def objective(arch: str) -> float:
        return float(nb201_oracle.evaluate([arch])[0, 0])

    plain = example.screened_study(model, objective, 15, screen=1, seed=0)
    assert nb201_oracle.queries == 15
    screened = example.screened_study(model, objective, 15, screen=8, seed=0)
    assert nb201_oracle.queries == 30  # screening costs no evaluation
    states = [t.state for t in screened.trials]
    assert len(states) == 15 * 8 and states.count(optuna.trial.TrialState.COMPLETE) == 15
    assert states.count(optuna.trial.TrialState.PRUNED) == 15 * 7
    assert screened.best_value > plain.best_value
    assert nb201_oracle.lookup([screened.best_trial.user_attrs["arch"]])[0, 0] == screened.best_value
