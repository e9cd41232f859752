"""A small table of common Dutch diminutives and their formal (baptismal) first names.

Used only when a parser is given ``nicknames = true`` (off by default): population registers
hold the formal name, other sources often the name a person goes by. The table is deliberately
small and conservative. A nickname is listed only if it points to one formal name in the great
majority of cases; ambiguous forms (``Jan`` is itself a formal name, ``Riet`` can be Maria or
Henriëtte, ``Toos`` Catharina or Theodora, ``Bert`` Albert, Gijsbert, Herbert ...) are left
out on purpose, because a wrong mapping turns a near match into a clear non-match.

Example:
    >>> expand_nicknames(["kees", "jan"])
    ['cornelis', 'jan']
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["NICKNAMES", "expand_nickname", "expand_nicknames"]

#: nickname (folded, lower case) -> formal first name (folded, lower case)
NICKNAMES: dict[str, str] = {
    # men
    "kees": "cornelis",
    "cees": "cornelis",
    "cor": "cornelis",
    "klaas": "nicolaas",
    "piet": "pieter",
    "henk": "hendrik",
    "hein": "hendrik",
    "wim": "willem",
    "jaap": "jacob",
    "koos": "jacobus",
    "sjaak": "jacobus",
    "joop": "johannes",
    "hans": "johannes",
    "ton": "antonius",
    "toon": "antonius",
    "teun": "antonius",
    "twan": "antonius",
    "aad": "adrianus",
    "arie": "adrianus",
    "ad": "adrianus",
    "bas": "sebastiaan",
    "ruud": "rudolf",
    "frits": "frederik",
    "gijs": "gijsbert",
    "huub": "hubertus",
    "lex": "alexander",
    "thijs": "matthijs",
    "tinus": "martinus",
    "rinus": "marinus",
    "sjef": "jozef",
    # women
    "bep": "elisabeth",
    "betje": "elisabeth",
    "lies": "elisabeth",
    "els": "elisabeth",
    "truus": "geertruida",
    "trui": "geertruida",
    "mien": "wilhelmina",
    "mies": "maria",
    "miep": "maria",
    "ria": "maria",
    "marietje": "maria",
    "jet": "henriette",
    "trees": "theresia",
    "door": "dorothea",
}


def expand_nickname(token: str) -> str:
    """Return the formal first name for one folded name ``token`` (or the token itself).

    Hyphenated double names are expanded part by part.

    Example:
        >>> expand_nickname("kees-jan")
        'cornelis-jan'
    """
    formal = NICKNAMES.get(token)
    if formal is not None:
        return formal
    if "-" in token:
        return "-".join(NICKNAMES.get(part, part) for part in token.split("-"))
    return token


def expand_nicknames(tokens: Iterable[str]) -> list[str]:
    """Expand every token of a list of folded first-name tokens.

    Example:
        >>> expand_nicknames(["piet", "hein"])
        ['pieter', 'hendrik']
    """
    return [expand_nickname(tok) for tok in tokens]
