"""The `ingest` flow: poll due feeds -> fetch new entries -> extract, dedup, tag in batches -> load.

Tasks wrap coarse units (one round of feed polls, one batch of pages, one load) so that a run makes a few
task runs per hundred articles; everything inside a batch is plain Python in etl/."""

from __future__ import annotations

import uuid
from collections import Counter
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from etl import ingest as steps
from etl import store
from etl.archive import archiver_for
from etl.dedup import canonical_url
from etl.feeds import load_feed_sources
from etl.fetch import Fetcher
from etl.nlp.pipeline import Tagger
from etl.polling import FeedState
from etl.records import FeedEntry, FetchRequest, FetchResult, ItemError
from etl.settings import Settings
from flows.dbwriter import database_writer
from flows.runartifacts import publish_run_report_safely

# Live objects (clients, connections, the spaCy pipeline) are passed to tasks, so input hashing for
# caching is off; each task is a unit of retry and logging.
NETWORK_RETRIES = 2
# Past the fetcher's own deadline (settings.fetch_batch_deadline_s), for a task Prefect can interrupt.
TASK_TIMEOUT_MARGIN_S = 60.0


# Timeouts: both network tasks pass `fetch_batch_deadline_s` to the fetcher, which cancels what is not done
# by then and records it as a `timeout:` error. That is the timeout that works in a worker thread, where
# fetch-batch runs and where Prefect's `timeout_seconds` cannot interrupt a blocking wait; poll-feeds runs
# on the flow's thread and also carries a Prefect timeout (set per run, from the settings) as a backstop.
@task(name="poll-feeds", retries=NETWORK_RETRIES, retry_delay_seconds=5, cache_policy=NO_CACHE)
def poll_feeds(fetcher: Fetcher, states: list[FeedState]) -> list[steps.FeedRead]:
    """Fetch (conditionally, politely, concurrently) and read every due feed, within the batch deadline."""
    return steps.poll_feeds(fetcher, states, deadline_s=fetcher.settings.fetch_batch_deadline_s)


@task(name="fetch-batch", retries=NETWORK_RETRIES, retry_delay_seconds=5, cache_policy=NO_CACHE)
def fetch_batch(fetcher: Fetcher, requests: list[FetchRequest]) -> list[FetchResult]:
    """Fetch one batch of article pages within the batch deadline; per-URL failures (a deadline passed
    included) come back as results, not exceptions."""
    return fetcher.fetch_many(requests, deadline_s=fetcher.settings.fetch_batch_deadline_s)


@task(name="process-batch", cache_policy=NO_CACHE)
def process_batch(
    fetched: list[FetchResult], entries: list[FeedEntry], tagger: Tagger, settings: Settings, run_id: str
) -> steps.ProcessedBatch:
    """Keep raw bodies, extract, dedup and tag one batch."""
    return steps.process_batch(
        fetched,
        entries,
        tagger,
        raw_dir=settings.raw_dir,
        run_id=run_id,
        expected_language=settings.expected_language,
    )


@task(name="load-batch", cache_policy=NO_CACHE)
def load_batch(
    con: duckdb.DuckDBPyConnection, batch: steps.ProcessedBatch, run_id: str
) -> tuple[store.LoadCounts, list[store.FetchRecord]]:
    """Load one processed batch in one transaction, then record what became of each URL."""
    counts = store.load_articles(con, batch.tagged, run_id=run_id)
    records = steps.mark_already_stored(batch.fetch_records, counts.already_stored)
    store.record_fetches(con, records)
    return counts, records


def _run_id() -> str:
    return str(flow_run.get_id() or uuid.uuid4())


