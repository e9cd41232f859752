"""Dates of birth (and other dates) to ISO form, keeping partial dates partial.

Canonical output: ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``. Unknown parts are never
invented: the BRP writes an unknown month or day as ``00`` (``1980-00-00``,
``19800500``) and such a date stays partial. A day without a month is rejected.

Accepted formats (option ``format``):

* ``"auto"`` (default): ISO ``1980-05-17``; year first with ``/`` or ``.``
  (``1980/05/17``); day first ``17-05-1980``, ``17/5/1980``, ``17.05.1980`` (day-month
  order, never the American month-day order); ``19800517`` (read as yyyymmdd only);
  ``1980``; ``1980-05`` and ``05-1980``; Dutch or English month names
  (``17 mei 1980``, ``17-May-1980``, ``May 17, 1980``, ``mei 1980``). A trailing time
  (``1980-05-17 00:00:00``, ``1980-05-17T00:00:00Z``) is ignored. Two-digit years are
  rejected as ambiguous.
* ``"iso"``, ``"yyyy/mm/dd"``: year, month, day (separator ``-``, ``/`` or ``.``);
  ``"iso"`` also takes ``YYYY-MM`` and ``YYYY``.
* ``"dd-mm-yyyy"``: day, month, year (separator ``-``, ``/``, ``.`` or space).
* ``"yyyymmdd"``, ``"ddmmyyyy"``: eight digits without separators.
* ``"year"``: a four-digit year only.
* a ``strftime``-style pattern such as ``"%d.%m.%Y"`` (directives ``%d %m %Y %b %B``,
  time directives ``%H %I %M %S %f %p`` are skipped, ``%%`` is a literal percent sign).

Every explicit format (named or strftime-style) also accepts a bare four-digit year (a
register that only knows the year of birth exports it that way).

Example:
    >>> parse_date("17-05-1980").iso()
    '1980-05-17'
    >>> parse_date("1980-05-00").iso()
    '1980-05'
    >>> parse_date("17.05.1980", format="%d.%m.%Y").iso()
    '1980-05-17'
"""

from __future__ import annotations

import datetime as _dt
import re
import time as _time
from dataclasses import dataclass
from functools import lru_cache

from pplink.errors import ConfigError, StandardizationError
from pplink.standardize.text import fold_text

__all__ = ["PartialDate", "parse_date", "DATE_FORMATS", "check_date_format"]

#: Named formats accepted by the ``format`` option (besides strftime-style patterns).
DATE_FORMATS = ("auto", "iso", "dd-mm-yyyy", "yyyy/mm/dd", "yyyymmdd", "ddmmyyyy", "year")

DEFAULT_MIN_YEAR = 1880


@dataclass(frozen=True, slots=True)
class PartialDate:
    """A date whose month and day may be unknown (``None``).

    Example:
        >>> PartialDate(1980, 5, None).iso()
        '1980-05'
    """

    year: int
    month: int | None = None
    day: int | None = None

    def iso(self) -> str:
        """ISO text: ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``.

        Example:
            >>> PartialDate(1980, 5, 17).iso()
            '1980-05-17'
        """
        if self.month is None:
            return f"{self.year:04d}"
        if self.day is None:
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"

    def __str__(self) -> str:
        return self.iso()


_MONTHS = {
    "jan": 1, "januari": 1, "january": 1,
    "feb": 2, "febr": 2, "februari": 2, "february": 2,
    "mrt": 3, "maa": 3, "maart": 3, "mar": 3, "march": 3,
    "apr": 4, "april": 4,
    "mei": 5, "may": 5,
    "jun": 6, "juni": 6, "june": 6,
    "jul": 7, "juli": 7, "july": 7,
    "aug": 8, "augustus": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9,
    "okt": 10, "oktober": 10, "oct": 10, "october": 10,
    "nov": 11, "november": 11,
    "dec": 12, "december": 12,
}  # fmt: skip

_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)

_SEP = r"(?:\s*[-/.]\s*|\s+)"
_TIME = re.compile(
    r"(?:[ t]+|(?<=\d)t)\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?\s*(?:z|[+-]\d{2}:?\d{2}|utc)?$"
)
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_YMD = re.compile(rf"(\d{{4}}){_SEP}(\d{{1,2}}){_SEP}(\d{{1,2}})")
_DMY = re.compile(rf"(\d{{1,2}}){_SEP}(\d{{1,2}}){_SEP}(\d{{4}})")
_DIGITS8 = re.compile(r"(\d{4})(\d{2})(\d{2})")
_DDMMYYYY = re.compile(r"(\d{2})(\d{2})(\d{4})")
_YEAR = re.compile(r"\d{4}")
_YM = re.compile(rf"(\d{{4}}){_SEP}(\d{{1,2}})")
_MY = re.compile(rf"(\d{{1,2}}){_SEP}(\d{{4}})")
_ISO_PARTIAL = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
_D_MON_Y = re.compile(r"(\d{1,2})(?:\s*[-/.]\s*|\s+)([a-z]+)\.?(?:\s*[-/.,]\s*|\s+)(\d{4})")
_MON_D_Y = re.compile(r"([a-z]+)\.?\s*(\d{1,2}),?\s+(\d{4})")
_MON_Y = re.compile(r"([a-z]+)\.?(?:\s*[-/.,]\s*|\s+)(\d{4})")
_TWO_DIGIT_YEAR = re.compile(rf"\d{{1,2}}{_SEP}\d{{1,2}}{_SEP}\d{{2}}|\d{{6}}")

