"""Computation graphs: the CG record, op vocabulary, hashing, conversions and search spaces."""
from .cg import NODE_FIELDS, ComputationGraph, GraphBuilder, Node
from .ops import OPS, VOCAB_VERSION, get_op, list_ops
from .spaces import get_space, list_spaces

__all__ = [
    "NODE_FIELDS", "ComputationGraph", "GraphBuilder", "Node", "OPS", "VOCAB_VERSION",
    "get_op", "list_ops", "get_space", "list_spaces",
]
