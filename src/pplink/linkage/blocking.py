"""Candidate generation that needs nothing but the encodings (linkage-unit zone).

* :func:`token_pairs`: exact joins on keyed HMAC tokens (BSN, address, name + birth date).
  The linkage unit learns only which records share a token, which the tokens reveal anyway.
* :func:`lsh_pairs`: Hamming LSH on Bloom-filter bits (Karapiperis & Verykios, 2015/2016):
  each of ``bands`` bands samples ``bits_per_band`` bit positions; records that agree on all
  sampled bits of any band become candidates. Two filters at Hamming distance ``d`` of ``m``
  bits collide in one band with probability ``(1 - d/m) ** bits_per_band``. The positions are
  drawn from a public seed: LSH needs no secret and reveals nothing beyond the filters.
* :func:`union_pairs` merges candidate sets (``pplink.linkage.evaluate.blocking_metrics``
  reports pair completeness and reduction ratio when the truth is known).

Example:
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> a = rng.integers(0, 2**63, size=(3, 2), dtype=np.uint64)
    >>> b = np.concatenate([a[[2, 0]], rng.integers(0, 2**63, size=(1, 2), dtype=np.uint64)])
    >>> ia, ib = lsh_pairs(a, b, bits=128, bands=8, bits_per_band=16, seed=1)
    >>> sorted(zip(ia.tolist(), ib.tolist()))
    [(0, 1), (2, 0)]
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numba
import numpy as np

from pplink.linkage.similarity import _popcount64, _row_popcounts, _score

__all__ = ["token_pairs", "token_join", "TokenJoin", "auto_bits_per_band", "auto_bits_sample", "auto_bits_from_sample", "lsh_pairs", "lsh_dice_pairs", "LshResult", "band_positions", "union_pairs", "pair_keys"]


def pair_keys(ia: np.ndarray, ib: np.ndarray, n_b: int) -> np.ndarray:
    """One int64 per pair, ``ia * n_b + ib`` (for set operations on pairs)."""
    return np.asarray(ia, dtype=np.int64) * np.int64(max(n_b, 1)) + np.asarray(ib, dtype=np.int64)


def union_pairs(*pairs: tuple[np.ndarray, np.ndarray], n_b: int) -> tuple[np.ndarray, np.ndarray]:
    """Union of candidate pair sets, sorted by ``(ia, ib)``.

    Example:
        >>> import numpy as np
        >>> union_pairs((np.array([0, 1]), np.array([1, 1])), (np.array([0]), np.array([1])), n_b=2)
        (array([0, 1]), array([1, 1]))
    """
    parts = [pair_keys(ia, ib, n_b) for ia, ib in pairs if len(ia)]
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    keys = np.concatenate(parts)
    keys.sort()  # sort-based dedup: numpy's hash-based unique is several times slower here
    if len(keys):
        keep = np.empty(len(keys), dtype=bool)
        keep[0] = True
        np.not_equal(keys[1:], keys[:-1], out=keep[1:])
        keys = keys[keep]
    n_b = max(n_b, 1)
    return keys // n_b, keys % n_b


def _token_groups(tokens: np.ndarray, present: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Records with a token, sorted by token: the two 64-bit words of each and its row."""
    if tokens.ndim != 2 or tokens.shape[1] != 16:
        raise ValueError(f"tokens must be (n, 16) bytes, got shape {tokens.shape}")
    words = np.ascontiguousarray(tokens, dtype=np.uint8).view(np.uint64).reshape(len(tokens), 2)
    idx = np.flatnonzero(present)
    w0, w1 = words[idx, 0], words[idx, 1]
    order = np.lexsort((w1, w0))
    return w0[order], w1[order], idx[order]


