"""Link constraints: one-to-one and one-to-many selection among candidate links.

Candidate links between source A and source B are three parallel arrays: ``ia`` and
``ib`` (``int64`` row indices into A and B) and ``score`` (``float64``, higher is better —
a Dice similarity, a match weight or a match probability). Every function here returns a
boolean *keep mask* over the candidates, so the caller can filter any other columns it
carries along.

* :func:`one_to_one_greedy`: accept links by descending score, skipping a link when
  either record is already linked. Fast (one sort plus a linear pass) and what most
  linkage systems do; it can lose total score on "crossed" candidates (a1-b1 best, but
  a1-b2 plus a2-b1 better together).
* :func:`one_to_one_optimal`: the assignment with the maximum total score (Jaro 1989
  applied linear-programming assignment to record linkage). Solved exactly per connected
  component of the candidate graph, which after thresholding is almost always tiny.
* :func:`one_to_many`: every record of one side keeps only its best partner; records of
  the other side may collect several (e.g. a register of persons against a file that can
  hold the same person more than once).

Ties in score are broken deterministically by ``(ia, ib)`` ascending, so results never
depend on the input order.

Example:
    >>> import numpy as np
    >>> ia = np.array([0, 0, 1]); ib = np.array([0, 1, 0]); score = np.array([0.9, 0.8, 0.8])
    >>> one_to_one_greedy(ia, ib, score)
    array([ True, False, False])
    >>> one_to_one_optimal(ia, ib, score)
    array([False,  True,  True])
"""

from __future__ import annotations

import warnings

import numba
import numpy as np
from scipy import sparse
from scipy.optimize import linear_sum_assignment
from scipy.sparse.csgraph import connected_components

__all__ = ["one_to_many", "one_to_one_greedy", "one_to_one_optimal", "solve"]

#: Components with more nodes (records of A plus records of B) than this are solved
#: greedily by :func:`one_to_one_optimal`, with a warning.
MAX_COMPONENT_NODES = 2000
#: Components with at most this many records are solved by the compiled Hungarian method
#: in one call (no per-component Python overhead); larger ones by SciPy.
SMALL_COMPONENT_NODES = 64


