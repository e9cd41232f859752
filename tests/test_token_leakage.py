"""What keyed HMAC tokens reveal, and what per-project keys protect (issue #7).

These tests pin down the leakage documented in docs/security-model.md ("What keyed tokens
reveal"), so that a change that makes it worse, or a protection that silently stops working,
fails here:

* equality: the same value under the same secret and project gives the same token, also
  across data holders (linkage needs this);
* frequency: tokens partition the records exactly as the plaintext values do, so the token
  frequency distribution *is* the value frequency distribution. An attacker with a reference
  population aligns frequent tokens with frequent values; the address token gives away every
  household's size, the name + birth date token gives away twins;
* separation: another project name (same secret) or another secret gives disjoint tokens,
  different fingerprints, and files that pplink refuses to link;
* no keyless dictionary attack: tokens are not plain or empty-key hashes of the values;
* fingerprints reveal no key.

All data are synthetic (``pplink.datasets.generate_municipality``).
"""

from __future__ import annotations

import base64
import collections
import copy
import dataclasses
import hashlib
import hmac
import tomllib
import warnings

import numpy as np
import pandas as pd
import pytest

import pplink
from pplink.datasets import generate_municipality, mapping_path
from pplink.encode.tokens import TOKEN_BYTES, hmac_tokens
from pplink.errors import IncompatibleEncodingsError
from pplink.mapping import Mapping, standardize_frame
from pplink.schema import TokenSpec
from tests.conftest import dice

SCHEMA = pplink.default_schema()
TOKEN_NAMES = [t.name for t in SCHEMA.tokens]
SPECS = {t.name: t for t in SCHEMA.tokens}
PROJECT_A, PROJECT_B = "wmo-jeugd-enschede-2026", "participatie-enschede-2026"


# -- fixtures: a synthetic municipality's population register, standardised ------------------
@pytest.fixture(scope="module")
def municipality():
    return generate_municipality(4000, seed=2026)