@numba.njit(cache=True)
def _token_join(a0: np.ndarray, a1: np.ndarray, ra: np.ndarray, b0: np.ndarray, b1: np.ndarray, rb: np.ndarray,
                max_group: int, pa: np.ndarray, pb: np.ndarray, fill: bool) -> tuple[int, float]:
    """Merge-join two token lists sorted by (word 0, word 1).

    Returns the number of pairs in groups of at most ``max_group`` on both sides (written to
    ``pa``/``pb`` with ``fill``) and the number of pairs over all groups, however large.
    """
    i = j = 0
    t = 0
    every = 0.0
    na, nb = a0.shape[0], b0.shape[0]
    while i < na and j < nb:
        if a0[i] < b0[j] or (a0[i] == b0[j] and a1[i] < b1[j]):
            i += 1
        elif a0[i] > b0[j] or a1[i] > b1[j]:
            j += 1
        else:
            i2 = i
            while i2 < na and a0[i2] == a0[i] and a1[i2] == a1[i]:
                i2 += 1
            j2 = j
            while j2 < nb and b0[j2] == b0[j] and b1[j2] == b1[j]:
                j2 += 1
            every += float(i2 - i) * float(j2 - j)
            if i2 - i <= max_group and j2 - j <= max_group:
                if fill:
                    for x in range(i, i2):
                        for y in range(j, j2):
                            pa[t] = ra[x]
                            pb[t] = rb[y]
                            t += 1
                else:
                    t += (i2 - i) * (j2 - j)
            i, j = i2, j2
    return t, every


class TokenJoin(NamedTuple):
    """Pairs with equal tokens (groups of at most ``max_group`` per side) and ``n_equal``, the
    number of pairs with equal tokens over all groups, however large."""

    ia: np.ndarray
    ib: np.ndarray
    n_equal: float


def token_join(
    tokens_a: np.ndarray,
    present_a: np.ndarray,
    tokens_b: np.ndarray,
    present_b: np.ndarray,
    *,
    max_group: int = 1000,
) -> TokenJoin:
    """:func:`token_pairs` and the count of all equal-token pairs, from one sort of each side.

    Example:
        >>> import numpy as np
        >>> t = np.zeros((3, 16), dtype=np.uint8); t[2, 0] = 1
        >>> j = token_join(t, np.array([True, True, True]), t, np.array([True, True, False]), max_group=1)
        >>> j.ia.tolist(), j.n_equal   # the group of two is too large to pair, but counted
        ([], 4.0)
    """
    ga, gb = _token_groups(tokens_a, present_a), _token_groups(tokens_b, present_b)
    none = np.empty(0, dtype=np.int64)
    total, every = _token_join(*ga, *gb, max_group, none, none, False)
    pa, pb = np.empty(total, dtype=np.int64), np.empty(total, dtype=np.int64)
    _token_join(*ga, *gb, max_group, pa, pb, True)
    return TokenJoin(pa, pb, float(every))


