"""The parser registry: names, outputs, options and the generic parsers."""

from __future__ import annotations

from typing import Any

import pytest

from pplink.errors import ConfigError, StandardizationError
from pplink.standardize import PARSERS, ParserSpec, fold_text, get_parser, validate_options
from pplink.standardize.parsers import normalize_categorical, normalize_integer

EXPECTED_PARSERS = {
    "string", "name", "surname", "particle", "full_name", "date", "postcode",
    "postcode_freeform", "house_number", "house_number_addition", "bsn", "sex", "integer",
    "categorical",
}  # fmt: skip


def test_registry_contents() -> None:
    assert set(PARSERS) == EXPECTED_PARSERS
    for name, spec in PARSERS.items():
        assert isinstance(spec, ParserSpec)
        assert spec.name == name
        assert get_parser(name) is spec
        assert isinstance(spec.options, frozenset)


def test_unknown_parser_lists_known_names() -> None:
    with pytest.raises(ConfigError) as info:
        get_parser("geboortedatum")
    message = str(info.value)
    for name in EXPECTED_PARSERS:
        assert name in message


# raw value, parser, options, expected output
CASES: list[tuple[str, str, dict[str, Any], dict[str, str | None]]] = [
    ("  Ærnoud   B.V. ", "string", {}, {"t": "aernoud b.v."}),
    ("J.P.", "name", {}, {"t": "j p"}),
    ("Kees", "name", {"nicknames": True}, {"t": "cornelis"}),
    ("Berg, van den", "surname", {}, {"particle": "van den", "t": "berg"}),
    ("Jansen", "surname", {}, {"particle": None, "t": "jansen"}),
    ("v.d. Berg", "surname", {"particle_field": "tv"}, {"tv": "van de", "t": "berg"}),
    ("V.D.", "particle", {}, {"t": "van de"}),
    (
        "Berg, van den, Jan",
        "full_name",
        {},
        {"first_name": "jan", "particle": "van den", "surname": "berg"},
    ),
    (
        "Berg Jan",
        "full_name",
        {"order": "last_first", "first_name_field": "fn", "surname_field": "sn"},
        {"fn": "jan", "particle": None, "sn": "berg"},
    ),
    ("17-05-1980", "date", {}, {"t": "1980-05-17"}),
    ("17051980", "date", {"format": "ddmmyyyy"}, {"t": "1980-05-17"}),
    ("1850", "date", {"min_year": 1800}, {"t": "1850"}),
    ("1234 ab", "postcode", {}, {"t": "1234AB"}),
    ("1234", "postcode", {"allow_pc4": True}, {"t": "1234"}),
    ("sw1a 1aa", "postcode_freeform", {}, {"t": "SW1A1AA"}),
    ("12-hs", "house_number", {}, {"t": "12", "house_number_addition": "HS"}),
    ("12", "house_number", {"addition_field": "toev"}, {"t": "12", "toev": None}),
    ("bis", "house_number_addition", {}, {"t": "BIS"}),
    ("1234.56.782", "bsn", {}, {"t": "123456782"}),
    ("Vrouw", "sex", {}, {"t": "V"}),
    ("2", "sex", {"numeric": "iso5218"}, {"t": "V"}),
    ("007", "integer", {}, {"t": "7"}),
    ("-3", "integer", {"min": -5, "max": 5}, {"t": "-3"}),
    ("WMO", "categorical", {"values": ["wmo", "jeugd"]}, {"t": "wmo"}),
    ("Jeugdwet", "categorical", {"values": ["wmo", "jeugd"], "map": {"Jeugdwet": "jeugd"}}, {"t": "jeugd"}),
    ("x", "categorical", {"map": {"X": "Onbekend"}}, {"t": "Onbekend"}),
    ("Iets Anders", "categorical", {}, {"t": "iets anders"}),
]


@pytest.mark.parametrize(("raw", "parser", "options", "expected"), CASES)
def test_parser_outputs(raw: str, parser: str, options: dict[str, Any], expected: dict[str, str | None]) -> None:
    spec = get_parser(parser)
    cleaned = validate_options(spec, options)
    result = spec.func(raw, "t", **cleaned)
    assert result == expected
    assert set(result) == set(spec.outputs("t", **cleaned))
    # also with the options exactly as written in the mapping file
    assert spec.func(raw, "t", **options) == expected


def test_every_parser_is_exercised() -> None:
    assert {case[1] for case in CASES} == EXPECTED_PARSERS


