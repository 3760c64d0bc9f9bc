"""HAT's Transformer design space: encoder-decoder SubTransformers for machine translation.

HAT (Wang et al., ACL 2020; mit-han-lab/hardware-aware-transformers, MIT) searches
heterogeneous Transformers inside a SuperTransformer. An architecture (:class:`HatArch`) is a
SubTransformer: encoder and decoder embedding dims; per encoder layer the FFN hidden dim and the
self-attention heads; per decoder layer the FFN hidden dim, self-attention heads,
encoder-decoder attention heads and how many of the last encoder layers it attends to
("arbitrary encoder-decoder attention": HAT's codes -1, 1, 2 = the last 1, 2, 3 layers, whose
outputs are concatenated along positions). Choices are those of HAT's latency-dataset configs
(``configs/*/latency_dataset/*.yml``), which all four tasks share: embed dims {640, 512}, FFN
{3072, 2048, 1024, 512}, heads {8, 4, 2} (Q/K/V always project to ``qkv_dim = 512``, so heads only
split it), 6 encoder layers, 1-6 decoder layers, 1-3 attended encoder layers. The
SuperTransformers of ``configs/*/supertransformer/space*.yml`` use subsets (WMT: FFN without 512,
heads {8, 4}; IWSLT: FFN {2048, 1024, 512}, heads {4, 2}).

Native string: ``"e640:3072h8,2048h4,...|d512:2048h8x4a1,..."``: the encoder embed dim and its six
layers as ``<ffn>h<heads>``, then the decoder embed dim and its layers as
``<ffn>h<self heads>x<cross heads>a<attended encoder layers>``.

HAT's latency CSVs (``latency_dataset/*.csv``, read by :mod:`archbench.benchmarks.hat`) do not
store a SubTransformer: each row holds HAT's 10 latency-predictor features
(``utils.get_feature_info``): the two embed dims, the two layer counts, and the per-layer means
of the FFN dims, the three head counts and the attended-layer counts (1-3). :meth:`HatSpace.parse`
also accepts that row form, ``"512,6,1877.3333333333333,6.0,640,3,..."`` (the 10 values in CSV
column order), and returns the row's *canonical representative*: per field, the multiset of
per-layer values with that mean whose values are closest to equal (least variance; ties: the
lexicographically largest), placed in descending order, fields independently. Means rarely pin
down the layers (11 of HAT's 16,000 rows do), but HAT's own latency predictor sees only these
features, and every parameter count and almost every FLOP of a SubTransformer is linear in the
per-layer values: all members of a row's class have the representative's params and FLOPs,
except the encoder-decoder softmax FLOPs (cross heads x attended positions per layer), which
depend on how a layer's heads and attended-layer count pair up. :meth:`HatSpace.representative`
maps any SubTransformer to its class representative.

The network (HAT's ``TransformerSuperModel`` with a sampled config, as ``--profile-flops``
measures it: one full forward pass of a batch of one sentence, source and target of
``seq_len`` tokens, teacher forcing): token embedding, ``pos_encoding`` (``x * sqrt(d)`` + fixed
sinusoids); post-norm encoder layers (self-attention: Q, K, V as 1x1 convs ``d -> 512`` with
bias, ``split_heads``, ``Q K^T``, softmax with scale ``1/sqrt(512/heads)``, ``A V``,
``merge_heads``, output 1x1 conv ``512 -> d``; residual add; layer norm; FFN 1x1 conv ``d -> ffn``,
ReLU, 1x1 conv ``ffn -> d``; residual add; layer norm); decoder layers likewise with a causal
self-attention softmax and an encoder-decoder attention between them (K and V from the last
1-3 encoder outputs, concatenated with ``concat_seq`` last layer first, projected ``e -> 512``);
no final layer norms (HAT trains post-norm: ``--encoder-normalize-before`` is not set); output
projection onto the target vocabulary (``unembed``). Dropout is off (inference).

Tasks (network configs): vocabulary sizes and sequence lengths come from HAT's code:

* ``wmt14ende``: joined 32,768-entry dictionary (``configs/wmt14.en-de/preprocess.sh``:
  ``--nwordssrc 32768 --nwordstgt 32768 --joined-dictionary``), all embeddings shared
  (``share-all-embeddings``); 30 tokens.
* ``wmt14enfr``, ``wmt19ende``: joined dictionaries from 40,000 BPE merges, all embeddings shared;
  30 tokens. The exact dictionary sizes are in HAT's ``wmt14enfr_dict.txt`` / ``wmt19ende_dict.txt``
  (downloaded by ``preprocess.sh``, not available here): **assumed 40,000**; only the embedding
  and output-projection sizes depend on it.
* ``iwslt14deen``: separate dictionaries, German 8,848 and English 6,632 entries (fairseq's
  ``prepare-iwslt14.sh`` pipeline with 10,000 BPE merges, which HAT's ``preprocess.sh`` repeats),
  no sharing: source embedding, target embedding and a separate output projection
  (``share-decoder-input-output-embed`` is not set); 23 tokens.

The sequence lengths are HAT's ``dummy_sentence_length`` (``latency_dataset.py``: "for iwslt,
the average length is 23, for wmt, that is 30"). With shared embeddings the one table has
``max(e, d)`` columns (HAT slices the first ``e`` for the encoder and the first ``d`` for the
decoder), so a graph counts ``V * max(e, d)`` embedding parameters; HAT's printed "model size"
counts parameters without embeddings. The latencies were measured differently from this graph:
encoder batch 1; decoder with beam 5, decoding ``seq_len`` tokens one at a time.
"""
from __future__ import annotations