def token_pairs(
    tokens_a: np.ndarray,
    present_a: np.ndarray,
    tokens_b: np.ndarray,
    present_b: np.ndarray,
    *,
    max_group: int = 1000,
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of records whose 16-byte tokens are equal (missing tokens never match).

    A token value shared by more than ``max_group`` records on either side is skipped (it
    carries no linking information and would explode the candidate set). Pairs come grouped
    by token, sorted by row within a group.

    Example:
        >>> import numpy as np
        >>> t = np.zeros((2, 16), dtype=np.uint8); t[1, 0] = 7
        >>> token_pairs(t, np.array([True, True]), t[::-1].copy(), np.array([True, False]))
        (array([1]), array([0]))
    """
    found = token_join(tokens_a, present_a, tokens_b, present_b, max_group=max_group)
    return found.ia, found.ib


@numba.njit(cache=True, parallel=True)
def _band_keys(filters: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Keys of every band for every row: ``(n, bands)`` uint64, the band's bits packed.

    ``positions`` is ``(bands, bits_per_band)``; each row is read once for all bands and its
    keys lie side by side (the first-collision test reads all bands of one row).
    """
    n = filters.shape[0]
    bands, r = positions.shape
    out = np.zeros((n, bands), dtype=np.uint64)
    one = np.uint64(1)
    for i in numba.prange(n):
        row = filters[i]
        for band in range(bands):
            key = np.uint64(0)
            for j in range(r):
                p = positions[band, j]
                key |= ((row[p >> 6] >> np.uint64(p & 63)) & one) << np.uint64(j)
            out[i, band] = key
    return out


@numba.njit(cache=True, parallel=True)
def _pack_bands(keys: np.ndarray) -> np.ndarray:
    """``(bands, n)``: each band's 32-bit key shifted up, the row number in the low 32 bits."""
    n, bands = keys.shape
    out = np.empty((bands, n), dtype=np.uint64)
    for band in numba.prange(bands):
        for i in range(n):
            out[band, i] = (keys[i, band] << np.uint64(32)) | np.uint64(i)
    return out


@numba.njit(cache=True, parallel=True)
def _unpack_bands(packed: np.ndarray) -> np.ndarray:
    """Split sorted packed values in place: keys stay in ``packed``, rows are returned."""
    bands, n = packed.shape
    rows = np.empty((bands, n), dtype=np.int32)
    low = np.uint64(0xFFFFFFFF)
    for band in numba.prange(bands):
        for i in range(n):
            v = packed[band, i]
            rows[band, i] = np.int32(v & low)
            packed[band, i] = v >> np.uint64(32)
    return rows


def _sort_bands(keys: np.ndarray, bits_per_band: int) -> tuple[np.ndarray, np.ndarray]:
    """Per band, the keys in sorted order and their rows: ``(bands, n)`` uint64 and int32.

    Keys of at most 32 bits are sorted together with their row as one 64-bit value (numpy's
    SIMD sort, bands on parallel threads); longer keys by argsort and a gather.
    """
    n, bands = keys.shape
    if bits_per_band <= 32:
        packed = _pack_bands(keys)
        with ThreadPoolExecutor(max(1, numba.get_num_threads())) as pool:
            list(pool.map(lambda band: packed[band].sort(), range(bands)))  # numpy releases the GIL
        return packed, _unpack_bands(packed)
    sorted_keys = np.empty((bands, n), dtype=np.uint64)
    rows = np.empty((bands, n), dtype=np.int32)
    for band in range(bands):
        order = np.argsort(keys[:, band], kind="stable")
        rows[band] = order
        sorted_keys[band] = keys[order, band]
    return sorted_keys, rows


@numba.njit(cache=True, inline="always")
def _run_end(keys: np.ndarray, band: int, start: int) -> int:
    """End of the run of equal keys that starts at ``start`` in a band's sorted keys."""
    end = start
    n = keys.shape[1]
    while end < n and keys[band, end] == keys[band, start]:
        end += 1
    return end


@numba.njit(cache=True, parallel=True)
def _joined_buckets(ka: np.ndarray, ra: np.ndarray, kb: np.ndarray, max_bucket: int,
                    joined: np.ndarray, bound: np.ndarray) -> None:
    """Mark in ``joined[row, band]`` whether an a-row's bucket is joined in a band (both sides
    hold at least one and at most ``max_bucket`` records); ``bound[band]`` counts its pairs."""
    bands, na = ka.shape
    nb = kb.shape[1]
    for band in numba.prange(bands):
        i = j = 0
        total = 0
        while i < na and j < nb:
            if ka[band, i] < kb[band, j]:
                i += 1
            elif ka[band, i] > kb[band, j]:
                j += 1
            else:
                i2 = _run_end(ka, band, i)
                j2 = _run_end(kb, band, j)
                if i2 - i <= max_bucket and j2 - j <= max_bucket:
                    total += (i2 - i) * (j2 - j)
                    for x in range(i, i2):
                        joined[ra[band, x], band] = True
                i, j = i2, j2
        bound[band] = total


@numba.njit(cache=True, parallel=True)
def _collect(first_band: int, keys_a: np.ndarray, keys_b: np.ndarray, ka: np.ndarray, ra: np.ndarray,
             kb: np.ndarray, rb: np.ndarray, joined: np.ndarray, fa: np.ndarray, fb: np.ndarray,
             pop_a: np.ndarray, pop_b: np.ndarray, min_dice: float, offsets: np.ndarray, pa: np.ndarray,
             pb: np.ndarray, ps: np.ndarray, n_unique: np.ndarray, n_kept: np.ndarray) -> None:
    """Walk the joined buckets of bands ``first_band ..`` (one per entry of ``offsets``) in parallel.

    A pair is taken only in the *first* band where it collides (``keys_a``/``keys_b`` hold every
    band's key by row), so no pair is seen twice and no global de-duplication is needed. With
    ``min_dice >= 0`` the pair's Dice similarity is computed on the spot and pairs below it are
    dropped. Kept pairs are written from ``offsets[g]`` on; counts go to ``n_unique`` (distinct
    colliding pairs) and ``n_kept``.
    """
    na, nb = ka.shape[1], kb.shape[1]
    n_words = fa.shape[1]
    for g in numba.prange(offsets.shape[0]):
        band = first_band + g
        t = offsets[g]
        u = 0
        i = j = 0
        while i < na and j < nb:
            if ka[band, i] < kb[band, j]:
                i += 1
            elif ka[band, i] > kb[band, j]:
                j += 1
            else:
                i2 = _run_end(ka, band, i)
                j2 = _run_end(kb, band, j)
                if joined[ra[band, i], band]:
                    for x in range(i, i2):
                        row_a = ra[band, x]
                        for y in range(j, j2):
                            row_b = rb[band, y]
                            first = True
                            for bb in range(band):
                                if keys_a[row_a, bb] == keys_b[row_b, bb] and joined[row_a, bb]:
                                    first = False
                                    break
                            if not first:
                                continue
                            u += 1
                            score = 0.0
                            if min_dice >= 0.0:
                                c = 0
                                for w in range(n_words):
                                    c += _popcount64(fa[row_a, w] & fb[row_b, w])
                                score = _score(0, c, pop_a[row_a] + pop_b[row_b])
                                if score < min_dice:
                                    continue
                            pa[t] = row_a
                            pb[t] = row_b
                            ps[t] = score
                            t += 1
                i, j = i2, j2
        n_unique[band] = u
        n_kept[band] = t - offsets[g]


class LshResult(NamedTuple):
    """Pairs found by :func:`lsh_dice_pairs`, sorted by ``(ia, ib)``, with their CLK Dice
    ``score``; ``n_colliding`` counts the distinct pairs that collided in some band before the
    similarity and top-k filters."""

    ia: np.ndarray
    ib: np.ndarray
    score: np.ndarray
    n_colliding: int


def _lsh(a: np.ndarray, b: np.ndarray, bits: int, bands: int, bits_per_band: int, seed: int,
         max_bucket: int, min_dice: float) -> LshResult:
    if not 1 <= bits_per_band <= 64:
        raise ValueError("bits_per_band must be 1..64")
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError("filters of a and b differ in length")
    if len(a) >= 2**31 or len(b) >= 2**31:
        raise ValueError("LSH blocking handles at most 2**31 - 1 records per source; use the Spark engine")
    a, b = np.ascontiguousarray(a, dtype=np.uint64), np.ascontiguousarray(b, dtype=np.uint64)
    positions = band_positions(bits, bands, bits_per_band, seed)
    keys_a, keys_b = _band_keys(a, positions), _band_keys(b, positions)
    ka, ra = _sort_bands(keys_a, bits_per_band)
    kb, rb = _sort_bands(keys_b, bits_per_band)
    joined = np.zeros((len(a), bands), dtype=np.bool_)
    bound = np.zeros(bands, dtype=np.int64)
    _joined_buckets(ka, ra, kb, max_bucket, joined, bound)
    pop_a, pop_b = _row_popcounts(a), _row_popcounts(b)
    n_unique = np.zeros(bands, dtype=np.int64)
    n_kept = np.zeros(bands, dtype=np.int64)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    # bands in groups of one per thread; each group's buffer is bounded by its bucket pairs
    step = max(1, numba.get_num_threads())
    for lo in range(0, bands, step):
        hi = min(bands, lo + step)
        offsets = np.r_[0, np.cumsum(bound[lo:hi])[:-1]].astype(np.int64)
        cap = int(bound[lo:hi].sum())
        pa, pb = np.empty(cap, dtype=np.int32), np.empty(cap, dtype=np.int32)
        ps = np.empty(cap, dtype=np.float32)
        _collect(lo, keys_a, keys_b, ka, ra, kb, rb, joined, a, b, pop_a, pop_b, float(min_dice), offsets,
                 pa, pb, ps, n_unique, n_kept)
        take = np.concatenate([np.arange(o, o + n) for o, n in zip(offsets, n_kept[lo:hi])]).astype(np.int64)
        parts.append((pa[take], pb[take], ps[take]))
        del pa, pb, ps
    if not parts:
        return LshResult(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.float32), 0)
    return LshResult(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                     np.concatenate([p[2] for p in parts]), int(n_unique.sum()))


