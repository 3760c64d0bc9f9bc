"""The restricted unpickler: allowed globals resolve to stand-ins, anything else is refused unexecuted."""
from __future__ import annotations

import io
import os
import pickle
import subprocess

import numpy as np
import pytest

from archbench.benchmarks.unpickle import NUMPY_SCALAR_GLOBALS, Record, restricted_load
from archbench.errors import DataFormatError, UnsafePickleError


class _Touch:
    """Unpickling this calls os.system to create a sentinel file (the classic pickle exploit)."""

    def __init__(self, sentinel):
        self.sentinel = str(sentinel)

    def __reduce__(self):
        return (os.system, (f"touch {self.sentinel}",))


class _Popen:
    def __init__(self, sentinel):
        self.sentinel = str(sentinel)

    def __reduce__(self):
        return (subprocess.Popen, (["touch", self.sentinel],))


class Point(Record):
    pass


def test_plain_containers_need_no_globals():
    data = {(0, 1, 2): [1.5, "a", None, True], "k": (b"x", 2 ** 70)}
    assert restricted_load(pickle.dumps(data, protocol=4), {}) == data


@pytest.mark.parametrize("make", [_Touch, _Popen])
@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_malicious_reduce_is_refused_without_running(tmp_path, make, protocol):
    sentinel = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps({"payload": make(sentinel)}, protocol=protocol))
    with pytest.raises(UnsafePickleError) as err:
        restricted_load(path, {("numpy", "dtype"): object})
    message = str(err.value)
    assert "refused" in message and ("system" in message or "Popen" in message)
    assert "numpy.dtype" in message  # names what is allowed
    assert not sentinel.exists()


def test_handwritten_global_os_system_is_refused(tmp_path):
    sentinel = tmp_path / "pwned"
    # protocol-0 program: GLOBAL 'os system', push the command, TUPLE1, REDUCE, STOP
    evil = b"cos\nsystem\n(S'touch " + str(sentinel).encode() + b"'\ntR."
    with pytest.raises(UnsafePickleError, match=r"os\.system"):
        restricted_load(evil, {})
    assert not sentinel.exists()
    assert "(no globals at all)" in _message(evil)


def _message(data: bytes) -> str:
    try:
        restricted_load(data, {})
    except UnsafePickleError as exc:
        return str(exc)
    raise AssertionError("expected UnsafePickleError")


def test_builtins_eval_is_refused_even_when_other_builtins_are_allowed():
    evil = b"cbuiltins\neval\n(S'1+1'\ntR."
    with pytest.raises(UnsafePickleError, match=r"builtins\.eval"):
        restricted_load(evil, {("builtins", "set"): set})


def test_allowed_global_resolves_to_the_given_stand_in_not_the_real_class():
    class Real:
        def __setstate__(self, state):  # would run on load if the real class were used
            raise AssertionError("real class code ran")

    Real.__module__, Real.__qualname__ = __name__, "Real"
    globals()["Real"] = Real
    try:
        obj = Real.__new__(Real)
        obj.__dict__.update(x=1, y=[2, 3])
        data = pickle.dumps(obj, protocol=4)
    finally:
        del globals()["Real"]
    loaded = restricted_load(data, {(__name__, "Real"): Point})
    assert type(loaded) is Point and loaded.x == 1 and loaded.y == [2, 3]


def test_record_rejects_a_non_dict_state():
    # NEWOBJ of the allowed class, then BUILD with a list: not what a plain object pickles to.
    data = pickle.dumps(Point.__new__(Point), protocol=4)
    assert restricted_load(data, {(Point.__module__, "Point"): Point}) == Point()
    with pytest.raises(DataFormatError, match="state dict"):
        Point().__setstate__([1, 2])


@pytest.mark.parametrize("cut", [1, 10, 0.5, -1])
def test_truncated_pickle_is_a_data_format_error(tmp_path, cut):
    data = pickle.dumps({(i, i): float(i) for i in range(50)}, protocol=4)
    n = int(len(data) * cut) if isinstance(cut, float) else (cut if cut > 0 else len(data) + cut)
    path = tmp_path / "cut.pkl"
    path.write_bytes(data[:n])
    with pytest.raises(DataFormatError) as err:
        restricted_load(path, {})
    assert not isinstance(err.value, UnsafePickleError)
    assert str(path) in str(err.value)


def test_empty_file_and_non_pickles(tmp_path):
    empty = tmp_path / "empty.pkl"
    empty.write_bytes(b"")
    with pytest.raises(DataFormatError, match="empty"):
        restricted_load(empty, {})
    text = tmp_path / "table.csv"
    text.write_text("nb201_index,arch_str\n0,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|\n")
    with pytest.raises(DataFormatError, match="not a pickle|pickle"):
        restricted_load(text, {})
    with pytest.raises(DataFormatError, match="could not open"):
        restricted_load(tmp_path / "missing.pkl", {})


def test_open_file_objects_are_accepted_and_left_open(tmp_path):
    buffer = io.BytesIO(pickle.dumps([1, 2, 3]))
    assert restricted_load(buffer, {}) == [1, 2, 3]
    assert not buffer.closed


# --- numpy scalars --------------------------------------------------------------------------------

@pytest.mark.parametrize("value", [np.float64(0.0015538), np.float32(-2.5), np.int64(-7), np.uint8(200), np.bool_(True),
                                   np.complex128(1 + 2j), np.float64("nan")])
def test_numpy_scalars_round_trip(value):
    loaded = restricted_load(pickle.dumps({"v": value}, protocol=3), NUMPY_SCALAR_GLOBALS)["v"]
    assert type(loaded) is type(value)
    assert (np.isnan(loaded) and np.isnan(value)) if value.dtype.kind == "f" and np.isnan(value) else loaded == value


def test_numpy_1x_module_path_and_big_endian():
    data = pickle.dumps(np.array([1.25], dtype=">f8")[0], protocol=3)
    assert restricted_load(data, NUMPY_SCALAR_GLOBALS) == 1.25
    legacy = pickle.dumps(np.float64(3.5), protocol=3).replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
    assert restricted_load(legacy, NUMPY_SCALAR_GLOBALS) == 3.5


def test_numpy_object_scalars_and_arrays_are_refused():
    # An ndarray needs numpy.core.multiarray._reconstruct: not in the allow-list.
    with pytest.raises(UnsafePickleError, match="_reconstruct"):
        restricted_load(pickle.dumps(np.arange(3), protocol=2), NUMPY_SCALAR_GLOBALS)
    # A hand-made scalar(dtype('O'), ...) would rebuild arbitrary objects in real numpy.
    genuine = pickle.dumps(np.float64(1.0), protocol=3)
    evil = genuine.replace(b"X\x02\x00\x00\x00f8", b"X\x01\x00\x00\x00O")
    assert evil != genuine
    with pytest.raises(DataFormatError, match="numeric"):
        restricted_load(evil, NUMPY_SCALAR_GLOBALS)


def test_numpy_scalar_with_wrong_byte_count_is_refused():
    data = pickle.dumps(np.float64(1.0), protocol=3)
    payload = np.float64(1.0).tobytes()
    bad = data.replace(b"C\x08" + payload, b"C\x04" + payload[:4])
    assert bad != data
    with pytest.raises(DataFormatError, match="needs 8 bytes, found 4"):
        restricted_load(bad, NUMPY_SCALAR_GLOBALS)
