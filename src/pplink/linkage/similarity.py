"""Similarity kernels for linking Bloom-filter encodings.

Bloom filters are handled as packed bit matrices: a :class:`numpy.ndarray` of dtype
``uint64`` and shape ``(n, words)``, C-contiguous, where bit ``i`` of a filter is bit
``i % 64`` of word ``i // 64`` (little-endian). These are the same bytes as a Parquet
``fixed_size_binary(m / 8)`` column viewed as ``uint64`` (see :func:`from_bytes`).

Two similarity measures are offered, both computed from popcounts ``pa = |A|``,
``pb = |B|`` and ``c = |A & B|``:

* Dice (Sørensen–Dice) coefficient ``2 c / (pa + pb)``;
* Jaccard coefficient ``c / (pa + pb - c)``.

By convention the similarity of two all-zero filters is ``0.0`` for both measures
(not ``NaN``): an empty filter carries no evidence of a match, and every threshold is
positive, so such pairs are never reported by the all-pairs functions.

All-pairs search (:func:`dice_all_pairs`, :func:`jaccard_all_pairs`,
:func:`dedup_all_pairs`) uses *popcount pruning*: a pair can only reach Dice ``t`` if
``2 min(pa, pb) / (pa + pb) >= t`` (Jaccard: ``min(pa, pb) / max(pa, pb) >= t``), so B
is sorted by popcount and each A row only scans the feasible window. Within the window
the kernel is a cache-blocked, vectorised ``AND`` + popcount loop (LLVM emits
``vpopcntq`` on CPUs with AVX-512 VPOPCNTDQ, ``popcnt`` elsewhere), parallelised with
``numba.prange`` over blocks of A rows. The threshold test is exact: scores are computed
in float64 with the same formula as above, and a pair is returned iff its score is
``>= threshold``; the result does not depend on the number of threads and is sorted by
``(ia, ib)``.

Example:
    >>> import numpy as np
    >>> from pplink.linkage.similarity import pack_bits, dice_all_pairs
    >>> bits = np.zeros((3, 128), dtype=bool)
    >>> bits[0, :40] = True; bits[1, :36] = True; bits[2, 64:100] = True
    >>> f = pack_bits(bits)
    >>> f.dtype, f.shape
    (dtype('uint64'), (3, 2))
    >>> ia, ib, score = dice_all_pairs(f, f, 0.9)
    >>> [(int(i), int(j), round(float(s), 4)) for i, j, s in zip(ia, ib, score)]
    [(0, 0, 1.0), (0, 1, 0.9474), (1, 0, 0.9474), (1, 1, 1.0), (2, 2, 1.0)]
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable
from typing import Any

import numba
import numpy as np
from numba import njit, prange, types
from numba.extending import intrinsic

from pplink.errors import IncompatibleEncodingsError

__all__ = [
    "dedup_all_pairs",
    "dice_all_pairs",
    "dice_pairs",
    "from_bytes",
    "jaccard_all_pairs",
    "jaccard_pairs",
    "pack_bits",
    "popcounts",
    "unpack_bits",
]

_METRICS = {"dice": 0, "jaccard": 1}

# Search modes of the all-pairs kernel.
_MODE_FULL = 0  # every (A row, B row)
_MODE_UPPER = 1  # one source against itself, each unordered pair once, no self pairs
_MODE_NO_SELF = 2  # one source against itself, both directions, no self pairs

# Blocking parameters of the all-pairs kernel (chosen by measurement, see
# benchmarks/bench_link.py): A rows per parallel work item, and the byte size of one
# tile of B (kept hot in L2 while every row of the work item is scanned against it).
_CHUNK_ROWS = 64
_TILE_BYTES = 256 * 1024
_CHUNKS_PER_CALL = 1024  # work items per kernel launch (bounds result buffer memory)


# --------------------------------------------------------------------------- kernels


@intrinsic
def _popcount64(typingctx, x):  # type: ignore[no-untyped-def]
    """Hardware popcount of a 64-bit integer (``llvm.ctpop.i64``), returned as int64."""
    if not (isinstance(x, types.Integer) and x.bitwidth == 64):
        return None

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.ctpop(args[0])

    return types.int64(x), codegen


@njit(cache=True)
def _row_popcounts(a):  # type: ignore[no-untyped-def]
    n, n_words = a.shape
    out = np.empty(n, np.int64)
    for i in range(n):
        c = 0
        for w in range(n_words):
            c += _popcount64(a[i, w])
        out[i] = c
    return out


@njit(cache=True, inline="always")
def _score(metric, c, s):  # type: ignore[no-untyped-def]
    """Similarity from the intersection popcount ``c`` and ``s = pa + pb``."""
    if metric == 0:
        if s == 0:
            return 0.0
        return 2.0 * c / s
    union = s - c
    if union == 0:
        return 0.0
    return c / union


@njit(cache=True)
def _threshold_table(metric, threshold, s_max):  # type: ignore[no-untyped-def]
    """``cmin[s]``: smallest intersection count whose score reaches the threshold.

    The score is monotone in ``c`` for fixed ``s`` (also after float rounding), so
    ``score(c, s) >= threshold  <=>  c >= cmin[s]``. Values that cannot be reached
    (``c`` is at most ``s // 2``) are set to ``s_max + 1``.
    """
    impossible = s_max + 1
    cmin = np.full(s_max + 1, impossible, np.int64)
    for s in range(1, s_max + 1):
        if metric == 0:
            c = int(math.floor(threshold * s / 2.0))
        else:
            c = int(math.floor(threshold * s / (1.0 + threshold)))
        c = max(0, c - 2)
        while c > 0 and _score(metric, c - 1, s) >= threshold:
            c -= 1
        while c <= s // 2 and _score(metric, c, s) < threshold:
            c += 1
        if c <= s // 2:
            cmin[s] = c
    return cmin


@njit(cache=True)
def _suffix_min(x):  # type: ignore[no-untyped-def]
    out = x.copy()
    for k in range(out.shape[0] - 2, -1, -1):
        out[k] = min(out[k], out[k + 1])
    return out


@njit(cache=True)
def _windows(pa_sorted, pb_sorted, cmin):  # type: ignore[no-untyped-def]
    """Per (popcount-sorted) A row, the range of sorted B rows that can reach the threshold.

    A pair is feasible iff ``cmin[pa + pb] <= min(pa, pb)`` (the intersection cannot
    exceed the smaller popcount). The window spans the first to the last feasible B
    popcount value, so no qualifying pair is ever outside it.
    """
    n_a = pa_sorted.shape[0]
    n_b = pb_sorted.shape[0]
    wlo = np.zeros(n_a, np.int64)
    whi = np.zeros(n_a, np.int64)
    if n_b == 0:
        return wlo, whi
    # distinct B popcount values and the sorted index where each starts
    n_u = 1
    for j in range(1, n_b):
        if pb_sorted[j] != pb_sorted[j - 1]:
            n_u += 1
    u_val = np.empty(n_u, np.int64)
    u_start = np.empty(n_u + 1, np.int64)
    k = 0
    u_val[0] = pb_sorted[0]
    u_start[0] = 0
    for j in range(1, n_b):
        if pb_sorted[j] != pb_sorted[j - 1]:
            k += 1
            u_val[k] = pb_sorted[j]
            u_start[k] = j
    u_start[n_u] = n_b
    i = 0
    while i < n_a:
        p = pa_sorted[i]
        first = -1
        last = -1
        for k in range(n_u):
            q = u_val[k]
            if cmin[p + q] <= min(p, q):
                if first < 0:
                    first = k
                last = k
        lo = 0
        hi = 0
        if first >= 0:
            lo = u_start[first]
            hi = u_start[last + 1]
        while i < n_a and pa_sorted[i] == p:
            wlo[i] = lo
            whi[i] = hi
            i += 1
    return wlo, whi


# The tile kernel below keeps the loop over B rows innermost, with the words of the A
# row unrolled into scalars, so LLVM vectorises across B rows (on AVX-512 VPOPCNTDQ
# hardware: ``vpandq`` + ``vpopcntq`` on 4 B rows at a time, no horizontal reduction per
# pair). Indices are unsigned: signed indices make numba emit negative-index wraparound,
# which turns the loads into gathers. The first pass over the words *assigns* the
# counts: a read-modify-write of ``cnt`` needs runtime alias checks against every B row
# and measured about 25% slower, so 1024-bit filters (16 words) take one assigning pass.


@njit(cache=True, inline="always")
def _set16(ar, bt, w, ju, nu, cnt):  # type: ignore[no-untyped-def]
    a0, a1, a2, a3 = ar[w], ar[w + 1], ar[w + 2], ar[w + 3]
    a4, a5, a6, a7 = ar[w + 4], ar[w + 5], ar[w + 6], ar[w + 7]
    a8, a9, a10, a11 = ar[w + 8], ar[w + 9], ar[w + 10], ar[w + 11]
    a12, a13, a14, a15 = ar[w + 12], ar[w + 13], ar[w + 14], ar[w + 15]
    b0, b1, b2, b3 = bt[w], bt[w + 1], bt[w + 2], bt[w + 3]
    b4, b5, b6, b7 = bt[w + 4], bt[w + 5], bt[w + 6], bt[w + 7]
    b8, b9, b10, b11 = bt[w + 8], bt[w + 9], bt[w + 10], bt[w + 11]
    b12, b13, b14, b15 = bt[w + 12], bt[w + 13], bt[w + 14], bt[w + 15]
    m = 0
    for jj in range(nu):
        j = ju + jj
        c = (
            _popcount64(a0 & b0[j]) + _popcount64(a1 & b1[j])
            + _popcount64(a2 & b2[j]) + _popcount64(a3 & b3[j])
            + _popcount64(a4 & b4[j]) + _popcount64(a5 & b5[j])
            + _popcount64(a6 & b6[j]) + _popcount64(a7 & b7[j])
            + _popcount64(a8 & b8[j]) + _popcount64(a9 & b9[j])
            + _popcount64(a10 & b10[j]) + _popcount64(a11 & b11[j])
            + _popcount64(a12 & b12[j]) + _popcount64(a13 & b13[j])
            + _popcount64(a14 & b14[j]) + _popcount64(a15 & b15[j])
        )
        cnt[jj] = c
        m = max(m, c)
    return m


@njit(cache=True, inline="always")
def _set8(ar, bt, w, ju, nu, cnt):  # type: ignore[no-untyped-def]
    a0, a1, a2, a3 = ar[w], ar[w + 1], ar[w + 2], ar[w + 3]
    a4, a5, a6, a7 = ar[w + 4], ar[w + 5], ar[w + 6], ar[w + 7]
    b0, b1, b2, b3 = bt[w], bt[w + 1], bt[w + 2], bt[w + 3]
    b4, b5, b6, b7 = bt[w + 4], bt[w + 5], bt[w + 6], bt[w + 7]
    m = 0
    for jj in range(nu):
        j = ju + jj
        c = (
            _popcount64(a0 & b0[j]) + _popcount64(a1 & b1[j])
            + _popcount64(a2 & b2[j]) + _popcount64(a3 & b3[j])
            + _popcount64(a4 & b4[j]) + _popcount64(a5 & b5[j])
            + _popcount64(a6 & b6[j]) + _popcount64(a7 & b7[j])
        )
        cnt[jj] = c
        m = max(m, c)
    return m


@njit(cache=True, inline="always")
def _set4(ar, bt, w, ju, nu, cnt):  # type: ignore[no-untyped-def]
    a0, a1, a2, a3 = ar[w], ar[w + 1], ar[w + 2], ar[w + 3]
    b0, b1, b2, b3 = bt[w], bt[w + 1], bt[w + 2], bt[w + 3]
    m = 0
    for jj in range(nu):
        j = ju + jj
        c = (
            _popcount64(a0 & b0[j]) + _popcount64(a1 & b1[j])
            + _popcount64(a2 & b2[j]) + _popcount64(a3 & b3[j])
        )
        cnt[jj] = c
        m = max(m, c)
    return m


@njit(cache=True, inline="always")
def _set1(ar, bt, w, ju, nu, cnt):  # type: ignore[no-untyped-def]
    a0 = ar[w]
    b0 = bt[w]
    m = 0
    for jj in range(nu):
        c = _popcount64(a0 & b0[ju + jj])
        cnt[jj] = c
        m = max(m, c)
    return m


@njit(cache=True, inline="always")
def _add8(ar, bt, w, ju, nu, cnt):  # type: ignore[no-untyped-def]
    a0, a1, a2, a3 = ar[w], ar[w + 1], ar[w + 2], ar[w + 3]
    a4, a5, a6, a7 = ar[w + 4], ar[w + 5], ar[w + 6], ar[w + 7]
    b0, b1, b2, b3 = bt[w], bt[w + 1], bt[w + 2], bt[w + 3]
    b4, b5, b6, b7 = bt[w + 4], bt[w + 5], bt[w + 6], bt[w + 7]
    for jj in range(nu):
        j = ju + jj
        cnt[jj] += (
            _popcount64(a0 & b0[j]) + _popcount64(a1 & b1[j])
            + _popcount64(a2 & b2[j]) + _popcount64(a3 & b3[j])
            + _popcount64(a4 & b4[j]) + _popcount64(a5 & b5[j])
            + _popcount64(a6 & b6[j]) + _popcount64(a7 & b7[j])
        )


@njit(cache=True, inline="always")
def _add4(ar, bt, w, ju, nu, cnt):  # type: ignore[no-untyped-def]
    a0, a1, a2, a3 = ar[w], ar[w + 1], ar[w + 2], ar[w + 3]
    b0, b1, b2, b3 = bt[w], bt[w + 1], bt[w + 2], bt[w + 3]
    for jj in range(nu):
        j = ju + jj
        cnt[jj] += (
            _popcount64(a0 & b0[j]) + _popcount64(a1 & b1[j])
            + _popcount64(a2 & b2[j]) + _popcount64(a3 & b3[j])
        )


@njit(cache=True, inline="always")
def _add1(ar, bt, w, ju, nu, cnt):  # type: ignore[no-untyped-def]
    a0 = ar[w]
    b0 = bt[w]
    for jj in range(nu):
        cnt[jj] += _popcount64(a0 & b0[ju + jj])


@njit(cache=True, inline="always")
def _tile_counts(ar, bt, j0, n, cnt):  # type: ignore[no-untyped-def]
    """``cnt[jj] = popcount(ar & B[j0 + jj])`` for ``jj < n``, B given transposed as
    ``bt`` (words, rows); returns ``max(cnt[:n])``."""
    n_words = ar.shape[0]
    nu = np.uint64(n)
    ju = np.uint64(j0)
    if n_words >= 16:
        m = _set16(ar, bt, 0, ju, nu, cnt)
        w = 16
    elif n_words >= 8:
        m = _set8(ar, bt, 0, ju, nu, cnt)
        w = 8
    elif n_words >= 4:
        m = _set4(ar, bt, 0, ju, nu, cnt)
        w = 4
    else:
        m = _set1(ar, bt, 0, ju, nu, cnt)
        w = 1
    if w == n_words:
        return m
    while w + 8 <= n_words:
        _add8(ar, bt, w, ju, nu, cnt)
        w += 8
    if w + 4 <= n_words:
        _add4(ar, bt, w, ju, nu, cnt)
        w += 4
    while w < n_words:
        _add1(ar, bt, w, ju, nu, cnt)
        w += 1
    m = 0
    for jj in range(nu):
        m = max(m, cnt[jj])
    return m


@njit(cache=True, inline="always")
def _better(s1, j1, s2, j2):  # type: ignore[no-untyped-def]
    """Total order for top-k: higher score first, then lower B index."""
    return s1 > s2 or (s1 == s2 and j1 < j2)


@njit(cache=True)
def _heap_offer(hs, hj, hn, r, s, j, k):  # type: ignore[no-untyped-def]
    """Keep the ``k`` best (score, index) of row ``r``; the root (slot 0) is the worst."""
    n = hn[r]
    if n < k:
        pos = n
        hn[r] = n + 1
        while pos > 0:  # sift up
            parent = (pos - 1) // 2
            if _better(hs[r, parent], hj[r, parent], s, j):
                hs[r, pos] = hs[r, parent]
                hj[r, pos] = hj[r, parent]
                pos = parent
            else:
                break
        hs[r, pos] = s
        hj[r, pos] = j
        return
    if not _better(s, j, hs[r, 0], hj[r, 0]):
        return
    pos = 0
    while True:  # sift down from the root
        left = 2 * pos + 1
        if left >= k:
            break
        child = left
        right = left + 1
        if right < k and _better(hs[r, left], hj[r, left], hs[r, right], hj[r, right]):
            child = right
        if _better(s, j, hs[r, child], hj[r, child]):
            hs[r, pos] = hs[r, child]
            hj[r, pos] = hj[r, child]
            pos = child
        else:
            break
    hs[r, pos] = s
    hj[r, pos] = j


@njit(cache=True)
def _chunk(  # type: ignore[no-untyped-def]
    a_sorted, pa, ia_orig, bt, pb, ib_orig, wlo, whi, cmin, cmin_low,
    metric, mode, r0, r1, tile, top_k, out_ia, out_ib, out_sc, base, cap,
):
    """All-pairs search for sorted A rows ``r0:r1``; writes at most ``cap`` results at
    ``base`` and returns the number of results found (which may exceed ``cap``)."""
    n_rows = r1 - r0
    lo = wlo[r0]
    hi = whi[r0]
    for q in range(np.uint64(n_rows)):  # unsigned index: no wraparound code
        lo = min(lo, wlo[np.uint64(r0) + q])
        hi = max(hi, whi[np.uint64(r0) + q])
    cnt = np.empty(max(tile, 1), np.int64)
    heap_rows = n_rows if top_k > 0 else 0
    hs = np.empty((heap_rows, max(top_k, 1)), np.float64)
    hj = np.empty((heap_rows, max(top_k, 1)), np.int64)
    hn = np.zeros(heap_rows, np.int64)
    n_out = 0
    t0 = lo
    while t0 < hi:
        t1 = min(hi, t0 + tile)
        for r in range(r0, r1):
            j0 = max(t0, wlo[r])
            j1 = min(t1, whi[r])
            if mode == _MODE_UPPER:
                j0 = max(j0, r + 1)
            if j1 <= j0:
                continue
            m = _tile_counts(a_sorted[r], bt, j0, j1 - j0, cnt)
            p = pa[r]
            low = cmin_low[p + pb[j0]]  # no pair of this row in the tile needs less
            if top_k > 0 and hn[r - r0] == top_k:
                # heap full: a candidate must also reach the worst kept score; bound the
                # count it needs from below (minus 1 as a margin for float rounding)
                worst = hs[r - r0, 0]
                s_lo = p + pb[j0]
                need = worst * s_lo / 2.0 if metric == 0 else worst * s_lo / (1.0 + worst)
                low = max(low, np.int64(need) - 1)
            if m < low:
                continue
            for jj in range(j1 - j0):
                j = j0 + jj
                c = cnt[jj]
                if c < low:
                    continue
                s = p + pb[j]
                if c < cmin[s]:
                    continue
                if mode == _MODE_NO_SELF and j == r:
                    continue
                sc = _score(metric, c, s)
                if top_k > 0:
                    _heap_offer(hs, hj, hn, r - r0, sc, ib_orig[j], top_k)
                    continue
                if n_out < cap:
                    x = ia_orig[r]
                    y = ib_orig[j]
                    if mode == _MODE_UPPER and y < x:
                        x, y = y, x
                    out_ia[base + n_out] = x
                    out_ib[base + n_out] = y
                    out_sc[base + n_out] = sc
                n_out += 1
        t0 = t1
    if top_k > 0:
        for rr in range(n_rows):
            for q in range(hn[rr]):
                if n_out < cap:
                    out_ia[base + n_out] = ia_orig[r0 + rr]
                    out_ib[base + n_out] = hj[rr, q]
                    out_sc[base + n_out] = hs[rr, q]
                n_out += 1
    return n_out


@njit(cache=True, parallel=True)
def _all_pairs_kernel(  # type: ignore[no-untyped-def]
    a_sorted, pa, ia_orig, bt, pb, ib_orig, wlo, whi, cmin, cmin_low,
    metric, mode, chunk_rows, tile, top_k, chunk_ids, cap, out_ia, out_ib, out_sc, out_n,
):
    n_a = a_sorted.shape[0]
    for q in prange(chunk_ids.shape[0]):
        r0 = chunk_ids[q] * chunk_rows
        r1 = min(n_a, r0 + chunk_rows)
        out_n[q] = _chunk(
            a_sorted, pa, ia_orig, bt, pb, ib_orig, wlo, whi, cmin, cmin_low,
            metric, mode, r0, r1, tile, top_k, out_ia, out_ib, out_sc, q * cap, cap,
        )


@njit(cache=True, parallel=True)
def _pairs_kernel(a, b, ia, ib, metric, out):  # type: ignore[no-untyped-def]
    n_words = a.shape[1]
    for k in prange(ia.shape[0]):
        i = ia[k]
        j = ib[k]
        c = 0
        p = 0
        for w in range(n_words):
            x = a[i, w]
            y = b[j, w]
            c += _popcount64(x & y)
            p += _popcount64(x) + _popcount64(y)
        out[k] = _score(metric, c, p)


@njit(cache=True, parallel=True)
def _multi_pairs_kernel(a, b, ia, ib, first, width, out):  # type: ignore[no-untyped-def]
    n_fields = first.shape[0]
    for k in prange(ia.shape[0]):
        i = ia[k]
        j = ib[k]
        for f in range(n_fields):
            c = 0
            p = 0
            for w in range(first[f], first[f] + width[f]):
                x = a[i, w]
                y = b[j, w]
                c += _popcount64(x & y)
                p += _popcount64(x) + _popcount64(y)
            out[k, f] = _score(0, c, p)


# ----------------------------------------------------------------------- validation


def _check_filters(a: Any, name: str) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        raise ValueError(
            f"{name} must be a numpy.ndarray of dtype uint64 with shape (n, words); "
            f"got {type(a).__name__} (use pack_bits() or from_bytes() to build one)"
        )
    if a.dtype != np.uint64:
        raise ValueError(
            f"{name} must have dtype uint64 (packed Bloom filters), got {a.dtype} "
            "(use pack_bits() for boolean bit matrices or from_bytes() for raw bytes)"
        )
    if a.ndim != 2:
        raise ValueError(f"{name} must be 2-dimensional (n, words), got {a.ndim} dimension(s)")
    return np.ascontiguousarray(a)


def _check_same_width(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape[1] != b.shape[1]:
        raise IncompatibleEncodingsError(
            f"filters have different lengths: {a.shape[1] * 64} bits ({a.shape[1]} words) "
            f"vs {b.shape[1] * 64} bits ({b.shape[1]} words); both sides must be encoded "
            "with the same schema"
        )


def _check_threshold(threshold: Any) -> float:
    try:
        t = float(threshold)
    except (TypeError, ValueError):
        raise ValueError(f"threshold must be a number in (0, 1], got {threshold!r}") from None
    if not (0.0 < t <= 1.0):  # also rejects NaN
        raise ValueError(f"threshold must be in (0, 1], got {threshold!r}")
    return t


def _check_top_k(top_k: Any) -> int:
    if top_k is None:
        return 0
    try:
        k = operator.index(top_k)
    except TypeError:
        raise ValueError(f"top_k must be a positive integer or None, got {top_k!r}") from None
    if k < 1:
        raise ValueError(f"top_k must be a positive integer or None, got {top_k!r}")
    return k


def _check_metric(metric: str) -> int:
    try:
        return _METRICS[metric]
    except (KeyError, TypeError):
        raise ValueError(f"metric must be one of {sorted(_METRICS)}, got {metric!r}") from None


def _check_popcounts(p: Any, a: np.ndarray, name: str) -> np.ndarray:
    if p is None:
        return _row_popcounts(a)
    arr = np.asarray(p)
    if arr.shape != (a.shape[0],) or not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(
            f"{name} must be an integer array of shape ({a.shape[0]},), "
            f"got dtype {arr.dtype} shape {arr.shape}"
        )
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() > a.shape[1] * 64):
        raise ValueError(f"{name} has values outside [0, {a.shape[1] * 64}]")
    return arr


def _check_indices(idx: Any, n: int, name: str) -> np.ndarray:
    arr = np.asarray(idx)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-dimensional integer array")
    if arr.size == 0:
        return np.zeros(0, np.int64)
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must contain integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64)
    if arr.min() < 0 or arr.max() >= n:
        raise ValueError(f"{name} has indices outside [0, {n}) (negative indices are not allowed)")
    return arr


class _Threads:
    """Run with ``n_threads`` numba threads (restored afterwards) and dynamic scheduling."""

    def __init__(self, n_threads: int | None) -> None:
        if n_threads is not None:
            try:
                n = operator.index(n_threads)
            except TypeError:
                raise ValueError(f"n_threads must be a positive integer or None, got {n_threads!r}") from None
            limit = numba.config.NUMBA_NUM_THREADS
            if not 1 <= n <= limit:
                raise ValueError(f"n_threads must be between 1 and {limit}, got {n_threads!r}")
        self.n = n_threads
        self.prev: int | None = None

    def __enter__(self) -> _Threads:
        if self.n is not None:
            self.prev = numba.get_num_threads()
            numba.set_num_threads(self.n)
        self._chunk = numba.parallel_chunksize(1)
        self._chunk.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._chunk.__exit__(*exc)
        if self.prev is not None:
            numba.set_num_threads(self.prev)


# --------------------------------------------------------------------- public: bits


def pack_bits(bits: Any) -> np.ndarray:
    """Pack a boolean bit matrix ``(n, m)`` into uint64 filters ``(n, ceil(m / 64))``.

    Bit ``i`` of a row goes to bit ``i % 64`` of word ``i // 64``; unused high bits of
    the last word are zero.

    Example:
        >>> import numpy as np
        >>> pack_bits(np.array([[1, 0, 1] + [0] * 61 + [1]], dtype=bool)).tolist()
        [[5, 1]]
    """
    arr = np.asarray(bits)
    if arr.ndim != 2:
        raise ValueError(f"bits must be a 2-dimensional (n, m) array, got {arr.ndim} dimension(s)")
    if arr.dtype != np.bool_:
        if not (np.issubdtype(arr.dtype, np.integer) and np.isin(arr, (0, 1)).all()):
            raise ValueError(f"bits must be boolean (or integer 0/1), got dtype {arr.dtype}")
        arr = arr.astype(np.bool_)
    n, m = arr.shape
    n_words = (m + 63) // 64
    packed = np.packbits(arr, axis=1, bitorder="little")  # (n, ceil(m / 8)) bytes
    buf = np.zeros((n, n_words * 8), np.uint8)
    buf[:, : packed.shape[1]] = packed
    return buf.view("<u8").astype(np.uint64, copy=False).reshape(n, n_words)


def unpack_bits(filters: Any, n_bits: int | None = None) -> np.ndarray:
    """Unpack uint64 filters ``(n, words)`` into a boolean matrix ``(n, n_bits)``.

    ``n_bits`` defaults to ``64 * words``; it may be smaller to drop padding bits.

    Example:
        >>> unpack_bits(np.array([[5]], dtype=np.uint64), 4).tolist()
        [[True, False, True, False]]
    """
    a = _check_filters(filters, "filters")
    total = a.shape[1] * 64
    if n_bits is None:
        n_bits = total
    n_bits = operator.index(n_bits)
    if not 0 <= n_bits <= total:
        raise ValueError(f"n_bits must be in [0, {total}] for {a.shape[1]} words, got {n_bits}")
    as_bytes = a.astype("<u8", copy=False).view(np.uint8).reshape(a.shape[0], a.shape[1] * 8)
    return np.unpackbits(as_bytes, axis=1, count=n_bits, bitorder="little").astype(np.bool_)


def from_bytes(data: Any, n_bits: int) -> np.ndarray:
    """Build uint64 filters from raw filter bytes (one ``bytes`` object per record).

    ``data`` is a sequence of bytes-like objects, a numpy ``'S'`` array or a pyarrow
    ``fixed_size_binary`` (Chunked)Array (read without copying the column, e.g. from
    Parquet); every item must be exactly ``ceil(n_bits / 8)`` bytes, bit ``i`` in byte ``i // 8`` at position
    ``i % 8`` (least significant first), as in a Parquet ``fixed_size_binary(n_bits / 8)``
    column. Bits at positions ``>= n_bits`` must be zero. The result has
    ``ceil(n_bits / 64)`` words per row (zero padded).

    Example:
        >>> from_bytes([b"\\x05" + b"\\x00" * 7, b"\\xff" * 8], 64).tolist()
        [[5], [18446744073709551615]]
    """
    n_bits = operator.index(n_bits)
    if n_bits < 1:
        raise ValueError(f"n_bits must be positive, got {n_bits}")
    n_bytes = (n_bits + 7) // 8
    if type(data).__module__.startswith("pyarrow"):
        raw = _arrow_fixed_binary(data, n_bytes)
    elif isinstance(data, np.ndarray):
        if data.dtype.kind != "S" or data.ndim != 1:
            raise ValueError(
                f"a numpy input must be a 1-dimensional 'S' array, got {data.dtype} ndim {data.ndim}"
            )
        if data.dtype.itemsize != n_bytes:
            raise ValueError(f"items are {data.dtype.itemsize} bytes, expected {n_bytes} for {n_bits} bits")
        raw = np.ascontiguousarray(data).view(np.uint8).reshape(data.shape[0], n_bytes)
    else:
        items = list(data) if isinstance(data, Iterable) else None
        if items is None:
            raise ValueError(
                f"data must be a sequence of bytes or a numpy 'S' array, got {type(data).__name__}"
            )
        for k, item in enumerate(items):
            if not isinstance(item, (bytes, bytearray, memoryview)):
                raise ValueError(f"item {k} is {type(item).__name__}, expected bytes")
            if len(item) != n_bytes:
                raise ValueError(f"item {k} has {len(item)} bytes, expected {n_bytes} for {n_bits} bits")
        raw = np.frombuffer(b"".join(bytes(x) for x in items), np.uint8).reshape(len(items), n_bytes)
    if n_bits % 8 and raw.shape[0] and (raw[:, -1] >> (n_bits % 8)).any():
        raise ValueError(f"some filters have bits set at positions >= n_bits ({n_bits})")
    n_words = (n_bits + 63) // 64
    buf = np.zeros((raw.shape[0], n_words * 8), np.uint8)
    buf[:, :n_bytes] = raw
    return buf.view("<u8").astype(np.uint64, copy=False).reshape(raw.shape[0], n_words)


def _arrow_fixed_binary(data: Any, n_bytes: int) -> np.ndarray:
    """Zero-copy view of a pyarrow ``fixed_size_binary`` (Chunked)Array as (n, n_bytes) uint8."""
    import pyarrow as pa

    if isinstance(data, pa.ChunkedArray):
        data = data.combine_chunks()
    if not isinstance(data, pa.FixedSizeBinaryArray):
        raise ValueError(f"a pyarrow input must be a fixed_size_binary array, got {data.type}")
    if data.type.byte_width != n_bytes:
        raise ValueError(f"items are {data.type.byte_width} bytes, expected {n_bytes} for the given n_bits")
    if data.null_count:
        raise ValueError(f"{data.null_count} filters are null; drop or fill them first")
    buf = data.buffers()[1]
    n = len(data)
    if n == 0:
        return np.zeros((0, n_bytes), np.uint8)
    return np.frombuffer(buf, np.uint8, count=n * n_bytes, offset=data.offset * n_bytes).reshape(n, n_bytes)


def popcounts(a: np.ndarray) -> np.ndarray:
    """Number of set bits per filter, as int32.

    Example:
        >>> popcounts(np.array([[7, 1], [0, 0]], dtype=np.uint64)).tolist()
        [4, 0]
    """
    a = _check_filters(a, "a")
    return _row_popcounts(a).astype(np.int32)


# -------------------------------------------------------------------- public: pairs


def _check_pairs(a: Any, b: Any, ia: Any, ib: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Filters and pair indices, checked (same width, indices in range, equal lengths)."""
    a = _check_filters(a, "a")
    b = _check_filters(b, "b")
    _check_same_width(a, b)
    ia_ = _check_indices(ia, a.shape[0], "ia")
    ib_ = _check_indices(ib, b.shape[0], "ib")
    if ia_.shape != ib_.shape:
        raise ValueError(f"ia and ib must have the same length, got {ia_.shape[0]} and {ib_.shape[0]}")
    return a, b, ia_, ib_


def _pairs(a: Any, b: Any, ia: Any, ib: Any, metric: int, n_threads: int | None) -> np.ndarray:
    a, b, ia_, ib_ = _check_pairs(a, b, ia, ib)
    out = np.empty(ia_.shape[0], np.float64)
    if out.size:
        with _Threads(n_threads):
            _pairs_kernel(a, b, ia_, ib_, metric, out)
    return out


def dice_pairs(
    a: np.ndarray, b: np.ndarray, ia: Any, ib: Any, *, n_threads: int | None = None
) -> np.ndarray:
    """Dice coefficient of the candidate pairs ``(a[ia[k]], b[ib[k]])``.

    Returns a float64 array of the same length as ``ia``; two all-zero filters score
    ``0.0``. Indices must be non-negative and in range.

    Example:
        >>> f = pack_bits(np.array([[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]], dtype=bool))
        >>> dice_pairs(f, f, [0, 0, 2], [1, 0, 2]).tolist()
        [0.6666666666666666, 1.0, 0.0]
    """
    return _pairs(a, b, ia, ib, _METRICS["dice"], n_threads)


def dice_pairs_fields(
    a: np.ndarray, b: np.ndarray, ia: Any, ib: Any, spans: Any, *, n_threads: int | None = None
) -> np.ndarray:
    """Dice of several fields at once: ``a``/``b`` hold the fields side by side (see
    :meth:`pplink.encoded.EncodedDataset.filter_block`), ``spans`` is ``(first word, words)``
    per field. Returns ``(n_pairs, n_fields)`` float64, equal to :func:`dice_pairs` per field.

    Example:
        >>> f = pack_bits(np.array([[1, 1, 0, 0], [1, 0, 0, 0]], dtype=bool))
        >>> both = np.concatenate([f, f], axis=1)
        >>> dice_pairs_fields(both, both, [0], [1], [(0, 1), (1, 1)]).tolist()
        [[0.6666666666666666, 0.6666666666666666]]
    """
    a, b, ia_, ib_ = _check_pairs(a, b, ia, ib)
    sp = np.asarray(spans, dtype=np.int64).reshape(-1, 2)
    if len(sp) and (sp[:, 0].min() < 0 or sp[:, 1].min() < 1 or (sp[:, 0] + sp[:, 1]).max() > a.shape[1]):
        raise ValueError(f"spans must lie within the {a.shape[1]} words of the filters")
    out = np.empty((ia_.shape[0], len(sp)), np.float64)
    if out.size:
        with _Threads(n_threads):
            _multi_pairs_kernel(a, b, ia_, ib_, np.ascontiguousarray(sp[:, 0]), np.ascontiguousarray(sp[:, 1]), out)
    return out


def jaccard_pairs(
    a: np.ndarray, b: np.ndarray, ia: Any, ib: Any, *, n_threads: int | None = None
) -> np.ndarray:
    """Jaccard coefficient of the candidate pairs ``(a[ia[k]], b[ib[k]])``.

    Two all-zero filters score ``0.0``.

    Example:
        >>> f = pack_bits(np.array([[1, 1, 0, 0], [1, 0, 0, 0]], dtype=bool))
        >>> jaccard_pairs(f, f, [0], [1]).tolist()
        [0.5]
    """
    return _pairs(a, b, ia, ib, _METRICS["jaccard"], n_threads)


# ---------------------------------------------------------------- public: all pairs

_Result = tuple[np.ndarray, np.ndarray, np.ndarray]


def _empty_result() -> _Result:
    return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)


