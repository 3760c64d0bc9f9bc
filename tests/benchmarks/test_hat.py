"""HAT's latency CSVs (archbench.benchmarks.hat): synthetic files always, the 8 real files when present."""
from __future__ import annotations

import pytest

from archbench.benchmarks import get_reader
from archbench.benchmarks.base import check_reader_frame
from archbench.errors import DataFormatError
from archbench.graphs.spaces import get_space

ROW = "512,6,1877.3333333333333,6.0,640,3,1706.6666666666667,6.0,2.6666666666666665,1.3333333333333333"


def test_synthetic_folder_gives_task_device_and_summed_latency(synthetic):
    reader = get_reader("hat")
    frame = reader.read(path=synthetic("hat"))
    check_reader_frame(frame, reader)
    assert set(zip(frame["dataset"], frame["device"])) == {("wmt14ende", "raspberrypi"), ("iwslt14deen", "titanxp")}
    assert (frame["unit"] == "ms").all() and frame["fidelity"].isna().all() and frame["seed"].isna().all()
    first = frame[frame["arch"] == ROW].set_index("metric")["value"]
    assert first["latency"] == pytest.approx(1990.5 + 5932.5)
    assert first["latency_encoder"] == 1990.5 and first["latency_std_decoder"] == 45.8
    # the row with a missing decoder latency keeps its encoder numbers only
    second = frame[frame["arch"].str.startswith("640,6,512.0")]
    assert set(second["metric"]) == {"latency_encoder", "latency_std_encoder", "latency_std_decoder"}
    space = get_space("hat")
    rep = space.parse(ROW)
    assert rep.encoder_ffn == (2048,) * 5 + (1024,)
    assert {space.parse(a).decoder_layers for a in frame["arch"]} == {3, 1, 6, 4}


def test_one_file_can_be_read_alone(synthetic):
    folder = synthetic("hat")
    frame = get_reader("hat").read(path=folder / "iwslt14deen_gpu_titanxp_all.csv")
    assert len(frame) == 5 and set(frame["dataset"]) == {"iwslt14deen"}


@pytest.mark.parametrize("edit, match", [
    (lambda text: text.replace("decoder_arbitrary_ende_attn_avg", "decoder_attn"), "lacks column"),
    (lambda text: text.replace("512,6,3072.0", "768,6,3072.0"), "row 4 is not a HAT SubTransformer.*encoder_embed_dim"),
    (lambda text: text.replace("2.0,2.0,1.0,2500.0", "2.0,2.0,1.7,2500.0"), "row 4 .*not a whole sum"),
    (lambda text: text.replace("2302.6,,136.5", "2302.6,-3,136.5"), "non-negative"),
    (lambda text: text.replace("1990.5", "fast"), "numbers in every column"),
    (lambda text: text.split("\n")[0] + "\n", "no rows"),
])
def test_malformed_files_are_refused(synthetic, edit, match):
    path = synthetic("hat") / "wmt14ende_cpu_raspberrypi_all.csv"
    path.write_text(edit(path.read_text()))
    with pytest.raises(DataFormatError, match=match):
        get_reader("hat").read(path=path)


def test_wrong_file_names_are_refused(synthetic, tmp_path):
    path = synthetic("hat") / "wmt14ende_cpu_raspberrypi_all.csv"
    renamed = path.rename(path.with_name("wmt16ende_cpu_raspberrypi_all.csv"))
    with pytest.raises(DataFormatError, match="task wmt14ende, wmt14enfr, wmt19ende or iwslt14deen"):
        get_reader("hat").read(path=renamed)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match="no file named like"):
        get_reader("hat").read(path=tmp_path / "empty")


def test_build_puts_each_task_on_its_own_graphs(synthetic, home):
    from archbench.datasets.build import build_configs

    results = build_configs("hat", sources=[f"hat={synthetic('hat')}"], home=home, workers=1, progress=False)
    by_config = {r.config: r for r in results}
    assert set(by_config) == {"wmt14ende", "iwslt14deen"}
    assert by_config["wmt14ende"].archs == 3 and by_config["iwslt14deen"].archs == 1
    assert by_config["wmt14ende"].metrics_rows["hat"] == 13 and by_config["iwslt14deen"].metrics_rows["hat"] == 5


@pytest.mark.realdata
def test_real_files(shared_data):
    reader = get_reader("hat")
    frame = reader.read(data_dir=shared_data)
    check_reader_frame(frame, reader)
    assert len(frame) == 8 * 2000 * 5  # no missing value in the published files
    pairs = frame.groupby(["dataset", "device"]).size()
    assert sorted(pairs.index) == [("iwslt14deen", "titanxp"), ("wmt14ende", "raspberrypi"), ("wmt14ende", "titanxp"),
                                   ("wmt14ende", "xeon"), ("wmt14enfr", "raspberrypi"), ("wmt14enfr", "titanxp"),
                                   ("wmt14enfr", "xeon"), ("wmt19ende", "titanxp")]
    total = frame[frame["metric"] == "latency"].groupby("device")["value"]
    # milliseconds, in the ranges of HAT's README (Raspberry Pi 3.5-9.1 s, Xeon 138-451 ms, TITAN Xp 46-238 ms
    # for its searched models; the random samples here spread wider)
    assert 1_000 < total.median()["raspberrypi"] < 15_000
    assert 50 < total.median()["xeon"] < 1_000 and 20 < total.median()["titanxp"] < 500
    space = get_space("hat")
    assert {space.parse(a).decoder_layers for a in frame["arch"].unique()} == set(range(1, 7))
