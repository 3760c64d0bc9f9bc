"""NAS-Bench-Graph: 26,206 GNN architectures for node classification on nine graph datasets.

An architecture is a DAG of four computing nodes: node ``i + 1`` applies op ``ops[i]`` to node
``link[i]`` (0 is the input), and every node no other node reads (a leaf) feeds the output.
Ops are the benchmark's nine (:data:`NBG_OPS`, in its own order): ``gat`` (2 heads), ``gcn``,
``gin``, ``cheb`` (K = 2), ``sage``, ``arma``, ``graph`` (k-GNN GraphConv), ``fc`` (linear) and
``skip``. The native encoding is ``"link=0,0,1,2;ops=gcn,gat,sage,fc"``.

This module reproduces the benchmark package's own facts (``nas_bench_graph/architecture.py``):

- its de-duplication: ``Arch.valid_hash`` = re-order to a canonical link pattern, move skip
  connections (``move_skip_op``), sort interchangeable ops (``equalpart_sort``), then a base-10
  code (:func:`canonical`, :func:`benchmark_key`); the 26,206 canonical architectures in the
  order of its ``all_archs()`` (:func:`all_archs`); 2,021 of them use only the five ops trained on
  ogbn-proteins (:data:`PROTEINS_OPS`);
- the trained network (:func:`build_network`), with each dataset's hyper-parameters
  (:data:`DATASETS`; pre-/post-processing linear layers and hidden size, found by matching the
  benchmark's parameter counts exactly, see below).

The network, as the benchmark trains it: optional pre-processing linear layers, then the cell:
every op reads its input node through its own BatchNorm + ReLU (dropout is not part of the
graph) unless that node still holds the raw input features (the input itself, or a chain of
``skip`` from it, when there is no pre-processing layer); the leaves are concatenated, passed
through ReLU and a linear layer (to the hidden size if a post-processing layer follows, else to
the classes); then optional post-processing linear layers. Per-node linear layers are ``conv``
1x1 nodes on the node-feature layout ``(C, N, 1)`` of :mod:`archbench.graphs.ops`, and the graph
convolutions record the dataset's edge count. The benchmark allocates a BatchNorm for every op
even where the op reads the raw features and the norm is never used; those unused norms are
counted in its ``para`` but are no nodes of the graph, so
``graph.params == para - 2 * hidden * unused_norms(arch, dataset)`` (:func:`unused_norms`),
exactly, for every architecture of every dataset but 1,567 of physics, whose ``para`` is a
non-integer mean over the three seed files (a data anomaly of the benchmark).

Differences in ogbn-proteins training that the graph does not show: the benchmark used
``adj_t`` for the non-GCN ops and trained GCN/GAT without self-loops and normalization there;
the graph uses the standard layers (same parameters).
"""
from __future__ import annotations

import functools
import itertools
import random
from dataclasses import dataclass
from typing import Any, Iterator

from archbench.errors import EncodingError

from ..cg import ComputationGraph, GraphBuilder
from .base import SPACES, NetworkConfig, SearchSpace

