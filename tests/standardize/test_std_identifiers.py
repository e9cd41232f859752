"""BSN cleaning and the elfproef; sex codes."""

from __future__ import annotations

import pytest

from pplink.errors import ConfigError, StandardizationError
from pplink.standardize import is_valid_bsn, normalize_bsn, normalize_sex
from pplink.standardize.identifiers import elfproef


def _weighted_sum(digits: str) -> int:
    weights = (9, 8, 7, 6, 5, 4, 3, 2, -1)
    return sum(w * int(d) for w, d in zip(weights, digits, strict=True))


def test_worked_examples() -> None:
    # 123456782: 9+16+21+24+25+24+21+16-2 = 154 = 14 x 11
    assert _weighted_sum("123456782") == 154
    # 111222333: 9+8+7+12+10+8+9+6-3 = 66 = 6 x 11
    assert _weighted_sum("111222333") == 66
    # 12345672 -> 012345672: 0+8+14+18+20+20+18+14-2 = 110 = 10 x 11
    assert _weighted_sum("012345672") == 110


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("123456782", "123456782"),
        ("111222333", "111222333"),
        ("12345672", "012345672"),  # 8 digits: leading zero restored
        ("123 456 782", "123456782"),
        ("1234.56.782", "123456782"),
        ("123-456-782", "123456782"),
        (" 123456782 ", "123456782"),
        ("１２３４５６７８２", "123456782"),
    ],
)
def test_bsn_valid(raw: str, expected: str) -> None:
    assert normalize_bsn(raw) == expected
    assert is_valid_bsn(raw)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("123456783", "elfproef"),
        ("111222334", "elfproef"),
        ("000000000", "elfproef"),  # sum 0 is divisible by 11 but invalid
        ("00000000", "elfproef"),
        ("1234567", "9 digits"),
        ("1234567890", "9 digits"),
        ("12345678a", "only digits"),
        ("", "only digits"),
        ("123/456/782", "only digits"),
        ("١٢٣٤٥٦٧٨٢", "only digits"),  # Arabic-Indic digits are not accepted
    ],
)
def test_bsn_invalid(raw: str, reason: str) -> None:
    with pytest.raises(StandardizationError, match=reason) as info:
        normalize_bsn(raw)
    assert not is_valid_bsn(raw)
    if raw:
        assert raw not in str(info.value)


def test_elfproef_helper() -> None:
    assert elfproef("123456782")
    assert not elfproef("000000000")
    assert not elfproef("12345678")
    assert not elfproef("12345678x")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("M", "M"),
        ("m", "M"),
        ("man", "M"),
        ("Man", "M"),
        ("male", "M"),
        ("Mannelijk", "M"),
        ("jongen", "M"),
        ("M.", "M"),
        ("V", "V"),
        ("vrouw", "V"),
        ("F", "V"),
        ("female", "V"),
        ("vrouwelijk", "V"),
        ("meisje", "V"),
        ("O", "O"),
        ("X", "O"),
        ("onbekend", "O"),
        ("Unknown", "O"),
        (" ONBEKEND ", "O"),
    ],
)
def test_sex(raw: str, expected: str) -> None:
    assert normalize_sex(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [("1", "M"), ("2", "V"), ("0", "O"), ("9", "O")])
def test_sex_iso5218(raw: str, expected: str) -> None:
    assert normalize_sex(raw, numeric="iso5218") == expected
    with pytest.raises(StandardizationError, match="iso5218"):
        normalize_sex(raw)


@pytest.mark.parametrize("raw", ["3", "mens", "", "mv"])
def test_sex_rejects(raw: str) -> None:
    with pytest.raises(StandardizationError):
        normalize_sex(raw, numeric="iso5218")


def test_sex_bad_numeric_option() -> None:
    with pytest.raises(ConfigError):
        normalize_sex("1", numeric="hl7")
