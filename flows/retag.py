"""The `retag` flow: tag stored articles again when the annotation version has changed (new pipeline,
rules, alias table or topic definitions), from their stored text, in batches (see etl/retag.py)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run

from etl import retag as steps
from etl import store
from etl.nlp.pipeline import Tagger
from etl.settings import Settings
from flows.dbwriter import database_writer
from flows.runartifacts import publish_run_report_safely


# One task for the whole walk: each batch commits on its own, so a retry carries on where it failed.
@task(name="retag-articles", retries=1, retry_delay_seconds=5, cache_policy=NO_CACHE)
def retag_articles(
    con: duckdb.DuckDBPyConnection, tagger: Tagger, since: datetime | None, topic: str | None, batch_size: int
) -> steps.RetagCounts:
    """Re-tag (or re-score `topic` for) every article whose tags are of another annotation version."""
    logger = get_run_logger()

    def progress(totals: steps.RetagCounts) -> None:
        logger.info("retagged %d articles in %d batches", totals.articles, totals.batches)

    return steps.retag(con, tagger, since=since, topic=topic, batch_size=batch_size, on_batch=progress)


@flow(name="retag")
def retag(
    db_path: str | None = None, since: datetime | None = None, topic: str | None = None
) -> dict[str, Any]:
    """Re-tag stored articles whose tags are not of the current annotation version (`since`: only those
    published then or later; `topic`: only re-score that topic). Returns the counts."""
    overrides: dict[str, Any] = {"db_path": Path(db_path)} if db_path else {}
    settings = Settings(**overrides)
    logger = get_run_logger()
    run_id = str(flow_run.get_id() or uuid.uuid4())
    tagger = Tagger.from_settings(settings)
    if topic is not None:
        steps.topic_definition(tagger, topic)  # fail before touching the database
    status = "failed"
    counts: dict[str, Any] = {}
    with database_writer("retag"):
        con = store.connect(settings.database, wait_s=settings.db_write_wait_s)
        try:
            store.upgrade(con, settings.sql_dir)
            store.start_run(con, run_id, "retag")
            try:
                store.register_alias_table(con, tagger.aliases.entries)
                totals = retag_articles(con, tagger, since, topic, settings.batch_size)
                counts = {"annotation_version": tagger.annotation_version, **dataclasses.asdict(totals)}
                status = "completed"
            finally:
                store.finish_run(con, run_id, status, counts, [])
                publish_run_report_safely(con, run_id)
        finally:
            con.close()
    logger.info("retag %s: %s", status, counts)
    return counts