def _search(
    a: np.ndarray, pa: np.ndarray, b: np.ndarray | None, pb: np.ndarray | None,
    threshold: float, metric: int, mode: int, top_k: int, n_threads: int | None,
) -> _Result:
    """Shared driver: sort by popcount, run the blocked kernel, collect and sort."""
    n_words = a.shape[1]
    order_a = np.argsort(pa, kind="stable")
    a_sorted = np.ascontiguousarray(a[order_a])
    pa_sorted = np.ascontiguousarray(pa[order_a])
    if b is None:  # self-join: B is A in the same order (the kernel relies on it)
        order_b, pb_sorted, bt = order_a, pa_sorted, np.ascontiguousarray(a_sorted.T)
    else:
        assert pb is not None
        order_b = np.argsort(pb, kind="stable")
        pb_sorted = np.ascontiguousarray(pb[order_b])
        bt = np.ascontiguousarray(b[order_b].T)
    n_a = a_sorted.shape[0]
    cmin = _threshold_table(metric, threshold, 2 * 64 * n_words)
    cmin_low = _suffix_min(cmin)
    wlo, whi = _windows(pa_sorted, pb_sorted, cmin)
    tile = max(64, _TILE_BYTES // (8 * max(n_words, 1)))
    chunk_rows = _CHUNK_ROWS
    n_chunks = (n_a + chunk_rows - 1) // chunk_rows
    # Result buffers: each work item (chunk of A rows) owns ``cap`` slots, so threads
    # never share a buffer. A work item with more results than that keeps counting, and
    # is run again afterwards with room for all of them. Work items are submitted in
    # groups to bound the buffer memory for large inputs.
    base_cap = 2 * chunk_rows + 32
    if top_k:
        base_cap = min(base_cap, chunk_rows * top_k)
    ia_o = order_a.astype(np.int64)
    ib_o = order_b.astype(np.int64)
    found: list[_Result] = []
    with _Threads(n_threads):
        for g0 in range(0, n_chunks, _CHUNKS_PER_CALL):
            chunk_ids = np.arange(g0, min(n_chunks, g0 + _CHUNKS_PER_CALL), dtype=np.int64)
            cap = base_cap
            while chunk_ids.size:
                out_ia = np.empty((chunk_ids.size, cap), np.int64)
                out_ib = np.empty((chunk_ids.size, cap), np.int64)
                out_sc = np.empty((chunk_ids.size, cap), np.float64)
                out_n = np.zeros(chunk_ids.size, np.int64)
                _all_pairs_kernel(
                    a_sorted, pa_sorted, ia_o, bt, pb_sorted, ib_o, wlo, whi, cmin, cmin_low,
                    metric, mode, chunk_rows, tile, top_k, chunk_ids, cap,
                    out_ia.reshape(-1), out_ib.reshape(-1), out_sc.reshape(-1), out_n,
                )
                ok = out_n <= cap
                used = (np.arange(cap)[None, :] < out_n[:, None]) & ok[:, None]
                found.append((out_ia[used], out_ib[used], out_sc[used]))
                chunk_ids = chunk_ids[~ok]
                if chunk_ids.size:
                    cap = int(out_n[~ok].max())
    ia = np.concatenate([x[0] for x in found])
    ib = np.concatenate([x[1] for x in found])
    sc = np.concatenate([x[2] for x in found])
    if mode == _MODE_NO_SELF:  # top-k dedup: unordered pairs, kept once
        lo_ = np.minimum(ia, ib)
        hi_ = np.maximum(ia, ib)
        ia, ib = lo_, hi_
        key = ia * n_a + ib
        key, first = np.unique(key, return_index=True)
        return ia[first], ib[first], sc[first]
    n_b = bt.shape[1]
    order = np.argsort(ia * max(n_b, 1) + ib, kind="stable")
    return ia[order], ib[order], sc[order]


def _all_pairs(
    a: Any, b: Any, threshold: Any, metric: int, top_k: Any,
    popcounts_a: Any, popcounts_b: Any, n_threads: int | None,
) -> _Result:
    a = _check_filters(a, "a")
    b = _check_filters(b, "b")
    _check_same_width(a, b)
    t = _check_threshold(threshold)
    k = _check_top_k(top_k)
    _Threads(n_threads)  # validates n_threads before any work
    pa = _check_popcounts(popcounts_a, a, "popcounts_a")
    pb = _check_popcounts(popcounts_b, b, "popcounts_b")
    if a.shape[0] == 0 or b.shape[0] == 0 or a.shape[1] == 0:
        return _empty_result()
    return _search(a, pa, b, pb, t, metric, _MODE_FULL, min(k, b.shape[0]), n_threads)


def dice_all_pairs(
    a: np.ndarray,
    b: np.ndarray,
    threshold: float,
    *,
    top_k: int | None = None,
    popcounts_a: np.ndarray | None = None,
    popcounts_b: np.ndarray | None = None,
    n_threads: int | None = None,
) -> _Result:
    """All pairs ``(i, j)`` with ``dice(a[i], b[j]) >= threshold``.

    Args:
        a: uint64 filters ``(n_a, words)``.
        b: uint64 filters ``(n_b, words)``, with the same ``words`` as ``a``.
        threshold: in ``(0, 1]``.
        top_k: if given, keep only the ``top_k`` best B rows per A row (highest score;
            ties go to the lower B index), still subject to ``threshold``.
        popcounts_a: precomputed :func:`popcounts` of ``a`` (e.g. when one side is linked
            against many blocks); it must be correct, it is only range-checked.
        popcounts_b: likewise for ``b``.
        n_threads: numba threads to use (default: numba's current setting, normally
            all cores). The result is identical for every thread count.

    Returns:
        ``(ia, ib, score)``: int64, int64 and float64 arrays, sorted by ``(ia, ib)``.

    Raises:
        ValueError: bad dtype/shape, threshold, top_k or n_threads.
        IncompatibleEncodingsError: the filters have different lengths.

    Example:
        >>> f = pack_bits(np.array([[1, 1, 1, 0], [1, 1, 0, 0], [0, 0, 1, 1]], dtype=bool))
        >>> ia, ib, s = dice_all_pairs(f, f, 0.7, top_k=1)
        >>> ia.tolist(), ib.tolist(), s.tolist()
        ([0, 1, 2], [0, 1, 2], [1.0, 1.0, 1.0])
    """
    return _all_pairs(a, b, threshold, _METRICS["dice"], top_k, popcounts_a, popcounts_b, n_threads)


def jaccard_all_pairs(
    a: np.ndarray,
    b: np.ndarray,
    threshold: float,
    *,
    top_k: int | None = None,
    popcounts_a: np.ndarray | None = None,
    popcounts_b: np.ndarray | None = None,
    n_threads: int | None = None,
) -> _Result:
    """All pairs ``(i, j)`` with ``jaccard(a[i], b[j]) >= threshold``.

    Same arguments and result as :func:`dice_all_pairs`; popcount pruning uses
    ``min(pa, pb) / max(pa, pb) >= threshold``.

    Example:
        >>> f = pack_bits(np.array([[1, 1, 1, 0], [1, 1, 0, 0]], dtype=bool))
        >>> jaccard_all_pairs(f, f, 0.6)[2].tolist()
        [1.0, 0.6666666666666666, 0.6666666666666666, 1.0]
    """
    return _all_pairs(a, b, threshold, _METRICS["jaccard"], top_k, popcounts_a, popcounts_b, n_threads)


def dedup_all_pairs(
    a: np.ndarray,
    threshold: float,
    *,
    metric: str = "dice",
    top_k: int | None = None,
    popcounts: np.ndarray | None = None,
    n_threads: int | None = None,
) -> _Result:
    """All pairs ``i < j`` within one source with similarity ``>= threshold``.

    Each unordered pair is computed once and self pairs are skipped. With ``top_k``,
    every record keeps its ``top_k`` best partners (ties to the lower index) and a pair
    is returned if it is among the best of either of its records, once, as ``i < j``.

    Args:
        a: uint64 filters ``(n, words)``.
        threshold: in ``(0, 1]``.
        metric: ``"dice"`` or ``"jaccard"``.
        top_k: as in :func:`dice_all_pairs` (per record, either side of a pair).
        popcounts: precomputed :func:`popcounts` of ``a``.
        n_threads: as in :func:`dice_all_pairs`.

    Returns:
        ``(ia, ib, score)`` with ``ia < ib``, sorted by ``(ia, ib)``.

    Example:
        >>> f = pack_bits(np.array([[1, 1, 1, 0], [1, 1, 0, 0], [1, 1, 1, 0]], dtype=bool))
        >>> ia, ib, s = dedup_all_pairs(f, 0.8)
        >>> ia.tolist(), ib.tolist(), s.tolist()
        ([0, 0, 1], [1, 2, 2], [0.8, 1.0, 0.8])
    """
    a = _check_filters(a, "a")
    t = _check_threshold(threshold)
    m = _check_metric(metric)
    k = _check_top_k(top_k)
    _Threads(n_threads)  # validates n_threads before any work
    pa = _check_popcounts(popcounts, a, "popcounts")
    if a.shape[0] < 2 or a.shape[1] == 0:
        return _empty_result()
    if k:
        return _search(a, pa, None, None, t, m, _MODE_NO_SELF, min(k, a.shape[0] - 1), n_threads)
    return _search(a, pa, None, None, t, m, _MODE_UPPER, 0, n_threads)
