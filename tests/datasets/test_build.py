"""Build pipeline on the tiny test space: tables, resume, replacement, label mapping."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from archbench.datasets.build import SourceSpec, build, build_key, metrics_table, select_archs
from archbench.datasets.catalog import connect, query
from archbench.datasets.store import Store
from archbench.errors import ArchbenchError, DataFormatError
from archbench.graphs.spaces import get_space


def test_build_writes_consistent_tables(home):
    result = build("tinychain", home=home, sources=[], workers=1, chunk_size=5, progress=False)
    assert result.archs == 16 and result.chunks == 4 and result.chunks_resumed == 0
    space = get_space("tinychain")
    with connect(home) as con:
        archs = con.execute("SELECT * FROM archs ORDER BY arch_id").df()
        assert len(archs) == 16 and archs["arch_id"].is_unique
        # Totals in archs equal the sums over the nodes table, and both equal the CG's own totals.
        sums = con.execute("SELECT arch_id, sum(params) p, sum(flops) f, count(*) n FROM nodes GROUP BY arch_id ORDER BY arch_id").df()
        assert (sums["p"].to_numpy() == archs["params"].to_numpy()).all()
        assert (sums["f"].to_numpy() == archs["flops"].to_numpy()).all()
        assert (sums["n"].to_numpy() == archs["num_nodes"].to_numpy()).all()
        row = archs.iloc[3]
        graph = space.build_cg(space.parse(row["encoding"]))
        assert (row["params"], row["flops"], row["num_nodes"]) == (graph.params, graph.flops, graph.num_nodes)
        assert row["canonical_hash"] == graph.canonical_hash()
        edges = con.execute("SELECT src, dst, slot FROM edges WHERE arch_id = ? ORDER BY dst, slot", [row["arch_id"]]).df()
        assert sorted(zip(edges["src"], edges["dst"])) == sorted(zip(graph.src, graph.dst))
        assert (row["input_channels"], row["input_height"], row["input_width"], row["num_classes"]) == (3, 8, 8, 4)


def test_rebuild_replaces_cleanly_and_limit_samples(home):
    build("tinychain", home=home, sources=[], workers=1, progress=False)
    first = Store(home).manifest()
    result = build("tinychain", home=home, sources=[], workers=1, limit=5, seed=1, progress=False)
    assert result.archs == 5
    assert query("SELECT count(*) AS n FROM archs", home=home)["n"][0] == 5
    # Replaced files are gone; only the new manifest's files remain on disk.
    manifest = Store(home).manifest()
    assert manifest.generation == first.generation + 1
    on_disk = {p.relative_to(home).as_posix() for p in (home / "tables").rglob("*.parquet")}
    assert on_disk == manifest.all_files()
    assert not any((home / "staging").iterdir())


def test_interrupted_build_keeps_previous_tables_and_resumes(home, monkeypatch):
    build("tinychain", home=home, sources=[], workers=1, limit=6, progress=False)
    before = query("SELECT arch_id, params FROM archs ORDER BY arch_id", home=home)

    import archbench.datasets.build as build_mod

    real_chunk = build_mod._build_chunk
    calls = {"n": 0}

    def dies_after_two_chunks(*args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C half-way
        return real_chunk(*args)

    monkeypatch.setattr(build_mod, "_build_chunk", dies_after_two_chunks)
    with pytest.raises(KeyboardInterrupt):
        build("tinychain", home=home, sources=[], workers=1, chunk_size=4, progress=False)
    # The committed tables are exactly the previous ones.
    pd.testing.assert_frame_equal(query("SELECT arch_id, params FROM archs ORDER BY arch_id", home=home), before)

    monkeypatch.setattr(build_mod, "_build_chunk", real_chunk)
    result = build("tinychain", home=home, sources=[], workers=1, chunk_size=4, progress=False)
    assert result.chunks == 4 and result.chunks_resumed == 2
    assert query("SELECT count(DISTINCT arch_id) AS n FROM archs", home=home)["n"][0] == 16


def test_build_key_depends_on_selection():
    space = get_space("tinychain")
    archs = select_archs(space)
    assert build_key(space, "tiny", archs, 500) == build_key(space, "tiny", list(archs), 500)
    assert build_key(space, "tiny", archs[:-1], 500) != build_key(space, "tiny", archs, 500)
    assert select_archs(space, limit=4, seed=3) == select_archs(space, limit=4, seed=3)


def _reader_frame(archs, values, space="tinychain"):
    return pd.DataFrame({"space": space, "arch": archs, "source": "fake", "dataset": "toy", "metric": "test_accuracy",
                         "fidelity": 10.0, "device": None, "value": values, "unit": "%", "seed": pd.array([None] * len(archs), "Int64")})


def test_metrics_table_maps_ids_and_rejects_bad_labels():
    space = get_space("tinychain")
    table = metrics_table(space, _reader_frame(["1-1-1-skip", "3-3-3-plain"], [50.0, 60.0]), "fake", None)
    assert table.column("arch_id").to_pylist() == ["tinychain:" + space.arch_key(space.parse("1-1-1-skip")),
                                                   "tinychain:" + space.arch_key(space.parse("3-3-3-plain"))]
    with pytest.raises(DataFormatError, match=r"non-finite values.*expected finite"):
        metrics_table(space, _reader_frame(["1-1-1-skip"], [np.nan]), "fake", None)
    with pytest.raises(DataFormatError, match=r"labels for space\(s\) \['nb201'\], but this build is for 'tinychain'"):
        metrics_table(space, _reader_frame(["1-1-1-skip"], [1.0], space="nb201"), "fake", None)
    with pytest.raises(DataFormatError, match="tinychain encoding must look like"):
        metrics_table(space, _reader_frame(["1-5-1-skip"], [1.0]), "fake", None)
    # Labels of architectures outside the build are dropped, keeping the tables consistent.
    known = {"tinychain:" + space.arch_key(space.parse("1-1-1-skip"))}
    kept = metrics_table(space, _reader_frame(["1-1-1-skip", "3-3-3-plain"], [1.0, 2.0]), "fake", known)
    assert kept.num_rows == 1


def test_source_spec_parsing():
    assert SourceSpec.parse("nats") == SourceSpec("nats", None)
    assert SourceSpec.parse("nats=/x/y.csv") == SourceSpec("nats", "/x/y.csv")
    with pytest.raises(ArchbenchError, match="NAME or NAME=PATH"):
        SourceSpec.parse("nats=")


def test_unknown_space_lists_valid_names(home):
    with pytest.raises(ArchbenchError, match="unknown search space 'nb999'; expected one of: .*nb201"):
        build("nb999", home=home, sources=[], progress=False)


def test_killed_build_process_leaves_previous_tables_and_resumes(home):
    """SIGKILL a real `archbench build` mid-way: the old tables stay readable; a re-run resumes."""
    import os
    import signal
    import subprocess
    import sys
    import time

    build("nb201", home=home, sources=[], workers=1, limit=50, progress=False)
    before = query("SELECT arch_id, canonical_hash FROM archs ORDER BY arch_id", home=home)
    cmd = [sys.executable, "-m", "archbench", "build", "nb201", "--home", str(home), "--limit", "3000",
           "--workers", "1", "--quiet", "--source", "analognas"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    staging = home / "staging"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:  # wait until at least one chunk is staged, then kill
            if any(p.name.startswith("archs-") for p in staging.rglob("*.parquet")):
                break
            assert proc.poll() is None, "the build finished before it could be killed; give it more work"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    pd.testing.assert_frame_equal(query("SELECT arch_id, canonical_hash FROM archs ORDER BY arch_id", home=home), before)

    result = build("nb201", home=home, limit=3000, workers=1, sources=["analognas"], progress=False)
    assert result.chunks_resumed >= 1 and result.archs == 3000
    counts = query("SELECT (SELECT count(*) FROM archs) AS a, (SELECT count(DISTINCT arch_id) FROM metrics) AS m",
                   home=home)
    assert (counts["a"][0], counts["m"][0]) == (3000, 3000)
