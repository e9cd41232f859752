"""A tiny SVG chart writer for the run report: bar charts, stacked bars and histograms.

No plotting library is needed; every function returns one self-contained ``<svg>`` element
as a string (inline styles only, no scripts, no external fonts or images). Every piece of
text is escaped, so labels taken from data cannot inject markup.

Example:
    >>> svg = bar_chart(["1", "2", "3"], [10, 4, 1], title="Records per entity")
    >>> svg.startswith("<svg") and svg.endswith("</svg>")
    True
    >>> "<script" in hbar_chart(["<script>"], [("n", [1], "#000")])
    False
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

__all__ = [
    "PALETTE",
    "nice_ticks",
    "fmt_number",
    "bar_chart",
    "hbar_chart",
    "histogram",
    "legend",
]

#: Colour-blind friendly colours (after Okabe & Ito), named by role.
PALETTE = {
    "blue": "#3569a8",
    "lightblue": "#9cc3e6",
    "orange": "#e08a2c",
    "green": "#3d8f5a",
    "red": "#c8413b",
    "grey": "#a7b0ba",
    "lightgrey": "#d9dee3",
    "purple": "#7c5cb0",
    "ink": "#1f2933",
    "muted": "#616e7c",
    "grid": "#e4e7eb",
}

_FONT = "system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',Arial,sans-serif"


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def fmt_number(x: float, digits: int = 3) -> str:
    """A short, readable number: thousands separators, few significant digits.

    Example:
        >>> fmt_number(1234567), fmt_number(0.5), fmt_number(12.0), fmt_number(-3.25)
        ('1,234,567', '0.5', '12', '-3.25')
    """
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if float(x).is_integer():
        return f"{int(x):,}"
    ax = abs(x)
    if ax >= 100:
        return f"{x:,.0f}"
    s = f"{x:.{digits}g}"
    return s


def nice_ticks(lo: float, hi: float, n: int = 5, *, integer: bool = False) -> list[float]:
    """About ``n`` round tick values covering ``[lo, hi]`` (whole numbers only with ``integer``).

    Example:
        >>> nice_ticks(0, 97)
        [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        >>> nice_ticks(-7.3, 41.2, 6)
        [-10.0, 0.0, 10.0, 20.0, 30.0, 40.0, 50.0]
        >>> nice_ticks(0, 1, 4, integer=True)
        [0.0, 1.0]
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return [0.0, 1.0]
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(n, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = mag
    for f in (1, 2, 2.5, 5, 10):
        step = f * mag
        if raw <= step:
            break
    if integer and step < 1:
        step = 1.0
    elif integer and not float(step).is_integer():
        step = math.ceil(step)
    start = math.floor(lo / step) * step
    stop = math.ceil(hi / step) * step
    count = int(round((stop - start) / step))
    return [float(round(start + i * step, 10)) for i in range(count + 1)]


def _svg_open(width: int, height: int, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(label)}" '
        f'style="max-width:100%;height:auto;font-family:{_FONT};font-size:12px">'
        f"<title>{_e(label)}</title>"
    )


def _text(x: float, y: float, s: object, *, anchor: str = "start", size: int = 12, fill: str | None = None,
          weight: str | None = None, baseline: str | None = None) -> str:
    attrs = [f'x="{x:.1f}"', f'y="{y:.1f}"', f'text-anchor="{anchor}"', f'font-size="{size}"',
             f'fill="{fill or PALETTE["ink"]}"']
    if weight:
        attrs.append(f'font-weight="{weight}"')
    if baseline:
        attrs.append(f'dominant-baseline="{baseline}"')
    return f"<text {' '.join(attrs)}>{_e(s)}</text>"


def _truncate(s: str, n: int) -> str:
    return s if len(s) <= n else s[: max(n - 1, 1)] + "…"


def legend(items: Sequence[tuple[str, str]], x: float, y: float, *, max_width: float = 10_000) -> tuple[str, float]:
    """Legend swatches in a row starting at ``(x, y)``; returns the SVG and the height used."""
    parts = []
    cx, cy = x, y
    for name, colour in items:
        w = 18 + 6.6 * len(name) + 14
        if cx + w > x + max_width and cx > x:
            cx, cy = x, cy + 18
        parts.append(f'<rect x="{cx:.1f}" y="{cy - 9:.1f}" width="11" height="11" rx="2" fill="{_e(colour)}"/>')
        parts.append(_text(cx + 16, cy, name, size=11, fill=PALETTE["muted"]))
        cx += w
    return "".join(parts), (cy - y) + 18


def hbar_chart(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float], str]],
    *,
    title: str = "",
    width: int = 640,
    bar_height: int = 20,
    label_width: int | None = None,
    show_totals: bool = True,
    show_legend: bool | None = None,
    x_label: str = "",
    integer: bool = True,
) -> str:
    """Horizontal bars, one row per label; several series are stacked left to right.

    ``series`` is a list of ``(name, values, colour)``; ``values`` align with ``labels``.

    Example:
        >>> svg = hbar_chart(["wmo", "jeugd"], [("encoded", [170, 79], "#36a"), ("rejected", [4, 0], "#c44")])
        >>> svg.count("<rect") >= 4
        True
    """
    labels = [str(s) for s in labels]
    n = len(labels)
    totals = [sum(float(s[1][i]) for s in series) for i in range(n)]
    vmax = max(totals + [0.0]) or 1.0
    ticks = nice_ticks(0.0, vmax, 4, integer=integer)
    vmax = ticks[-1]
    if label_width is None:
        label_width = int(min(max([len(s) for s in labels] + [4]) * 6.8 + 12, width * 0.4))
    show_legend = len(series) > 1 if show_legend is None else show_legend
    top = 28 if title else 8
    leg_svg, leg_h = legend([(s[0], s[2]) for s in series], label_width, top + 4, max_width=width - label_width) \
        if show_legend else ("", 0.0)
    top += leg_h + (4 if show_legend else 0)
    total_w = 64 if show_totals else 12
    plot_w = max(width - label_width - total_w, 50)
    row_h = bar_height + 8
    plot_h = n * row_h
    axis_h = 34 if x_label else 22
    height = int(top + plot_h + axis_h)
    out = [_svg_open(width, height, title or "bar chart")]
    if title:
        out.append(_text(0, 16, title, size=13, weight="600"))
    out.append(leg_svg)
    x0 = label_width

    def sx(v: float) -> float:
        return x0 + plot_w * (v / vmax if vmax else 0)

    for t in ticks:
        x = sx(t)
        out.append(f'<line x1="{x:.1f}" y1="{top:.1f}" x2="{x:.1f}" y2="{top + plot_h:.1f}" stroke="{PALETTE["grid"]}"/>')
        out.append(_text(x, top + plot_h + 14, fmt_number(t), anchor="middle", size=10, fill=PALETTE["muted"]))
    if x_label:
        out.append(_text(x0 + plot_w / 2, top + plot_h + 29, x_label, anchor="middle", size=11, fill=PALETTE["muted"]))
    for i, lab in enumerate(labels):
        y = top + i * row_h + 4
        out.append(_text(x0 - 8, y + bar_height / 2, _truncate(lab, int(label_width / 6.6)), anchor="end",
                         size=12, baseline="central"))
        left = 0.0
        for name, values, colour in series:
            v = float(values[i])
            if v > 0:
                xa, xb = sx(left), sx(left + v)
                out.append(
                    f'<rect x="{xa:.1f}" y="{y:.1f}" width="{max(xb - xa, 0.8):.1f}" height="{bar_height}" '
                    f'fill="{_e(colour)}"><title>{_e(lab)} – {_e(name)}: {_e(fmt_number(v))}</title></rect>'
                )
            left += v
        if show_totals:
            out.append(_text(sx(left) + 5, y + bar_height / 2, fmt_number(totals[i]), size=11,
                             fill=PALETTE["muted"], baseline="central"))
    out.append(f'<line x1="{x0:.1f}" y1="{top:.1f}" x2="{x0:.1f}" y2="{top + plot_h:.1f}" stroke="{PALETTE["muted"]}"/>')
    out.append("</svg>")
    return "".join(out)


