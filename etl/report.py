"""Reports from the sql/ library: the trend summary printed after an ingest (rich tables), and the HTML
trend report (`newswatch report`, the `report` flow): one self-contained page of charts, each with the
SQL it came from."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from html import escape
from pathlib import Path
from typing import Any

import duckdb
from rich.console import Console, Group
from rich.table import Table

from etl import charts
from etl.queries import load_query, run_query

QUOTE_CHARS = 36

# (query name, parameters, heading, columns to show)
SUMMARY_SECTIONS: tuple[tuple[str, dict[str, str], str, tuple[str, ...]], ...] = (
    (
        "daily_topic_coverage",
        {},
        "Articles about Russian interference per outlet per day",
        ("published_day", "outlet", "articles", "relevant_articles", "share_relevant"),
    ),
    (
        "top_entities",
        {"limit": "10"},
        "Top entities in relevant articles",
        ("canonical", "label", "articles", "mentions"),
    ),
    (
        "top_speakers",
        {"limit": "10"},
        "Most-quoted speakers",
        ("speaker_canonical", "quotes", "articles", "outlets", "example_quote"),
    ),
)


def summary_tables(con: duckdb.DuckDBPyConnection, sql_dir: Path) -> Group:
    """The summary as rich tables (one per section), from the library queries."""
    tables = []
    for name, params, heading, wanted in SUMMARY_SECTIONS:
        columns, rows = run_query(con, sql_dir, name, params)
        shown = [c for c in wanted if c in columns]
        table = Table(title=heading, title_justify="left", show_lines=False)
        index = [columns.index(c) for c in shown]
        for column in shown:
            table.add_column(column, no_wrap=True)
        for row in rows:
            # The example quote gives way to the names and numbers, so the table fits a terminal.
            table.add_row(
                *(
                    _cell(row[i], QUOTE_CHARS if c == "example_quote" else None)
                    for c, i in zip(shown, index, strict=True)
                )
            )
        if not rows:
            table.caption = "no rows"
        tables.append(table)
    return Group(*tables)


def print_summary(con: duckdb.DuckDBPyConnection, sql_dir: Path, console: Console | None = None) -> None:
    """Print the trend summary."""
    (console or Console()).print(summary_tables(con, sql_dir))


def _cell(value: object, limit: int | None = None) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    text = str(value)
    return text if limit is None or len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ---------------------------------------------------------------------------------------------------
# The HTML trend report: one self-contained file (inline SVG and CSS, no script or font from anywhere
# else), each chart with the query and parameters it came from.

REPORT_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1000px; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.15rem; margin-top: 2.2rem; }
section { border-top: 1px solid #ddd; }
svg { display: block; margin: 0.6rem 0; max-width: 100%; height: auto; }
details pre { background: #f6f6f6; padding: 0.7rem; overflow-x: auto; font-size: 0.8rem; }
.meta { color: #666; font-size: 0.9rem; }
"""

# Runs in the reader's browser: records script errors and which charts drew marks, so that a headless
# browser (and a curious reader) can check that every chart rendered.
REPORT_CHECK_SCRIPT = """
window.reportErrors = [];
window.addEventListener('error', function (e) { window.reportErrors.push(String(e.message)); });
window.addEventListener('load', function () {
  var charts = Array.prototype.slice.call(document.querySelectorAll('svg[data-chart]'));
  var drawn = charts.filter(function (svg) {
    var box = svg.getBBox();
    return box.width > 0 && box.height > 0 && svg.querySelectorAll('rect, circle, polyline').length > 0;
  });
  document.body.setAttribute('data-charts', String(charts.length));
  document.body.setAttribute('data-drawn', String(drawn.length));
  document.body.setAttribute('data-errors', String(window.reportErrors.length));
});
"""


@dataclass(frozen=True)
class ReportSection:
    """One chart of the report and the query behind it."""

    heading: str
    query: str
    params: dict[str, str]
    svg: str
    note: str = ""


def _rows(
    con: duckdb.DuckDBPyConnection, sql_dir: Path, name: str, params: dict[str, str]
) -> list[dict[str, Any]]:
    columns, rows = run_query(con, sql_dir, name, params)
    return [dict(zip(columns, row, strict=True)) for row in rows]


