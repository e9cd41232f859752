"""Collect the aggregates of a run from its output directory — and nothing record-level.

Everything the HTML report shows passes through :func:`collect_run`, which reads only the
columns it needs: reject *reasons* (never row numbers, record ids or values), the source /
entity / household columns of ``linkage/clusters.csv`` (never record ids), the scores of
``linkage/links.csv`` (never the ids), the linkage summary, the published release tables
and their disclosure reports. Entity and household ids are used only to count and are not
kept.

Optional inputs are read when present and skipped when absent:

* ``linkage/candidates.parquet`` — every scored candidate pair with ``source_a``,
  ``source_b``, ``probability``, ``match_weight`` and ``accepted``: gives the full
  match-weight distribution per source pair. Without it the report shows the accepted links
  only.
* ``release/`` — without it the report has no release section content.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pplink.errors import InputError
from pplink.linkage.threshold import logit2

__all__ = ["RunData", "SourceStats", "PairStats", "TableStats", "collect_run", "clean_reason"]


@dataclass
class SourceStats:
    """Counts for one data holder's source (no record-level data)."""

    name: str
    rows: int | None = None
    encoded: int | None = None
    rejected: int | None = None
    fields_set_missing: int | None = None
    reasons: list[dict[str, Any]] = field(default_factory=list)  # action, field, reason, count
    encoding: dict[str, Any] = field(default_factory=dict)  # schema/key fingerprints, bits


@dataclass
class PairStats:
    """Linkage figures for one source pair."""

    a: str
    b: str
    n_a: int | None = None
    n_b: int | None = None
    blocking: str = ""
    n_candidates: int | None = None
    n_links: int | None = None
    threshold: float | None = None
    estimated_matches: float | None = None
    expected_true_links: float | None = None  # sum of p over accepted links
    est_precision: float | None = None
    est_recall: float | None = None
    recall_basis: str = ""
    weight_threshold: float | None = None  # the probability threshold on the match-weight scale
    link_weights: np.ndarray | None = None  # accepted links
    rejected_weights: np.ndarray | None = None  # candidates not accepted (only with candidates.parquet)
    has_candidates: bool = False
    flags: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.a} ↔ {self.b}"


@dataclass
class TableStats:
    """One released table: its public cells and its disclosure report."""

    name: str
    table: pd.DataFrame | None  # the public table (labels, levels, value, status)
    report: dict[str, Any]
    dims: list[str] = field(default_factory=list)

    @property
    def policy(self) -> dict[str, Any]:
        return self.report.get("policy", {}) or {}

    @property
    def fingerprint(self) -> str:
        fp = str(self.policy.get("fingerprint", "") or "")
        if not fp and self.table is not None and "policy_fingerprint" in self.table.columns and len(self.table):
            fp = str(self.table["policy_fingerprint"].iloc[0])
        return fp

    def public_status_counts(self) -> dict[str, int]:
        """Cells per public status (primary and secondary suppression both 'suppressed')."""
        if self.table is not None and "status" in self.table.columns:
            counts = self.table["status"].astype(str).value_counts()
            return {str(k): int(v) for k, v in counts.items()}
        out: dict[str, int] = {}
        for k, v in (self.report.get("status_counts") or {}).items():
            key = "suppressed" if str(k).endswith("suppressed") else str(k)
            out[key] = out.get(key, 0) + int(v)
        return out


@dataclass
class RunData:
    """Everything the report shows: aggregates only."""

    output: Path
    title: str = ""
    sources: list[SourceStats] = field(default_factory=list)
    pairs: list[PairStats] = field(default_factory=list)
    model: pd.DataFrame | None = None
    n_records: int | None = None
    n_entities: int | None = None
    n_households: int | None = None
    n_links: int | None = None
    records_per_entity: dict[int, int] = field(default_factory=dict)
    entities_per_household: dict[int, int] = field(default_factory=dict)
    source_combinations: list[tuple[str, int]] = field(default_factory=list)
    tables: list[TableStats] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    files: list[dict[str, Any]] = field(default_factory=list)  # role, path (relative), bytes
    missing: list[str] = field(default_factory=list)  # optional inputs that were absent
    warnings: list[str] = field(default_factory=list)


_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|«[^»]*»")
_ROW = re.compile(r"\b(rows?|line|lines|record)\s+\d+", re.IGNORECASE)
_LONG_DIGITS = re.compile(r"\d[\d .\-/]{5,}\d")


