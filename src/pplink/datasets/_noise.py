"""Error injection for the synthetic sources: the kinds of mistakes real registers contain.

Every function takes the value and a :class:`numpy.random.Generator` and returns the
corrupted value, or the value unchanged where the error kind does not apply (a phonetic
rule that has nothing to rewrite, a nickname for a name without one).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, fields, replace

import numpy as np

from pplink.datasets.names_nl import NICKNAMES

__all__ = [
    "ErrorProfile",
    "DEFAULT_ERRORS",
    "typo",
    "phonetic_variant",
    "nickname",
    "swap_day_month",
    "date_typo",
    "house_number_typo",
    "bsn_typo",
    "ascii_fold",
    "to_latin1",
]


@dataclass(frozen=True)
class ErrorProfile:
    """Per-source error rates (probabilities per record, or per field where noted).

    Attributes:
        typo: per name field (given name, surname): one insert/delete/substitute/transpose.
        phonetic: per name field: a spelling variant (ij/y, ei/ij, ch/g, c/k, ph/f, dt/d/t, ...).
        nickname: the given name is a call name (Kees for Cornelis, Mieke for Maria).
        date_swap: day and month swapped (only where both are <= 12).
        date_typo: the birth date is off in one component (year +-1/10, a day digit, month).
        missing: per identifying field (names, birth date, sex, postcode, house number): empty.
        particle_variant: the particle is written differently (inline, "v.d.", capitalised,
            dropped); only affects people with a particle.
        outdated_address: for people who moved: the source still has the old address.
        house_number_typo: the house number is off (+-1, digits swapped) or loses its addition.
        bsn_missing: the BSN cell is empty (sources with a BSN column only).
        bsn_typo: the BSN has two adjacent digits swapped (then usually fails the elfproef).
        partial_date: only year ("1980") or year-month ("1980-05") is known.
    """

    typo: float = 0.01
    phonetic: float = 0.01
    nickname: float = 0.01
    date_swap: float = 0.005
    date_typo: float = 0.005
    missing: float = 0.01
    particle_variant: float = 0.02
    outdated_address: float = 0.1
    house_number_typo: float = 0.005
    bsn_missing: float = 0.02
    bsn_typo: float = 0.002
    partial_date: float = 0.0

    def scaled(self, factor: float) -> ErrorProfile:
        """Every rate multiplied by ``factor`` (clipped to [0, 1])."""
        return replace(self, **{f.name: float(min(1.0, max(0.0, getattr(self, f.name) * factor))) for f in fields(self)})

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not (0.0 <= float(v) <= 1.0):
                raise ValueError(f"error rate {f.name} must be in [0, 1]")


#: Default error rates per source: the BRP-fed Wmo register is cleanest, the purchased
#: commercial file noisiest (call names, partial dates, outdated addresses).
DEFAULT_ERRORS: dict[str, ErrorProfile] = {
    "wmo": ErrorProfile(
        typo=0.01, phonetic=0.005, nickname=0.005, date_swap=0.003, date_typo=0.003, missing=0.005,
        particle_variant=0.02, outdated_address=0.05, house_number_typo=0.003, bsn_missing=0.03,
        bsn_typo=0.002,
    ),
    "participatie": ErrorProfile(
        typo=0.015, phonetic=0.01, nickname=0.01, date_swap=0.005, date_typo=0.005, missing=0.01,
        particle_variant=0.05, outdated_address=0.10, house_number_typo=0.005, bsn_missing=0.01,
        bsn_typo=0.003,
    ),
    "jeugd": ErrorProfile(
        typo=0.02, phonetic=0.015, nickname=0.005, date_swap=0.01, date_typo=0.005, missing=0.01,
        particle_variant=0.08, outdated_address=0.15, house_number_typo=0.005, bsn_missing=0.0,
        bsn_typo=0.0,
    ),
    "commercial": ErrorProfile(
        typo=0.02, phonetic=0.02, nickname=0.04, date_swap=0.01, date_typo=0.005, missing=0.02,
        particle_variant=0.10, outdated_address=0.5, house_number_typo=0.01, bsn_missing=0.0,
        bsn_typo=0.0, partial_date=0.06,
    ),
}

# QWERTY neighbours for realistic substitutions and insertions.
_KEYBOARD = {
    "q": "wa", "w": "qeas", "e": "wrds", "r": "etdf", "t": "ryfg", "y": "tugh", "u": "yihj",
    "i": "uojk", "o": "ipkl", "p": "ol", "a": "qwsz", "s": "awedxz", "d": "serfcx", "f": "drtgvc",
    "g": "ftyhbv", "h": "gyujnb", "j": "huikmn", "k": "jiolm", "l": "kop", "z": "asx", "x": "zsdc",
    "c": "xdfv", "v": "cfgb", "b": "vghn", "n": "bhjm", "m": "njk",
}


def _match_case(new: str, like: str) -> str:
    if like.isupper():
        return new.upper()
    return new


def typo(s: str, rng: np.random.Generator) -> str:
    """One keyboard-style edit: insert, delete, substitute or transpose (rarely the first letter)."""
    if len(s) < 2:
        return s
    op = int(rng.integers(0, 4))
    # errors at the first letter are rarer than elsewhere
    pos = int(rng.integers(1, len(s))) if rng.random() < 0.9 else 0
    ch = s[pos]
    near = _KEYBOARD.get(ch.lower(), "aeiou")
    new = _match_case(near[int(rng.integers(0, len(near)))], ch)
    if op == 0:  # insert
        return s[:pos] + new + s[pos:]
    if op == 1 and len(s) > 3:  # delete
        return s[:pos] + s[pos + 1 :]
    if op == 2 or pos == len(s) - 1:  # substitute
        return s[:pos] + new + s[pos + 1 :]
    return s[:pos] + s[pos + 1] + s[pos] + s[pos + 2 :]  # transpose


# Dutch spelling variants: (pattern, replacement); patterns are lower case.
_PHONETIC = [
    ("eij", "ey"), ("eij", "ei"), ("ey", "eij"), ("(?<![ae])ij", "y"), ("(?<=[a-z])(?<![ae])y", "ij"),
    ("ei(?!j)", "ij"), ("(?<![aeu])ij", "ei"), ("cht$", "gt"), ("gt$", "cht"), ("gh", "g"),
    ("c(?=[aou])", "k"), ("k(?=[aou])", "c"), ("ph", "f"), ("dt$", "d"), ("dt$", "t"),
    ("(?<=[aeiou])d$", "dt"), ("(?<=[aeiou])t$", "dt"), ("ks", "x"), ("x", "ks"), ("ssen$", "sen"),
    ("(?<=[^s])sen$", "ssen"), ("eter", "eeter"), ("eeter", "eter"), ("au", "ou"), ("ou", "au"),
    ("uij", "ui"), ("ui(?!j)", "uij"), ("^th", "t"), ("^z", "s"), ("kx$", "x"), ("ks$", "kx"),
    ("ck", "k"), ("ë", "e"), ("é", "e"), ("ie$", "i"), ("oo(?=[^aeiou][aeiou])", "o"),
]
_PHONETIC_RE = [(re.compile(p), r) for p, r in _PHONETIC]


def phonetic_variant(s: str, rng: np.random.Generator) -> str:
    """Rewrite one spelling that sounds the same (Meijer -> Meyer, Hendriks -> Hendrikx)."""
    low = s.lower()
    options = [(rx, r) for rx, r in _PHONETIC_RE if rx.search(low)]
    if not options:
        return s
    rx, rep = options[int(rng.integers(0, len(options)))]
    matches = list(rx.finditer(low))
    m = matches[int(rng.integers(0, len(matches)))]
    new = rep
    original = s[m.start() : m.end()]
    if original[:1].isupper():
        new = new[:1].upper() + new[1:]
    if s.isupper():
        new = new.upper()
    return s[: m.start()] + new + s[m.end() :]


def nickname(first: str, rng: np.random.Generator) -> str:
    """A call name for ``first`` (Cornelis -> Kees), or ``first`` itself when none is known."""
    options = NICKNAMES.get(first)
    if not options:
        return first
    return options[int(rng.integers(0, len(options)))]


_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _valid_day(y: int, m: int, d: int) -> int:
    if m == 2:
        leap = y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)
        return min(d, 29 if leap else 28)
    return min(d, _DAYS[m - 1])


def swap_day_month(y: int, m: int, d: int) -> tuple[int, int, int]:
    """Day and month swapped (3 April -> 4 March), where that is a valid date."""
    if d <= 12 and d != m:
        return y, d, m
    return y, m, d


def date_typo(y: int, m: int, d: int, rng: np.random.Generator) -> tuple[int, int, int]:
    """One component off: year +-1 or +-10, a day digit, or the month +-1."""
    k = int(rng.integers(0, 4))
    if k == 0:
        y += int(rng.choice([-1, 1]))
    elif k == 1:
        y += int(rng.choice([-10, 10]))
    elif k == 2:
        if d >= 10 and d % 10 != 0 and (d % 10) * 10 + d // 10 <= 28 and d % 10 != d // 10:
            d = (d % 10) * 10 + d // 10  # digits swapped: 12 -> 21
        else:
            d = d + 1 if d < 28 else d - 1
    else:
        m = m + 1 if m < 12 else m - 1
    return y, m, _valid_day(y, m, d)


def house_number_typo(number: int, addition: str, rng: np.random.Generator) -> tuple[int, str]:
    """House number +-1 or digits swapped, or the addition dropped."""
    if addition and rng.random() < 0.4:
        return number, ""
    s = str(number)
    if len(s) >= 2 and s[-1] != s[-2] and s[-1] != "0" and rng.random() < 0.5:
        return int(s[:-2] + s[-1] + s[-2]), addition  # 12 -> 21
    return (number + 1 if number <= 1 or rng.random() < 0.5 else number - 1), addition


def bsn_typo(bsn: str, rng: np.random.Generator) -> str:
    """Two adjacent digits swapped (the classic keying error the elfproef is meant to catch)."""
    for _ in range(8):
        i = int(rng.integers(0, len(bsn) - 1))
        if bsn[i] != bsn[i + 1]:
            return bsn[:i] + bsn[i + 1] + bsn[i] + bsn[i + 2 :]
    return bsn


_EXTRA_FOLD = str.maketrans({"ı": "i", "İ": "I", "ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D"})


def ascii_fold(s: str) -> str:
    """Strip diacritics (Çelik -> Celik, Hélène -> Helene); keeps ß/ligature-free ASCII letters."""
    if s.isascii():
        return s
    s = s.translate(_EXTRA_FOLD)
    out = "".join(c for c in unicodedata.normalize("NFKD", s) if not unicodedata.combining(c))
    return out.replace("ß", "ss")


def to_latin1(s: str) -> str:
    """Keep ``s`` where it fits latin-1, fold only the characters that do not (Ş -> S, ł -> l)."""
    try:
        s.encode("latin-1")
        return s
    except UnicodeEncodeError:
        return "".join(c if ord(c) < 256 else (ascii_fold(c) or "?") for c in s)
