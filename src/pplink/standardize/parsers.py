"""The parser registry used by source mapping files.

Each parser is a :class:`ParserSpec` (see ``docs/design/contracts.md``): ``func(raw, target,
**options)`` receives a non-empty raw string and returns a ``dict`` of logical field name ->
``str`` or ``None``; it raises :class:`~pplink.errors.StandardizationError` (and nothing
else) for input it cannot accept. ``outputs(target, **options)`` lists the fields ``func``
sets. Check options once with :func:`validate_options` before calling ``func`` on many
values.

Example:
    >>> spec = get_parser("full_name")
    >>> spec.func("Berg, van den, Jan", "naam")
    {'first_name': 'jan', 'particle': 'van den', 'surname': 'berg'}
    >>> spec.outputs("naam")
    ('first_name', 'particle', 'surname')
    >>> validate_options("date", {"format": "dd-mm-yyyy"})
    {'format': 'dd-mm-yyyy'}
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pplink.errors import ConfigError, StandardizationError
from pplink.standardize.address import (
    normalize_house_number_addition,
    normalize_postcode,
    normalize_postcode_freeform,
    split_house_number,
)
from pplink.standardize.dates import DEFAULT_MIN_YEAR, check_date_format, parse_date
from pplink.standardize.identifiers import normalize_bsn
from pplink.standardize.names import (
    ORDERS,
    normalize_name,
    normalize_particle,
    parse_full_name,
    split_particle,
)
from pplink.standardize.sex import NUMERIC_SCHEMES, normalize_sex
from pplink.standardize.text import fold_text

__all__ = [
    "ParserSpec",
    "PARSERS",
    "get_parser",
    "validate_options",
    "normalize_integer",
    "normalize_categorical",
]

Result = dict[str, str | None]


@dataclass(frozen=True)
class ParserSpec:
    """One parser: its name, function, output fields and allowed option names."""

    name: str
    func: Callable[..., Result]  # func(raw: str, target: str, **options)
    outputs: Callable[..., tuple[str, ...]]  # outputs(target, **options) -> logical fields set
    options: frozenset[str]  # allowed option names


# --------------------------------------------------------------------------- generic values

_INTEGER = re.compile(r"([+-]?)0*([0-9]+)(?:\.0*)?")
_MAX_INTEGER_DIGITS = 30


def normalize_integer(text: str, *, min: int | None = None, max: int | None = None) -> str:  # noqa: A002
    """Normalise an integer: optional sign, no leading zeros, ``12.0`` read as 12.

    ``min`` and ``max`` bound the value (inclusive).

    Example:
        >>> normalize_integer(" 007 ")
        '7'
        >>> normalize_integer("12.0", min=0, max=120)
        '12'
    """
    if not isinstance(text, str):
        raise StandardizationError("value is not text")
    s = fold_text(text)
    m = _INTEGER.fullmatch(s)
    if m is None:
        raise StandardizationError("not an integer")
    if len(m[2]) > _MAX_INTEGER_DIGITS:
        raise StandardizationError(f"integer has more than {_MAX_INTEGER_DIGITS} digits")
    value = int(m[2])
    if m[1] == "-":
        value = -value
    if min is not None and value < min:
        raise StandardizationError(f"integer below the minimum {min}")
    if max is not None and value > max:
        raise StandardizationError(f"integer above the maximum {max}")
    return str(value)


@lru_cache(maxsize=256)
def _categorical_tables(
    values: tuple[str, ...] | None, mapping: tuple[tuple[str, str], ...] | None
) -> tuple[dict[str, str], dict[str, str] | None]:
    folded_map = {fold_text(k): v for k, v in mapping} if mapping else {}
    allowed = {fold_text(v): v for v in values} if values is not None else None
    return folded_map, allowed


def _freeze_values(values: Any) -> tuple[str, ...] | None:
    return None if values is None else tuple(values)


def _freeze_map(mapping: Any) -> tuple[tuple[str, str], ...] | None:
    if mapping is None:
        return None
    items = mapping.items() if isinstance(mapping, Mapping) else mapping
    return tuple((str(k), str(v)) for k, v in items)


def normalize_categorical(
    text: str,
    *,
    values: Any = None,
    map: Any = None,  # noqa: A002 - the option is called "map" in mapping files
) -> str:
    """Normalise a categorical value.

    The value is folded (:func:`~pplink.standardize.text.fold_text`); ``map`` translates
    folded raw values (keys are folded too) to canonical values; with ``values`` the result
    must be one of these canonical values (compared folded, returned as written in
    ``values``), otherwise the value is rejected.

    Example:
        >>> normalize_categorical("Jeugdwet", values=["jeugd", "wmo"], map={"jeugdwet": "jeugd"})
        'jeugd'
        >>> normalize_categorical(" WMO ")
        'wmo'
    """
    if not isinstance(text, str):
        raise StandardizationError("value is not text")
    folded_map, allowed = _categorical_tables(_freeze_values(values), _freeze_map(map))
    key = fold_text(text)
    if not key:
        raise StandardizationError("value is empty after normalisation")
    out = folded_map.get(key, key)
    if allowed is not None:
        canonical = allowed.get(fold_text(out))
        if canonical is None:
            raise StandardizationError("value is not one of the allowed categories")
        out = canonical
    return out


# --------------------------------------------------------------------------- parser functions


def _string(raw: str, target: str) -> Result:
    if not isinstance(raw, str):
        raise StandardizationError("value is not text")
    value = fold_text(raw)
    if not value:
        raise StandardizationError("value is empty after normalisation")
    return {target: value}


def _first_given_name(name: str | None) -> str | None:
    """The first given name: registers list all given names ("gerrit wilhelmus"), other
    sources only the one in daily use, which is usually the first."""
    if not name:
        return name
    return name.split(" ", 1)[0]


def _name(raw: str, target: str, *, nicknames: bool = False, first_only: bool = False) -> Result:
    name = normalize_name(raw, nicknames=nicknames)
    return {target: _first_given_name(name) if first_only else name}


def _surname(raw: str, target: str, *, particle_field: str = "particle") -> Result:
    particle, surname = split_particle(raw)
    return {particle_field: particle, target: surname}


def _particle(raw: str, target: str) -> Result:
    return {target: normalize_particle(raw)}


def _full_name(
    raw: str,
    target: str,
    *,
    order: str = "auto",
    nicknames: bool = False,
    first_only: bool = False,
    first_name_field: str = "first_name",
    particle_field: str = "particle",
    surname_field: str = "surname",
) -> Result:
    name = parse_full_name(raw, order, nicknames=nicknames)
    return {
        first_name_field: _first_given_name(name.first_name) if first_only else name.first_name,
        particle_field: name.particle,
        surname_field: name.surname,
    }


def _date(
    raw: str,
    target: str,
    *,
    format: str = "auto",  # noqa: A002
    min_year: int = DEFAULT_MIN_YEAR,
    max_year: int | None = None,
) -> Result:
    return {target: parse_date(raw, format, min_year=min_year, max_year=max_year).iso()}


def _postcode(raw: str, target: str, *, allow_pc4: bool = False) -> Result:
    return {target: normalize_postcode(raw, allow_pc4=allow_pc4)}


def _postcode_freeform(raw: str, target: str) -> Result:
    return {target: normalize_postcode_freeform(raw)}


def _house_number(
    raw: str, target: str, *, addition_field: str = "house_number_addition"
) -> Result:
    number, addition = split_house_number(raw)
    return {target: number, addition_field: addition}


def _house_number_addition(raw: str, target: str) -> Result:
    return {target: normalize_house_number_addition(raw)}


def _bsn(raw: str, target: str) -> Result:
    return {target: normalize_bsn(raw)}


def _sex(raw: str, target: str, *, numeric: str | None = None) -> Result:
    return {target: normalize_sex(raw, numeric=numeric)}


def _integer(raw: str, target: str, *, min: int | None = None, max: int | None = None) -> Result:  # noqa: A002
    return {target: normalize_integer(raw, min=min, max=max)}


def _categorical(raw: str, target: str, *, values: Any = None, map: Any = None) -> Result:  # noqa: A002
    return {target: normalize_categorical(raw, values=values, map=map)}


def _single(target: str, **_options: Any) -> tuple[str, ...]:
    return (target,)


def _surname_outputs(target: str, *, particle_field: str = "particle", **_: Any) -> tuple[str, ...]:
    return (particle_field, target)


def _full_name_outputs(
    target: str,
    *,
    first_name_field: str = "first_name",
    particle_field: str = "particle",
    surname_field: str = "surname",
    **_: Any,
) -> tuple[str, ...]:
    return (first_name_field, particle_field, surname_field)


def _house_number_outputs(
    target: str, *, addition_field: str = "house_number_addition", **_: Any
) -> tuple[str, ...]:
    return (target, addition_field)


def _spec(name: str, func: Callable[..., Result], outputs: Callable[..., tuple[str, ...]] = _single,
          options: tuple[str, ...] = ()) -> ParserSpec:  # fmt: skip
    return ParserSpec(name, func, outputs, frozenset(options))


#: All parsers by name.
PARSERS: dict[str, ParserSpec] = {
    spec.name: spec
    for spec in (
        _spec("string", _string),
        _spec("name", _name, options=("nicknames", "first_only")),
        _spec("surname", _surname, _surname_outputs, ("particle_field",)),
        _spec("particle", _particle),
        _spec(
            "full_name",
            _full_name,
            _full_name_outputs,
            ("order", "nicknames", "first_only", "first_name_field", "particle_field", "surname_field"),
        ),
        _spec("date", _date, options=("format", "min_year", "max_year")),
        _spec("postcode", _postcode, options=("allow_pc4",)),
        _spec("postcode_freeform", _postcode_freeform),
        _spec("house_number", _house_number, _house_number_outputs, ("addition_field",)),
        _spec("house_number_addition", _house_number_addition),
        _spec("bsn", _bsn),
        _spec("sex", _sex, options=("numeric",)),
        _spec("integer", _integer, options=("min", "max")),
        _spec("categorical", _categorical, options=("values", "map")),
    )
}


def get_parser(name: str) -> ParserSpec:
    """Return the :class:`ParserSpec` called ``name``.

    Raises :class:`~pplink.errors.ConfigError` listing the known parsers otherwise.

    Example:
        >>> get_parser("bsn").func("123456782", "bsn")
        {'bsn': '123456782'}
    """
    spec = PARSERS.get(name) if isinstance(name, str) else None
    if spec is None:
        raise ConfigError(f"unknown parser {name!r}; known parsers: {', '.join(sorted(PARSERS))}")
    return spec


# --------------------------------------------------------------------------- options


def _need_bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"option '{key}' must be true or false")
    return value


def _need_int(key: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"option '{key}' must be an integer")
    return value


def _need_field_name(key: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"option '{key}' must be a non-empty field name")
    return value


def _check_order(key: str, value: Any) -> str:
    if value not in ORDERS:
        raise ConfigError(f"option '{key}' must be one of {', '.join(ORDERS)}")
    return str(value)


def _check_numeric(key: str, value: Any) -> str | None:
    if value is not None and value not in NUMERIC_SCHEMES:
        raise ConfigError(f"option '{key}' must be one of {', '.join(NUMERIC_SCHEMES)}")
    return None if value in (None, "none") else str(value)


def _check_values(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(f"option '{key}' must be a non-empty list of strings")
    if not all(isinstance(v, str) and fold_text(v) for v in value):
        raise ConfigError(f"option '{key}' must contain only non-empty strings")
    return tuple(value)


def _check_map(key: str, value: Any) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"option '{key}' must be a table of raw value = canonical value")
    if not all(isinstance(k, str) and isinstance(v, str) and fold_text(v) for k, v in value.items()):
        raise ConfigError(f"option '{key}' must map strings to non-empty strings")
    return dict(value)


_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "nicknames": _need_bool,
    "first_only": _need_bool,
    "allow_pc4": _need_bool,
    "order": _check_order,
    "format": lambda key, value: check_date_format(value),
    "min_year": _need_int,
    "max_year": _need_int,
    "min": _need_int,
    "max": _need_int,
    "numeric": _check_numeric,
    "values": _check_values,
    "map": _check_map,
    "particle_field": _need_field_name,
    "first_name_field": _need_field_name,
    "surname_field": _need_field_name,
    "addition_field": _need_field_name,
}


def validate_options(spec: ParserSpec | str, options: Mapping[str, Any]) -> dict[str, Any]:
    """Check parser options; return them (cleaned) or raise :class:`ConfigError`.

    Unknown option names are reported together with the allowed ones; values are checked
    for type and range (e.g. ``order``, ``format``, ``numeric``, ``min_year <= max_year``,
    ``map`` targets inside ``values``).

    Example:
        >>> validate_options("postcode", {"allow_pc4": True})
        {'allow_pc4': True}
        >>> validate_options("postcode", {"pc4": True})
        Traceback (most recent call last):
        ...
        pplink.errors.ConfigError: parser 'postcode' does not take option(s) pc4; allowed: allow_pc4
    """
    if not isinstance(spec, ParserSpec):
        spec = get_parser(spec)
    unknown = sorted(set(options) - spec.options)
    if unknown:
        allowed = ", ".join(sorted(spec.options)) if spec.options else "none"
        raise ConfigError(
            f"parser '{spec.name}' does not take option(s) {', '.join(map(str, unknown))}; "
            f"allowed: {allowed}"
        )
    cleaned = {key: _CHECKS[key](key, value) for key, value in options.items()}
    lo = cleaned.get("min_year", DEFAULT_MIN_YEAR)
    hi = cleaned.get("max_year")
    if spec.name == "date" and lo is not None and hi is not None and lo > hi:
        raise ConfigError("option 'min_year' must not be larger than 'max_year'")
    if cleaned.get("min") is not None and cleaned.get("max") is not None:
        if cleaned["min"] > cleaned["max"]:
            raise ConfigError("option 'min' must not be larger than 'max'")
    if "map" in cleaned and "values" in cleaned:
        allowed_values = {fold_text(v) for v in cleaned["values"]}
        if any(fold_text(v) not in allowed_values for v in cleaned["map"].values()):
            raise ConfigError("every value of option 'map' must be one of option 'values'")
    if spec.name == "full_name":
        fields = _full_name_outputs("", **{k: v for k, v in cleaned.items() if k.endswith("_field")})
        if len(set(fields)) != len(fields):
            raise ConfigError("options 'first_name_field', 'particle_field' and 'surname_field' must differ")
    return cleaned