def clean_reason(reason: object, max_len: int = 140) -> str:
    """A reject reason fit for an aggregate report: quoted values, row numbers and long
    digit runs (identifiers, dates) are masked, so rows group by kind of problem.

    Example:
        >>> clean_reason("duplicate record id (first seen in row 12)")
        'duplicate record id (first seen in row …)'
        >>> clean_reason("value '1234 AB' is not allowed")
        'value … is not allowed'
        >>> clean_reason("BSN 123456782 fails the elfproef")
        'BSN … fails the elfproef'
    """
    if reason is None or (isinstance(reason, float) and math.isnan(reason)):
        return "(no reason given)"
    s = str(reason).strip()
    s = _QUOTED.sub("…", s)
    s = _ROW.sub(lambda m: f"{m.group(1)} …", s)
    s = _LONG_DIGITS.sub("…", s)
    s = " ".join(s.split())
    return s if len(s) <= max_len else s[: max_len - 1] + "…"


def _read_json(path: Path, what: str) -> dict[str, Any] | None:
    """A JSON object from ``path``; ``None`` when the file is absent. A file that is there but
    cannot be read, is not UTF-8 JSON or not a JSON object raises :class:`InputError` naming it
    (never treated as absent: that would silently drop part of the run from the report)."""
    if not path.exists():
        return None
    if path.is_dir():
        raise InputError(f"{what} {path} is a directory, not a JSON file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(f"{what} {path} cannot be read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise InputError(f"{what} {path} is not UTF-8 text; it is damaged — rerun the step that wrote it") from None
    except ValueError as exc:
        raise InputError(f"{what} {path} is not valid JSON ({exc}); it is damaged — rerun the step that wrote it") from None
    if not isinstance(data, dict):
        raise InputError(f"{what} {path} is not a JSON object; it is damaged — rerun the step that wrote it")
    return data


def _csv(path: Path, usecols: list[str], what: str, **kw: Any) -> pd.DataFrame | None:
    """Read only ``usecols`` (those present) of a CSV written by a run; ``None`` when the file is absent.

    The whole file is first checked as strictly as any input (:func:`pplink.io.read_table`):
    an empty or binary file, another encoding, bad quoting, lines with the wrong number of
    fields or repeated column names raise :class:`InputError` naming the file and line, and
    every record must come back — nothing is half-read or silently dropped.
    """
    if not path.exists():
        return None
    from pplink.io import _UTF8_HINT, _check_bytes, _check_field_counts

    if path.is_dir():
        raise InputError(f"{what} {path} is a directory, not a CSV file")
    try:
        enc = _check_bytes(path, "utf-8", _UTF8_HINT)
        header, n_records = _check_field_counts(path, ",", enc, _UTF8_HINT)
    except InputError as exc:
        raise InputError(f"{what} {exc}") from None
    cols = [c for c in usecols if c in header]
    if not cols:
        return pd.DataFrame(columns=usecols)
    try:
        df = pd.read_csv(path, usecols=cols, encoding=enc, on_bad_lines="error", **kw)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"{what} {path} cannot be read as CSV ({type(exc).__name__}: {exc}); it is damaged") from None
    except OSError as exc:
        raise InputError(f"{what} {path} cannot be read ({exc.strerror or exc})") from None
    if len(df) != n_records:
        raise InputError(
            f"{what} {path} holds {n_records} records but {len(df)} could be read (lines of only spaces?); "
            "it is damaged — rerun the step that wrote it"
        )
    return df


def _rel(output: Path, p: Path) -> str:
    try:
        return p.resolve().relative_to(output.resolve()).as_posix()
    except ValueError:
        return p.name


def _source_order(output: Path, result: Any | None, summary: dict[str, Any] | None) -> list[str]:
    names: list[str] = []
    if result is not None and getattr(result, "counts", None):
        names += list(result.counts)
    if result is not None and getattr(result, "encoded", None):
        names += [n for n in result.encoded if n not in names]
    if summary:
        for key in summary.get("pairs", {}):
            for n in str(key).split("|"):
                if n not in names:
                    names.append(n)
    enc = output / "encoded"
    if enc.is_dir() and not names:
        for p in sorted(enc.glob("*.parquet")):
            names.append(p.stem)
        for p in sorted(enc.glob("*.rejects.csv")):
            n = p.name[: -len(".rejects.csv")]
            if n not in names:
                names.append(n)
    return names


