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
    """Maps tokens to ``k`` bit positions in ``[0, bits)`` with a keyed PRF.

    Every distinct (token, salt) gets a small integer id and one row of ``k`` positions in
    :attr:`table`, so hashing happens once per distinct token and the per-record work is a
    compiled table lookup. ``salt`` (hardening) is mixed into the hashed message, so the same
    token under another salt gives unrelated positions.
    """

    __slots__ = ("_key", "_k", "_bits", "_ids", "_rows", "_table", "_blocks")

    def __init__(self, key: bytes, *, k: int, bits: int) -> None:
        if len(key) < 16:
            raise ValueError("hashing key must have at least 16 bytes")
        self._key = key[:64]
        self._k = k
        self._bits = bits
        self._ids: dict[tuple[str, str], int] = {}
        self._rows: list[bytes] = []
        self._table = np.zeros((0, k), dtype=np.int64)
        self._blocks = (k + 15) // 16  # 16 x 32-bit draws per 64-byte BLAKE2b digest

    def __reduce__(self) -> object:
        raise TypeError("TokenHasher objects hold a derived key and cannot be pickled")

    def _digest(self, token: str, salt: str) -> bytes:
        message = salt.encode("utf-8", "surrogatepass") + b"\x1f" + token.encode("utf-8", "surrogatepass")
        remaining = self._k
        parts = []
        for block in range(self._blocks):
            n = min(16, remaining)
            parts.append(
                hashlib.blake2b(message, key=self._key, digest_size=4 * n, person=block.to_bytes(16, "little")).digest()
            )
            remaining -= n
        return b"".join(parts)

    def token_id(self, token: str, salt: str = "") -> int:
        """Small integer id of ``(token, salt)``; hashes it on first sight."""
        key = (token, salt)
        tid = self._ids.get(key)
        if tid is None:
            tid = self._ids[key] = len(self._rows)
            self._rows.append(self._digest(token, salt))
        return tid

    @property
    def table(self) -> np.ndarray:
        """``(n_tokens, k)`` int64 array: row ``token_id`` holds that token's bit positions."""
        if len(self._table) < len(self._rows):
            fresh = b"".join(self._rows[len(self._table) :])
            draws = np.frombuffer(fresh, dtype="<u4").reshape(-1, self._k).astype(np.int64) % self._bits
            self._table = np.concatenate([self._table, draws])
        return self._table

    def positions(self, token: str, salt: str = "") -> tuple[int, ...]:
        """The ``k`` bit positions of ``token``."""
        tid = self.token_id(token, salt)
        return tuple(int(p) for p in self.table[tid])


