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

import numba
import numpy as np
import pandas as pd

__all__ = ["token_pairs", "lsh_pairs", "band_positions", "union_pairs", "pair_keys"]


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


def _token_frame(tokens: np.ndarray, present: np.ndarray) -> pd.DataFrame:
    words = np.ascontiguousarray(tokens).view(np.uint64).reshape(len(tokens), -1)
    idx = np.flatnonzero(present)
    return pd.DataFrame({"w0": words[idx, 0], "w1": words[idx, 1], "i": idx})


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
    carries no linking information and would explode the candidate set).

    Example:
        >>> import numpy as np
        >>> t = np.zeros((2, 16), dtype=np.uint8); t[1, 0] = 7
        >>> token_pairs(t, np.array([True, True]), t[::-1].copy(), np.array([True, False]))
        (array([1]), array([0]))
    """
    fa, fb = _token_frame(tokens_a, present_a), _token_frame(tokens_b, present_b)
    if fa.empty or fb.empty:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    for f in (fa, fb):
        f["size"] = f.groupby(["w0", "w1"])["i"].transform("size")
    fa, fb = fa[fa["size"] <= max_group], fb[fb["size"] <= max_group]
    joined = fa.merge(fb, on=["w0", "w1"], suffixes=("_a", "_b"))
    return joined["i_a"].to_numpy(np.int64), joined["i_b"].to_numpy(np.int64)


@numba.njit(cache=True, parallel=True)
def _band_keys(filters: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Keys of every band for every row: ``(bands, n)`` uint64, the band's bits packed.

    ``positions`` is ``(bands, bits_per_band)``; each row is read once for all bands.
    """
    n = filters.shape[0]
    bands, r = positions.shape
    out = np.zeros((bands, n), dtype=np.uint64)
    one = np.uint64(1)
    for i in numba.prange(n):
        row = filters[i]
        for band in range(bands):
            key = np.uint64(0)
            for j in range(r):
                p = positions[band, j]
                key |= ((row[p >> 6] >> np.uint64(p & 63)) & one) << np.uint64(j)
            out[band, i] = key
    return out


@numba.njit(cache=True)
def _merge_walk(ka: np.ndarray, oa: np.ndarray, kb: np.ndarray, ob: np.ndarray, max_bucket: int,
                pa: np.ndarray, pb: np.ndarray, fill: bool) -> int:
    """Walk two key arrays sorted by key; count (and with ``fill`` write) the joined pairs."""
    i = j = 0
    t = 0
    na, nb = ka.shape[0], kb.shape[0]
    while i < na and j < nb:
        if ka[i] < kb[j]:
            i += 1
        elif ka[i] > kb[j]:
            j += 1
        else:
            k = ka[i]
            i2 = i
            while i2 < na and ka[i2] == k:
                i2 += 1
            j2 = j
            while j2 < nb and kb[j2] == k:
                j2 += 1
            if i2 - i <= max_bucket and j2 - j <= max_bucket:
                if fill:
                    for x in range(i, i2):
                        for y in range(j, j2):
                            pa[t] = oa[x]
                            pb[t] = ob[y]
                            t += 1
                else:
                    t += (i2 - i) * (j2 - j)
            i, j = i2, j2
    return t


def _join_sorted(ka: np.ndarray, oa: np.ndarray, kb: np.ndarray, ob: np.ndarray,
                 max_bucket: int) -> tuple[np.ndarray, np.ndarray]:
    """Merge-join two key arrays sorted by key (``oa``/``ob`` map back to row numbers)."""
    none = np.empty(0, dtype=np.int64)
    total = _merge_walk(ka, oa, kb, ob, max_bucket, none, none, False)
    pa = np.empty(total, dtype=np.int64)
    pb = np.empty(total, dtype=np.int64)
    _merge_walk(ka, oa, kb, ob, max_bucket, pa, pb, True)
    return pa, pb


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
    """Hamming-LSH candidate pairs between packed filters ``a`` and ``b``.

    Each band is a sort-merge join on the packed band keys (compiled). Buckets holding more
    than ``max_bucket`` records on either side are skipped (typically near-empty filters);
    raise it if pair completeness suffers. With ``bits_per_band = r`` and ``bands = L``, a
    pair whose filters agree on a share ``s`` of their bits becomes a candidate with
    probability ``1 - (1 - s**r)**L``.
    """
    if not 1 <= bits_per_band <= 64:
        raise ValueError("bits_per_band must be 1..64")
    if a.shape[1] != b.shape[1]:
        raise ValueError("filters of a and b differ in length")
    positions = band_positions(bits, bands, bits_per_band, seed)
    keys_a = _band_keys(np.ascontiguousarray(a), positions)
    keys_b = _band_keys(np.ascontiguousarray(b), positions)
    found: list[tuple[np.ndarray, np.ndarray]] = []
    for band in range(bands):
        ka, kb = keys_a[band], keys_b[band]
        oa, ob = np.argsort(ka), np.argsort(kb)
        found.append(_join_sorted(ka[oa], oa, kb[ob], ob, max_bucket))
    return union_pairs(*found, n_b=len(b))