# The default thread pool has no cap; a few workers are plenty, since tasks are whole batches.
@flow(name="ingest", task_runner=ThreadPoolTaskRunner(max_workers=4))  # type: ignore[arg-type]
def ingest(
    feeds_file: str | None = None,
    db_path: str | None = None,
    data_dir: str | None = None,
    base_url: str | None = None,
    allow_networks: list[str] | None = None,
    poll_all: bool = False,
) -> dict[str, int]:
    """Register the feeds in `feeds_file` (default: NEWSWATCH_FEEDS_FILE), poll the due ones (all of them
    with `poll_all`), and load new articles into the DuckDB file. `base_url` fills `__BASE__`
    placeholders and `allow_networks` lets the fetcher reach those private networks (both used by the
    bundled demo, which serves its outlets on 127.0.0.1). Returns the run's counts."""
    overrides: dict[str, Any] = {}
    if feeds_file:
        overrides["feeds_file"] = Path(feeds_file)
    if db_path:
        overrides["db_path"] = Path(db_path)
    if data_dir:
        overrides["data_dir"] = Path(data_dir)
    if allow_networks:
        overrides["fetch_allow_networks"] = allow_networks
    settings = Settings(**overrides)
    return run_ingest(settings, base_url=base_url, poll_all=poll_all)


def run_ingest(settings: Settings, *, base_url: str | None = None, poll_all: bool = False) -> dict[str, int]:
    """The body of the ingest flow (call it inside a flow run): the database is used while holding the
    writer slot (flows/dbwriter.py), and the run's report is published as artifacts before it is let go.
    Errors on items (feeds, pages, whole batches) are recorded and the run goes on; it ends
    `completed_with_errors` in the `runs` table, and Completed in Prefect."""
    logger = get_run_logger()
    run_id = _run_id()
    counts: Counter[str] = Counter()
    errors: list[ItemError] = []
    sources = (
        load_feed_sources(settings.feeds_file, base_url=base_url) if settings.feeds_file.is_file() else []
    )
    status = "failed"
    with database_writer("ingest") as waited:
        if waited > 1:
            counts["waited_for_writer_s"] = round(waited)
        con = store.connect(settings.database, wait_s=settings.db_write_wait_s)
        try:
            store.upgrade(con, settings.sql_dir)
            store.start_run(con, run_id, "ingest")
            try:
                store.register_feeds(con, sources)
                now = datetime.now(UTC)
                states = store.feed_states(con, due_at=None if poll_all else now)
                counts["feeds_due"] = len(states)
                # Every response fetched is also kept in WARC files under the data dir (the store of record).
                with ExitStack() as stack:
                    archiver = archiver_for(settings)
                    if archiver is not None:
                        stack.enter_context(archiver)
                    fetcher = stack.enter_context(Fetcher(settings, archiver=archiver))
                    fresh = _poll(settings, fetcher, con, states, run_id, counts, errors) if states else []
                    if fresh:
                        _fetch_process_load(settings, fetcher, con, fresh, states, run_id, counts, errors)
                status = "completed_with_errors" if errors else "completed"
            finally:
                store.finish_run(
                    con,
                    run_id,
                    status,
                    dict(counts),
                    [{"item": e.item, "stage": e.stage, "error": e.error} for e in errors[:500]],
                )
                publish_run_report_safely(con, run_id)
        finally:
            con.close()
    logger.info("run %s %s: %s", run_id, status, dict(counts))
    return dict(counts)


def _task_failed(what: str, items: list[str], stage: str, exc: BaseException) -> list[ItemError]:
    """A task that failed after its retries fails its items, not the run."""
    get_run_logger().error(
        "%s failed after retries (%s: %s); its %d items are recorded as errors",
        what,
        type(exc).__name__,
        exc,
        len(items),
    )
    return [ItemError(item=item, stage=stage, error=f"{type(exc).__name__}: {exc}") for item in items]