def auto_bits_sample(n_a: int, n_b: int, *, seed: int = 0, sample: int = 20_000) -> tuple[np.ndarray, np.ndarray] | None:
    """The random record pairs :func:`auto_bits_per_band` measures (positions in ``a`` and ``b``;
    a seeded draw, so every engine draws the same), or ``None`` when there are too few pairs to
    need LSH (it then takes 8 bits).

    Example:
        >>> ra, rb = auto_bits_sample(1000, 300, seed=1)
        >>> len(ra), int(ra.max()) < 1000, int(rb.max()) < 300, auto_bits_sample(1, 1) is None
        (20000, True, True, True)
    """
    pairs = float(n_a) * float(n_b)
    if pairs <= float(max(n_a, n_b, 1)):
        return None
    rng = np.random.default_rng(seed)
    k = min(sample, int(pairs))
    return rng.integers(0, n_a, k), rng.integers(0, n_b, k)


def auto_bits_from_sample(rows_a: np.ndarray, rows_b: np.ndarray, *, bits: int, n_a: int, n_b: int) -> int:
    """Bits per band from the filters of the sampled pairs (row ``i`` of ``rows_a`` with row ``i``
    of ``rows_b``): the rule of :func:`auto_bits_per_band`, for engines that collect only the
    sampled rows.

    Example:
        >>> import numpy as np
        >>> f = np.random.default_rng(0).integers(0, 2**63, size=(2000, 16), dtype=np.uint64)
        >>> r = auto_bits_from_sample(f[:1000], f[1000:], bits=1024, n_a=10**6, n_b=10**6)
        >>> r in (20, 21)   # s about 0.5: log(1e6 / 1e12) / log(0.5) = 19.9
        True
    """
    pairs = float(n_a) * float(n_b)
    budget = float(max(n_a, n_b, 1))
    differ = np.unpackbits((np.ascontiguousarray(rows_a) ^ np.ascontiguousarray(rows_b)).view(np.uint8), axis=1)
    s = 1.0 - float(differ[:, :bits].mean())
    if pairs <= budget or not 0.0 < s < 1.0:
        return 8
    return int(min(64, max(8, math.ceil(math.log(budget / pairs) / math.log(s)))))


