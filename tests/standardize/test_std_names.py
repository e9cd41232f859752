"""Names: folding, particles (tussenvoegsels) and full-name parsing."""

from __future__ import annotations

import pytest

from pplink.errors import ConfigError, StandardizationError
from pplink.standardize import (
    FullName,
    normalize_name,
    normalize_particle,
    parse_full_name,
    split_particle,
)

# --------------------------------------------------------------------------- particles

PARTICLE_TABLE = [
    # inline
    ("van den Berg", "van den", "berg"),
    ("van der Meer", "van der", "meer"),
    ("van de Ven", "van de", "ven"),
    ("de Vries", "de", "vries"),
    ("van Dijk", "van", "dijk"),
    ("den Hartog", "den", "hartog"),
    ("der Kinderen", "der", "kinderen"),
    ("ter Horst", "ter", "horst"),
    ("ten Cate", "ten", "cate"),
    ("te Brake", "te", "brake"),
    ("van het Reve", "van het", "reve"),
    ("op de Beek", "op de", "beek"),
    ("uit de Bos", "uit de", "bos"),
    ("uit den Bogaard", "uit den", "bogaard"),
    ("in de Braekt", "in de", "braekt"),
    ("aan de Stegge", "aan de", "stegge"),
    # 't in its spellings
    ("'t Hart", "'t", "hart"),
    ("\u2019t Hart", "'t", "hart"),
    ("t Hart", "'t", "hart"),
    ("van 't Hof", "van 't", "hof"),
    ("van t Hof", "van 't", "hof"),
    ("in 't Veld", "in 't", "veld"),
    ("IN 'T VELD", "in 't", "veld"),
    # capitalised
    ("Van Den Berg", "van den", "berg"),
    ("VAN DEN BERG", "van den", "berg"),
    ("Van  De   Ven", "van de", "ven"),
    # comma form and postfixed
    ("Berg, van den", "van den", "berg"),
    ("Berg,van den", "van den", "berg"),
    ("BERG, VAN DEN", "van den", "berg"),
    ("Vries, de", "de", "vries"),
    ("Hof, van 't", "van 't", "hof"),
    ("Berg van den", "van den", "berg"),
    ("Berg (van den)", "van den", "berg"),
    # abbreviations: v.d. and friends -> "van de" (documented choice)
    ("v.d. Berg", "van de", "berg"),
    ("V.D. Berg", "van de", "berg"),
    ("v.d.Berg", "van de", "berg"),
    ("v. d. Berg", "van de", "berg"),
    ("vd Berg", "van de", "berg"),
    ("VD BERG", "van de", "berg"),
    ("v/d Berg", "van de", "berg"),
    ("Berg, v.d.", "van de", "berg"),
    ("v.der Meer", "van der", "meer"),
    ("v.den Broek", "van den", "broek"),
    ("v. Dijk", "van", "dijk"),
    ("V. Dijk", "van", "dijk"),
    ("v.Dijk", "van", "dijk"),
    ("v/h Reve", "van het", "reve"),
    ("v. 't Hof", "van 't", "hof"),
    # French, German, Romance particles
    ("d'Ancona", "d'", "ancona"),
    ("D'Ancona", "d'", "ancona"),
    ("d' Ancona", "d'", "ancona"),
    ("de la Fontaine", "de la", "fontaine"),
    ("le Roux", "le", "roux"),
    ("du Pont", "du", "pont"),
    ("von der Leyen", "von der", "leyen"),
    ("da Silva", "da", "silva"),
    ("dos Santos", "dos", "santos"),
    # double surnames: the second part keeps its own particle
    ("de Vries-van Dam", "de", "vries-van dam"),
    ("Vries-van Dam", None, "vries-van dam"),
    ("de Vries - van Dam", "de", "vries-van dam"),
    ("van der Linden-de Wit", "van der", "linden-de wit"),
    # no particle; particle-like words that are the whole surname
    ("Jansen", None, "jansen"),
    ("Müller", None, "muller"),
    ("De", None, "de"),
    ("de", None, "de"),
    ("Van", None, "van"),
    ("Ter", None, "ter"),
    ("van der", "van", "der"),
    # 's-Gravesande: the genitive belongs to the surname
    ("'s-Gravesande", None, "'s-gravesande"),
    ("'s Gravesande", None, "'s-gravesande"),
    # Unicode
    ("VAN DER ĲSSEL", "van der", "ijssel"),
    ("van Ærssen", "van", "aerssen"),
]


