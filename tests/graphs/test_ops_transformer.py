"""The transformer ops of vocabulary v3 (embedding ... concat_seq): shape and cost rules, layers, hash, features."""
from __future__ import annotations

import math

import pytest
import torch

from archbench.errors import GraphValidationError
from archbench.graphs.cg import GraphBuilder
from archbench.graphs.hashing import canonical_hash
from archbench.graphs.importers.torch_fx import from_module
from archbench.graphs.ops import OPS, VOCAB_VERSION
from archbench.graphs.pyg import NUM_FEATURES, to_pyg
from archbench.graphs.torch_module import sinusoidal_table, to_module

TRANSFORMER_OPS = ("embedding", "unembed", "pos_encoding", "split_heads", "merge_heads", "transpose", "matmul",
                   "softmax", "concat_seq")


def test_ops_are_appended_at_40_and_up():
    assert VOCAB_VERSION >= 3
    assert [OPS[name].index for name in TRANSFORMER_OPS] == list(range(40, 49))
    assert not OPS["matmul"].commutative and not OPS["concat_seq"].commutative


def _attention_graph(d: int, heads: int, length: int, causal: bool, memory_len: int = 0) -> tuple:
    """x (d, L, 1) [and memory (d, M, 1) as the second input's value] -> one multi-head attention."""
    b = GraphBuilder("test", "attn", (d, length, 1), d)
    x = b.input()
    kv = x
    q = b.conv(x, d, 1, bias=True)
    k = b.conv(kv, d, 1, bias=True)
    v = b.conv(kv, d, 1, bias=True)
    qh, kh, vh = (b.add_node("split_heads", [t], groups=heads) for t in (q, k, v))
    scores = b.add_node("matmul", [qh, b.add_node("transpose", [kh])])
    weights = b.add_node("softmax", [scores], groups=d // heads, padding=int(causal))
    out = b.conv(b.add_node("merge_heads", [b.add_node("matmul", [weights, vh])]), d, 1, bias=True)
    return b.output(out), (q, k, v, out)


def test_attention_shapes_params_and_flops_by_hand():
    d, h, length = 8, 2, 5
    graph, _ = _attention_graph(d, h, length, causal=False)
    graph.validate()
    by_op = {}
    for node in graph.iter_nodes():
        by_op.setdefault(node.op, []).append(node)
    assert [n.out_shape for n in by_op["split_heads"]] == [(2, 5, 4)] * 3
    assert by_op["transpose"][0].out_shape == (2, 4, 5)
    scores, mixed = by_op["matmul"]
    assert scores.out_shape == (2, 5, 5) and scores.flops == 2 * 5 * 4 * 5 and scores.params == 0
    assert mixed.out_shape == (2, 5, 4) and mixed.flops == 2 * 5 * 5 * 4
    assert by_op["softmax"][0].flops == 2 * 5 * 5
    assert by_op["merge_heads"][0].out_shape == (8, 5, 1)
    # 4 position-wise linear layers (1x1 convs with bias): 8*8 + 8 params, 5 positions x 72 FLOPs each
    assert graph.params == 4 * 72 and graph.flops == 4 * 5 * 72 + 2 * 200 + 50


def test_embedding_unembed_pos_encoding_and_concat_seq_rules():
    b = GraphBuilder("test", "emb", (1, 7, 1), 100)
    tokens = b.input()
    own = b.add_node("embedding", [tokens], groups=100, c_out=16)
    tied = b.add_node("embedding", [tokens, own], groups=100, c_out=12)
    assert b.shape(own) == (16, 7, 1) and b.graph.node(own).params == 100 * 16 and b.graph.node(own).flops == 0
    assert b.shape(tied) == (12, 7, 1) and b.graph.node(tied).params == 0
    pos = b.add_node("pos_encoding", [tied])
    assert b.graph.node(pos).flops == 12 * 7 and b.graph.node(pos).params == 0
    cat = b.add_node("concat_seq", [pos, pos, pos])
    assert b.shape(cat) == (12, 21, 1)
    logits_own = b.add_node("unembed", [pos], c_out=100)
    assert b.graph.node(logits_own).params == 100 * 12 and b.graph.node(logits_own).flops == 7 * 12 * 100
    logits_tied = b.add_node("unembed", [pos, own], c_out=100)
    assert b.graph.node(logits_tied).params == 0 and b.graph.node(logits_tied).flops == 7 * 12 * 100
    with pytest.raises(GraphValidationError, match="first c_out=20 columns"):
        b.add_node("embedding", [tokens, own], groups=100, c_out=20)
    with pytest.raises(GraphValidationError, match="token ids 1 x L x 1"):
        b.add_node("embedding", [pos], groups=100, c_out=4)
    with pytest.raises(GraphValidationError, match="must divide its 12 features"):
        b.add_node("split_heads", [pos], groups=5)
    with pytest.raises(GraphValidationError, match="G x M x K by G x K x N"):
        b.add_node("matmul", [pos, pos])
    with pytest.raises(GraphValidationError, match="causal mask"):
        b.add_node("softmax", [pos], padding=2)
    with pytest.raises(GraphValidationError, match="equal channels and widths"):
        b.add_node("concat_seq", [pos, own])


@pytest.mark.parametrize("causal", [False, True])
def test_attention_module_equals_torch_multihead_attention(causal):
    torch.manual_seed(0)
    d, h, length = 8, 2, 6
    graph, (q, k, v, out) = _attention_graph(d, h, length, causal)
    module = to_module(graph, seed=1).eval()
    assert sum(p.numel() for p in module.parameters()) == graph.params
    mha = torch.nn.MultiheadAttention(d, h, batch_first=True)
    with torch.no_grad():
        for part, node in enumerate((q, k, v)):
            conv = getattr(module, f"n{node}")
            mha.in_proj_weight[part * d:(part + 1) * d] = conv.weight[:, :, 0, 0]
            mha.in_proj_bias[part * d:(part + 1) * d] = conv.bias
        mha.out_proj.weight.copy_(getattr(module, f"n{out}").weight[:, :, 0, 0])
        mha.out_proj.bias.copy_(getattr(module, f"n{out}").bias)
    x = torch.randn(3, d, length, 1)
    mask = torch.ones(length, length, dtype=torch.bool).triu(1) if causal else None
    want, _ = mha(x[..., 0].transpose(1, 2), x[..., 0].transpose(1, 2), x[..., 0].transpose(1, 2), attn_mask=mask)
    got = module(x)  # per-position outputs (N, L, d)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    traced = torch.fx.symbolic_trace(module)
    torch.testing.assert_close(traced(x), got)


def test_sinusoidal_table_is_fairseqs():
    table = sinusoidal_table(6, 4)  # half = 3 frequencies: 1, 10000^-0.5, 10000^-1
    assert table.shape == (6, 4)
    torch.testing.assert_close(table[0, 0], torch.tensor(math.sin(2.0)))        # position 2, frequency 1
    torch.testing.assert_close(table[3, 1], torch.tensor(math.cos(3.0)))        # cosines in the second half
    torch.testing.assert_close(table[1, 0], torch.tensor(math.sin(2.0 / 100.0)))
    assert sinusoidal_table(5, 2)[4].abs().sum() == 0                           # odd dim: zero last row


def _tied_graph() -> "object":
    b = GraphBuilder("test", "tied", (1, 4, 1), 50)
    tokens = b.input()
    own = b.add_node("embedding", [tokens], groups=50, c_out=8)
    small = b.add_node("embedding", [tokens, own], groups=50, c_out=6)
    x = b.conv(b.add_node("pos_encoding", [small]), 6, 1, bias=True)
    x = b.add(x, b.conv(b.add_node("pos_encoding", [own]), 6, 1))
    return b.output(b.add_node("unembed", [x, own], c_out=50))


def test_tied_tables_are_one_parameter():
    graph = _tied_graph()
    graph.validate()
    assert graph.params == 50 * 8 + (6 * 6 + 6) + 8 * 6
    module = to_module(graph, seed=0)
    params = list(module.parameters())
    assert sum(p.numel() for p in params) == graph.params
    tokens = torch.tensor([[3.0, 1.0, 4.0, 1.0]]).view(1, 1, 4, 1)
    before = module(tokens)
    assert before.shape == (1, 4, 50)
    owner = module.n1.weight
    with torch.no_grad():
        owner[:, :6] += 1.0  # the tied embedding and the tied output projection read these columns
    assert not torch.allclose(module(tokens), before)
    torch.testing.assert_close(module.n2.table(), owner[:, :6])


def test_tie_to_a_non_embedding_is_refused():
    b = GraphBuilder("test", "bad", (1, 4, 1), 10)
    tokens = b.input()
    emb = b.add_node("embedding", [tokens], groups=10, c_out=4)
    x = b.add_node("pos_encoding", [emb])
    graph = b.output(b.add_node("unembed", [x, x], c_out=10))
    with pytest.raises(GraphValidationError, match="not an embedding with its own table"):
        to_module(graph)
    b = GraphBuilder("test", "bad", (1, 4, 1), 10)
    tokens = b.input()
    emb = b.add_node("embedding", [tokens], groups=12, c_out=4)
    graph = b.output(b.add_node("unembed", [b.add_node("pos_encoding", [emb]), emb], c_out=10))
    with pytest.raises(GraphValidationError, match="needs a 10 x >=4 table"):
        to_module(graph)


def _product_graph(swap: bool) -> "object":
    b = GraphBuilder("test", "mm", (4, 3, 1), 4)
    x = b.input()
    a = b.add_node("split_heads", [b.conv(x, 4, 1)], groups=2)                      # 2 x 3 x 2
    c = b.add_node("transpose", [b.add_node("split_heads", [b.conv(x, 4, 1, bias=True)], groups=2)])  # 2 x 2 x 3
    s = b.add_node("matmul", [a, c])                                                 # 2 x 3 x 3
    t = b.add_node("transpose", [s])
    prod = b.add_node("matmul", [t, s] if swap else [s, t])  # S S^T vs S^T S: same shapes, other function
    return b.output(b.conv(b.add_node("merge_heads", [b.add_node("matmul", [prod, a])]), 4, 1))


def test_hash_keeps_matmul_operand_order_and_softmax_attributes():
    assert canonical_hash(_product_graph(False)) != canonical_hash(_product_graph(True))
    assert canonical_hash(_product_graph(False)) == canonical_hash(_product_graph(False))
    causal, _ = _attention_graph(8, 2, 5, causal=True)
    plain, _ = _attention_graph(8, 2, 5, causal=False)
    assert canonical_hash(causal) != canonical_hash(plain)


def test_transformer_graph_features_and_fx_import_error():
    graph = _tied_graph()
    data = to_pyg(graph)
    assert data.x.shape == (graph.num_nodes, NUM_FEATURES)
    assert data.x[:, OPS["unembed"].index].sum() == 1
    with pytest.raises(GraphValidationError, match="transformer op .* not convert them"):
        from_module(to_module(graph), (1, 4, 1))

    class Softmaxed(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 1)

        def forward(self, x):
            return torch.softmax(self.conv(x), dim=1).mean(dim=(2, 3))

    with pytest.raises(GraphValidationError, match="torch.softmax, which is a transformer op"):
        from_module(Softmaxed(), (3, 4, 4))
