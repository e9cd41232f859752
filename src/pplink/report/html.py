"""Render a run's aggregates (:class:`~pplink.report.data.RunData`) as one HTML page.

The renderer only ever sees aggregates (see :mod:`pplink.report.data`), and every string
it writes goes through :func:`html.escape`. Charts are inline SVG from
:mod:`pplink.report.svg`; there is no script and no external resource.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pplink.report import svg
from pplink.report.data import PairStats, RunData, TableStats, collect_run
from pplink.report.template import Raw, badge, e, html_table, kpi, page

__all__ = ["write_report", "render_report", "REPORT_NAME"]

REPORT_NAME = "report.html"

_STATUS_ORDER = ("safe", "rounded", "perturbed", "suppressed")
_STATUS_CHART = {
    "safe": "#5fa877",
    "rounded": "#6f9fd8",
    "perturbed": "#9b7fcb",
    "suppressed": "#b5bcc5",
}
_STATUS_TEXT = {
    "safe": "safe — published as is",
    "rounded": "rounded — published rounded",
    "perturbed": "perturbed — cell-key noise added",
    "suppressed": "suppressed — hidden (small cell, or hidden to protect one)",
}
_ADDRESS_STATES = ("different address", "address unknown", "same address")
_SURNAME_STATES = ("surname differs", "surname similar", "surname equal", "surname missing")


# ----------------------------------------------------------------------------------- helpers
def _n(x: Any) -> str:
    if x is None:
        return "–"
    if isinstance(x, float) and not math.isfinite(x):
        return "–"
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    if 0 < abs(float(x)) < 0.01:
        return "< 0.01"
    return svg.fmt_number(float(x))


def _pct(x: float | None, digits: int = 1) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    return f"{100 * x:.{digits}f}%"


def _prob(p: float | None) -> str:
    """A probability threshold, readable near 0 and 1 (``1 − 6e-10`` rather than ``1.00``)."""
    if p is None or not math.isfinite(p):
        return "–"
    if p >= 0.9995 and p < 1:
        return f"1 − {1 - p:.0e}"
    if 0 < p < 0.001:
        return f"{p:.0e}"
    return f"{p:.3f}"


def _bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _figure(svg_markup: str, caption: str = "") -> str:
    cap = f'<div class="cap">{e(caption)}</div>' if caption else ""
    return f'<div class="figure">{svg_markup}{cap}</div>'


def _section(anchor: str, number: int, title: str, body: str) -> str:
    return f'<section id="{e(anchor)}"><h2><span class="num">{number}</span>{e(title)}</h2>{body}</section>'


def _value(v: str) -> str:
    if v is None or str(v).strip() in ("", "nan", "<NA>", "NaN", "None"):
        return ""
    try:
        f = float(v)
    except ValueError:
        return str(v)
    if not math.isfinite(f):
        return ""
    return f"{int(f):,}" if f.is_integer() else f"{f:,.2f}"


# ----------------------------------------------------------------------------------- sections
def _overview(d: RunData) -> str:
    rows_in = sum(s.rows or 0 for s in d.sources)
    enc = sum(s.encoded or 0 for s in d.sources)
    rej = sum(s.rejected or 0 for s in d.sources)
    released = sum(1 for t in d.tables if t.table is not None)
    k = [
        kpi(len(d.sources), "sources"),
        kpi(_n(rows_in) if d.sources else "–", "input rows"),
        kpi(_n(enc) if d.sources else "–", "records encoded"),
        kpi(_n(rej) if d.sources else "–", "rows rejected"),
        kpi(_n(d.n_entities), "entities (persons)"),
        kpi(_n(d.n_households), "households"),
        kpi(_n(d.n_links), "pairwise links"),
        kpi(f"{released}" + (f" (+{len(d.refused)} refused)" if d.refused else ""), "tables released"),
    ]
    out = [
        "<p>This report summarises one run of the pplink pipeline: what the data holders encoded, how "
        "the linkage unit linked the encodings into persons and households, and which tables the analyst "
        "released under which disclosure policy. It shows counts, distributions and model parameters only.</p>",
        f'<div class="kpis">{"".join(k)}</div>',
    ]
    for w in d.warnings:
        out.append(f'<div class="callout">{e(w)}</div>')
    # roles and files
    roles = [
        ("data holder", "plaintext + project secret", "standardise and encode each source; list rejects"),
        ("linkage unit", "encodings only, never a key", "link the encodings into entities and households"),
        ("analyst", "links + pseudonymous attributes", "release tables that meet a disclosure policy"),
    ]
    rows = []
    for role, has, does in roles:
        files = [f for f in d.files if f["role"] == role]
        listing = "<br>".join(f'<code>{e(f["path"])}</code> <span class="note">{e(_bytes(int(f["bytes"])))}</span>'
                              for f in files) or '<span class="note">none in this output directory</span>'
        rows.append([role, has, does, Raw(listing)])
    out.append("<h3>Roles and files</h3>")
    out.append(html_table(["role", "holds", "does", "files written"], rows, cls="data wide"))
    # encoding facts
    metas = [s.encoding for s in d.sources if s.encoding]
    if metas:
        m = metas[0]
        schemas = {x.get("schema_fingerprint") for x in metas}
        keys = {x.get("key_fingerprint") for x in metas}
        consistent = len(schemas) == 1 and len(keys) == 1
        fp = str(m.get("schema_fingerprint") or "")
        items = [
            ("schema fingerprint", Raw(f'<code class="fp">{e(fp)}</code>')),
            ("CLK", f"{m.get('clk_bits')} bits" if m.get("clk_bits") else "none"),
            ("field encodings", ", ".join(m.get("fields", [])) or "–"),
            ("keyed tokens", ", ".join(m.get("tokens", [])) or "–"),
            ("same schema and key in every source",
             Raw(badge("yes", "ok") if consistent else badge("no — check the data holders' settings", "bad"))),
            ("pplink version (encoding)", m.get("pplink_version") or "–"),
        ]
        out.append("<h3>Encoding</h3>")
        out.append('<dl class="kv">' + "".join(f"<dt>{e(a)}</dt><dd>{e(b)}</dd>" for a, b in items) + "</dl>")
    if d.missing:
        out.append('<p class="note">Not present in this output directory (sections that need them are '
                   f'shortened): {e(", ".join(d.missing))}.</p>')
    return "".join(out)


def _data_holders(d: RunData) -> str:
    if not d.sources:
        return '<p class="note">No encoded files were found (the encode step did not run here).</p>'
    out = ["<p>Each data holder standardises its own file and encodes it with the project secret. A row "
           "without any usable identifying field is <em>rejected</em>; an unusable value in one field is "
           "<em>set to missing</em> and the row is still encoded.</p>"]
    rows = []
    for s in d.sources:
        share = (s.encoded / s.rows) if (s.rows and s.encoded is not None) else None
        rows.append([s.name, s.rows if s.rows is not None else "–", s.encoded if s.encoded is not None else "–",
                     s.rejected if s.rejected is not None else "–",
                     s.fields_set_missing if s.fields_set_missing is not None else "–", _pct(share)])
    out.append(html_table(["source", "rows", "encoded", "rejected", "fields set to missing", "encoded share"],
                          rows, numeric=[False, True, True, True, True, True]))
    names = [s.name for s in d.sources]
    chart1 = svg.hbar_chart(
        names,
        [("encoded", [s.encoded or 0 for s in d.sources], svg.PALETTE["blue"]),
         ("rejected", [s.rejected or 0 for s in d.sources], svg.PALETTE["red"])],
        title="Rows per source", width=540, show_legend=True, x_label="rows",
    )
    chart2 = svg.hbar_chart(
        names, [("fields set to missing", [s.fields_set_missing or 0 for s in d.sources], svg.PALETTE["orange"])],
        title="Fields set to missing per source", width=540, x_label="fields",
    )
    out.append(f'<div class="grid2">{_figure(chart1)}{_figure(chart2)}</div>')
    out.append("<h3>Most frequent reasons</h3>")
    reason_rows = []
    for s in d.sources:
        for r in s.reasons[:8]:
            reason_rows.append([s.name, r["action"], r["field"] or "(row)", r["reason"], r["count"]])
        if len(s.reasons) > 8:
            rest = sum(r["count"] for r in s.reasons[8:])
            reason_rows.append([s.name, "", "", f"{len(s.reasons) - 8} other reasons", rest])
    if reason_rows:
        out.append(html_table(["source", "action", "field", "reason", "count"], reason_rows,
                              numeric=[False, False, False, False, True]))
        out.append('<p class="note">Reasons and counts only; row numbers, record ids and values stay in the data '
                   "holders' own <code>*.rejects.csv</code> files.</p>")
    else:
        out.append('<p class="note">No row was rejected and no field was set to missing.</p>')
    return "".join(out)


def _weight_edges(values: list[np.ndarray | None], thresholds: Sequence[float | None]) -> np.ndarray:
    """Bin edges on the match-weight scale shared by all pairs' histograms."""
    allv = np.concatenate([v for v in values if v is not None and len(v)] or [np.zeros(0)])
    pts = list(allv[np.isfinite(allv)])
    pts += [t for t in thresholds if t is not None and math.isfinite(t)]
    if not pts:
        return np.array([0.0, 1.0])
    lo, hi = float(min(pts)), float(max(pts))
    lo, hi = math.floor(lo) - 1, math.ceil(hi) + 1
    if hi - lo < 10:
        mid = (hi + lo) / 2
        lo, hi = math.floor(mid - 5), math.ceil(mid + 5)
    span = hi - lo
    step = next((s for s in (0.5, 1, 2, 2.5, 5, 10, 20) if span / s <= 40), 50)
    lo = math.floor(lo / step) * step
    hi = math.ceil(hi / step) * step
    return np.arange(lo, hi + step / 2, step)


