"""The Parquet table schemas: the one place where table names, columns and types are defined.

Tables (schema version :data:`SCHEMA_VERSION`):

``archs``    one row per architecture: id, space, native encoding, network config, canonical
             hash, the benchmark's own isomorphism representative, graph size and totals.
``nodes``    one row per CG node: ``(arch_id, node)`` plus the node fields of
             :mod:`archbench.graphs.cg` (op, attributes, shapes, params, FLOPs).
``edges``    one row per CG edge: ``(arch_id, src, dst, slot)``; ``slot`` is the argument position.
``metrics``  long format, one row per measured number: ``(arch_id, space, source, dataset,
             metric, fidelity, device, value, unit, seed)``. New spaces, tasks, devices and proxy
             scores add rows, never columns. ``fidelity`` is training epochs (null when it does
             not apply), ``device`` is null for device-independent metrics, ``seed`` is null for
             a mean over seeds.
``results``  one row per evaluated predictor fit: protocol, predictor, task, training size, seed,
             the ranking metrics of :func:`archbench.eval.metrics.rank_metrics` and timings.

Network configs. An architecture is one network per network config of its space (NB301's C=32,
8-cell network and the DARTS paper's C=36, 20-cell one are different networks of one genotype),
so ``arch_id`` names both: ``"{space}:{key}"`` for the space's default (first) config,
``"{space}@{config}:{key}"`` for any other (:meth:`SearchSpace.arch_id`,
:func:`~archbench.graphs.spaces.base.split_arch_id`). Every join stays ``USING (arch_id)``, a
metrics row lands on the graphs of the network it was measured on, and several configs of a
space live side by side; ``archs.config`` names the config, ``space`` stays the space name in
every table. ``key`` is :meth:`SearchSpace.arch_key` (the same for every config).

Every file carries its table name and schema version in the Parquet key-value metadata; a reader
refuses a file written by a newer schema version with :class:`SchemaVersionError`.

Versions: v1 had the key ``"{space}:{key}"`` for every config (one config per space in a data
home; labels of every source on it). v2 (this) adds the config to the key of non-default
configs, so a v1 reader would misread a v2 home; v1 files are read as they are (their keys are
default-config keys), and the next build of a space drops its v1 metrics units that belong to
another config (see :func:`archbench.datasets.build.stale_units`).
"""
from __future__ import annotations

import json

import pyarrow as pa

from archbench.errors import DataFormatError, SchemaVersionError

SCHEMA_VERSION = 2
METADATA_KEY = b"archbench.schema"

ARCHS = pa.schema([
    ("arch_id", pa.string()),
    ("space", pa.string()),
    ("encoding", pa.string()),
    ("config", pa.string()),
    ("canonical_hash", pa.string()),
    ("rep_arch_id", pa.string()),          # the benchmark's own isomorphism-class representative
    ("num_nodes", pa.int32()),
    ("num_edges", pa.int32()),
    ("params", pa.int64()),
    ("flops", pa.int64()),
    ("input_channels", pa.int32()),
    ("input_height", pa.int32()),
    ("input_width", pa.int32()),
    ("num_classes", pa.int32()),
    ("vocab_version", pa.int16()),
])

NODES = pa.schema([
    ("arch_id", pa.string()),
    ("node", pa.int32()),
    ("op", pa.string()),
    ("kernel", pa.int16()),
    ("stride", pa.int16()),
    ("padding", pa.int16()),
    ("dilation", pa.int16()),
    ("groups", pa.int32()),
    ("bias", pa.int8()),
    ("c_in", pa.int32()),
    ("h_in", pa.int32()),
    ("w_in", pa.int32()),
    ("c_out", pa.int32()),
    ("h_out", pa.int32()),
    ("w_out", pa.int32()),
    ("params", pa.int64()),
    ("flops", pa.int64()),
])

EDGES = pa.schema([
    ("arch_id", pa.string()),
    ("src", pa.int32()),
    ("dst", pa.int32()),
    ("slot", pa.int16()),
])

