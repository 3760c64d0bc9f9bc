"""Tests for archbench.graphs.hashing: invariances and sensitivities of the canonical hash."""
from __future__ import annotations

import random
import re
from typing import Callable

import pytest

from archbench.errors import GraphValidationError, UnknownOpError
from archbench.graphs.cg import NODE_FIELDS, ComputationGraph, GraphBuilder
from archbench.graphs.hashing import canonical_form, canonical_hash

Body = Callable[[GraphBuilder, int], int]


def net(body: Body, *, num_classes: int = 10, input_shape=(3, 8, 8)) -> ComputationGraph:
    """input -> stem conv(8) -> body -> gap -> linear -> output."""
    b = GraphBuilder("test", "net", input_shape, num_classes)
    x = b.conv(b.input(), 8, kernel=3)
    y = body(b, x)
    return b.output(b.linear(b.global_avg_pool(y), num_classes)).validate()


def conv_bn(b: GraphBuilder, x: int, k: int, c: int = 8) -> int:
    return b.batch_norm(b.conv(b.relu(x), c, kernel=k))


def renumber(g: ComputationGraph, seed: int) -> ComputationGraph:
    """The same graph with shuffled node indices and edge list (each node's argument order kept)."""
    rng = random.Random(seed)
    n = g.num_nodes
    perm = list(range(n))
    rng.shuffle(perm)  # old index -> new index
    inv = [0] * n
    for old, new in enumerate(perm):
        inv[new] = old
    group_key = [rng.random() for _ in range(n)]
    # A stable sort by a random key per target node shuffles edges but keeps each node's inputs in order.
    edges = sorted(zip(g.src, g.dst), key=lambda e: group_key[e[1]])
    return ComputationGraph(g.space, g.encoding, g.input_shape, g.num_classes, g.config,
                            nodes={f: [g.nodes[f][inv[i]] for i in range(n)] for f in NODE_FIELDS},
                            src=[perm[s] for s, _ in edges], dst=[perm[d] for _, d in edges])


def assert_same(a: ComputationGraph, b: ComputationGraph) -> None:
    assert canonical_form(a) == canonical_form(b)
    assert canonical_hash(a) == canonical_hash(b)


def assert_different(a: ComputationGraph, b: ComputationGraph) -> None:
    assert canonical_hash(a) != canonical_hash(b)
    assert canonical_form(a) != canonical_form(b)


def cell(b: GraphBuilder, x: int) -> int:
    """A small NAS-Bench-201-like cell with a shared node, pools, a skip and a concat."""
    n1 = b.add(conv_bn(b, x, 3))
    n2 = b.add(conv_bn(b, x, 1), b.avg_pool(n1, 3, 1, 1))
    n3 = b.add(b.identity(n1), conv_bn(b, n2, 3), b.zero(x))
    return b.conv(b.concat(n3, b.max_pool(n2, 3, 1, 1)), 8, kernel=1)


def test_hash_format():
    h = canonical_hash(net(cell))
    assert re.fullmatch(r"[0-9a-f]{32}", h)
    assert net(cell).canonical_hash() == h  # the ComputationGraph wrapper


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_invariant_under_node_renumbering(seed):
    g = net(lambda b, x: cell(b, cell(b, x)))
    h = renumber(g, seed).validate()
    assert h.nodes["op"] != g.nodes["op"]
    assert_same(g, h)


def test_add_operand_order():
    assert_same(net(lambda b, x: b.add(conv_bn(b, x, 3), conv_bn(b, x, 1))),
                net(lambda b, x: b.add(conv_bn(b, x, 1), conv_bn(b, x, 3))))


def test_mul_operand_order():
    assert_same(net(lambda b, x: b.mul(b.relu(x), b.act(x, "tanh"))),
                net(lambda b, x: b.mul(b.act(x, "tanh"), b.relu(x))))


def test_identity_folded():
    assert_same(net(lambda b, x: conv_bn(b, x, 3)),
                net(lambda b, x: b.identity(conv_bn(b, b.identity(b.identity(x)), 3))))


