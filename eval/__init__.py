"""Evaluation of predictors: metrics, protocols (sample efficiency, cross-space transfer), results and plots."""
from .metrics import METRIC_NAMES, MetricInputError, rank_metrics

__all__ = ["METRIC_NAMES", "MetricInputError", "rank_metrics"]