def _pair_histogram(p: PairStats, edges: np.ndarray) -> str:
    links = p.link_weights if p.link_weights is not None else np.zeros(0)
    others = p.rejected_weights if p.rejected_weights is not None else np.zeros(0)
    # values outside the shared axis (there are none unless it was capped) go to the outer bins
    links = np.clip(links, edges[0], edges[-1])
    others = np.clip(others, edges[0], edges[-1])
    series = []
    if p.has_candidates:
        series.append(("not linked", np.histogram(others, edges)[0], svg.PALETTE["grey"]))
    series.append(("linked", np.histogram(links, edges)[0], svg.PALETTE["blue"]))
    tl = f"p ≥ {_prob(p.threshold)}" if p.threshold is not None else "threshold"
    note = "" if p.has_candidates else "accepted links only"
    if not len(links) and not len(others):
        note = "no links"
    return svg.histogram(edges, series, threshold=p.weight_threshold, threshold_label=tl, title=p.label,
                         width=360, height=210, x_label="match weight (log2 m/u)", note=note)


def _heat_colour(w: float, wmax: float) -> str:
    """A diverging colour for a match weight: red for evidence against, blue for evidence for."""
    t = min(abs(w) / wmax, 1.0) if wmax > 0 else 0.0
    t = t ** 0.8
    if w >= 0:
        r, g, b = 255 + (53 - 255) * t * 0.75, 255 + (105 - 255) * t * 0.75, 255 + (168 - 255) * t * 0.75
    else:
        r, g, b = 255 + (200 - 255) * t * 0.75, 255 + (65 - 255) * t * 0.75, 255 + (59 - 255) * t * 0.75
    return f"rgb({r:.0f},{g:.0f},{b:.0f})"


