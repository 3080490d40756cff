"""The `report` flow: write the HTML trend report (etl.report) on a schedule and link it in an artifact."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.cache_policies import NO_CACHE

from etl import store
from etl.report import write_html_report
from etl.settings import Settings


@task(name="write-report", retries=1, retry_delay_seconds=10, cache_policy=NO_CACHE)
def write_report(settings: Settings, out: Path, since: date | None, topic: str) -> Path:
    """Build the report from a read-only connection and write it; a retry covers a writer holding the file."""
    con = store.connect(settings.database, read_only=True)
    try:
        return write_html_report(con, settings.sql_dir, out, since=since, topic=topic)
    finally:
        con.close()


@flow(name="report")
def report(
    out: str | None = None,
    since: date | None = None,
    topic: str = "russian_interference",
    db_path: str | None = None,
) -> str:
    """Write the trend report (default: `<data dir>/reports/report.html`) and publish a markdown artifact
    that links to it. Returns the file's path."""
    overrides: dict[str, Any] = {"db_path": Path(db_path)} if db_path else {}
    settings = Settings(**overrides)
    target = Path(out) if out else settings.data_dir / "reports" / "report.html"
    written = write_report(settings, target.resolve(), since, topic)
    create_markdown_artifact(
        key="trend-report",
        markdown=(
            f"# Trend report: {topic}\n\n"
            f"Written to [{written}]({written.as_uri()}) from `{settings.database}`"
            f"{f', articles since {since}' if since else ''}."
        ),
        description="The HTML trend report of this run",
    )
    get_run_logger().info("trend report written to %s", written)
    return str(written)