def _standardize(raw: pd.DataFrame, source: str, record_id: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Standardise a raw frame with the shipped mapping of ``source`` (ids from ``record_id``)."""
    spec = tomllib.loads(mapping_path(source).read_text(encoding="utf-8"))
    spec.pop("attributes", None)
    spec["source"] = dict(spec["source"], record_id=record_id)
    std = standardize_frame(raw, Mapping.from_dict(spec))
    return std.fields.reset_index(drop=True), np.asarray(std.record_ids, dtype=object)


@pytest.fixture(scope="module")
def register(municipality):
    """The whole population as a BRP-like register: standardised logical fields and ids."""
    raw = municipality.population.astype(str).replace({"<NA>": ""})
    fields, ids = _standardize(raw, "wmo", "person_id")
    assert len(ids) == len(raw) and fields.notna().all().all()  # a clean register: nothing lost
    return fields, ids


def encode(fields, ids, secret, *, project="default", schema=SCHEMA, source="register"):
    schema = dataclasses.replace(schema, project=project)
    return pplink.encode_records(fields, ids=list(ids), schema=schema, secret=secret, source=source)


@pytest.fixture(scope="module")
def encoded_a(register, secret):
    return encode(*register, secret, project=PROJECT_A)


def token_list(ds: pplink.EncodedDataset, name: str) -> list[bytes | None]:
    return [bytes(row) if ok else None for row, ok in zip(ds.tokens[name], ds.token_present[name], strict=True)]


def plaintext_keys(fields: pd.DataFrame, spec: TokenSpec) -> list[tuple[str, ...] | None]:
    """What a token hashes, per record: required fields (None if any is missing) + optional ones."""
    out: list[tuple[str, ...] | None] = []
    for row in fields.reindex(columns=list(spec.all_fields)).astype(object).itertuples(index=False):
        values = [None if pd.isna(v) else v for v in row]
        required = values[: len(spec.fields)]
        out.append(None if any(v is None for v in required) else tuple(v or "" for v in values))
    return out


def partition(keys) -> set[frozenset[int]]:
    """The records grouped by key (missing keys left out)."""
    groups: dict[object, set[int]] = collections.defaultdict(set)
    for i, k in enumerate(keys):
        if k is not None:
            groups[k].add(i)
    return {frozenset(g) for g in groups.values()}


# -- equality ------------------------------------------------------------------------------
def test_same_value_secret_and_project_give_the_same_token(secret):
    record = {"bsn": "123456782", "first_name": "jan", "surname": "berg", "particle": "van den",
              "birth_date": "1980-05-17", "postcode": "7511AB", "house_number": "12"}
    # two data holders, each with its own copy of the secret and its own Encoder; the second
    # also knows the sex, which is in no token
    holder_1 = encode([record], ["wmo-1"], pplink.Secret.from_text(secret.to_text()), project=PROJECT_A)
    holder_2 = encode([dict(record, sex="m")], ["jeugd-9"], pplink.Secret.from_text(secret.to_text()),
                      project=PROJECT_A)
    for name in TOKEN_NAMES:
        assert holder_1.token_present[name][0]
        assert token_list(holder_1, name) == token_list(holder_2, name), name
    other_value = encode([dict(record, bsn="111222333")], ["x"], secret, project=PROJECT_A)
    assert token_list(other_value, "bsn") != token_list(holder_1, "bsn")


@pytest.mark.parametrize("name", TOKEN_NAMES)
def test_tokens_match_across_sources_exactly_where_the_values_do(municipality, register, encoded_a, secret, name):
    """Two data holders encode separately: equal tokens <=> equal standardised values.

    The Wmo register (with its typos and missing values) against the population register.
    """
    wmo_fields, wmo_ids = _standardize(municipality.sources["wmo"], "wmo", "client_id")
    wmo = encode(wmo_fields, wmo_ids, secret, project=PROJECT_A, source="wmo")
    spec = SPECS[name]

    def pairs(keys_a, keys_b):
        index = collections.defaultdict(list)
        for j, k in enumerate(keys_b):
            if k is not None:
                index[k].append(j)
        return {(i, j) for i, k in enumerate(keys_a) if k is not None for j in index.get(k, ())}

    value_pairs = pairs(plaintext_keys(wmo_fields, spec), plaintext_keys(register[0], spec))
    token_pairs = pairs(token_list(wmo, name), token_list(encoded_a, name))
    assert len(value_pairs) > 100
    assert token_pairs == value_pairs


# -- frequency -----------------------------------------------------------------------------
@pytest.mark.parametrize("name", TOKEN_NAMES)
def test_tokens_partition_records_exactly_like_the_values(register, encoded_a, name):
    """So the token frequency distribution is the value frequency distribution."""
    fields, _ = register
    keys, toks = plaintext_keys(fields, SPECS[name]), token_list(encoded_a, name)
    assert partition(toks) == partition(keys)
    token_counts = sorted(collections.Counter(t for t in toks if t is not None).values())
    value_counts = sorted(collections.Counter(k for k in keys if k is not None).values())
    assert token_counts == value_counts


def test_address_token_reveals_every_household_size(municipality, encoded_a):
    """The household token's frequencies are the household sizes of the reference population."""
    counts = collections.Counter(t for t in token_list(encoded_a, "address") if t is not None)
    assert collections.Counter(counts.values()) == collections.Counter(municipality.households["size"])
    # rank 1: the most frequent address token is the address of a largest household
    top_token, top_count = counts.most_common(1)[0]
    members = [i for i, t in enumerate(token_list(encoded_a, "address")) if t == top_token]
    households = municipality.population["household_id"].to_numpy()[members]
    assert len(set(households)) == 1
    assert top_count == municipality.households["size"].max() > 1


def test_name_dob_token_reveals_twins(municipality, encoded_a):
    """A surname + birth date token shared by two people of one register flags twins."""
    toks = token_list(encoded_a, "name_dob")
    counts = collections.Counter(toks)
    shared = np.array([counts[t] > 1 for t in toks])
    is_twin = municipality.population["is_twin"].to_numpy(dtype=bool)
    assert is_twin.sum() > 0
    assert np.array_equal(shared, is_twin)


def test_bsn_token_reveals_equality_only(register, encoded_a, secret):
    """BSNs are unique: every BSN token occurs once, so frequencies say nothing beyond equality."""
    toks = token_list(encoded_a, "bsn")
    assert set(collections.Counter(toks).values()) == {1}
    # ... but equality does show: a person registered twice is visible as a repeated token
    fields, ids = register
    twice = pd.concat([fields, fields.iloc[[0]]], ignore_index=True)
    ds = encode(twice, list(ids) + ["again"], secret, project=PROJECT_A)
    assert collections.Counter(token_list(ds, "bsn")).most_common(1)[0][1] == 2


def test_frequency_attack_on_a_low_entropy_token(register, secret):
    """A token over the surname alone: rank alignment with a reference population re-identifies it.

    The attacker holds the encoded file (no key) and public surname counts for the same
    population. Every token whose count is unique among the reference counts is mapped to the
    surname with that count, and the mapping is right, starting with rank 1.
    """
    fields, ids = register
    d = copy.deepcopy(SCHEMA.to_dict())
    d["tokens"]["surname"] = {"fields": ["surname"]}
    ds = encode(fields, ids, secret, project=PROJECT_A, schema=pplink.Schema.from_dict(d))
    toks = token_list(ds, "surname")
    token_counts = collections.Counter(toks)
    reference = collections.Counter(fields["surname"])  # the attacker's public name statistics

    rank1_token = token_counts.most_common(1)[0][0]
    rank1_value = reference.most_common(1)[0][0]
    assert token_counts.most_common(2)[0][1] > token_counts.most_common(2)[1][1]  # a unique rank 1
    assert {fields["surname"][i] for i, t in enumerate(toks) if t == rank1_token} == {rank1_value}

    by_count = collections.defaultdict(list)
    for value, n in reference.items():
        by_count[n].append(value)
    truth = {t: fields["surname"][toks.index(t)] for t in token_counts}
    guesses = {t: by_count[n][0] for t, n in token_counts.items() if len(by_count[n]) == 1}
    assert guesses == {t: truth[t] for t in guesses}
    assert len(guesses) >= 3 and sum(token_counts[t] for t in guesses) >= 60  # persons re-identified
    # the 15 most frequent tokens: each narrowed down to at most 3 surnames, the right one among them
    for t, n in token_counts.most_common(15):
        assert truth[t] in by_count[n] and len(by_count[n]) <= 3


# -- separation between projects and secrets ---------------------------------------------------
@pytest.fixture(scope="module")
def encoded_b(register, secret):
    return encode(*register, secret, project=PROJECT_B)


@pytest.mark.parametrize("name", TOKEN_NAMES)
def test_same_secret_other_project_never_shares_a_token(encoded_a, encoded_b, name):
    a = {t for t in token_list(encoded_a, name) if t is not None}
    b = {t for t in token_list(encoded_b, name) if t is not None}
    assert len(a) > 1000 and len(b) == len(a)  # same data, same equality structure ...
    assert a.isdisjoint(b)  # ... but no token in common: the files cannot be joined


def test_no_token_of_one_project_appears_anywhere_in_another(encoded_a, encoded_b):
    """Membership in project B cannot be read off project A's tokens, of any type."""
    every_a = {t for name in TOKEN_NAMES for t in token_list(encoded_a, name) if t is not None}
    every_b = {t for name in TOKEN_NAMES for t in token_list(encoded_b, name) if t is not None}
    assert every_a.isdisjoint(every_b)


def test_filters_do_not_join_across_projects(encoded_a, encoded_b):
    """Exact joins on per-field filters fail, and the CLK of a person in project A is no more
    similar to that person's CLK in project B than to anyone else's."""
    for name, arr in encoded_a.filters.items():
        same = (arr == encoded_b.filters[name]).all(axis=1) & encoded_a.filter_present[name]
        assert not same.any(), name
    n = 400
    same_person = np.mean([dice(encoded_a.clk[i], encoded_b.clk[i]) for i in range(n)])
    other_person = np.mean([dice(encoded_a.clk[i], encoded_b.clk[i + 1]) for i in range(n)])
    assert abs(same_person - other_person) < 0.02


def test_files_of_two_projects_carry_different_fingerprints_and_are_refused(register, secret, tmp_path):
    fields, ids = register
    paths = {}
    for project, source in [(PROJECT_A, "wmo"), (PROJECT_B, "participatie")]:
        ds = encode(fields.iloc[:200], ids[:200], secret, project=project, source=source)
        paths[project] = tmp_path / f"{source}.parquet"
        pplink.write_encoded(ds, paths[project])
    ma, mb = (pplink.read_metadata(paths[p]) for p in (PROJECT_A, PROJECT_B))
    assert (ma.schema["project"], mb.schema["project"]) == (PROJECT_A, PROJECT_B)
    assert ma.key_fingerprint == secret.fingerprint(project=PROJECT_A)
    assert ma.key_fingerprint != mb.key_fingerprint
    assert ma.schema_fingerprint != mb.schema_fingerprint
    with pytest.raises(IncompatibleEncodingsError, match=r"different (schemas|projects)") as info:
        pplink.link(paths[PROJECT_A], paths[PROJECT_B])
    assert "'wmo'" in str(info.value) and "'participatie'" in str(info.value)


def test_other_secret_same_project_gives_disjoint_tokens_and_is_refused(register, encoded_a, other_secret):
    fields, ids = register
    other = encode(fields, ids, other_secret, project=PROJECT_A)
    for name in TOKEN_NAMES:
        a = {t for t in token_list(encoded_a, name) if t is not None}
        assert a.isdisjoint(t for t in token_list(other, name) if t is not None), name
    assert encoded_a.metadata.schema_fingerprint == other.metadata.schema_fingerprint
    with pytest.raises(IncompatibleEncodingsError, match="different secrets"):
        pplink.check_compatible(encoded_a, other)


# -- no dictionary attack without the key ------------------------------------------------------
def _message(values: tuple[str, ...]) -> bytes:
    return "".join(f"{len(v)}:{v}" for v in values).encode("utf-8")


def test_tokens_are_not_keyless_hashes(register, encoded_a, secret):
    """A dictionary attack with any keyless construction finds nothing; with the key, everything."""
    fields, _ = register
    material = base64.urlsafe_b64decode(secret.to_text().split(":", 1)[1] + "==")
    for name in TOKEN_NAMES:
        keys = plaintext_keys(fields, SPECS[name])
        toks = token_list(encoded_a, name)
        observed = {t for t in toks if t is not None}
        guesses = {k for k in keys if k is not None}  # the attacker's dictionary: every true value
        keyless = set()
        for k in guesses:
            for data in (_message(k), "".join(k).encode(), "|".join(k).encode()):
                keyless.add(hashlib.sha256(data).digest()[:TOKEN_BYTES])
                keyless.add(hmac.digest(b"", data, "sha256")[:TOKEN_BYTES])
                keyless.add(hmac.digest(PROJECT_A.encode(), data, "sha256")[:TOKEN_BYTES])
                keyless.add(hmac.digest(material, data, "sha256")[:TOKEN_BYTES])  # the secret, not derived
        assert observed.isdisjoint(keyless), name
        # with the derived key (which only data holders can compute), the attack recovers every token
        key = secret.derive(f"token/{name}", project=PROJECT_A)
        keyed = {hmac.digest(key, _message(k), "sha256")[:TOKEN_BYTES]: k for k in guesses}
        assert observed == set(keyed)
        assert all(keyed[t] == k for t, k in zip(toks, keys, strict=True) if t is not None)


def test_token_of_a_guess_needs_the_key(secret):
    """The 10^9 possible BSNs are a small dictionary: only the key stands in the way."""
    guess = [["123456782"]]
    right = hmac_tokens(secret.derive("token/bsn", project=PROJECT_A), guess, required=1)
    assert right != hmac_tokens(secret.derive("token/bsn", project=PROJECT_B), guess, required=1)
    assert right != hmac_tokens(secret.derive("token/name_dob", project=PROJECT_A), guess, required=1)
    assert right != hmac_tokens(b"", guess, required=1)
    assert right[0] != hashlib.sha256(b"9:123456782").digest()[:TOKEN_BYTES]


# -- fingerprints ------------------------------------------------------------------------------
def _purposes(schema: pplink.Schema) -> list[str]:
    out = [f"token/{t.name}" for t in schema.tokens]
    out += [f"bloom/clk/{f.name}" for f in schema.clk_fields]
    out += [f"bloom/field/{f.name}" for f in schema.filter_fields]
    out += ["harden/clk"] + [f"harden/field/{f.name}" for f in schema.filter_fields]
    return out + ["row-order"]


def test_fingerprint_is_no_key_and_depends_on_the_project(register, secret, tmp_path):
    fields, ids = register
    path = tmp_path / "wmo.parquet"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pplink.write_encoded(encode(fields.iloc[:50], ids[:50], secret, project=PROJECT_A), path)
    fp = pplink.read_metadata(path).key_fingerprint
    assert len(fp) == 32 and fp == secret.fingerprint(project=PROJECT_A)
    # another project, the default project or another secret: another fingerprint
    assert fp != secret.fingerprint(project=PROJECT_B) != secret.fingerprint(project="default")
    assert fp != pplink.Secret.generate().fingerprint(project=PROJECT_A)

    material = base64.urlsafe_b64decode(secret.to_text().split(":", 1)[1] + "==")
    keys = [secret.derive(p, project=project) for p in _purposes(SCHEMA) for project in (PROJECT_A, "default")]
    blob = path.read_bytes()
    for key in [material, *keys]:
        assert fp not in (key.hex(), key[:16].hex())
        # neither the secret nor any derived key is anywhere in the file, in any usual form
        for form in (key, key.hex().encode(), base64.b64encode(key), base64.urlsafe_b64encode(key).rstrip(b"=")):
            assert form not in blob
    assert secret.to_text().encode() not in blob
