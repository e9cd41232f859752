"""Red team: try to undo the protection, and fail.

The attacker here is written independently of pplink's LP code (``conftest.attack_tables``):
it reads only the published table(s), knows the public structure (hierarchies, which
cells of two tables are the same population) and the policy, and solves its own linear
programmes to bound every hidden cell. Then it tries differencing across releases.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from pplink.errors import DisclosureError
from pplink.disclosure import Ledger, load_policy, release
from pplink.disclosure.synthetic import synthetic_clients

P = 10  # protection level of the cbs-remote-access preset


def _check_protected(table, dims, intervals, truth, prot=P):
    """Every primary cell: the attacker's interval reaches prot above and min(prot, v) below."""
    n_checked = 0
    for _, row in table[table["status"] == "primary-suppressed"].iterrows():
        key = tuple(str(row[d]) for d in dims)
        lo, hi = intervals[key]
        v = truth.get(key, 0)
        assert hi >= v + prot - 1e-6, (key, v, lo, hi)
        assert lo <= v - min(prot, v) + 1e-6, (key, v, lo, hi)
        n_checked += 1
    return n_checked


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    df = synthetic_clients(3000, n_wijken=9, seed=21)
    rng = np.random.default_rng(5)
    ages = {
        p: rng.choice(["0-17", "18-26", "27-66", "67+"], p=[0.3, 0.15, 0.35, 0.2])
        for p in df["entity_id"].unique()
    }
    df["age_group"] = df["entity_id"].map(ages)
    return df


def test_margins_cannot_recover_hidden_cells(data, attacker, truth):
    dims = ["wijk", "income_class"]
    res = release(data, dims, "count", "cbs-remote-access")
    tv = truth(data, dims, {})
    upper = 2 * tv[("Totaal", "Totaal")]
    iv = attacker([res.table], [dims], [{}], upper=upper)[0]
    assert _check_protected(res.table, dims, iv, tv) > 0
    # sanity: the same attacker does recover cells when only the unsafe cells are hidden
    naive = res.table.copy()
    naive.loc[naive["status"] == "secondary-suppressed", "value"] = [
        tv[(r.wijk, r.income_class)] for r in naive[naive["status"] == "secondary-suppressed"].itertuples()
    ]
    iv2 = attacker([naive], [dims], [{}], upper=upper)[0]
    exact = [k for k, (lo, hi) in iv2.items() if hi - lo < 1e-6]
    assert exact, "attacker should break a pattern without complementary suppression"


def test_hierarchy_cannot_recover_hidden_cells(data, attacker, truth):
    dims = ["buurt", "income_class"]
    parent = {}
    for b, w, s in data[["buurt", "wijk", "stadsdeel"]].drop_duplicates().itertuples(index=False):
        parent[b] = w
        parent[w] = s
    for method in ("exact", "heuristic"):
        res = release(
            data,
            dims,
            "count",
            "cbs-remote-access",
            hierarchies={"buurt": ["wijk", "stadsdeel"]},
            method=method,
        )
        tv = truth(data, dims, {"buurt": parent})
        iv = attacker([res.table], [dims], [{"buurt": parent}], upper=2 * tv[("Totaal", "Totaal")])[0]
        assert _check_protected(res.table, dims, iv, tv) > 5


def test_rounded_table_cannot_recover_hidden_cells(data, attacker, truth):
    dims = ["buurt", "age_group"]
    parent = dict(data[["buurt", "wijk"]].drop_duplicates().itertuples(index=False))
    res = release(data, dims, "count", "neighbourhood", hierarchies={"buurt": ["wijk"]})
    tv = truth(data, dims, {"buurt": parent})

    def interval(r: float) -> tuple[float, float]:
        return max(0.0, r - 2), r + 2

    iv = attacker(
        [res.table], [dims], [{"buurt": parent}], upper=2 * tv[("Totaal", "Totaal")], interval=interval
    )[0]
    assert _check_protected(res.table, dims, iv, tv, prot=5) > 0


def test_linked_tables_sharing_a_dimension(data, attacker, truth, tmp_path):
    """Two tables on the same population share the wijk margin: attack both at once."""
    ledger = tmp_path / "ledger.sqlite"
    d1, d2 = ["wijk", "income_class"], ["wijk", "age_group"]
    r1 = release(data, d1, "count", "cbs-remote-access", ledger=ledger)
    r2 = release(data, d2, "count", "cbs-remote-access", ledger=ledger)
    assert r2.report.ledger["linked_cells"] > 0
    wijken = sorted(set(data["wijk"])) + ["Totaal"]
    ties = [(0, (w, "Totaal"), 1, (w, "Totaal")) for w in wijken]
    t1, t2 = truth(data, d1, {}), truth(data, d2, {})
    upper = 2 * t1[("Totaal", "Totaal")]
    iv1, iv2 = attacker([r1.table, r2.table], [d1, d2], [{}, {}], upper=upper, ties=ties)
    assert _check_protected(r1.table, d1, iv1, t1) + _check_protected(r2.table, d2, iv2, t2) > 0


