"""Names: folding, Dutch particles (tussenvoegsels) and full-name parsing.

Canonical forms
---------------
* Names are folded (see :func:`pplink.standardize.text.fold_text`), lower case, single
  spaces. Letters of any script are kept; digits and punctuation other than the hyphen and
  the apostrophe become spaces, so initials ``"J.P."`` become ``"j p"``. Hyphens are kept
  without surrounding spaces (``"Vries - van Dam"`` -> ``"vries-van dam"``), because the
  population register (BRP) spells double names with a hyphen.
* A particle (tussenvoegsel) is a run of particle words such as ``van``, ``de``, ``der``,
  ``den``, ``het``, ``'t``, ``te``, ``ter``, ``ten``, ``in``, ``op``, ``uit``, ``aan``,
  ``bij``, ``d'``, ``l'``, ``la``, ``le``, ``du``, ``des``, ``da``, ``dos``, ``di``,
  ``del``, ``della``, ``von``, ``zu`` ... (see :data:`PARTICLE_WORDS`), written in lower case
  and separated by single spaces: ``"van der"``, ``"van 't"``, ``"in 't"``, ``"de la"``,
  ``"d'"``. A bare ``t`` after another particle word is read as ``'t``.
* The surname is what remains after the particle; it is never empty. A surname that
  consists only of particle-like words keeps its last word as the surname (``"De"`` ->
  particle ``None``, surname ``"de"``).

Abbreviations (the ambiguous ``v.d.``)
-------------------------------------
``v.`` means ``van``; ``v.d.``, ``v/d``, ``v. d.`` and ``vd`` can mean *van de*, *van den*
or *van der*. pplink expands them deterministically to **"van de"**. The choice is made
for linkage quality: ``"van de"`` is a prefix of both ``"van den"`` and ``"van der"``,
so a bigram Dice comparison of ``"van de"`` with either full form scores about 0.9,
while a separate bucket such as ``"vd"`` would share no bigram with any full form and a
guess of ``"van der"`` would score lower against ``"van den"`` than ``"van de"`` does.
Explicit longer abbreviations keep their information: ``v.der`` -> ``"van der"``,
``v.den`` -> ``"van den"``, ``v.h.`` / ``v/h`` -> ``"van het"``.

In a surname or particle column ``v.`` is always *van*. In a full name a capital
``V.`` may be an initial (``"J. V. Dijk"``), so there only a lower-case ``v.`` is read
as *van*; ``v.d.``-style forms are always read as particles unless glued to a
preceding initial (``"J.V.D. Berg"`` keeps three initials).

Example:
    >>> split_particle("Berg, van den")
    ('van den', 'berg')
    >>> split_particle("v.d. Berg")
    ('van de', 'berg')
    >>> parse_full_name("Maria-José de Vries-van Dam")
    FullName(first_name='maria-jose', particle='de', surname='vries-van dam')
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from pplink.errors import ConfigError, StandardizationError
from pplink.standardize.nicknames import expand_nicknames
from pplink.standardize.text import fold_keep_case, fold_text

__all__ = [
    "PARTICLE_WORDS",
    "FullName",
    "normalize_name",
    "normalize_particle",
    "split_particle",
    "parse_full_name",
    "ORDERS",
    "TITLES",
    "SUFFIXES",
]

#: Words that can make up a particle (tussenvoegsel), folded lower case. Dutch forms plus
#: the French, German, Italian, Spanish and Portuguese ones the BRP also records.
PARTICLE_WORDS: frozenset[str] = frozenset(
    {
        # Dutch
        "van", "de", "den", "der", "het", "'t", "te", "ten", "ter", "in", "op", "uit",
        "uijt", "aan", "bij", "over", "voor", "onder", "tot",
        # French
        "d'", "l'", "la", "le", "les", "du", "des",
        # Italian / Spanish / Portuguese
        "da", "das", "do", "dos", "di", "del", "della", "dei", "degli", "dal", "dalla",
        "las", "los", "lo",
        # German
        "von", "vom", "zu", "zum", "zur", "dem",
    }
)  # fmt: skip

#: Accepted values of the ``order`` option of :func:`parse_full_name`.
ORDERS = ("auto", "first_last", "last_first")

_NO_LETTERS = "name contains no letters"

#: Longer input is rejected as not being a name (and is not worth caching).
MAX_NAME_LENGTH = 1000


class FullName(NamedTuple):
    """A parsed full name; every part is folded lower case or ``None``."""

    first_name: str | None
    particle: str | None
    surname: str


# --------------------------------------------------------------------------- cleaning

# ``v.d.``, ``v/d``, ``v. d.``, ``v.der``, ``v.den``, ``v.de`` (not glued to an initial)
_ABBR_VD = re.compile(r"(?<![\w'.])v\s*[./]\s*d(en|er|e)?(?:\s*[./]|(?![\w']))", re.IGNORECASE)
# ``v.h.``, ``v/h``: van het
_ABBR_VH = re.compile(r"(?<![\w'.])v\s*[./]\s*h(?:\s*[./]|(?![\w']))", re.IGNORECASE)
# ``v.`` followed by a word: van (case-insensitive in surnames, lower case only in full names)
_ABBR_V_ANY = re.compile(r"(?<![\w'.])v\.\s*(?=[\w'])", re.IGNORECASE)
_ABBR_V_LOWER = re.compile(r"(?<![\w'.])v\.\s*(?=[\w'])")
# cheap test whether any of the above can match
_ABBR_HINT = re.compile(r"(?<![\w'.])v\s*[./]", re.IGNORECASE)

# everything that is not a letter, apostrophe, hyphen, comma or space becomes a space
_JUNK_WITH_COMMA = re.compile(r"[^\w'\-, ]|[\d_]")
_JUNK = re.compile(r"[^\w'\- ]|[\d_]")
_HYPHENS = re.compile(r"\s*-[\s-]*")
_APOSTROPHES = re.compile(r"'{2,}")
_ELIDED = re.compile(r"^([dl]')(\w.*)$")

_KEEP_APOSTROPHE = frozenset({"'t", "'s", "d'", "l'"})


def _expand_vd(match: re.Match[str]) -> str:
    tail = (match.group(1) or "e").lower()
    return f" van d{tail} "


def _clean_token(tok: str) -> str:
    """Strip stray hyphens/apostrophes from the edges of one token."""
    low = tok.lower()
    if low in _KEEP_APOSTROPHE:
        return tok
    if low.startswith("'s-"):
        rest = tok[3:].strip("'-")
        return "'s-" + rest if rest else "'s"
    return tok.strip("'-")


def _clean(text: str, junk: re.Pattern[str]) -> str:
    text = junk.sub(" ", text)
    if "-" in text:
        text = " ".join(text.split())  # keeps the hyphen pattern below linear
        text = _HYPHENS.sub("-", text)
    if "''" in text:
        text = _APOSTROPHES.sub("'", text)
    return text


def _clean_tokens(text: str) -> list[str]:
    out = []
    for tok in text.split():
        if "'" in tok or "-" in tok:
            tok = _clean_token(tok)
            if not tok:
                continue
        out.append(tok)
    return out


def _check_length(text: str) -> None:
    if len(text) > MAX_NAME_LENGTH:
        raise StandardizationError(f"name is longer than {MAX_NAME_LENGTH} characters")


@lru_cache(maxsize=65536)
def _normalize_name(text: str) -> str:
    _check_length(text)
    folded = fold_text(text)
    tokens = _clean_tokens(_clean(folded, _JUNK))
    if not tokens:
        raise StandardizationError(_NO_LETTERS)
    return " ".join(tokens)


def normalize_name(text: str, *, nicknames: bool = False) -> str:
    """Fold a (first) name: lower case, no accents, initials split, single spaces.

    No particle logic is applied. With ``nicknames=True`` common Dutch diminutives are
    replaced by the formal name (see :mod:`pplink.standardize.nicknames`).

    Raises :class:`~pplink.errors.StandardizationError` if no letters remain.

    Example:
        >>> normalize_name("  JOSÉ-María  ")
        'jose-maria'
        >>> normalize_name("J.P.")
        'j p'
        >>> normalize_name("Kees", nicknames=True)
        'cornelis'
    """
    if not isinstance(text, str):
        raise StandardizationError("value is not text")
    name = _normalize_name(text)
    if nicknames:
        name = " ".join(expand_nicknames(name.split(" ")))
    return name


# --------------------------------------------------------------------------- tokens

class _Tok(NamedTuple):
    text: str  # folded lower case
    caps: bool  # written in capitals in the input (for order detection)


def _particle_parts(text: str, *, lower_v_only: bool) -> list[list[_Tok]]:
    """Fold, expand abbreviations, clean and tokenise; one token list per comma part."""
    s = fold_keep_case(text)
    if _ABBR_HINT.search(s):
        s = _ABBR_VD.sub(_expand_vd, s)
        s = _ABBR_VH.sub(" van het ", s)
        s = (_ABBR_V_LOWER if lower_v_only else _ABBR_V_ANY).sub("van ", s)
    s = _clean(s, _JUNK_WITH_COMMA)
    parts: list[list[_Tok]] = []
    for chunk in s.split(","):
        pending = [
            (raw.lower() if raw.isascii() else fold_text(raw), raw.isupper())
            for raw in _clean_tokens(chunk)
        ]
        toks: list[_Tok] = []
        i = 0
        while i < len(pending):
            low, caps = pending[i]
            i += 1
            if low and "'" not in low and low != "vd":  # the common case
                toks.append(_Tok(low, caps))
                continue
            if low == "vd":
                toks.append(_Tok("van", caps))
                toks.append(_Tok("de", caps))
                continue
            if low == "'s":
                if i < len(pending):
                    # 's-Gravesande: the genitive article belongs to the name
                    nxt, caps = pending[i]
                    i += 1
                    toks.append(_Tok(_clean_token("'s-" + nxt), caps))
                    continue
                low = "s"  # nothing follows to attach the 's to
            m = _ELIDED.match(low)
            if m:  # d'Ancona, l'Estrange
                toks.append(_Tok(m.group(1), caps))
                rest = _clean_token(m.group(2))
                if rest:
                    pending.insert(i, (rest, caps))
                continue
            if low:
                toks.append(_Tok(low, caps))
        if toks:
            parts.append(toks)
    return parts


def _is_particle_word(tok: str) -> bool:
    return tok in PARTICLE_WORDS


def _run_end(tokens: list[_Tok], start: int, *, bare_t_first: bool) -> int:
    """End index of the run of particle words starting at ``start``.

    A bare ``t`` counts as ``'t`` after another particle word, or as the first word of a
    run when ``bare_t_first`` (a surname such as ``"t Hart"``).
    """
    i = start
    n = len(tokens)
    while i < n:
        tok = tokens[i].text
        if tok in PARTICLE_WORDS or (tok == "t" and (i > start or bare_t_first)):
            i += 1
        else:
            break
    return i


def _trailing_start(tokens: list[_Tok], lowest: int) -> int:
    """Start index (>= ``lowest``) of a run of particle words that ends the list, or len."""
    n = len(tokens)
    i = n
    while i > lowest and (tokens[i - 1].text in PARTICLE_WORDS or tokens[i - 1].text == "t"):
        i -= 1
    # a run may not start with a bare "t" (that would be an initial or a name)
    while i < n and tokens[i].text == "t":
        i += 1
    return i


def _join_particle(tokens: list[_Tok]) -> str | None:
    if not tokens:
        return None
    return " ".join("'t" if t.text == "t" else t.text for t in tokens)


def _join(tokens: list[_Tok]) -> str | None:
    return " ".join(t.text for t in tokens) if tokens else None


def _split_surname_tokens(tokens: list[_Tok]) -> tuple[list[_Tok], list[_Tok]]:
    """(particle tokens, surname tokens) for a surname written without comma."""
    n = len(tokens)
    if n <= 1:
        return [], tokens
    end = _run_end(tokens, 0, bare_t_first=True)
    if end > 0:
        end = min(end, n - 1)  # keep at least one word as the surname
        return tokens[:end], tokens[end:]
    start = _trailing_start(tokens, 1)
    if start < n:
        return tokens[start:], tokens[:start]
    return [], tokens


# --------------------------------------------------------------------------- particles

@lru_cache(maxsize=65536)
def _split_particle(text: str) -> tuple[str | None, str]:
    _check_length(text)
    parts = _particle_parts(text, lower_v_only=False)
    if not parts:
        raise StandardizationError(_NO_LETTERS)
    if len(parts) >= 2:
        rest = [t for part in parts[1:] for t in part]
        if _run_end(rest, 0, bare_t_first=True) == len(rest):
            # "Berg, van den": everything after the comma is the particle
            head_particle, surname = _split_surname_tokens(parts[0])
            particle = head_particle + rest if head_particle else rest
            return _join_particle(particle), _join(surname) or ""
    tokens = [t for part in parts for t in part]
    particle, surname = _split_surname_tokens(tokens)
    return _join_particle(particle), _join(surname) or ""


def split_particle(text: str) -> tuple[str | None, str]:
    """Split a surname into ``(particle, surname)``.

    The particle may be written inline (``"van den Berg"``), after a comma
    (``"Berg, van den"``), after the name (``"Berg van den"``), abbreviated
    (``"v.d. Berg"``, ``"vd Berg"``, ``"v/d Berg"``, ``"v. Dijk"``) or in any case. The
    particle is ``None`` when there is none; the surname is never empty. Abbreviations
    ``v.d.``/``vd``/``v/d`` become ``"van de"`` (see the module docstring for why).

    Raises :class:`~pplink.errors.StandardizationError` if no letters remain.

    Example:
        >>> split_particle("VAN DEN BERG")
        ('van den', 'berg')
        >>> split_particle("in 't Veld")
        ("in 't", 'veld')
        >>> split_particle("De")
        (None, 'de')
    """
    if not isinstance(text, str):
        raise StandardizationError("value is not text")
    return _split_particle(text)


@lru_cache(maxsize=4096)
def _normalize_particle(text: str) -> str:
    _check_length(text)
    tokens = [t for part in _particle_parts(text, lower_v_only=False) for t in part]
    if not tokens:
        raise StandardizationError("particle contains no letters")
    if _run_end(tokens, 0, bare_t_first=True) != len(tokens):
        raise StandardizationError("not a recognised name particle (tussenvoegsel)")
    return _join_particle(tokens) or ""


def normalize_particle(text: str) -> str:
    """Normalise a particle (tussenvoegsel) given in its own column.

    Raises :class:`~pplink.errors.StandardizationError` if the text contains a word that is
    not a particle word.

    Example:
        >>> normalize_particle("V.D.")
        'van de'
        >>> normalize_particle("Van 'T")
        "van 't"
        >>> normalize_particle("in t")
        "in 't"
    """
    if not isinstance(text, str):
        raise StandardizationError("value is not text")
    return _normalize_particle(text)


# --------------------------------------------------------------------------- full names

def _is_initial(tok: _Tok) -> bool:
    return len(tok.text) == 1


def _detect_order(tokens: list[_Tok]) -> str:
    content = [t for t in tokens if len(t.text) > 1 and t.text not in PARTICLE_WORDS]
    if len(content) >= 2:
        first_caps, last_caps = content[0].caps, content[-1].caps
        if first_caps and not last_caps:
            return "last_first"  # "BERG Jan"
        if last_caps and not first_caps:
            return "first_last"  # "Jan VAN DEN BERG"
    if tokens[0].text in PARTICLE_WORDS:
        return "last_first"  # "van den Berg Jan"
    if _is_initial(tokens[0]):
        return "first_last"  # "J. van den Berg"
    if _is_initial(tokens[-1]):
        return "last_first"  # "Berg van den J"
    if tokens[-1].text in PARTICLE_WORDS:
        return "last_first"  # "Berg Jan van den"
    return "first_last"


def _first_last(tokens: list[_Tok]) -> tuple[list[_Tok], list[_Tok], list[_Tok]]:
    n = len(tokens)
    for i in range(1, n):
        if tokens[i].text in PARTICLE_WORDS:
            end = _run_end(tokens, i, bare_t_first=False)
            if end < n:  # "Jan van den Berg"
                return tokens[:i], tokens[i:end], tokens[end:]
            # run reaches the end: "Jan Berg van den"
            return tokens[: i - 1], tokens[i:], tokens[i - 1 : i]
    return tokens[:-1], [], tokens[-1:]


def _last_first(tokens: list[_Tok]) -> tuple[list[_Tok], list[_Tok], list[_Tok]]:
    n = len(tokens)
    end = min(_run_end(tokens, 0, bare_t_first=True), n - 1)
    if end > 0:  # "van den Berg Jan"
        return tokens[end + 1 :], tokens[:end], tokens[end : end + 1]
    surname = tokens[:1]
    end = _run_end(tokens, 1, bare_t_first=False)
    if end > 1:  # "Berg van den Jan"
        return tokens[end:], tokens[1:end], surname
    rest = tokens[1:]
    start = _trailing_start(rest, 1)  # "Berg Jan van den"
    return rest[:start], rest[start:], surname


#: Salutations and titles dropped from the start of a full name (or of a comma part).
TITLES: frozenset[str] = frozenset(
    {"dhr", "mevr", "mw", "mevrouw", "mej", "mejuffrouw", "dr", "drs", "ir", "ing", "mr",
     "prof", "ds", "bc"}
)  # fmt: skip
#: Suffixes dropped from the end of a full name.
SUFFIXES: frozenset[str] = frozenset({"jr", "sr", "msc", "bsc", "phd", "mba", "llm"})


def _strip_titles(parts: list[list[_Tok]]) -> None:
    """Drop salutations/titles ("Dhr.", "de heer", "Dr.") and suffixes ("jr.", "MSc")."""
    for part in parts:
        while len(part) > 1:
            if part[0].text in TITLES:
                del part[0]
            elif len(part) > 2 and part[0].text == "de" and part[1].text == "heer":
                del part[:2]
            else:
                break
    last = parts[-1]
    while len(last) > 1 and last[-1].text in SUFFIXES:
        del last[-1]


@lru_cache(maxsize=65536)
def _parse_full_name(text: str, order: str, nicknames: bool) -> FullName:
    _check_length(text)
    parts = _particle_parts(text, lower_v_only=True)
    if not parts:
        raise StandardizationError(_NO_LETTERS)
    _strip_titles(parts)
    first: list[_Tok]
    particle: list[_Tok]
    surname: list[_Tok]
    if len(parts) >= 2 and order == "first_last":
        first = parts[0]
        particle, surname = _split_surname_tokens([t for p in parts[1:] for t in p])
    elif len(parts) >= 2:
        # "Berg, van den, Jan" / "BERG, J. VAN DEN" / "van den Berg, Jan"
        particle, surname = _split_surname_tokens(parts[0])
        first = [t for p in parts[1:] for t in p]
        if not particle:
            end = _run_end(first, 0, bare_t_first=False)
            if end > 0:
                particle, first = first[:end], first[end:]
            else:
                start = _trailing_start(first, 1)
                particle, first = first[start:], first[:start]
    else:
        tokens = parts[0]
        if len(tokens) == 1:
            return FullName(None, None, tokens[0].text)
        chosen = _detect_order(tokens) if order == "auto" else order
        if chosen == "last_first":
            first, particle, surname = _last_first(tokens)
        else:
            first, particle, surname = _first_last(tokens)
    first_text = _join(first)
    if first_text is not None and nicknames:
        first_text = " ".join(expand_nicknames(first_text.split(" ")))
    return FullName(first_text, _join_particle(particle), _join(surname) or "")


def parse_full_name(text: str, order: str = "auto", *, nicknames: bool = False) -> FullName:
    """Parse a full name into ``FullName(first_name, particle, surname)``.

    ``order`` is ``"first_last"`` (``"Jan van den Berg"``), ``"last_first"``
    (``"Berg van den Jan"``) or ``"auto"``: a comma always marks the surname first
    (``"Berg, van den, Jan"``, ``"BERG, J. VAN DEN"``); otherwise a surname in capitals
    next to a given name in mixed case, a leading particle, or initials at the start or
    end decide, and the default is first-name-first. A single word is taken as the
    surname. Without a particle the last word (first_last) or the first word
    (last_first) is the surname; a double surname should be hyphenated. Salutations and
    titles at the start (``Dhr.``, ``Mevr.``, ``Mw.``, ``de heer``, ``Dr.``, ``Ir.``,
    ``Mr.`` ...; see :data:`TITLES`) and suffixes at the end (``jr.``, ``MSc`` ...; see
    :data:`SUFFIXES`) are dropped.

    Raises :class:`~pplink.errors.StandardizationError` if no letters remain and
    :class:`~pplink.errors.ConfigError` for an unknown ``order``.

    Example:
        >>> parse_full_name("J. van den Berg")
        FullName(first_name='j', particle='van den', surname='berg')
        >>> parse_full_name("BERG, J. VAN DEN")
        FullName(first_name='j', particle='van den', surname='berg')
        >>> parse_full_name("Berg van den J")
        FullName(first_name='j', particle='van den', surname='berg')
        >>> parse_full_name("Mw. drs. A.M. de Wit MSc")
        FullName(first_name='a m', particle='de', surname='wit')
    """
    if order not in ORDERS:
        raise ConfigError(f"option 'order' must be one of {', '.join(ORDERS)}")
    if not isinstance(text, str):
        raise StandardizationError("value is not text")
    return _parse_full_name(text, order, bool(nicknames))
