"""BRP-NAS latency reader: synthetic pickles of numpy scalars, bad inputs, and the empirical mapping."""
from __future__ import annotations

import itertools
import os
import pickle

import numpy as np
import pytest
from scipy.stats import spearmanr

from archbench.benchmarks import get_reader
from archbench.benchmarks.base import check_reader_frame
from archbench.benchmarks.brp_nas import BRP_NAS_EDGES, BRP_NAS_OPS
from archbench.errors import DataFormatError, UnsafePickleError
from archbench.graphs.spaces.nb201 import EDGES, NB201_OPS, format_arch_str, index_to_arch, parse_arch_str


def _read(tmp_path, data: bytes):
    path = tmp_path / "brp.pkl"
    path.write_bytes(data)
    return get_reader("brp_nas").read(path=path)


def test_synthetic_rows(synthetic):
    frame = get_reader("brp_nas").read(path=synthetic("brp_nas"))
    got = dict(zip(frame["arch"], frame["value"]))
    assert got == pytest.approx({
        "|none~0|+|none~0|none~1|+|nor_conv_1x1~0|nor_conv_1x1~1|avg_pool_3x3~2|": 1.5,
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|": 9.5,
        "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|": 1.0,
    })
    assert set(frame["unit"]) == {"ms"} and set(frame["device"]) == {"i7_7820x"} and set(frame["metric"]) == {"latency"}


