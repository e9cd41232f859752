"""Property-based tests (hypothesis): idempotence, robustness, the elfproef."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from pplink.errors import StandardizationError
from pplink.standardize import (
    PARSERS,
    fold_text,
    is_valid_bsn,
    normalize_bsn,
    normalize_name,
    normalize_postcode,
    normalize_postcode_freeform,
    parse_date,
    parse_full_name,
    split_house_number,
    split_particle,
)

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Text that looks like names, particles and their messy spellings.
_NAME_PIECES = list("aAbBdeEnNrRtTsvVlLoO'\u2019-., /()\u00eb\u00e9\u00c6\u0133\u00df") + [
    " van ", " de ", " der ", "v.d.", "V/D", " 't ", "d'", "'s ", " t ", "vd ", ", ", " in ",
    " Van Den ", "Berg", "Jan", " ter ", " op ", " la ", "-van ",
]  # fmt: skip
name_like = st.lists(st.sampled_from(_NAME_PIECES), max_size=14).map("".join)
# st.text() excludes surrogates by default; it includes NUL and other controls.
# very long strings are built by repetition (cheap to generate, still thousands of characters)
long_text = st.text(min_size=1, max_size=12).map(lambda s: (s * 5000)[:6000])
any_text = st.one_of(st.text(max_size=80), name_like, long_text)

_PARSER_OPTIONS: dict[str, list[dict[str, Any]]] = {
    "categorical": [{}, {"values": ["a", "b"], "map": {"x": "a"}}],
    "date": [{}, {"format": "dd-mm-yyyy"}, {"format": "%d.%m.%Y"}, {"format": "ddmmyyyy"}],
    "full_name": [{}, {"order": "first_last"}, {"order": "last_first", "nicknames": True}],
    "postcode": [{}, {"allow_pc4": True}],
    "sex": [{}, {"numeric": "iso5218"}],
    "integer": [{}, {"min": 0, "max": 10}],
    "name": [{}, {"nicknames": True}],
}


@FAST
@given(any_text)
@example("\x00")
@example("a\x00b")
@example("\ud7ff\U0010ffff")
@example("ǅ\u0130\u0345ﬀ")
def test_every_parser_returns_strings_or_raises_standardization_error(text: str) -> None:
    for name, spec in PARSERS.items():
        for options in _PARSER_OPTIONS.get(name, [{}]):
            try:
                result = spec.func(text, "t", **options)
            except StandardizationError as exc:
                assert exc.reason
                continue
            assert isinstance(result, dict)
            assert set(result) == set(spec.outputs("t", **options))
            for value in result.values():
                assert value is None or (isinstance(value, str) and value)


@FAST
@given(any_text)
@example("ǅ\u0130\u0345ﬀ")
def test_fold_text_idempotent(text: str) -> None:
    once = fold_text(text)
    assert fold_text(once) == once
    assert once == once.strip()
    assert "  " not in once


@FAST
@given(any_text)
def test_normalize_name_idempotent(text: str) -> None:
    try:
        once = normalize_name(text)
    except StandardizationError:
        return
    assert once
    assert normalize_name(once) == once


@FAST
@given(any_text)
@example("'S,A")
@example("D'VD")
def test_split_particle_idempotent(text: str) -> None:
    try:
        particle, surname = split_particle(text)
    except StandardizationError:
        return
    assert surname  # never empty
    rejoined = f"{particle} {surname}" if particle else surname
    assert split_particle(rejoined) == (particle, surname)


@FAST
@given(name_like)
def test_full_name_particle_agrees_with_split_particle(text: str) -> None:
    try:
        name = parse_full_name(text)
    except StandardizationError:
        return
    assert name.surname
    rejoined = f"{name.particle} {name.surname}" if name.particle else name.surname
    assert split_particle(rejoined) == (name.particle, name.surname)


postcode_like = st.builds(
    lambda d, sep, letters: f"{d}{sep}{letters}",
    st.integers(0, 9999).map(lambda n: f"{n:04d}"),
    st.sampled_from(["", " ", "-", "  ", "\t"]),
    st.text(alphabet="abcdsxyzABSDZ", min_size=2, max_size=2),
)


@FAST
@given(st.one_of(postcode_like, st.text(max_size=20)))
def test_postcode_idempotent(text: str) -> None:
    try:
        once = normalize_postcode(text)
    except StandardizationError:
        return
    assert len(once) == 6 and once[:4].isdigit() and once[0] != "0" and once[4:].isupper()
    assert once[4:] not in {"SA", "SD", "SS"}
    assert normalize_postcode(once) == once
    assert normalize_postcode_freeform(normalize_postcode_freeform(text)) == normalize_postcode_freeform(text)


@FAST
@given(st.dates(min_value=dt.date(1880, 1, 1), max_value=dt.date.today()))
def test_dates_round_trip(day: dt.date) -> None:
    iso = day.isoformat()
    assert parse_date(iso).iso() == iso
    assert parse_date(iso, "iso").iso() == iso
    assert parse_date(day.strftime("%d-%m-%Y")).iso() == iso
    assert parse_date(day.strftime("%d/%m/%Y"), "dd-mm-yyyy").iso() == iso
    assert parse_date(day.strftime("%Y%m%d")).iso() == iso
    assert parse_date(day.strftime("%d%m%Y"), "ddmmyyyy").iso() == iso
    assert parse_date(day.strftime("%d.%m.%Y"), "%d.%m.%Y").iso() == iso
    assert parse_date(f"{day.year}-{day.month:02d}-00").iso() == iso[:7]
    assert parse_date(f"{day.year}-00-00").iso() == iso[:4]


@FAST
@given(st.one_of(st.text(max_size=30), st.text(alphabet="0123456789-/. :T", max_size=20)))
def test_date_iso_output_reparses(text: str) -> None:
    try:
        once = parse_date(text).iso()
    except StandardizationError:
        return
    assert parse_date(once).iso() == once
    assert parse_date(once, "iso").iso() == once


@FAST
@given(st.text(alphabet="0123456789 -/aAbhsHuI", max_size=12))
def test_house_number_idempotent(text: str) -> None:
    try:
        number, addition = split_house_number(text)
    except StandardizationError:
        return
    assert number.isdigit() and not number.startswith("0") and 1 <= int(number) <= 99999
    again = number + (addition or "")
    if addition is None or not addition[0].isdigit():
        assert split_house_number(again) == (number, addition)
    assert split_house_number(f"{number}-{addition}" if addition else number) == (number, addition)


def _valid_bsn_strategy() -> st.SearchStrategy[str]:
    def complete(first8: list[int]) -> str | None:
        total = sum(w * d for w, d in zip((9, 8, 7, 6, 5, 4, 3, 2), first8, strict=True))
        check = total % 11  # weighted sum - check must be divisible by 11
        if check > 9 or total - check == 0:  # the all-zero sum is invalid
            return None
        return "".join(map(str, first8)) + str(check)

    return (
        st.lists(st.integers(0, 9), min_size=8, max_size=8).map(complete).filter(lambda s: s is not None)  # type: ignore[return-value]
    )


@FAST
@given(_valid_bsn_strategy(), st.integers(0, 8), st.integers(1, 9))
def test_bsn_single_digit_change_is_detected(bsn: str, position: int, delta: int) -> None:
    assert normalize_bsn(bsn) == bsn
    changed = bsn[:position] + str((int(bsn[position]) + delta) % 10) + bsn[position + 1 :]
    assert changed != bsn
    assert not is_valid_bsn(changed)


@FAST
@given(st.text(max_size=30))
def test_bsn_output_is_nine_valid_digits(text: str) -> None:
    try:
        bsn = normalize_bsn(text)
    except StandardizationError:
        return
    assert len(bsn) == 9 and bsn.isascii() and bsn.isdigit()
    assert normalize_bsn(bsn) == bsn


def test_every_bmp_character_folds_idempotently() -> None:
    """Exhaustive over the Basic Multilingual Plane (surrogates excluded)."""
    for cp in range(0x10000):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        text = f"a{chr(cp)}b"
        once = fold_text(text)
        assert fold_text(once) == once, hex(cp)
        try:
            name = normalize_name(text)
        except StandardizationError:
            continue
        assert normalize_name(name) == name, hex(cp)