def test_zero_branch_into_add_dropped():
    assert_same(net(lambda b, x: b.add(x, conv_bn(b, x, 3))),
                net(lambda b, x: b.add(x, b.zero(x), conv_bn(b, x, 3))))


def test_add_of_one_remaining_operand_is_that_operand():
    assert_same(net(lambda b, x: conv_bn(b, x, 3)),
                net(lambda b, x: b.add(b.zero(x), conv_bn(b, x, 3), b.zero(x))))


def test_dead_branch_through_a_zero():
    # relu -> conv -> bn whose only consumer is a zero op feeding the add
    assert_same(net(lambda b, x: b.add(x, conv_bn(b, x, 1))),
                net(lambda b, x: b.add(x, conv_bn(b, x, 1), b.zero(conv_bn(b, x, 3)))))


def test_zero_propagates_through_zero_preserving_chain():
    # NB201: a node fed only by 'none' edges is zero, and so is relu-conv-bn or avg_pool of it.
    assert_same(net(lambda b, x: b.add(x, conv_bn(b, x, 1))),
                net(lambda b, x: b.add(x, conv_bn(b, x, 1), conv_bn(b, b.add(b.zero(x)), 3),
                                       b.avg_pool(b.zero(x), 3, 1, 1))))


def test_mul_with_a_zero_is_zero():
    assert_same(net(lambda b, x: b.add(x, conv_bn(b, x, 1))),
                net(lambda b, x: b.add(x, conv_bn(b, x, 1), b.mul(conv_bn(b, x, 3), b.zero(x)))))


def test_non_zero_preserving_op_keeps_the_zero_token():
    # sigmoid(0) = 0.5: the branch is not dead
    assert_different(net(lambda b, x: b.add(x, conv_bn(b, x, 1))),
                     net(lambda b, x: b.add(x, conv_bn(b, x, 1), b.act(b.zero(x), "sigmoid"))))


def test_biased_conv_of_zero_is_its_bias_not_zero():
    # conv(0) without bias is 0 and drops out of the add; with a bias it is a constant that stays.
    plain = net(lambda b, x: b.add(x, conv_bn(b, x, 1)))
    assert_same(plain, net(lambda b, x: b.add(x, conv_bn(b, x, 1), b.conv(b.zero(x), 8, kernel=1))))
    assert_different(plain, net(lambda b, x: b.add(x, conv_bn(b, x, 1), b.conv(b.zero(x), 8, kernel=1, bias=True))))


def test_concat_zero_rules():
    # all-zero concat is zero ...
    assert_same(net(lambda b, x: b.conv(b.add(b.concat(x, x), b.concat(b.zero(x), b.zero(x))), 8, kernel=1)),
                net(lambda b, x: b.conv(b.concat(x, x), 8, kernel=1)))
    # ... a partly zero one keeps a shape-tagged zero token where the zero is
    assert_different(net(lambda b, x: b.conv(b.concat(x, b.zero(x)), 8, kernel=1)),
                     net(lambda b, x: b.conv(b.concat(b.zero(x), x), 8, kernel=1)))
    assert_different(net(lambda b, x: b.conv(b.concat(x, b.zero(x)), 8, kernel=1)),
                     net(lambda b, x: b.conv(b.concat(x, b.zero(b.conv(x, 4, kernel=1))), 8, kernel=1)))


def test_concat_zero_runs_merge():
    # zeros of 4 + 4 channels next to each other are zeros of 8 channels, however they are nested
    def z4(b, x):
        return b.zero(b.conv(x, 4, kernel=1))

    flat = net(lambda b, x: b.conv(b.concat(x, z4(b, x), z4(b, x)), 8, kernel=1))
    assert_same(flat, net(lambda b, x: b.conv(b.concat(x, b.zero(x)), 8, kernel=1)))
    assert_same(net(lambda b, x: b.conv(b.concat(b.concat(x, z4(b, x)), b.concat(z4(b, x), b.relu(x))), 8, kernel=1)),
                net(lambda b, x: b.conv(b.concat(x, b.zero(x), b.relu(x)), 8, kernel=1)))
    assert_different(flat, net(lambda b, x: b.conv(b.concat(z4(b, x), x, z4(b, x)), 8, kernel=1)))


