"""Objectives, tabular oracles (from values and from the tables) and user-function oracles."""
from __future__ import annotations

import pytest

from archbench.errors import DataFormatError
from archbench.eval.search import CallableOracle, Objective, SearchError, TabularOracle, parse_objectives
from archbench.graphs.spaces import get_space


@pytest.mark.parametrize("text, expected", [
    ("nats_csv/test_accuracy@200", Objective("test_accuracy", "max", "nats_csv", None, 200.0, None)),
    ("latency#raspi4", Objective("latency", "min", device="raspi4")),
    ("latency#raspi4:max", Objective("latency", "max", device="raspi4")),
    ("params", Objective("params", "min")),
    ("zc_synflow:min", Objective("zc_synflow", "min")),
])
def test_objective_parse(text, expected):
    assert Objective.parse(text) == expected
    assert Objective.parse(str(expected)) == expected  # str() round-trips


def test_objective_keys_signs_and_errors():
    obj = Objective.parse("nats_csv/test_accuracy@200")
    assert (obj.key, obj.sign) == ("test_accuracy@200", 1.0)
    assert Objective.parse("latency#raspi4").key == "latency#raspi4" and Objective.parse("flops").sign == -1.0
    assert Objective.parse("params").is_graph_total and not Objective.parse("x/params").is_graph_total
    assert Objective.parse("acc", dataset="cifar10").dataset == "cifar10"
    with pytest.raises(SearchError, match="direction after ':' must be 'max' or 'min', found 'up'"):
        Objective.parse("acc:up")
    with pytest.raises(SearchError, match="fidelity after '@' must be a number"):
        Objective.parse("acc@ten")
    with pytest.raises(SearchError, match="repeated keys"):
        parse_objectives(["acc", "acc:min"])


def test_from_values_counts_queries_and_names_missing_archs():
    space = get_space("tinychain")
    oracle = TabularOracle.from_values(space, {"1-1-1-plain": 1.0, (3, 3, 3, True): 2.0}, "v")
    assert oracle.evaluate(["3-3-3-skip", (1, 1, 1, False)]).tolist() == [[2.0], [1.0]]
    assert oracle(["3-3-3-skip"]).shape == (1, 1) and oracle.queries == 3
    oracle.lookup(["3-3-3-skip"])
    assert oracle.queries == 3  # lookups for reporting are free
    assert (oracle.optimum(), len(oracle)) == (2.0, 2)
    with pytest.raises(SearchError, match=r"'1-3-1-plain' \(tinychain:[0-9a-f]+\) has no value for \['v'\]"):
        oracle.evaluate(["1-3-1-plain"])
    with pytest.raises(SearchError, match="has 2 entries, expected one per objective \\(1\\)"):
        TabularOracle.from_values(space, {"1-1-1-plain": (1.0, 2.0)}, "v")


def test_minimized_optimum_and_true_front():
    space = get_space("tinychain")
    values = {"1-1-1-plain": (1.0, 1.0), "3-3-3-skip": (3.0, 5.0), "1-3-1-plain": (2.0, 6.0)}
    oracle = TabularOracle.from_values(space, values, ["acc", "latency"])
    assert oracle.optimum(1) == 1.0 and oracle.signs.tolist() == [1.0, -1.0]
    assert oracle.true_front()["acc"].tolist() == [3.0, 1.0]  # (2, 6) is dominated by (3, 5)


def test_from_tables_reads_labels_and_graph_totals(tiny_home):
    oracle = TabularOracle.from_tables("tinychain", ["synth/score", "latency#dev", "params"], home=tiny_home)
    assert len(oracle) == 16 and oracle.optimum(0) == 21.5 and oracle.optimum(1) == 1.0
    space = get_space("tinychain")
    row = oracle.evaluate(["3-3-3-skip"])[0]
    assert row[:2].tolist() == [21.5, 4.0] and row[2] == space.build_cg((3, 3, 3, True)).params


def test_from_tables_refuses_ambiguous_or_missing_labels(tiny_home):
    with pytest.raises(SearchError, match="'score:max' matches 2 label sets: other/score@10 \\(dataset toy\\); "
                                          "synth/score@10 \\(dataset toy\\)"):
        TabularOracle.from_tables("tinychain", "score", home=tiny_home)
    with pytest.raises(DataFormatError, match="no 'tinychain' labels match objective max metric=accuracy"):
        TabularOracle.from_tables("tinychain", "accuracy", home=tiny_home)
    assert TabularOracle.from_tables("tinychain", "other/score", home=tiny_home).optimum() == -7.0  # max of -value = -(4 + 2 + 1)


def test_callable_oracle_passes_strings_and_checks_results():
    calls = []

    def train(arch: str) -> float:
        calls.append(arch)
        return float(arch.count("3"))

    oracle = CallableOracle("tinychain", train)
    assert oracle.evaluate([(3, 3, 1, False)]).tolist() == [[2.0]] and calls == ["3-3-1-plain"]
    two = CallableOracle("tinychain", lambda a: (a[0], -a[0]), ["acc", "lat"], pass_string=False)
    assert two.evaluate([(3, 1, 1, True)]).tolist() == [[3.0, -3.0]] and two.queries == 1
    bad = CallableOracle("tinychain", lambda a: (1.0, 2.0))
    with pytest.raises(SearchError, match="expected 1 number\\(s\\), one per objective"):
        bad.evaluate(["1-1-1-plain"])
    with pytest.raises(SearchError, match="fn must be callable"):
        CallableOracle("tinychain", 3)
