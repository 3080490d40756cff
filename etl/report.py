"""The trend summary printed after an ingest: coverage per outlet per day, top entities, most-quoted
speakers — each from a query in the sql/ library, rendered with rich."""

from __future__ import annotations

from pathlib import Path

import duckdb
from rich.console import Console, Group
from rich.table import Table

from etl.queries import run_query

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