def _encoding_meta(path: Path) -> tuple[int | None, dict[str, Any]]:
    """Row count and (non-secret) encoding metadata of an encoded file, read from its footer.

    ``(None, {})`` when the file cannot be read; the caller reports that as a warning."""
    try:
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        n = int(pf.metadata.num_rows)
        raw = (pf.schema_arrow.metadata or {}).get(b"pplink")
        meta = json.loads(raw) if raw else {}
        if not isinstance(meta, dict):
            return None, {}
    except Exception:  # noqa: BLE001 — a damaged file is reported as unknown (with a warning), not fatal
        return None, {}
    keep = {k: meta.get(k) for k in ("schema_fingerprint", "key_fingerprint", "clk_bits", "pplink_version")}
    keep["fields"] = sorted((meta.get("field_bits") or {}).keys())
    keep["tokens"] = list(meta.get("tokens") or [])
    return n, keep


def _sources(output: Path, names: list[str], result: Any | None, data: RunData) -> None:
    counts = getattr(result, "counts", {}) or {} if result is not None else {}
    for name in names:
        st = SourceStats(name)
        enc_path = (getattr(result, "encoded", {}) or {}).get(name) if result is not None else None
        enc_path = Path(enc_path) if enc_path else output / "encoded" / f"{name}.parquet"
        rej_path = (getattr(result, "rejects", {}) or {}).get(name) if result is not None else None
        rej_path = Path(rej_path) if rej_path else output / "encoded" / f"{name}.rejects.csv"
        if enc_path.exists():
            st.encoded, st.encoding = _encoding_meta(enc_path)
            if st.encoded is None:
                data.warnings.append(
                    f"{_rel(output, enc_path)} could not be read (damaged?); its record count and fingerprints "
                    "are shown as unknown")
            data.files.append({"role": "data holder", "path": _rel(output, enc_path), "bytes": enc_path.stat().st_size})
        issues = _csv(rej_path, ["field", "reason", "action"], "rejects report", dtype=str, keep_default_na=False)
        if issues is not None:
            data.files.append({"role": "data holder", "path": _rel(output, rej_path), "bytes": rej_path.stat().st_size})
            action = issues["action"] if "action" in issues else pd.Series([], dtype=str)
            st.rejected = int((action == "rejected").sum())
            st.fields_set_missing = int(len(issues) - st.rejected)
            if len(issues):
                df = pd.DataFrame({
                    "action": action.astype(str).replace({"field_set_missing": "field set to missing"}),
                    "field": issues.get("field", pd.Series([""] * len(issues))).astype(str).replace({"nan": ""}),
                    "reason": [clean_reason(r) for r in issues.get("reason", pd.Series([None] * len(issues)))],
                })
                grouped = df.groupby(["action", "field", "reason"], dropna=False).size().sort_values(ascending=False)
                st.reasons = [{"action": a, "field": f, "reason": r, "count": int(c)} for (a, f, r), c in grouped.items()]
        c = counts.get(name, {})
        if c:
            st.rows = int(c.get("rows", 0))
            st.encoded = int(c.get("encoded", st.encoded or 0))
            st.rejected = int(c.get("rejected", st.rejected or 0))
            st.fields_set_missing = int(c.get("fields_set_missing", st.fields_set_missing or 0))
        elif st.encoded is not None and st.rejected is not None:
            st.rows = st.encoded + st.rejected
        data.sources.append(st)


