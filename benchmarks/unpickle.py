"""A restricted unpickler for third-party benchmark pickles, and inert stand-ins for their classes.

A pickle is a program: ``GLOBAL``/``STACK_GLOBAL`` name any importable callable and ``REDUCE``
calls it. :func:`restricted_load` resolves a global only if its ``(module, name)`` pair is in the
caller's allow-list, and then to the object the caller maps it to (never to the real third-party
class), so reading an untrusted file imports and executes nothing outside that list.

Third-party classes (``analognasbench.data.Architecture`` ...) are stood in for by :class:`Record`
subclasses, which accept the ``NEWOBJ`` + ``BUILD`` (state dict) sequence pickle uses for plain
objects. Numpy scalars (``numpy.core.multiarray.scalar`` + ``numpy.dtype``) are rebuilt by
:data:`NUMPY_SCALAR_GLOBALS`, which only ever yields fixed-size numeric scalars.
"""
from __future__ import annotations

import io
import os
import pickle
from typing import Any, BinaryIO, Mapping

import numpy as np

from archbench.errors import DataFormatError, UnsafePickleError

#: Pickle protocol opcodes that only appear at the start of a pickle stream (PROTO, or the
#: first byte of a protocol-0/1 stream). Used to tell "not a pickle" from "corrupt pickle".
_PROTO = b"\x80"


class Record:
    """Inert stand-in for a pickled third-party object: keeps its state dict as attributes.

    Subclass it once per third-party class (``class Architecture(Record): ...``) and map the
    class's ``(module, name)`` to the subclass in the allow-list. It has no behaviour beyond
    storing state, so unpickling one runs none of the original class's code.
    """

    def __setstate__(self, state: Any) -> None:
        # pickle's BUILD passes whatever __getstate__ returned; plain objects give their __dict__.
        if isinstance(state, tuple) and len(state) == 2 and state[1] is None:
            state = state[0]  # (dict, slots) form with no slots
        if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
            raise DataFormatError(
                f"{type(self).__name__} record expects a state dict with string keys, found {type(state).__name__}")
        self.__dict__.update(state)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{type(self).__name__}({fields})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    __hash__ = None  # type: ignore[assignment]  # mutable record


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: BinaryIO, allowed: Mapping[tuple[str, str], object], source: str) -> None:
        super().__init__(file)
        self._allowed = allowed
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            allowed = ", ".join(f"{m}.{n}" for m, n in self._allowed) or "(no globals at all)"
            raise UnsafePickleError(
                f"{self._source}: refused to load global {module}.{name}; this reader allows only: {allowed}. "
                f"Nothing was executed. If the file is genuine, it is not the format this reader expects.") from None

    def persistent_load(self, pid: Any) -> Any:
        raise UnsafePickleError(f"{self._source}: refused a persistent id {pid!r}; benchmark pickles have none")


def restricted_load(path_or_file: str | os.PathLike | BinaryIO | bytes,
                    allowed: Mapping[tuple[str, str], object]) -> Any:
    """Unpickle ``path_or_file`` resolving only the globals in ``allowed``.

    Args:
        path_or_file: a path, an open binary file, or the pickle's bytes.
        allowed: ``(module, name) -> object`` to use for that global; anything else is refused.

    Returns:
        The unpickled object.

    Raises:
        UnsafePickleError: the pickle names a global outside ``allowed`` (nothing was executed).
        DataFormatError: the file is missing, empty, truncated or not a pickle.
    """
    if isinstance(path_or_file, (bytes, bytearray)):
        source, file, owned = "<bytes>", io.BytesIO(path_or_file), True
    elif isinstance(path_or_file, (str, os.PathLike)):
        source = str(path_or_file)
        try:
            file, owned = open(path_or_file, "rb"), True
        except OSError as exc:
            raise DataFormatError(f"expected a pickle file at {source}, could not open it: {exc}") from None
    else:
        source, file, owned = getattr(path_or_file, "name", "<file>"), path_or_file, False
    try:
        head = _first_byte(file)
        try:
            return _RestrictedUnpickler(file, allowed, str(source)).load()
        except UnsafePickleError:
            raise
        except DataFormatError as exc:  # a Record refused its state
            raise DataFormatError(f"{source}: {exc}") from None
        except EOFError:
            what = "is empty" if head == b"" else "ends early (truncated)"
            raise DataFormatError(f"{source}: expected a complete pickle, but the file {what}") from None
        except (pickle.UnpicklingError, ValueError, TypeError, KeyError, IndexError, AttributeError,
                MemoryError, OverflowError, UnicodeDecodeError) as exc:
            kind = "a corrupt pickle" if head == _PROTO else f"not a pickle (starts with {head!r})"
            raise DataFormatError(f"{source}: expected a pickle, found {kind}: {type(exc).__name__}: {exc}") from None
    finally:
        if owned:
            file.close()