_UNRECOGNISED = "unrecognised date format"


def _days_in_month(year: int, month: int) -> int:
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _DAYS[month - 1]


def _build(year: int, month: int, day: int, min_year: int, max_year: int) -> PartialDate:
    """Validate the parts (0 = unknown) and build the partial date."""
    if year < min_year or year > max_year:
        raise StandardizationError(f"year outside the accepted range {min_year}-{max_year}")
    if month == 0:
        if day != 0:
            raise StandardizationError("date has a day but an unknown month")
        return PartialDate(year)
    if month > 12:
        raise StandardizationError("impossible date: month must be 1-12")
    if day == 0:
        return PartialDate(year, month)
    if day > _days_in_month(year, month):
        raise StandardizationError("impossible date: day does not exist in that month")
    return PartialDate(year, month, day)


def _month_number(name: str) -> int:
    month = _MONTHS.get(name)
    if month is None:
        raise StandardizationError("unknown month name")
    return month


def _auto(s: str, lo: int, hi: int) -> PartialDate:
    if m := _YMD.fullmatch(s):
        return _build(int(m[1]), int(m[2]), int(m[3]), lo, hi)
    if m := _DMY.fullmatch(s):
        return _build(int(m[3]), int(m[2]), int(m[1]), lo, hi)
    if m := _DIGITS8.fullmatch(s):
        try:
            return _build(int(m[1]), int(m[2]), int(m[3]), lo, hi)
        except StandardizationError as exc:
            raise StandardizationError(
                f"{exc.reason} (8 digits are read as yyyymmdd; set format = \"ddmmyyyy\" "
                "for day-first dates)"
            ) from None
    if _YEAR.fullmatch(s):
        return _build(int(s), 0, 0, lo, hi)
    if m := _YM.fullmatch(s):
        return _build(int(m[1]), int(m[2]), 0, lo, hi)
    if m := _MY.fullmatch(s):
        return _build(int(m[2]), int(m[1]), 0, lo, hi)
    if m := _D_MON_Y.fullmatch(s):
        return _build(int(m[3]), _month_number(m[2]), int(m[1]), lo, hi)
    if m := _MON_D_Y.fullmatch(s):
        return _build(int(m[3]), _month_number(m[1]), int(m[2]), lo, hi)
    if m := _MON_Y.fullmatch(s):
        return _build(int(m[2]), _month_number(m[1]), 0, lo, hi)
    if _TWO_DIGIT_YEAR.fullmatch(s):
        raise StandardizationError("two-digit years are ambiguous; write the year in full")
    raise StandardizationError(_UNRECOGNISED)


_STRFTIME_PARTS = {
    "d": r"(?P<d>\d{1,2})",
    "m": r"(?P<m>\d{1,2})",
    "Y": r"(?P<y>\d{4})",
    "b": r"(?P<b>[a-z]+)\.?",
    "B": r"(?P<b>[a-z]+)",
    "H": r"\d{1,2}",
    "I": r"\d{1,2}",
    "M": r"\d{1,2}",
    "S": r"\d{1,2}",
    "f": r"\d{1,9}",
    "p": r"(?:am|pm)",
    "%": "%",
}


@lru_cache(maxsize=64)
def _compile_strftime(fmt: str) -> tuple[re.Pattern[str], bool]:
    """Regex for a strftime-style pattern, and whether it reads a time itself."""
    out = []
    seen: set[str] = set()
    i = 0
    while i < len(fmt):
        ch = fmt[i]
        if ch == "%":
            if i + 1 >= len(fmt):
                raise ConfigError("date format ends with a lone '%'")
            code = fmt[i + 1]
            if code == "y":
                raise ConfigError("date format '%y' (two-digit year) is not supported; use '%Y'")
            part = _STRFTIME_PARTS.get(code)
            if part is None:
                allowed = " ".join("%" + c for c in _STRFTIME_PARTS)
                raise ConfigError(f"date format directive '%{code}' is not supported (use {allowed})")
            key = "b" if code in "bB" else code
            if key in "dmYb" and key in seen:
                raise ConfigError(f"date format uses '%{code}' twice")
            seen.add(key)
            out.append(part)
            i += 2
        elif ch.isspace():
            while i < len(fmt) and fmt[i].isspace():
                i += 1
            out.append(r"\s+")
        else:
            out.append(re.escape(_fmt_fold(ch)))
            i += 1
    if "Y" not in seen:
        raise ConfigError("date format must contain '%Y' (four-digit year)")
    if "d" in seen and not ("m" in seen or "b" in seen):
        raise ConfigError("date format has a day ('%d') but no month ('%m' or '%b')")
    reads_time = bool(seen & set("HIMSfp"))
    return re.compile("".join(out)), reads_time