def _pairs(output: Path, summary: dict[str, Any] | None, data: RunData) -> None:
    links = _csv(output / "linkage" / "links.csv", ["source_a", "source_b", "probability", "match_weight"], "links file")
    cand_path = output / "linkage" / "candidates.parquet"
    cands: pd.DataFrame | None = None
    if cand_path.exists():
        try:
            import pyarrow.parquet as pq

            avail = set(pq.read_schema(cand_path).names)
            cols = [c for c in ("source_a", "source_b", "probability", "match_weight", "accepted") if c in avail]
            if {"source_a", "source_b", "match_weight", "accepted"} <= set(cols):
                # ids are never read; source names as categories keep large files small in memory
                cands = pq.read_table(cand_path, columns=cols,
                                      read_dictionary=["source_a", "source_b"]).to_pandas()
                data.files.append({"role": "linkage unit", "path": _rel(output, cand_path),
                                   "bytes": cand_path.stat().st_size})
        except Exception:  # noqa: BLE001
            data.warnings.append("linkage/candidates.parquet could not be read; showing accepted links only")
    else:
        data.missing.append("linkage/candidates.parquet")
    if links is not None:
        data.n_links = int(len(links))
    stats = (summary or {}).get("pairs", {}) or {}
    keys = list(stats)
    if links is not None and len(links) and "source_a" in links:
        for a, b in links[["source_a", "source_b"]].drop_duplicates().itertuples(index=False):
            if f"{a}|{b}" not in keys:
                keys.append(f"{a}|{b}")
    for key in keys:
        a, _, b = str(key).partition("|")
        st = stats.get(key, {}) or {}
        ps = PairStats(a, b)
        ps.n_a, ps.n_b = st.get("n_a"), st.get("n_b")
        ps.blocking = str(st.get("blocking", "") or "")
        ps.n_candidates = st.get("n_candidates")
        ps.n_links = st.get("n_links")
        ps.threshold = st.get("match_threshold")
        ps.estimated_matches = st.get("estimated_matches")
        lp = np.zeros(0)
        if links is not None and len(links) and "source_a" in links:
            sel = links[(links.source_a == a) & (links.source_b == b)]
            if "match_weight" in sel:
                ps.link_weights = pd.to_numeric(sel["match_weight"], errors="coerce").dropna().to_numpy(float)
            if "probability" in sel:
                lp = pd.to_numeric(sel["probability"], errors="coerce").dropna().to_numpy(float)
            if ps.n_links is None:
                ps.n_links = int(len(sel))
        cand_p_sum = None
        if cands is not None:
            sel = cands[(cands.source_a == a) & (cands.source_b == b)]
            if len(sel) or ps.n_candidates == 0:
                ps.has_candidates = True
                acc = sel["accepted"].astype(bool).to_numpy()
                w = pd.to_numeric(sel["match_weight"], errors="coerce").to_numpy(np.float64)
                ps.link_weights = w[acc & np.isfinite(w)]
                ps.rejected_weights = w[~acc & np.isfinite(w)]
                if "probability" in sel:
                    p = pd.to_numeric(sel["probability"], errors="coerce").to_numpy(float)
                    lp = p[acc & np.isfinite(p)]
                    cand_p_sum = float(np.nansum(p))
                if ps.n_candidates is None:
                    ps.n_candidates = int(len(sel))
        if len(lp):
            ps.expected_true_links = float(lp.sum())
            ps.est_precision = float(lp.mean())
            if cand_p_sum is not None:
                # recall is meaningless where the model expects (almost) no matches at all
                if cand_p_sum >= 0.5:
                    ps.est_recall = min(ps.expected_true_links / cand_p_sum, 1.0)
                ps.recall_basis = "candidates"
            elif ps.estimated_matches is not None and ps.estimated_matches >= 0.5:
                ps.est_recall = min(ps.expected_true_links / float(ps.estimated_matches), 1.0)
                ps.recall_basis = "model"
        elif ps.n_links == 0:
            ps.est_precision = None
        # the probability threshold on the match-weight scale: p >= t  <=>  w >= logit2(t) - prior
        if ps.threshold is not None and ps.n_a and ps.n_b and ps.estimated_matches:
            lam = float(ps.estimated_matches) / (float(ps.n_a) * float(ps.n_b))
            if 0 < lam < 1:
                wt = logit2(float(ps.threshold)) - logit2(lam)
                ps.weight_threshold = wt if math.isfinite(wt) else None
        if ps.threshold is not None and ps.n_links and float(ps.threshold) < 0.5:
            ps.flags.append("threshold p < 0.5")
        if ps.est_precision is not None and ps.n_links and ps.est_precision < 0.8:
            ps.flags.append("precision < 80%")
        if ps.estimated_matches is not None and ps.n_links and ps.estimated_matches < 0.5:
            ps.flags.append("≈ 0 matches expected")
        data.pairs.append(ps)


