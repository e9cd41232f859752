"""Rounding (nearest, controlled) and cell-key perturbation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from pplink.disclosure.api import release
from pplink.disclosure.cellkey import PTable, cell_keys, perturb_counts, record_keys
from pplink.disclosure.rounding import round_controlled, round_nearest, rounding_interval
from pplink.disclosure.synthetic import synthetic_clients


@pytest.mark.parametrize("base", [3, 5, 10])
def test_nearest_interval_contains_truth(base):
    v = np.arange(0, 200)
    r = round_nearest(v, base)
    assert np.all(r % base == 0)
    lo, hi = rounding_interval(r, base, "nearest")
    assert np.all((lo <= v) & (v <= hi))
    assert np.all(hi - lo <= base - 1)


def test_controlled_rounding_keeps_totals():
    rng = np.random.default_rng(1)
    inner = rng.integers(0, 30, size=(4, 5))
    full = np.zeros((5, 6), dtype=int)
    full[1:, 1:] = inner
    full[0, 1:] = inner.sum(0)
    full[1:, 0] = inner.sum(1)
    full[0, 0] = inner.sum()
    idx = np.arange(30).reshape(5, 6)
    rows = []
    for i in range(5):
        r = np.zeros(30)
        r[idx[i, 0]] = 1
        r[idx[i, 1:]] = -1
        rows.append(r)
    for j in range(6):
        r = np.zeros(30)
        r[idx[0, j]] = 1
        r[idx[1:, j]] = -1
        rows.append(r)
    A = sp.csr_matrix(np.array(rows))
    rr = round_controlled(full.ravel(), 5, A)
    assert rr is not None
    assert np.all(rr % 5 == 0) and np.abs(A @ rr).max() == 0
    assert np.all(np.abs(rr - full.ravel()) < 5)
    assert np.all(rr[full.ravel() % 5 == 0] == full.ravel()[full.ravel() % 5 == 0])


def test_ptable_properties():
    pt = PTable(max_noise=3, variance=1.5)
    for v in range(0, 12):
        d = pt.distribution(v)
        assert sum(d.values()) == pytest.approx(1.0)
        assert min(d) >= -v and max(d) <= 3
        assert pt.mean(v) == pytest.approx(0.0, abs=1e-9)
    assert pt.variance(20) == pytest.approx(1.5)
    assert pt.distribution(0) == {0: 1.0}


def test_same_units_same_key_and_noise():
    ids = np.array([f"P{i}" for i in range(50)])
    rk = record_keys(ids, "zaad")
    m1 = sp.csr_matrix(np.eye(50, dtype=np.int64)[:20].sum(0, keepdims=True))
    perm = np.random.default_rng(0).permutation(50)
    # the same 20 units, listed in another order and embedded in another id universe
    ids2 = ids[perm]
    rk2 = record_keys(ids2, "zaad")
    cols2 = np.flatnonzero(np.isin(ids2, ids[:20]))
    m2 = sp.csr_matrix((np.ones(20, dtype=np.int64), (np.zeros(20, int), cols2)), shape=(1, 50))
    assert cell_keys(m1, rk)[0] == cell_keys(m2, rk2)[0]
    # another seed gives other keys
    assert cell_keys(m1, record_keys(ids, "ander"))[0] != cell_keys(m1, rk)[0]
    pt = PTable(2, 1.0)
    a = perturb_counts(np.array([20]), m1, ids, "zaad", pt)
    b = perturb_counts(np.array([20]), m2, ids2, "zaad", pt)
    assert a[0] == b[0] and abs(a[0] - 20) <= 2


def test_neighbourhood_release_rounds_everything_published():
    df = synthetic_clients(1500, n_wijken=6, seed=7)
    res = release(df, ["buurt", "domain"], "count", "neighbourhood", hierarchies={"buurt": ["wijk"]})
    pub = res.table[res.table["status"] == "rounded"]
    assert len(pub) > 0 and (pub["value"].astype(int) % 5 == 0).all()
    assert res.report.passed and res.report.publication["base"] == 5


def test_controlled_rounding_used_when_nothing_hidden():
    # big cells only: nothing unsafe -> controlled rounding keeps totals additive
    rows = []
    for w in range(3):
        for s in range(3):
            for i in range(20 + 7 * w + 3 * s):
                rows.append((f"p{w}{s}{i}", f"h{w}{s}{i}", f"W{w}", f"S{s}"))
    df = pd.DataFrame(rows, columns=["entity_id", "household_id", "wijk", "service"])
    pol = {
        "policy": {"name": "ctl"},
        "frequency": {"min_persons": 5, "min_households": 5},
        "rounding": {"base": 5, "method": "controlled"},
    }
    res = release(df, ["wijk", "service"], "count", pol)
    assert res.report.publication["rounding"] == "controlled"
    t = res.table
    tot = t[(t.wijk == "Totaal") & (t.service == "Totaal")]["value"].iloc[0]
    inner = t[(t.wijk != "Totaal") & (t.service != "Totaal")]["value"].sum()
    assert tot == inner


def test_controlled_rounding_falls_back_with_hidden_cells():
    df = synthetic_clients(800, n_wijken=5, seed=2)
    pol = {"policy": {"name": "ctl"}, "rounding": {"base": 5, "method": "controlled"}}
    res = release(df, ["buurt", "service"], "count", pol)
    assert res.report.status_counts.get("primary-suppressed", 0) > 0
    assert res.report.publication["rounding"] == "nearest"
    assert any("controlled rounding" in n for n in res.report.notes)


def test_cell_key_release_is_deterministic_and_noisy():
    df = synthetic_clients(2000, n_wijken=5, seed=3)
    pol = {
        "policy": {"name": "ck"},
        "cell_key": {"enabled": True, "seed": "test-zaad", "max_noise": 2, "variance": 1.0},
    }
    r1 = release(df, ["wijk", "domain"], "count", pol)
    r2 = release(df.sample(frac=1.0, random_state=1), ["wijk", "domain"], "count", pol)
    pd.testing.assert_series_equal(r1.table["value"], r2.table["value"])
    pub = r1.table["status"] == "perturbed"
    assert pub.any() and r1.report.passed
    from pplink.disclosure.table import build_table

    t = build_table(df, ["wijk", "domain"], "count")
    truth = pd.Series(t.value)[pub.to_numpy()]
    diff = r1.table.loc[pub, "value"].astype(float).to_numpy() - truth.to_numpy()
    assert np.abs(diff).max() <= 2 and np.abs(diff).sum() > 0


def test_cell_key_needs_seed():
    from pplink.errors import DisclosureError

    df = synthetic_clients(300, n_wijken=3, seed=3)
    with pytest.raises(DisclosureError, match="seed"):
        release(df, ["wijk"], "count", {"cell_key": {"enabled": True}})