@pytest.mark.parametrize(
    ("parser", "options", "expected"),
    [
        ("string", {}, ("x",)),
        ("surname", {}, ("particle", "x")),
        ("surname", {"particle_field": "tv"}, ("tv", "x")),
        ("full_name", {}, ("first_name", "particle", "surname")),
        ("full_name", {"particle_field": "tv"}, ("first_name", "tv", "surname")),
        ("house_number", {}, ("x", "house_number_addition")),
        ("house_number", {"addition_field": "toev"}, ("x", "toev")),
        ("date", {"format": "iso"}, ("x",)),
    ],
)
def test_outputs(parser: str, options: dict[str, Any], expected: tuple[str, ...]) -> None:
    assert get_parser(parser).outputs("x", **options) == expected


@pytest.mark.parametrize(
    ("parser", "options", "message"),
    [
        ("postcode", {"pc4": True}, "allowed: allow_pc4"),
        ("bsn", {"strict": True}, "allowed: none"),
        ("date", {"fromat": "iso"}, "format, max_year, min_year"),
        ("full_name", {"order": "surname_first"}, "order"),
        ("name", {"nicknames": "yes"}, "true or false"),
        ("postcode", {"allow_pc4": 1}, "true or false"),
        ("date", {"format": "dd/mm/yy"}, "unknown date format"),
        ("date", {"format": "%d-%m-%y"}, "two-digit"),
        ("date", {"min_year": "1900"}, "integer"),
        ("date", {"min_year": 2000, "max_year": 1900}, "min_year"),
        ("sex", {"numeric": "hl7"}, "numeric"),
        ("integer", {"min": 1.5}, "integer"),
        ("integer", {"min": 5, "max": 1}, "min"),
        ("categorical", {"values": "wmo"}, "list"),
        ("categorical", {"values": []}, "list"),
        ("categorical", {"values": ["wmo", 3]}, "strings"),
        ("categorical", {"map": ["a"]}, "table"),
        ("categorical", {"values": ["wmo"], "map": {"w": "jeugd"}}, "one of option 'values'"),
        ("surname", {"particle_field": ""}, "field name"),
        ("full_name", {"first_name_field": "surname"}, "must differ"),
    ],
)
def test_validate_options_rejects(parser: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        validate_options(parser, options)


def test_validate_options_unknown_parser() -> None:
    with pytest.raises(ConfigError, match="known parsers"):
        validate_options("nope", {})


def test_sex_numeric_none_string() -> None:
    assert validate_options("sex", {"numeric": "none"}) == {"numeric": None}


@pytest.mark.parametrize(
    ("raw", "options", "reason"),
    [
        ("12a", {}, "not an integer"),
        ("1e5", {}, "not an integer"),
        ("1" * 40, {}, "more than"),
        ("4", {"min": 5}, "minimum"),
        ("6", {"max": 5}, "maximum"),
    ],
)
def test_integer_rejects(raw: str, options: dict[str, Any], reason: str) -> None:
    with pytest.raises(StandardizationError, match=reason):
        normalize_integer(raw, **options)


def test_categorical_rejects_unknown_value() -> None:
    with pytest.raises(StandardizationError, match="allowed categories"):
        normalize_categorical("participatie", values=["wmo", "jeugd"])
    with pytest.raises(StandardizationError):
        normalize_categorical("   ")


def test_string_parser_rejects_empty_fold() -> None:
    with pytest.raises(StandardizationError):
        get_parser("string").func("\u0301\u200b", "t")


def test_non_text_input_is_standardization_error() -> None:
    for name, spec in PARSERS.items():
        options: dict[str, Any] = {"values": ["a"]} if name == "categorical" else {}
        with pytest.raises(StandardizationError):
            spec.func(12, "t", **options)  # type: ignore[arg-type]


def test_fold_text_examples() -> None:
    assert fold_text("Ĳssel") == "ijssel"
    assert fold_text("STRAßE") == "strasse"
    assert fold_text("Ærø") == "aero"
    assert fold_text("a\x00b") == "a b"
    assert fold_text("a\u200bb") == "ab"  # zero-width space removed
    assert fold_text("\u00a0x\u3000y ") == "x y"


def test_first_only_keeps_the_first_given_name():
    from pplink.standardize.parsers import get_parser, validate_options

    spec = get_parser("name")
    assert spec.func("Gerrit Wilhelmus Albertus", "first_name", **validate_options(spec, {"first_only": True})) == {
        "first_name": "gerrit"
    }
    assert spec.func("Gerrit Wilhelmus", "first_name") == {"first_name": "gerrit wilhelmus"}
    full = get_parser("full_name")
    out = full.func("Jan Pieter van den Berg", "full_name", first_only=True)
    assert out["first_name"] == "jan" and out["surname"] == "berg"
