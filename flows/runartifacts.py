"""Publishing a run's report as Prefect artifacts: the markdown summary and the per-feed table.

The content is computed by etl/runreport.py from the store; this module only hands it to Prefect, under
keys per flow (`ingest-run-summary`, `ingest-feeds`, …) so that the UI's Artifacts page keeps the latest
of each and its history."""

from __future__ import annotations

import duckdb
from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from etl import runreport

__all__ = ["publish_run_report", "publish_run_report_safely"]


@task(name="publish-run-report", retries=2, retry_delay_seconds=2, cache_policy=NO_CACHE)
def publish_run_report(con: duckdb.DuckDBPyConnection, run_id: str) -> runreport.RunReport:
    """Read run `run_id` back from the store and publish its summary and per-feed table."""
    report = runreport.run_report(con, run_id)
    create_markdown_artifact(
        markdown=runreport.render_markdown(report),
        key=f"{report.flow}-run-summary",
        description=f"{report.flow} run {report.status}: {report.new_articles} new articles, "
        f"{report.error_total} errors",
    )
    create_table_artifact(
        table=runreport.feed_table(report),
        key=f"{report.flow}-feeds",
        description=f"Per-feed results of {report.flow} run {run_id}",
    )
    return report


def publish_run_report_safely(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Publish the run's artifacts; a failure to publish is logged, never the end of a run whose data is
    already committed."""
    try:
        publish_run_report(con, run_id)
    except Exception as exc:  # the report is a by-product: the run's outcome stands without it
        get_run_logger().warning("could not publish the run report: %s: %s", type(exc).__name__, exc)
