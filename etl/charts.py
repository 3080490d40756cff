"""Charts as inline SVG strings, for a report that works offline: no JavaScript library, no CDN.

Each function takes plain Python data (labels, numbers, dates) and returns one `<svg>` element with a
`data-chart` attribute naming its kind and a `<title>` per mark, so a browser shows the values on hover.
An empty input gives an SVG with a "no data" note rather than an error."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from html import escape

# Colour-blind-safe categorical palette (Okabe-Ito), then greys.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000", "#999999")
FONT = "font-family='system-ui, sans-serif' font-size='11'"


def colour(i: int) -> str:
    """The i-th series colour."""
    return PALETTE[i % len(PALETTE)]


def _el(name: str, inner: str = "", **attrs: object) -> str:
    """One SVG element; attribute names with `_` are written with `-` (fill_opacity -> fill-opacity)."""
    written = " ".join(
        f"{k.replace('_', '-')}='{v:.1f}'" if isinstance(v, float) else f"{k.replace('_', '-')}='{v}'"
        for k, v in attrs.items()
    )
    return f"<{name} {written}>{inner}</{name}>" if inner else f"<{name} {written}/>"


def _svg(kind: str, width: int, height: int, body: list[str], label: str) -> str:
    head = (
        f"<svg xmlns='http://www.w3.org/2000/svg' data-chart='{kind}' role='img' "
        f"aria-label='{escape(label)}' viewBox='0 0 {width} {height}' "
        f"width='{width}' height='{height}' {FONT}>"
    )
    return head + "".join(body) + "</svg>"


def _empty(kind: str, label: str, width: int = 640, height: int = 60) -> str:
    return _svg(
        kind, width, height, [f"<text x='10' y='30' fill='#666'>no data for {escape(label)}</text>"], label
    )


def _nice_max(value: float) -> float:
    """A round axis maximum at or above value (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 0.1
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return float(step * magnitude)
    return float(10 * magnitude)


def line_chart(
    series: Mapping[str, Sequence[tuple[date, float]]],
    label: str,
    *,
    width: int = 720,
    height: int = 280,
    percent: bool = False,
) -> str:
    """One line per series over dates (x) with a y axis from 0, and a legend."""
    points = [(d, v) for values in series.values() for d, v in values]
    if not points:
        return _empty("line", label)
    days = sorted({d for d, _ in points})
    first, last = days[0], days[-1]
    span = max((last - first).days, 1)
    top = 1.0 if percent else _nice_max(max(v for _, v in points))
    left, right, upper, lower = 48, 160, 14, 34
    plot_w, plot_h = width - left - right, height - upper - lower

    def x(d: date) -> float:
        return left + plot_w * (d - first).days / span

    def y(v: float) -> float:
        return upper + plot_h * (1 - v / top)

    body = [
        f"<line x1='{left}' y1='{upper + plot_h}' x2='{left + plot_w}' y2='{upper + plot_h}' stroke='#999'/>"
    ]
    for tick in (0, top / 2, top):
        shown = f"{tick:.0%}" if percent else f"{tick:g}"
        body.append(f"<text x='{left - 6}' y='{y(tick) + 4:.1f}' text-anchor='end'>{shown}</text>")
        body.append(
            f"<line x1='{left}' y1='{y(tick):.1f}' x2='{left + plot_w}' y2='{y(tick):.1f}' stroke='#eee'/>"
        )
    for d in (first, last):
        body.append(f"<text x='{x(d):.1f}' y='{height - 12}' text-anchor='middle'>{d.isoformat()}</text>")
    for i, (name, values) in enumerate(series.items()):
        ordered = sorted(values)
        path = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in ordered)
        body.append(f"<polyline fill='none' stroke='{colour(i)}' stroke-width='2' points='{path}'/>")
        for d, v in ordered:
            shown = f"{v:.0%}" if percent else f"{v:g}"
            body.append(
                f"<circle cx='{x(d):.1f}' cy='{y(v):.1f}' r='2.5' fill='{colour(i)}'>"
                f"<title>{escape(name)} {d.isoformat()}: {shown}</title></circle>"
            )
        legend_y = upper + 14 * i + 8
        body.append(
            f"<rect x='{width - right + 12}' y='{legend_y - 8}' width='10' height='10' fill='{colour(i)}'/>"
        )
        body.append(f"<text x='{width - right + 26}' y='{legend_y + 1}'>{escape(name[:30])}</text>")
    return _svg("line", width, height, body, label)


