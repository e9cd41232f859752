"""Standardisation of raw person data before encoding.

Every function folds text (NFKD, accents removed, lower case, single spaces) and returns a
canonical form, or raises :class:`pplink.errors.StandardizationError` with a reason that
never quotes the raw value. Mapping files refer to the parsers in
:mod:`pplink.standardize.parsers` by name.

Example:
    >>> from pplink.standardize import split_particle, parse_date, normalize_postcode
    >>> split_particle("Berg, van den")
    ('van den', 'berg')
    >>> parse_date("1980-05-00").iso()
    '1980-05'
    >>> normalize_postcode("1234 ab")
    '1234AB'
"""

from __future__ import annotations

from pplink.standardize.address import (
    normalize_house_number_addition,
    normalize_postcode,
    normalize_postcode_freeform,
    split_house_number,
)
from pplink.standardize.dates import PartialDate, parse_date
from pplink.standardize.identifiers import is_valid_bsn, normalize_bsn
from pplink.standardize.names import (
    PARTICLE_WORDS,
    FullName,
    normalize_name,
    normalize_particle,
    parse_full_name,
    split_particle,
)
from pplink.standardize.parsers import (
    PARSERS,
    ParserSpec,
    get_parser,
    normalize_categorical,
    normalize_integer,
    validate_options,
)
from pplink.standardize.sex import normalize_sex
from pplink.standardize.text import fold_text



def clear_caches() -> None:
    """Empty the memo caches of the standardisers.

    Results are cached (per distinct raw value) for speed; the caches therefore hold
    plaintext values in memory. Call this after standardising a source if the process
    lives on.

    Example:
        >>> clear_caches()
    """
    from pplink.standardize import address, dates, names, parsers, text

    for func in (
        text.fold_text,
        text.fold_keep_case,
        names._normalize_name,
        names._split_particle,
        names._normalize_particle,
        names._parse_full_name,
        dates._parse,
        address._postcode,
        address._house_number,
        parsers._categorical_tables,
    ):
        func.cache_clear()


__all__ = [
    "PARSERS",
    "PARTICLE_WORDS",
    "FullName",
    "ParserSpec",
    "PartialDate",
    "clear_caches",
    "fold_text",
    "get_parser",
    "is_valid_bsn",
    "normalize_bsn",
    "normalize_categorical",
    "normalize_house_number_addition",
    "normalize_integer",
    "normalize_name",
    "normalize_particle",
    "normalize_postcode",
    "normalize_postcode_freeform",
    "normalize_sex",
    "parse_date",
    "parse_full_name",
    "split_house_number",
    "split_particle",
    "validate_options",
]
