"""Keyed HMAC tokens: exact match keys that reveal equality, and so frequency.

A token is HMAC-SHA256 (RFC 2104) over the canonical, length-prefixed concatenation of the
token's normalised field values, truncated to 128 bits. Without the key a token cannot be
recomputed from a guessed value (no dictionary attack). But tokens are deterministic: equal
inputs give equal tokens, which is what exact-match linkage needs, so a token column reveals
equality and therefore the frequency distribution of the values within a project. Someone with
a reference population can align frequent tokens with frequent values (see "What keyed tokens
reveal" in docs/security-model.md; tests/test_token_leakage.py pins this down).

The key is ``Secret.derive("token/<name>", project=schema.project)``: it differs per token type
and per project (HKDF salt), so tokens of different types or projects never match and cannot be
joined. That per-project key is the salting mechanism for tokens; there is no separate salt.

Example:
    >>> t = hmac_tokens(b"k" * 32, [["123456782"], [None]], required=1)
    >>> len(t[0]), t[1] is None
    (16, True)
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["TOKEN_BYTES", "hmac_tokens", "hmac_token_array"]

TOKEN_BYTES = 16


def _message(values: Sequence[str | None]) -> bytes:
    """Netstring-style canonical message: ``<length in code points>:<value>`` per field (missing = empty)."""
    return "".join(f"{len(v or '')}:{v or ''}" for v in values).encode("utf-8", "surrogatepass")


def hmac_tokens(key: bytes, rows: Sequence[Sequence[str | None]], *, required: int) -> list[bytes | None]:
    """One token per row; ``None`` where one of the first ``required`` values is missing.

    Values after the first ``required`` are optional (missing counts as empty). Distinct rows
    are hashed once.

    Example:
        >>> a = hmac_tokens(b"k" * 32, [["1234AB", "1", None], ["1234AB", "1", ""]], required=2)
        >>> a[0] == a[1]
        True
    """
    cache: dict[tuple[str | None, ...], bytes | None] = {}
    out: list[bytes | None] = []
    for row in rows:
        key_row = tuple(row)
        if key_row in cache:
            out.append(cache[key_row])
            continue
        if any(v is None for v in key_row[:required]):
            tok = None
        else:
            tok = hmac.digest(key, _message(key_row), "sha256")[:TOKEN_BYTES]
        cache[key_row] = tok
        out.append(tok)
    return out


def hmac_token_array(key: bytes, columns: Sequence[pd.Series], *, required: int) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`hmac_tokens` over aligned columns: ``(tokens (n, 16) uint8, present)``.

    The canonical messages are built with column-wise string operations, and each distinct
    message is hashed once.

    Example:
        >>> import pandas as pd
        >>> toks, ok = hmac_token_array(b"k" * 32, [pd.Series(["a", None, "a"])], required=1)
        >>> ok.tolist(), bool((toks[0] == toks[2]).all())
        ([True, False, True], True)
    """
    n = len(columns[0]) if columns else 0
    present = np.ones(n, dtype=bool)
    message = pd.Series([""] * n, dtype=object)
    for i, col in enumerate(columns):
        col = col.reset_index(drop=True).astype(object)
        missing = col.isna().to_numpy()
        if i < required:
            present &= ~missing
        text = col.where(~missing, "").astype(str)
        lengths = text.str.len().astype(str)  # length in code points: still an unambiguous netstring
        message = message + lengths + ":" + text
    codes, uniques = pd.factorize(message.where(present, None), use_na_sentinel=True)
    digest = hmac.digest
    blob = b"".join(digest(key, u.encode("utf-8", "surrogatepass"), "sha256")[:TOKEN_BYTES] for u in uniques)
    table = np.frombuffer(blob, dtype=np.uint8).reshape(len(uniques), TOKEN_BYTES)
    out = np.zeros((n, TOKEN_BYTES), dtype=np.uint8)
    if present.any():
        out[present] = table[codes[present]]
    return out, present
