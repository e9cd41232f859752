from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pplink
from pplink.schema import Hardening
from tests.conftest import dice

SCHEMA = pplink.default_schema()
RECORD = {
    "first_name": "johanna",
    "particle": "van den",
    "surname": "berg",
    "birth_date": "1980-05-17",
    "sex": "V",
    "postcode": "7511AB",
    "house_number": "12",
    "house_number_addition": "A",
    "bsn": "123456782",
}


def enc(records, secret, schema=SCHEMA):
    return pplink.encode_records(records, ids=[str(i) for i in range(len(records))], schema=schema, secret=secret)


def hardened(**kw):
    return dataclasses.replace(SCHEMA, hardening=Hardening(**kw))


names = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=names, last=names)
def test_same_input_same_key_same_encoding(secret, first, last):
    rec = {"first_name": first, "surname": last}
    a, b = enc([rec], secret), enc([rec], secret)
    assert np.array_equal(a.clk, b.clk)
    for f in a.filters:
        assert np.array_equal(a.filters[f], b.filters[f])


def test_different_key_gives_unrelated_encoding(secret, other_secret):
    a, b = enc([RECORD], secret), enc([RECORD], other_secret)
    # with unrelated keys, two ~35%-dense filters agree on about as many bits as random ones
    assert dice(a.clk[0], b.clk[0]) < 0.6
    assert dice(a.clk[0], a.clk[0]) == 1.0
    assert not np.array_equal(a.tokens["bsn"], b.tokens["bsn"])


def test_similar_values_have_high_dice_and_dissimilar_low(secret):
    typo = dict(RECORD, first_name="johana")
    other = dict(RECORD, first_name="pieter", surname="jansen", birth_date="1955-01-02", postcode="1011AA", house_number="3")
    ds = enc([RECORD, typo, other], secret)
    assert dice(ds.clk[0], ds.clk[1]) > 0.9
    assert dice(ds.clk[0], ds.clk[2]) < 0.6
    assert dice(ds.filters["first_name"][0], ds.filters["first_name"][1]) > 0.75


def test_missing_is_distinct_from_empty(secret):
    ds = enc([{"particle": None, "surname": "berg"}, {"particle": "", "surname": "berg"}], secret)
    assert ds.filter_present["particle"].tolist() == [False, True]
    assert not ds.filters["particle"][0].any()
    assert ds.filters["particle"][1].any()  # "known none" is encoded, so two such records agree


def test_tokens_equal_only_for_equal_values(secret):
    ds = enc(
        [
            RECORD,
            dict(RECORD, house_number_addition=None),
            dict(RECORD, house_number_addition=""),
            dict(RECORD, bsn=None),
        ],
        secret,
    )
    tok, present = ds.tokens["address"], ds.token_present["address"]
    assert present.all()
    assert not np.array_equal(tok[0], tok[1])
    assert np.array_equal(tok[1], tok[2])  # optional field: missing counts as empty
    assert ds.token_present["bsn"].tolist() == [True, True, True, False]


def test_household_token_in_metadata(secret):
    ds = enc([RECORD], secret)
    assert ds.metadata.household_token == "address"
    assert ds.metadata.key_fingerprint == secret.fingerprint(project="default")
    assert ds.metadata.schema_fingerprint == SCHEMA.fingerprint


def test_project_separates_tokens(secret):
    other_project = dataclasses.replace(SCHEMA, project="other-project")
    a, b = enc([RECORD], secret), enc([RECORD], secret, other_project)
    assert not np.array_equal(a.tokens["bsn"], b.tokens["bsn"])
    assert a.metadata.key_fingerprint != b.metadata.key_fingerprint


def test_balancing_sets_exactly_half_the_bits(secret):
    ds = enc([RECORD, dict(RECORD, first_name="x")], secret, hardened(balance=True))
    assert ds.clk.shape[1] == 2 * SCHEMA.clk_bits // 64
    counts = np.unpackbits(ds.clk.view(np.uint8), axis=1).sum(axis=1)
    assert counts.tolist() == [SCHEMA.clk_bits, SCHEMA.clk_bits]


def test_xor_fold_halves_length(secret):
    ds = enc([RECORD], secret, hardened(xor_fold=True))
    assert ds.clk.shape[1] == SCHEMA.clk_bits // 128
    assert ds.metadata.clk_bits == SCHEMA.clk_bits // 2


def test_diffusion_keeps_similarity_order(secret):
    schema = hardened(diffusion=5)
    typo = dict(RECORD, first_name="johana")
    other = dict(RECORD, first_name="pieter", surname="jansen", birth_date="1955-01-02", postcode="1011AA")
    ds = enc([RECORD, typo, other], secret, schema)
    plain = enc([RECORD], secret)
    assert not np.array_equal(ds.clk[0], plain.clk[0])
    assert dice(ds.clk[0], ds.clk[1]) > dice(ds.clk[0], ds.clk[2]) + 0.1