import functools
import itertools
import math
import numbers
import random
import re
from typing import Any, Mapping, NamedTuple, Sequence

from archbench.errors import EncodingError

from ..cg import ComputationGraph, GraphBuilder
from ._fragments import Assembler, Fragment, make_fragment
from .base import SPACES, NetworkConfig, SearchSpace

EMBED_CHOICES: tuple[int, ...] = (640, 512)
FFN_CHOICES: tuple[int, ...] = (3072, 2048, 1024, 512)
HEAD_CHOICES: tuple[int, ...] = (8, 4, 2)
ENCODER_LAYERS = 6
DECODER_LAYER_CHOICES: tuple[int, ...] = (6, 5, 4, 3, 2, 1)
#: Encoder layers a decoder layer attends to (HAT's arbitrary-attention codes -1, 1, 2).
ENDE_CHOICES: tuple[int, ...] = (1, 2, 3)
#: HAT's code for each count of attended encoder layers (``decoder-arbitrary-ende-attn``).
ENDE_HAT_CODE: dict[int, int] = {1: -1, 2: 1, 3: 2}
#: Q/K/V projection width of every attention (HAT's ``qkv-dim``).
QKV_DIM = 512

#: Columns of HAT's latency CSVs that describe the network (``utils.get_feature_info``), in order.
FEATURE_COLUMNS: tuple[str, ...] = (
    "encoder_embed_dim", "encoder_layer_num", "encoder_ffn_embed_dim_avg", "encoder_self_attention_heads_avg",
    "decoder_embed_dim", "decoder_layer_num", "decoder_ffn_embed_dim_avg", "decoder_self_attention_heads_avg",
    "decoder_ende_attention_heads_avg", "decoder_arbitrary_ende_attn_avg")


class HatArch(NamedTuple):
    """A HAT SubTransformer: embed dims and per-layer choices (encoder: 6 layers; decoder: 1-6)."""

    encoder_embed_dim: int
    decoder_embed_dim: int
    encoder_ffn: tuple[int, ...]
    encoder_heads: tuple[int, ...]
    decoder_ffn: tuple[int, ...]
    decoder_self_heads: tuple[int, ...]
    decoder_cross_heads: tuple[int, ...]
    decoder_ende_layers: tuple[int, ...]

    @property
    def decoder_layers(self) -> int:
        return len(self.decoder_ffn)


class Task(NamedTuple):
    """A translation task: dictionaries, embedding sharing and the sequence length HAT measured with."""

    name: str
    src_vocab: int
    tgt_vocab: int
    shared_embeddings: bool
    seq_len: int


