"""The predictor protocol, its registry, and saving/loading fitted predictors.

Every predictor follows scikit-learn's contract::

    model = get_predictor("gbdt", seed=0)       # keyword-only __init__ that only stores params
    model.fit(X, y)                             # returns self; learned state ends in "_"
    scores = model.predict(X_new)               # float64 (G,); NotFittedError before fit
    model.save("model_dir"); load_predictor("model_dir")

``X`` is anything :func:`archbench.datasets.views.as_graphset` accepts: a GraphSet, a list of
ComputationGraphs, native encodings with ``space=...``, or rows of the tables (DataFrame, Arrow
table, DuckDB relation with ``arch_id``) with ``home=...``.

Saved predictors are a directory holding ``predictor.json`` (name, parameters, JSON state) and
the model's own non-executable files (XGBoost JSON, a torch state dict loaded with
``weights_only=True``); nothing is pickled.
"""
from __future__ import annotations

import contextlib
import inspect
import json
import os
from pathlib import Path
from typing import Any, ClassVar, Iterator, Sequence

import numpy as np

from archbench.datasets.views import GraphSet, as_graphset
from archbench.errors import ArchbenchError, DataFormatError
from archbench.registry import Registry

#: Every registered predictor class, by name.
PREDICTORS: Registry[type["Predictor"]] = Registry("predictor")
SAVE_FORMAT = 1
_MANIFEST = "predictor.json"


class NotFittedError(ArchbenchError, ValueError, AttributeError):
    """A predictor was used before ``fit`` (like scikit-learn's NotFittedError)."""


class Predictor:
    """Base class: input handling, parameter access, fitted checks, save/load.

    Subclasses define ``name`` (the registry name), a keyword-only ``__init__`` that stores its
    arguments under the same names, and implement :meth:`_fit`, :meth:`_predict`,
    :meth:`_get_state` / :meth:`_set_state` (JSON-able state) and optionally
    :meth:`_save_files` / :meth:`_load_files` for binary model files.
    """

    name: ClassVar[str] = ""
    #: one line shown by ``archbench train --help`` and list_predictors(details=True)
    description: ClassVar[str] = ""

    # ---- parameters (scikit-learn compatible) -----------------------------------------------------
    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p.name for p in sig.parameters.values() if p.name != "self" and p.kind == p.KEYWORD_ONLY]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> "Predictor":
        valid = self._param_names()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"invalid parameter {key!r} for predictor {self.name!r}; expected one of: {', '.join(valid)}")
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        changed = [f"{k}={v!r}" for k, v in self.get_params().items() if defaults.get(k, inspect.Parameter.empty) != v]
        return f"{type(self).__name__}({', '.join(changed)})"

    # ---- what the predictor needs ---------------------------------------------------------------------
    @property
    def required_extras(self) -> tuple[str, ...]:
        """Per-graph extras (metric keys such as ``"zc_synflow"``) the predictor reads."""
        return ()

    def _graphs(self, X: Any, space: str | None, home: Any) -> GraphSet:
        graphs = as_graphset(X, space=space, home=home, extras=self.required_extras)
        if len(graphs) == 0:
            raise DataFormatError(f"predictor {self.name!r} got no graphs")
        return graphs

    # ---- the contract ------------------------------------------------------------------------------
    def fit(self, X: Any, y: Sequence[float] | np.ndarray, *, space: str | None = None, home: Any = None) -> "Predictor":
        """Learn from graphs ``X`` and their targets ``y`` (float, one per graph); returns self."""
        graphs = self._graphs(X, space, home)
        y = check_targets(y, len(graphs))
        self._fit(graphs, y)
        self.n_train_ = len(graphs)
        return self

    def predict(self, X: Any, *, space: str | None = None, home: Any = None) -> np.ndarray:
        """Predicted targets, float64 ``(G,)``."""
        self.check_is_fitted()
        graphs = self._graphs(X, space, home)
        out = np.asarray(self._predict(graphs), dtype=np.float64).reshape(-1)
        if out.shape != (len(graphs),):
            raise AssertionError(f"{self.name} predicted {out.shape} values for {len(graphs)} graphs")
        return out

    def fine_tune(self, X: Any, y: Sequence[float] | np.ndarray, *, space: str | None = None, home: Any = None) -> "Predictor":
        """Adapt a fitted predictor to a few labelled graphs of a new task (k-shot transfer).

        The default refits on the new graphs only; predictors that can continue training
        (GBDT: more boosting rounds, GNN: more epochs) override :meth:`_fine_tune`.
        """
        self.check_is_fitted()
        graphs = self._graphs(X, space, home)
        y = check_targets(y, len(graphs))
        self._fine_tune(graphs, y)
        return self

    def _fine_tune(self, graphs: GraphSet, y: np.ndarray) -> None:
        self._fit(graphs, y)

    def prepare(self, graphs: GraphSet) -> GraphSet:
        """Precompute what this predictor derives from graphs (features), cached on ``graphs``.

        Optional: fitting and predicting on subsets of a prepared set (``graphs.subset(...)``)
        then reuse the cache instead of featurizing each subset again. Returns ``graphs``.
        """
        return graphs

    def check_is_fitted(self) -> None:
        if not getattr(self, "n_train_", None):
            raise NotFittedError(f"this {type(self).__name__} ({self.name!r}) is not fitted yet: call fit(X, y) before "
                                 "predict, fine_tune or save")

    def _fit(self, graphs: GraphSet, y: np.ndarray) -> None:
        raise NotImplementedError

    def _predict(self, graphs: GraphSet) -> np.ndarray:
        raise NotImplementedError

    def _get_state(self) -> dict:
        return {}

    def _set_state(self, state: dict) -> None:
        pass

    def _save_files(self, directory: Path) -> None:
        pass

    def _load_files(self, directory: Path) -> None:
        pass

    # ---- persistence ---------------------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> Path:
        """Write the fitted predictor to directory ``path`` (created; files in it are replaced)."""
        self.check_is_fitted()
        from archbench import __version__

        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        self._save_files(directory)
        doc = {"format": SAVE_FORMAT, "archbench_version": __version__, "predictor": self.name,
               "params": _jsonable(self.get_params()), "n_train": int(self.n_train_), "state": _jsonable(self._get_state())}
        tmp = directory / f".{_MANIFEST}.tmp"
        tmp.write_text(json.dumps(doc, indent=1, sort_keys=True))
        os.replace(tmp, directory / _MANIFEST)
        return directory

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Predictor":
        """Read a predictor saved by :meth:`save` (any registered predictor when called on the base class)."""
        model = load_predictor(path)
        if cls is not Predictor and not isinstance(model, cls):
            raise DataFormatError(f"{path} holds a {model.name!r} predictor, not {cls.name!r}")
        return model