def auto_bits_per_band(a: np.ndarray, b: np.ndarray, *, bits: int, seed: int = 0, sample: int = 20_000) -> int:
    """Bits per LSH band so that unrelated records collide about ``max(n_a, n_b)`` times per band.

    The bit agreement ``s`` of unrelated records is measured on ``sample`` random pairs (a
    seeded draw); a band of ``r`` bits then joins about ``n_a n_b s**r`` unrelated pairs. Plain
    CLKs (``s`` about 0.63) get about 30 bits at 1M x 1M; diffused filters (``s`` = 0.5) about
    20, which keeps the chance that a true pair collides high although diffusion lowers its bit
    agreement. Clipped to 8..64.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> f = rng.integers(0, 2**63, size=(1000, 16), dtype=np.uint64)   # density 0.5
        >>> auto_bits_per_band(f, f, bits=1024)   # 1e6 pairs, budget 1e3: about log2(1e3) bits
        11
    """
    drawn = auto_bits_sample(len(a), len(b), seed=seed, sample=sample)
    if drawn is None:
        return 8
    ra, rb = drawn
    return auto_bits_from_sample(np.ascontiguousarray(a)[ra], np.ascontiguousarray(b)[rb], bits=bits,
                                 n_a=len(a), n_b=len(b))


def band_positions(bits: int, bands: int, bits_per_band: int, seed: int) -> np.ndarray:
    """The ``(bands, bits_per_band)`` bit positions sampled by :func:`lsh_pairs` (public seed).

    Example:
        >>> band_positions(128, 2, 3, seed=1).shape
        (2, 3)
    """
    if not 1 <= bits_per_band <= 64:
        raise ValueError("bits_per_band must be 1..64")
    rng = np.random.default_rng(seed)
    return np.stack([rng.choice(bits, size=bits_per_band, replace=False) for _ in range(bands)]).astype(np.int64)


