"""The release ledger: storage, hashing, population fingerprints, conflicts."""

from __future__ import annotations

import sqlite3

import numpy as np
import pandas as pd
import pytest

from pplink.errors import DisclosureError
from pplink.disclosure import Ledger, load_policy, release
from pplink.disclosure.synthetic import synthetic_clients


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return synthetic_clients(1500, n_wijken=6, seed=31)


def test_record_and_inspect(df, tmp_path):
    path = tmp_path / "ledger.sqlite"
    res = release(df, ["wijk", "domain"], "count", "cbs-remote-access", ledger=path, description="jaar 2025")
    assert res.report.ledger["release_id"] == 1
    with Ledger(path) as led:
        rels = led.releases()
        assert len(rels) == 1
        r = rels[0]
        assert r["description"] == "jaar 2025"
        assert r["policy_fingerprint"] == load_policy("cbs-remote-access").fingerprint
        assert r["definition"]["by"] == ["wijk", "domain"]
        cells = led.cells(1)
        assert len(cells) == len(res.table)
        hidden = [c for c in cells if c["status"].endswith("suppressed")]
        assert hidden and all(c["published"] is None for c in hidden)


def test_ledger_stores_no_plain_ids(df, tmp_path):
    path = tmp_path / "ledger.sqlite"
    release(df, ["wijk"], "count", "cbs-remote-access", ledger=path)
    raw = path.read_bytes()
    assert df["entity_id"].iloc[0].encode() not in raw
    assert df["household_id"].iloc[0].encode() not in raw


def test_hashes_are_salted_per_ledger(tmp_path):
    ids = np.array(["P1", "P2"])
    with Ledger(tmp_path / "a.sqlite") as a, Ledger(tmp_path / "b.sqlite") as b:
        assert not np.array_equal(a.hash_ids(ids), b.hash_ids(ids))
    with Ledger(tmp_path / "a.sqlite") as a2, Ledger(tmp_path / "a.sqlite") as a3:
        assert np.array_equal(a2.hash_ids(ids), a3.hash_ids(ids))


def test_population_fingerprint(df, tmp_path):
    path = tmp_path / "l.sqlite"
    release(df, ["wijk"], "count", "cbs-remote-access", ledger=path)
    release(df, ["domain"], "count", "cbs-remote-access", ledger=path)
    with Ledger(path) as led:
        a, b = led.releases()
    assert a["population_fingerprint"] == b["population_fingerprint"]


def test_different_family_not_compared(df, tmp_path):
    path = tmp_path / "l.sqlite"
    release(df, ["wijk"], "count", "cbs-remote-access", ledger=path)
    one = df["entity_id"].iloc[0]
    # a household count is another family: not differenced against the person count
    res = release(
        df[df["entity_id"] != one], ["wijk"], "count", "cbs-remote-access", unit="household", ledger=path
    )
    assert res.report.ledger["releases_compared"] == 0


def test_conflict_explanation_names_cells(df, tmp_path):
    path = tmp_path / "l.sqlite"
    release(df, ["wijk"], "count", "cbs-remote-access", ledger=path)
    with pytest.raises(DisclosureError) as exc:
        release(df.iloc[3:], ["wijk"], "count", "cbs-remote-access", ledger=path)
    msg = str(exc.value)
    assert "release 1" in msg and "Totaal" in msg and "on_conflict" in msg


def test_household_difference_check(tmp_path):
    # 12 persons in 2 households leave: >= 10 persons, but < 10 households -> conflict
    rows = [(f"p{i}", f"h{i}", "A") for i in range(100)]
    rows += [(f"q{i}", f"big{i % 2}", "A") for i in range(12)]
    df = pd.DataFrame(rows, columns=["entity_id", "household_id", "wijk"])
    path = tmp_path / "l.sqlite"
    release(df, ["wijk"], "count", "cbs-remote-access", ledger=path)
    with pytest.raises(DisclosureError, match="households"):
        release(df.iloc[:100], ["wijk"], "count", "cbs-remote-access", ledger=path)


def test_schema_is_plain_sqlite(df, tmp_path):
    path = tmp_path / "l.sqlite"
    release(df, ["wijk"], "count", "cbs-remote-access", ledger=path)
    con = sqlite3.connect(path)
    names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    con.close()
    assert {"meta", "releases", "cells", "links"} <= names