TASKS: dict[str, Task] = {
    "wmt14ende": Task("wmt14ende", 32768, 32768, True, 30),
    "wmt14enfr": Task("wmt14enfr", 40000, 40000, True, 30),   # dictionary size assumed (module doc)
    "wmt19ende": Task("wmt19ende", 40000, 40000, True, 30),   # dictionary size assumed (module doc)
    "iwslt14deen": Task("iwslt14deen", 8848, 6632, False, 23),
}
CONFIGS: dict[str, NetworkConfig] = {
    t.name: NetworkConfig(t.name, (1, t.seq_len, 1), t.tgt_vocab) for t in TASKS.values()}

#: A published HAT SubTransformer (``configs/wmt14.en-de/subtransformer/HAT_wmt14ende_raspberrypi@6.9s_bleu@28.4.yml``).
PUBLISHED: dict[str, HatArch] = {
    "HAT_wmt14ende_raspberrypi@6.9s_bleu@28.4": HatArch(
        512, 512, (3072,) * 6, (8, 4, 8, 8, 8, 8),
        (2048, 2048, 3072, 3072, 2048), (8, 8, 8, 4, 8), (4, 8, 8, 8, 8), (1, 2, 2, 2, 1)),
}

NUM_ARCHS = (len(EMBED_CHOICES) ** 2 * (len(FFN_CHOICES) * len(HEAD_CHOICES)) ** ENCODER_LAYERS
             * sum((len(FFN_CHOICES) * len(HEAD_CHOICES) ** 2 * len(ENDE_CHOICES)) ** n for n in DECODER_LAYER_CHOICES))


# ---- validation and encodings -----------------------------------------------------------------------

def _choice(value: Any, choices: Sequence[int], what: str) -> int:
    if type(value) is int and value in choices:  # the common case, without the ABC check below
        return value
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) not in choices:
        raise EncodingError(f"HAT {what} must be one of {list(choices)}, found {value!r}")
    return int(value)


def _layers(values: Any, n: int, choices: Sequence[int], what: str) -> tuple[int, ...]:
    if not isinstance(values, (tuple, list)) or len(values) != n:
        found = len(values) if isinstance(values, (tuple, list)) else type(values).__name__
        raise EncodingError(f"HAT {what} needs one value per layer ({n}), found {found}")
    return tuple(_choice(v, choices, f"{what} (layer {i})") for i, v in enumerate(values))


def check_arch(arch: Any) -> HatArch:
    """Validate a :class:`HatArch` (or an 8-tuple in its field order); returns it with plain ints."""
    if not isinstance(arch, (tuple, list)) or len(arch) != len(HatArch._fields):
        raise EncodingError(f"a HAT architecture is a HatArch of {len(HatArch._fields)} fields "
                            f"({', '.join(HatArch._fields)}), found {arch!r:.120}")
    e, d, eff, eh, dff, dsh, dch, dal = arch
    if not isinstance(dff, (tuple, list)) or not 1 <= len(dff) <= max(DECODER_LAYER_CHOICES):
        raise EncodingError(f"a HAT decoder has 1..{max(DECODER_LAYER_CHOICES)} layers, found {dff!r:.80}")
    n = len(dff)
    return HatArch(_choice(e, EMBED_CHOICES, "encoder embed dim"), _choice(d, EMBED_CHOICES, "decoder embed dim"),
                   _layers(eff, ENCODER_LAYERS, FFN_CHOICES, "encoder FFN dim"),
                   _layers(eh, ENCODER_LAYERS, HEAD_CHOICES, "encoder self-attention heads"),
                   _layers(dff, n, FFN_CHOICES, "decoder FFN dim"),
                   _layers(dsh, n, HEAD_CHOICES, "decoder self-attention heads"),
                   _layers(dch, n, HEAD_CHOICES, "decoder encoder-decoder attention heads"),
                   _layers(dal, n, ENDE_CHOICES, "decoder attended encoder layers"))


def format_arch(arch: HatArch) -> str:
    """``"e640:3072h8,...|d512:2048h8x4a1,..."`` (see the module docstring)."""
    return _format(check_arch(arch))


