"""Page skeleton, inline stylesheet and small HTML helpers for the run report.

Everything is inline (no external stylesheet, font, script or image), so the report is one
file that opens the same anywhere, including offline and in locked-down browsers.

Example:
    >>> html_table(["a", "b"], [["<x>", 1]])
    '<table class="data"><thead><tr><th>a</th><th class="num">b</th></tr></thead><tbody><tr><td>&lt;x&gt;</td><td class="num">1</td></tr></tbody></table>'
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

__all__ = ["CSS", "page", "html_table", "e", "kpi", "badge", "Raw"]


class Raw(str):
    """Markup that is already safe (built by this package); everything else is escaped."""


def e(x: object) -> str:
    """Escape text for HTML (content and attribute values); :class:`Raw` passes unchanged.

    Example:
        >>> e('<b a="1">'), e(Raw("<b>"))
        ('&lt;b a=&quot;1&quot;&gt;', '<b>')
    """
    if isinstance(x, Raw):
        return str(x)
    return escape("" if x is None else str(x), quote=True)


STATUS_COLOURS = {
    "safe": ("#e3f1e7", "#2f6b43"),
    "rounded": ("#e2ecf8", "#2a5489"),
    "perturbed": ("#eee6f8", "#5b3f8c"),
    "suppressed": ("#f1f2f4", "#59626d"),
}

CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#e4e7eb; --bg:#f5f7fa; --card:#ffffff;
        --accent:#3569a8; --ok:#2f6b43; --warn:#9a5b0b; --bad:#b3261e; }
* { box-sizing: border-box; }
html { background: var(--bg); }
body { margin: 0; color: var(--ink); font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto,
       "DejaVu Sans", Arial, sans-serif; }
header.top { background: #1d3557; color: #fff; padding: 22px 36px 18px; }
header.top h1 { margin: 0 0 4px; font-size: 22px; font-weight: 650; letter-spacing: .2px; }
header.top .meta { color: #c9d6e8; font-size: 13px; }
nav.toc { background: #16294a; padding: 8px 36px; }
nav.toc a { color: #dbe6f5; text-decoration: none; margin-right: 22px; font-size: 13px; }
nav.toc a:hover { text-decoration: underline; }
main { max-width: 1200px; margin: 0 auto; padding: 8px 28px 40px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
          padding: 18px 24px 20px; margin: 20px 0; }
h2 { font-size: 19px; margin: 0 0 12px; padding-bottom: 8px; border-bottom: 1px solid var(--line); }
h2 .num { color: var(--accent); margin-right: 8px; }
h3 { font-size: 15px; margin: 22px 0 8px; }
h4 { font-size: 14px; margin: 14px 0 6px; }
p { margin: 6px 0 10px; }
p.note, .note { color: var(--muted); font-size: 12.5px; }
code, .mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace;
              font-size: 12px; }
.fp { word-break: break-all; background: #f3f5f8; padding: 1px 5px; border-radius: 4px; }
.kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(122px, 1fr)); gap: 10px; margin: 8px 0 14px; }
.kpi { border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; background: #fbfcfd; }
.kpi .v { font-size: 21px; font-weight: 650; line-height: 1.2; }
.kpi .l { color: var(--muted); font-size: 12px; }
.grid2 { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 18px 26px; align-items: start; }
.grid3 { display: grid; grid-template-columns: repeat(3, minmax(0, 1fr)); gap: 16px 20px; align-items: start; }
.figure { margin: 6px 0 10px; }
.figure .cap { color: var(--muted); font-size: 12px; margin-top: 2px; }
table.data { border-collapse: collapse; font-size: 13px; margin: 6px 0 12px; }
table.data th, table.data td { border-bottom: 1px solid var(--line); padding: 5px 10px; text-align: left;
                               vertical-align: top; }
table.data th { background: #f3f5f8; font-weight: 600; font-size: 12.5px; color: #323f4b; }
table.data td.num, table.data th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.data td.num { white-space: nowrap; }
table.pairs td:first-child { white-space: nowrap; font-weight: 600; }
table.pairs { font-size: 12.5px; }
table.pairs th, table.pairs td { padding: 5px 7px; }
table.pairs td:last-child { min-width: 150px; }
table.pairs .badge { margin: 1px 2px 1px 0; white-space: normal; }
table.data tr.total td { font-weight: 600; }
table.wide { width: 100%; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600;
         border: 1px solid transparent; white-space: nowrap; }
.badge.ok { background: #e3f1e7; color: var(--ok); border-color: #b9dcc4; }
.badge.warn { background: #fcf0dc; color: var(--warn); border-color: #efd3a4; }
.badge.bad { background: #fbe4e2; color: var(--bad); border-color: #f0b8b3; }
.badge.info { background: #e2ecf8; color: #2a5489; border-color: #bcd0ec; }
.flag { color: var(--warn); font-size: 12px; }
.callout { border-left: 4px solid #efd3a4; background: #fdf7ec; padding: 8px 12px; border-radius: 4px;
           margin: 8px 0 12px; font-size: 13px; }
.callout.info { border-left-color: #bcd0ec; background: #f2f6fc; }
/* released tables */
table.release { border-collapse: separate; border-spacing: 2px; font-size: 12.5px; margin: 6px 0 6px; }
table.release th { background: #f3f5f8; padding: 4px 9px; font-weight: 600; text-align: left; white-space: nowrap; }
table.release th.col { text-align: center; }
table.release th.coldim { text-align: center; background: #e8ecf1; }
table.release th.rowdim { vertical-align: bottom; }
table.release td { padding: 4px 9px; text-align: right; min-width: 58px; font-variant-numeric: tabular-nums;
                   border-radius: 3px; }
table.release .tot { font-weight: 700; }
td.st-safe { background: #e3f1e7; color: #1f4d2f; }
td.st-rounded { background: #e2ecf8; color: #1f3f69; }
td.st-perturbed { background: #eee6f8; color: #452d6e; }
td.st-suppressed { color: #59626d; text-align: center;
  background: repeating-linear-gradient(135deg, #eceef1 0 5px, #f7f8fa 5px 10px); }
td.st-other { background: #fff4d6; }
td.st-empty { background: transparent; }
.legend { display: flex; flex-wrap: wrap; gap: 14px; font-size: 12px; color: var(--muted); margin: 4px 0 10px; }
.legend span.sw { display: inline-block; width: 14px; height: 14px; border-radius: 3px; vertical-align: -3px;
                  margin-right: 5px; border: 1px solid #d3d8de; }
.sw.st-safe { background: #e3f1e7; } .sw.st-rounded { background: #e2ecf8; } .sw.st-perturbed { background: #eee6f8; }
.sw.st-suppressed { background: repeating-linear-gradient(135deg, #e2e5e9 0 3px, #f7f8fa 3px 6px); }
.tablecard { border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; margin: 14px 0; }
.tablecard h3 { margin-top: 2px; }
.scroll { overflow-x: auto; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 3px 14px; margin: 6px 0 10px; font-size: 13px; }
dl.kv dt { color: var(--muted); }
dl.kv dd { margin: 0; }
.heat td.w { text-align: center; min-width: 62px; font-variant-numeric: tabular-nums; font-size: 12px; }
.heat td.w small { display: block; color: #4a5561; font-size: 10.5px; }
ul.tight { margin: 4px 0 10px 18px; padding: 0; }
ul.tight li { margin: 2px 0; }
footer { color: var(--muted); font-size: 12px; text-align: center; padding: 10px 0 30px; }
@media print { nav.toc { display: none; } section { break-inside: avoid-page; } html { background: #fff; } }
@media (max-width: 900px) { .grid2, .grid3 { grid-template-columns: 1fr; } }
"""


