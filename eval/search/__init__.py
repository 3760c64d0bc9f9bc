"""Architecture search over any registered space, driven by benchmark tables or real training.

Optimizers follow an ask/tell protocol (:class:`Optimizer`): ``ask(n)`` proposes architectures,
``tell(archs, values)`` reports their values (higher is better). Registered optimizers:

    random                  uniform sampling (any number of objectives)
    regularized_evolution   aging evolution (Real et al. 2019)
    local_search            first-improvement hill climbing with restarts (White et al. 2020)
    screened_random         a predictor screens many random samples; only the best are evaluated
    screened_evolution      regularized evolution whose predictor screens many mutated children
    bananas                 ensemble of predictors + acquisition function over mutations (White et al. 2021)
    pareto_evolution        multi-objective aging evolution with NSGA-II selection

:class:`TabularOracle` answers queries from the tables (tabular NAS simulation) and
:class:`CallableOracle` from a user function; :func:`run_search` runs the loop and returns a
:class:`SearchResult` whose trajectory is written as Parquet; :func:`search` does all of it
against the tables (what ``archbench search`` runs). Figures: :mod:`.plots`.
"""
from __future__ import annotations

from . import evolution, guided, local_search, multi_objective, random_search  # noqa: F401  (registration)
from .base import OPTIMIZERS, Optimizer, SearchError, get_optimizer, list_optimizers, register_optimizer
from .evolution import RegularizedEvolution
from .guided import Bananas, ScreenedEvolution, ScreenedRandomSearch
from .local_search import LocalSearch
from .multi_objective import ParetoEvolution, crowding_distance, hypervolume_2d, non_dominated_rank, pareto_front
from .oracle import CallableOracle, Objective, Oracle, TabularOracle, parse_objectives
from .random_search import RandomSearch
from .run import SearchResult, run_search, search

__all__ = ["OPTIMIZERS", "Bananas", "CallableOracle", "LocalSearch", "Objective", "Optimizer", "Oracle",
           "ParetoEvolution", "RandomSearch", "RegularizedEvolution", "ScreenedEvolution", "ScreenedRandomSearch",
           "SearchError", "SearchResult", "TabularOracle", "crowding_distance", "get_optimizer", "hypervolume_2d",
           "list_optimizers", "non_dominated_rank", "pareto_front", "parse_objectives", "register_optimizer",
           "run_search", "search"]