def _heat_cell(row: pd.Series | None, wmax: float) -> str:
    if row is None:
        return '<td class="w"></td>'
    w = float(row["weight"])
    tip = f"m = {float(row['m']):.4g}, u = {float(row['u']):.4g}, weight = log2(m/u) = {w:.2f}"
    return (f'<td class="w" style="background:{_heat_colour(w, wmax)}" title="{e(tip)}">{w:+.1f}'
            f"<small>m {_small(float(row['m']))} · u {_small(float(row['u']))}</small></td>")


def _small(x: float) -> str:
    """A probability in a few characters: 0.892, 0.014, 6e-4."""
    if not math.isfinite(x):
        return "–"
    if x == 0 or x >= 0.001:
        return f"{x:.3f}"
    mant, exp = f"{x:.0e}".split("e")
    return f"{mant}e{int(exp)}"


def _model_table(model: pd.DataFrame) -> str:
    need = {"feature", "level", "m", "u", "weight"}
    if model is None or not need <= set(model.columns) or not len(model):
        return '<p class="note">The linkage summary holds no model parameters.</p>'
    model = model.copy()
    model["weight"] = pd.to_numeric(model["weight"], errors="coerce").fillna(0.0)
    wmax = float(np.nanmax(np.abs(model["weight"].to_numpy()))) or 1.0
    features = list(dict.fromkeys(model["feature"].astype(str)))
    household = [f for f in features if f == "household"]
    plain = [f for f in features if f != "household"]
    nmax = int(model[model["feature"].isin(plain)].groupby("feature").size().max()) if plain else 0
    out = []
    if plain:
        head = "<th>feature</th>" + "".join(
            f'<th class="col">{e(_level_name(i, nmax))}</th>' for i in range(nmax))
        body = []
        for f in plain:
            rows = model[model["feature"].astype(str) == f].sort_values("level")
            n = len(rows)
            cells = []
            by_level = {int(r["level"]): r for _, r in rows.iterrows()}
            for i in range(nmax):
                # two-level features (agree / disagree) use the first and the last column
                level = (0 if i == 0 else (1 if i == nmax - 1 else None)) if n == 2 and nmax > 2 else i
                cells.append(_heat_cell(by_level.get(level) if level is not None else None, wmax))
            body.append(f"<tr><th>{e(f)}</th>{''.join(cells)}</tr>")
        out.append(f'<div class="scroll"><table class="data heat"><thead><tr>{head}</tr></thead>'
                   f"<tbody>{''.join(body)}</tbody></table></div>")
    if household:
        rows = model[model["feature"].astype(str) == "household"]
        by_level = {int(r["level"]): r for _, r in rows.iterrows()}
        if len(by_level) == 12:
            head = "<th>household (address × surname)</th>" + "".join(f'<th class="col">{e(s)}</th>' for s in _SURNAME_STATES)
            body = []
            for a, name in enumerate(_ADDRESS_STATES):
                cells = "".join(_heat_cell(by_level.get(a * 4 + s), wmax) for s in range(4))
                body.append(f"<tr><th>{e(name)}</th>{cells}</tr>")
            out.append(f'<div class="scroll"><table class="data heat"><thead><tr>{head}</tr></thead>'
                       f"<tbody>{''.join(body)}</tbody></table></div>")
    out.append('<p class="note">Each cell: the match weight log2(m/u) of a comparison level (blue = evidence for '
               "a match, red = against), with m = P(level | match) and u = P(level | non-match). Levels run from "
               "least similar (left) to exact agreement (right); for two-level features only "
               "“disagree” and “agree” are filled. m is shared by all source pairs; the u shown is the one "
               "stored in the linkage summary (the first source pair). A missing value on either side adds no "
               "evidence.</p>")
    return "".join(out)


