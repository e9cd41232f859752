"""Keyed HMAC tokens: exact match keys that reveal only equality.

A token is HMAC-SHA256 (RFC 2104) over the canonical, length-prefixed concatenation of the
token's normalised field values, truncated to 128 bits. Without the key a token cannot be
recomputed from a guessed value (no dictionary attack), but equal inputs give equal tokens,
so a token column reveals equality and frequency within a project (see docs/security-model.md).
The key differs per token type and per project (HKDF), so tokens of different types or projects
cannot be joined.

Example:
    >>> t = hmac_tokens(b"k" * 32, [["123456782"], [None]], required=1)
    >>> len(t[0]), t[1] is None
    (16, True)
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

__all__ = ["TOKEN_BYTES", "hmac_tokens"]

TOKEN_BYTES = 16


def _message(values: Sequence[str | None]) -> bytes:
    parts = []
    for v in values:
        raw = (v or "").encode("utf-8", "surrogatepass")
        parts.append(len(raw).to_bytes(4, "big") + raw)
    return b"".join(parts)


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
        tok = cache.get(key_row, b"")
        if tok == b"":
            if any(v is None for v in key_row[:required]):
                tok = None
            else:
                tok = hmac.new(key, _message(key_row), hashlib.sha256).digest()[:TOKEN_BYTES]
            cache[key_row] = tok
        out.append(tok)
    return out