def kpi(value: object, label: str) -> str:
    """One headline figure."""
    return f'<div class="kpi"><div class="v">{e(value)}</div><div class="l">{e(label)}</div></div>'


def badge(text: str, kind: str = "info") -> str:
    """A small coloured label (``ok``, ``warn``, ``bad`` or ``info``)."""
    return f'<span class="badge {e(kind)}">{e(text)}</span>'


def html_table(header: Sequence[object], rows: Sequence[Sequence[Any]], *, cls: str = "data",
               numeric: Sequence[bool] | None = None, row_classes: Sequence[str] | None = None) -> str:
    """A simple table; numbers are right-aligned, every cell is escaped unless :class:`Raw`."""
    if numeric is None:
        numeric = [False] * len(header)
        for j in range(len(header)):
            col = [r[j] for r in rows if j < len(r)]
            numeric[j] = bool(col) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in col)
    head = "".join(f'<th class="num">{e(h)}</th>' if numeric[j] else f"<th>{e(h)}</th>" for j, h in enumerate(header))
    body = []
    for i, r in enumerate(rows):
        cells = []
        for j, v in enumerate(r):
            text = v if isinstance(v, Raw) else (f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else v)
            cells.append(f'<td class="num">{e(text)}</td>' if numeric[j] else f"<td>{e(text)}</td>")
        rc = f' class="{e(row_classes[i])}"' if row_classes and row_classes[i] else ""
        body.append(f"<tr{rc}>{''.join(cells)}</tr>")
    return f'<table class="{e(cls)}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def page(title: str, subtitle: str, toc: Sequence[tuple[str, str]], body: str, footer: str) -> str:
    """The whole document."""
    nav = "".join(f'<a href="#{e(anchor)}">{e(label)}</a>' for anchor, label in toc)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="pplink">\n'
        '<meta name="robots" content="noindex">\n'
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; '
        'img-src data:">\n'
        f"<title>{e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f'<header class="top"><h1>{e(title)}</h1><div class="meta">{e(subtitle)}</div></header>\n'
        f'<nav class="toc">{nav}</nav>\n<main>\n{body}\n</main>\n'
        f"<footer>{e(footer)}</footer>\n</body>\n</html>\n"
    )
