"""Postcodes, house numbers and additions."""

from __future__ import annotations

import pytest

from pplink.errors import StandardizationError
from pplink.standardize import (
    normalize_house_number_addition,
    normalize_postcode,
    normalize_postcode_freeform,
    split_house_number,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1234AB", "1234AB"),
        ("1234 AB", "1234AB"),
        ("1234 ab", "1234AB"),
        ("1234-AB", "1234AB"),
        (" 1234AB ", "1234AB"),
        ("1234\tab", "1234AB"),
        ("NL-1234 AB", "1234AB"),
        ("9999ZZ", "9999ZZ"),
        ("7511 JM", "7511JM"),
        ("１２３４ＡＢ", "1234AB"),
        ("1234 SB", "1234SB"),
    ],
)
def test_postcode_valid(raw: str, expected: str) -> None:
    assert normalize_postcode(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("1234 SA", "never issued"),
        ("1234sd", "never issued"),
        ("1234 SS", "never issued"),
        ("0123 AB", "start with 0"),
        ("0123", "start with 0"),
        ("1234", "allow_pc4"),
        ("123 AB", "not a Dutch postcode"),
        ("12345 AB", "not a Dutch postcode"),
        ("1234 ABC", "not a Dutch postcode"),
        ("1234 A", "not a Dutch postcode"),
        ("AB 1234", "not a Dutch postcode"),
        ("SW1A 1AA", "not a Dutch postcode"),
        ("", "not a Dutch postcode"),
        ("1234 ŠÅ", "never issued"),  # folded before the check
    ],
)
def test_postcode_rejected(raw: str, reason: str) -> None:
    with pytest.raises(StandardizationError, match=reason):
        normalize_postcode(raw)


def test_postcode_pc4_option() -> None:
    assert normalize_postcode("1234", allow_pc4=True) == "1234"
    assert normalize_postcode(" 7511 ", allow_pc4=True) == "7511"
    assert normalize_postcode("1234 ab", allow_pc4=True) == "1234AB"
    with pytest.raises(StandardizationError):
        normalize_postcode("0123", allow_pc4=True)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(" 2600 ", "2600"), ("sw1a 1aa", "SW1A1AA"), ("Çà 12", "CA12"), ("4000-A", "4000-A")],
)
def test_postcode_freeform(raw: str, expected: str) -> None:
    assert normalize_postcode_freeform(raw) == expected


def test_postcode_freeform_empty() -> None:
    with pytest.raises(StandardizationError):
        normalize_postcode_freeform("   ")


@pytest.mark.parametrize(
    ("raw", "number", "addition"),
    [
        ("12", "12", None),
        ("12a", "12", "A"),
        ("12A", "12", "A"),
        ("12 A", "12", "A"),
        ("12-A", "12", "A"),
        ("12-2", "12", "2"),
        ("12 bis", "12", "BIS"),
        ("12-hs", "12", "HS"),
        ("12 huis", "12", "HS"),
        ("12HS", "12", "HS"),
        ("12/3", "12", "3"),
        ("0012", "12", None),
        ("12 III", "12", "III"),
        ("12 a 2", "12", "A2"),
        ("12-", "12", None),
        ("12.0", "12", None),
        (" nr. 12 ", "12", None),
        ("99999", "99999", None),
        ("1", "1", None),
    ],
)
def test_split_house_number(raw: str, number: str, addition: str | None) -> None:
    assert split_house_number(raw) == (number, addition)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("0", "at least 1"),
        ("000", "at least 1"),
        ("0 A", "at least 1"),
        ("A", "start with digits"),
        ("a12", "start with digits"),
        ("", "start with digits"),
        ("100000", "out of range"),
        ("9" * 500, "out of range"),
        ("12 " + "x" * 20, "longer than"),
    ],
)
def test_split_house_number_rejected(raw: str, reason: str) -> None:
    with pytest.raises(StandardizationError, match=reason):
        split_house_number(raw)


@pytest.mark.parametrize(
    ("raw", "expected"), [("a", "A"), ("-bis", "BIS"), ("huis", "HS"), (" 2 ", "2"), ("III", "III")]
)
def test_house_number_addition(raw: str, expected: str) -> None:
    assert normalize_house_number_addition(raw) == expected


def test_house_number_addition_empty() -> None:
    with pytest.raises(StandardizationError):
        normalize_house_number_addition(" - ")