@numba.njit(cache=True, nogil=True, parallel=True)
def _scatter_tokens(
    out: np.ndarray, codes: np.ndarray, offsets: np.ndarray, token_ids: np.ndarray, table: np.ndarray
) -> None:
    one = np.uint64(1)
    k = table.shape[1]
    for i in numba.prange(codes.shape[0]):
        c = codes[i]
        if c < 0:
            continue
        for j in range(offsets[c], offsets[c + 1]):
            t = token_ids[j]
            for r in range(k):
                p = table[t, r]
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
    if not present.any():
        return present  # no value in this chunk: nothing to set (and nothing to factorize)
    value_codes, value_uniques = pd.factorize(series, use_na_sentinel=True)
    value_uniques = np.asarray(value_uniques, dtype=object)
    if salts is not None:
        # Each distinct (salt, value) pair is tokenised once: combine the two factorizations.
        salt_codes, salt_uniques = pd.factorize(pd.Series(np.asarray(salts, dtype=object), dtype=object).fillna(""))
        nv = max(len(value_uniques), 1)
        combined = np.where(present, salt_codes.astype(np.int64) * nv + value_codes, -1)
        codes, uniques = pd.factorize(combined, use_na_sentinel=True)
        uniques = np.asarray(uniques, dtype=np.int64)
        pair_values = value_uniques[uniques % nv]
        pair_salts = np.asarray(salt_uniques, dtype=object)[uniques // nv]
    else:
        codes = value_codes
        pair_values = value_uniques
        pair_salts = None
    offsets, token_ids = _token_ids(pair_values, pair_salts, spec, hasher)
    _scatter_tokens(out, np.asarray(codes, dtype=np.int64), offsets, token_ids, hasher.table)
    return present


_CHAR_BITS = 21  # every Unicode code point fits in 21 bits


def _token_ids(
    values: np.ndarray, salts: np.ndarray | None, spec: BloomField, hasher: TokenHasher
) -> tuple[np.ndarray, np.ndarray]:
    """Token ids of every value, flattened, with per-value offsets.

    Short q-grams are computed for all values at once as integer codes (``q`` code points of 21
    bits each, plus the position for positional q-grams); only distinct q-grams are turned back
    into strings and hashed. The result equals tokenising each value with
    :meth:`BloomField.tokens_for`, which remains the fallback for long q-grams.
    """
    n = len(values)
    if n == 0:
        return np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64)
    salt_list = [""] * n if salts is None else [str(x) for x in salts]
    if spec.tokenizer == "exact":
        ids = np.fromiter((hasher.token_id(str(v), st) for v, st in zip(values, salt_list, strict=True)), np.int64, n)
        return np.arange(n + 1, dtype=np.int64), ids
    text = np.array([f"_{v}_" if spec.padded else str(v) for v in values], dtype=str)
    width = text.dtype.itemsize // 4
    q = spec.q
    pos_bits = int(width).bit_length() if spec.positional else 0
    if width == 0 or q * _CHAR_BITS + pos_bits > 63 or any("\x00" in str(v) for v in values):
        return _token_ids_python(values, salt_list, spec, hasher)
    cp = text.view(np.uint32).reshape(n, width).astype(np.int64)
    lengths = np.char.str_len(text)
    if width < q:
        cp = np.pad(cp, ((0, 0), (0, q - width)))
        width = q
    windows = width - q + 1
    codes = np.zeros((n, windows), dtype=np.int64)
    for j in range(q):
        codes |= cp[:, j : j + windows] << (_CHAR_BITS * (q - 1 - j))
    if spec.positional:
        codes |= np.arange(windows, dtype=np.int64)[None, :] << (_CHAR_BITS * q)
    n_grams = np.where(lengths >= q, lengths - q + 1, np.minimum(lengths, 1))
    valid = np.arange(windows)[None, :] < n_grams[:, None]
    flat_codes = codes[valid]  # row-major: value by value, q-grams in order
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(n_grams, out=offsets[1:])
    if salts is None:
        distinct, inverse = np.unique(flat_codes, return_inverse=True)
        distinct_salts = [""] * len(distinct)
    else:
        salt_codes, salt_uniques = pd.factorize(pd.Series(salt_list, dtype=object))
        per_gram_salt = np.repeat(salt_codes, n_grams)
        stacked, inverse = np.unique(np.stack([flat_codes, per_gram_salt]), axis=1, return_inverse=True)
        distinct = stacked[0]
        distinct_salts = [str(salt_uniques[c]) for c in stacked[1]]
    mask = (1 << _CHAR_BITS) - 1
    ids = np.empty(len(distinct), dtype=np.int64)
    for i, (code, salt) in enumerate(zip(distinct.tolist(), distinct_salts, strict=True)):
        chars = [(code >> (_CHAR_BITS * (q - 1 - j))) & mask for j in range(q)]
        gram = "".join(chr(c) for c in chars if c)
        token = f"{code >> (_CHAR_BITS * q)}:{gram}" if spec.positional else gram
        ids[i] = hasher.token_id(token, salt)
    return offsets, ids[np.asarray(inverse).reshape(-1)]


def _token_ids_python(
    values: np.ndarray, salts: list[str], spec: BloomField, hasher: TokenHasher
) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    flat: list[int] = []
    for idx, (value, salt) in enumerate(zip(values, salts, strict=True)):
        flat.extend(hasher.token_id(token, salt) for token in spec.tokens_for(str(value)))
        offsets[idx + 1] = len(flat)
    return offsets, np.asarray(flat, dtype=np.int64)