def test_add_nested_vs_flat():
    def leaves(b, x):
        return conv_bn(b, x, 1), conv_bn(b, x, 3), b.avg_pool(x, 3, 1, 1)

    def flat(b, x):
        return b.add(*leaves(b, x))

    def nested_left(b, x):
        p, q, r = leaves(b, x)
        return b.add(b.add(p, q), r)

    def nested_right(b, x):
        p, q, r = leaves(b, x)
        return b.add(r, b.identity(b.add(q, p)))

    assert_same(net(flat), net(nested_left))
    assert_same(net(flat), net(nested_right))


def test_add_keeps_duplicate_operands():
    # x + x is 2x, not x
    assert_different(net(lambda b, x: b.add(x, conv_bn(b, x, 3))),
                     net(lambda b, x: b.add(x, x, conv_bn(b, x, 3))))


def test_concat_nested_vs_flat_keeps_order():
    assert_same(net(lambda b, x: b.conv(b.concat(b.concat(x, b.relu(x)), b.act(x, "gelu")), 8, kernel=1)),
                net(lambda b, x: b.conv(b.concat(x, b.relu(x), b.act(x, "gelu")), 8, kernel=1)))


def test_shared_subexpression_is_not_expanded():
    # 300 diamonds: 2**300 input->output paths; a tree expansion would never finish.
    def diamonds(b, x):
        for _ in range(300):
            x = b.add(b.relu(x), b.act(x, "tanh"))
        return x

    g = net(diamonds)
    # header, input, stem conv, 3 per diamond, gap, linear, output line
    assert len(canonical_form(g).splitlines()) == 1 + 2 + 3 * 300 + 2 + 1
    assert canonical_hash(g) == canonical_hash(renumber(g, 5))


def test_long_chains():
    # chains longer than the hashing's chain limit are sealed; the rules must hold across a seal
    def chain(b, x, kernels, skip_at=()):
        for k, kernel in enumerate(kernels):
            x = conv_bn(b, b.identity(x) if k in skip_at else x, kernel)
        return x

    ks = [1, 3] * 10
    assert_same(net(lambda b, x: b.add(x, chain(b, x, ks))),
                net(lambda b, x: b.add(chain(b, x, ks, skip_at=(3, 11, 17)), b.zero(x), x)))
    other = ks.copy()
    other[13] = 5
    assert_different(net(lambda b, x: chain(b, x, ks)), net(lambda b, x: chain(b, x, other)))


def test_different_kernel():
    assert_different(net(lambda b, x: conv_bn(b, x, 3)), net(lambda b, x: conv_bn(b, x, 5)))


def test_different_op():
    assert_different(net(lambda b, x: b.relu(x)), net(lambda b, x: b.act(x, "gelu")))
    assert_different(net(lambda b, x: b.avg_pool(x, 3, 1, 1)), net(lambda b, x: b.max_pool(x, 3, 1, 1)))
    assert_different(net(lambda b, x: b.add(x, b.relu(x))), net(lambda b, x: b.mul(x, b.relu(x))))


def test_concat_order_swapped():
    assert_different(net(lambda b, x: b.conv(b.concat(x, b.relu(x)), 8, kernel=1)),
                     net(lambda b, x: b.conv(b.concat(b.relu(x), x), 8, kernel=1)))


def test_different_channels():
    assert_different(net(lambda b, x: conv_bn(b, x, 3, c=8)), net(lambda b, x: conv_bn(b, x, 3, c=16)))


def test_different_num_classes_and_input_shape():
    assert_different(net(cell, num_classes=10), net(cell, num_classes=100))
    g = net(cell)
    h = net(cell)
    h.num_classes = 11  # header only: the rest of the graph is unchanged
    assert canonical_hash(g) != canonical_hash(h)
    assert_different(net(cell, input_shape=(3, 8, 8)), net(cell, input_shape=(3, 16, 16)))