#: The benchmark's ops in its own order (``gnn_list``; the order defines its hash digits).
NBG_OPS: tuple[str, ...] = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")
#: Ops trained on ogbn-proteins (``gnn_list_proteins``).
PROTEINS_OPS: tuple[str, ...] = ("gcn", "sage", "arma", "fc", "skip")
#: The benchmark's nine canonical link patterns (``link_list``), in hash order.
LINKS: tuple[tuple[int, int, int, int], ...] = (
    (0, 0, 0, 0), (0, 0, 0, 1), (0, 0, 1, 1), (0, 0, 1, 2), (0, 0, 1, 3),
    (0, 1, 1, 1), (0, 1, 1, 2), (0, 1, 2, 2), (0, 1, 2, 3),
)
#: ``Arch.regularize``: each other valid link pattern -> (canonical pattern, op permutation);
#: the new ops are ``[ops[p[0]], ..., ops[p[3]]]``.
_REGULARIZE: dict[tuple[int, ...], tuple[tuple[int, ...], tuple[int, ...]]] = {
    (0, 0, 0, 2): ((0, 0, 0, 1), (1, 0, 2, 3)), (0, 0, 0, 3): ((0, 0, 0, 1), (2, 0, 1, 3)),
    (0, 0, 1, 0): ((0, 0, 0, 1), (0, 1, 3, 2)), (0, 0, 2, 0): ((0, 0, 0, 1), (1, 0, 3, 2)),
    (0, 0, 2, 1): ((0, 0, 1, 2), (1, 0, 2, 3)), (0, 0, 2, 2): ((0, 0, 1, 1), (1, 0, 2, 3)),
    (0, 0, 2, 3): ((0, 0, 1, 3), (1, 0, 2, 3)), (0, 1, 0, 0): ((0, 0, 0, 1), (0, 2, 3, 1)),
    (0, 1, 0, 1): ((0, 0, 1, 1), (0, 2, 1, 3)), (0, 1, 0, 2): ((0, 0, 1, 3), (0, 2, 1, 3)),
    (0, 1, 0, 3): ((0, 0, 1, 2), (0, 2, 1, 3)), (0, 1, 1, 0): ((0, 0, 1, 1), (0, 3, 1, 2)),
    (0, 1, 1, 3): ((0, 1, 1, 2), (0, 2, 1, 3)), (0, 1, 2, 0): ((0, 0, 1, 3), (0, 3, 1, 2)),
    (0, 1, 2, 1): ((0, 1, 1, 2), (0, 1, 3, 2)),
}
#: Every valid link pattern (node i + 1 reads a node <= i): the canonical nine, then the rest.
ALL_LINKS: tuple[tuple[int, ...], ...] = LINKS + tuple(_REGULARIZE)
#: ``move_skip_op``'s final fix-ups: link pattern -> op permutation, giving ``(0, 1, 1, 2)``.
_SKIP_FIXUPS: dict[tuple[int, ...], tuple[int, ...]] = {(0, 1, 2, 1): (0, 1, 3, 2), (0, 1, 1, 3): (0, 2, 1, 3)}
#: ``equalpart_sort``: link pattern -> positions whose ops are interchangeable (sorted by op order).
_INTERCHANGEABLE: dict[tuple[int, ...], tuple[int, ...]] = {
    (0, 0, 0, 0): (0, 1, 2, 3), (0, 0, 0, 1): (1, 2), (0, 0, 1, 1): (2, 3), (0, 1, 1, 1): (1, 2, 3), (0, 1, 2, 2): (2, 3),
}
#: The pattern whose two branches (ops 0, 2 and ops 1, 3) are swapped as pairs.
_PAIR_SWAP = (0, 0, 1, 2)

_OP_INDEX = {op: i for i, op in enumerate(NBG_OPS)}
_LINK_INDEX = {link: i for i, link in enumerate(ALL_LINKS)}

Arch = tuple[tuple[int, int, int, int], tuple[str, str, str, str]]


# ---- encoding ------------------------------------------------------------------------------------

def _check(link: Any, ops: Any, text: Any = None) -> Arch:
    where = f" in {text!r}" if text is not None else ""
    link, ops = tuple(link), tuple(ops)
    if len(link) != 4 or len(ops) != 4:
        raise EncodingError(f"NAS-Bench-Graph architecture needs 4 links and 4 ops, found {len(link)} and {len(ops)}{where}")
    if link not in _LINK_INDEX:
        raise EncodingError(f"NAS-Bench-Graph link list must have link[i] in 0..i (node i+1 reads an earlier node), "
                            f"found {list(link)}{where}")
    for op in ops:
        if op not in _OP_INDEX:
            raise EncodingError(f"unknown NAS-Bench-Graph op {op!r}{where}; expected one of: {', '.join(NBG_OPS)}")
    if all(op == "skip" for op in ops):
        raise EncodingError(f"NAS-Bench-Graph excludes the cell of four skip ops (it computes nothing){where}")
    return link, ops  # type: ignore[return-value]


def parse_arch(text: str) -> Arch:
    """``"link=0,0,1,2;ops=gcn,gat,sage,fc"`` -> ``((0, 0, 1, 2), ("gcn", "gat", "sage", "fc"))``."""
    if not isinstance(text, str):
        raise EncodingError(f"NAS-Bench-Graph architecture must be a string like 'link=0,0,1,2;ops=gcn,gat,sage,fc', "
                            f"found {type(text).__name__}")
    parts = dict(p.partition("=")[::2] for p in text.strip().split(";"))
    if set(parts) != {"link", "ops"}:
        raise EncodingError(f"NAS-Bench-Graph encoding must be 'link=a,b,c,d;ops=op,op,op,op', found {text!r}")
    try:
        link = tuple(int(v) for v in parts["link"].split(","))
    except ValueError:
        raise EncodingError(f"NAS-Bench-Graph links must be integers, found {parts['link']!r} in {text!r}") from None
    return _check(link, parts["ops"].split(","), text)