def _poll(
    settings: Settings,
    fetcher: Fetcher,
    con: duckdb.DuckDBPyConnection,
    states: list[FeedState],
    run_id: str,
    counts: Counter[str],
    errors: list[ItemError],
) -> list[FeedEntry]:
    logger = get_run_logger()
    # Two rounds at most (the feeds, then the children of sitemap indexes), each within the deadline.
    timeout = settings.fetch_batch_deadline_s * 2 + TASK_TIMEOUT_MARGIN_S
    try:
        reads = poll_feeds.with_options(timeout_seconds=timeout)(fetcher, states)
    except Exception as exc:
        errors.extend(_task_failed("poll-feeds", [s.url for s in states], "feed", exc))
        counts.update(feeds_polled=0, feed_errors=len(states))
        return []
    listed = [canonical_url(e.url) for read in reads for e in read.entries]
    loaded = store.known_canonical_urls(con, listed)
    known = loaded | store.settled_item_urls(con, listed)
    polled = steps.finish_polls(reads, known, settings, run_id, listed_before=store.listed_items(con, listed))
    store.record_feed_polls(con, polled.polls)
    store.record_feed_items(con, polled.items)
    feed_urls = {s.feed_id: s.url for s in states}
    store.record_sightings(
        con, steps.sightings([], polled.items, loaded_urls=loaded, feed_urls=feed_urls, run_id=run_id)
    )
    errors.extend(polled.errors)
    counts.update(
        feeds_polled=len(reads),
        feeds_unchanged=sum(r.unchanged for r in reads),
        feed_errors=len(polled.errors),
        entries_seen=len(listed),
        entries_new=len(polled.new_entries),
    )
    logger.info(
        "%d feeds polled (%d unchanged, %d failed), %d entries, %d new",
        len(reads),
        counts["feeds_unchanged"],
        counts["feed_errors"],
        len(listed),
        len(polled.new_entries),
    )
    return list(polled.new_entries)


def _fetch_process_load(
    settings: Settings,
    fetcher: Fetcher,
    con: duckdb.DuckDBPyConnection,
    fresh: list[FeedEntry],
    states: list[FeedState],
    run_id: str,
    counts: Counter[str],
    errors: list[ItemError],
) -> None:
    logger = get_run_logger()
    tagger = Tagger.from_settings(settings)
    store.register_alias_table(con, tagger.aliases.entries)
    feed_ids = {s.url: s.feed_id for s in states}
    batches = [fresh[i : i + settings.batch_size] for i in range(0, len(fresh), settings.batch_size)]
    by_url = {s.url: s for s in states}

    def submit(batch: list[FeedEntry]) -> PrefectFuture[list[FetchResult]]:
        return fetch_batch.submit(fetcher, [steps.page_request(e, by_url.get(e.feed_url)) for e in batch])

    # The next batch is fetched (in the task runner's threads) while this one is tagged and loaded; only
    # one batch waits ahead, so fetched pages never pile up in memory faster than tagging consumes them.
    pending = submit(batches[0])
    for index, batch in enumerate(batches):
        urls = [e.url for e in batch]
        try:
            fetched = pending.result()
        except Exception as exc:
            fetched = None
            errors.extend(_task_failed("fetch-batch", urls, "fetch_error", exc))
        if index + 1 < len(batches):
            pending = submit(batches[index + 1])
        if fetched is None:
            counts["failed_batches"] += 1
            continue
        # A batch that cannot be processed or loaded (one transaction, rolled back) leaves its items
        # 'new' in feed_items, so the next run tries them again.
        try:
            processed = process_batch(fetched, batch, tagger, settings, run_id)
            loaded, records = load_batch(con, processed, run_id)
        except Exception as exc:
            errors.extend(_task_failed("process/load", urls, "process", exc))
            counts["failed_batches"] += 1
            continue
        store.record_feed_items(con, steps.item_outcomes(batch, records, feed_ids, run_id))
        store.record_sightings(
            con, steps.sightings(records, [], loaded_urls=set(), feed_urls={}, run_id=run_id)
        )
        errors.extend(processed.errors)
        outcomes = Counter(r.outcome for r in records)
        counts.update(
            fetched=len(fetched),
            fetch_errors=outcomes["fetch_error"] + outcomes["gone"],
            robots_skipped=outcomes["robots"],
            extract_errors=outcomes["extract_error"],
            duplicates=outcomes["duplicate"],
            articles_loaded=loaded.articles,
            mentions_loaded=loaded.mentions,
            quotes_loaded=loaded.quotes,
        )
        logger.info("batch: %d fetched, %d loaded, %s", len(fetched), loaded.articles, dict(outcomes))