def _check(ia: np.ndarray, ib: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    a = np.asarray(ia)
    b = np.asarray(ib)
    s = np.asarray(score, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape or a.shape != s.shape:
        raise ValueError(f"ia, ib and score must be 1-D arrays of one length, got {a.shape}, {b.shape}, {s.shape}")
    if a.size and not (np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer)):
        raise TypeError("ia and ib must be integer arrays")
    a = a.astype(np.int64, copy=False)
    b = b.astype(np.int64, copy=False)
    if a.size:
        if a.min() < 0 or b.min() < 0:
            raise ValueError("ia and ib must be non-negative")
        if np.isnan(s).any():
            raise ValueError("score contains NaN")
    return a, b, s


# --------------------------------------------------------------------------- sorting
#
# Every solver needs candidates in a deterministic priority order (score descending,
# ties by (ia, ib)). np.lexsort on three 10-million-element keys takes about 8-12 s on one
# core; a stable least-significant-digit radix sort on 64-bit keys (11-bit digits; digits
# that never vary are skipped) does the same several times faster.

_RADIX_BITS = 11


@numba.njit(cache=True)
def _radix_pass_all(cur, idx):  # type: ignore[no-untyped-def]
    """Stable radix sort of ``idx`` by the uint64 keys ``cur`` (both reordered)."""
    n = cur.shape[0]
    if n < 2:
        return idx
    nb = 1 << _RADIX_BITS
    mask = np.uint64(nb - 1)
    diff = np.uint64(0)
    first = cur[0]
    for i in range(n):
        diff |= cur[i] ^ first
    tmp = np.empty(n, np.uint64)
    tmp_idx = np.empty(n, np.int64)
    counts = np.empty(nb, np.int64)
    d = 0
    while d < 64:
        shift = np.uint64(d)
        d += _RADIX_BITS
        if ((diff >> shift) & mask) == 0:
            continue
        counts[:] = 0
        for i in range(n):
            counts[(cur[i] >> shift) & mask] += 1
        total = 0
        for b in range(nb):
            c = counts[b]
            counts[b] = total
            total += c
        for i in range(n):
            x = cur[i]
            b = (x >> shift) & mask
            pos = counts[b]
            counts[b] = pos + 1
            tmp[pos] = x
            tmp_idx[pos] = idx[i]
        cur, tmp = tmp, cur
        idx, tmp_idx = tmp_idx, idx
    return idx


@numba.njit(cache=True)
def _gather_u64(row, idx):  # type: ignore[no-untyped-def]
    out = np.empty(idx.shape[0], np.uint64)
    for i in range(idx.shape[0]):
        out[i] = row[idx[i]]
    return out


@numba.njit(cache=True)
def _desc_float_key_bits(bits):  # type: ignore[no-untyped-def]
    out = np.empty(bits.shape[0], np.uint64)
    sign = np.uint64(1) << np.uint64(63)
    for i in range(bits.shape[0]):
        b = bits[i]
        asc = ~b if (b & sign) != 0 else (b | sign)
        out[i] = ~asc
    return out


def _desc_float_key(score: np.ndarray) -> np.ndarray:
    """uint64 keys whose ascending order is the descending order of ``score`` (no NaN)."""
    bits = (np.asarray(score, dtype=np.float64) + 0.0).view(np.uint64)  # + 0.0 turns -0.0 into 0.0
    return _desc_float_key_bits(bits)


def _lexsort(keys: list[np.ndarray]) -> np.ndarray:
    """Like :func:`numpy.lexsort` (last key primary) for non-negative int64 / uint64 keys."""
    n = keys[0].shape[0]
    idx = np.arange(n, dtype=np.int64)
    for r, key in enumerate(keys):
        if key.dtype == np.int64:
            k = np.ascontiguousarray(key).view(np.uint64)
        else:
            k = np.ascontiguousarray(key, dtype=np.uint64)
        cur = k.copy() if r == 0 else _gather_u64(k, idx)
        idx = _radix_pass_all(cur, idx)
    return idx


def _pair_keys(ia: np.ndarray, ib: np.ndarray) -> list[np.ndarray]:
    """Keys ordering by ``(ia, ib)``: one packed key when both fit in 32 bits."""
    if ia.size == 0 or (int(ia.max()) < 2**32 and int(ib.max()) < 2**32):
        return [(ia.astype(np.uint64) << np.uint64(32)) | ib.astype(np.uint64)]
    return [ib, ia]


@numba.njit(cache=True)
def _is_sorted_pairs_kernel(ia, ib):  # type: ignore[no-untyped-def]
    for i in range(1, ia.shape[0]):
        if ia[i] < ia[i - 1] or (ia[i] == ia[i - 1] and ib[i] < ib[i - 1]):
            return False
    return True


def _priority_order(ia: np.ndarray, ib: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Indices by score descending, ties by ``(ia, ib)`` ascending."""
    skey = _desc_float_key(score)
    if _is_sorted_pairs_kernel(ia, ib):
        # a stable sort on the score keeps the (ia, ib) order among equal scores
        return _lexsort([skey])
    return _lexsort([*_pair_keys(ia, ib), skey])


@numba.njit(cache=True)
def _greedy_kernel(order, ia, ib, n_a, n_b):  # type: ignore[no-untyped-def]
    taken_a = np.zeros(n_a, np.bool_)
    taken_b = np.zeros(n_b, np.bool_)
    keep = np.zeros(order.shape[0], np.bool_)
    for k in range(order.shape[0]):
        e = order[k]
        a = ia[e]
        b = ib[e]
        if not taken_a[a] and not taken_b[b]:
            taken_a[a] = True
            taken_b[b] = True
            keep[e] = True
    return keep


def one_to_one_greedy(ia: np.ndarray, ib: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Greedy one-to-one selection: best score first, each record linked at most once.

    Candidates are visited by descending score (ties by ``(ia, ib)`` ascending) and a
    link is kept when neither of its records is linked yet. The result is a maximal
    matching whose total score is at least half the optimum. One sort plus a compiled
    linear pass: about a second per 10 million candidates (input sorted by ``(ia, ib)``,
    as the similarity kernels return it, saves a multi-key sort).

    Example:
        >>> import numpy as np
        >>> one_to_one_greedy(np.array([0, 0, 1, 1]), np.array([0, 1, 0, 1]), np.array([0.9, 0.95, 0.7, 0.6]))
        array([False,  True,  True, False])
    """
    a, b, s = _check(ia, ib, score)
    if a.size == 0:
        return np.zeros(0, dtype=bool)
    order = _priority_order(a, b, s)
    return _greedy_kernel(order, a, b, int(a.max()) + 1, int(b.max()) + 1)


def one_to_many(ia: np.ndarray, ib: np.ndarray, score: np.ndarray, *, side: str = "b") -> np.ndarray:
    """Each record of ``side`` (``"a"`` or ``"b"``) keeps only its best candidate.

    Records on the other side may keep several links. Ties go to the partner with the
    smaller index.

    Example:
        >>> import numpy as np
        >>> ia = np.array([0, 1, 0, 2]); ib = np.array([0, 0, 1, 1]); score = np.array([0.8, 0.9, 0.9, 0.9])
        >>> one_to_many(ia, ib, score, side="b")
        array([False,  True,  True, False])
        >>> one_to_many(ia, ib, score, side="a")
        array([False,  True,  True,  True])
    """
    a, b, s = _check(ia, ib, score)
    if side not in ("a", "b"):
        raise ValueError("side must be 'a' or 'b'")
    keep = np.zeros(a.size, dtype=bool)
    if a.size == 0:
        return keep
    group, other = (b, a) if side == "b" else (a, b)
    order = _lexsort([other, _desc_float_key(s), group])
    g = group[order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = g[1:] != g[:-1]
    keep[order[first]] = True
    return keep


@numba.njit(cache=True)
def _hungarian_min(cost):  # type: ignore[no-untyped-def]
    """Minimum-cost assignment of every row of ``cost`` (n x m, n <= m) to distinct columns.

    The Hungarian method with row and column potentials (Kuhn 1955, Munkres 1957, in the
    O(n^2 m) shortest-augmenting-path form): rows are added one at a time, and a
    Dijkstra-like search over reduced costs finds the cheapest augmenting path for it.
    Returns the column of each row.
    """
    n, m = cost.shape
    u = np.zeros(n + 1)
    v = np.zeros(m + 1)
    p = np.zeros(m + 1, np.int64)  # p[j]: row (1-based) holding column j; 0 = free
    way = np.zeros(m + 1, np.int64)
    minv = np.empty(m + 1)
    used = np.empty(m + 1, np.bool_)
    for i in range(1, n + 1):
        p[0] = i
        j0 = 0
        minv[:] = np.inf
        used[:] = False
        while True:
            used[j0] = True
            i0 = p[j0]
            delta = np.inf
            j1 = 0
            for j in range(1, m + 1):
                if not used[j]:
                    cur = cost[i0 - 1, j - 1] - u[i0] - v[j]
                    if cur < minv[j]:
                        minv[j] = cur
                        way[j] = j0
                    if minv[j] < delta:
                        delta = minv[j]
                        j1 = j
            for j in range(m + 1):
                if used[j]:
                    u[p[j]] += delta
                    v[j] -= delta
                else:
                    minv[j] -= delta
            j0 = j1
            if p[j0] == 0:
                break
        while True:  # augment along the path back to the virtual column 0
            j1 = way[j0]
            p[j0] = p[j1]
            j0 = j1
            if j0 == 0:
                break
    row_to_col = np.full(n, -1, np.int64)
    for j in range(1, m + 1):
        if p[j] != 0:
            row_to_col[p[j] - 1] = j - 1
    return row_to_col


@numba.njit(cache=True)
def _component_matrix(edges, ca, cb, s, row_of, col_of):  # type: ignore[no-untyped-def]
    """Dense weight matrix of one component: rows = A records, columns = B records.

    Only positive scores enter; for duplicate pairs the highest score (then the first
    edge) wins. ``which[r, c]`` is the edge index or -1. ``row_of``/``col_of`` are scratch
    maps (all -1 on entry and on return).
    """
    k = edges.shape[0]
    rows = np.empty(k, np.int64)
    cols = np.empty(k, np.int64)
    nr = 0
    nc = 0
    for t in range(k):
        e = edges[t]
        if row_of[ca[e]] < 0:
            row_of[ca[e]] = nr
            rows[nr] = ca[e]
            nr += 1
        if col_of[cb[e]] < 0:
            col_of[cb[e]] = nc
            cols[nc] = cb[e]
            nc += 1
    w = np.zeros((nr, nc))
    which = np.full((nr, nc), -1, np.int64)
    for t in range(k):
        e = edges[t]
        if s[e] > 0:
            r = row_of[ca[e]]
            c = col_of[cb[e]]
            if which[r, c] < 0 or s[e] > w[r, c]:
                w[r, c] = s[e]
                which[r, c] = e
    for t in range(nr):
        row_of[rows[t]] = -1
    for t in range(nc):
        col_of[cols[t]] = -1
    return w, which


@numba.njit(cache=True)
def _solve_small_components(edges, starts, ca, cb, s, n_a, n_b, keep):  # type: ignore[no-untyped-def]
    """Exact maximum-weight matching of each component ``edges[starts[k]:starts[k+1]]``."""
    row_of = np.full(n_a, -1, np.int64)
    col_of = np.full(n_b, -1, np.int64)
    for k in range(starts.shape[0] - 1):
        w, which = _component_matrix(edges[starts[k] : starts[k + 1]], ca, cb, s, row_of, col_of)
        nr, nc = w.shape
        if nr <= nc:
            assign = _hungarian_min(-w)
            for r in range(nr):
                e = which[r, assign[r]]
                if e >= 0:
                    keep[e] = True
        else:
            assign = _hungarian_min(-w.T.copy())
            for c in range(nc):
                e = which[assign[c], c]
                if e >= 0:
                    keep[e] = True


def one_to_one_optimal(
    ia: np.ndarray,
    ib: np.ndarray,
    score: np.ndarray,
    *,
    max_component_nodes: int = MAX_COMPONENT_NODES,
) -> np.ndarray:
    """One-to-one selection with the maximum total score (linear assignment).

    This is a maximum-weight matching: a link with score <= 0 can only lower the total,
    so it is never kept (unlike the greedy solver, which keeps whatever is left; pass
    positive scores such as similarities or probabilities, or shift match weights).

    The candidate links form a bipartite graph; the best assignment decomposes over its
    connected components (:func:`scipy.sparse.csgraph.connected_components`).
    Components where one side has a single record (including single links) keep their
    best link, vectorised. Components of up to ``SMALL_COMPONENT_NODES`` records are
    solved exactly by a compiled Hungarian method, larger ones by
    :func:`scipy.optimize.linear_sum_assignment`, each on the component's dense score
    matrix in which absent links score 0 and are never kept. Components with more than
    ``max_component_nodes`` records are solved greedily instead, with a
    :class:`RuntimeWarning` — a component that large means the threshold is far too low.

    Example:
        >>> import numpy as np
        >>> ia = np.array([0, 0, 1, 2]); ib = np.array([0, 1, 0, 2]); score = np.array([0.9, 0.8, 0.8, 0.7])
        >>> one_to_one_optimal(ia, ib, score)
        array([False,  True,  True,  True])
    """
    a, b, s = _check(ia, ib, score)
    keep = np.zeros(a.size, dtype=bool)
    if a.size == 0:
        return keep
    ua, ca = np.unique(a, return_inverse=True)
    ub, cb = np.unique(b, return_inverse=True)
    ca = ca.astype(np.int64, copy=False)
    cb = cb.astype(np.int64, copy=False)
    n_a, n_b = ua.size, ub.size
    graph = sparse.coo_matrix(
        (np.ones(a.size, dtype=np.int8), (ca, n_a + cb)), shape=(n_a + n_b, n_a + n_b)
    ).tocsr()
    n_comp, labels = connected_components(graph, directed=False)
    labels = labels.astype(np.int64, copy=False)
    comp = labels[ca]
    comp_a = np.bincount(labels[:n_a], minlength=n_comp)
    comp_b = np.bincount(labels[n_a:], minlength=n_comp)
    nodes = comp_a + comp_b

    # stars (one record on one side): keep the best link of the component if positive
    star = (comp_a[comp] == 1) | (comp_b[comp] == 1)
    idx = np.flatnonzero(star)
    if idx.size:
        order = idx[_lexsort([*_pair_keys(a[idx], b[idx]), _desc_float_key(s[idx]), comp[idx]])]
        c = comp[order]
        first = np.ones(order.size, dtype=bool)
        first[1:] = c[1:] != c[:-1]
        best = order[first]
        keep[best[s[best] > 0]] = True

    # the rest, grouped by component with edges in (ia, ib) order
    idx = np.flatnonzero(~star)
    if idx.size == 0:
        return keep
    idx = idx[_lexsort([*_pair_keys(a[idx], b[idx]), comp[idx]])]
    c = comp[idx]
    bounds = np.flatnonzero(np.concatenate([[True], c[1:] != c[:-1], [True]]))
    size = nodes[c[bounds[:-1]]]
    small = (size <= SMALL_COMPONENT_NODES) & (size <= max_component_nodes)
    if small.any():
        # concatenate the small components' edge runs and solve them in one compiled call
        lengths = np.diff(bounds)[small]
        starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        sel = np.repeat(small, np.diff(bounds))
        _solve_small_components(idx[sel], starts, ca, cb, s, n_a, n_b, keep)
    too_big = 0
    for k in np.flatnonzero(~small):
        e = idx[bounds[k] : bounds[k + 1]]
        if size[k] > max_component_nodes:
            too_big += 1
            keep[e] = one_to_one_greedy(a[e], b[e], s[e])
            continue
        rows, r = np.unique(ca[e], return_inverse=True)
        cols, q = np.unique(cb[e], return_inverse=True)
        # duplicates of one pair: the highest score wins (ascending stable order, last write)
        o = np.argsort(s[e], kind="stable")
        mat = np.zeros((rows.size, cols.size), dtype=np.float64)
        which = np.full((rows.size, cols.size), -1, dtype=np.int64)
        mat[r[o], q[o]] = s[e][o]
        which[r[o], q[o]] = e[o]
        ri, qi = linear_sum_assignment(np.maximum(mat, 0.0), maximize=True)
        chosen = which[ri, qi]
        good = (chosen >= 0) & (mat[ri, qi] > 0)
        keep[chosen[good]] = True
    if too_big:
        warnings.warn(
            f"{too_big} component(s) of the candidate graph have more than {max_component_nodes} "
            "records and were solved greedily; raise the threshold or block more strictly",
            RuntimeWarning,
            stacklevel=2,
        )
    return keep


def solve(ia: np.ndarray, ib: np.ndarray, score: np.ndarray, *, method: str = "greedy") -> np.ndarray:
    """Dispatch on a method name (for pipelines and the CLI).

    ``method`` is one of ``"greedy"`` (:func:`one_to_one_greedy`), ``"optimal"``
    (:func:`one_to_one_optimal`), ``"one_to_many_a"`` / ``"one_to_many_b"``
    (:func:`one_to_many` with that side keeping one link) or ``"none"`` (keep all).

    Example:
        >>> import numpy as np
        >>> solve(np.array([0, 0]), np.array([0, 1]), np.array([0.5, 0.6]), method="none")
        array([ True,  True])
    """
    if method == "greedy":
        return one_to_one_greedy(ia, ib, score)
    if method == "optimal":
        return one_to_one_optimal(ia, ib, score)
    if method == "one_to_many_a":
        return one_to_many(ia, ib, score, side="a")
    if method == "one_to_many_b":
        return one_to_many(ia, ib, score, side="b")
    if method == "none":
        a, _, _ = _check(ia, ib, score)
        return np.ones(a.size, dtype=bool)
    raise ValueError(f"unknown method {method!r}; use greedy, optimal, one_to_many_a, one_to_many_b or none")