def _format(a: HatArch) -> str:
    enc = ",".join(f"{f}h{h}" for f, h in zip(a.encoder_ffn, a.encoder_heads))
    dec = ",".join(f"{f}h{s}x{c}a{k}" for f, s, c, k in
                   zip(a.decoder_ffn, a.decoder_self_heads, a.decoder_cross_heads, a.decoder_ende_layers))
    return f"e{a.encoder_embed_dim}:{enc}|d{a.decoder_embed_dim}:{dec}"


_PART = re.compile(r"^([ed])(\d+):(.+)$")
_ENC_LAYER = re.compile(r"^(\d+)h(\d+)$")
_DEC_LAYER = re.compile(r"^(\d+)h(\d+)x(\d+)a(\d+)$")


def parse_arch(text: str) -> HatArch:
    """The native string -> :class:`HatArch` (errors name the malformed part)."""
    if not isinstance(text, str):
        raise EncodingError(f"a HAT architecture string must be a str, found {type(text).__name__}")
    halves = text.strip().split("|")
    parts = [_PART.match(h) for h in halves]
    if len(halves) != 2 or not all(parts) or (parts[0].group(1), parts[1].group(1)) != ("e", "d"):
        raise EncodingError(f"HAT string must look like 'e640:3072h8,...(6 layers)|d512:2048h8x4a1,...', found {text!r:.200}")
    enc, dec = [], []
    for i, layer in enumerate(parts[0].group(3).split(",")):
        m = _ENC_LAYER.match(layer)
        if not m:
            raise EncodingError(f"HAT encoder layer {i} must be '<ffn>h<heads>' like '3072h8', found {layer!r} in {text!r:.200}")
        enc.append(tuple(map(int, m.groups())))
    for i, layer in enumerate(parts[1].group(3).split(",")):
        m = _DEC_LAYER.match(layer)
        if not m:
            raise EncodingError(f"HAT decoder layer {i} must be '<ffn>h<self heads>x<cross heads>a<attended layers>' "
                                f"like '2048h8x4a1', found {layer!r} in {text!r:.200}")
        dec.append(tuple(map(int, m.groups())))
    columns = list(zip(*dec)) if dec else [(), (), (), ()]
    return check_arch(HatArch(int(parts[0].group(2)), int(parts[1].group(2)), tuple(f for f, _ in enc),
                              tuple(h for _, h in enc), *map(tuple, columns)))


def from_hat_config(config: Mapping[str, Mapping[str, Any]]) -> HatArch:
    """HAT's config dict (``utils.sample_configs`` / ``get_subtransformer_config``) -> :class:`HatArch`.

    Per-layer lists may be longer than the layer count (HAT samples the attention choice for all
    six decoder layers); the extra entries are ignored.
    """
    try:
        enc, dec = config["encoder"], config["decoder"]
        ne, nd = int(enc["encoder_layer_num"]), int(dec["decoder_layer_num"])
        if ne != ENCODER_LAYERS:
            raise EncodingError(f"HAT SubTransformers have {ENCODER_LAYERS} encoder layers, found encoder_layer_num={ne}")
        codes = {code: n for n, code in ENDE_HAT_CODE.items()}
        attend = [codes.get(c) for c in list(dec["decoder_arbitrary_ende_attn"])[:nd]]
        if any(a is None for a in attend):
            raise EncodingError(f"decoder_arbitrary_ende_attn takes HAT's codes {sorted(codes)}, found "
                                f"{list(dec['decoder_arbitrary_ende_attn'])[:nd]}")
        return check_arch(HatArch(enc["encoder_embed_dim"], dec["decoder_embed_dim"],
                                  tuple(enc["encoder_ffn_embed_dim"][:ne]), tuple(enc["encoder_self_attention_heads"][:ne]),
                                  tuple(dec["decoder_ffn_embed_dim"][:nd]), tuple(dec["decoder_self_attention_heads"][:nd]),
                                  tuple(dec["decoder_ende_attention_heads"][:nd]), tuple(attend)))
    except (KeyError, TypeError, ValueError) as exc:
        raise EncodingError(f"expected HAT's config dict {{'encoder': {{...}}, 'decoder': {{...}}}} with the keys of "
                            f"utils.get_subtransformer_config, could not read it: {exc!r}") from None


