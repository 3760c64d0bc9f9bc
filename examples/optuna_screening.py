"""Plug an archbench predictor into Optuna's ask/tell loop: the predictor screens trials.

Each round Optuna's TPE sampler proposes ``--screen`` NAS-Bench-201 cells (one categorical per
edge); the archbench predictor ranks them and only the best is evaluated with the expensive
objective (here: a look-up of the official NATS-Bench CIFAR-10 accuracy in the tables, standing
in for training). The others are told to Optuna as pruned, so TPE learns they were not worth it.

    archbench build nb201 --data-dir ../shared/data            # tables with the official labels
    python examples/optuna_screening.py --model MODEL_DIR --evaluations 30

``MODEL_DIR`` is a predictor saved with ``Predictor.save`` (see the README); without ``--model``
the example trains a GBDT on 200 random cells first.
"""
from __future__ import annotations

import argparse
from typing import Callable

import optuna

import archbench
from archbench.graphs.spaces.nb201 import EDGES, NB201_OPS, format_arch_str


def suggest_nb201(trial: optuna.trial.Trial) -> str:
    """An NB201 cell from one Optuna categorical per edge, as the official string."""
    return format_arch_str(tuple(trial.suggest_categorical(f"edge{i}", NB201_OPS) for i in range(len(EDGES))))


def screened_study(model, objective: Callable[[str], float], evaluations: int, *, screen: int = 8,
                   seed: int = 0) -> optuna.Study:
    """Optuna TPE where ``model`` picks the best of ``screen`` proposals per evaluation.

    Args:
        model: anything with ``rank(archs, space="nb201")`` (e.g. ``archbench.load_predictor(path)``).
        objective: the expensive evaluation, native string -> value (higher is better).
        evaluations: calls of ``objective``.
        screen: proposals per evaluation (1: plain TPE, no screening).
        seed: TPE's seed.
    """
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    for _ in range(evaluations):
        trials = [study.ask() for _ in range(screen)]
        archs = [suggest_nb201(t) for t in trials]
        best = int(model.rank(archs, space="nb201")[0]) if screen > 1 else 0
        for i, trial in enumerate(trials):
            trial.set_user_attr("arch", archs[i])
            if i == best:
                study.tell(trial, objective(archs[i]))
            else:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    return study


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="saved predictor directory (default: train a GBDT on 200 random cells)")
    parser.add_argument("--home", help="data home with NB201 tables (default: $ARCHBENCH_HOME)")
    parser.add_argument("--objective", default="nats_csv/test_accuracy@200", help="label answering the evaluations")
    parser.add_argument("--evaluations", type=int, default=30)
    parser.add_argument("--screen", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    from archbench.eval.search import TabularOracle

    oracle = TabularOracle.from_tables("nb201", args.objective, home=args.home)
    if args.model:
        model = archbench.load_predictor(args.model)
    else:
        from archbench.api import LoadedPredictor
        from archbench.predictors.base import get_predictor

        train = archbench.get_space("nb201").samples(200, seed=args.seed + 1)
        gbdt = get_predictor("gbdt", n_estimators=300, learning_rate=0.1, seed=args.seed)
        model = LoadedPredictor(gbdt.fit(train, oracle.lookup(train)[:, 0], space="nb201"))

    def objective(arch: str) -> float:
        return float(oracle.evaluate([arch])[0, 0])

    for screen in (1, args.screen):
        oracle.queries = 0
        study = screened_study(model, objective, args.evaluations, screen=screen, seed=args.seed)
        label = "plain TPE" if screen == 1 else f"TPE + archbench screening of {screen}"
        print(f"{label:34s} best {study.best_value:.2f} after {oracle.queries} evaluations: "
              f"{study.best_trial.user_attrs['arch']}")
    print(f"global best in the table: {oracle.optimum():.2f}")


if __name__ == "__main__":
    main()
