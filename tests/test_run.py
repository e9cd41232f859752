"""The one-command pipeline on the example municipality (synthetic data)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pplink.cli import main
from pplink.run import run_pipeline, write_demo

ALLOWED_STATUS = {"safe", "suppressed", "rounded", "perturbed"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    pipeline = write_demo(out, n_persons=6000, seed=5)
    return out, run_pipeline(pipeline)


def test_every_role_wrote_its_outputs(demo):
    out, result = demo
    for name in ("wmo", "participatie", "jeugd", "commercial"):
        assert result.encoded[name].exists() and result.rejects[name].exists()
        c = result.counts[name]
        assert c["rows"] == c["encoded"] + c["rejected"]
    assert result.clusters.exists() and result.linked.exists()
    assert set(result.tables) == {"clients_per_wijk_per_domain", "domain_by_income_class", "stapeling_per_wijk"}
    assert not result.refused


def test_linked_table_holds_no_identifiers(demo):
    _, result = demo
    linked = pd.read_parquet(result.linked)
    assert set(linked.columns) <= {"service", "start_year", "wijk_code", "buurt_code", "domain", "income_class",
                                   "education_level", "preferred_channel", "entity_id", "household_id"}
    sources = pd.read_csv(result.output / "sources" / "wmo.csv", dtype=str)
    blob = linked.astype(str).to_csv()
    for name in sources["geslachtsnaam"].dropna().unique()[:50]:
        assert f",{name}," not in blob


def test_released_tables_match_the_truth_within_the_policy(demo):
    out, result = demo
    truth = pd.read_csv(out / "ground-truth" / "truth.csv", dtype=str)
    frames = []
    for domain in ("wmo", "participatie", "jeugd"):
        src = pd.read_csv(out / "sources" / f"{domain}.csv", dtype=str, sep=";" if domain == "participatie" else ",",
                          encoding="utf-8-sig")
        id_col, wijk_col = {"wmo": ("client_id", "wijk_code"), "participatie": ("dossier", "wijk"),
                            "jeugd": ("dossiernummer", "wijk_code")}[domain]
        frames.append(pd.DataFrame({"record_id": src[id_col], "wijk_code": src[wijk_col], "domain": domain}))
    records = pd.concat(frames).merge(truth[["record_id", "person_id"]], on="record_id")
    expected = records.groupby(["wijk_code", "domain"]).person_id.nunique()
    table = pd.read_csv(result.tables["clients_per_wijk_per_domain"], dtype={"value": float})
    inner = table[(table.wijk_code_level == "wijk_code") & (table.domain_level == "domain")]
    assert set(table.status) <= ALLOWED_STATUS
    shown = inner[inner.value.notna()]
    assert len(shown) > 0
    for row in shown.itertuples():
        true = expected.get((row.wijk_code, row.domain), 0)
        assert row.value % 5 == 0  # neighbourhood policy: multiples of 5
        assert abs(row.value - true) <= 2.5 + 0.02 * true, (row, true)
    hidden = inner[inner.value.isna()]
    assert (hidden.status == "suppressed").all()


def test_every_released_cell_passed_the_audit(demo):
    _, result = demo
    for name, path in result.reports.items():
        report = json.loads(path.read_text())
        assert report["audit"]["passed"] is True, name
        assert len(report["policy"]["fingerprint"]) == 64


def test_demo_command_prints_quality(tmp_path, capsys):
    code = main(["demo", "-o", str(tmp_path / "d"), "--persons", "3000", "--seed", "9"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "entity F1" in out and "REFUSED" not in out
    f1 = float(out.split("entity F1:")[1].split()[0])
    assert f1 >= 0.97


def test_pipeline_file_errors_are_clear(tmp_path, capsys):
    p = tmp_path / "p.toml"
    p.write_text("version = 1\n", encoding="utf-8")
    assert main(["run", str(p)]) == 2
    assert "[[sources]]" in capsys.readouterr().err


def test_release_step_alone_uses_the_linked_table(demo, tmp_path):
    out, result = demo
    again = run_pipeline(out / "pipeline.toml", steps=("release",))
    assert set(again.tables) == set(result.tables)
    assert again.counts == {}  # nothing re-encoded


def test_notes_report_fields_a_mapping_does_not_fill(demo):
    _, result = demo
    assert any("commercial" in n and "bsn" in n for n in result.notes)