def _level_name(i: int, n: int) -> str:
    if i == 0:
        return "0 · disagree"
    if i == n - 1:
        return f"{i} · exact"
    return str(i)


def _grouped_counts(counts: dict[int, int], cap: int) -> tuple[list[str], list[int]]:
    if not counts:
        return [], []
    labels, values = [], []
    top = max(counts)
    for k in range(1, min(top, cap - 1) + 1):
        labels.append(str(k))
        values.append(int(counts.get(k, 0)))
    if top >= cap:
        labels.append(f"{cap}+")
        values.append(int(sum(v for k, v in counts.items() if k >= cap)))
    return labels, values


def _linkage(d: RunData) -> str:
    if not d.pairs and d.n_entities is None:
        return '<p class="note">No linkage output was found (the link step did not run here).</p>'
    out = ["<p>The linkage unit compares every pair of sources on their encodings only. Candidate pairs get a "
           "match probability from a Fellegi–Sunter model fitted without labels (EM); pairs at or above the "
           "pair's threshold are linked one-to-one, and the links are merged into entities (persons). Entities "
           "at one address form a household.</p>"]
    k = [kpi(_n(d.n_records), "records linked"), kpi(_n(d.n_entities), "entities"),
         kpi(_n(d.n_households), "households"), kpi(_n(d.n_links), "pairwise links"),
         kpi(len(d.pairs), "source pairs compared")]
    out.append(f'<div class="kpis">{"".join(k)}</div>')
    if d.pairs:
        rows, row_cls = [], []
        for p in d.pairs:
            flags = Raw(" ".join(badge(f, "warn") for f in p.flags) or badge("ok", "ok"))
            size = f"{_n(p.n_a)} × {_n(p.n_b)}" if p.n_a is not None else "–"
            rows.append([p.label, size, p.blocking or "–", _n(p.n_candidates), _n(p.n_links),
                         _prob(p.threshold), _n(p.weight_threshold) if p.weight_threshold is not None else "–",
                         _n(p.estimated_matches), _pct(p.est_precision), _pct(p.est_recall), flags])
            row_cls.append("")
        out.append("<h3>Source pairs</h3>")
        out.append(html_table(
            ["pair", "records", "blocking", "candidates", "links", "threshold p", "≙ weight", "est. matches",
             "est. precision", "est. recall", "checks"],
            rows, numeric=[False, True, False, True, True, True, True, True, True, True, False], row_classes=row_cls,
            cls="data pairs wide"))
        basis = {p.recall_basis for p in d.pairs if p.recall_basis}
        recall_txt = ("the expected matches among the candidate pairs" if basis == {"candidates"}
                      else "the model's estimated number of matches among all record pairs")
        out.append(
            '<p class="note">Estimated precision = mean match probability of the accepted links; estimated recall = '
            f"their summed probability divided by {e(recall_txt)}. Both come from the model itself, not from "
            "labelled data: they are only as good as its calibration (correlated fields make them optimistic), and "
            "matches lost in blocking are not counted. Check a clerically reviewed sample where one can be made. "
            "“≙ weight” is the threshold on the match-weight scale of the histograms below. Checks: "
            "<em>threshold p &lt; 0.5</em> — links were accepted that the model thinks are more likely "
            "non-matches; <em>precision &lt; 80%</em> — many accepted links are doubtful; <em>≈ 0 matches "
            "expected</em> — the model sees (almost) no overlap between the two sources, so its threshold for "
            "the pair is unreliable. Review such pairs or set a fixed <code>match_threshold</code>.</p>")
        chart = svg.hbar_chart(
            [p.label for p in d.pairs],
            [("linked", [p.n_links or 0 for p in d.pairs], svg.PALETTE["blue"]),
             ("candidate, not linked", [max((p.n_candidates or 0) - (p.n_links or 0), 0) for p in d.pairs],
              svg.PALETTE["lightgrey"])],
            title="Candidates and links per source pair", width=1000, show_legend=True, x_label="record pairs",
        )
        out.append(_figure(chart))
        out.append("<h3>Match-weight distribution per source pair</h3>")
        if all(not p.has_candidates for p in d.pairs):
            out.append('<div class="callout info">This run saved the accepted links only, so the histograms show '
                       "links and not the candidates below the threshold. Runs that also write "
                       "<code>linkage/candidates.parquet</code> show the full distribution.</div>")
        edges = _weight_edges([x for p in d.pairs for x in (p.link_weights, p.rejected_weights)],
                              [p.weight_threshold for p in d.pairs])
        figs = "".join(_figure(_pair_histogram(p, edges)) for p in d.pairs)
        out.append(f'<div class="grid3">{figs}</div>')
        out.append('<p class="note">Dashed red line: the pair\'s probability threshold converted to the match-weight '
                   "scale (it depends on the pair's estimated share of matches, so it differs between pairs).</p>")
    if d.model is not None:
        out.append("<h3>Model: comparison levels</h3>")
        out.append(_model_table(d.model))
    if d.records_per_entity or d.source_combinations:
        out.append("<h3>Entities and households</h3>")
        figs = []
        labs, vals = _grouped_counts(d.records_per_entity, 6)
        if labs:
            figs.append(_figure(svg.bar_chart(labs, vals, title="Records per entity", width=360, height=220,
                                              x_label="records (sources) per entity", colour=svg.PALETTE["blue"])))
        labs, vals = _grouped_counts(d.entities_per_household, 8)
        if labs:
            figs.append(_figure(svg.bar_chart(labs, vals, title="Household size", width=360, height=220,
                                              x_label="entities per household", colour=svg.PALETTE["green"])))
        out.append(f'<div class="grid2">{"".join(figs)}</div>')
        if d.source_combinations:
            top = d.source_combinations[:12]
            rest = sum(v for _, v in d.source_combinations[12:])
            labels = [k for k, _ in top] + (["other combinations"] if rest else [])
            values = [v for _, v in top] + ([rest] if rest else [])
            out.append(_figure(svg.hbar_chart(labels, [("entities", values, svg.PALETTE["purple"])],
                                              title="Entities by combination of sources", width=1000,
                                              x_label="entities")))
    return "".join(out)


