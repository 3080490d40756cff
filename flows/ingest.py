"""The `ingest` flow: poll feeds -> fetch new entries -> extract, dedup, tag in batches -> load.

Tasks wrap coarse units (all feeds, one batch of pages, one load) so that a run makes a few task runs
per hundred articles; everything inside a batch is plain Python in etl/."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from etl import ingest as steps
from etl import store
from etl.dedup import canonical_url
from etl.feeds import load_feed_sources
from etl.fetch import Fetcher
from etl.nlp.pipeline import Tagger
from etl.records import FeedEntry, FetchResult, ItemError
from etl.settings import Settings

# Live objects (clients, connections, the spaCy pipeline) are passed to tasks, so input hashing for
# caching is off; each task is a unit of retry and logging.
NETWORK_RETRIES = 2


@task(name="poll-feeds", retries=NETWORK_RETRIES, retry_delay_seconds=5, cache_policy=NO_CACHE)
def poll_feeds(fetcher: Fetcher, sources: Sequence[Any]) -> list[steps.FeedPollResult]:
    """Fetch and parse every feed (concurrently, politely)."""
    return steps.poll_feeds(fetcher, sources)


@task(name="fetch-batch", retries=NETWORK_RETRIES, retry_delay_seconds=5, cache_policy=NO_CACHE)
def fetch_batch(fetcher: Fetcher, urls: list[str]) -> list[FetchResult]:
    """Fetch one batch of article pages; per-URL failures come back as results, not exceptions."""
    return fetcher.fetch_many(urls)


@task(name="process-batch", cache_policy=NO_CACHE)
def process_batch(
    fetched: list[FetchResult], entries: list[FeedEntry], tagger: Tagger, raw_dir: Path, run_id: str
) -> steps.ProcessedBatch:
    """Keep raw bodies, extract, dedup and tag one batch."""
    return steps.process_batch(fetched, entries, tagger, raw_dir=raw_dir, run_id=run_id)


@task(name="load-batch", cache_policy=NO_CACHE)
def load_batch(con: duckdb.DuckDBPyConnection, batch: steps.ProcessedBatch, run_id: str) -> store.LoadCounts:
    """Load one processed batch in one transaction, then record what became of each URL."""
    counts = store.load_articles(con, batch.tagged, run_id=run_id)
    store.record_fetches(con, batch.fetch_records)
    return counts


def _run_id() -> str:
    return str(flow_run.get_id() or uuid.uuid4())


# The default thread pool has no cap; a few workers are plenty, since tasks are whole batches.
@flow(name="ingest", task_runner=ThreadPoolTaskRunner(max_workers=4))  # type: ignore[arg-type]
def ingest(
    feeds_file: str | None = None,
    db_path: str | None = None,
    data_dir: str | None = None,
    base_url: str | None = None,
) -> dict[str, int]:
    """Poll the feeds in `feeds_file` (default: NEWSWATCH_FEEDS_FILE) and load new articles into the
    DuckDB file. `base_url` fills `__BASE__` placeholders (used by the bundled demo). Returns counts."""
    overrides: dict[str, Any] = {}
    if feeds_file:
        overrides["feeds_file"] = Path(feeds_file)
    if db_path:
        overrides["db_path"] = Path(db_path)
    if data_dir:
        overrides["data_dir"] = Path(data_dir)
    settings = Settings(**overrides)
    return run_ingest(settings, base_url=base_url)


def run_ingest(settings: Settings, *, base_url: str | None = None) -> dict[str, int]:
    """The body of the ingest flow (call it inside a flow run)."""
    logger = get_run_logger()
    run_id = _run_id()
    counts: Counter[str] = Counter()
    errors: list[ItemError] = []
    sources = load_feed_sources(settings.feeds_file, base_url=base_url)
    con = store.connect(settings.database)
    try:
        store.upgrade(con, settings.sql_dir)
        store.start_run(con, run_id, "ingest")
        status = "failed"
        try:
            with Fetcher(settings) as fetcher:
                polls = poll_feeds(fetcher, sources)
                store.record_feed_polls(con, [p.poll for p in polls])
                errors.extend(p.error for p in polls if p.error is not None)
                entries = [entry for p in polls for entry in p.entries]
                counts.update(feeds=len(sources), feed_errors=sum(p.error is not None for p in polls))
                counts["entries_seen"] = len(entries)
                known = store.known_canonical_urls(con, (canonical_url(e.url) for e in entries))
                fresh = steps.select_new_entries(entries, known)
                counts["entries_new"] = len(fresh)
                logger.info("%d feeds, %d entries, %d new", len(sources), len(entries), len(fresh))
                if fresh:
                    _fetch_process_load(settings, fetcher, con, fresh, run_id, counts, errors)
            status = "completed_with_errors" if errors else "completed"
        finally:
            store.finish_run(
                con,
                run_id,
                status,
                dict(counts),
                [{"item": e.item, "stage": e.stage, "error": e.error} for e in errors[:500]],
            )
    finally:
        con.close()
    logger.info("run %s %s: %s", run_id, status, dict(counts))
    return dict(counts)


def _fetch_process_load(
    settings: Settings,
    fetcher: Fetcher,
    con: duckdb.DuckDBPyConnection,
    fresh: list[FeedEntry],
    run_id: str,
    counts: Counter[str],
    errors: list[ItemError],
) -> None:
    logger = get_run_logger()
    tagger = Tagger.from_settings(settings)
    batches = [fresh[i : i + settings.batch_size] for i in range(0, len(fresh), settings.batch_size)]
    # Fetches of later batches run in the task runner's threads while earlier ones are tagged and loaded.
    futures = [fetch_batch.submit(fetcher, [e.url for e in batch]) for batch in batches]
    for batch, future in zip(batches, futures, strict=True):
        fetched = future.result()
        processed = process_batch(fetched, batch, tagger, settings.raw_dir, run_id)
        loaded = load_batch(con, processed, run_id)
        errors.extend(processed.errors)
        outcomes = Counter(r.outcome for r in processed.fetch_records)
        counts.update(
            fetched=len(fetched),
            fetch_errors=outcomes["fetch_error"],
            extract_errors=outcomes["extract_error"],
            duplicates=outcomes["duplicate"],
            articles_loaded=loaded.articles,
            mentions_loaded=loaded.mentions,
            quotes_loaded=loaded.quotes,
        )
        logger.info("batch: %d fetched, %d loaded, %s", len(fetched), loaded.articles, dict(outcomes))