def lsh_pairs(
    a: np.ndarray,
    b: np.ndarray,
    *,
    bits: int,
    bands: int = 30,
    bits_per_band: int = 32,
    seed: int = 20240101,
    max_bucket: int = 500,
) -> tuple[np.ndarray, np.ndarray]:
    """Hamming-LSH candidate pairs between packed filters ``a`` and ``b``, sorted by ``(ia, ib)``.

    Each band is a sort-merge join on the packed band keys (compiled, bands in parallel); a
    pair is taken in the first band where it collides. Buckets holding more than
    ``max_bucket`` records on either side are skipped (typically near-empty filters); raise it
    if pair completeness suffers. With ``bits_per_band = r`` and ``bands = L``, a pair whose
    filters agree on a share ``s`` of their bits becomes a candidate with probability
    ``1 - (1 - s**r)**L``. :func:`lsh_dice_pairs` also filters by similarity on the way,
    which needs far less memory when many pairs collide.
    """
    res = _lsh(a, b, bits, bands, bits_per_band, seed, max_bucket, -1.0)
    return _sorted_pairs(res.ia, res.ib, len(b))


def lsh_dice_pairs(
    a: np.ndarray,
    b: np.ndarray,
    threshold: float,
    *,
    bits: int,
    top_k: int | None = None,
    bands: int = 30,
    bits_per_band: int = 32,
    seed: int = 20240101,
    max_bucket: int = 500,
) -> LshResult:
    """LSH pairs whose Dice similarity reaches ``threshold``, at most ``top_k`` per a-record.

    The same pairs as :func:`lsh_pairs` followed by a Dice filter and a top-k cut (per
    a-record, best score first, ties by the lower b position), but the similarity is computed
    inside the band join, so the colliding pairs below the threshold (often ten times more
    than the rest) are never stored.

    Example:
        >>> import numpy as np
        >>> rng = np.random.default_rng(0)
        >>> a = rng.integers(0, 2**63, size=(3, 2), dtype=np.uint64)
        >>> b = np.concatenate([a[[2, 0]], rng.integers(0, 2**63, size=(1, 2), dtype=np.uint64)])
        >>> res = lsh_dice_pairs(a, b, 0.9, bits=128, bands=8, bits_per_band=16, seed=1)
        >>> res.ia.tolist(), res.ib.tolist(), res.score.tolist()
        ([0, 2], [1, 0], [1.0, 1.0])
    """
    if not 0 <= threshold <= 1:
        raise ValueError("threshold must be in [0, 1]")
    res = _lsh(a, b, bits, bands, bits_per_band, seed, max_bucket, float(threshold))
    ia, ib, score = res.ia, res.ib, res.score
    if top_k is not None and len(ia) and np.bincount(ia).max() > top_k:
        order = np.lexsort((ib, -score, ia))  # per a-record: best first
        ia, ib, score = ia[order], ib[order], score[order]
        starts = np.r_[0, np.flatnonzero(ia[1:] != ia[:-1]) + 1]
        rank = np.arange(len(ia)) - np.repeat(starts, np.diff(np.r_[starts, len(ia)]))
        keep = rank < top_k
        ia, ib, score = ia[keep], ib[keep], score[keep]
    order = np.argsort(pair_keys(ia, ib, len(b)))
    return LshResult(ia[order].astype(np.int64), ib[order].astype(np.int64), score[order], res.n_colliding)


def _sorted_pairs(ia: np.ndarray, ib: np.ndarray, n_b: int) -> tuple[np.ndarray, np.ndarray]:
    keys = pair_keys(ia, ib, n_b)
    keys.sort()
    n_b = max(n_b, 1)
    return keys // n_b, keys % n_b
