"""A small, stable API for using a trained archbench predictor from any search code.

    >>> import archbench
    >>> model = archbench.load_predictor("my_model")            # a directory written by Predictor.save
    >>> model.predict(["|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"],
    ...               space="nb201")
    array([94.1...])
    >>> model.rank([...], space="nb201")                        # positions, best first

Architectures may be native encodings of a search space (strings or the space's architecture
values, with ``space=``), :class:`~archbench.graphs.cg.ComputationGraph` objects or PyTorch
``nn.Module`` networks (imported with :func:`archbench.graphs.importers.from_module`); a list may
mix them. This module's signatures are kept stable across releases.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from archbench.errors import EncodingError


class LoadedPredictor:
    """A fitted predictor behind the stable interface: :meth:`predict` and :meth:`rank`.

    Attributes:
        predictor: the underlying :class:`archbench.predictors.base.Predictor`.
        path: where it was loaded from (None if wrapped in memory).
    """

    def __init__(self, predictor: Any, path: str | os.PathLike | None = None) -> None:
        self.predictor = predictor
        self.path = None if path is None else Path(path)

    @property
    def name(self) -> str:
        """Registered name of the predictor (``"gbdt"``, ``"gnn"``, ...)."""
        return self.predictor.name

    def graphs(self, archs: Any, *, space: str | None = None, config: str | None = None,
               input_shape: tuple[int, int, int] | None = None):
        """The inputs as a GraphSet (see :meth:`predict` for what is accepted)."""
        from archbench.datasets.views import GraphSet
        from archbench.graphs.cg import ComputationGraph

        if isinstance(archs, GraphSet):
            return archs
        items = [archs] if isinstance(archs, (str, ComputationGraph)) or _is_module(archs) else list(archs)
        if not items:
            raise EncodingError("got no architectures to predict")
        sp = None
        if space is not None:
            from archbench.graphs.spaces import get_space

            sp = get_space(space)
        graphs, ids = [], []
        for k, item in enumerate(items):
            if isinstance(item, ComputationGraph):
                graphs.append(item)
                ids.append("")
            elif _is_module(item):
                from archbench.graphs.importers import from_module

                shape = input_shape or (sp.config(config).input_shape if sp is not None else None)
                if shape is None:
                    raise EncodingError(f"item {k} is a PyTorch module: give input_shape=(C, H, W) or space=... "
                                        "so its input size is known")
                graphs.append(from_module(item, tuple(shape)))
                ids.append("")
            else:
                if sp is None:
                    raise EncodingError(f"item {k} ({type(item).__name__} {item!r:.60}) is a native encoding: say which "
                                        "search space it belongs to, e.g. space='nb201'")
                arch = sp.coerce(item)
                graphs.append(sp.build_cg(arch, config))
                ids.append(sp.arch_id(arch, config))
        return GraphSet.from_graphs(graphs, arch_ids=ids)

    def predict(self, archs: Any, *, space: str | None = None, config: str | None = None,
                input_shape: tuple[int, int, int] | None = None) -> np.ndarray:
        """Predicted value of each architecture, float64 ``(n,)``, in input order.

        Args:
            archs: a sequence of native encodings (with ``space``), ComputationGraphs and/or
                PyTorch modules, a single one of those, or a GraphSet.
            space: search space of native encodings, e.g. ``"nb201"``.
            config: the space's network configuration (default: its first, e.g. ``cifar10``).
            input_shape: ``(C, H, W)`` for PyTorch modules (default: the space config's).
        """
        return np.asarray(self.predictor.predict(self.graphs(archs, space=space, config=config, input_shape=input_shape)),
                          dtype=np.float64)

    def rank(self, archs: Any, *, space: str | None = None, config: str | None = None,
             input_shape: tuple[int, int, int] | None = None, higher_is_better: bool = True) -> np.ndarray:
        """Positions of ``archs`` ordered best first by predicted value, int64 ``(n,)`` (ties keep input order)."""
        pred = self.predict(archs, space=space, config=config, input_shape=input_shape)
        return np.argsort(-pred if higher_is_better else pred, kind="stable")

    def __repr__(self) -> str:
        where = f", path={str(self.path)!r}" if self.path is not None else ""
        return f"LoadedPredictor({self.predictor!r}{where})"


def _is_module(obj: Any) -> bool:
    # torch is imported only if the caller already did: a module instance implies it.
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def predict_jsonl(model: LoadedPredictor, lines: Iterable[str], write: Callable[[str], Any], *, space: str,
                  config: str | None = None, batch_size: int = 1) -> tuple[int, int]:
    """Answer architectures given one per line with one JSON line each (``archbench predict``).

    A line is a native encoding (``|nor_conv_3x3~0|+|...|``), a JSON string, or a JSON object
    ``{"arch": ..., "id": ...}`` (``id`` is echoed). The answer is
    ``{"line": n, "arch": ..., "prediction": value}`` or, for a line that cannot be read or
    predicted, ``{"line": n, "arch": ..., "error": "..."}``; blank lines are skipped. Answers
    come in input order, written (and flushed by ``write``'s caller) every ``batch_size`` lines,
    so a driving process can send a line and wait for its answer with ``batch_size=1``.

    Returns:
        ``(answered, errors)`` line counts.
    """
    import json

    from archbench.errors import ArchbenchError
    from archbench.graphs.spaces import get_space

    sp = get_space(space)
    pending: list[dict] = []
    counts = [0, 0]

    def flush() -> None:
        ok = [r for r in pending if "error" not in r]
        if ok:
            try:
                preds = model.predict([r.pop("_arch") for r in ok], space=space, config=config)
                for r, p in zip(ok, preds):
                    r["prediction"] = float(p)
            except (ArchbenchError, ValueError) as err:
                for r in ok:
                    r["error"] = f"{type(err).__name__}: {err}"
        for r in pending:
            r.pop("_arch", None)
            counts[0] += 1
            counts[1] += "error" in r
            write(json.dumps(r) + "\n")
        pending.clear()

    for n, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text:
            continue
        record: dict[str, Any] = {"line": n}
        try:
            item: Any = text
            if text[0] in '{"':
                item = json.loads(text)
                if isinstance(item, dict):
                    if "id" in item:
                        record["id"] = item["id"]
                    if "arch" not in item:
                        raise EncodingError(f'a JSON object line needs an "arch" field, found keys {sorted(item)}')
                    item = item["arch"]
            record["arch"] = item
            record["_arch"] = sp.coerce(item)
        except (ArchbenchError, ValueError, TypeError) as err:
            record.setdefault("arch", text)
            record["error"] = f"{type(err).__name__}: {err}"
        pending.append(record)
        if len(pending) >= batch_size:
            flush()
    flush()
    return counts[0], counts[1]


def load_predictor(path: str | os.PathLike) -> LoadedPredictor:
    """Load a predictor saved with ``Predictor.save(path)`` (or ``archbench`` training commands)."""
    from archbench.predictors.base import load_predictor as _load

    return LoadedPredictor(_load(path), path)


__all__ = ["LoadedPredictor", "load_predictor", "predict_jsonl"]