def load_predictor(path: str | os.PathLike) -> Predictor:
    """Read a predictor directory written by :meth:`Predictor.save`."""
    directory = Path(path)
    manifest = directory / _MANIFEST
    if not manifest.is_file():
        raise DataFormatError(f"{directory} is not a saved archbench predictor: it has no {_MANIFEST}")
    try:
        doc = json.loads(manifest.read_text())
        fmt, name, params, state, n_train = doc["format"], doc["predictor"], doc["params"], doc["state"], doc["n_train"]
    except (ValueError, KeyError, TypeError) as err:
        raise DataFormatError(f"{manifest} is not a valid predictor file ({err})") from None
    if fmt > SAVE_FORMAT:
        raise DataFormatError(f"{manifest} uses predictor format {fmt}; this archbench reads up to {SAVE_FORMAT}: upgrade archbench")
    cls = predictor_class(name)
    model = cls(**{k: _from_json(v) for k, v in params.items() if k in cls._param_names()})
    model._set_state(state)
    model._load_files(directory)
    model.n_train_ = int(n_train)
    return model


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise DataFormatError(f"cannot save parameter/state value of type {type(value).__name__} as JSON: {value!r}")


def _from_json(value: Any) -> Any:
    # Tuples become lists in JSON; parameters documented as sequences accept either.
    return tuple(value) if isinstance(value, list) else value


def check_targets(y: Any, n: int) -> np.ndarray:
    """``y`` as float64 ``(n,)``; raises on a length mismatch or a non-finite value."""
    arr = np.asarray(y, dtype=np.float64).reshape(-1) if not hasattr(y, "to_numpy") else y.to_numpy(dtype=np.float64).reshape(-1)
    if arr.shape != (n,):
        raise DataFormatError(f"got {arr.shape[0]} targets for {n} graphs; expected one target per graph")
    bad = ~np.isfinite(arr)
    if bad.any():
        raise DataFormatError(f"targets must be finite; found {int(bad.sum())} NaN/inf values (first at position {int(np.flatnonzero(bad)[0])})")
    return arr