def _fmt_fold(ch: str) -> str:
    """Fold one literal character of a date format the way input text is folded."""
    folded = fold_text(ch)
    return folded if folded else ch


def check_date_format(fmt: object) -> str:
    """Validate a ``format`` option value; return it or raise :class:`ConfigError`.

    Example:
        >>> check_date_format("%d-%m-%Y")
        '%d-%m-%Y'
    """
    if not isinstance(fmt, str):
        raise ConfigError("option 'format' must be a string")
    if fmt in DATE_FORMATS:
        return fmt
    if "%" in fmt:
        _compile_strftime(fmt)
        return fmt
    raise ConfigError(
        f"unknown date format; use one of {', '.join(DATE_FORMATS)} or a strftime-style "
        "pattern such as '%d.%m.%Y'"
    )


def _strftime(s: str, fmt: str, lo: int, hi: int) -> PartialDate:
    pattern, _ = _compile_strftime(fmt)
    m = pattern.fullmatch(s)
    if m is None:
        if _YEAR.fullmatch(s):
            return _build(int(s), 0, 0, lo, hi)
        raise StandardizationError("date does not match the configured format")
    groups = m.groupdict()
    month = _month_number(groups["b"]) if groups.get("b") else int(groups.get("m") or 0)
    day = int(groups.get("d") or 0)
    return _build(int(groups["y"]), month, day, lo, hi)


def _named(s: str, fmt: str, lo: int, hi: int) -> PartialDate:
    m: re.Match[str] | None
    if fmt == "iso":
        if m := _ISO_PARTIAL.fullmatch(s):
            return _build(int(m[1]), int(m[2] or 0), int(m[3] or 0), lo, hi)
    elif fmt == "yyyy/mm/dd":
        if m := _YMD.fullmatch(s):
            return _build(int(m[1]), int(m[2]), int(m[3]), lo, hi)
    elif fmt == "dd-mm-yyyy":
        if m := _DMY.fullmatch(s):
            return _build(int(m[3]), int(m[2]), int(m[1]), lo, hi)
    elif fmt == "yyyymmdd":
        if m := _DIGITS8.fullmatch(s):
            return _build(int(m[1]), int(m[2]), int(m[3]), lo, hi)
    elif fmt == "ddmmyyyy":
        if m := _DDMMYYYY.fullmatch(s):
            return _build(int(m[3]), int(m[2]), int(m[1]), lo, hi)
    if _YEAR.fullmatch(s):
        return _build(int(s), 0, 0, lo, hi)
    raise StandardizationError(f"date does not match the configured format {fmt}")


_year_cache = [0, 0.0]  # [year, time.time() after which to look again]


def _current_year() -> int:
    now = _time.time()
    if now >= _year_cache[1]:
        _year_cache[0] = _dt.date.today().year
        _year_cache[1] = now + 60.0
    return int(_year_cache[0])


@lru_cache(maxsize=65536)
def _parse(text: str, fmt: str, lo: int, hi: int) -> PartialDate:
    if text.isascii():
        s = " ".join(text.split()).lower()
    else:
        s = fold_text(text)
    if not s:
        raise StandardizationError("date is empty")
    if fmt == "auto" and (m := _ISO.fullmatch(s)):  # fast path
        return _build(int(m[1]), int(m[2]), int(m[3]), lo, hi)
    if len(s) > 64:
        raise StandardizationError("text is too long to be a date")
    if ":" in s and not ("%" in fmt and _compile_strftime(fmt)[1]):
        s = _TIME.sub("", s).rstrip()
    if fmt == "auto":
        return _auto(s, lo, hi)
    if "%" in fmt:
        return _strftime(s, fmt, lo, hi)
    return _named(s, fmt, lo, hi)


def parse_date(
    text: str,
    format: str = "auto",  # noqa: A002 - the option is called "format" in mapping files
    *,
    min_year: int = DEFAULT_MIN_YEAR,
    max_year: int | None = None,
) -> PartialDate:
    """Parse a date into a :class:`PartialDate` (see the module docstring for formats).

    ``min_year`` (default 1880) and ``max_year`` (default: the current year) bound the
    year. Raises :class:`~pplink.errors.StandardizationError` for unreadable or impossible
    dates and :class:`~pplink.errors.ConfigError` for an unknown ``format``.

    Example:
        >>> parse_date("1980-05-17 00:00:00")
        PartialDate(year=1980, month=5, day=17)
        >>> parse_date("00-00-1980").iso()
        '1980'
        >>> parse_date("31-02-1980")
        Traceback (most recent call last):
        ...
        pplink.errors.StandardizationError: impossible date: day does not exist in that month
    """
    if format not in DATE_FORMATS:
        check_date_format(format)
    if not isinstance(text, str):
        raise StandardizationError("value is not text")
    hi = _current_year() if max_year is None else max_year
    return _parse(text, format, min_year, hi)
