"""Table construction (distinct units, margins, hierarchies, relations) and primary rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pplink.errors import ConfigError, InputError
from pplink.disclosure.policy import load_policy
from pplink.disclosure.rules import apply_primary_rules
from pplink.disclosure.table import build_table


def cell(t, *labels):
    shape = t.shape
    idx = [d.labels.index(lab) for d, lab in zip(t.dims, labels)]
    return int(np.ravel_multi_index(idx, shape))


def test_distinct_persons_and_households():
    # person a has two services; a and b share a household
    df = pd.DataFrame(
        {
            "entity_id": ["a", "a", "b", "c"],
            "household_id": ["h1", "h1", "h1", "h2"],
            "wijk": ["W1", "W1", "W1", "W2"],
            "service": ["wmo", "jeugd", "wmo", "wmo"],
        }
    )
    t = build_table(df, ["wijk", "service"], "count")
    assert t.value[cell(t, "Totaal", "Totaal")] == 3  # a counted once
    assert t.households[cell(t, "Totaal", "Totaal")] == 2
    assert t.value[cell(t, "W1", "wmo")] == 2
    assert t.households[cell(t, "W1", "wmo")] == 1
    # service relation is not additive (a in two services), wijk relation is
    assert not t.rel_additive[t.rel_dim == 1].all()
    assert t.rel_additive[t.rel_dim == 0].all()


def test_household_unit():
    df = pd.DataFrame({"entity_id": list("abc"), "household_id": ["h", "h", "g"], "w": ["x", "x", "x"]})
    t = build_table(df, ["w"], "count", unit="household")
    assert t.value.tolist() == [2.0, 2.0]


def test_missing_household_is_own_household():
    df = pd.DataFrame({"entity_id": list("ab"), "household_id": [None, None], "w": ["x", "x"]})
    t = build_table(df, ["w"], "count")
    assert t.households.tolist() == [2, 2]


def test_hierarchy_from_columns_and_mapping():
    df = pd.DataFrame(
        {
            "entity_id": list("abcd"),
            "household_id": list("abcd"),
            "buurt": ["B1", "B2", "B3", "B3"],
            "wijk": ["W1", "W1", "W2", "W2"],
        }
    )
    t1 = build_table(df, ["buurt"], "count", hierarchies={"buurt": ["wijk"]})
    t2 = build_table(df, ["buurt"], "count", hierarchies={"buurt": {"B1": "W1", "B2": "W1", "B3": "W2"}})
    assert t1.dims[0].labels == t2.dims[0].labels == ["Totaal", "W1", "B1", "B2", "W2", "B3"]
    assert t1.value.tolist() == [4, 2, 1, 1, 2, 2]
    assert t1.dims[0].levels == ["total", "wijk", "buurt", "buurt", "wijk", "buurt"]
    assert t1.A_eq.shape[0] == 3  # total, W1, W2
    assert np.abs(t1.A_eq @ t1.value).max() == 0


def test_category_without_rows_gives_zero_cell():
    df = pd.DataFrame({"entity_id": ["a"], "household_id": ["h"], "w": ["x"]})
    t = build_table(df, ["w"], "count", categories={"w": ["y"]})
    assert t.dims[0].labels == ["Totaal", "x", "y"] and t.value.tolist() == [1, 1, 0]


def test_sum_and_mean_and_top_contributions():
    df = pd.DataFrame(
        {
            "entity_id": ["a", "b", "c", "c"],
            "household_id": ["h", "h", "g", "g"],
            "w": ["x", "x", "x", "x"],
            "amount": [10.0, 5.0, 1.0, 2.0],
        }
    )
    t = build_table(df, ["w"], "sum:amount")
    assert t.base.tolist() == [18.0, 18.0]
    assert t.top[0].tolist() == [15.0, 3.0]  # household contributions
    tm = build_table(df, ["w"], "mean:amount")
    assert tm.value[0] == pytest.approx(18.0 / 3)
    tp = build_table(df, ["w"], "sum:amount", contributor="person")
    assert tp.top[0].tolist() == [10.0, 5.0]


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"by": ["nope"]}, InputError, "missing column"),
        ({"measure": "median:amount"}, ConfigError, "measure"),
        ({"unit": "family"}, ConfigError, "unit"),
        ({"by": []}, ConfigError, "at least one"),
        ({"hierarchies": {"other": ["w"]}}, ConfigError, "not in by"),
        ({"hierarchies": {"w": {"x": "x"}}}, ConfigError, "both a category and a parent|cycle"),
    ],
)
def test_table_errors(kwargs, exc, match):
    df = pd.DataFrame({"entity_id": ["a"], "household_id": ["h"], "w": ["x"], "amount": [1.0]})
    args = {"by": ["w"], "measure": "count", **kwargs}
    by, measure = args.pop("by"), args.pop("measure")
    with pytest.raises(exc, match=match):
        build_table(df, by, measure, **args)


def test_nan_in_dimension_rejected():
    df = pd.DataFrame({"entity_id": ["a", "b"], "household_id": ["h", "g"], "w": ["x", None]})
    with pytest.raises(InputError, match="missing values"):
        build_table(df, ["w"], "count")


def test_inconsistent_hierarchy_column_rejected():
    df = pd.DataFrame(
        {"entity_id": ["a", "b"], "household_id": ["h", "g"], "b": ["B1", "B1"], "w": ["W1", "W2"]}
    )
    with pytest.raises(ConfigError, match="more than one"):
        build_table(df, ["b"], "count", hierarchies={"b": ["w"]})


# ----------------------------------------------------------------------------- rules
def _people(n, wijk, hh_size=1, prefix=""):
    return pd.DataFrame(
        {
            "entity_id": [f"{prefix}{wijk}p{i}" for i in range(n)],
            "household_id": [f"{prefix}{wijk}h{i // hh_size}" for i in range(n)],
            "wijk": [wijk] * n,
        }
    )


def test_frequency_rule_persons_and_households():
    df = pd.concat([_people(12, "A"), _people(4, "B"), _people(12, "C", hh_size=3)])
    t = build_table(df, ["wijk"], "count")
    r = apply_primary_rules(t, load_policy("cbs-remote-access"))
    assert r.primary.tolist() == [False, False, True, True]  # C: 12 persons, 4 households
    assert r.reasons[cell(t, "B")] == ["frequency"]
    assert r.upl[cell(t, "B")] == 10 and r.lpl[cell(t, "B")] == 4  # lower capped at value


def test_zero_cells_safe_unless_policy_says_otherwise():
    df = _people(12, "A")
    t = build_table(df, ["wijk"], "count", categories={"wijk": ["Z"]})
    assert not apply_primary_rules(t, load_policy("cbs-remote-access")).primary.any()
    strict_zero = load_policy("cbs-remote-access", overrides={"frequency": {"zero_is_safe": False}})
    r = apply_primary_rules(t, strict_zero)
    assert r.primary[cell(t, "Z")] and r.reasons[cell(t, "Z")] == ["zero"]


def test_dominance_and_p_percent():
    # 12 households; one contributes 900 of 1010
    n = 12
    df = pd.DataFrame(
        {
            "entity_id": [f"p{i}" for i in range(n)],
            "household_id": [f"h{i}" for i in range(n)],
            "w": ["x"] * n,
            "amount": [900.0, 50.0] + [6.0] * (n - 2),
        }
    )
    t = build_table(df, ["w"], "sum:amount", top_k=2)
    pol = load_policy("strict")  # (1,50), (2,70), p%=15
    r = apply_primary_rules(t, pol)
    reasons = r.reasons[1]
    assert "dominance(1,50)" in reasons and "dominance(2,70)" in reasons and "p%(15)" in reasons
    total = 1010.0
    assert r.upl[1] == pytest.approx(
        max(100 / 50 * 900 - total, 100 / 70 * 950 - total, 0.15 * 900 - (total - 950))
    )


def test_dominance_not_triggered_for_even_contributions():
    n = 20
    df = pd.DataFrame(
        {
            "entity_id": [f"p{i}" for i in range(n)],
            "household_id": [f"h{i}" for i in range(n)],
            "w": ["x"] * n,
            "amount": [100.0] * n,
        }
    )
    t = build_table(df, ["w"], "sum:amount")
    assert not apply_primary_rules(t, load_policy("strict")).primary.any()


def test_group_disclosure():
    # wijk A: 19 of 20 clients use wmo -> group disclosure on the (A, wmo) cell
    df = pd.DataFrame(
        {
            "entity_id": [f"p{i}" for i in range(40)],
            "household_id": [f"h{i}" for i in range(40)],
            "wijk": ["A"] * 20 + ["B"] * 20,
            "service": ["wmo"] * 19 + ["jeugd"] + ["wmo"] * 10 + ["jeugd"] * 10,
        }
    )
    t = build_table(df, ["wijk", "service"], "count")
    pol = load_policy(
        "cbs-remote-access", overrides={"group_disclosure": {"sensitive": ["service"], "max_share": 0.9}}
    )
    r = apply_primary_rules(t, pol)
    assert "group-disclosure" in r.reasons[cell(t, "A", "wmo")]
    assert "group-disclosure" not in r.reasons[cell(t, "B", "wmo")]


def test_overlap_difference():
    # 30 clients in wijk A, 28 of them use wmo, some use two services -> (A, Totaal) - (A, wmo) = 2
    ids = [f"p{i}" for i in range(30)]
    rows = [(p, p, "A", "wmo") for p in ids[:28]] + [(p, p, "A", "jeugd") for p in ids[20:]]
    df = pd.DataFrame(rows, columns=["entity_id", "household_id", "wijk", "service"])
    t = build_table(df, ["wijk", "service"], "count")
    r = apply_primary_rules(t, load_policy("cbs-remote-access"))
    assert "overlap-difference" in r.reasons[cell(t, "A", "wmo")]
