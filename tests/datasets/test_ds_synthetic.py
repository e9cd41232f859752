"""The synthetic municipality: reproducibility, validity of identifiers and codes, truth."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from pplink.datasets import SOURCE_NAMES, generate_municipality
from pplink.errors import ConfigError


def _elfproef(bsn: str) -> bool:
    # written independently of pplink.datasets._bsn on purpose
    if not re.fullmatch(r"[0-9]{9}", bsn):
        return False
    weights = [9, 8, 7, 6, 5, 4, 3, 2, -1]
    return sum(int(c) * w for c, w in zip(bsn, weights)) % 11 == 0


POSTCODE = re.compile(r"[1-9][0-9]{3}[A-Z]{2}")


def _valid_postcode(pc: str) -> bool:
    return bool(POSTCODE.fullmatch(pc)) and pc[4:] not in {"SA", "SD", "SS"}


def test_same_seed_gives_identical_frames():
    a = generate_municipality(2_500, seed=123)
    b = generate_municipality(2_500, seed=123)
    for name in SOURCE_NAMES:
        pd.testing.assert_frame_equal(a.sources[name], b.sources[name])
    pd.testing.assert_frame_equal(a.truth, b.truth)
    pd.testing.assert_frame_equal(a.population, b.population)
    pd.testing.assert_frame_equal(a.households, b.households)


def test_different_seed_gives_different_data():
    a = generate_municipality(2_500, seed=1)
    b = generate_municipality(2_500, seed=2)
    assert not a.population["bsn"].equals(b.population["bsn"])
    assert not a.population["geslachtsnaam"].equals(b.population["geslachtsnaam"])
    assert not a.sources["wmo"].equals(b.sources["wmo"])


def test_population_does_not_depend_on_error_settings(muni, clean_muni):
    pd.testing.assert_frame_equal(muni.population, clean_muni.population)
    # the same people are selected and keep their record ids (the commercial file is
    # sorted by address, so its row order may differ)
    key = ["source", "record_id"]
    a = muni.truth.sort_values(key).reset_index(drop=True)
    b = clean_muni.truth.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)
    for name in ("wmo", "participatie", "jeugd"):
        pd.testing.assert_series_equal(muni.sources[name].iloc[:, 0], clean_muni.sources[name].iloc[:, 0])


def test_exact_population_size_and_households(muni):
    pop = muni.population
    assert len(pop) == 6_000
    assert pop["person_id"].is_unique
    hh = muni.households
    assert hh["size"].sum() == len(pop)
    assert set(pop["household_id"]) == set(hh["household_id"])
    counts = pop.groupby("household_id").size()
    assert (counts == hh.set_index("household_id")["size"]).all()
    types = set(hh["household_type"])
    assert {"single", "couple", "family", "single_parent", "single_elderly", "couple_elderly"} <= types
    assert 1.8 < len(pop) / len(hh) < 2.6


def test_bsns_are_unique_and_pass_the_elfproef(muni):
    bsn = muni.population["bsn"]
    assert bsn.is_unique
    assert all(_elfproef(b) for b in bsn)
    assert bsn.str.startswith("0").any()  # some 8-digit-form BSNs exist
    wmo = muni.sources["wmo"]["bsn"]
    present = wmo[wmo != ""]
    assert 0.94 < len(present) / len(wmo) < 0.995  # ~97% present
    valid = np.mean([_elfproef(b) for b in present])
    assert 0.98 < valid <= 1.0  # a few keying errors


def test_postcodes_are_valid_and_in_range(muni):
    pop = muni.population
    assert all(_valid_postcode(p) for p in pop["postcode"])
    assert pop["postcode"].str[:4].astype(int).between(7511, 7548).all()
    old = pop.loc[pop["moved"], "old_postcode"]
    assert len(old) > 0 and all(_valid_postcode(p) for p in old)
    s = muni.sources
    forms = {
        ("wmo", "postcode"): r"[1-9][0-9]{3}[A-Z]{2}",
        ("participatie", "Postcode"): r"[1-9][0-9]{3} [A-Z]{2}",
        ("jeugd", "postcode"): r"[1-9][0-9]{3} [a-z]{2}",
        ("commercial", "POSTCODE"): r"[1-9][0-9]{3} ?[A-Z]{2}",
    }
    for (src, col), rx in forms.items():
        values = s[src][col]
        values = values[values != ""]
        assert len(values) > 0
        assert values.str.fullmatch(rx).all(), src
        letters = values.str.replace(" ", "").str[4:].str.upper()
        assert not letters.isin(["SA", "SD", "SS"]).any()


def test_area_codes_are_consistent(muni):
    pop = muni.population
    assert set(pop["gemeente_code"]) == {"GM0153"}
    assert pop["wijk_code"].str.fullmatch(r"WK0153[0-9]{2}").all()
    assert pop["buurt_code"].str.fullmatch(r"BU0153[0-9]{4}").all()
    assert (pop["buurt_code"].str[2:8] == pop["wijk_code"].str[2:]).all()
    # a postcode belongs to exactly one buurt
    assert (pop.groupby("postcode")["buurt_code"].nunique() == 1).all()
    assert pop["wijk_code"].nunique() == 10
    assert pop["buurt_code"].nunique() >= 40
    for name, (wk, bu) in {"wmo": ("wijk_code", "buurt_code"), "participatie": ("wijk", "buurt"), "jeugd": ("wijk_code", "buurt_code")}.items():
        df = muni.sources[name]
        has = df[bu] != ""
        assert (df.loc[has, bu].str[2:8] == df.loc[has, wk].str[2:]).all()


def test_other_municipality():
    m = generate_municipality(500, seed=3, municipality="hengelo")
    assert set(m.population["gemeente_code"]) == {"GM0164"}
    assert m.population["postcode"].str[:4].astype(int).between(7550, 7559).all()
    assert m.population["buurt_code"].str.startswith("BU0164").all()
    with pytest.raises(ConfigError, match="Enschede"):
        generate_municipality(10, municipality="Atlantis")


def test_truth_covers_every_record_exactly_once(muni):
    truth = muni.truth
    assert list(truth.columns) == ["source", "record_id", "person_id", "household_id"]
    assert not truth.duplicated(["source", "record_id"]).any()
    for name, df in muni.sources.items():
        rid = df.columns[0]
        assert df[rid].is_unique and (df[rid] != "").all()
        t = truth[truth["source"] == name]
        assert len(t) == len(df)
        assert set(t["record_id"]) == set(df[rid])
        # one record per person per source
        assert t["person_id"].is_unique
    pop = muni.population.set_index("person_id")
    assert truth["person_id"].isin(pop.index).all()
    assert (pop.loc[truth["person_id"], "household_id"].to_numpy() == truth["household_id"].to_numpy()).all()


def test_sources_are_raw_strings(muni):
    for name, df in muni.sources.items():
        assert len(df) > 0, name
        for col in df.columns:
            assert df[col].dtype == object, (name, col)
            assert df[col].map(type).eq(str).all(), (name, col)


def test_commercial_and_jeugd_have_no_bsn(muni):
    for name in ("commercial", "jeugd"):
        cols = [c.lower() for c in muni.sources[name].columns]
        assert not any("bsn" in c for c in cols)
    com = muni.sources["commercial"]
    bsns = set(muni.population["bsn"])
    for col in com.columns:
        assert not com[col].isin(bsns).any()


def test_household_members_share_address_and_children_a_parents_surname(muni):
    pop = muni.population
    g = pop.groupby("household_id")
    for col in ("postcode", "huisnummer", "toevoeging", "buurt_code"):
        assert (g[col].nunique() == 1).all(), col
    fam = pop[pop["household_type"] == "family"]
    adults = fam[fam["role"] != "child"]
    kids = fam[fam["role"] == "child"]
    parent_names = set(zip(adults["household_id"], adults["voorvoegsel"], adults["geslachtsnaam"]))
    assert len(kids) > 0
    assert all(k in parent_names for k in zip(kids["household_id"], kids["voorvoegsel"], kids["geslachtsnaam"]))
    # siblings share one surname
    assert (kids.groupby("household_id")["geslachtsnaam"].nunique() == 1).all()


def test_twins_exist(muni):
    pop = muni.population
    twins = pop[pop["is_twin"]]
    groups = twins.groupby(["household_id", "geboortedatum"])
    pairs = [g for _, g in groups if len(g) >= 2]
    assert len(pairs) >= 5
    for g in pairs:
        assert g["geslachtsnaam"].nunique() == 1
        assert g["postcode"].nunique() == 1
        assert g["roepnaam"].nunique() == len(g)
        assert (g["role"] == "child").all()


def test_some_people_moved(muni):
    pop = muni.population
    moved = pop[pop["moved"]]
    assert 0.05 < len(moved) / len(pop) < 0.2
    same = (
        (moved["old_postcode"] == moved["postcode"])
        & (moved["old_huisnummer"] == moved["huisnummer"])
        & (moved["old_toevoeging"] == moved["toevoeging"])
    )
    assert not same.any()
    assert (moved["old_gemeente_code"] == "").any()  # some came from elsewhere
    # commercial file keeps outdated addresses for part of the movers
    t = muni.truth[muni.truth["source"] == "commercial"]
    com = muni.sources["commercial"].set_index("id").loc[t["record_id"]]
    who = pop.set_index("person_id").loc[t["person_id"].to_numpy()]
    on_old = (com["POSTCODE"].str.replace(" ", "").to_numpy() == who["old_postcode"].to_numpy()) & who["moved"].to_numpy()
    assert 0.2 < on_old.sum() / who["moved"].sum() < 0.8


def test_names_are_realistic(muni):
    pop = muni.population
    top = pop["geslachtsnaam"].value_counts()
    assert {"Jong", "Jansen", "Vries"} & set(top.index[:30])
    assert pop["voorvoegsel"].isin(["van den", "van der", "de", "van"]).mean() > 0.05
    assert (pop["voorvoegsel"] != "").mean() < 0.35
    assert pop["geslachtsnaam"].str.contains("-").any()  # double surnames
    text = " ".join(pop["voornamen"]) + " " + " ".join(pop["geslachtsnaam"])
    assert re.search(r"[ÇçÖöÜüéëãïŞş]", text)
    assert pop["geslachtsnaam"].str.contains("ij").any()
    assert set(pop["geslacht"]) <= {"M", "V", "O"}
    assert 0.45 < (pop["geslacht"] == "V").mean() < 0.56
    # surnames: a few very common, a long tail
    assert top.iloc[0] / len(pop) < 0.03 and pop["geslachtsnaam"].nunique() > 1_000


def test_birth_dates_fit_roles(muni):
    pop = muni.population
    age = pop["leeftijd"]
    assert age.min() >= 0 and age.max() <= 105
    assert (age[pop["role"] != "child"] >= 17).all()
    assert (age[pop["role"] == "child"] <= 27).all()
    assert (age[pop["household_type"].isin(["single_elderly", "couple_elderly"]) & (pop["role"] == "head")] >= 67).all()
    fam = pop[pop["household_type"] == "family"]
    mother = fam[(fam["role"] == "partner")].set_index("household_id")["leeftijd"]
    eldest = fam[fam["role"] == "child"].groupby("household_id")["leeftijd"].max()
    gap = (mother - eldest).dropna()
    assert gap.min() >= 16 and 25 < gap.median() < 36


def test_coverage_age_profile_and_stapeling(muni):
    pop = muni.population.set_index("person_id")
    t = muni.truth
    n = len(pop)
    ages = {name: pop.loc[t.loc[t["source"] == name, "person_id"], "leeftijd"] for name in muni.sources}
    assert 0.04 < len(ages["wmo"]) / n < 0.08
    assert ages["wmo"].median() >= 60
    assert ages["participatie"].between(18, 66).all()
    working = pop["leeftijd"].between(18, 66).sum()
    assert 0.03 < len(ages["participatie"]) / working < 0.07
    assert ages["jeugd"].max() <= 23 and (ages["jeugd"] <= 17).mean() > 0.8
    kids = (pop["leeftijd"] <= 17).sum()
    assert 0.07 < len(ages["jeugd"]) / kids < 0.14
    assert ages["commercial"].min() >= 18
    adults = (pop["leeftijd"] >= 18).sum()
    assert 0.6 < len(ages["commercial"]) / adults < 0.8
    # participatie skewed to low income
    inc = pop.loc[t.loc[t["source"] == "participatie", "person_id"], "income_class"]
    assert (inc == "<P20").mean() > 2 * (pop["income_class"] == "<P20").mean()
    # stapeling: households with participatie use other services far more often than others
    municipal = t[t["source"] != "commercial"]
    per_hh = municipal.groupby("household_id")["source"].agg(set)
    with_pw = per_hh[per_hh.map(lambda s: "participatie" in s)]
    other = muni.households.set_index("household_id").index.difference(with_pw.index)
    rate_pw = with_pw.map(lambda s: len(s) > 1).mean()
    rate_other = per_hh.reindex(other).dropna().shape[0] / len(other)
    assert rate_pw > 1.5 * rate_other
    assert (per_hh.map(len) == 3).any()


def test_overrides_and_validation():
    m = generate_municipality(800, seed=4, coverage={"wmo": 0.0})
    assert len(m.sources["wmo"]) == 0
    assert list(m.sources["wmo"].columns)[:2] == ["client_id", "bsn"]
    with pytest.raises(ConfigError):
        generate_municipality(100, errors={"brp": {"typo": 0.1}})
    with pytest.raises(ConfigError):
        generate_municipality(100, errors={"wmo": {"no_such_error": 0.1}})
    with pytest.raises(ConfigError):
        generate_municipality(100, coverage={"wmo": 2.0})
    with pytest.raises(ConfigError):
        generate_municipality(0)
    with pytest.raises(ConfigError):
        generate_municipality(100, error_scale=-1)


def test_generation_is_fast():
    import time

    start = time.perf_counter()
    m = generate_municipality(20_000, seed=9)
    elapsed = time.perf_counter() - start
    assert len(m.population) == 20_000
    assert elapsed < 10.0


def test_address_register_uses_valid_postcodes_only():
    import numpy as np

    from pplink.datasets._geo import build_addresses, lookup_municipality

    info = lookup_municipality("Enschede")
    reg = build_addresses(np.random.default_rng(0), info, 150_000)
    assert len(reg) == 150_000
    assert not reg.duplicated(["postcode", "huisnummer", "toevoeging"]).any()
    letters = reg["postcode"].str[4:]
    assert letters.nunique() > 300  # the letter space is well used ...
    assert not letters.isin(["SA", "SD", "SS"]).any()  # ... but never SA, SD or SS
    assert all(_valid_postcode(p) for p in reg["postcode"].unique())
    assert (reg.groupby("postcode")["buurt_code"].nunique() == 1).all()
    assert set(reg["toevoeging"]) >= {"", "A", "bis", "hs", "1", "2"}