def bar_chart(
    categories: Sequence[str],
    values: Sequence[float] | None = None,
    *,
    series: Sequence[tuple[str, Sequence[float], str]] | None = None,
    title: str = "",
    width: int = 420,
    height: int = 220,
    colour: str = PALETTE["blue"],
    x_label: str = "",
    y_label: str = "",
    value_labels: bool = True,
    integer: bool = True,
) -> str:
    """Vertical bars (a distribution over ordered categories); ``series`` stacks bars.

    Example:
        >>> svg = bar_chart(["1", "2"], [5, 2], x_label="records per entity")
        >>> "records per entity" in svg
        True
    """
    cats = [str(c) for c in categories]
    if series is None:
        series = [("count", list(values or []), colour)]
    n = max(len(cats), 1)
    totals = [sum(float(s[1][i]) for s in series) for i in range(len(cats))]
    vmax = max(totals + [0.0]) or 1.0
    ticks = nice_ticks(0.0, vmax, 4, integer=integer)
    vmax = ticks[-1]
    left = 14 + max(len(fmt_number(t)) for t in ticks) * 6.5 + (14 if y_label else 0)
    top = 28 if title else 10
    show_legend = len(series) > 1
    leg_svg, leg_h = legend([(s[0], s[2]) for s in series], left, top + 4, max_width=width - left) \
        if show_legend else ("", 0.0)
    top += leg_h + (6 if show_legend else 0) + (12 if value_labels else 0)
    bottom = 24 + (16 if x_label else 0)
    plot_w = width - left - 10
    plot_h = max(height - top - bottom, 40)
    out = [_svg_open(width, height, title or "bar chart")]
    if title:
        out.append(_text(0, 16, title, size=13, weight="600"))
    out.append(leg_svg)

    def sy(v: float) -> float:
        return top + plot_h - plot_h * (v / vmax if vmax else 0)

    for t in ticks:
        y = sy(t)
        out.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + plot_w:.1f}" y2="{y:.1f}" stroke="{PALETTE["grid"]}"/>')
        out.append(_text(left - 6, y, fmt_number(t), anchor="end", size=10, fill=PALETTE["muted"], baseline="central"))
    slot = plot_w / n
    bw = max(min(slot * 0.72, 56), 2)
    step_label = max(1, int(math.ceil(len(cats) * 7 * max([len(c) for c in cats] + [1]) / plot_w)))
    for i, c in enumerate(cats):
        cx = left + slot * (i + 0.5)
        base = 0.0
        for name, vals, col in series:
            v = float(vals[i])
            if v > 0:
                ya, yb = sy(base + v), sy(base)
                out.append(
                    f'<rect x="{cx - bw / 2:.1f}" y="{ya:.1f}" width="{bw:.1f}" height="{max(yb - ya, 0.8):.1f}" '
                    f'fill="{_e(col)}"><title>{_e(c)} – {_e(name)}: {_e(fmt_number(v))}</title></rect>'
                )
            base += v
        if value_labels and len(cats) <= 24:
            out.append(_text(cx, sy(base) - 4, fmt_number(base), anchor="middle", size=10, fill=PALETTE["muted"]))
        if i % step_label == 0:
            out.append(_text(cx, top + plot_h + 14, _truncate(c, 14), anchor="middle", size=11))
    out.append(f'<line x1="{left:.1f}" y1="{top + plot_h:.1f}" x2="{left + plot_w:.1f}" y2="{top + plot_h:.1f}" '
               f'stroke="{PALETTE["muted"]}"/>')
    if x_label:
        out.append(_text(left + plot_w / 2, height - 6, x_label, anchor="middle", size=11, fill=PALETTE["muted"]))
    if y_label:
        out.append(f'<text transform="translate(11,{top + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle" '
                   f'font-size="11" fill="{PALETTE["muted"]}">{_e(y_label)}</text>')
    out.append("</svg>")
    return "".join(out)


