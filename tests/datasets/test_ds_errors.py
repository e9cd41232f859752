"""Error injection: it changes some records, but few, and not beyond recognition."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from pplink.datasets import DEFAULT_ERRORS, ErrorProfile, generate_municipality
from pplink.datasets import _noise as noise


def _wmo_vs_population(m) -> pd.DataFrame:
    """Per Wmo record: which raw fields differ from the clean population value."""
    wmo = m.sources["wmo"]
    t = m.truth[m.truth["source"] == "wmo"].set_index("record_id")
    pop = m.population.set_index("person_id").loc[t.loc[wmo["client_id"], "person_id"].to_numpy()]
    diff = pd.DataFrame(
        {
            "given": wmo["voornamen"].to_numpy() != pop["voornamen"].to_numpy(),
            "surname": (wmo["geslachtsnaam"].to_numpy() != pop["geslachtsnaam"].to_numpy())
            | (wmo["voorvoegsel"].to_numpy() != pop["voorvoegsel"].to_numpy()),
            "birth_date": wmo["geboortedatum"].to_numpy() != pop["geboortedatum"].to_numpy(),
            "sex": wmo["geslacht"].to_numpy() != pop["geslacht"].to_numpy(),
            "address": (wmo["postcode"].to_numpy() != pop["postcode"].to_numpy())
            | (wmo["huisnummer"].to_numpy() != pop["huisnummer"].astype(str).to_numpy())
            | (wmo["toevoeging"].to_numpy() != pop["toevoeging"].to_numpy()),
            "bsn": wmo["bsn"].to_numpy() != pop["bsn"].to_numpy(),
        }
    )
    return diff


def test_without_errors_wmo_equals_the_population(clean_muni):
    diff = _wmo_vs_population(clean_muni)
    assert len(diff) > 100
    assert not diff.to_numpy().any()


def test_errors_change_some_but_few_records(muni):
    diff = _wmo_vs_population(muni)
    any_diff = diff.any(axis=1).mean()
    assert 0.02 < any_diff < 0.2
    for col in diff.columns:
        assert diff[col].mean() < 0.06, col
    assert diff["given"].any() and diff["surname"].any() and diff["birth_date"].any() and diff["bsn"].any()
    # beyond recognition: three or more of names / birth date / address wrong
    assert (diff[["given", "surname", "birth_date", "address"]].sum(axis=1) >= 3).mean() < 0.01


def _identity_agreement(m, name: str) -> pd.DataFrame:
    """Crude raw-level agreement for any source: names (folded), birth year, postcode digits."""
    df = m.sources[name]
    rid = df.columns[0]
    t = m.truth[m.truth["source"] == name].set_index("record_id")
    pop = m.population.set_index("person_id").loc[t.loc[df[rid], "person_id"].to_numpy()]
    text = df.astype(str).agg(" ".join, axis=1).str.lower().to_numpy()
    sur = pop["geslachtsnaam"].str.lower().to_numpy()
    first = pop["roepnaam"].str.lower().to_numpy()
    year = pop["geboortedatum"].str[:4].to_numpy()
    pc = pop["postcode"].str[:4].to_numpy()
    return pd.DataFrame(
        {
            "surname": [s in x for s, x in zip(sur, text)],
            "first": [f in x for f, x in zip(first, text)],
            "year": [y in x for y, x in zip(year, text)],
            "pc": [p in x for p, x in zip(pc, text)],
        }
    )


@pytest.mark.parametrize("name", ["wmo", "participatie", "jeugd", "commercial"])
def test_every_source_keeps_most_records_recognisable(muni, clean_muni, name):
    clean = _identity_agreement(clean_muni, name)
    noisy = _identity_agreement(muni, name)
    # the error-free source agrees almost everywhere (diacritics stripped in commercial aside)
    assert clean["year"].all() and clean["pc"].all()
    assert clean["surname"].mean() > 0.9
    # errors: some disagreement, but at most ~2% of records lose two or more of the keys
    assert (~noisy.to_numpy()).any()
    lost = (~noisy).sum(axis=1) >= 2
    assert lost.mean() < 0.03 + (~clean).sum(axis=1).ge(2).mean()


def test_error_scale_and_overrides_change_the_amount_of_noise():
    base = generate_municipality(3_000, seed=8)
    more = generate_municipality(3_000, seed=8, errors={"wmo": {"typo": 0.3, "missing": 0.1}})
    d_base = _wmo_vs_population(base).any(axis=1).mean()
    d_more = _wmo_vs_population(more).any(axis=1).mean()
    assert d_more > d_base + 0.2
    doubled = generate_municipality(3_000, seed=8, error_scale=2.0)
    assert _wmo_vs_population(doubled).any(axis=1).mean() > d_base
    assert DEFAULT_ERRORS["commercial"].scaled(0).typo == 0
    assert ErrorProfile(typo=0.6).scaled(3).typo == 1.0
    with pytest.raises(ValueError):
        ErrorProfile(typo=1.5)


def test_commercial_has_partial_dates_and_particle_forms(muni):
    com = muni.sources["commercial"]
    d = com["GEBDAT"]
    assert d.str.fullmatch(r"[0-9]{4}").any() and d.str.fullmatch(r"[0-9]{4}-[0-9]{2}").any()
    assert d.str.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}").mean() > 0.85
    naam = com["NAAM"]
    assert (naam == naam.str.upper()).all()
    assert naam.str.contains(r"^[A-Z' -]+, (?:VAN|DE|TER|TEN|TE|DEN|IN|OP|UIT|DA|DOS|'T)", regex=True).any()
    assert naam.str.match(r"VAN (?:DEN|DER|DE) ").any()
    assert naam.str.match(r"V\.?D\.? ").any() or naam.str.match(r"VD ").any()


def test_noise_functions():
    rng = np.random.default_rng(0)
    for _ in range(200):
        s = noise.typo("Hendriks", rng)
        assert abs(len(s) - len("Hendriks")) <= 1
    changed = {noise.typo("Hendriks", rng) for _ in range(50)}
    assert len(changed) > 10
    variants = {noise.phonetic_variant("Meijer", rng) for _ in range(50)}
    assert variants == {"Meyer", "Meier"}
    assert noise.phonetic_variant("Smidt", np.random.default_rng(1)) in {"Smid", "Smit", "Smidt"}
    assert noise.phonetic_variant("Lamm", rng) == "Lamm"  # nothing to rewrite
    assert noise.nickname("Cornelis", rng) in {"Kees", "Cees", "Cor"}
    assert noise.nickname("Daan", rng) == "Daan"
    assert noise.swap_day_month(1980, 5, 3) == (1980, 3, 5)
    assert noise.swap_day_month(1980, 5, 23) == (1980, 5, 23)
    for _ in range(200):
        y, mth, d = noise.date_typo(2000, 2, 29, rng)
        dt.date(y, mth, d)  # always a valid date
        assert (y, mth, d) != (2000, 2, 29)
    b = noise.bsn_typo("123456782", rng)
    assert sorted(b) == sorted("123456782") and b != "123456782"
    assert noise.to_latin1("Şahin Çelik Łukasz") == "Sahin Çelik Lukasz"
    assert noise.ascii_fold("Hélène Özdemir Weiß") == "Helene Ozdemir Weiss"
    num, add = noise.house_number_typo(12, "", rng)
    assert add == "" and num != 12
