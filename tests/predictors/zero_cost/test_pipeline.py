"""Tests for archbench.predictors.zero_cost.pipeline and `archbench proxies`: storage as metrics rows,
resume, idempotence, extension, option and definition changes, recomputing, and a Dask run identical to a
serial one."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from archbench.cli import main
from archbench.datasets.build import build
from archbench.datasets.catalog import query
from archbench.datasets.store import Store
from archbench.errors import ArchbenchError
from archbench.predictors.zero_cost import pipeline
from archbench.predictors.zero_cost.pipeline import run_proxies, select_archs

PROXIES = "snip,synflow,params"


def rows(home, where="TRUE"):
    return query(f"SELECT arch_id, space, source, dataset, metric, fidelity, device, value, unit, seed FROM metrics "
                 f"WHERE source = 'archbench_zc' AND {where} ORDER BY metric, arch_id", home=home)


@pytest.fixture
def built(home):
    build("tinychain", home=home, sources=[], workers=1, progress=False)
    return home


def run(home, **kw):
    args = dict(home=home, batch_size=4, chunk_size=2, progress=False)
    args.update(kw)
    return run_proxies("tinychain", kw.pop("proxies", PROXIES), **{k: v for k, v in args.items() if k != "proxies"})


def test_scores_and_times_become_metrics_rows(built):
    result = run(built, limit=5)
    assert (result.archs, result.computed, result.already_done, result.chunks) == (5, 5, 0, 3)
    df = rows(built)
    assert len(df) == 5 * 3 * 2
    assert set(df["metric"]) == {"zc_snip", "zc_snip_time", "zc_synflow", "zc_synflow_time", "zc_params",
                                 "zc_params_time"}
    scores, times = df[df["unit"] == "score"], df[df["unit"] == "s"]
    assert len(scores) == len(times) == 15 and (times["value"] >= 0).all()
    assert set(df["dataset"]) == {"random"} and set(df["seed"]) == {0} and set(df["space"]) == {"tinychain"}
    assert scores["device"].isna().all() and set(times["device"]) == {"cpu"} and df["fidelity"].isna().all()
    # The selection is the first 5 of the seeded order, and the params rows are the graphs' totals.
    chosen = select_archs(built, "tinychain", 5, 0)
    params = query("SELECT arch_id, params FROM archs", home=built).set_index("arch_id")["params"]
    got = scores[scores["metric"] == "zc_params"].set_index("arch_id")["value"]
    assert sorted(got.index) == sorted(chosen["arch_id"]) and (got == params[got.index]).all()
    assert sorted(Store(built).manifest().units) == ["tinychain", "tinychain/zc/random/s0/params",
                                                     "tinychain/zc/random/s0/snip", "tinychain/zc/random/s0/synflow"]


def test_rerun_is_idempotent_and_larger_limit_extends(built):
    run(built, limit=3)
    generation = Store(built).manifest().generation
    again = run(built, limit=3)
    assert (again.computed, again.already_done, again.units) == (0, 9, [])
    assert Store(built).manifest().generation == generation  # nothing committed
    more = run(built, limit=7)
    assert (more.computed, more.already_done) == (4, 9)
    df = rows(built)
    assert len(df) == 7 * 6 and not df.duplicated(["arch_id", "metric"]).any()
    # The first 3 kept their values (not recomputed); a smaller limit keeps everything computed.
    assert run(built, limit=2).computed == 0 and len(rows(built)) == 42


def test_a_new_proxy_adds_its_unit_without_touching_the_others(built):
    run(built, limit=4)
    before = rows(built)
    result = run(built, limit=4, proxies="snip,nwot")
    assert (result.computed, result.already_done) == (4, 4) and result.units == ["tinychain/zc/random/s0/nwot"]
    after = rows(built)
    assert len(after) == len(before) + 8
    assert after[after["metric"] != "zc_nwot"].merge(before).shape[0] == len(before)  # others unchanged


def test_killed_run_resumes_from_its_chunks(built, monkeypatch):
    class Killed(Exception):
        pass

    def die(done):
        if done >= 4:
            raise Killed

    with pytest.raises(Killed):
        run(built, limit=8, on_progress=die)
    # Finished chunks were committed on the way out, and nothing else.
    assert len(rows(built, "unit = 'score'")) == 4 * 3
    # A hard kill commits nothing: staged chunks alone must be enough to resume.
    monkeypatch.setattr(Store, "commit", lambda *a, **k: (_ for _ in ()).throw(Killed()))
    with pytest.raises(Killed):
        run(built, limit=8)
    monkeypatch.undo()
    result = run(built, limit=8)
    assert result.computed == 0 and result.already_done == 24 and len(result.units) == 3
    df = rows(built)
    assert len(df) == 8 * 6 and not df.duplicated(["arch_id", "metric"]).any()


def test_changed_options_replace_a_unit_instead_of_mixing(built):
    run(built, limit=4)
    old = rows(built, "metric = 'zc_snip'")
    result = run(built, limit=4, batch_size=6)
    assert sorted(result.replaced) == ["tinychain/zc/random/s0/params", "tinychain/zc/random/s0/snip",
                                       "tinychain/zc/random/s0/synflow"]
    assert result.replaced["tinychain/zc/random/s0/snip"] == ["batch_size", "data_digest"]
    new = rows(built, "metric = 'zc_snip'")
    assert len(new) == 4 and not (new["value"].to_numpy() == old["value"].to_numpy()).all()
    info = Store(built).manifest().info["tinychain/zc/random/s0/snip"]
    assert info["fingerprint"]["batch_size"] == 6 and info["archs"] == 4


def test_deleted_staging_is_restored_from_the_tables(built):
    run(built, limit=4)
    shutil.rmtree(built / "staging")
    result = run(built, limit=5)
    assert (result.computed, result.already_done) == (1, 12)
    assert len(rows(built, "unit = 'score'")) == 15


def test_concurrent_runs_commit_an_architecture_once(built):
    run(built, limit=4)
    staging = next((built / "staging").glob("zc-tinychain-random-s0-snip-*"))
    chunk = sorted(staging.glob("chunk-*.parquet"))[0]
    shutil.copy(chunk, staging / "chunk-from-another-run.parquet")  # what a parallel run would stage
    assert run(built, limit=5).computed == 1
    df = rows(built, "metric = 'zc_snip'")
    assert len(df) == 5 and df["arch_id"].is_unique


class Killed(Exception):
    pass


def shifted(monkeypatch, by=1000.0):
    """Make every score and time computed from now on ``by`` larger (to tell recomputed rows from old ones)."""
    original = pipeline.compute_chunk

    def compute_chunk(*args, **kwargs):
        out = original(*args, **kwargs)
        out["value"] = [v + by for v in out["value"]]
        out["seconds"] = [t + by for t in out["seconds"]]
        return out

    monkeypatch.setattr(pipeline, "compute_chunk", compute_chunk)


def scores(home, metric="zc_snip"):
    return rows(home, f"metric = '{metric}'").set_index("arch_id")["value"]


def test_recompute_replaces_the_selected_architectures_rows(built, monkeypatch):
    run(built, limit=4)
    old, old_times, params = scores(built), scores(built, "zc_snip_time"), rows(built, "metric LIKE 'zc_params%'")
    shifted(monkeypatch)
    result = run(built, limit=3, proxies="snip", recompute=True)
    assert (result.computed, result.already_done) == (3, 0)
    assert result.recomputed == result.units == ["tinychain/zc/random/s0/snip"] and result.pending == {}
    new, new_times = scores(built), scores(built, "zc_snip_time")
    first3 = select_archs(built, "tinychain", 3, 0)["arch_id"].tolist()
    fourth = sorted(set(old.index) - set(first3))
    # Score and time rows of the 3 are the new ones, the 4th keeps its old rows, one row each.
    assert sorted(new.index) == sorted(old.index) and not rows(built).duplicated(["arch_id", "metric"]).any()
    assert (new[first3] == old[first3] + 1000).all() and (new[fourth] == old[fourth]).all()
    assert (new_times[first3] >= 1000).all() and (new_times[fourth] == old_times[fourth]).all()
    assert rows(built, "metric LIKE 'zc_params%'").equals(params)  # other proxies untouched
    # Done is done: a plain re-run computes nothing and commits nothing; a second recompute recomputes.
    generation = Store(built).manifest().generation
    assert run(built, limit=4, proxies="snip").computed == 0 and Store(built).manifest().generation == generation
    shifted(monkeypatch)  # now 2000 larger than the first scores
    assert run(built, limit=4, proxies="snip", recompute=True).computed == 4
    assert np.allclose(scores(built), old + 2000, rtol=0, atol=1e-9)
    # Superseded staged chunks are gone; what is left is exactly the committed rows.
    staging = next((built / "staging").glob("zc-tinychain-random-s0-snip-*"))
    assert not (staging / pipeline.RECOMPUTE_MARK).exists()
    assert len(pipeline._read_staged(pipeline._staged_files(staging))) == 8
    assert len(list(staging.glob("*.parquet"))) == 2  # the last recompute's 2 chunks


def test_interrupted_recompute_keeps_the_old_rows_and_resumes(built, monkeypatch):
    run(built, limit=6)
    old = scores(built)
    shifted(monkeypatch)

    def die(done):
        if done >= 2:
            raise Killed

    with pytest.raises(Killed):  # killed after 2 of 6: nothing committed
        run(built, limit=6, proxies="snip", recompute=True, on_progress=die)
    assert scores(built).equals(old)
    # A plain run neither commits the unfinished recompute nor resumes it, and says it is pending.
    plain = run(built, limit=6, proxies="snip")
    assert plain.computed == 0 and plain.pending == {"tinychain/zc/random/s0/snip": 2} and scores(built).equals(old)
    # The same command resumes: only the other 4 are computed.
    again = run(built, limit=6, proxies="snip", recompute=True)
    assert (again.computed, again.already_done) == (4, 2) and again.recomputed == ["tinychain/zc/random/s0/snip"]
    assert (scores(built) == old + 1000).all() and len(rows(built)) == 6 * 6


def test_recompute_killed_at_the_commit_is_committed_by_the_next_run(built, monkeypatch):
    run(built, limit=4, proxies="snip")
    old = scores(built)
    shifted(monkeypatch)
    monkeypatch.setattr(Store, "commit", lambda *a, **k: (_ for _ in ()).throw(Killed()))
    with pytest.raises(Killed):  # all recomputed, then killed before the manifest swap
        run(built, limit=4, proxies="snip", recompute=True)
    monkeypatch.undo()
    assert scores(built).equals(old)  # the old rows, not neither
    result = run(built, limit=4, proxies="snip")
    assert result.computed == 0 and result.units == ["tinychain/zc/random/s0/snip"] and result.pending == {}
    assert len(rows(built)) == 8 and (scores(built) == old + 1000).all()


def test_a_new_definition_version_replaces_stale_scores_once_complete(built, monkeypatch):
    import dataclasses

    from archbench.predictors.zero_cost import PROXIES, get_proxy

    run(built, limit=4, proxies="snip")
    old = scores(built)
    info = Store(built).manifest().info["tinychain/zc/random/s0/snip"]
    assert "definition" not in info["fingerprint"]  # version 1 is implicit (fingerprints from before versions)
    monkeypatch.setitem(PROXIES._entries, "snip", dataclasses.replace(get_proxy("snip"), version=2))
    shifted(monkeypatch)

    def die(done):
        if done >= 2:
            raise Killed

    with pytest.raises(Killed):
        run(built, limit=4, proxies="snip", on_progress=die)
    assert scores(built).equals(old)  # stale rows stay until the new definition covers the selection
    result = run(built, limit=4, proxies="snip")
    assert (result.computed, result.already_done) == (2, 2)
    assert result.replaced == {"tinychain/zc/random/s0/snip": ["definition"]}
    assert (scores(built) == old + 1000).all() and len(rows(built)) == 8
    assert Store(built).manifest().info["tinychain/zc/random/s0/snip"]["fingerprint"]["definition"] == 2


def test_errors_name_the_problem(home, built):
    with pytest.raises(ArchbenchError, match="no 'nb201' architectures in the data home .*archbench build nb201"):
        run_proxies("nb201", "snip", home=home)
    with pytest.raises(ArchbenchError, match="unknown zero-cost proxy 'synflw'"):
        run(built, proxies="snip,synflw")
    with pytest.raises(ArchbenchError, match="--limit must be a positive"):
        run(built, limit=0)


def test_cli_proxies_command(built, capsys, tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    np.savez(tmp_path / "imgs.npz", x=rng.integers(0, 256, (10, 8, 8, 3), dtype=np.uint8), y=rng.integers(0, 4, 10))
    argv = ["proxies", "tinychain", "--proxies", "jacob_cov,params", "--limit", "3", "--batch-size", "5", "--quiet",
            "--data", f"mydata={tmp_path / 'imgs.npz'}"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "tinychain: 3 architectures x 2 proxies (data mydata, seed 0)" in out and "committed: tinychain/zc" in out
    assert main(argv) == 0
    assert "committed: nothing new" in capsys.readouterr().out
    assert main(argv + ["--recompute"]) == 0
    out = capsys.readouterr().out
    assert "computed 3 architectures" in out and "recomputed tinychain/zc/mydata/s0/jacob_cov" in out
    assert set(rows(built)["dataset"]) == {"mydata"}
    assert main(argv[:-2] + ["--data", "x.csv"]) == 2
    assert "--data must be 'random'" in capsys.readouterr().err
    assert main(argv + ["--workers", "2", "--scheduler", "tcp://x:1"]) == 2


@pytest.mark.slow
def test_dask_cluster_with_two_workers_matches_a_serial_run(tmp_path):
    """Same arguments, a serial run and a local 2-worker Dask cluster: bit-identical scores."""
    homes = [tmp_path / "serial", tmp_path / "dask"]
    for h in homes:
        build("nb201", home=h, sources=[], workers=1, limit=3, progress=False)
    args = dict(proxies="synflow,snip,nwot,jacob_cov,params", batch_size=4, chunk_size=1, progress=False)
    serial = run_proxies("nb201", home=homes[0], **args)
    dask = run_proxies("nb201", home=homes[1], workers=2, **args)
    assert serial.computed == dask.computed == 3
    a, b = (rows(h, "unit = 'score'") for h in homes)
    assert len(a) == 15 and a[["arch_id", "metric", "value"]].equals(b[["arch_id", "metric", "value"]])