METRICS = pa.schema([
    ("arch_id", pa.string()),
    ("space", pa.string()),
    ("source", pa.string()),
    ("dataset", pa.string()),
    ("metric", pa.string()),
    ("fidelity", pa.float64()),
    ("device", pa.string()),
    ("value", pa.float64()),
    ("unit", pa.string()),
    ("seed", pa.int64()),
])

RESULTS = pa.schema([
    ("run_id", pa.string()),               # one evaluation run (one unit "results/<run_id>")
    ("created_at", pa.float64()),          # Unix time of the run
    ("protocol", pa.string()),             # sample_efficiency, cross_space, holdout, saved_model
    ("predictor", pa.string()),            # label (a registered name, or a named variant)
    ("predictor_name", pa.string()),       # the registered predictor
    ("params", pa.string()),               # JSON of the predictor's parameters
    ("space", pa.string()),                # the space predicted (the target space of a transfer)
    ("train_spaces", pa.string()),         # comma-separated spaces trained on
    ("task", pa.string()),                 # the target label, e.g. "nats_csv/cifar10/test_accuracy@200"
    ("n_train", pa.int64()),               # labelled graphs of the predicted space used in training
    ("n_test", pa.int64()),
    ("k_shot", pa.int64()),                # cross_space: target labels used (0 = zero-shot); else null
    ("seed", pa.int64()),
    ("kendall_tau", pa.float64()),
    ("spearman", pa.float64()),
    ("pearson", pa.float64()),
    ("mae", pa.float64()),
    ("rmse", pa.float64()),
    ("precision_at_k", pa.float64()),
    ("top_overlap", pa.float64()),
    ("ndcg_at_k", pa.float64()),
    ("regret", pa.float64()),
    ("k", pa.int64()),                     # cut-off of precision_at_k and ndcg_at_k
    ("top_fraction", pa.float64()),        # share compared by top_overlap
    ("fit_seconds", pa.float64()),
    ("predict_seconds", pa.float64()),
])

TABLES: dict[str, pa.Schema] = {"archs": ARCHS, "nodes": NODES, "edges": EDGES, "metrics": METRICS,
                                "results": RESULTS}

#: Columns a benchmark reader returns: the metrics columns with the native encoding ``arch``
#: in place of ``arch_id`` (the build maps encodings to ids through the search space).
READER_COLUMNS: tuple[str, ...] = ("space", "arch", "source", "dataset", "metric", "fidelity",
                                   "device", "value", "unit", "seed")


def table_schema(name: str) -> pa.Schema:
    """The schema of table ``name``, with its name and version in the metadata."""
    try:
        schema = TABLES[name]
    except KeyError:
        raise DataFormatError(f"unknown table {name!r}; expected one of: {', '.join(TABLES)}") from None
    meta = json.dumps({"table": name, "version": SCHEMA_VERSION}).encode()
    return schema.with_metadata({METADATA_KEY: meta})


def check_file_schema(name: str, schema: pa.Schema, path: str) -> None:
    """Raise unless ``schema`` (read from ``path``) is table ``name`` at a version we can read."""
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise DataFormatError(f"{path} is not an archbench {name!r} table: it has no {METADATA_KEY.decode()!r} metadata")
    try:
        meta = json.loads(raw)
        found_name, version = meta["table"], int(meta["version"])
    except (ValueError, KeyError, TypeError):
        raise DataFormatError(f"{path}: unreadable archbench schema metadata {raw[:80]!r}") from None
    if found_name != name:
        raise DataFormatError(f"{path} holds table {found_name!r}, expected {name!r}")
    if version > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{path} was written with archbench table schema v{version}, but this archbench reads up to "
            f"v{SCHEMA_VERSION}; upgrade archbench (pip install -U archbench) or rebuild the tables")
    expected = TABLES[name]
    missing = [f.name for f in expected if f.name not in schema.names]
    if missing:
        raise DataFormatError(f"{path} ({name!r} table v{version}) lacks columns {missing}; found {schema.names}")