def test_function_attributes_matter_and_others_do_not():
    assert_different(net(lambda b, x: b.conv(x, 8, kernel=3, bias=True)), net(lambda b, x: b.conv(x, 8, kernel=3)))
    assert_different(net(lambda b, x: b.batch_norm(x, affine=True)), net(lambda b, x: b.batch_norm(x, affine=False)))
    assert_different(net(lambda b, x: b.conv(x, 8, kernel=3, dilation=2)),
                     net(lambda b, x: b.conv(x, 8, kernel=5, padding=2)))  # same shapes, different function
    g, h = net(lambda b, x: b.relu(x)), net(lambda b, x: b.relu(x))
    relu = h.ops.index("relu")
    h.nodes["kernel"][relu] = 7  # meaningless on a relu
    assert canonical_hash(g) == canonical_hash(h)


def test_space_encoding_and_config_do_not_matter():
    g, h = net(cell), net(cell)
    h.space, h.encoding, h.config = "other", "other-encoding", "cfg"
    assert canonical_hash(g) == canonical_hash(h)


def test_canonical_form_by_hand():
    b = GraphBuilder("test", "form", (3, 8, 8), 10)
    x = b.input()
    y = b.add(b.relu(x), b.zero(x), b.identity(x))
    g = b.output(b.linear(b.global_avg_pool(y), 10))
    # add(relu(x), 0, x) -> add(x, relu(x)) in sorted order; which of the two comes first
    # depends on digests, so compare the operand set.
    lines = canonical_form(g).splitlines()
    assert lines[0] == "graph input=3x8x8 num_classes=10"
    assert lines[1] == "%0 = input 3x8x8"
    body = sorted(lines[2:4])
    assert body == ["%1 = relu[] 3x8x8 (%0)", "%2 = add[] 3x8x8 (%0, %1)"] or \
        body == ["%1 = relu[] 3x8x8 (%0)", "%2 = add[] 3x8x8 (%1, %0)"]
    assert lines[4:] == ["%3 = global_avg_pool[] 3x1x1 (%2)", "%4 = linear[bias=1] 10x1x1 (%3)", "output = %4"]


def test_unknown_op():
    g = net(cell)
    g.nodes["op"][g.ops.index("relu")] = "no_such_op"
    with pytest.raises(UnknownOpError, match="unknown op 'no_such_op'"):
        canonical_hash(g)


def test_malformed_graph_is_explained_by_validate():
    g = net(lambda b, x: b.add(*(b.conv(r, 8, kernel=1) for r in [b.relu(x)] * 2)))
    conv = g.ops.index("conv", 2)
    k = g.dst.index(conv)  # the relu still feeds the other conv, so only this conv is broken
    del g.src[k], g.dst[k]
    with pytest.raises(GraphValidationError, match=rf"node {conv} \(conv\) has 0 inputs, expected 1"):
        canonical_hash(g)
    g = net(lambda b, x: x)
    g.nodes["op"][-1] = "identity"
    with pytest.raises(GraphValidationError, match="exactly one output node, found 0"):
        canonical_hash(g)


def test_shared_weights_differ_from_separate_weights():
    # One conv feeding both operands of an add vs two separately weighted convs of the same input:
    # the same expression, but the second network has twice the conv's parameters (rule 8).
    shared = net(lambda b, x: (lambda y: b.add(b.relu(y), b.act(y, "tanh")))(b.conv(x, 8, kernel=3)))
    separate = net(lambda b, x: b.add(b.relu(b.conv(x, 8, kernel=3)), b.act(b.conv(x, 8, kernel=3), "tanh")))
    assert separate.params > shared.params
    assert_different(shared, separate)
    assert "separate weights: 2 nodes compute" in canonical_form(separate)
    # Renumbering keeps it; a dead duplicate (feeding only a zero branch) does not count.
    assert_same(separate, renumber(separate, seed=3))
    dead_copy = net(lambda b, x: b.add(b.relu(b.conv(x, 8, kernel=3)), b.zero(b.conv(x, 8, kernel=3))))
    assert_same(net(lambda b, x: b.relu(b.conv(x, 8, kernel=3))), dead_copy)