@pytest.mark.parametrize(("raw", "particle", "surname"), PARTICLE_TABLE)
def test_split_particle_table(raw: str, particle: str | None, surname: str) -> None:
    assert split_particle(raw) == (particle, surname)


def test_particle_table_is_large() -> None:
    assert len(PARTICLE_TABLE) >= 30


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("van den", "van den"),
        ("Van Den", "van den"),
        ("VAN DER", "van der"),
        ("v.d.", "van de"),
        ("V/D", "van de"),
        ("vd", "van de"),
        ("v.der", "van der"),
        ("'t", "'t"),
        ("Van 'T", "van 't"),
        ("in t", "in 't"),
        ("op de", "op de"),
        ("d'", "d'"),
        ("de la", "de la"),
        ("  de  ", "de"),
    ],
)
def test_particle_column(raw: str, expected: str) -> None:
    assert normalize_particle(raw) == expected


@pytest.mark.parametrize("raw", ["Berg", "van Berg", "...", "12"])
def test_particle_column_rejects_non_particles(raw: str) -> None:
    with pytest.raises(StandardizationError):
        normalize_particle(raw)


@pytest.mark.parametrize("raw", ["", "   ", "...", "1234", "-'-"])
def test_split_particle_rejects_no_letters(raw: str) -> None:
    with pytest.raises(StandardizationError, match="no letters"):
        split_particle(raw)


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Jan", "jan"),
        ("  JAN  ", "jan"),
        ("José", "jose"),
        ("Zoë", "zoe"),
        ("Jan-Willem", "jan-willem"),
        ("Jan - Willem", "jan-willem"),
        ("Jan Willem", "jan willem"),
        ("J.P.", "j p"),
        ("J. P.", "j p"),
        ("j.p.m.", "j p m"),
        ("Ĳsbrand", "ijsbrand"),
        ("Strauß", "strauss"),
        ("Ærøskøbing", "aeroskobing"),
        ("Łukasz", "lukasz"),
        ("O'Brien", "o'brien"),
        ("O\u2019Brien", "o'brien"),
        ("Anne-", "anne"),
        ("Anne\tMarie\n", "anne marie"),
        ("Jan2", "jan"),
        ("Ｊａｎ", "jan"),  # full-width letters
    ],
)
def test_normalize_name(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


@pytest.mark.parametrize("raw", ["", " ", "123", "...", "-", "'"])
def test_normalize_name_rejects_no_letters(raw: str) -> None:
    with pytest.raises(StandardizationError):
        normalize_name(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Kees", "cornelis"),
        ("Piet", "pieter"),
        ("Henk", "hendrik"),
        ("Kees-Jan", "cornelis-jan"),
        ("Jan", "jan"),  # Jan is a formal name in its own right: not mapped
        ("Cornelis", "cornelis"),
        ("Wim Kees", "willem cornelis"),
    ],
)
def test_nicknames_only_when_asked(raw: str, expected: str) -> None:
    assert normalize_name(raw, nicknames=True) == expected
    assert normalize_name(raw) == normalize_name(raw, nicknames=False)
    assert normalize_name("Kees") == "kees"


# --------------------------------------------------------------------------- full names