def _clusters(output: Path, data: RunData) -> None:
    path = output / "linkage" / "clusters.csv"
    # record_id is deliberately not read
    cl = _csv(path, ["source", "entity_id", "household_id"], "clusters file")
    if cl is None:
        data.missing.append("linkage/clusters.csv")
        return
    data.files.append({"role": "linkage unit", "path": _rel(output, path), "bytes": path.stat().st_size})
    if not len(cl) or "entity_id" not in cl:
        return
    data.n_records = int(len(cl))
    data.n_entities = int(cl["entity_id"].nunique())
    size = cl.groupby("entity_id").size().value_counts().sort_index()
    data.records_per_entity = {int(k): int(v) for k, v in size.items()}
    if "source" in cl:
        order = list(dict.fromkeys(cl["source"].astype(str)))
        rank = {s: i for i, s in enumerate(order)}
        combo = cl.groupby("entity_id")["source"].agg(
            lambda s: " + ".join(sorted(set(map(str, s)), key=lambda x: rank.get(x, 0))))
        vc = combo.value_counts()
        data.source_combinations = [(str(k), int(v)) for k, v in vc.items()]
    if "household_id" in cl and cl["household_id"].notna().any():
        hh = cl.dropna(subset=["household_id"])
        data.n_households = int(hh["household_id"].nunique())
        sizes = hh.groupby("household_id")["entity_id"].nunique().value_counts().sort_index()
        data.entities_per_household = {int(k): int(v) for k, v in sizes.items()}


def _tables(output: Path, result: Any | None, data: RunData) -> None:
    rel = output / "release"
    if result is not None and (getattr(result, "reports", None) or getattr(result, "tables", None)):
        names = list(dict.fromkeys(list(result.tables) + list(result.reports)))
        paths = {n: (Path(result.tables[n]) if n in result.tables else rel / f"{n}.csv",
                     Path(result.reports[n]) if n in result.reports else rel / f"{n}.report.json") for n in names}
    elif rel.is_dir():
        names = sorted(p.name[: -len(".report.json")] for p in rel.glob("*.report.json"))
        paths = {n: (rel / f"{n}.csv", rel / f"{n}.report.json") for n in names}
    else:
        data.missing.append("release/")
        names, paths = [], {}
    for name in names:
        csv_path, rep_path = paths[name]
        report = _read_json(rep_path, "release report") or {}
        _check_report(report, f"release report {rep_path}")
        table = None
        if csv_path.exists():
            table = _release_table(csv_path)
            data.files.append({"role": "analyst", "path": _rel(output, csv_path), "bytes": csv_path.stat().st_size})
        if rep_path.exists():
            data.files.append({"role": "analyst", "path": _rel(output, rep_path), "bytes": rep_path.stat().st_size})
        dims = [str(d) for d in (report.get("definition") or {}).get("by") or []]
        if table is not None:
            if "status" in table.columns:
                # shown as published: primary and secondary suppression alike read "suppressed"
                table["status"] = table["status"].astype(str).where(
                    ~table["status"].astype(str).str.endswith("suppressed"), "suppressed")
            table = table.drop(columns=[c for c in ("rule", "rules") if c in table.columns])
            if dims and not all(d in table.columns for d in dims):
                dims = []
            if not dims:
                # release tables have one label column and one '<dim>_level' column per dimension
                dims = [c for c in table.columns if f"{c}_level" in table.columns]
        data.tables.append(TableStats(name, table, report, dims))
    refused = getattr(result, "refused", None) if result is not None else None
    if refused:
        data.refused = {str(k): str(v) for k, v in refused.items()}
    md = rel / "ledger.sqlite"
    if md.exists():
        data.files.append({"role": "analyst", "path": _rel(output, md), "bytes": md.stat().st_size})


def _release_table(path: Path) -> pd.DataFrame:
    """A released table, checked like any input (:func:`pplink.io.read_table`); every cell text."""
    from pplink.io import read_table

    try:
        return read_table(path, what="released table", delimiter=",").fillna("")
    except InputError as exc:
        text = str(exc)
        raise InputError(text if text.startswith("released table") else f"released table {text}") from None


def _shape_error(where: str, key: str, expected: str) -> InputError:
    return InputError(f"{where}: {key!r} is not {expected}; the file is damaged — rerun the step that wrote it")


def _check_keys(obj: dict[str, Any], where: str, tables: tuple[str, ...] = (), lists: tuple[str, ...] = (),
                numbers: tuple[str, ...] = (), counts: tuple[str, ...] = ()) -> None:
    """``tables``/``lists``/``numbers``/``counts`` present in ``obj`` must be objects, lists, numbers,
    whole numbers >= 0 (or null)."""
    for key in counts:
        v = obj.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise _shape_error(where, key, "a whole number >= 0")
    for key in tables:
        if obj.get(key) is not None and not isinstance(obj[key], dict):
            raise _shape_error(where, key, "an object")
    for key in lists:
        if obj.get(key) is not None and not isinstance(obj[key], list):
            raise _shape_error(where, key, "a list")
    for key in numbers:
        v = obj.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
            raise _shape_error(where, key, "a number")