class TargetScaler:
    """Targets to a model scale and back: standardization or training quantiles ("rank")."""

    def __init__(self, kind: str) -> None:
        if kind not in ("rank", "standard"):
            raise ValueError(f"target must be 'rank' or 'standard', found {kind!r}")
        self.kind = kind

    def fit(self, y: np.ndarray) -> "TargetScaler":
        self.sorted_ = np.sort(y)
        self.mean_, self.std_ = float(np.mean(y)), float(np.std(y)) or 1.0
        return self

    def transform(self, y: np.ndarray) -> np.ndarray:
        if self.kind == "standard":
            return (y - self.mean_) / self.std_
        n = len(self.sorted_)
        # mid-rank quantile in (0, 1): ties share a value
        lo = np.searchsorted(self.sorted_, y, side="left")
        hi = np.searchsorted(self.sorted_, y, side="right")
        return (lo + hi) / (2.0 * n)

    def inverse(self, z: np.ndarray) -> np.ndarray:
        if self.kind == "standard":
            return z * self.std_ + self.mean_
        n = len(self.sorted_)
        grid = (np.arange(n) + 0.5) / n
        # Monotone map back to the target scale; outside the training range extrapolate linearly
        # with the end slopes so ranking beyond the extremes is kept.
        out = np.interp(z, grid, self.sorted_)
        if n >= 2:
            lo_slope = (self.sorted_[1] - self.sorted_[0]) / (grid[1] - grid[0]) or 1e-9
            hi_slope = (self.sorted_[-1] - self.sorted_[-2]) / (grid[-1] - grid[-2]) or 1e-9
            out = np.where(z < grid[0], self.sorted_[0] + (z - grid[0]) * lo_slope, out)
            out = np.where(z > grid[-1], self.sorted_[-1] + (z - grid[-1]) * hi_slope, out)
        return out

    def get_state(self) -> dict:
        return {"kind": self.kind, "sorted": self.sorted_.tolist(), "mean": self.mean_, "std": self.std_}

    @classmethod
    def from_state(cls, state: dict) -> "TargetScaler":
        s = cls(state["kind"])
        s.sorted_ = np.asarray(state["sorted"], dtype=np.float64)
        s.mean_, s.std_ = float(state["mean"]), float(state["std"])
        return s


def validation_split(n: int, fraction: float, seed: int, min_val: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Seeded ``(train, val)`` index split; val is empty when ``n`` is too small to spare ``min_val``."""
    n_val = int(round(n * fraction))
    if fraction <= 0 or n_val < min_val or n - n_val < min_val:
        return np.arange(n), np.zeros(0, dtype=np.int64)
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run a block with ``torch.set_num_threads(n)`` and restore the previous count afterwards."""
    import torch

    old = torch.get_num_threads()
    if n is not None and n > 0 and n != old:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != old:
            torch.set_num_threads(old)


#: Module of each built-in predictor, imported on first use of one of its names: the GNN's
#: module pulls in torch and PyG (seconds of import) that a GBDT or baseline user never needs.
#: The modules register their classes themselves; a test checks this table against them.
_BUILTIN_MODULES = {"params": "baselines", "flops": "baselines", "proxy": "baselines", "random": "baselines",
                    "ridge": "baselines", "gbdt": "gbdt", "gnn": "gnn"}
_loaded = False


def _load_all() -> None:
    """Import every built-in predictor module (so ``import archbench.predictors`` stays cheap)."""
    global _loaded
    if not _loaded:
        import importlib

        for mod in sorted(set(_BUILTIN_MODULES.values())):
            importlib.import_module(f"archbench.predictors.{mod}")
        _loaded = True


def predictor_class(name: str) -> type[Predictor]:
    """The class registered as ``name``, importing only its own module (an unknown name lists the valid ones)."""
    if name not in PREDICTORS:
        module = _BUILTIN_MODULES.get(name)
        if module is None:
            _load_all()  # so that the error lists every predictor
        else:
            import importlib

            importlib.import_module(f"archbench.predictors.{module}")
    return PREDICTORS.get(name)


def get_predictor(name: str, **params: Any) -> Predictor:
    """A new, unfitted predictor ``name`` with ``params`` (an unknown name lists the valid ones)."""
    cls = predictor_class(name)
    try:
        return cls(**params)
    except TypeError as err:
        raise ValueError(f"invalid parameters for predictor {name!r} ({err}); it takes: {', '.join(cls._param_names())}") from None


def list_predictors() -> list[str]:
    """Names of all predictors (built-in and registered), sorted; imports none of their modules."""
    return sorted(set(PREDICTORS.names()) | set(_BUILTIN_MODULES))


__all__ = ["NotFittedError", "PREDICTORS", "Predictor", "TargetScaler", "check_targets", "validation_split", "get_predictor", "list_predictors",
           "load_predictor", "predictor_class", "torch_threads"]