def _legend_html() -> str:
    items = "".join(f'<span><span class="sw st-{s}"></span>{e(_STATUS_TEXT[s])}</span>' for s in _STATUS_ORDER)
    return f'<div class="legend">{items}</div>'


def _release_grid(t: TableStats, max_rows: int = 80) -> str:
    df = t.table
    if df is None or not len(df):
        return '<p class="note">The table file is missing or empty.</p>'
    dims = [d for d in t.dims if d in df.columns]
    if not dims or "value" not in df.columns:
        return '<p class="note">The table has an unexpected layout; see the CSV file.</p>'

    def ordered(dim: str) -> list[str]:
        labels = list(dict.fromkeys(df[dim].astype(str)))
        lvl = f"{dim}_level"
        if lvl in df.columns:
            tot = set(df.loc[df[lvl].astype(str) == "total", dim].astype(str))
            labels = [x for x in labels if x not in tot] + [x for x in labels if x in tot]
        return labels

    def is_total(dim: str, label: str) -> bool:
        lvl = f"{dim}_level"
        if lvl not in df.columns:
            return False
        return bool((df.loc[df[dim].astype(str) == label, lvl].astype(str) == "total").any())

    status = df["status"].astype(str) if "status" in df.columns else pd.Series(["safe"] * len(df))
    cells = {}
    for i, key in enumerate(zip(*[df[d].astype(str) for d in dims])):
        cells[key] = (_value(df["value"].iloc[i]), status.iloc[i])
    row_dims, col_dim = (dims[:-1], dims[-1]) if len(dims) > 1 else (dims, None)
    cols = ordered(col_dim) if col_dim else [None]
    row_keys = list(dict.fromkeys(tuple(k[: len(row_dims)]) for k in cells))
    orders = [ordered(rd) for rd in row_dims]
    row_keys.sort(key=lambda k: tuple(orders[j].index(k[j]) for j in range(len(k))))
    if col_dim:
        head = "".join(f'<th rowspan="2" class="rowdim">{e(rd)}</th>' for rd in row_dims)
        head += f'<th colspan="{len(cols)}" class="coldim">{e(col_dim)}</th></tr><tr>'
        head += "".join(f'<th class="col{" tot" if is_total(col_dim, c) else ""}">{e(c)}</th>' for c in cols)
    else:
        head = f'<th class="rowdim">{e(row_dims[0])}</th><th class="col">value</th>'
    body = []
    for rk in row_keys[:max_rows]:
        tot_row = any(is_total(rd, lab) for rd, lab in zip(row_dims, rk))
        th = "".join(f'<th class="{"tot" if tot_row else ""}">{e(lab)}</th>' for lab in rk)
        tds = []
        for c in cols:
            key = rk + ((c,) if col_dim else ())
            if key not in cells:
                tds.append('<td class="st-empty"></td>')
                continue
            val, st = cells[key]
            cls = f"st-{st}" if st in _STATUS_ORDER else "st-other"
            if tot_row or (col_dim and is_total(col_dim, c)):
                cls += " tot"
            shown = val if val != "" else ("×" if st == "suppressed" else "")
            tds.append(f'<td class="{cls}" title="{e(st)}">{e(shown)}</td>')
        body.append(f"<tr>{th}{''.join(tds)}</tr>")
    more = ""
    if len(row_keys) > max_rows:
        more = (f'<p class="note">First {max_rows} of {len(row_keys)} rows shown; the full table is in '
                f"<code>release/{e(t.name)}.csv</code>.</p>")
    return (f'<div class="scroll"><table class="release"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table></div>{more}")


def _table_card(t: TableStats) -> str:
    r = t.report
    pol = t.policy
    dfn = r.get("definition", {}) or {}
    audit = r.get("audit", {}) or {}
    il = r.get("information_loss", {}) or {}
    pub = r.get("publication", {}) or {}
    sup = r.get("suppression", {}) or {}
    ledger = r.get("ledger") or {}
    passed = audit.get("passed")
    audit_badge = badge("audit passed", "ok") if passed else (badge("audit FAILED", "bad") if passed is False
                                                              else badge("no audit result", "warn"))
    out = [f'<div class="tablecard" id="table-{e(t.name)}"><h3>{e(t.name)} {audit_badge}</h3>']
    if dfn.get("description"):
        out.append(f"<p>{e(dfn['description'])}</p>")
    counts = t.public_status_counts()
    measure = dfn.get("measure", "?")
    unit = dfn.get("unit", "?")
    by = ", ".join(map(str, dfn.get("by", t.dims))) or "–"
    rules = []
    for key, label in (("min_persons", "≥ {} persons per cell"), ("min_households", "≥ {} households per cell"),
                       ("rounding_base", "rounded to multiples of {}")):
        if pol.get(key):
            rules.append(label.format(pol[key]))
    if pol.get("cell_key"):
        rules.append("cell-key perturbation")
    pubtxt = str(pub.get("method", "–"))
    if pub.get("method") == "rounding":
        pubtxt += f" to base {pub.get('base')} ({pub.get('rounding', '')})"
    elif pub.get("method") == "cell-key":
        pubtxt += f" (max noise ±{pub.get('max_noise')})"
    hidden = il.get("hidden_cells")
    n_cells = il.get("cells")
    items: list[tuple[str, Any]] = [
        ("table", f"{measure} of {unit}s by {by}"),
        ("policy", f"{pol.get('name', '?')} (version {pol.get('version', '?')})"),
        ("policy fingerprint", Raw(f'<code class="fp">{e(t.fingerprint or "–")}</code>')),
        ("policy rules", "; ".join(rules) or str(pol.get("description", "–"))),
        ("publication", pubtxt),
        ("secondary suppression", f"{sup.get('method', '–')}" + (" (optimal)" if sup.get("optimal") else "")),
        ("audit", Raw(f"{audit_badge} {e(audit.get('lp_solved', 0))} linear programs; attacker model: "
                      f"{e(audit.get('attacker_model', '–'))}")),
        ("information loss",
         (f"{hidden} of {n_cells} cells hidden ({_pct(il.get('hidden_cells_share'), 0)}); "
          f"{_pct(il.get('hidden_inner_value_share'), 0)} of the inner-cell total hidden")
         if hidden is not None and n_cells else "–"),
    ]
    if ledger:
        conflicts = ledger.get("conflicts") or []
        items.append(("ledger", f"compared with {ledger.get('releases_compared', 0)} earlier release(s); "
                                f"{len(conflicts)} differencing conflict(s)"))
    if r.get("created"):
        items.append(("released", str(r["created"])))
    half = 4
    out.append('<div class="grid2">')
    for part in (items[:half], items[half:]):
        out.append('<dl class="kv">' + "".join(f"<dt>{e(a)}</dt><dd>{e(b)}</dd>" for a, b in part) + "</dl>")
    out.append("</div>")
    if counts:
        order = [s for s in _STATUS_ORDER if s in counts] + [s for s in counts if s not in _STATUS_ORDER]
        summary = " · ".join(f"{counts[s]:,} {s}" for s in order)
        out.append(f'<h4>Cells ({e(summary)})</h4>')
    out.append(_legend_html())
    out.append(_release_grid(t))
    notes = list(r.get("notes") or [])
    if notes:
        out.append('<ul class="tight note">' + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>")
    out.append("</div>")
    return "".join(out)


def _release(d: RunData) -> str:
    if not d.tables and not d.refused:
        return '<p class="note">No table was released in this run (no release step, or no tables configured).</p>'
    out = ["<p>Only tables that pass the disclosure policy leave the analyst zone. Each cell is published as is, "
           "rounded or perturbed, or hidden; hidden cells include complementary cells hidden so that small cells "
           "cannot be recomputed from the margins. The audit checks, by linear programming, that no hidden cell "
           "can be narrowed down below its protection level from the published numbers.</p>"]
    shown = [t for t in d.tables if t.table is not None or t.report]
    if shown:
        labels = [t.name for t in shown]
        counts = [t.public_status_counts() for t in shown]
        statuses = [s for s in _STATUS_ORDER if any(s in c for c in counts)]
        series = [(s, [c.get(s, 0) for c in counts], _STATUS_CHART[s]) for s in statuses]
        out.append(_figure(svg.hbar_chart(labels, series, title="Cells per released table by status", width=1000,
                                          show_legend=True, x_label="cells")))
        out.extend(_table_card(t) for t in shown)
    if d.refused:
        out.append("<h3>Refused requests</h3>")
        out.append(html_table(["table", "reason"], [[k, v] for k, v in d.refused.items()], cls="data wide"))
    return "".join(out)


def _privacy(d: RunData) -> str:
    items = [
        "This report contains aggregates only: counts per source, reject reasons with counts, linkage "
        "statistics per source pair, model parameters, distributions of match weights and of entity and "
        "household sizes, and the released (already protected) tables with their disclosure audits.",
        "It contains no record-level data: no names, BSNs, birth dates, postcodes, house numbers or other "
        "identifying values, no record ids or row numbers, and no pseudonymous entity or household ids. "
        "Reject reasons are shown with quoted values, row numbers and long digit runs masked.",
        "Released tables are shown as published: primary and secondary suppression both read “suppressed”, and "
        "the true values of hidden cells are not shown. Information loss is given as shares only.",
        "No secret or key is read or shown; the schema fingerprint identifies the encoding settings, not the key.",
        "The counts in sections 2 and 3 (rejects, links, entity and household sizes, combinations of sources) "
        "are not disclosure-controlled: they describe the linkage, not the population, and may be small. The "
        "report is meant for the project team and the output checker; publish the release tables, not this report.",
        "The file is self-contained: no scripts, no external fonts, images or style sheets, so opening it makes "
        "no network requests.",
    ]
    return '<ul class="tight">' + "".join(f"<li>{e(i)}</li>" for i in items) + "</ul>"


# ----------------------------------------------------------------------------------- entry points
def render_report(data: RunData, *, generated: str | None = None) -> str:
    """The report for collected run data as one HTML string."""
    from pplink import __version__

    generated = generated or _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    sections = [
        ("overview", "Overview", _overview(data)),
        ("data-holders", "Data holders", _data_holders(data)),
        ("linkage", "Linkage", _linkage(data)),
        ("release", "Released tables", _release(data)),
        ("privacy", "Privacy notes", _privacy(data)),
    ]
    body = "".join(_section(a, i + 1, t, b) for i, (a, t, b) in enumerate(sections))
    title = f"pplink run report — {data.title}" if data.title else "pplink run report"
    subtitle = f"Generated {generated} · pplink {__version__} · aggregates only, no record-level data"
    return page(title, subtitle, [(a, f"{i + 1} {t}") for i, (a, t, _) in enumerate(sections)], body,
                f"pplink {__version__} · run report · {generated}")


def write_report(output_dir: str | Path, result: Any | None = None, *, title: str | None = None,
                 path: str | Path | None = None) -> Path:
    """Write ``output_dir/report.html`` for the run in ``output_dir`` and return its path.

    Reads the run's files (``encoded/``, ``linkage/``, ``release/``; each optional), so it
    works on any finished run directory; ``result`` (a :class:`~pplink.run.PipelineResult`)
    adds per-source row counts and refused tables. ``path`` writes elsewhere.
    """
    from pplink.io import atomic_path

    out = Path(output_dir)
    data = collect_run(out, result, title=title)
    target = Path(path) if path is not None else out / REPORT_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(target) as tmp:
        tmp.write_text(render_report(data), encoding="utf-8")
    return target
