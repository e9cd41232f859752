"""End-to-end ``release``: statuses, hidden values, margins, report, measures, stacking, CLI logic."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from pplink.errors import DisclosureError, InputError
from pplink.disclosure import (
    ReleaseResult,
    load_policy,
    release,
    release_stacking,
    run_release_cli,
    stacking_table,
)
from pplink.disclosure.synthetic import SERVICES, synthetic_clients
from pplink.disclosure.table import build_table


@pytest.fixture(scope="module")
def clients() -> pd.DataFrame:
    return synthetic_clients(2500, n_wijken=9, seed=11)


def test_count_release_basic(clients):
    res = release(
        clients, ["wijk", "income_class"], "count", "cbs-remote-access", hierarchies={"wijk": ["stadsdeel"]}
    )
    t = res.table
    assert isinstance(res, ReleaseResult) and res.report.passed
    assert set(t["status"]) <= {"safe", "primary-suppressed", "secondary-suppressed"}
    hidden = t["status"].str.endswith("suppressed")
    assert hidden.any() and t.loc[hidden, "value"].isna().all()
    assert t.loc[~hidden, "value"].notna().all()
    # margins are in the table
    assert ((t["wijk"] == "Totaal") & (t["income_class"] == "Totaal")).sum() == 1
    assert set(t["wijk_level"]) == {"total", "stadsdeel", "wijk"}
    # every published count rests on >= 10 persons and >= 10 households
    tb = build_table(clients, ["wijk", "income_class"], "count", hierarchies={"wijk": ["stadsdeel"]})
    pub = ~hidden.to_numpy()
    ok = (tb.persons >= 10) & (tb.households >= 10) | (tb.persons == 0)
    assert ok[pub].all()
    assert res.report.policy_fingerprint == load_policy("cbs-remote-access").fingerprint
    # primary cells have a rule, secondary ones do not
    assert (t.loc[t["status"] == "primary-suppressed", "rule"] != "").all()
    assert (t.loc[t["status"] == "secondary-suppressed", "rule"] == "").all()


def test_public_table_hides_reasons(clients):
    res = release(clients, ["wijk", "domain"], "count", "cbs-remote-access")
    pub = res.public_table()
    assert "rule" not in pub.columns
    assert set(pub["status"]) <= {"safe", "suppressed"}


def test_report_json_and_markdown(clients, tmp_path):
    res = release(clients, ["wijk", "domain"], "count", "strict", description="test")
    d = json.loads(res.report.to_json())
    assert d["policy"]["fingerprint"] == load_policy("strict").fingerprint
    assert d["audit"]["passed"] is True
    il = d["information_loss"]
    assert il["hidden_cells"] == il["primary_cells"] + il["secondary_cells"]
    assert 0 <= il["hidden_cells_share"] <= 1
    for c in d["cells"]:
        assert c["status"].endswith("suppressed")
        assert "value" not in c  # true values of hidden cells never appear
        assert c["interval"][0] <= c["interval"][1]
    md = res.report.to_markdown()
    assert "Disclosure report" in md and load_policy("strict").fingerprint in md
    res.report.write(tmp_path / "r.json", tmp_path / "r.md")
    assert json.loads((tmp_path / "r.json").read_text())["format"] == "pplink-disclosure-report/1"


def test_sum_and_mean(clients):
    rs = release(clients, ["wijk", "domain"], "sum:amount", "cbs-remote-access")
    rm = release(clients, ["wijk", "domain"], "mean:amount", "cbs-remote-access")
    assert rs.report.passed and rm.report.passed
    # same suppression pattern (means are protected through sums)
    assert (rs.table["status"] == rm.table["status"]).all()
    pub = rs.table["status"] == "safe"
    tb = build_table(clients, ["wijk", "domain"], "sum:amount")
    assert np.allclose(rs.table.loc[pub, "value"].astype(float), tb.value[pub.to_numpy()])


def test_negative_amounts_refused(clients):
    df = clients.copy()
    df.loc[df.index[0], "amount"] = -5.0
    with pytest.raises(DisclosureError, match="negative"):
        release(df, ["wijk"], "sum:amount", "cbs-remote-access")
    ok = release(
        df,
        ["wijk"],
        "sum:amount",
        load_policy("cbs-remote-access", overrides={"magnitude": {"allow_negative": True}}),
    )
    assert ok.report.passed


def test_household_unit(clients):
    res = release(clients, ["wijk"], "count", "cbs-remote-access", unit="household")
    tb = build_table(clients, ["wijk"], "count", unit="household")
    pub = (res.table["status"] == "safe").to_numpy()
    assert np.array_equal(res.table.loc[pub, "value"].astype(int).to_numpy(), tb.households[pub])


def test_exact_and_heuristic_both_pass(clients):
    for m in ("exact", "heuristic"):
        res = release(
            clients,
            ["buurt", "income_class"],
            "count",
            "cbs-remote-access",
            hierarchies={"buurt": ["wijk"]},
            method=m,
        )
        assert res.report.passed and res.report.suppression["method"] == m


def test_method_none_with_rounding_can_fail_audit():
    # a lone small cell next to exact-ish big ones: rounding alone does not hide it
    rows = [(f"a{i}", f"a{i}", "A", "x") for i in range(3)] + [
        (f"b{i}", f"b{i}", "A", "y") for i in range(200)
    ]
    rows += [(f"c{i}", f"c{i}", "B", "x") for i in range(200)] + [
        (f"d{i}", f"d{i}", "B", "y") for i in range(200)
    ]
    df = pd.DataFrame(rows, columns=["entity_id", "household_id", "wijk", "service"])
    pol = {"rounding": {"base": 3}, "secondary": {"method": "none", "protection_level": 10}}
    with pytest.raises(DisclosureError, match="audit failed"):
        release(df, ["wijk", "service"], "count", pol)


def test_zone_guard_refuses_encodings(clients):
    df = clients.assign(clk=b"\x00" * 8)
    with pytest.raises(InputError, match="encoding"):
        release(df, ["wijk"], "count")


def test_stacking(clients):
    st = stacking_table(clients, "wijk", "service", service_map=SERVICES)
    assert set(st["n_services"]) <= {"1", "2", "3+"}
    # every person of a household gets the household's class
    assert st.groupby("household_id")["n_services"].nunique().max() == 1
    res = release_stacking(clients, "wijk", "service", "cbs-remote-access", service_map=SERVICES)
    assert res.report.passed
    tot = res.table[(res.table["wijk"] == "Totaal") & (res.table["n_services"] == "Totaal")]["value"].iloc[0]
    assert tot == clients["household_id"].nunique()
    per_person = release_stacking(clients, "wijk", "service", "cbs-remote-access", unit="person")
    assert per_person.report.definition["unit"] == "person"


def test_run_release_cli_csv_and_parquet(clients, tmp_path):
    csv_in = tmp_path / "linked.csv"
    clients.to_csv(csv_in, index=False)
    out = tmp_path / "out"
    out.mkdir()
    res = run_release_cli(
        csv_in, ["buurt", "domain"], "count", "cbs-remote-access", out, hierarchy=["buurt=wijk"]
    )
    files = sorted(os.listdir(out))
    assert files == ["table.csv", "table.report.json", "table.report.md"]
    pub = pd.read_csv(out / "table.csv", dtype=str, keep_default_na=False)
    assert set(pub["status"]) <= {"safe", "suppressed"} and "rule" not in pub.columns
    assert (pub.loc[pub["status"] == "suppressed", "value"] == "").all()
    assert res.report.passed
    pq = tmp_path / "linked.parquet"
    clients.to_parquet(pq)
    res2 = run_release_cli(pq, ["wijk"], "mean:amount", "cbs-remote-access", tmp_path / "m.csv", detail=True)
    assert (tmp_path / "m.report.json").exists() and res2.report.passed
    detail = pd.read_csv(tmp_path / "m.csv")
    assert "rule" in detail.columns


def test_refused_release_writes_nothing(clients, tmp_path):
    csv_in = tmp_path / "linked.csv"
    clients.assign(clk="x").to_csv(csv_in, index=False)
    with pytest.raises(InputError):
        run_release_cli(csv_in, ["wijk"], "count", "cbs-remote-access", tmp_path / "t.csv")
    assert sorted(os.listdir(tmp_path)) == ["linked.csv"]


def test_cli_missing_output_dir(clients, tmp_path):
    csv_in = tmp_path / "linked.csv"
    clients.to_csv(csv_in, index=False)
    with pytest.raises(InputError, match="does not exist"):
        run_release_cli(csv_in, ["wijk"], "count", "cbs-remote-access", tmp_path / "nope" / "t.csv")
