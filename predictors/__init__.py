"""Performance predictors: one scikit-learn-style protocol, a registry, GBDT, GNN and baselines.

    from archbench.predictors import get_predictor, list_predictors, load_predictor
    model = get_predictor("gbdt", seed=0).fit(graphs, y)   # graphs: GraphSet, CGs, encodings or table rows
    model.predict(other_graphs); model.save("dir"); load_predictor("dir")

See :mod:`archbench.predictors.base` for the contract.
"""
from .base import PREDICTORS, NotFittedError, Predictor, get_predictor, list_predictors, load_predictor

__all__ = ["PREDICTORS", "NotFittedError", "Predictor", "get_predictor", "list_predictors", "load_predictor"]