FULL_NAME_TABLE = [
    # (raw, order, first_name, particle, surname)
    ("Jan van den Berg", "auto", "jan", "van den", "berg"),
    ("J. van den Berg", "auto", "j", "van den", "berg"),
    ("J.P. van den Berg", "auto", "j p", "van den", "berg"),
    ("Berg, van den, Jan", "auto", "jan", "van den", "berg"),
    ("Berg, Jan van den", "auto", "jan", "van den", "berg"),
    ("van den Berg, Jan", "auto", "jan", "van den", "berg"),
    ("Berg van den J", "auto", "j", "van den", "berg"),
    ("BERG, J. VAN DEN", "auto", "j", "van den", "berg"),
    ("BERG J VAN DEN", "auto", "j", "van den", "berg"),
    ("Maria-José de Vries-van Dam", "auto", "maria-jose", "de", "vries-van dam"),
    ("Jan VAN DEN BERG", "auto", "jan", "van den", "berg"),
    ("BERG Jan", "auto", "jan", None, "berg"),
    ("van den Berg Jan", "auto", "jan", "van den", "berg"),
    ("Berg Jan van den", "auto", "jan", "van den", "berg"),
    ("Anna Maria van der Linden-de Wit", "auto", "anna maria", "van der", "linden-de wit"),
    ("Piet in 't Veld", "auto", "piet", "in 't", "veld"),
    ("Jan 't Hart", "auto", "jan", "'t", "hart"),
    ("Sophie de la Fontaine", "auto", "sophie", "de la", "fontaine"),
    ("Jan d'Ancona", "auto", "jan", "d'", "ancona"),
    ("J.P. v.d. Berg", "auto", "j p", "van de", "berg"),
    ("Kees v. Dijk", "auto", "kees", "van", "dijk"),
    ("J. V. Dijk", "auto", "j v", None, "dijk"),  # capital V. is an initial in a full name
    ("Jansen, P.", "auto", "p", None, "jansen"),
    ("Jan Jansen", "auto", "jan", None, "jansen"),
    ("Jansen", "auto", None, None, "jansen"),
    ("van den Berg", "auto", None, "van den", "berg"),
    ("Jansen Jan", "last_first", "jan", None, "jansen"),
    ("Berg van den Jan Willem", "last_first", "jan willem", "van den", "berg"),
    ("van den Berg Jan", "last_first", "jan", "van den", "berg"),
    ("Jan van den Berg", "first_last", "jan", "van den", "berg"),
    ("Jan Berg", "first_last", "jan", None, "berg"),
    ("Jan, van den Berg", "first_last", "jan", "van den", "berg"),
]


@pytest.mark.parametrize(("raw", "order", "first", "particle", "surname"), FULL_NAME_TABLE)
def test_parse_full_name_table(
    raw: str, order: str, first: str | None, particle: str | None, surname: str
) -> None:
    assert parse_full_name(raw, order) == FullName(first, particle, surname)


def test_full_name_nicknames() -> None:
    assert parse_full_name("Kees van Dijk", nicknames=True) == FullName("cornelis", "van", "dijk")
    assert parse_full_name("Kees van Dijk") == FullName("kees", "van", "dijk")


def test_full_name_bad_order() -> None:
    with pytest.raises(ConfigError, match="order"):
        parse_full_name("Jan Jansen", "surname_first")


@pytest.mark.parametrize("raw", ["", ",", " , ,", "123", "..."])
def test_full_name_rejects_no_letters(raw: str) -> None:
    with pytest.raises(StandardizationError):
        parse_full_name(raw)


def test_reasons_do_not_echo_value() -> None:
    with pytest.raises(StandardizationError) as info:
        normalize_particle("Geheimnaam")
    assert "geheimnaam" not in str(info.value).lower()


@pytest.mark.parametrize(
    ("raw", "first", "particle", "surname"),
    [
        ("Dhr. P. de Vries", "p", "de", "vries"),
        ("De heer J. Jansen", "j", None, "jansen"),
        ("Mw. drs. A.M. de Wit MSc", "a m", "de", "wit"),
        ("Jansen, dhr. P.", "p", None, "jansen"),
        ("Dr. Ir. Jan Jansen jr.", "jan", None, "jansen"),
        ("Jan de Heer", "jan", "de", "heer"),  # "de Heer" as a surname stays
        ("de Heer", None, "de", "heer"),
    ],
)
def test_full_name_titles(raw: str, first: str | None, particle: str | None, surname: str) -> None:
    assert parse_full_name(raw) == FullName(first, particle, surname)


def test_clear_caches() -> None:
    from pplink.standardize import clear_caches

    split_particle("van Dijk")
    clear_caches()
    assert split_particle("van Dijk") == ("van", "dijk")


def test_overlong_names_are_rejected() -> None:
    for func in (normalize_name, split_particle, parse_full_name, normalize_particle):
        with pytest.raises(StandardizationError, match="longer than"):
            func("a" * 1001)
    assert normalize_name("a" * 1000) == "a" * 1000
