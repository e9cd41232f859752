"""Property tests: random small tables (up to 6 x 5 with totals) always meet the policy."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pplink.disclosure import load_policy, release
from pplink.disclosure.table import build_table

VALUES = [0, 1, 2, 3, 4, 6, 9, 10, 11, 14, 20, 35, 60]


@st.composite
def tables(draw):
    r = draw(st.integers(1, 6))
    c = draw(st.integers(1, 5))
    counts = np.array(draw(st.lists(st.sampled_from(VALUES), min_size=r * c, max_size=r * c))).reshape(r, c)
    pairs = np.array(draw(st.lists(st.booleans(), min_size=r * c, max_size=r * c))).reshape(r, c)
    rows = []
    pid = 0
    for i in range(r):
        for j in range(c):
            for k in range(int(counts[i, j])):
                hh = f"h{i}_{j}_{k // 2}" if pairs[i, j] else f"h{i}_{j}_{k}"
                rows.append((f"p{pid}", hh, f"W{i}", f"S{j}"))
                pid += 1
    if not rows:
        rows.append(("p0", "h0", "W0", "S0"))
    return pd.DataFrame(rows, columns=["entity_id", "household_id", "wijk", "service"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(
    df=tables(),
    method=st.sampled_from(["exact", "heuristic"]),
    preset=st.sampled_from(["cbs-remote-access", "neighbourhood"]),
)
def test_random_tables_meet_policy(df, method, preset, attacker, truth):
    attack_tables, true_counts = attacker, truth
    pol = load_policy(preset)
    dims = ["wijk", "service"]
    res = release(df, dims, "count", pol, method=method)
    t = res.table
    assert res.report.passed
    hidden = t["status"].str.endswith("suppressed").to_numpy()
    assert t.loc[hidden, "value"].isna().all() and t.loc[~hidden, "value"].notna().all()
    tb = build_table(df, dims, "count")
    f = pol.frequency
    unsafe = (tb.persons > 0) & ((tb.persons < f.min_persons) | (tb.households < f.min_households))
    # exactly the unsafe cells are primary; none is published
    assert np.array_equal(unsafe, (t["status"] == "primary-suppressed").to_numpy())
    assert not (unsafe & ~hidden).any()
    # an independent attacker cannot narrow any unsafe cell below the protection level
    prot = pol.count_protection_level
    tv = true_counts(df, dims, {})
    base = pol.rounding.base
    interval = (lambda v: (max(0.0, v - base // 2), v + base - base // 2 - 1)) if base else None
    upper = 2 * tv[("Totaal", "Totaal")]  # the attacker's a priori bound (policy upper_bound_factor)
    iv = attack_tables([t], [dims], [{}], upper=upper, interval=interval)[0]
    for _, row in t[t["status"] == "primary-suppressed"].iterrows():
        key = (row["wijk"], row["service"])
        lo, hi = iv[key]
        v = tv.get(key, 0)
        assert hi >= v + min(prot, upper - v) - 1e-6  # protection is capped by the a priori bound
        assert lo <= v - min(prot, v) + 1e-6
    if base:
        pub = t.loc[~hidden, "value"].astype(int)
        assert (pub % base == 0).all()


@st.composite
def overlapping(draw):
    """buurt -> wijk hierarchy; persons may use one or two services (overlapping categories)."""
    n_b = draw(st.integers(2, 4))
    n_s = draw(st.integers(2, 3))
    sizes = draw(st.lists(st.sampled_from([1, 3, 8, 12, 25]), min_size=n_b, max_size=n_b))
    rows = []
    pid = 0
    for b, size in enumerate(sizes):
        for _ in range(size):
            k = draw(st.integers(1, min(2, n_s)))
            first = draw(st.integers(0, n_s - 1))
            for s in range(k):
                rows.append((f"p{pid}", f"h{pid}", f"B{b}", f"W{b // 2}", f"S{(first + s) % n_s}"))
            pid += 1
    return pd.DataFrame(rows, columns=["entity_id", "household_id", "buurt", "wijk", "service"])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(df=overlapping(), method=st.sampled_from(["exact", "heuristic"]))
def test_random_hierarchical_overlapping_tables(df, method, attacker, truth):
    attack_tables, true_counts = attacker, truth
    pol = load_policy("cbs-remote-access")
    dims = ["buurt", "service"]
    res = release(df, dims, "count", pol, hierarchies={"buurt": ["wijk"]}, method=method)
    t = res.table
    assert res.report.passed
    parent = dict(df[["buurt", "wijk"]].drop_duplicates().itertuples(index=False))
    tv = true_counts(df, dims, {"buurt": parent})
    upper = 2 * tv[("Totaal", "Totaal")]
    iv = attack_tables([t], [dims], [{"buurt": parent}], upper=upper, overlapping_dims=["service"])[0]
    prot = pol.count_protection_level
    for _, row in t[t["status"] == "primary-suppressed"].iterrows():
        key = (row["buurt"], row["service"])
        lo, hi = iv[key]
        v = tv.get(key, 0)
        assert hi >= v + min(prot, upper - v) - 1e-6
        assert lo <= v - min(prot, v) + 1e-6
    tb = build_table(df, dims, "count", hierarchies={"buurt": ["wijk"]})
    pub = ~t["status"].str.endswith("suppressed").to_numpy()
    assert ((tb.persons[pub] == 0) | (tb.persons[pub] >= 10)).all()
