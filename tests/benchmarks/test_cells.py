"""CellCodec: benchmark op-code tuples <-> official NB201 strings."""
from __future__ import annotations

import numpy as np
import pytest

from archbench.benchmarks.cells import CellCodec
from archbench.errors import DataFormatError
from archbench.graphs.spaces.nb201 import EDGES, NB201_OPS, format_arch_str, parse_arch_str

OFFICIAL = dict(enumerate(NB201_OPS))
BY_TARGET = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))


def test_identity_tables_decode_in_string_order():
    codec = CellCodec(OFFICIAL, EDGES, "test")
    strings = codec.decode(np.array([[0, 1, 2, 3, 4, 0]]))
    assert strings.tolist() == ["|none~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|none~2|"]


def test_edge_order_is_applied():
    codec = CellCodec(OFFICIAL, BY_TARGET, "test")
    # tuple position 2 is edge 0->3 (string position 3), position 3 is 1->2 (string position 2)
    assert codec.decode(np.array([[0, 0, 3, 2, 0, 0]])).tolist() == [
        "|none~0|+|none~0|nor_conv_1x1~1|+|nor_conv_3x3~0|none~1|none~2|"]


def test_encode_inverts_decode():
    codec = CellCodec({0: "skip_connect", 1: "none", 2: "nor_conv_3x3", 3: "nor_conv_1x1", 4: "avg_pool_3x3"}, BY_TARGET, "t")
    rng = np.random.default_rng(0)
    codes = rng.integers(0, 5, size=(50, 6))
    for row, text in zip(codes, codec.decode(codes)):
        assert codec.encode(parse_arch_str(text)) == tuple(row)
        assert format_arch_str(parse_arch_str(text)) == text


def test_check_keys_names_the_bad_key():
    codec = CellCodec(OFFICIAL, EDGES, "Bench")
    assert codec.check_keys([(0, 1, 2, 3, 4, 0)], "f").shape == (1, 6)
    for bad in [(0, 1, 2), (0, 1, 2, 3, 4, 5), (0, 1, 2, 3, 4, True), [0, 1, 2, 3, 4, 0], "x"]:
        with pytest.raises(DataFormatError, match="Bench cell keys as 6-tuples"):
            codec.check_keys([bad], "f")


def test_bad_tables_are_rejected():
    with pytest.raises(ValueError, match="op table"):
        CellCodec({0: "none", 1: "none", 2: "nor_conv_1x1", 3: "nor_conv_3x3", 4: "avg_pool_3x3"}, EDGES, "t")
    with pytest.raises(ValueError, match="edge table"):
        CellCodec(OFFICIAL, EDGES[:5] + ((0, 1),), "t")