def bar_chart(items: Sequence[tuple[str, float]], label: str, *, width: int = 720, bar: int = 18) -> str:
    """Horizontal bars, one per (name, value), largest first as given."""
    if not items:
        return _empty("bar", label)
    left, right = 190, 50
    height = bar * len(items) + 20
    top = max(v for _, v in items) or 1.0
    body = []
    for i, (name, value) in enumerate(items):
        length = (width - left - right) * value / top
        y = 10 + i * bar
        body.append(
            f"<text x='{left - 6}' y='{y + bar * 0.65:.1f}' text-anchor='end'>{escape(name[:30])}</text>"
        )
        tip = _el("title", f"{escape(name)}: {value:g}")
        body.append(_el("rect", tip, x=left, y=y + 2, width=max(length, 1.0), height=bar - 4, fill=colour(0)))
        body.append(f"<text x='{left + length + 4:.1f}' y='{y + bar * 0.65:.1f}'>{value:g}</text>")
    return _svg("bar", width, height, body, label)


def stacked_columns(
    columns: Sequence[str],
    stacks: Mapping[str, Sequence[float]],
    label: str,
    *,
    width: int = 720,
    height: int = 260,
) -> str:
    """One column per x label, stacked by series (each series has one value per column), with a legend."""
    if not columns or not stacks:
        return _empty("stacked", label)
    totals = [sum(values[i] for values in stacks.values()) for i in range(len(columns))]
    top = _nice_max(max(totals))
    left, right, upper, lower = 48, 190, 14, 34
    plot_w, plot_h = width - left - right, height - upper - lower
    slot = plot_w / len(columns)
    body = [f"<text x='{left - 6}' y='{upper + 4}' text-anchor='end'>{top:g}</text>"]
    for i, column in enumerate(columns):
        base = float(upper + plot_h)
        for j, (name, values) in enumerate(stacks.items()):
            h = plot_h * values[i] / top
            if h <= 0:
                continue
            base -= h
            tip = _el("title", f"{escape(name)} {escape(column)}: {values[i]:g}")
            body.append(
                _el(
                    "rect",
                    tip,
                    x=left + i * slot + 2,
                    y=base,
                    width=max(slot - 4, 1.0),
                    height=h,
                    fill=colour(j),
                )
            )
        body.append(
            _el("text", escape(column), x=left + (i + 0.5) * slot, y=height - 12, text_anchor="middle")
        )
    for j, name in enumerate(stacks):
        legend_y = upper + 14 * j + 8
        body.append(
            f"<rect x='{width - right + 12}' y='{legend_y - 8}' width='10' height='10' fill='{colour(j)}'/>"
        )
        body.append(f"<text x='{width - right + 26}' y='{legend_y + 1}'>{escape(name[:30])}</text>")
    return _svg("stacked", width, height, body, label)


def heatmap(
    labels: Sequence[str], values: Mapping[tuple[str, str], float], label: str, *, cell: int = 26
) -> str:
    """A symmetric matrix (co-mentions): darker cells for larger values, the value written in each."""
    if not labels or not values:
        return _empty("heatmap", label)
    left, upper = 170, 120
    size = cell * len(labels)
    top = max(values.values()) or 1.0
    body = []
    for i, name in enumerate(labels):
        body.append(
            _el("text", escape(name[:24]), x=left - 6, y=upper + i * cell + cell * 0.65, text_anchor="end")
        )
        x = left + i * cell + cell / 2
        turned = f"translate({x:.1f},{upper - 6}) rotate(-50)"
        body.append(_el("text", escape(name[:24]), transform=turned, text_anchor="start"))
    for i, a in enumerate(labels):
        for j, b in enumerate(labels):
            value = values.get((a, b), values.get((b, a), 0.0))
            opacity = 0.08 + 0.92 * value / top if value else 0.03
            tip = _el("title", f"{escape(a)} + {escape(b)}: {value:g}")
            body.append(
                _el(
                    "rect",
                    tip,
                    x=left + j * cell,
                    y=upper + i * cell,
                    width=cell - 1,
                    height=cell - 1,
                    fill=colour(0),
                    fill_opacity=f"{opacity:.2f}",
                )
            )
            if value:
                ink = "#fff" if opacity > 0.5 else "#000"
                body.append(
                    f"<text x='{left + j * cell + cell / 2:.1f}' y='{upper + i * cell + cell * 0.65:.1f}' "
                    f"text-anchor='middle' fill='{ink}'>{value:g}</text>"
                )
    return _svg("heatmap", left + size + 20, upper + size + 20, body, label)