def _check_summary(summary: dict[str, Any], where: str) -> None:
    """The parts of ``linkage/summary.json`` the report reads must have the right types."""
    _check_keys(summary, where, tables=("pairs",), numbers=("n_records", "n_entities", "n_households"))
    model = summary.get("model")
    if model is not None and not (
        isinstance(model, list) and all(isinstance(m, dict) for m in model) or isinstance(model, dict)
    ):
        raise _shape_error(where, "model", "a list of objects")
    for key, st in (summary.get("pairs") or {}).items():
        if st is not None and not isinstance(st, dict):
            raise _shape_error(where, f"pairs.{key}", "an object")
        _check_keys(st or {}, f"{where}: pair {key}", numbers=(
            "n_a", "n_b", "n_candidates", "n_links", "match_threshold", "estimated_matches"))


def _check_report(report: dict[str, Any], where: str) -> None:
    """The parts of a release report the report page reads must have the right types."""
    _check_keys(report, where, tables=("policy", "definition", "audit", "information_loss", "publication",
                                       "suppression", "ledger", "status_counts"), lists=("notes",))
    _check_keys(report.get("definition") or {}, f"{where}: in 'definition'", lists=("by",))
    _check_keys(report.get("information_loss") or {}, f"{where}: in 'information_loss'",
                numbers=("cells", "hidden_cells", "hidden_cells_share", "hidden_inner_value_share"))
    _check_keys(report.get("ledger") or {}, f"{where}: in 'ledger'", lists=("conflicts",), numbers=("releases_compared",))
    _check_keys(report.get("status_counts") or {}, f"{where}: in 'status_counts'", counts=tuple(report.get("status_counts") or {}))


def collect_run(output: str | Path, result: Any | None = None, *, title: str | None = None) -> RunData:
    """Read the aggregates of the run in ``output`` (see the module docs for what is read).

    ``result`` (a :class:`~pplink.run.PipelineResult`) adds what only the run itself knows
    — per-source row counts and the names of refused tables — and limits the release tables
    to those of this run; without it everything is taken from the files.
    """
    out = Path(output)
    data = RunData(output=out)
    summary_path = out / "linkage" / "summary.json"
    summary = _read_json(summary_path, "linkage summary")
    if summary is not None:
        _check_summary(summary, f"linkage summary {summary_path}")
    if summary is None and result is not None and getattr(result, "summary", None):
        summary = result.summary.get("linkage")
    if summary is None:
        data.missing.append("linkage/summary.json")
    data.title = title or _pipeline_name(out) or out.name
    _sources(out, _source_order(out, result, summary), result, data)
    if summary is not None or (out / "linkage").is_dir():
        _clusters(out, data)
        if summary_path.exists():
            data.files.append({"role": "linkage unit", "path": _rel(out, summary_path),
                               "bytes": summary_path.stat().st_size})
        links_path = out / "linkage" / "links.csv"
        if links_path.exists():
            data.files.append({"role": "linkage unit", "path": _rel(out, links_path), "bytes": links_path.stat().st_size})
        _pairs(out, summary, data)
    if summary:
        model = summary.get("model")
        if model:
            data.model = pd.DataFrame(model)
        if data.n_records is None:
            data.n_records = summary.get("n_records")
            data.n_entities = summary.get("n_entities")
            data.n_households = summary.get("n_households")
    linked = out / "analysis" / "linked.parquet"
    if linked.exists():
        data.files.append({"role": "analyst", "path": _rel(out, linked), "bytes": linked.stat().st_size})
    _tables(out, result, data)
    fps = {(s.encoding.get("schema_fingerprint"), s.encoding.get("key_fingerprint")) for s in data.sources if s.encoding}
    if len(fps) > 1:
        data.warnings.append("the encoded files do not all share one schema and key fingerprint")
    return data


def _pipeline_name(out: Path) -> str:
    """The ``name`` of a pipeline file in the output directory, if one is there."""
    import tomllib

    p = out / "pipeline.toml"
    if not p.exists():
        return ""
    try:
        return str(tomllib.loads(p.read_text(encoding="utf-8")).get("name", "") or "")
    except (OSError, ValueError):  # only the title: a damaged pipeline file falls back to the directory name
        return ""
