"""Sex / gender codes to the BRP codes ``M`` (man), ``V`` (vrouw) and ``O`` (onbekend).

Dutch and English words and their abbreviations are recognised. ``O`` also receives
explicit "unknown", "unspecified" (passport ``X``) and non-binary/other values: the BRP has
no further category, and treating them as a third, comparable code keeps them apart from
both M and V. Numeric codes are read only with ``numeric="iso5218"`` (0 = not known,
1 = male, 2 = female, 9 = not applicable), because other systems use 1/2 the other way
round or 0/1.

Example:
    >>> normalize_sex("Vrouw")
    'V'
    >>> normalize_sex("2", numeric="iso5218")
    'V'
"""

from __future__ import annotations

import re

from pplink.errors import ConfigError, StandardizationError
from pplink.standardize.text import fold_text

__all__ = ["normalize_sex", "SEX_CODES", "NUMERIC_SCHEMES"]

SEX_CODES: dict[str, str] = {
    # man
    "m": "M", "man": "M", "male": "M", "mannelijk": "M", "jongen": "M", "heer": "M",
    "de heer": "M", "dhr": "M", "mr": "M", "boy": "M", "mannen": "M",
    "masculine": "M",
    # vrouw
    "v": "V", "vrouw": "V", "f": "V", "female": "V", "vrouwelijk": "V", "meisje": "V",
    "mevrouw": "V", "mevr": "V", "mw": "V", "mrs": "V", "ms": "V", "miss": "V",
    "girl": "V", "woman": "V", "vrouwen": "V", "feminine": "V", "vr": "V", "w": "V",
    # onbekend / other
    "o": "O", "onbekend": "O", "onb": "O", "unknown": "O", "u": "O", "unk": "O",
    "x": "O", "onbepaald": "O", "unspecified": "O", "niet bekend": "O", "nb": "O",
    "n/b": "O", "anders": "O", "other": "O", "overig": "O", "divers": "O", "d": "O",
    "non-binair": "O", "non-binary": "O", "nonbinary": "O", "non binair": "O",
    "?": "O",
}  # fmt: skip

#: Accepted values of the ``numeric`` option (``None``/``"none"`` = no numeric codes).
NUMERIC_SCHEMES = ("none", "iso5218")
_ISO5218 = {"0": "O", "1": "M", "2": "V", "9": "O"}
_TRIM = re.compile(r"^[\s.:;,()\[\]]+|[\s.:;,()\[\]]+$")


def normalize_sex(text: str, *, numeric: str | None = None) -> str:
    """Map a sex/gender value to ``M``, ``V`` or ``O``.

    ``numeric`` may be ``None``/``"none"`` (digits rejected) or ``"iso5218"``.
    Raises :class:`~pplink.errors.StandardizationError` for unknown values.

    Example:
        >>> normalize_sex(" MAN ")
        'M'
        >>> normalize_sex("f.")
        'V'
        >>> normalize_sex("onbekend")
        'O'
    """
    if numeric not in (None, *NUMERIC_SCHEMES):
        raise ConfigError(f"option 'numeric' must be one of {', '.join(NUMERIC_SCHEMES)}")
    if not isinstance(text, str):
        raise StandardizationError("value is not text")
    s = _TRIM.sub("", fold_text(text))
    code = SEX_CODES.get(s)
    if code is not None:
        return code
    if s.isdigit():
        if numeric == "iso5218":
            code = _ISO5218.get(s.lstrip("0") or "0")
            if code is not None:
                return code
            raise StandardizationError("not an ISO 5218 sex code (0, 1, 2 or 9)")
        raise StandardizationError(
            'numeric sex codes are ambiguous; set numeric = "iso5218" if 1 = man, 2 = vrouw'
        )
    raise StandardizationError("unrecognised sex code (expected M, V or O or a word for them)")