def histogram(
    edges: Sequence[float],
    series: Sequence[tuple[str, Sequence[float], str]],
    *,
    threshold: float | None = None,
    threshold_label: str = "threshold",
    title: str = "",
    width: int = 420,
    height: int = 220,
    x_label: str = "",
    y_label: str = "",
    note: str = "",
    integer: bool = True,
) -> str:
    """A histogram over ``edges`` (``len(edges) - 1`` bins); several series are stacked.

    ``threshold`` draws a dashed vertical line at that x value (clipped to the axis, with an
    arrow when it lies outside it).

    Example:
        >>> svg = histogram([0, 1, 2, 3], [("links", [0, 2, 5], "#36a")], threshold=1.5)
        >>> "stroke-dasharray" in svg
        True
    """
    edges = [float(e) for e in edges]
    nb = len(edges) - 1
    if nb < 1:
        edges, nb = [0.0, 1.0], 1
    totals = [sum(float(s[1][i]) for s in series) for i in range(nb)] if series else [0.0] * nb
    vmax = max(totals + [0.0]) or 1.0
    yt = nice_ticks(0.0, vmax, 4, integer=integer)
    vmax = yt[-1]
    lo, hi = edges[0], edges[-1]
    if hi <= lo:
        hi = lo + 1.0
    xt = [t for t in nice_ticks(lo, hi, 6) if lo - 1e-9 <= t <= hi + 1e-9]
    left = 14 + max(len(fmt_number(t)) for t in yt) * 6.5 + (14 if y_label else 0)
    top = 28 if title else 10
    show_legend = len(series) > 1
    leg_svg, leg_h = legend([(s[0], s[2]) for s in series], left, top + 4, max_width=width - left) \
        if show_legend else ("", 0.0)
    top += leg_h + (6 if show_legend else 0) + 14  # room for the threshold label
    bottom = 24 + (16 if x_label else 0)
    plot_w = width - left - 12
    plot_h = max(height - top - bottom, 40)
    out = [_svg_open(width, height, title or "histogram")]
    if title:
        out.append(_text(0, 16, title, size=13, weight="600"))
    out.append(leg_svg)

    def sx(v: float) -> float:
        return left + plot_w * (v - lo) / (hi - lo)

    def sy(v: float) -> float:
        return top + plot_h - plot_h * (v / vmax if vmax else 0)

    for t in yt:
        y = sy(t)
        out.append(f'<line x1="{left:.1f}" y1="{y:.1f}" x2="{left + plot_w:.1f}" y2="{y:.1f}" stroke="{PALETTE["grid"]}"/>')
        out.append(_text(left - 6, y, fmt_number(t), anchor="end", size=10, fill=PALETTE["muted"], baseline="central"))
    for i in range(nb):
        xa, xb = sx(edges[i]), sx(edges[i + 1])
        base = 0.0
        for name, vals, col in series:
            v = float(vals[i])
            if v > 0:
                ya, yb = sy(base + v), sy(base)
                out.append(
                    f'<rect x="{xa + 0.4:.1f}" y="{ya:.1f}" width="{max(xb - xa - 0.8, 0.6):.1f}" '
                    f'height="{max(yb - ya, 0.8):.1f}" fill="{_e(col)}"><title>{_e(name)} '
                    f'[{fmt_number(edges[i])}, {fmt_number(edges[i + 1])}): {_e(fmt_number(v))}</title></rect>'
                )
            base += v
    out.append(f'<line x1="{left:.1f}" y1="{top + plot_h:.1f}" x2="{left + plot_w:.1f}" y2="{top + plot_h:.1f}" '
               f'stroke="{PALETTE["muted"]}"/>')
    for t in xt:
        x = sx(t)
        out.append(f'<line x1="{x:.1f}" y1="{top + plot_h:.1f}" x2="{x:.1f}" y2="{top + plot_h + 4:.1f}" '
                   f'stroke="{PALETTE["muted"]}"/>')
        out.append(_text(x, top + plot_h + 15, fmt_number(t), anchor="middle", size=10, fill=PALETTE["muted"]))
    if threshold is not None and math.isfinite(threshold):
        inside = lo <= threshold <= hi
        x = sx(min(max(threshold, lo), hi))
        out.append(f'<line x1="{x:.1f}" y1="{top - 4:.1f}" x2="{x:.1f}" y2="{top + plot_h:.1f}" '
                   f'stroke="{PALETTE["red"]}" stroke-width="1.6" stroke-dasharray="5 3"/>')
        label = threshold_label + ("" if inside else (" →" if threshold > hi else " ←"))
        anchor = "end" if x > left + plot_w * 0.6 else "start"
        dx = -4 if anchor == "end" else 4
        out.append(_text(x + dx, top - 6, label, anchor=anchor, size=10, fill=PALETTE["red"], weight="600"))
    if x_label:
        out.append(_text(left + plot_w / 2, height - 6, x_label, anchor="middle", size=11, fill=PALETTE["muted"]))
    if y_label:
        out.append(f'<text transform="translate(11,{top + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle" '
                   f'font-size="11" fill="{PALETTE["muted"]}">{_e(y_label)}</text>')
    if note:
        out.append(_text(width - 2, 16, note, anchor="end", size=10, fill=PALETTE["muted"]))
    out.append("</svg>")
    return "".join(out)
