"""Arguments shared by `archbench train`, `evaluate` and `predict`: which task, which predictor parameters."""
from __future__ import annotations

import argparse
import json
from typing import Any

from archbench.errors import ArchbenchError


def add_task_args(p: argparse.ArgumentParser, *, space_required: bool = True) -> None:
    """--space, --metric and the label filters (--dataset, --source, --fidelity, --device)."""
    p.add_argument("--space", required=space_required, help="search space of the architectures (e.g. nb201)")
    p.add_argument("--metric", default="test_accuracy", help="metric to predict (default test_accuracy)")
    p.add_argument("--dataset", help="dataset/task of the metric, e.g. cifar10")
    p.add_argument("--source", help="label source, e.g. nats_csv (see `archbench sources`)")
    p.add_argument("--fidelity", type=float, help="training epochs of the metric, e.g. 200")
    p.add_argument("--device", help="device of a hardware metric")


def label_spec(args: argparse.Namespace):
    from archbench.datasets.views import LabelSpec

    return LabelSpec(args.metric, args.dataset, args.source, args.fidelity, args.device)


def parse_value(text: str) -> Any:
    """A parameter value: JSON when it parses (numbers, true/false, lists), else the string itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_params(items: list[str] | None, labels: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """``KEY=VALUE`` (every predictor) or ``LABEL.KEY=VALUE`` items -> ``{label or "*": {key: value}}``."""
    out: dict[str, dict[str, Any]] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ArchbenchError(f"--param must be KEY=VALUE or PREDICTOR.KEY=VALUE, found {item!r}")
        label, dot, name = key.rpartition(".")
        if dot and labels is not None and label not in labels:
            raise ArchbenchError(f"--param {item!r} names predictor {label!r}, which is not among {labels}")
        out.setdefault(label if dot else "*", {})[name] = parse_value(value)
    return out
