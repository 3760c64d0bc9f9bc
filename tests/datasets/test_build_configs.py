"""Several network configs of one space in one data home: keys, units, label routing, rebuilds."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from archbench.benchmarks import list_readers
from archbench.benchmarks.base import DIMENSIONLESS, READERS, BenchmarkReader, concat_rows, metric_rows
from archbench.cli import main
from archbench.datasets.build import build, build_configs, stale_units
from archbench.datasets.catalog import compare_spaces, connect, query
from archbench.datasets.store import Store, unit_space, write_parquet
from archbench.datasets.views import load_graphs
from archbench.errors import ArchbenchError
from archbench.graphs.spaces import SPACES, NetworkConfig, get_space

SPACE = "tinyconfigs"
ENCODINGS = [f"{a}-{b}-{c}-{s}" for a in (1, 3) for b in (1, 3) for c in (1, 3) for s in ("plain", "skip")]


class TwoConfigSpace(type(get_space("tinychain"))):
    """The tinychain test space with a second network config: other input channels and classes."""

    name = SPACE
    configs = {"tiny": NetworkConfig("tiny", (3, 8, 8), 4), "wide": NetworkConfig("wide", (5, 8, 8), 9)}


class _FakeReader(BenchmarkReader):
    """Labels ``params`` of the networks it "measured": config -> encodings (params from that config's graph)."""

    space = SPACE
    provides = ("params",)
    measured_on: dict[str, list[str]] = {}

    def _package_file(self) -> Path:
        return Path(__file__)  # stands for installed package data

    def _read(self, path: Path):
        sp = TwoConfigSpace()
        return concat_rows(
            metric_rows(source=self.name, space=SPACE, arch=np.array(encs, dtype=object), dataset=config,
                        metric="params", value=np.array([sp.build_cg(sp.parse(e), config).params for e in encs], float),
                        unit=DIMENSIONLESS)
            for config, encs in self.measured_on.items())


class FakeDefault(_FakeReader):
    name = "fake_tiny"
    measured_on = {"tiny": ENCODINGS[:6]}


class FakeWide(_FakeReader):
    name = "fake_wide"
    config = "wide"
    measured_on = {"wide": ENCODINGS[4:9]}


class FakePerRow(_FakeReader):
    name = "fake_rows"
    config_column = "dataset"
    measured_on = {"tiny": ENCODINGS[:4], "wide": ENCODINGS[10:13]}


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    list_readers()  # load the real readers first, so ours are added, not replaced
    monkeypatch.setitem(SPACES._entries, SPACE, TwoConfigSpace)
    for cls in (FakeDefault, FakeWide, FakePerRow):
        monkeypatch.setitem(READERS._entries, cls.name, cls)


def _labels_on_graphs(home) -> list:
    """Every params label with the config and params of the graph its arch_id joins to."""
    return query("SELECT m.source, m.dataset, m.value, a.config, a.params FROM metrics m JOIN archs a USING (arch_id) "
                 "WHERE m.space = ? ORDER BY ALL", [SPACE], home=home).values.tolist()


def test_two_configs_coexist_and_labels_land_on_their_networks(home):
    tiny = build(SPACE, home=home, config="tiny", sources=["fake_tiny"], workers=1, progress=False)
    wide = build(SPACE, home=home, config="wide", sources=["fake_wide"], workers=1, progress=False)
    assert (tiny.tag, wide.tag) == (SPACE, f"{SPACE}@wide") and tiny.archs == wide.archs == 16
    archs = query("SELECT arch_id, encoding, config FROM archs", home=home)
    assert archs["config"].value_counts().to_dict() == {"tiny": 16, "wide": 16} and archs["arch_id"].is_unique
    sp = get_space(SPACE)
    key = sp.arch_key(sp.parse(ENCODINGS[0]))
    assert {f"{SPACE}:{key}", f"{SPACE}@wide:{key}"} <= set(archs["arch_id"])
    assert all(aid == sp.arch_id(sp.parse(enc), config) for aid, enc, config in archs.values)
    # Each label's arch_id joins to the graph of the network it was measured on: same params exactly.
    rows = _labels_on_graphs(home)
    assert len(rows) == 6 + 5
    assert all(value == params and config == dataset for _, dataset, value, config, params in rows)
    # The two configs really differ (5 input channels, 9 classes), so a mix-up could not pass.
    assert sp.build_cg(sp.parse(ENCODINGS[5]), "wide").params != sp.build_cg(sp.parse(ENCODINGS[5]), "tiny").params
    assert set(Store(home).manifest().units) == {SPACE, f"{SPACE}/fake_tiny", f"{SPACE}@wide", f"{SPACE}@wide/fake_wide"}


def test_rebuilding_one_config_keeps_the_other(home):
    build(SPACE, home=home, config="wide", sources=["fake_wide"], workers=1, progress=False)
    build(SPACE, home=home, config="tiny", sources=["fake_tiny"], workers=1, progress=False)
    before = query("SELECT * FROM archs WHERE config = 'wide' ORDER BY arch_id", home=home)
    build(SPACE, home=home, config="tiny", sources=[], limit=5, workers=1, progress=False)
    assert query("SELECT * FROM archs WHERE config = 'wide' ORDER BY arch_id", home=home).equals(before)
    assert query("SELECT config, count(*) AS n FROM archs GROUP BY ALL ORDER BY ALL", home=home).values.tolist() == [
        ["tiny", 5], ["wide", 16]]
    # The wide labels are untouched; the tiny source was not read this time, so its rows are kept.
    assert query("SELECT source, count(*) AS n FROM metrics GROUP BY ALL ORDER BY ALL", home=home).values.tolist() == [
        ["fake_tiny", 6], ["fake_wide", 5]]
    # Graph loading by space sees both configs.
    graphs = load_graphs(home, space=SPACE)
    assert sorted(set(graphs.config)) == ["tiny", "wide"] and len(graphs) == 21
    assert Store(home).read_table("archs", filter_space=SPACE).num_rows == 21


def test_per_row_configs_build_every_labelled_config_from_one_read(home):
    results = build_configs(SPACE, home=home, sources=["fake_rows"], workers=1, progress=False)
    assert [(r.config, r.metrics_rows) for r in results] == [("tiny", {"fake_rows": 4}), ("wide", {"fake_rows": 3})]
    rows = _labels_on_graphs(home)
    assert len(rows) == 7 and all(value == params and config == dataset for _, dataset, value, config, params in rows)
    with connect(home) as con:
        table = compare_spaces(con)
    mine = table[table["space"] == SPACE]
    assert mine[["config", "task", "archs"]].values.tolist() == [
        ["tiny", "(all)", 16], ["tiny", "tiny", 4], ["wide", "(all)", 16], ["wide", "wide", 3]]


def test_default_sources_are_routed_by_config(home):
    # No --source: every found source of the space is read, each one's rows go to its own config.
    results = build_configs(SPACE, home=home, workers=1, progress=False)
    assert {r.config: r.metrics_rows for r in results} == {
        "tiny": {"fake_rows": 4, "fake_tiny": 6}, "wide": {"fake_rows": 3, "fake_wide": 5}}
    # One config asked for: sources measured on the other network are not even read.
    only = build(SPACE, home=home, config="wide", workers=1, progress=False)
    assert only.metrics_rows == {"fake_rows": 3, "fake_wide": 5}


def test_a_named_source_without_labels_for_the_config_says_which_it_has(home):
    with pytest.raises(ArchbenchError, match=r"'fake_wide' has labels for network config\(s\) \['wide'\].*"
                                             r"none for \['tiny'\]; build with --config wide"):
        build(SPACE, home=home, config="tiny", sources=["fake_wide"], workers=1, progress=False)
    assert not Store(home).manifest().units  # nothing was committed


def test_units_left_by_a_v1_build_on_the_wrong_config_are_dropped(home):
    build(SPACE, home=home, config="tiny", sources=[], workers=1, progress=False)
    # A schema-v1 build put fake_wide's labels on the default config: unit "tinyconfigs/fake_wide".
    store = Store(home)
    table = pa.table({"arch_id": [f"{SPACE}:x"], "space": [SPACE], "source": ["fake_wide"], "dataset": ["wide"],
                      "metric": ["params"], "fidelity": [None], "device": [None], "value": [1.0], "unit": ["1"],
                      "seed": pa.array([None], pa.int64())})
    path = write_parquet(table, "metrics", store.staging_dir("v1") / "m.parquet")
    with store.writer_lock():
        store.commit({f"{SPACE}/fake_wide": {"metrics": [path]}})
    assert stale_units(get_space(SPACE), list(store.manifest().units)) == [f"{SPACE}/fake_wide"]
    build(SPACE, home=home, config="wide", sources=["fake_wide"], workers=1, progress=False)
    units = set(store.manifest().units)
    assert f"{SPACE}/fake_wide" not in units and f"{SPACE}@wide/fake_wide" in units
    assert query("SELECT count(*) AS n FROM metrics WHERE arch_id = ?", [f"{SPACE}:x"], home=home)["n"][0] == 0
    assert json.loads((home / "manifest.json").read_text())["schema_version"] == 2


def test_unit_space():
    assert unit_space("darts") == unit_space("darts@pt_darts") == "darts"
    assert unit_space("darts@pt_darts/darts_antoyang_random") == unit_space("darts/darts_naslib_zc") == "darts"
    assert unit_space("nb201/zc/cifar10/s0/snip") == "nb201"


def test_cli_builds_every_labelled_config_or_the_ones_named(home, capsys):
    assert main(["build", SPACE, "--source", "fake_rows", "--workers", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"built 16 {SPACE} architectures (tiny)" in out and f"built 16 {SPACE} architectures (wide)" in out
    assert main(["build", SPACE, "--config", "wide", "--limit", "3", "--workers", "1", "--quiet"]) == 0
    assert query("SELECT config, count(*) AS n FROM archs GROUP BY ALL ORDER BY ALL", home=home).values.tolist() == [
        ["tiny", 16], ["wide", 3]]
    assert main(["build", SPACE, "--config", "wide", "--config", "tiny", "--source", "fake_rows", "--workers", "1",
                 "--quiet"]) == 0
    assert query("SELECT config, count(*) AS n FROM archs GROUP BY ALL ORDER BY ALL", home=home).values.tolist() == [
        ["tiny", 16], ["wide", 16]]


# ---- the real benchmarks ------------------------------------------------------------------------

@pytest.mark.realdata
def test_darts_benchmarks_land_on_the_networks_they_trained(shared_data, home):
    folder = shared_data / "darts_nb301"
    sources = [f"darts_oncenas={folder / 'oncenas' / 'data-545.csv'}", f"darts_antoyang_random={folder / 'antoyang_random'}"]
    results = build_configs("darts", home=home, sources=sources, limit=60, workers=1, progress=False)
    # OnceNAS trained the DARTS paper's network (C=36, 20 cells); Yang et al. pt.darts' AugmentCNN.
    assert [(r.tag, r.config) for r in results] == [("darts@darts", "darts"), ("darts@pt_darts", "pt_darts")]
    on = query("SELECT m.source, a.config, a.arch_id, a.params, m.value FROM metrics m JOIN archs a USING (arch_id) "
               "WHERE m.metric = 'params' OR m.metric = 'best_test_accuracy'", home=home)
    assert set(map(tuple, on[["source", "config"]].drop_duplicates().values)) == {
        ("darts_oncenas", "darts"), ("darts_antoyang_random", "pt_darts")}
    assert on["arch_id"].str.startswith("darts@darts:").sum() >= 60  # OnceNAS rows of the 60 archs built
    # OnceNAS's own params column (millions, 6 decimals = exact counts) equals its graphs' params exactly;
    # the NB301 network (C=32, 8 cells) of the same genotypes is 2 M parameters smaller on average.
    once = on[on["source"] == "darts_oncenas"]
    assert (once["params"] - once["value"]).abs().max() < 0.5
    sp = get_space("darts")
    enc = query("SELECT encoding FROM archs WHERE config = 'darts' LIMIT 1", home=home)["encoding"][0]
    assert sp.build_cg(enc, "nb301").params < sp.build_cg(enc, "darts").params - 500_000
    # The NB301 config was not built, and a NB301 build refuses a source that measured another network.
    assert set(Store(home).manifest().units) == {"darts@darts", "darts@darts/darts_oncenas", "darts@pt_darts",
                                                 "darts@pt_darts/darts_antoyang_random"}
    with pytest.raises(ArchbenchError, match=r"build with --config darts"):
        build("darts", home=home, config="nb301", sources=sources[:1], workers=1, progress=False)


@pytest.mark.package_data
def test_nasbench_graph_datasets_are_configs_side_by_side(home):
    from archbench.benchmarks.base import package_data_path
    from archbench.graphs.spaces.nasbench_graph import DATASETS, unused_norms

    light = package_data_path("nasbench_graph", "nas_bench_graph", "nas-bench-graph", "light")
    first = build("nasbench_graph", home=home, config="cora", sources=[f"nasbench_graph={light / 'cora.bench'}"],
                  limit=30, workers=1, progress=False)
    second = build("nasbench_graph", home=home, config="citeseer", limit=30, workers=1, progress=False,
                   sources=[f"nasbench_graph={light / 'citeseer.bench'}"])
    assert (first.tag, second.tag) == ("nasbench_graph", "nasbench_graph@citeseer")
    rows = query("SELECT a.config, a.encoding, a.params, m.dataset, m.value FROM metrics m JOIN archs a USING (arch_id) "
                 "WHERE m.metric = 'params'", home=home)
    assert rows.groupby("config")["dataset"].agg(set).to_dict() == {"cora": {"cora"}, "citeseer": {"citeseer"}}
    assert len(rows) == 60
    # The benchmark's 'para' counts the batch norms its network allocates but never uses; apart from
    # those, every label equals the params of the graph it joins to (cora: 1,433 input features,
    # citeseer: 3,703, so a label on the other dataset's graph would be off by ~0.6 M).
    sp = get_space("nasbench_graph")
    for config, enc, params, _, value in rows.values:
        arch = sp.parse(enc)
        assert abs(params - (value - 2 * DATASETS[config].hidden * unused_norms(arch, config))) < 0.5, (config, enc)


def test_search_oracle_reads_one_config(home):
    from archbench.eval.search import TabularOracle

    build(SPACE, home=home, config="tiny", sources=["fake_tiny"], workers=1, progress=False)
    build(SPACE, home=home, config="wide", sources=["fake_wide"], workers=1, progress=False)
    sp = get_space(SPACE)
    wide = TabularOracle.from_tables(SPACE, "fake_wide/params", home=home, config="wide")
    tiny = TabularOracle.from_tables(SPACE, "fake_tiny/params", home=home)
    assert (len(wide), len(tiny)) == (5, 6) and (wide.config, tiny.config) == ("wide", "tiny")
    # Graph totals come from the config's own graphs too.
    totals = TabularOracle.from_tables(SPACE, "params", home=home, config="wide")
    assert len(totals) == 16 and totals.lookup([sp.parse(ENCODINGS[0])])[0, 0] == sp.build_cg(sp.parse(ENCODINGS[0]), "wide").params
    for enc in ENCODINGS[4:6]:  # labelled on both networks: each oracle answers with its own network's params
        arch = sp.parse(enc)
        assert wide.lookup([arch])[0, 0] == sp.build_cg(arch, "wide").params
        assert tiny.lookup([arch])[0, 0] == sp.build_cg(arch, "tiny").params
    with pytest.raises(ArchbenchError, match=r"no 'tinyconfigs' \(network config 'wide'\) labels match"):
        TabularOracle.from_tables(SPACE, "fake_tiny/params", home=home, config="wide")
    # `archbench search --config wide` scores architectures by the wide network's values.
    assert main(["search", SPACE, "--objective", "params:min", "--config", "wide", "--budget", "4",
                 "--optimizer", "random", "--home", str(home), "--output", str(home / "run.parquet")]) == 0
    run = pd.read_parquet(home / "run.parquet")
    assert len(run) == 4
    assert all(v == sp.build_cg(sp.parse(a), "wide").params for a, v in zip(run["arch"], run["value"]))
    assert run["arch_id"].str.startswith(f"{SPACE}@wide:").all()
