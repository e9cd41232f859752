"""Dates: formats, partial BRP dates, impossible dates, options."""

from __future__ import annotations

import datetime as dt

import pytest

from pplink.errors import ConfigError, StandardizationError
from pplink.standardize import PartialDate, parse_date


@pytest.mark.parametrize(
    ("raw", "fmt", "expected"),
    [
        # auto
        ("1980-05-17", "auto", "1980-05-17"),
        ("1980-5-7", "auto", "1980-05-07"),
        ("17-05-1980", "auto", "1980-05-17"),
        ("17/05/1980", "auto", "1980-05-17"),
        ("17.05.1980", "auto", "1980-05-17"),
        ("7-5-1980", "auto", "1980-05-07"),
        ("1980/05/17", "auto", "1980-05-17"),
        ("19800517", "auto", "1980-05-17"),
        ("1980", "auto", "1980"),
        ("1980-05", "auto", "1980-05"),
        ("05-1980", "auto", "1980-05"),
        (" 1980-05-17 ", "auto", "1980-05-17"),
        ("1980-05-17 00:00:00", "auto", "1980-05-17"),
        ("1980-05-17T00:00:00", "auto", "1980-05-17"),
        ("1980-05-17T13:45:00.123+01:00", "auto", "1980-05-17"),
        ("17-05-1980 00:00", "auto", "1980-05-17"),
        ("17 mei 1980", "auto", "1980-05-17"),
        ("17 May 1980", "auto", "1980-05-17"),
        ("17-okt-1980", "auto", "1980-10-17"),
        ("May 17, 1980", "auto", "1980-05-17"),
        ("maart 1980", "auto", "1980-03"),
        ("２９-０２-２０００", "auto", "2000-02-29"),  # full-width digits
        # BRP unknown parts stay unknown
        ("1980-00-00", "auto", "1980"),
        ("1980-05-00", "auto", "1980-05"),
        ("00-00-1980", "auto", "1980"),
        ("00-05-1980", "auto", "1980-05"),
        ("19800000", "auto", "1980"),
        ("19800500", "auto", "1980-05"),
        # explicit formats
        ("1980-05-17", "iso", "1980-05-17"),
        ("1980-05", "iso", "1980-05"),
        ("1980", "iso", "1980"),
        ("17-05-1980", "dd-mm-yyyy", "1980-05-17"),
        ("17/5/1980", "dd-mm-yyyy", "1980-05-17"),
        ("00-00-1980", "dd-mm-yyyy", "1980"),
        ("1980/05/17", "yyyy/mm/dd", "1980-05-17"),
        ("19800517", "yyyymmdd", "1980-05-17"),
        ("17051980", "ddmmyyyy", "1980-05-17"),
        ("00051980", "ddmmyyyy", "1980-05"),
        ("1980", "year", "1980"),
        ("1980", "dd-mm-yyyy", "1980"),  # bare year accepted by every format
        ("17.05.1980", "%d.%m.%Y", "1980-05-17"),
        ("05/17/1980", "%m/%d/%Y", "1980-05-17"),
        ("17 May 1980", "%d %B %Y", "1980-05-17"),
        ("17-05-1980 12:30", "%d-%m-%Y %H:%M", "1980-05-17"),
        ("1980", "%d.%m.%Y", "1980"),
        ("05.1980", "%m.%Y", "1980-05"),
    ],
)
def test_parse_date(raw: str, fmt: str, expected: str) -> None:
    assert parse_date(raw, fmt).iso() == expected


@pytest.mark.parametrize(
    ("raw", "fmt", "reason"),
    [
        ("31-02-1980", "auto", "day does not exist"),
        ("29-02-1900", "auto", "day does not exist"),
        ("31-04-1980", "auto", "day does not exist"),
        ("1980-13-01", "auto", "month"),
        ("17-13-1980", "auto", "month"),
        ("1980-00-15", "auto", "unknown month"),
        ("17051980", "auto", "ddmmyyyy"),  # 8 digits are yyyymmdd in auto mode
        ("17-05-80", "auto", "two-digit"),
        ("170580", "auto", "two-digit"),
        ("1870-01-01", "auto", "year outside"),
        ("3000-01-01", "auto", "year outside"),
        ("gisteren", "auto", "unrecognised"),
        ("17 foo 1980", "auto", "month"),
        ("", "auto", "empty"),
        ("17-05-1980", "iso", "format"),
        ("1980-05-17", "dd-mm-yyyy", "format"),
        ("1980-05-17", "yyyymmdd", "format"),
        ("17-05-1980", "year", "format"),
        ("17-05-1980", "%d.%m.%Y", "format"),
        ("1" * 1000, "auto", "too long"),
    ],
)
def test_parse_date_rejects(raw: str, fmt: str, reason: str) -> None:
    with pytest.raises(StandardizationError, match=reason) as info:
        parse_date(raw, fmt)
    if raw:
        assert raw not in info.value.reason


def test_leap_day() -> None:
    assert parse_date("29-02-2000").iso() == "2000-02-29"
    assert parse_date("29-02-1984").iso() == "1984-02-29"


def test_year_bounds() -> None:
    this_year = dt.date.today().year
    assert parse_date(str(this_year)).iso() == str(this_year)
    with pytest.raises(StandardizationError):
        parse_date(str(this_year + 1))
    assert parse_date("1850", min_year=1800).iso() == "1850"
    with pytest.raises(StandardizationError):
        parse_date("1990", max_year=1989)
    assert parse_date("2100-01-01", max_year=2200).iso() == "2100-01-01"


def test_partial_date_object() -> None:
    assert parse_date("1980-05-17") == PartialDate(1980, 5, 17)
    assert parse_date("1980-05") == PartialDate(1980, 5, None)
    assert str(PartialDate(1980)) == "1980"
    assert PartialDate(1980, 5).iso() == "1980-05"


@pytest.mark.parametrize("fmt", ["dd/mm/yy", "%d-%m-%y", "%d-%m", "%Q-%Y", "%", "%d %Y", 5])
def test_bad_format_is_config_error(fmt: object) -> None:
    with pytest.raises(ConfigError):
        parse_date("17-05-1980", fmt)  # type: ignore[arg-type]
