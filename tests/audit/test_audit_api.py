"""pplink.audit.audit: inputs, missing fields, empty inputs, scoring and the report."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import pplink
from pplink.audit import ATTACKS, audit
from pplink.audit.reference import Reference
from pplink.audit.report import score_claims, score_values, true_reference_row
from pplink.errors import ConfigError


@pytest.fixture(scope="module")
def small(secret_module):
    frame = pd.DataFrame({
        "first_name": ["anna", "piet", "jan", "els", "anna", "kees"] * 5,
        "surname": [f"naam{i}" for i in range(30)],
        "birth_date": [f"19{50 + i}-0{1 + i % 9}-1{i % 10}" for i in range(30)],
    })
    ids = [f"r{i}" for i in range(30)]
    return pplink.encode_records(frame, ids=ids, secret=secret_module), frame, ids


@pytest.fixture(scope="module")
def secret_module():
    return pplink.Secret.from_text("pplink-secret-v1:" + "Zq8Rr3kVw1pXe9LmN0aB7cD5fG2hJ4sT6uY8iO1eW3r")


def test_score_claims_by_hand():
    truth = np.array(["a", None, "c"], dtype=object)  # reference rows -> encoded ids
    r = score_claims("x", np.array([0, 1, 2, -1]), np.array(["a", "b", "x", "d"], dtype=object), truth)
    assert (r.n_records, r.n_claims, r.n_correct) == (4, 3, 1)
    assert r.reidentified == 0.25 and r.precision == pytest.approx(1 / 3)
    unknown = score_claims("x", np.array([0, -1]), np.array(["a", "b"], dtype=object), None)
    assert unknown.n_correct is None and unknown.reidentified is None and unknown.n_claims == 1


def test_score_values_by_hand():
    true_row = true_reference_row(np.array(["a", "b", "c"], dtype=object), np.array(["b", "a"], dtype=object))
    assert true_row.tolist() == [1, 0, -1]
    v = score_values(np.array(["x", "q", "z"], dtype=object), np.array([True, True, False]), true_row,
                     np.array(["y", "x"], dtype=object))
    assert v == {"n_present": 2, "n_recovered": 2, "n_correct": 1, "share_correct": 0.5}


def test_audit_runs_all_attacks_and_reports(small):
    enc, frame, ids = small
    report = audit(enc, frame, truth=ids)
    assert [r.attack for r in report.results] == list(ATTACKS)
    assert report.overlap == 1.0 and report.n_records == 30 and report.n_reference == 30
    d = json.loads(report.to_json())
    assert {a["attack"] for a in d["attacks"]} == set(ATTACKS)
    assert all(0.0 <= a["reidentified"] <= 1.0 for a in d["attacks"])
    text = report.format()
    assert "graph" in text and "re-identified" in text
    assert list(report.to_frame().columns[:3]) == ["attack", "records", "claims"]


def test_reference_with_missing_fields_and_truth_column(small):
    enc, frame, ids = small
    ref = frame[["surname"]].assign(rid=ids)  # the attacker only has surnames
    report = audit(enc, ref, truth="rid", attacks=["frequency", "pattern", "graph"])
    for r in report.results:
        assert r.reidentified is not None
    freq = report.results[0]
    assert set(freq.values) == {"surname"}


def test_without_truth_only_claims_are_reported(small):
    enc, frame, _ = small
    report = audit(enc, frame, attacks=["frequency", "graph"])
    assert report.overlap is None
    assert all(r.n_correct is None and r.reidentified is None for r in report.results)
    assert "unverified" in report.format()


@pytest.mark.parametrize("which", ["reference", "encoded"])
def test_empty_inputs_do_not_crash(small, which):
    enc, frame, ids = small
    if which == "reference":
        report = audit(enc, frame.iloc[:0], truth=[])
        assert all(r.n_claims == 0 for r in report.results)
    else:
        empty = enc.take(np.zeros(0, dtype=np.int64))
        report = audit(empty, frame, truth=ids)
        assert all(r.n_records == 0 and r.reidentified == 0.0 for r in report.results)


def test_reference_without_any_schema_field(small):
    enc, _, _ = small
    report = audit(enc, pd.DataFrame({"favourite_colour": ["blue"] * 3}))
    assert all(r.n_claims == 0 for r in report.results)


def test_unknown_attack_is_refused(small):
    enc, frame, _ = small
    with pytest.raises(ConfigError, match="unknown attack"):
        audit(enc, frame, attacks=["magic"])


def test_reference_cleaning():
    ref = Reference.from_frame(pd.DataFrame({"surname": [" smit ", "", None], "particle": ["", "van", None]}))
    assert ref.fields["surname"].tolist() == ["smit", None, None]
    # an empty particle is a value ("no particle"), a missing one is not
    assert ref.fields["particle"].tolist() == ["", "van", None]
