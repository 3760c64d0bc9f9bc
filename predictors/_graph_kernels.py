"""Compiled loops (numba) behind :mod:`archbench.predictors.features`: one pass over nodes and edges.

The dynamic programs over millions of nodes are sequential along each graph's topological order,
which numpy can only vectorize across graphs at the cost of dozens of full-array passes per step;
compiled, each is one O(N + E) loop. Compiled code is cached on disk (``cache=True``), so only the
first call after an install pays for compilation. Sums run in edge order from 0.0, the order the
numpy version used, so results are bit-identical to it.
"""
from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def csr(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Stable counting sort of ``keys`` in ``[0, n)``: row pointer ``(n + 1,)`` and the item order ``(E,)``."""
    ptr = np.zeros(n + 1, dtype=np.int64)
    for k in keys:
        ptr[k + 1] += 1
    for i in range(n):
        ptr[i + 1] += ptr[i]
    fill = ptr[:-1].copy()
    order = np.empty(keys.size, dtype=np.int64)
    for e in range(keys.size):
        k = keys[e]
        order[fill[k]] = e
        fill[k] += 1
    return ptr, order


@njit(cache=True)
def structure(src: np.ndarray, dst: np.ndarray, n: int, is_input: np.ndarray, is_output: np.ndarray,
              is_zero: np.ndarray, weighted: np.ndarray):
    """Forward and backward path dynamic programs over global nodes ``0..n-1`` in topological order.

    Returns ``(paths_in, wsum_in, wsq_in, level, wmax_in, wmin_in, paths_out, wmax_out)``
    (see :class:`~archbench.predictors.features.Structure`; depths are -inf/+inf where no live
    path passes, mapped to -1 by the caller).
    """
    in_ptr, in_order = csr(dst, n)
    pin, s1, s2 = np.zeros(n), np.zeros(n), np.zeros(n)
    level = np.zeros(n, dtype=np.int64)
    wmax, wmin = np.full(n, -np.inf), np.full(n, np.inf)
    for i in range(n):
        if is_input[i]:
            pin[i], wmax[i], wmin[i] = 1.0, 0.0, 0.0
        a, b = in_ptr[i], in_ptr[i + 1]
        if a < b:
            cnt, a1, a2, m0, m1, lo = 0.0, 0.0, 0.0, 0, -np.inf, np.inf
            for e in in_order[a:b]:
                s = src[e]
                cnt += pin[s]
                a1 += s1[s]
                a2 += s2[s]
                m0 = max(m0, level[s])
                m1 = max(m1, wmax[s])
                lo = min(lo, wmin[s])
            wn = 1.0 if weighted[i] else 0.0
            s2[i] = a2 + 2.0 * wn * a1 + wn * cnt
            s1[i] = a1 + wn * cnt
            pin[i] = cnt
            level[i] = m0 + 1
            wmax[i] = m1 + wn
            wmin[i] = lo + wn
        if is_zero[i]:  # a zero op cuts every path through it (its level still counts)
            pin[i], s1[i], s2[i], wmax[i], wmin[i] = 0.0, 0.0, 0.0, -np.inf, np.inf

    # Backward: paths to the output and the most weight layers after a node ("down" includes it).
    out_ptr, out_order = csr(src, n)
    pout, wout, down = np.zeros(n), np.full(n, -np.inf), np.full(n, -np.inf)
    for i in range(n - 1, -1, -1):
        wn = 1.0 if weighted[i] else 0.0
        if is_output[i] or is_zero[i]:
            if is_output[i]:
                pout[i], wout[i], down[i] = 1.0, 0.0, wn
            continue
        a, b = out_ptr[i], out_ptr[i + 1]
        if a < b:
            cnt, deep = 0.0, -np.inf
            for e in out_order[a:b]:
                d = dst[e]
                cnt += pout[d]
                deep = max(deep, down[d])
            pout[i], wout[i], down[i] = cnt, deep, deep + wn
    return pin, s1, s2, level, wmax, wmin, pout, wout


#: De Bruijn sequence and table: the index of a 64-bit word's lowest set bit in two operations.
_DEBRUIJN = 0x03F79D71B4CB0A89
_DEBRUIJN_INDEX = np.zeros(64, dtype=np.int64)
for _i in range(64):
    _DEBRUIJN_INDEX[(((1 << _i) * _DEBRUIJN) % (1 << 64)) >> 58] = _i


@njit(cache=True)
def flow_edges(node_ptr: np.ndarray, src: np.ndarray, dst: np.ndarray, live: np.ndarray, flow: np.ndarray):
    """Pairs ``u -> v`` of live flow ops joined by a live path through non-flow ops only.

    Sorted by ``u`` then ``v`` (global node indices, int64). Per graph, one backward pass over its
    nodes keeps a bit set over the graph's flow ops for every node: a live flow op passes on its
    own bit, a live non-flow op what reaches it, a dead node nothing.
    """
    n = node_ptr[-1]
    ptr, order = csr(src, n)
    succ = dst[order]
    us, vs = np.empty(1 << 16, dtype=np.int64), np.empty(1 << 16, dtype=np.int64)
    size = 0
    rank = np.full(n, -1, dtype=np.int64)
    for g in range(node_ptr.size - 1):
        a, b = node_ptr[g], node_ptr[g + 1]
        nf = 0
        for i in range(a, b):
            if flow[i]:
                rank[i] = nf
                nf += 1
        if nf == 0:
            continue
        words = (nf + 63) // 64
        flow_node = np.empty(nf, dtype=np.int64)
        for i in range(a, b):
            if flow[i]:
                flow_node[rank[i]] = i
        val = np.zeros((b - a, words), dtype=np.uint64)
        reach = np.zeros((nf, words), dtype=np.uint64)
        for i in range(b - 1, a - 1, -1):
            if not live[i]:
                continue
            row = val[i - a]
            if flow[i]:
                r = reach[rank[i]]
                for e in range(ptr[i], ptr[i + 1]):
                    r |= val[succ[e] - a]
                row[rank[i] // 64] = np.uint64(1) << np.uint64(rank[i] % 64)
            else:
                for e in range(ptr[i], ptr[i + 1]):
                    row |= val[succ[e] - a]
        for f in range(nf):
            u = flow_node[f]
            if not live[u]:
                continue
            for w in range(words):
                bits = reach[f, w]
                while bits:
                    low = bits & (~bits + np.uint64(1))
                    if size == us.size:
                        us, vs = _resize(us, size, 2 * size), _resize(vs, size, 2 * size)
                    us[size] = u
                    vs[size] = flow_node[64 * w + _DEBRUIJN_INDEX[(low * np.uint64(_DEBRUIJN)) >> np.uint64(58)]]
                    size += 1
                    bits ^= low
    return us[:size].copy(), vs[:size].copy()


@njit(cache=True)
def count_walks(node_ptr: np.ndarray, ptr: np.ndarray, succ: np.ndarray, token: np.ndarray, k: int, max_length: int):
    """Every walk of 2 to ``max_length`` (at most 4) nodes over the adjacency ``ptr``/``succ``, counted per graph.

    A walk ``x1 -> ... -> xL`` has the code ``offset(L) + (((token[x1] * k + token[x2]) * k) + ...)``,
    with ``offset(2) = 0`` and ``offset(L + 1) = offset(L) + k ** L`` (``token`` in ``[0, k)``).
    Returns ``(graph, code, count)`` int64 triples, one per graph and code it has.
    """
    size = 0
    for length in range(2, max_length + 1):
        size += k ** length
    seen = np.zeros(size, dtype=np.int64)  # counts of the current graph, reset after it
    touched = np.empty(size, dtype=np.int64)
    out_g, out_c, out_n = np.empty(1 << 12, np.int64), np.empty(1 << 12, np.int64), np.empty(1 << 12, np.int64)
    m = 0
    o3, o4 = k * k, k * k + k * k * k
    for g in range(node_ptr.size - 1):
        t = 0
        for x1 in range(node_ptr[g], node_ptr[g + 1]):
            for e1 in range(ptr[x1], ptr[x1 + 1]):
                x2 = succ[e1]
                c2 = token[x1] * k + token[x2]
                if seen[c2] == 0:
                    touched[t] = c2
                    t += 1
                seen[c2] += 1
                if max_length < 3:
                    continue
                for e2 in range(ptr[x2], ptr[x2 + 1]):
                    x3 = succ[e2]
                    c3 = c2 * k + token[x3]
                    if seen[o3 + c3] == 0:
                        touched[t] = o3 + c3
                        t += 1
                    seen[o3 + c3] += 1
                    if max_length < 4:
                        continue
                    for e3 in range(ptr[x3], ptr[x3 + 1]):
                        c4 = o4 + c3 * k + token[succ[e3]]
                        if seen[c4] == 0:
                            touched[t] = c4
                            t += 1
                        seen[c4] += 1
        out_g, out_c, out_n, m = _flush(g, touched, t, seen, out_g, out_c, out_n, m)
    return out_g[:m].copy(), out_c[:m].copy(), out_n[:m].copy()


@njit(cache=True)
def _resize(a: np.ndarray, size: int, new: int) -> np.ndarray:
    """A copy of ``a[:size]`` in a new array of ``new`` items."""
    out = np.empty(new, dtype=a.dtype)
    out[:size] = a[:size]
    return out


@njit(cache=True)
def _flush(g: int, touched: np.ndarray, t: int, counts: np.ndarray, out_g: np.ndarray, out_c: np.ndarray,
           out_n: np.ndarray, m: int):
    """Append graph ``g``'s ``(g, code, count)`` triples for the ``t`` codes in ``touched`` and reset their counts."""
    if m + t > out_g.size:
        grown = max(2 * out_g.size, m + t)
        out_g, out_c, out_n = _resize(out_g, m, grown), _resize(out_c, m, grown), _resize(out_n, m, grown)
    for i in range(t):
        c = touched[i]
        out_g[m], out_c[m], out_n[m] = g, c, counts[c]
        counts[c] = 0
        m += 1
    return out_g, out_c, out_n, m


@njit(cache=True)
def graph_counts(node_ptr: np.ndarray, edge_ptr: np.ndarray, src: np.ndarray, dst: np.ndarray, token: np.ndarray,
                 k: int, live: np.ndarray, weighted: np.ndarray, level: np.ndarray, stage: np.ndarray, n_stages: int,
                 params: np.ndarray, flops: np.ndarray, channels: np.ndarray):
    """Per-graph counts over nodes and edges in one pass (``token`` in ``[0, k)``, ``stage`` in ``[0, n_stages)``).

    Returns ``tokens``/``live_tokens`` float32 ``(G, k)``; live-edge token pairs as ``(graph, src
    token * k + dst token, count)`` int64 triples; float64 ``(G,)`` live nodes, weight layers, live
    weight layers and the most nodes on one depth level; per stage float64 ``(G, n_stages)`` weight
    layers, params and FLOPs sums, int64 the most channels.
    """
    g_count = node_ptr.size - 1
    tokens, live_tokens = np.zeros((g_count, k), np.float32), np.zeros((g_count, k), np.float32)
    live_nodes, layers, live_layers, width = np.zeros(g_count), np.zeros(g_count), np.zeros(g_count), np.zeros(g_count)
    st_layers, st_params, st_flops = np.zeros((g_count, n_stages)), np.zeros((g_count, n_stages)), np.zeros((g_count, n_stages))
    st_chans = np.zeros((g_count, n_stages), np.int64)
    levels = np.zeros(1, np.int64)
    pair = np.zeros(k * k, np.int64)
    touched = np.empty(k * k, np.int64)
    out_g, out_c, out_n = np.empty(1 << 12, np.int64), np.empty(1 << 12, np.int64), np.empty(1 << 12, np.int64)
    m = 0
    for g in range(g_count):
        a, b = node_ptr[g], node_ptr[g + 1]
        top = 0
        for i in range(a, b):
            top = max(top, level[i])
        if top + 1 > levels.size:
            levels = np.zeros(2 * (top + 1), np.int64)
        for i in range(a, b):
            tokens[g, token[i]] += 1
            if live[i]:
                live_tokens[g, token[i]] += 1
                live_nodes[g] += 1.0
            if weighted[i]:
                layers[g] += 1.0
                st_layers[g, stage[i]] += 1.0
                if live[i]:
                    live_layers[g] += 1.0
            st_params[g, stage[i]] += params[i]
            st_flops[g, stage[i]] += flops[i]
            st_chans[g, stage[i]] = max(st_chans[g, stage[i]], channels[i])
            levels[level[i]] += 1
        most = 0
        for lv in range(top + 1):
            most = max(most, levels[lv])
            levels[lv] = 0
        width[g] = most
        t = 0
        for e in range(edge_ptr[g], edge_ptr[g + 1]):
            s, d = src[e], dst[e]
            if live[s] and live[d]:
                c = token[s] * k + token[d]
                if pair[c] == 0:
                    touched[t] = c
                    t += 1
                pair[c] += 1
        out_g, out_c, out_n, m = _flush(g, touched, t, pair, out_g, out_c, out_n, m)
    return (tokens, live_tokens, out_g[:m].copy(), out_c[:m].copy(), out_n[:m].copy(), live_nodes, layers, live_layers,
            width, st_layers, st_params, st_flops, st_chans)
