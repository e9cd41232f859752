"""The audit attacks succeed on unhardened encodings, fail on diffused ones, and score correctly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

import pplink
from pplink.audit import frequency_attack, graph_attack, pattern_attack
from pplink.audit.frequency import align_by_frequency, distinct_rows, unbalance
from pplink.audit.graph import GraphSettings
from pplink.audit.reference import Reference, identify_persons
from pplink.datasets import generate_municipality
from pplink.mapping import Mapping, standardize_frame
from pplink.schema import BloomField, Hardening, Schema, default_schema

POPULATION = Mapping.from_dict({
    "version": 1,
    "source": {"name": "population", "record_id": "person_id"},
    "fields": {
        "first_name": {"column": "voornamen", "parser": "name", "first_only": True},
        "particle": {"column": "voorvoegsel", "parser": "particle"},
        "surname": {"column": "geslachtsnaam", "parser": "surname"},
        "birth_date": {"column": "geboortedatum", "parser": "date", "format": "iso"},
        "sex": {"column": "geslacht", "parser": "sex"},
        "postcode": {"column": "postcode", "parser": "postcode"},
        "house_number": {"column": "huisnummer", "parser": "house_number"},
        "house_number_addition": {"column": "toevoeging", "parser": "house_number_addition"},
    },
})


def _schema(**hardening: object) -> Schema:
    return dataclasses.replace(default_schema(), hardening=Hardening(**hardening))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    """1,500 clean, standardised synthetic residents (no plaintext of real people)."""
    pop = generate_municipality(3_000, seed=5).population.head(1_500)
    raw = pd.DataFrame({c: pop[c].astype("string").fillna("").astype(str) for c in
                        ["person_id", "voornamen", "voorvoegsel", "geslachtsnaam", "geboortedatum", "geslacht",
                         "postcode", "huisnummer", "toevoeging"]})
    return standardize_frame(raw, POPULATION).fields


def _encode(people: pd.DataFrame, secret: pplink.Secret, schema: Schema) -> pplink.EncodedDataset:
    return pplink.encode_records(people, ids=[f"r{i}" for i in range(len(people))], schema=schema, secret=secret)


def _same_people(people: pd.DataFrame) -> Reference:
    """The attacker holds exactly the encoded people (100% overlap), shuffled."""
    order = np.random.default_rng(3).permutation(len(people))
    return Reference.from_frame(people.iloc[order].reset_index(drop=True), truth=[f"r{i}" for i in order])


# ---------------------------------------------------------------------------------------------
# frequency alignment


def test_align_by_frequency_by_hand():
    # ranks 0 and 3 are far from their neighbours on both sides; ranks 1 and 2 (20 vs 19) are not
    assert align_by_frequency(np.array([19, 50, 5, 20]), np.array([48, 6, 22, 18]), 94, 94) == [(1, 0), (2, 1)]
    # incompatible relative frequencies are not aligned
    assert align_by_frequency(np.array([90, 10]), np.array([10, 1]), 100, 1000) == []
    assert align_by_frequency(np.array([], dtype=int), np.array([3]), 0, 3) == []


def test_distinct_rows_counts():
    f = np.array([[1, 2], [3, 4], [1, 2]], dtype=np.uint64)
    uniq, inv, counts = distinct_rows(f)
    assert len(uniq) == 2 and sorted(counts.tolist()) == [1, 2]
    assert (uniq[inv] == f).all()


def _skewed_surnames(secret: pplink.Secret, salt: str = "") -> tuple[pplink.EncodedDataset, Reference, pd.DataFrame]:
    rng = np.random.default_rng(1)
    top = {"jansen": 120, "bakker": 70, "visser": 40, "smit": 22}
    names = [n for n, c in top.items() for _ in range(c)] + [f"naam{i}" for i in range(150)]
    frame = pd.DataFrame({
        "surname": names,
        "first_name": [f"voornaam{i % 37}" for i in range(len(names))],
        "birth_date": [f"{1940 + int(rng.integers(0, 60))}-0{1 + i % 9}-1{i % 10}" for i in range(len(names))],
    })
    schema = Schema(
        name="test", fields=(BloomField("surname", bits=256, k=15), BloomField("first_name", bits=256, k=15),
                             BloomField("birth_date", q=2, positional=True, padded=False, bits=256, k=12)),
        hardening=Hardening(salt=salt),
    )
    enc = pplink.encode_records(frame, ids=[f"r{i}" for i in range(len(frame))], schema=schema, secret=secret)
    ref = Reference.from_frame(frame, truth=[f"r{i}" for i in range(len(frame))])
    return enc, ref, frame


def test_frequency_attack_recovers_the_most_frequent_surnames(secret):
    enc, ref, frame = _skewed_surnames(secret)
    r = frequency_attack(enc, ref, fields=["surname"])
    v = r.values["surname"]
    top_share = frame["surname"].isin(["jansen", "bakker", "visser", "smit"]).mean()
    # every record with one of the four distinguishable top surnames gets its surname back, and
    # nothing else is claimed (the other surnames all occur once)
    assert v["share_correct"] == pytest.approx(top_share)
    assert v["n_recovered"] == v["n_correct"]
    assert v["distinct_decoded"] == 4
    # a surname alone does not single out a person here
    assert r.n_correct == 0


def test_salting_hides_surname_frequencies(secret):
    enc, ref, _ = _skewed_surnames(secret, salt="birth_date:year")
    r = frequency_attack(enc, ref, fields=["surname"])
    # (surname, birth year) pairs are nearly all unique: frequencies no longer tell them apart
    assert r.values["surname"]["share_correct"] < 0.05


def test_unbalance_recovers_the_original_bits():
    rng = np.random.default_rng(0)
    orig = (rng.random((400, 64)) < 0.3).astype(np.uint8)
    both = np.concatenate([orig, 1 - orig], axis=1)[:, rng.permutation(128)]
    out, pairs = unbalance(both)
    assert pairs == 64
    keys = {c.tobytes() for c in np.packbits(orig.T, axis=1)}
    assert sum(c.tobytes() in keys for c in np.packbits(out.T, axis=1)) >= 60


# ---------------------------------------------------------------------------------------------
# pattern mining


def test_pattern_attack_decodes_unhardened_filters(people, secret):
    enc = _encode(people, secret, _schema())
    r = pattern_attack(enc, _same_people(people))
    assert r.values["first_name"]["share_correct"] > 0.8
    assert r.reidentified is not None and r.reidentified > 0.5, r.to_dict()
    assert r.precision is not None and r.precision > 0.9


def test_pattern_attack_fails_on_diffused_filters(people, secret):
    enc = _encode(people, secret, _schema(diffusion=5))
    r = pattern_attack(enc, _same_people(people))
    assert r.reidentified is not None and r.reidentified <= 0.01, r.to_dict()


# ---------------------------------------------------------------------------------------------
# graph matching


def test_graph_attack_reidentifies_a_majority_when_populations_coincide(people, secret):
    enc = _encode(people, secret, _schema())
    r = graph_attack(enc, _same_people(people))
    assert r.reidentified is not None and r.reidentified > 0.6, r.to_dict()
    # 1:1: no reference person is claimed twice
    claimed = r.claims[r.claims >= 0]
    assert len(np.unique(claimed)) == len(claimed)


def test_graph_attack_fails_on_diffused_clks_even_with_known_pairs(people, secret):
    enc = _encode(people, secret, _schema(diffusion=5))
    r = graph_attack(enc, _same_people(people), settings=GraphSettings(known_pairs=30))
    assert r.attack == "graph+known"
    assert r.n_records == len(people) - 30  # the known records are not scored
    assert r.reidentified is not None and r.reidentified <= 0.02, r.to_dict()


# ---------------------------------------------------------------------------------------------
# turning values into persons


def test_identify_persons_needs_enough_information():
    ref = pd.DataFrame({"surname": ["smit"] * 10 + ["bakker"] * 10,
                        "first_name": [f"n{i % 10}" for i in range(20)],
                        "birth_date": [f"19{i:02d}-01-01" for i in range(20)]})
    dec = {
        "surname": np.array(["smit", "smit", None, "bakker"], dtype=object),
        "first_name": np.array(["n3", None, None, "wrong"], dtype=object),
        "birth_date": np.array([None, None, "1915-01-01", "1912-01-01"], dtype=object),
    }
    claim, _ = identify_persons(dec, ref)
    # 0: smit + n3 fits only row 3, but row 13 (bakker, n3) is just the surname's 0.7 nats behind:
    #    not enough margin (2 nats) to claim; 1: smit alone fits 10 people;
    # 2: a unique birth date -> row 15; 3: a wrong first name is tolerated, surname + birth date
    #    single out row 12
    assert claim.tolist() == [-1, -1, 15, 12]
    claim, _ = identify_persons(dec, ref, margin=0.5)
    assert claim.tolist() == [3, -1, 15, 12]