# ---- HAT's latency features and their canonical representatives --------------------------------------

def features(arch: HatArch) -> tuple[float, ...]:
    """HAT's 10 latency-predictor features of ``arch`` (``utils.get_config_features``), in CSV column order."""
    a = check_arch(arch)

    def mean(values: Sequence[int]) -> float:
        return sum(values) / len(values)

    return (float(a.encoder_embed_dim), float(ENCODER_LAYERS), mean(a.encoder_ffn), mean(a.encoder_heads),
            float(a.decoder_embed_dim), float(a.decoder_layers), mean(a.decoder_ffn), mean(a.decoder_self_heads),
            mean(a.decoder_cross_heads), mean(a.decoder_ende_layers))


def format_features(values: Sequence[float]) -> str:
    """The 10 features as HAT's CSV writes them: dims and layer counts as ints, means as Python floats."""
    if len(values) != len(FEATURE_COLUMNS):
        raise EncodingError(f"HAT has {len(FEATURE_COLUMNS)} latency features ({', '.join(FEATURE_COLUMNS)}), found {len(values)}")
    return ",".join(str(int(v)) if k in (0, 1, 4, 5) else repr(float(v)) for k, v in enumerate(values))


@functools.lru_cache(maxsize=4096)
def _decompositions(choices: tuple[int, ...], n: int, total: int) -> tuple[tuple[int, ...], ...]:
    """Every multiset of ``n`` values from ``choices`` summing to ``total``, each sorted descending."""
    return tuple(m for m in itertools.combinations_with_replacement(sorted(choices, reverse=True), n) if sum(m) == total)


def _layer_values(mean: float, n: int, choices: tuple[int, ...], what: str) -> tuple[int, ...]:
    """The canonical per-layer values with mean ``mean`` (least variance, then lexicographically largest)."""
    total = mean * n
    rounded = round(total)
    if not math.isfinite(total) or abs(total - rounded) > 1e-6 * max(1.0, abs(total)):
        raise EncodingError(f"HAT {what} mean {mean!r} over {n} layers is not a whole sum of layer values")
    options = _decompositions(choices, n, int(rounded))
    if not options:
        raise EncodingError(f"HAT {what} mean {mean!r} over {n} layers cannot be reached with choices {list(choices)}")
    return min(options, key=lambda m: (sum(v * v for v in m), [-v for v in m]))


def _count(value: float, choices: Sequence[int], what: str) -> int:
    if not math.isfinite(value) or value != int(value) or int(value) not in choices:
        raise EncodingError(f"HAT {what} must be one of {list(choices)}, found {value!r}")
    return int(value)


@functools.lru_cache(maxsize=65536)
def from_features(values: tuple[float, ...]) -> HatArch:
    """The canonical representative of HAT's 10 features (see the module docstring)."""
    if len(values) != len(FEATURE_COLUMNS):
        raise EncodingError(f"HAT has {len(FEATURE_COLUMNS)} latency features ({', '.join(FEATURE_COLUMNS)}), found {len(values)}")
    e, ne, eff, eh, d, nd, dff, dsh, dch, dal = values
    ne = _count(ne, (ENCODER_LAYERS,), "encoder_layer_num")
    nd = _count(nd, DECODER_LAYER_CHOICES, "decoder_layer_num")
    return check_arch(HatArch(
        _count(e, EMBED_CHOICES, "encoder_embed_dim"), _count(d, EMBED_CHOICES, "decoder_embed_dim"),
        _layer_values(eff, ne, FFN_CHOICES, "encoder FFN dim"), _layer_values(eh, ne, HEAD_CHOICES, "encoder heads"),
        _layer_values(dff, nd, FFN_CHOICES, "decoder FFN dim"), _layer_values(dsh, nd, HEAD_CHOICES, "decoder self heads"),
        _layer_values(dch, nd, HEAD_CHOICES, "decoder cross heads"),
        _layer_values(dal, nd, ENDE_CHOICES, "decoder attended encoder layers")))