def _first_byte(file: BinaryIO) -> bytes:
    """The stream's first byte without consuming it ('' if it cannot be peeked at)."""
    if hasattr(file, "peek"):
        return file.peek(1)[:1]
    if file.seekable():
        pos = file.tell()
        head = file.read(1)
        file.seek(pos)
        return head
    return b""


# --- numpy scalars ------------------------------------------------------------------------------
# ``pickle.dumps(np.float64(1.0))`` is ``scalar(dtype('f8', False, True) + BUILD(state), raw bytes)``.
# The real ``numpy.core.multiarray.scalar`` would also rebuild object scalars from arbitrary
# pickled objects; these replacements accept only fixed-size bool/int/uint/float/complex dtypes.

_NUMERIC_KINDS = frozenset("biufc")


class NumpyDtypeSpec(Record):
    """What a pickled ``numpy.dtype(...)`` call asked for: a numeric type code and a byte order."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.byteorder = "="

    def __setstate__(self, state: Any) -> None:
        # numpy's dtype state: (version, byteorder, subarray, names, fields, elsize, alignment, flags)
        if not (isinstance(state, tuple) and len(state) >= 5 and state[1] in ("<", ">", "|", "=")):
            raise DataFormatError(f"numpy dtype state must be (version, byteorder, ...), found {state!r:.80}")
        if any(part is not None for part in state[2:5]):
            raise DataFormatError(f"only plain numeric numpy dtypes are allowed; found a structured/subarray dtype {state!r:.80}")
        self.byteorder = state[1]

    def to_dtype(self) -> np.dtype:
        dtype = np.dtype(self.code)
        return dtype.newbyteorder(self.byteorder) if self.byteorder in "<>" else dtype


def _numpy_dtype(code: Any, align: Any = False, copy: Any = True) -> NumpyDtypeSpec:
    if not isinstance(code, str):
        raise DataFormatError(f"numpy dtype code must be a string like 'f8', found {code!r:.40}")
    try:
        kind = np.dtype(code).kind
    except TypeError:
        raise DataFormatError(f"unknown numpy dtype code {code!r}") from None
    if kind not in _NUMERIC_KINDS:
        raise DataFormatError(f"only numeric numpy scalars are allowed (kinds {''.join(sorted(_NUMERIC_KINDS))}); found dtype {code!r} of kind {kind!r}")
    return NumpyDtypeSpec(code)


def _numpy_scalar(spec: Any, data: Any = None) -> np.generic:
    if not isinstance(spec, NumpyDtypeSpec) or not isinstance(data, bytes):
        raise DataFormatError(f"numpy scalar must be (dtype, raw bytes), found ({type(spec).__name__}, {type(data).__name__})")
    dtype = spec.to_dtype()
    if len(data) != dtype.itemsize:
        raise DataFormatError(f"numpy {dtype} scalar needs {dtype.itemsize} bytes, found {len(data)}")
    return np.frombuffer(data, dtype=dtype)[0]


#: Allow-list entries for pickles holding numpy numeric scalars (numpy 1.x and 2.x module paths).
NUMPY_SCALAR_GLOBALS: dict[tuple[str, str], object] = {
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy", "dtype"): _numpy_dtype,
}