def test_salting_separates_different_salt_values(secret):
    schema = hardened(salt="birth_date:year")
    same_year = dict(RECORD, birth_date="1980-01-01")
    other_year = dict(RECORD, birth_date="1981-05-17")
    ds = enc([RECORD, same_year, other_year], secret, schema)
    f = ds.filters["surname"]
    assert np.array_equal(f[0], f[1])  # same surname, same salt
    assert dice(f[0], f[2]) < 0.6  # same surname, other salt -> unrelated bits


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.fixed_dictionaries({k: st.one_of(st.none(), names) for k in RECORD}), min_size=1, max_size=5))
def test_no_crash_on_arbitrary_values(secret, records):
    ds = enc(records, secret)
    assert ds.n_records == len(records)
    assert ds.clk.shape == (len(records), SCHEMA.clk_bits // 64)


def test_empty_input(secret):
    ds = pplink.encode_records(pd.DataFrame(columns=["surname"]), ids=[], secret=secret)
    assert ds.n_records == 0 and ds.clk.shape == (0, SCHEMA.clk_bits // 64)


def test_no_plaintext_in_encoded_frame(secret):
    df = enc([RECORD], secret).to_pandas()
    blob = repr(df.to_dict())
    for value in ("johanna", "berg", "7511AB", "123456782"):
        assert value not in blob


def test_record_ids_and_rows_must_align(secret):
    with pytest.raises(ValueError):
        pplink.Encoder(SCHEMA, secret).encode_frame(pd.DataFrame({"surname": ["a"]}), ["1", "2"])


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(names, min_size=1, max_size=12),
    q=st.integers(1, 3),
    positional=st.booleans(),
    padded=st.booleans(),
    salted=st.booleans(),
)
def test_vectorised_tokenisation_equals_reference(values, q, positional, padded, salted):
    from pplink.encode.bloom import TokenHasher, _token_ids, _token_ids_python
    from pplink.schema import BloomField

    spec = BloomField("f", q=q, positional=positional, padded=padded)
    arr = np.asarray(values, dtype=object)
    salts = [str(len(v) % 3) for v in values] if salted else None
    h1, h2 = TokenHasher(b"k" * 32, k=3, bits=64), TokenHasher(b"k" * 32, k=3, bits=64)
    off1, ids1 = _token_ids(arr, np.asarray(salts, dtype=object) if salted else None, spec, h1)
    off2, ids2 = _token_ids_python(arr, salts or [""] * len(values), spec, h2)
    assert off1.tolist() == off2.tolist()
    # ids are assigned in different orders; compare the hashed positions instead
    assert np.array_equal(h1.table[ids1], h2.table[ids2])


def test_rows_are_written_in_keyed_order_not_input_order(secret):
    mapping = pplink.Mapping.from_dict({
        "version": 1, "source": {"name": "s", "record_id": "id"},
        "fields": {"surname": {"column": "naam", "parser": "surname"}}})
    raw = pd.DataFrame({"id": [f"r{i:03d}" for i in range(200)], "naam": sorted(f"naam{i}" for i in range(200))})
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = pplink.encode(raw, mapping=mapping, secret=secret).encoded
        again = pplink.encode(raw.sample(frac=1, random_state=3), mapping=mapping, secret=secret).encoded
    assert first.record_ids.tolist() != raw["id"].tolist()  # input order is not kept
    assert first.record_ids.tolist() == again.record_ids.tolist()  # deterministic, whatever the input order
    assert np.array_equal(first.clk, again.clk)


def test_typos_between_mapping_and_schema_are_flagged(secret):
    from pplink.encode import UnusedFieldWarning

    mapping = pplink.Mapping.from_dict({
        "version": 1, "source": {"name": "s", "record_id": "id"},
        "fields": {"birthdate": {"column": "geb", "parser": "date"}, "surname": {"column": "n", "parser": "surname"}}})
    raw = pd.DataFrame({"id": ["1"], "geb": ["1980-01-01"], "n": ["Smit"]})
    with pytest.warns(UnusedFieldWarning, match="birthdate"):
        pplink.encode(raw, mapping=mapping, secret=secret)
    salted = hardened(salt="birth_date:year")
    with pytest.raises(pplink.ConfigError, match="salts with field 'birth_date'"):
        pplink.encode(raw, mapping=mapping, secret=secret, schema=salted)


def test_encoder_and_hashers_refuse_pickling(secret):
    import pickle

    enc = pplink.Encoder(SCHEMA, secret)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(enc)
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(next(iter(enc._field_hashers.values())))