def format_arch(arch: Arch) -> str:
    """Architecture -> ``"link=0,0,1,2;ops=gcn,gat,sage,fc"``."""
    link, ops = _check(*arch)
    return f"link={','.join(map(str, link))};ops={','.join(ops)}"


# ---- the benchmark's de-duplication ---------------------------------------------------------------

def _permute(ops: tuple[str, ...], perm: tuple[int, ...]) -> tuple[str, ...]:
    return tuple(ops[i] for i in perm)


def _move_skips(link: tuple[int, ...], ops: tuple[str, ...]) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """``Arch.move_skip_op``: move skip ops to the front where they only re-route a node.

    Positions are visited in order while the lists change under the loop, as in the benchmark.
    """
    lk, op = list(link), list(ops)
    for i in range(4):
        if op[i] != "skip":
            continue
        has_child = i + 1 in lk
        has_sibling = any(j != i and f == lk[i] for j, f in enumerate(lk))
        k, raw = i, True  # is node i + 1 the raw input through a chain of skips?
        while k > -1:
            if op[k] != "skip":
                raw = False
                break
            k = lk[k] - 1
        if has_child or not has_sibling or (raw and not has_child):
            op = [op[i]] + op[:i] + op[i + 1:]
            for j in range(4):
                father = lk[j]
                if father == i + 1:
                    lk[j] = lk[i]
                if father <= i:
                    lk[j] += 1
            lk = [0] + lk[:i] + lk[i + 1:]
    t = tuple(lk)
    if t in _SKIP_FIXUPS:
        return (0, 1, 1, 2), _permute(tuple(op), _SKIP_FIXUPS[t])
    return t, tuple(op)


def _sort_interchangeable(link: tuple[int, ...], ops: tuple[str, ...]) -> tuple[str, ...]:
    """``Arch.equalpart_sort``: ops in interchangeable positions in the benchmark's op order."""
    if link in _INTERCHANGEABLE:
        pos = _INTERCHANGEABLE[link]
        out = list(ops)
        for p, op in zip(pos, sorted((ops[p] for p in pos), key=_OP_INDEX.__getitem__)):
            out[p] = op
        return tuple(out)
    if link == _PAIR_SWAP:
        a, b = _OP_INDEX[ops[0]], _OP_INDEX[ops[1]]
        if a > b or (a == b and _OP_INDEX[ops[2]] > _OP_INDEX[ops[3]]):
            return _permute(ops, (1, 0, 3, 2))
    return ops


def canonical(arch: Arch) -> Arch:
    """The benchmark's canonical form of ``arch`` (what ``Arch.valid_hash`` hashes)."""
    link, ops = _check(*arch)
    if link in _REGULARIZE:
        link, perm = _REGULARIZE[link]
        ops = _permute(ops, perm)
    link, ops = _move_skips(link, ops)
    return link, _sort_interchangeable(link, ops)  # type: ignore[return-value]


def code(arch: Arch) -> int:
    """``Arch.hash_arch`` extended to all 24 link patterns: link index, then one digit per op.

    Injective; for the nine canonical patterns it is the benchmark's own ``hash_arch``.
    """
    link, ops = arch
    h = _LINK_INDEX[tuple(link)]
    for op in ops:
        h = h * 10 + _OP_INDEX[op]
    return h


def benchmark_key(arch: Arch) -> int:
    """The key of ``arch`` in the benchmark's ``.bench`` dicts (``Arch(link, ops).valid_hash()``)."""
    return code(canonical(arch))


@functools.lru_cache(maxsize=1)
def all_archs() -> tuple[Arch, ...]:
    """The 26,206 canonical architectures in the order of the benchmark's ``all_archs()``."""
    out = []
    for ops in itertools.product(NBG_OPS, repeat=4):
        if all(op == "skip" for op in ops):
            continue
        for link in LINKS:
            moved = _move_skips(link, ops)
            if moved[0] == link and _sort_interchangeable(link, moved[1]) == ops:
                out.append((link, ops))
    return tuple(out)