def parse_features(text: str) -> HatArch:
    """A CSV row form ``"512,6,1877.33...,..."`` (the 10 feature columns) -> its canonical representative."""
    parts = text.strip().split(",")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise EncodingError(f"a HAT feature row holds {len(FEATURE_COLUMNS)} numbers ({', '.join(FEATURE_COLUMNS)}), "
                            f"found {text!r:.200}") from None
    return from_features(values)


def determined(values: Sequence[float]) -> bool:
    """Whether HAT's features pin down the per-layer values (up to layer order): one multiset per field."""
    rep = from_features(tuple(float(v) for v in values))
    fields = ((rep.encoder_ffn, FFN_CHOICES), (rep.encoder_heads, HEAD_CHOICES), (rep.decoder_ffn, FFN_CHOICES),
              (rep.decoder_self_heads, HEAD_CHOICES), (rep.decoder_cross_heads, HEAD_CHOICES),
              (rep.decoder_ende_layers, ENDE_CHOICES))
    return all(len(_decompositions(choices, len(v), sum(v))) == 1 for v, choices in fields)


# ---- whole network -------------------------------------------------------------------------------------

def _attention(b: GraphBuilder, q_in: int, kv_in: int, heads: int, out_dim: int, causal: bool) -> int:
    """Multi-head attention: projections to QKV_DIM, per-head scaled softmax(Q K^T) V, output projection."""
    q = b.conv(q_in, QKV_DIM, 1, bias=True)
    k = b.conv(kv_in, QKV_DIM, 1, bias=True)
    v = b.conv(kv_in, QKV_DIM, 1, bias=True)
    qh, kh, vh = (b.add_node("split_heads", [t], groups=heads) for t in (q, k, v))
    scores = b.add_node("matmul", [qh, b.add_node("transpose", [kh])])
    weights = b.add_node("softmax", [scores], groups=QKV_DIM // heads, padding=int(causal))
    merged = b.add_node("merge_heads", [b.add_node("matmul", [weights, vh])])
    return b.conv(merged, out_dim, 1, bias=True)


def _ffn(b: GraphBuilder, x: int, hidden: int) -> int:
    d = b.shape(x)[0]
    return b.layer_norm(b.add(x, b.conv(b.relu(b.conv(x, hidden, 1, bias=True)), d, 1, bias=True)))


@functools.lru_cache(maxsize=None)
def _encoder_layer(dim: int, ffn: int, heads: int, length: int) -> Fragment:
    def body(b: GraphBuilder, x: int) -> int:
        x = b.layer_norm(b.add(x, _attention(b, x, x, heads, dim, causal=False)))
        return _ffn(b, x, ffn)

    return make_fragment([(dim, length, 1)], body)


@functools.lru_cache(maxsize=None)
def _decoder_layer(dim: int, enc_dim: int, ffn: int, self_heads: int, cross_heads: int, attended: int,
                   length: int) -> Fragment:
    def body(b: GraphBuilder, x: int, *memories: int) -> int:
        x = b.layer_norm(b.add(x, _attention(b, x, x, self_heads, dim, causal=True)))
        memory = memories[0] if attended == 1 else b.add_node("concat_seq", list(memories))
        x = b.layer_norm(b.add(x, _attention(b, x, memory, cross_heads, dim, causal=False)))
        return _ffn(b, x, ffn)

    return make_fragment([(dim, length, 1)] + [(enc_dim, length, 1)] * attended, body)


@functools.lru_cache(maxsize=None)
def _embedding(vocab: int, dim: int, length: int, table_dim: int = 0) -> Fragment:
    """Token embedding; ``table_dim`` > 0 ties it to an embedding node of that width (its 2nd input)."""
    shapes = [(1, length, 1)] + ([(table_dim, length, 1)] if table_dim else [])
    return make_fragment(shapes, lambda b, *xs: b.add_node("embedding", list(xs), groups=vocab, c_out=dim))


@functools.lru_cache(maxsize=None)
def _pos_encoding(dim: int, length: int) -> Fragment:
    return make_fragment([(dim, length, 1)], lambda b, x: b.add_node("pos_encoding", [x]))


@functools.lru_cache(maxsize=None)
def _head(dim: int, vocab: int, length: int, table_dim: int = 0) -> Fragment:
    shapes = [(dim, length, 1)] + ([(table_dim, length, 1)] if table_dim else [])
    return make_fragment(shapes, lambda b, *xs: b.output(b.add_node("unembed", list(xs), c_out=vocab)))


def build_network(arch: HatArch, task: Task) -> ComputationGraph:
    """The whole encoder-decoder SubTransformer for ``task`` as a computation graph (see the module doc).

    ``arch`` must be valid (:func:`check_arch`); :meth:`HatSpace.build_cg` checks it.
    """
    e, d, length = arch.encoder_embed_dim, arch.decoder_embed_dim, task.seq_len
    asm = Assembler()
    src = asm.input((1, length, 1))
    tgt = asm.input((1, length, 1))
    table = 0
    if not task.shared_embeddings:
        enc_emb = asm.add(_embedding(task.src_vocab, e, length), src)
        dec_emb = asm.add(_embedding(task.tgt_vocab, d, length), tgt)
    elif e >= d:  # one table of max(e, d) columns, owned by the wider embedding
        table = e
        enc_emb = owner = asm.add(_embedding(task.src_vocab, e, length), src)
        dec_emb = asm.add(_embedding(task.tgt_vocab, d, length, e), tgt, owner)
    else:
        table = d
        dec_emb = owner = asm.add(_embedding(task.tgt_vocab, d, length), tgt)
        enc_emb = asm.add(_embedding(task.src_vocab, e, length, d), src, owner)
    x = asm.add(_pos_encoding(e, length), enc_emb)
    encoder_outputs = []
    for ffn, heads in zip(arch.encoder_ffn, arch.encoder_heads):
        x = asm.add(_encoder_layer(e, ffn, heads, length), x)
        encoder_outputs.append(x)
    y = asm.add(_pos_encoding(d, length), dec_emb)
    last_first = encoder_outputs[::-1]
    for ffn, sh, ch, k in zip(arch.decoder_ffn, arch.decoder_self_heads, arch.decoder_cross_heads, arch.decoder_ende_layers):
        y = asm.add(_decoder_layer(d, e, ffn, sh, ch, k, length), y, *last_first[:k])
    if table:
        asm.add(_head(d, task.tgt_vocab, length, table), y, owner)
    else:
        asm.add(_head(d, task.tgt_vocab, length), y)
    return asm.finish("hat", _format(arch), (1, length, 1), task.tgt_vocab, task.name)


def embedding_params(graph: ComputationGraph) -> int:
    """Parameters of the embedding tables and output projection (what HAT's "model size" leaves out)."""
    return sum(p for op, p in zip(graph.ops, graph.nodes["params"]) if op in ("embedding", "unembed"))


# ---- the search space ----------------------------------------------------------------------------------

@SPACES.register("hat")
class HatSpace(SearchSpace):
    """HAT's SubTransformer space (2^2 x 12^6 x sum_n 108^n, about 1.9e19 networks) on four translation tasks.

    ``parse`` reads the native string or a latency-CSV row form (its canonical representative);
    ``coerce`` also takes a :class:`HatArch` or HAT's config dict.
    """

    name = "hat"
    configs = CONFIGS

    def parse(self, text: str) -> HatArch:
        if isinstance(text, str) and ":" not in text and text.count(",") == len(FEATURE_COLUMNS) - 1:
            return parse_features(text)
        return parse_arch(text)

    def format(self, arch: HatArch) -> str:
        return format_arch(arch)

    def coerce(self, arch: Any) -> HatArch:
        if isinstance(arch, str):
            return self.parse(arch)
        if isinstance(arch, Mapping):
            return from_hat_config(arch)
        return check_arch(arch)

    def sample(self, rng: random.Random) -> HatArch:
        """Every choice uniform and independent, as HAT's ``utils.sample_configs``."""
        if not isinstance(rng, random.Random):
            raise TypeError(f"sample needs a random.Random (e.g. random.Random(seed)), found {type(rng).__name__}")
        e, d = rng.choice(EMBED_CHOICES), rng.choice(EMBED_CHOICES)
        enc = [(rng.choice(FFN_CHOICES), rng.choice(HEAD_CHOICES)) for _ in range(ENCODER_LAYERS)]
        n = rng.choice(DECODER_LAYER_CHOICES)
        dec = [self._random_decoder_layer(rng) for _ in range(n)]
        return HatArch(e, d, *map(tuple, zip(*enc)), *map(tuple, zip(*dec)))

    @staticmethod
    def _random_decoder_layer(rng: random.Random) -> tuple[int, int, int, int]:
        return rng.choice(FFN_CHOICES), rng.choice(HEAD_CHOICES), rng.choice(HEAD_CHOICES), rng.choice(ENDE_CHOICES)

    def mutate(self, arch: HatArch, rng: random.Random) -> HatArch:
        """Change one uniformly chosen gene (an embed dim, the decoder depth, or one layer's choice) to another value.

        A deeper decoder gets new layers drawn uniformly; a shallower one drops its last layers.
        """
        if not isinstance(rng, random.Random):
            raise TypeError(f"mutate needs a random.Random (e.g. random.Random(seed)), found {type(rng).__name__}")
        a = self.coerce(arch)
        fields = {name: list(value) if isinstance(value, tuple) else value for name, value in a._asdict().items()}
        choices = {"encoder_ffn": FFN_CHOICES, "encoder_heads": HEAD_CHOICES, "decoder_ffn": FFN_CHOICES,
                   "decoder_self_heads": HEAD_CHOICES, "decoder_cross_heads": HEAD_CHOICES,
                   "decoder_ende_layers": ENDE_CHOICES}
        genes = [("encoder_embed_dim", None), ("decoder_embed_dim", None), ("decoder_layers", None)]
        genes += [(name, i) for name in choices for i in range(len(fields[name]))]
        name, i = genes[rng.randrange(len(genes))]
        if name == "decoder_layers":
            n = rng.choice([k for k in DECODER_LAYER_CHOICES if k != a.decoder_layers])
            layers = list(zip(a.decoder_ffn, a.decoder_self_heads, a.decoder_cross_heads, a.decoder_ende_layers))[:n]
            layers += [self._random_decoder_layer(rng) for _ in range(n - len(layers))]
            return HatArch(a.encoder_embed_dim, a.decoder_embed_dim, a.encoder_ffn, a.encoder_heads,
                           *map(tuple, zip(*layers)))
        if i is None:
            fields[name] = rng.choice([v for v in EMBED_CHOICES if v != fields[name]])
        else:
            fields[name][i] = rng.choice([v for v in choices[name] if v != fields[name][i]])
        return HatArch(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})

    def size(self) -> int:
        return NUM_ARCHS

    def representative(self, arch: HatArch) -> HatArch:
        """The canonical member of ``arch``'s class of SubTransformers with equal HAT latency features."""
        return from_features(features(self.coerce(arch)))

    def build_cg(self, arch: HatArch | str, config: str | None = None) -> ComputationGraph:
        return build_network(self.coerce(arch), TASKS[self.config(config).name])

    def named(self, name: str) -> HatArch:
        """A published HAT SubTransformer by its config name (see :data:`PUBLISHED`)."""
        try:
            return PUBLISHED[name]
        except KeyError:
            raise EncodingError(f"unknown published HAT SubTransformer {name!r}; expected one of: {', '.join(PUBLISHED)}") from None


__all__ = ["CONFIGS", "DECODER_LAYER_CHOICES", "EMBED_CHOICES", "ENCODER_LAYERS", "ENDE_CHOICES", "ENDE_HAT_CODE",
           "FEATURE_COLUMNS", "FFN_CHOICES", "HEAD_CHOICES", "HatArch", "HatSpace", "NUM_ARCHS", "PUBLISHED", "QKV_DIM",
           "TASKS", "Task", "build_network", "check_arch", "determined", "embedding_params", "features",
           "format_arch", "format_features", "from_features", "from_hat_config", "parse_arch", "parse_features"]