def test_numpy_1x_pickles_and_plain_floats(tmp_path):
    data = pickle.dumps({(3, 3, 3, 3, 3, 3): np.float64(0.002), (1,) * 6: 0.001}, protocol=3)
    frame = _read(tmp_path, data.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    assert sorted(frame["value"]) == pytest.approx([1.0, 2.0])


def test_nan_latency_is_dropped(tmp_path):
    frame = _read(tmp_path, pickle.dumps({(3,) * 6: np.float64("nan"), (1,) * 6: np.float64(0.001)}, protocol=3))
    assert len(frame) == 1


class _Evil:
    def __init__(self, sentinel):
        self.sentinel = str(sentinel)

    def __reduce__(self):
        return (os.system, (f"touch {self.sentinel}",))


def test_malicious_pickle_is_refused(tmp_path):
    sentinel = tmp_path / "pwned"
    with pytest.raises(UnsafePickleError, match="numpy.dtype") as err:
        _read(tmp_path, pickle.dumps({(0,) * 6: _Evil(sentinel)}, protocol=3))
    assert "system" in str(err.value)
    assert not sentinel.exists()


def test_truncated_pickle(tmp_path):
    data = pickle.dumps({k: np.float64(0.001) for k in itertools.islice(itertools.product(range(5), repeat=6), 100)}, protocol=3)
    with pytest.raises(DataFormatError, match="truncated|corrupt|ends early"):
        _read(tmp_path, data[: len(data) - 7])


@pytest.mark.parametrize("data, message", [
    ({(0, 1, 2, 3, 4): 0.001}, "6-tuples of op codes"),
    ({(0, 1, 2, 3, 4, 9): 0.001}, "6-tuples of op codes"),
    ({"|none~0|+|none~0|none~1|+|none~0|none~1|none~2|": 0.001}, "6-tuples of op codes"),
    ({(0,) * 6: "fast"}, "number of seconds, found str"),
    ({(0,) * 6: -0.001}, "non-negative"),
    ([0.001], "found a pickled list"),
])
def test_bad_contents(tmp_path, data, message):
    with pytest.raises(DataFormatError, match=message):
        _read(tmp_path, pickle.dumps(data, protocol=3))


# --- the empirical mapping ------------------------------------------------------------------------

def _live_edges(arch: tuple[str, ...]) -> list[bool]:
    """Which edges lie on an input->output path of non-none edges (what a pruned TF graph runs)."""
    on = [op != "none" for op in arch]
    forward = {0}
    for t in (1, 2, 3):
        if any(on[e] and s in forward for e, (s, d) in enumerate(EDGES) if d == t):
            forward.add(t)
    backward = {3}
    for t in (2, 1, 0):
        if any(on[e] and d in backward for e, (s, d) in enumerate(EDGES) if s == t):
            backward.add(t)
    return [on[e] and s in forward and d in backward for e, (s, d) in enumerate(EDGES)]


def _fit(features: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    x = np.c_[np.ones(len(features)), features]
    coef = np.linalg.lstsq(x, y, rcond=None)[0]
    return coef, 1 - np.var(y - x @ coef) / np.var(y)


def _swap(arch_str: str, a: str, b: str) -> str:
    return format_arch_str(tuple(b if op == a else a if op == b else op for op in parse_arch_str(arch_str)))


def test_tables_are_the_official_order():
    assert tuple(BRP_NAS_OPS[c] for c in range(5)) == NB201_OPS and BRP_NAS_EDGES == EDGES


@pytest.mark.realdata
def test_mapping_on_real_data(shared_data):
    """Fails if BRP_NAS_OPS / BRP_NAS_EDGES are wrong (up to the cell's mirror symmetry, see brp_nas.py)."""
    reader = get_reader("brp_nas")
    frame = reader.read(data_dir=shared_data)
    check_reader_frame(frame, reader)
    assert len(frame) == frame["arch"].nunique() == reader.num_archs == 15_284
    latency = dict(zip(frame["arch"], frame["value"]))
    assert 0.5 < min(latency.values()) and max(latency.values()) < 20  # ms (1.0-9.5 ms per forward pass)

    # 1. The absent cells are exactly those whose input->output path is cut by 'none' edges.
    every = [index_to_arch(i) for i in range(15_625)]
    disconnected = {format_arch_str(a) for a in every if not any(_live_edges(a))}
    absent = {format_arch_str(a) for a in every} - set(latency)
    assert len(absent) == 341 and absent == disconnected

    # 2. Latency is additive over live edges: identity skip is free, conv3x3 dearest, conv1x1 < pool.
    archs = [parse_arch_str(a) for a in latency]
    y = np.array(list(latency.values()))
    live = np.array([[sum(l and op == name for l, op in zip(_live_edges(a), a)) for name in NB201_OPS[1:]] for a in archs])
    every_edge = np.array([[a.count(name) for name in NB201_OPS[1:]] for a in archs])
    coef, r2_live = _fit(live, y)
    _, r2_all = _fit(every_edge, y)
    cost = dict(zip(NB201_OPS[1:], coef[1:]))
    assert r2_live > 0.8 and r2_live > r2_all + 0.1
    assert abs(cost["skip_connect"]) < 0.05 * cost["nor_conv_1x1"]
    assert cost["nor_conv_1x1"] < 0.5 * cost["nor_conv_3x3"] and cost["nor_conv_1x1"] < cost["avg_pool_3x3"]
    assert cost["nor_conv_3x3"] == max(cost.values())

    # 3. Another TF-family runtime (HW-NAS-Bench's TFLite Pixel 3, in HELP's folder) prefers this
    #    mapping to the one with conv1x1 and avg_pool swapped.
    pixel3 = get_reader("help_latency").read(path=shared_data / "nb201" / "help_latency" / "pixel3.pt")
    pixel3 = dict(zip(pixel3["arch"], pixel3["value"]))
    keys = list(latency)
    rho = spearmanr(y, [pixel3[a] for a in keys]).statistic
    rho_swapped = spearmanr(y, [pixel3[_swap(a, "nor_conv_1x1", "avg_pool_3x3")] for a in keys]).statistic

    # Mirror symmetry (why the edge order is fixed by BRP-NAS's code, not by the data).
    mirror = {e: EDGES.index((3 - d, 3 - s)) for e, (s, d) in enumerate(EDGES)}
    pairs = [(latency[k], latency[m]) for k, m in
             ((k, format_arch_str(tuple(parse_arch_str(k)[mirror[e]] for e in range(6)))) for k in keys)
             if m in latency and m != k]
    rho_mirror = spearmanr(*zip(*pairs)).statistic
    print(f"\nBRP-NAS: {len(absent)} absent cells == disconnected cells; live-edge fit R2 {r2_live:.3f} "
          f"(all edges {r2_all:.3f}); ms per live edge {({k: round(float(v), 3) for k, v in cost.items()})}; "
          f"Spearman vs HELP pixel3 {rho:.3f} (conv1x1<->pool swapped {rho_swapped:.3f}); "
          f"cell vs mirror Spearman {rho_mirror:.3f} over {len(pairs)} pairs")
    assert rho > 0.65 and rho > rho_swapped + 0.03


@pytest.mark.realdata
def test_only_string_order_or_its_mirror_explains_the_absent_cells(shared_data):
    """Among all 5 none-codes x 720 edge orders, only ours and its mirror give 0 mismatches."""
    from archbench.benchmarks.unpickle import NUMPY_SCALAR_GLOBALS, restricted_load

    raw = restricted_load(shared_data / get_reader("brp_nas").default_relpath, NUMPY_SCALAR_GLOBALS)
    codes = np.array(list(itertools.product(range(5), repeat=6)))
    powers = 5 ** np.arange(6)
    present = np.zeros(5 ** 6, bool)
    present[(np.array(list(raw)) * powers).sum(1)] = True
    present = present[(codes * powers).sum(1)]
    results = {}
    for none_code in range(5):
        for order in itertools.permutations(range(6)):
            official = np.empty_like(codes)
            official[:, list(order)] = codes          # tuple position j holds official edge order[j]
            on = official != none_code
            reach = {0: np.ones(len(codes), bool)}
            for t in (1, 2, 3):
                reach[t] = np.any([reach[s] & on[:, e] for e, (s, d) in enumerate(EDGES) if d == t], axis=0)
            results[(none_code, order)] = int((reach[3] != present).sum())
    perfect = sorted(k for k, v in results.items() if v == 0)
    assert perfect == [(0, (0, 1, 2, 3, 4, 5)), (0, (5, 4, 2, 3, 1, 0))]
    assert min(v for k, v in results.items() if k not in perfect) >= 100