def report_sections(
    con: duckdb.DuckDBPyConnection,
    sql_dir: Path,
    *,
    since: date | None = None,
    until: date | None = None,
    topic: str = "russian_interference",
) -> list[ReportSection]:
    """The report's charts, each from a query of the sql/ library run with bound parameters."""
    window = {k: v.isoformat() for k, v in (("since", since), ("until", until)) if v is not None}
    scoped = {**window, "topic": topic}
    sections = []

    coverage = _rows(con, sql_dir, "daily_topic_coverage", scoped)
    by_outlet: dict[str, list[tuple[date, float]]] = defaultdict(list)
    share_by_outlet: dict[str, list[tuple[date, float]]] = defaultdict(list)
    for row in coverage:
        by_outlet[row["outlet"]].append((row["published_day"], float(row["relevant_articles"])))
        share_by_outlet[row["outlet"]].append((row["published_day"], float(row["share_relevant"] or 0)))
    sections.append(
        ReportSection(
            f"Articles about {topic} per outlet per day",
            "daily_topic_coverage",
            scoped,
            charts.line_chart(by_outlet, "articles per outlet per day"),
        )
    )
    sections.append(
        ReportSection(
            f"Share of each outlet's articles that are about {topic}",
            "daily_topic_coverage",
            scoped,
            charts.line_chart(share_by_outlet, "share of each outlet's volume", percent=True),
            "Each outlet's relevant articles divided by all its articles that day.",
        )
    )

    stories = _rows(con, sql_dir, "stories_vs_placements", scoped)
    sections.append(
        ReportSection(
            "Independent stories and placements per day",
            "stories_vs_placements",
            scoped,
            charts.line_chart(
                {
                    "placements (every article)": [
                        (r["published_day"], float(r["placements"])) for r in stories
                    ],
                    "stories (syndicated copies once)": [
                        (r["published_day"], float(r["stories"])) for r in stories
                    ],
                },
                "stories vs placements",
            ),
        )
    )

    top = {**scoped, "limit": "15"}
    entities = _rows(con, sql_dir, "top_entities", top)
    sections.append(
        ReportSection(
            "Top entities (articles mentioning them)",
            "top_entities",
            top,
            charts.bar_chart([(r["canonical"], float(r["articles"])) for r in entities], "top entities"),
        )
    )

    weekly_params = {**scoped, "limit": "5"}
    weekly = _rows(con, sql_dir, "top_entities_weekly", weekly_params)
    leaders = [r["canonical"] for r in entities[:5]]
    trend: dict[str, list[tuple[date, float]]] = {name: [] for name in leaders}
    for row in weekly:
        if row["canonical"] in trend:
            trend[row["canonical"]].append((row["week"], float(row["articles"])))
    sections.append(
        ReportSection(
            "The top five entities week by week",
            "top_entities_weekly",
            weekly_params,
            charts.line_chart({k: v for k, v in trend.items() if v}, "top entities per week"),
            "A week where an entity is not among that week's top five shows no point.",
        )
    )

    speaker_params = {**window, "limit": "15"}
    speakers = _rows(con, sql_dir, "top_speakers", speaker_params)
    sections.append(
        ReportSection(
            "Most-quoted speakers",
            "top_speakers",
            speaker_params,
            charts.bar_chart(
                [(r["speaker_canonical"], float(r["quotes"])) for r in speakers], "most-quoted speakers"
            ),
        )
    )

    mix_params = {**scoped, "period": "week"}
    mix = _rows(con, sql_dir, "subtopic_mix", mix_params)
    weeks = sorted({r["period_start"] for r in mix})
    subtopics = sorted({r["subtopic"] for r in mix})
    counts = {(r["period_start"], r["subtopic"]): float(r["articles"]) for r in mix}
    sections.append(
        ReportSection(
            f"Sub-topics of {topic} per week",
            "subtopic_mix",
            mix_params,
            charts.stacked_columns(
                [w.isoformat() for w in weeks],
                {s.removeprefix(f"{topic}."): [counts.get((w, s), 0.0) for w in weeks] for s in subtopics},
                "sub-topic mix per week",
            ),
            "An article can belong to several sub-topics.",
        )
    )

    pair_params = {**scoped, "limit": "40"}
    pairs = _rows(con, sql_dir, "entity_comentions", pair_params)
    names: list[str] = []
    for row in pairs:
        for name in (row["entity_a"], row["entity_b"]):
            if name not in names and len(names) < 12:
                names.append(name)
    matrix = {
        (r["entity_a"], r["entity_b"]): float(r["articles"])
        for r in pairs
        if r["entity_a"] in names and r["entity_b"] in names
    }
    sections.append(
        ReportSection(
            "Entities mentioned together (articles)",
            "entity_comentions",
            pair_params,
            charts.heatmap(names, matrix, "entity co-mentions"),
        )
    )
    return sections


def render_html_report(sections: list[ReportSection], sql_dir: Path, *, title: str, subtitle: str) -> str:
    """One self-contained HTML page: every chart, then the SQL and parameters it came from."""
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{escape(title)}</title><style>{REPORT_CSS}</style>",
        f"<script>{REPORT_CHECK_SCRIPT}</script></head><body>",
        f"<h1>{escape(title)}</h1><p class='meta'>{escape(subtitle)}</p>",
    ]
    for section in sections:
        _, sql_text = load_query(sql_dir, section.query)
        shown = ", ".join(f"{k}={v}" for k, v in section.params.items()) or "defaults"
        parts.append(f"<section><h2>{escape(section.heading)}</h2>{section.svg}")
        if section.note:
            parts.append(f"<p class='meta'>{escape(section.note)}</p>")
        parts.append(
            f"<details><summary>SQL: <code>{escape(section.query)}</code> ({escape(shown)})</summary>"
            f"<pre>{escape(sql_text)}</pre></details></section>"
        )
    parts.append("</body></html>")
    return "".join(parts)


def write_html_report(
    con: duckdb.DuckDBPyConnection,
    sql_dir: Path,
    out: Path,
    *,
    since: date | None = None,
    until: date | None = None,
    topic: str = "russian_interference",
    generated_at: datetime | None = None,
) -> Path:
    """Build the trend report from the database and write it to `out` (parent folders created)."""
    sections = report_sections(con, sql_dir, since=since, until=until, topic=topic)
    when = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    window = f"{since or 'the first article'} to {until or 'the latest'}"
    html = render_html_report(
        sections, sql_dir, title=f"newswatch: {topic}", subtitle=f"Articles from {window}; generated {when}."
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
