"""Bloom-filter encoding with keyed random hashing.

Each token (a q-gram of a normalised value) is mapped to ``k`` bit positions drawn from a
keyed pseudo-random function (BLAKE2b in keyed mode, a PRF) of the token. Unlike the double
hashing of the original CLK proposal (Schnell, Bachteler & Reiher 2009), whose positions are
linear in two hash values and were attacked by Niedermeyer et al. (2014), the ``k`` positions
of random hashing are independent of each other.

Filters are packed into ``uint64`` words: bit ``i`` is bit ``i % 64`` of word ``i // 64``
(little-endian), so the bytes equal a Parquet ``fixed_size_binary`` column.

Work is done once per distinct (value, salt) pair and per distinct token, then scattered to
the records by a compiled kernel, so the cost grows with the number of distinct values rather
than the number of records.

Example:
    >>> import numpy as np
    >>> h = TokenHasher(b"k" * 32, k=4, bits=128)
    >>> pos = h.positions("ab")
    >>> len(pos), all(0 <= p < 128 for p in pos)
    (4, True)
    >>> h.positions("ab") == pos
    True
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numba
import numpy as np
import pandas as pd

from pplink.schema import BloomField

__all__ = ["TokenHasher", "encode_field", "words_for"]


def words_for(bits: int) -> int:
    """Number of 64-bit words that hold ``bits`` bits.

    Example:
        >>> words_for(1024), words_for(65)
        (16, 2)
    """
    return (bits + 63) // 64


class TokenHasher:
    """Maps tokens to ``k`` bit positions in ``[0, bits)`` with a keyed PRF; caches results.

    ``salt`` (hardening) is mixed into the hashed message, so the same token under another
    salt gives unrelated positions.
    """

    __slots__ = ("_key", "_k", "_bits", "_cache", "_blocks")

    def __init__(self, key: bytes, *, k: int, bits: int) -> None:
        if len(key) < 16:
            raise ValueError("hashing key must have at least 16 bytes")
        self._key = key[:64]
        self._k = k
        self._bits = bits
        self._cache: dict[tuple[str, str], tuple[int, ...]] = {}
        self._blocks = (k + 15) // 16  # 16 x 32-bit draws per 64-byte BLAKE2b digest

    def positions(self, token: str, salt: str = "") -> tuple[int, ...]:
        """The ``k`` bit positions of ``token`` (cached)."""
        cache_key = (token, salt)
        hit = self._cache.get(cache_key)
        if hit is not None:
            return hit
        message = salt.encode("utf-8", "surrogatepass") + b"\x1f" + token.encode("utf-8", "surrogatepass")
        remaining = self._k
        out: list[int] = []
        for block in range(self._blocks):
            n = min(16, remaining)
            digest = hashlib.blake2b(
                message, key=self._key, digest_size=4 * n, person=block.to_bytes(16, "little")
            ).digest()
            out.extend(int(x) % self._bits for x in np.frombuffer(digest, dtype="<u4"))
            remaining -= n
        result = tuple(out)
        self._cache[cache_key] = result
        return result


@numba.njit(cache=True, nogil=True)
def _scatter_positions(out: np.ndarray, codes: np.ndarray, offsets: np.ndarray, positions: np.ndarray) -> None:
    one = np.uint64(1)
    for i in range(codes.shape[0]):
        c = codes[i]
        if c < 0:
            continue
        for j in range(offsets[c], offsets[c + 1]):
            p = positions[j]
            out[i, p >> 6] |= one << np.uint64(p & 63)


def encode_field(
    out: np.ndarray,
    values: Sequence[str | None] | np.ndarray,
    spec: BloomField,
    hasher: TokenHasher,
    salts: Sequence[str] | np.ndarray | None = None,
) -> np.ndarray:
    """OR the Bloom-filter bits of ``values`` (one per row of ``out``) into ``out``.

    Returns a boolean mask of rows whose value was present. ``None`` values set no bits.

    Example:
        >>> import numpy as np
        >>> from pplink.schema import BloomField
        >>> out = np.zeros((2, 2), dtype=np.uint64)
        >>> spec = BloomField("surname", bits=128, k=5)
        >>> present = encode_field(out, ["berg", None], spec, TokenHasher(b"x" * 32, k=5, bits=128))
        >>> present.tolist(), bool(out[0].any()), bool(out[1].any())
        ([True, False], True, False)
    """
    series = pd.Series(np.asarray(values, dtype=object), dtype=object)
    present = series.notna().to_numpy()
    value_codes, value_uniques = pd.factorize(series, use_na_sentinel=True)
    if salts is not None:
        # Each distinct (salt, value) pair is hashed once: combine the two factorizations.
        salt_codes, salt_uniques = pd.factorize(pd.Series(np.asarray(salts, dtype=object), dtype=object).fillna(""))
        combined = np.where(present, salt_codes.astype(np.int64) * len(value_uniques) + value_codes, -1)
        codes, uniques = pd.factorize(combined, use_na_sentinel=False)
        pairs = [
            (str(salt_uniques[c // len(value_uniques)]), str(value_uniques[c % len(value_uniques)])) if c >= 0 else ("", "")
            for c in uniques
        ]
        # the code of the "missing" marker (-1) must scatter nothing
        codes = np.where(present, codes, -1)
    else:
        codes = value_codes
        pairs = [("", str(u)) for u in value_uniques]
    offsets = np.zeros(len(pairs) + 1, dtype=np.int64)
    flat: list[int] = []
    positions = hasher.positions
    for idx, (salt, value) in enumerate(pairs):
        for token in spec.tokens_for(value):
            flat.extend(positions(token, salt))
        offsets[idx + 1] = len(flat)
    _scatter_positions(out, codes.astype(np.int64), offsets, np.asarray(flat, dtype=np.int64))
    return present
