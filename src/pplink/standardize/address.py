"""Addresses: Dutch postcodes, free-form postcodes, house numbers and additions.

Canonical forms: postcode ``1234AB`` (or ``1234`` with ``allow_pc4``), house number as
digits without leading zeros (1-99999), addition as upper-case letters and digits without
separators (``"A"``, ``"2"``, ``"BIS"``, ``"III"``, ``"HS"`` for *huis*).

Example:
    >>> normalize_postcode(" 1234 ab ")
    '1234AB'
    >>> split_house_number("12-hs")
    ('12', 'HS')
"""

from __future__ import annotations

import re
from functools import lru_cache

from pplink.errors import StandardizationError
from pplink.standardize.text import fold_text

__all__ = [
    "normalize_postcode",
    "normalize_postcode_freeform",
    "split_house_number",
    "normalize_house_number_addition",
]

_PC6 = re.compile(r"(?:nl\s*-?\s*)?([0-9]{4})\s*-?\s*([a-z]{2})")
_PC4 = re.compile(r"(?:nl\s*-?\s*)?([0-9]{4})")
_NEVER_ISSUED = frozenset({"SA", "SD", "SS"})

_HOUSE = re.compile(r"(?:(?:huisnummer|huisnr|nr|no)\s*[.:]?\s*)?0*([0-9]+)(.*)")
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")
_FLOAT_ZERO = re.compile(r"\s*\.0+\s*")
_ADDITION_WORDS = {"huis": "HS", "hs": "HS"}
MAX_ADDITION_LENGTH = 12
MAX_HOUSE_NUMBER = 99999


@lru_cache(maxsize=65536)
def _postcode(text: str, allow_pc4: bool) -> str:
    s = fold_text(text)
    if m := _PC6.fullmatch(s):
        digits, letters = m[1], m[2].upper()
        if digits[0] == "0":
            raise StandardizationError("postcode cannot start with 0")
        if letters in _NEVER_ISSUED:
            raise StandardizationError("postcode letters SA, SD and SS are never issued")
        return digits + letters
    if m := _PC4.fullmatch(s):
        if m[1][0] == "0":
            raise StandardizationError("postcode cannot start with 0")
        if allow_pc4:
            return m[1]
        raise StandardizationError(
            "postcode has no letters; set allow_pc4 = true to accept 4-digit postcodes"
        )
    raise StandardizationError("not a Dutch postcode (expected 4 digits and 2 letters)")


def normalize_postcode(text: str, *, allow_pc4: bool = False) -> str:
    """Normalise a Dutch postcode to ``1234AB``.

    Accepts spaces, a hyphen, lower case and an ``NL`` prefix. Rejects a leading ``0``, the
    letter pairs SA, SD and SS (never issued) and anything else malformed. With
    ``allow_pc4=True`` a bare four-digit postcode is accepted as ``1234``.

    Example:
        >>> normalize_postcode("1234-ab")
        '1234AB'
        >>> normalize_postcode("1234", allow_pc4=True)
        '1234'
        >>> normalize_postcode("1234 SS")
        Traceback (most recent call last):
        ...
        pplink.errors.StandardizationError: postcode letters SA, SD and SS are never issued
    """
    if not isinstance(text, str):
        raise StandardizationError("value is not text")
    return _postcode(text, bool(allow_pc4))


def normalize_postcode_freeform(text: str) -> str:
    """Fold a non-Dutch postcode: no accents, no whitespace, upper case.

    Example:
        >>> normalize_postcode_freeform(" sw1a 1aa ")
        'SW1A1AA'
    """
    if not isinstance(text, str):
        raise StandardizationError("value is not text")
    s = "".join(fold_text(text).split()).upper()
    if not s:
        raise StandardizationError("postcode is empty")
    return s


def _addition(rest: str) -> str | None:
    if not rest or _FLOAT_ZERO.fullmatch(rest):
        return None  # "12.0" from a spreadsheet's float column
    s = _NOT_ALNUM.sub("", rest)
    if not s:
        return None
    s = _ADDITION_WORDS.get(s, s.upper())
    if len(s) > MAX_ADDITION_LENGTH:
        raise StandardizationError(
            f"house number addition is longer than {MAX_ADDITION_LENGTH} characters"
        )
    return s


@lru_cache(maxsize=65536)
def _house_number(text: str) -> tuple[str, str | None]:
    s = fold_text(text)
    m = _HOUSE.fullmatch(s)
    if m is None:
        raise StandardizationError("house number must start with digits")
    number = m[1]
    if len(number) > len(str(MAX_HOUSE_NUMBER)):
        raise StandardizationError(f"house number out of range 1-{MAX_HOUSE_NUMBER}")
    if int(number) == 0:
        raise StandardizationError("house number must be at least 1")
    return number, _addition(m[2])


def split_house_number(text: str) -> tuple[str, str | None]:
    """Split a house number into ``(number, addition)``.

    Leading zeros are dropped; the addition is upper case without separators, ``None``
    when there is none; *huis* becomes ``HS``. Rejects 0, text without a leading number,
    numbers above 99999 and additions longer than 12 characters.

    Example:
        >>> split_house_number("0012")
        ('12', None)
        >>> split_house_number("12 a")
        ('12', 'A')
        >>> split_house_number("12/3")
        ('12', '3')
        >>> split_house_number("12 III")
        ('12', 'III')
    """
    if not isinstance(text, str):
        raise StandardizationError("value is not text")
    return _house_number(text)


def normalize_house_number_addition(text: str) -> str:
    """Normalise a house number addition given in its own column.

    Example:
        >>> normalize_house_number_addition("-bis")
        'BIS'
        >>> normalize_house_number_addition("huis")
        'HS'
    """
    if not isinstance(text, str):
        raise StandardizationError("value is not text")
    addition = _addition(fold_text(text))
    if addition is None:
        raise StandardizationError("house number addition has no letters or digits")
    return addition