def _small_linked_population(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    pid = 0
    for w in ["A", "B", "C", "D"]:
        for inc in ["laag", "midden", "hoog"]:
            for _ in range(int(rng.choice([2, 3, 5, 12, 20, 30]))):
                rows.append((f"p{pid}", f"h{pid}", w, inc, rng.choice(["jong", "oud", "mid"])))
                pid += 1
    return pd.DataFrame(rows, columns=["entity_id", "household_id", "wijk", "income_class", "age_group"])


def test_linked_tables_are_checked_jointly(attacker, truth, tmp_path):
    """Two tables protected one by one leak through their shared wijk totals; with the ledger they do not."""
    df = _small_linked_population(0)
    d1, d2 = ["wijk", "income_class"], ["wijk", "age_group"]
    ties = [(0, (w, "Totaal"), 1, (w, "Totaal")) for w in ["A", "B", "C", "D", "Totaal"]]
    t1, t2 = truth(df, d1, {}), truth(df, d2, {})
    # without a ledger each table passes its own audit, but together they do not
    r1 = release(df, d1, "count", "cbs-remote-access")
    solo = release(df, d2, "count", "cbs-remote-access")
    assert r1.report.passed and solo.report.passed
    iv_bad = attacker([r1.table, solo.table], [d1, d2], [{}, {}], upper=2 * len(df), ties=ties)[0]
    with pytest.raises(AssertionError):
        _check_protected(r1.table, d1, iv_bad, t1)
    # with the ledger the second table is protected jointly with the first
    ledger = tmp_path / "l.sqlite"
    r1 = release(df, d1, "count", "cbs-remote-access", ledger=ledger)
    r2 = release(df, d2, "count", "cbs-remote-access", ledger=ledger)
    assert r2.report.ledger["linked_releases"] == [1]
    iv1, iv2 = attacker([r1.table, r2.table], [d1, d2], [{}, {}], upper=2 * len(df), ties=ties)
    assert _check_protected(r1.table, d1, iv1, t1) > 0
    _check_protected(r2.table, d2, iv2, t2)


def test_differencing_two_releases_is_refused(data, tmp_path):
    ledger = tmp_path / "l.sqlite"
    dims = ["wijk", "domain"]
    release(data, dims, "count", "cbs-remote-access", ledger=ledger)
    one = data["entity_id"].iloc[100]
    with pytest.raises(DisclosureError, match="differencing"):
        release(data[data["entity_id"] != one], dims, "count", "cbs-remote-access", ledger=ledger)
    # a slightly changed filter: drop 3 persons of one service
    some = data[data["service"] == "vervoer"]["entity_id"].unique()[:3]
    with pytest.raises(DisclosureError, match="differencing"):
        release(data[~data["entity_id"].isin(some)], dims, "count", "cbs-remote-access", ledger=ledger)
    # the ledger still holds just the first release
    with Ledger(ledger) as led:
        assert len(led.releases()) == 1


def test_overlapping_geography_is_refused(data, tmp_path):
    ledger = tmp_path / "l.sqlite"
    release(data, ["wijk"], "count", "cbs-remote-access", ledger=ledger)
    # a custom area = wijk, except that two persons' buurt is assigned to another area
    moved = data["entity_id"].unique()[:2]
    area = data["wijk"].where(~data["entity_id"].isin(moved), "WK015309")
    with pytest.raises(DisclosureError, match="differencing"):
        release(data.assign(gebied=area), ["gebied"], "count", "cbs-remote-access", ledger=ledger)


def test_differencing_with_suppress_policy_isolates_nobody(data, tmp_path):
    ledger = tmp_path / "l.sqlite"
    dims = ["wijk", "income_class"]
    pol = load_policy("cbs-remote-access", overrides={"ledger": {"on_conflict": "suppress"}})
    r1 = release(data, dims, "count", pol, ledger=ledger)
    gone = data["entity_id"].unique()[[7, 8]]
    d2 = data[~data["entity_id"].isin(gone)]
    r2 = release(d2, dims, "count", pol, ledger=ledger)
    assert r2.report.rule_counts.get("differencing", 0) > 0

    def unit_sets(df):
        out = {}
        for key, g in df.groupby(dims):
            out[tuple(key)] = set(g["entity_id"])
        for w, g in df.groupby("wijk"):
            out[(w, "Totaal")] = set(g["entity_id"])
        for c, g in df.groupby("income_class"):
            out[("Totaal", c)] = set(g["entity_id"])
        out[("Totaal", "Totaal")] = set(df["entity_id"])
        return out

    s1, s2 = unit_sets(data), unit_sets(d2)
    pub1 = [tuple(r) for r in r1.table.loc[r1.table["status"] == "safe", dims].itertuples(index=False)]
    pub2 = [tuple(r) for r in r2.table.loc[r2.table["status"] == "safe", dims].itertuples(index=False)]
    for a, b in itertools.product(pub2, pub1):
        sa, sb = s2.get(a, set()), s1.get(b, set())
        if sa & sb:
            diff = len(sa ^ sb)
            assert diff == 0 or diff >= 10, (a, b, diff)


def test_repeating_a_release_is_allowed_and_consistent(data, tmp_path):
    ledger = tmp_path / "l.sqlite"
    dims = ["wijk", "domain"]
    r1 = release(data, dims, "count", "cbs-remote-access", ledger=ledger)
    r2 = release(data.sample(frac=1.0, random_state=3), dims, "count", "cbs-remote-access", ledger=ledger)
    pd.testing.assert_frame_equal(r1.public_table(), r2.public_table())