@functools.lru_cache(maxsize=1)
def _by_key() -> dict[int, Arch]:
    return {code(a): a for a in all_archs()}


def arch_from_benchmark_key(key: int) -> Arch:
    """The canonical architecture with benchmark key ``key`` (raises for a key of no architecture)."""
    try:
        return _by_key()[int(key)]
    except (KeyError, ValueError, TypeError):
        raise EncodingError(f"{key!r} is no NAS-Bench-Graph architecture key (Arch.valid_hash() of one of the "
                            f"{len(all_archs()):,} canonical architectures)") from None


# ---- datasets and the trained network ---------------------------------------------------------------

@dataclass(frozen=True)
class GraphDataset:
    """A NAS-Bench-Graph dataset: graph size (public dataset facts) and the benchmark's network hyper-parameters.

    ``edges`` counts the columns of the dataset's ``edge_index`` as torch_geometric / OGB load it
    (both directions of an undirected edge). ``pre``/``post`` are the numbers of linear
    pre-/post-processing layers and ``hidden`` the hidden size of the trained networks.
    """

    name: str
    nodes: int
    edges: int
    features: int
    classes: int
    pre: int
    post: int
    hidden: int

    @property
    def config(self) -> NetworkConfig:
        return NetworkConfig(self.name, (self.features, self.nodes, 1), self.classes)


# fmt: off
#: The nine datasets (Planetoid, Coauthor, Amazon as in torch_geometric; ogbn-* as in OGB, proteins
#: with its 8 edge-feature dimensions as node features and 112 binary tasks as outputs).
#: pre/post/hidden reproduce the benchmark's ``para`` of every architecture (see the module doc).
DATASETS: dict[str, GraphDataset] = {d.name: d for d in (
    GraphDataset("cora",      2_708,     10_556,  1_433,   7, pre=0, post=1, hidden=256),
    GraphDataset("citeseer",  3_327,      9_104,  3_703,   6, pre=0, post=1, hidden=256),
    GraphDataset("pubmed",   19_717,     88_648,    500,   3, pre=0, post=0, hidden=128),
    GraphDataset("cs",       18_333,    163_788,  6_805,  15, pre=1, post=0, hidden=128),
    GraphDataset("physics",  34_493,    495_924,  8_415,   5, pre=1, post=0, hidden=256),
    GraphDataset("photo",     7_650,    238_162,    745,   8, pre=0, post=0, hidden=128),
    GraphDataset("computers", 13_752,   491_722,    767,  10, pre=1, post=1, hidden=64),
    GraphDataset("arxiv",   169_343,  1_166_243,    128,  40, pre=0, post=1, hidden=128),
    GraphDataset("proteins", 132_534, 79_122_504,     8, 112, pre=1, post=1, hidden=256),
)}
# fmt: on

CONFIGS: dict[str, NetworkConfig] = {name: d.config for name, d in DATASETS.items()}

#: The benchmark's graph ops -> (vocabulary op, kernel attribute: heads / K / stacks).
_GNN_OPS: dict[str, tuple[str, int]] = {
    "gat": ("gat_conv", 2), "gcn": ("gcn_conv", 0), "gin": ("gin_conv", 0), "cheb": ("cheb_conv", 2),
    "sage": ("sage_conv", 0), "arma": ("arma_conv", 1), "graph": ("graph_conv", 0),
}
assert set(_GNN_OPS) | {"fc", "skip"} == set(NBG_OPS), "every NAS-Bench-Graph op needs a CG fragment"


def _raw_nodes(arch: Arch, dataset: GraphDataset) -> list[bool]:
    """Per cell node 0..4: does it hold the raw input features (benchmark: ``res_in_dim``)?"""
    link, ops = arch
    raw = [dataset.pre == 0] + [False] * 4
    for i, (lk, op) in enumerate(zip(link, ops)):
        raw[i + 1] = raw[lk] and op == "skip"
    return raw


def unused_norms(arch: Arch, dataset: str | GraphDataset) -> int:
    """Batch norms the benchmark allocates but never uses (ops reading the raw input features)."""
    d = DATASETS[dataset] if isinstance(dataset, str) else dataset
    raw = _raw_nodes(arch, d)
    return sum(raw[lk] for lk in arch[0])


