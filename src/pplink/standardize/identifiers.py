"""Burgerservicenummer (BSN): cleaning and the elfproef.

A BSN has 9 digits; an 8-digit form (a lost leading zero, e.g. from a spreadsheet) gets
the zero back. The elfproef: weights 9, 8, 7, 6, 5, 4, 3, 2, -1; the weighted sum must be
divisible by 11 and not 0 (so ``000000000`` is invalid).

Example:
    >>> normalize_bsn("1234.56.782")
    '123456782'
    >>> is_valid_bsn("123456783")
    False
"""

from __future__ import annotations

import re
import unicodedata

from pplink.errors import StandardizationError

__all__ = ["normalize_bsn", "is_valid_bsn", "elfproef"]

_SEPARATORS = re.compile(r"[\s.\-]+")
_DIGITS = re.compile(r"[0-9]{8,9}")
_WEIGHTS = (9, 8, 7, 6, 5, 4, 3, 2, -1)


def elfproef(digits: str) -> bool:
    """True if nine ASCII ``digits`` pass the elfproef (weighted sum divisible by 11, not 0).

    Example:
        >>> elfproef("111222333")
        True
    """
    if len(digits) != 9 or not digits.isascii() or not digits.isdigit():
        return False
    total = sum(w * (ord(c) - 48) for w, c in zip(_WEIGHTS, digits, strict=True))
    return total != 0 and total % 11 == 0


def normalize_bsn(text: str) -> str:
    """Normalise a BSN to 9 digits and check the elfproef.

    Spaces, dots and hyphens are removed; an 8-digit number gets a leading zero.
    Raises :class:`~pplink.errors.StandardizationError` otherwise.

    Example:
        >>> normalize_bsn("12345672")
        '012345672'
        >>> normalize_bsn("123 456 782")
        '123456782'
    """
    if not isinstance(text, str):
        raise StandardizationError("value is not text")
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    s = _SEPARATORS.sub("", text)
    if not _DIGITS.fullmatch(s):
        if s.isascii() and s.isdigit():
            raise StandardizationError("BSN must have 9 digits (or 8 with the leading zero lost)")
        raise StandardizationError("BSN may contain only digits, spaces, dots and hyphens")
    if len(s) == 8:
        s = "0" + s
    if not elfproef(s):
        raise StandardizationError("BSN fails the elfproef (check digit)")
    return s


def is_valid_bsn(text: str) -> bool:
    """True if ``text`` normalises to a valid BSN; never raises.

    Example:
        >>> is_valid_bsn("123456782")
        True
        >>> is_valid_bsn("000000000")
        False
    """
    try:
        normalize_bsn(text)
    except StandardizationError:
        return False
    return True
