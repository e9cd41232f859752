"""The HTML run report: structure, content, no identifiers, optional inputs (synthetic data only)."""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import struct
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from pplink.report import REPORT_NAME, collect_run, write_report
from pplink.report.data import clean_reason
from pplink.run import run_pipeline, write_demo

SECTIONS = ("overview", "data-holders", "linkage", "release", "privacy")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# schema fields whose source values identify a person or an address. House numbers, additions,
# sex codes and name particles are left out: they are short, common tokens ("12", "A", "V", "van")
# that say nothing on their own and would match any number or letter in the report.
IDENTIFYING_FIELDS = {"bsn", "first_name", "surname", "full_name", "name", "birth_date", "postcode"}


class _Checker(HTMLParser):
    """Collects ids, tags and text, and checks that every element is closed in order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.ids: set[str] = set()
        self.tags: dict[str, int] = {}
        self.attrs: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for k, v in attrs:
            self.attrs.append((tag, k, v or ""))
            if k == "id":
                self.ids.add(v or "")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for k, v in attrs:
            self.attrs.append((tag, k, v or ""))

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
            if tag in self.stack:
                while self.stack and self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()


def _check(html: str) -> _Checker:
    c = _Checker()
    c.feed(html)
    c.close()
    assert not c.errors, c.errors[:5]
    assert not c.stack, f"unclosed elements: {c.stack}"
    return c


def _normal(text: str) -> str:
    """Lower case, every run of non-word characters one space, padded: for whole-word search."""
    return " " + re.sub(r"[\W_]+", " ", text.lower()).strip() + " "


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("report-run")
    pipeline = write_demo(out, n_persons=3000, seed=7)
    result = run_pipeline(pipeline)
    path = write_report(out, result)
    return out, result, path, path.read_text(encoding="utf-8")


def test_report_is_written_and_well_formed(run):
    out, _, path, html = run
    assert path == out / REPORT_NAME and path.stat().st_size > 10_000
    assert html.startswith("<!DOCTYPE html>")
    c = _check(html)
    assert set(SECTIONS) <= c.ids
    for title in ("Overview", "Data holders", "Linkage", "Released tables", "Privacy notes"):
        assert f"</span>{title}</h2>" in html
    assert c.tags.get("svg", 0) >= 6  # rows per source, pairs, histograms, sizes, release status, ...


def test_report_is_self_contained(run):
    _, _, _, html = run
    c = _check(html)
    assert "script" not in c.tags and "img" not in c.tags and "link" not in c.tags and "iframe" not in c.tags
    assert "<script" not in html.lower() and "@import" not in html and "url(" not in html
    for tag, key, value in c.attrs:
        if key in ("href", "src", "action"):
            assert value.startswith("#"), (tag, key, value)
        if key == "xmlns":
            assert value == "http://www.w3.org/2000/svg"
        assert not key.startswith("on"), (tag, key)  # no inline event handlers
    assert "Content-Security-Policy" in html


def test_report_shows_linkage_release_and_policy_fingerprints(run):
    out, result, _, html = run
    summary = json.loads((out / "linkage" / "summary.json").read_text())
    for key in summary["pairs"]:
        a, b = key.split("|")
        assert f"{a} ↔ {b}" in html
    assert result.reports, "the demo releases tables"
    for name, rep in result.reports.items():
        fp = json.loads(Path(rep).read_text())["policy"]["fingerprint"]
        assert len(fp) == 64 and fp in html
        assert f'id="table-{name}"' in html
    assert "audit passed" in html
    assert "threshold" in html and "stroke-dasharray" in html  # threshold line in the histograms
    # per-cell status colouring with the public statuses only
    assert 'class="st-' in html
    assert "primary-suppressed" not in html and "secondary-suppressed" not in html


def test_report_contains_no_identifiers(run):
    from pplink.datasets import mapping_path
    from pplink.mapping import load_mapping

    out, _, _, html = run
    text = _normal(html)
    checked = 0
    for src in ("wmo", "participatie", "jeugd", "commercial"):
        mapping = load_mapping(mapping_path(src))
        cols = [mapping.record_id] + [f.column for f in mapping.fields if f.target in IDENTIFYING_FIELDS]
        encoding = "utf-8-sig" if mapping.encoding.lower().replace("_", "-") in ("utf-8", "utf8") else mapping.encoding
        frame = pd.read_csv(out / "sources" / f"{src}.csv", dtype=str, sep=mapping.delimiter, encoding=encoding,
                            keep_default_na=False)
        assert set(cols) <= set(frame.columns), (src, cols)
        for col in cols:
            for value in frame[col].unique():
                v = _normal(value).strip()
                if len(v.replace(" ", "")) < 4:  # initials, empty cells
                    continue
                if v.isdigit() and len(v) <= 4:
                    # a bare year (a partial birth date) or a short number identifies nobody, and
                    # it occurs in model numbers such as "m 0.1998" once punctuation is removed
                    continue
                assert f" {v} " not in text, f"{src}.{col} value found in the report"
                if " " in v and len(v.replace(" ", "")) >= 6:  # 1234 AB written as 1234AB
                    assert f" {v.replace(' ', '')} " not in text, f"{src}.{col} value found in the report"
                checked += 1
    assert checked > 2000
    # pseudonymous ids are not shown either: no column of clusters/links/candidates with ids is rendered
    for word in ("record_id", "entity_id", "household_id", "a_id", "b_id"):
        assert word not in html


def test_reasons_are_aggregated_and_masked(tmp_path):
    enc = tmp_path / "encoded"
    enc.mkdir()
    pd.DataFrame({
        "source": ["x"] * 3,
        "row": [5, 9, 12],
        "record_id": ["REC-00017", "REC-00018", "REC-00019"],
        "field": ["postcode", "postcode", None],
        "column": ["pc", "pc", None],
        "reason": ["value '9999 ZZ' is not a postcode", "value 'Jansen' is not a postcode",
                   "duplicate record id (first seen in row 3)"],
        "action": ["field_set_missing", "field_set_missing", "rejected"],
    }).to_csv(enc / "x.rejects.csv", index=False)
    html = write_report(tmp_path).read_text()
    _check(html)
    for secret in ("REC-00017", "REC-00019", "9999 ZZ", "Jansen", "row 3"):
        assert secret not in html
    assert "value … is not a postcode" in html
    assert re.search(r'value … is not a postcode</td><td class="num">2<', html)


def test_clean_reason_masks_values():
    assert clean_reason("BSN 123456782 fails the elfproef") == "BSN … fails the elfproef"
    assert clean_reason(None) == "(no reason given)"
    assert "12-03-1950" not in clean_reason("date 12-03-1950 is in the future")
    assert len(clean_reason("x" * 500)) <= 140


def test_labels_are_escaped(tmp_path):
    rel = tmp_path / "release"
    rel.mkdir()
    pd.DataFrame({
        "wijk": ["<script>alert(1)</script>", "Totaal"],
        "wijk_level": ["wijk", "total"],
        "value": ["15", "15"],
        "status": ["rounded", "primary-suppressed"],
        "rule": ["", "frequency"],
        "policy_fingerprint": ["ab" * 32, "ab" * 32],
    }).to_csv(rel / "t.csv", index=False)
    (rel / "t.report.json").write_text(json.dumps({
        "policy": {"name": "p<b>", "version": "1", "fingerprint": "ab" * 32},
        "definition": {"by": ["wijk"], "measure": "count", "unit": "person", "description": "<img src=x>"},
        "audit": {"passed": True, "lp_solved": 1}, "status_counts": {"rounded": 1, "primary-suppressed": 1},
    }))
    html = write_report(tmp_path).read_text()
    c = _check(html)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "img" not in c.tags and "&lt;img src=x&gt;" in html
    assert "ab" * 32 in html
    assert "frequency" not in html  # the per-cell rule is not shown


def test_optional_inputs_missing(run, tmp_path):
    out, _, _, _ = run
    partial = tmp_path / "partial"
    for sub in ("encoded", "linkage"):
        shutil.copytree(out / sub, partial / sub)
    (partial / "linkage" / "candidates.parquet").unlink(missing_ok=True)
    html = write_report(partial).read_text()  # no result, no release/, no candidates
    c = _check(html)
    assert set(SECTIONS) <= c.ids
    assert "accepted links only" in html and "<svg" in html
    assert "No table was released" in html
    data = collect_run(partial)
    assert "release/" in data.missing and "linkage/candidates.parquet" in data.missing
    assert all(p.has_candidates is False for p in data.pairs)

    only_encoded = tmp_path / "only-encoded"
    shutil.copytree(out / "encoded", only_encoded / "encoded")
    html = write_report(only_encoded).read_text()
    _check(html)
    assert "No linkage output was found" in html

    empty = tmp_path / "empty"
    empty.mkdir()
    html = write_report(empty, path=tmp_path / "elsewhere" / "r.html").read_text()
    _check(html)
    assert (tmp_path / "elsewhere" / "r.html").exists() and not (empty / REPORT_NAME).exists()


def test_collect_run_uses_candidates_when_present(run):
    out, result, _, _ = run
    data = collect_run(out, result)
    assert data.pairs and all(p.has_candidates for p in data.pairs)
    for p in data.pairs:
        assert len(p.link_weights) == p.n_links
        assert len(p.link_weights) + len(p.rejected_weights) == p.n_candidates
        if p.n_links and p.est_precision is not None:
            assert 0.0 <= p.est_precision <= 1.0
    assert sum(k * v for k, v in data.records_per_entity.items()) == data.n_records
    assert sum(data.entities_per_household.values()) == data.n_households
    assert [s.name for s in data.sources] == list(result.counts)


def _screenshot_module():
    path = Path(__file__).resolve().parents[2] / "scripts" / "screenshot_report.py"
    spec = importlib.util.spec_from_file_location("screenshot_report", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_report_renders_in_headless_chromium(run, tmp_path):
    shot = _screenshot_module()
    if shot.find_chromium() is None:
        pytest.skip("no Chromium in this environment (apt-get install chromium); rendering check not run")
    _, _, path, _ = run
    png = shot.screenshot(path, tmp_path / "report.png", width=1280, height=3000)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 3000)
    assert len(data) > 50_000  # a blank page compresses to a few kilobytes