def build_network(arch: Arch, dataset: GraphDataset) -> ComputationGraph:
    """The network NAS-Bench-Graph trains for ``arch`` on ``dataset``, as a computation graph."""
    link, ops = _check(*arch)
    d = dataset
    b = GraphBuilder("nasbench_graph", format_arch((link, ops)), (d.features, d.nodes, 1), d.classes, d.name)
    x = b.input()
    for _ in range(d.pre):
        x = b.conv(x, d.hidden, 1, bias=True)
    raw = _raw_nodes((link, ops), d)
    nodes = [x]
    for lk, op in zip(link, ops):
        h = nodes[lk]
        if not raw[lk]:
            h = b.relu(b.batch_norm(h))
        if op == "skip":
            h = b.identity(h)
        elif op == "fc":
            h = b.conv(h, d.hidden, 1, bias=True)
        else:
            name, k = _GNN_OPS[op]
            h = b.add_node(name, [h], kernel=k, groups=d.edges, bias=1, c_out=d.hidden)
        nodes.append(h)
    leaves = [nodes[i] for i in range(1, 5) if i not in link]
    h = b.relu(b.concat(*leaves) if len(leaves) > 1 else leaves[0])
    h = b.conv(h, d.hidden if d.post else d.classes, 1, bias=True)
    for j in range(d.post):
        h = b.conv(h, d.classes if j == d.post - 1 else d.hidden, 1, bias=True)
    return b.output(h)


# ---- the search space ---------------------------------------------------------------------------------

@SPACES.register("nasbench_graph")
class NASBenchGraphSpace(SearchSpace):
    """NAS-Bench-Graph: 26,206 canonical 4-node GNN cells, nine dataset configurations.

    An architecture is ``(link, ops)``: four input indices and four op names (:data:`NBG_OPS`).
    Any valid link list parses; :meth:`representative` gives the benchmark's canonical form,
    which :meth:`enumerate` lists. ``arch_key`` is :func:`code`, the benchmark's ``hash_arch``
    for the canonical link patterns (``arch_id`` of a canonical architecture is
    ``"nasbench_graph:<its .bench key>"``, zero-padded to 5 digits).
    """

    name = "nasbench_graph"
    configs = CONFIGS

    def parse(self, text: str) -> Arch:
        return parse_arch(text)

    def format(self, arch: Arch) -> str:
        return format_arch(arch)

    def coerce(self, arch: Any) -> Arch:
        if isinstance(arch, str):
            return parse_arch(arch)
        if not (isinstance(arch, (tuple, list)) and len(arch) == 2):
            raise EncodingError(f"NAS-Bench-Graph architecture must be a string or a (link, ops) pair, "
                                f"found {type(arch).__name__} {arch!r}")
        return _check(*arch)

    def sample(self, rng: random.Random) -> Arch:
        """A canonical architecture drawn uniformly from the 26,206."""
        if not isinstance(rng, random.Random):
            raise TypeError(f"sample needs a random.Random (e.g. random.Random(seed)), found {type(rng).__name__}")
        return rng.choice(all_archs())

    def mutate(self, arch: Arch, rng: random.Random) -> Arch:
        """Change one op or the link pattern; returns a canonical architecture of another class."""
        if not isinstance(rng, random.Random):
            raise TypeError(f"mutate needs a random.Random (e.g. random.Random(seed)), found {type(rng).__name__}")
        start = canonical(self.coerce(arch))
        link, ops = start
        while True:
            if rng.random() < 0.2:
                new = (rng.choice([lk for lk in LINKS if lk != link]), ops)
            else:
                i = rng.randrange(4)
                new_ops = list(ops)
                new_ops[i] = rng.choice([op for op in NBG_OPS if op != ops[i]])
                new = (link, tuple(new_ops))
            if all(op == "skip" for op in new[1]):
                continue
            out = canonical(new)
            if out != start:
                return out

    def enumerate(self) -> Iterator[Arch]:
        """The 26,206 canonical architectures in the benchmark's order."""
        return iter(all_archs())

    def size(self) -> int:
        return len(all_archs())

    def representative(self, arch: Arch) -> Arch:
        return canonical(self.coerce(arch))

    def arch_key(self, arch: Arch) -> str:
        return f"{code(self.coerce(arch)):05d}"

    def benchmark_key(self, arch: Arch | str) -> int:
        return benchmark_key(self.coerce(arch))

    def build_cg(self, arch: Arch | str, config: str | None = None) -> ComputationGraph:
        return build_network(self.coerce(arch), DATASETS[self.config(config).name])
