"""The backfill job in plain Python: read archives, dumps and URL lists (etl.archive) in batches, extract,
filter by date and topic, tag, load, and checkpoint each source's offset in the database.

Work is split between a reader/writer (this process: it reads sources, loads batches into DuckDB and
checkpoints) and batch workers (`process_work`: extraction, filters, tagging), which run in this process,
in a pool of processes (`ProcessExecutor`, each loading the spaCy pipeline once) or on a Dask cluster
(flows/backfill.py). Results come back in submission order, so a source's checkpoint only ever moves
forward over records that are loaded.

Resuming: a batch's articles and its source's checkpoint (the offset after its last record, and the
counts so far) commit in one transaction, so a killed run re-reads from the last checkpoint and no record
is loaded twice (loads are idempotent besides); a source marked done is skipped unless its file has grown.
Sparse results (a prefiltered scan: a hundred pages, one article) of a source are loaded several at a
time, with the last one's checkpoint."""

from __future__ import annotations

import json
import multiprocessing
import os
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import duckdb
import pyarrow as pa

from etl import ingest as steps
from etl import store
from etl.archive import (
    Columns,
    PageRecord,
    RecordError,
    SkippedRecord,
    SourceItem,
    SourceKind,
    TextRecord,
    UrlRecord,
    parse_sitemap_source,
    read_source,
    sitemap_records,
    source_kind,
)
from etl.dedup import article_id, canonical_url, content_hash, minhash_signature, wire_agency
from etl.extract import language_mismatch
from etl.fetch import Fetcher
from etl.nlp.entities import AliasTable
from etl.nlp.pipeline import Tagger
from etl.nlp.topics import load_topics
from etl.prefilter import Prefilter, build_prefilter
from etl.records import (
    Article,
    EntityMention,
    FetchRequest,
    FetchResult,
    Quote,
    Sighting,
    TaggedArticle,
    Tagging,
    TopicEvidence,
    TopicScore,
)
from etl.settings import Settings
from etl.sitemaps import SitemapDoc, recent_children

# Consecutive results of a source are loaded in one transaction (with one checkpoint) until they hold a
# batch of articles, this many results, or the oldest has waited this long; a kill re-reads at most that.
MAX_MERGED_BATCHES = 20
MAX_MERGE_WAIT_S = 30.0

# Sitemap indexes nest (an index of monthly indexes of daily sitemaps) but never this deep in practice.
MAX_SITEMAP_DEPTH = 4

# A stretch of records with nothing to extract (request and metadata records, images) still closes a
# batch after this many records, so that the checkpoint keeps moving through it.
MAX_RECORDS_PER_BATCH_FACTOR = 20


@dataclass(frozen=True)
class BackfillOptions:
    """What to backfill and how: the date window (on the publication date, else the capture date), an
    optional topic whose keyword prefilter must pass before NLP, batch size and worker processes."""

    since: datetime | None = None
    until: datetime | None = None
    prefilter: str | None = None
    batch_size: int = 100
    workers: int = 1
    columns: Columns = field(default_factory=Columns)


@dataclass(frozen=True)
class WorkBatch:
    """A batch of records for a worker: pages to extract and texts already extracted, with the filters."""

    source: str
    records: tuple[PageRecord | TextRecord, ...]
    run_id: str
    since: datetime | None = None
    until: datetime | None = None
    prefilter: str | None = None
    expected_language: str | None = None


@dataclass(frozen=True)
class RecordOutcome:
    """What became of one record of a work batch: `outcome` is 'loaded' (tagged, to be loaded),
    'duplicate', 'extract_error', 'filtered:date' or 'filtered:topic'."""

    offset: int
    url: str
    canonical_url: str | None
    outcome: str
    error: str | None
    seen_at: datetime


@dataclass(frozen=True)
class BatchResult:
    """A worker's answer for one work batch."""

    tagged: tuple[TaggedArticle, ...]
    outcomes: tuple[RecordOutcome, ...]


@dataclass(frozen=True)
class BackfillReport:
    """What a backfill run did: counts over all sources, and per source."""

    counts: dict[str, int]
    sources: dict[str, dict[str, int]]
    errors: tuple[store.BackfillErrorRow, ...]


class Pending(Protocol):
    """A submitted batch; `result()` waits for it."""

    def result(self) -> BatchResult: ...


class BatchExecutor(Protocol):
    """Runs work batches somewhere: here, in worker processes, or on a cluster."""

    def submit(self, batch: WorkBatch) -> Pending: ...

    @property
    def capacity(self) -> int:
        """How many batches may be in flight at once."""
        ...


# ---------------------------------------------------------------------------------------------------
# Worker side


@dataclass(frozen=True)
class WorkerTools:
    """What a worker needs, built once per process: the tagger and the topic prefilters."""

    tagger: Tagger
    prefilters: Mapping[str, Prefilter]


def build_tools(settings: Settings) -> WorkerTools:
    """Load the spaCy pipeline, alias table and topics the settings name, and every topic's prefilter."""
    aliases = AliasTable.load(settings.aliases_file)
    topics = load_topics(settings.topics_file)
    tagger = Tagger.from_settings(settings)
    prefilters = {t.name: build_prefilter(topics, t.name, aliases) for t in topics}
    return WorkerTools(tagger=tagger, prefilters=prefilters)


def prefilter_for(settings: Settings, topic: str) -> Prefilter:
    """The prefilter of one topic (raises KeyError naming the known topics), without loading spaCy."""
    return build_prefilter(load_topics(settings.topics_file), topic, AliasTable.load(settings.aliases_file))


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _in_window(when: datetime | None, since: datetime | None, until: datetime | None) -> bool:
    if when is None:
        return since is None and until is None
    when = _aware(when)
    return (since is None or when >= since) and (until is None or when < until)


def _text_article(record: TextRecord, expected_language: str | None) -> Article:
    canonical = canonical_url(record.url)
    return Article(
        article_id=article_id(canonical),
        url=record.url,
        canonical_url=canonical,
        outlet=record.outlet,
        feed_url=None,
        title=record.title,
        text=record.text,
        authors=(),
        published=record.published,
        published_source="dump" if record.published else None,
        site_name=record.outlet,
        language=None,
        content_hash=content_hash(record.text),
        fetched_at=record.fetched_at,
        flags=("language_mismatch",) if language_mismatch(None, expected_language) else (),
        minhash=tuple(int(v) for v in minhash_signature(record.text)),
        wire_agency=wire_agency(record.text),
    )


def process_work(batch: WorkBatch, tools: WorkerTools) -> BatchResult:
    """Extract the pages (ingest's extraction and in-batch dedup), turn dump texts into articles, keep
    those inside the date window and passing the prefilter, and tag them in one `nlp.pipe`."""
    prefilter = tools.prefilters[batch.prefilter] if batch.prefilter else None
    outcomes: dict[int, RecordOutcome] = {}
    pages: list[PageRecord] = []
    articles: list[tuple[int, Article]] = []
    for index, record in enumerate(batch.records):
        if isinstance(record, PageRecord):
            # A page captured before the window opened was published before it too: no extraction.
            if batch.since is not None and record.fetched_at < batch.since:
                outcomes[index] = RecordOutcome(
                    record.offset, record.url, None, "filtered:date", None, record.fetched_at
                )
            elif prefilter is not None and not prefilter.passes_bytes(record.body):
                outcomes[index] = RecordOutcome(
                    record.offset, record.url, None, "filtered:topic", None, record.fetched_at
                )
            else:
                pages.append(record)
        else:
            articles.append((index, _text_article(record, batch.expected_language)))
    page_index = [i for i, r in enumerate(batch.records) if isinstance(r, PageRecord) and i not in outcomes]
    extracted = steps.extract_batch(
        [_as_fetch_result(p) for p in pages],
        [None] * len(pages),
        raw_dir=None,  # the archive is the store of record of these bytes
        run_id=batch.run_id,
        expected_language=batch.expected_language,
    )
    by_url = {a.url: a for a in extracted.articles}
    for i, page, rec in zip(page_index, pages, extracted.fetch_records, strict=True):
        if rec.outcome == "loaded" and page.url in by_url:
            articles.append((i, by_url[page.url]))
        else:
            outcomes[i] = RecordOutcome(
                page.offset, page.url, rec.canonical_url, rec.outcome, rec.error, page.fetched_at
            )
    keep: list[tuple[int, Article]] = []
    seen: set[str] = set()
    for i, article in sorted(articles, key=lambda pair: pair[0]):
        record = batch.records[i]
        when = article.published or article.fetched_at
        if not _in_window(when, batch.since, batch.until):
            outcome = "filtered:date"
        elif prefilter is not None and not prefilter.passes_text(article.title, article.text):
            outcome = "filtered:topic"
        elif article.canonical_url in seen:
            outcome = "duplicate"
        else:
            seen.add(article.canonical_url)
            keep.append((i, article))
            outcome = "loaded"
        outcomes[i] = RecordOutcome(
            record.offset, record.url, article.canonical_url, outcome, None, article.fetched_at
        )
    taggings = tools.tagger.tag([a.text for _, a in keep], [a.title for _, a in keep])
    tagged = tuple(TaggedArticle(a, t) for (_, a), t in zip(keep, taggings, strict=True))
    return BatchResult(tagged=tagged, outcomes=tuple(outcomes[i] for i in sorted(outcomes)))


def _as_fetch_result(page: PageRecord) -> FetchResult:
    return FetchResult(
        url=page.url,
        final_url=page.url,
        status=page.status,
        content_type=page.content_type,
        body=page.body,
        fetched_at=page.fetched_at,
        elapsed_ms=0,
    )


# ---------------------------------------------------------------------------------------------------
# Executors


class _Done:
    def __init__(self, value: BatchResult) -> None:
        self._value = value

    def result(self) -> BatchResult:
        return self._value


class InlineExecutor:
    """Runs each batch in this process, when it is submitted."""

    capacity = 1

    def __init__(self, tools: WorkerTools) -> None:
        self.tools = tools

    def submit(self, batch: WorkBatch) -> Pending:
        """Process the batch now."""
        return _Done(process_work(batch, self.tools))


# Per-process worker state: a process pool's initializer and a Dask worker build the tools once and
# every batch that process runs reuses them (loading spaCy per batch would cost seconds each time).
_WORKER_TOOLS: dict[str, WorkerTools] = {}


def worker_tools(settings: Settings) -> WorkerTools:
    """The tools for `settings` in this process, built on first use."""
    key = settings.model_dump_json()
    if key not in _WORKER_TOOLS:
        _WORKER_TOOLS[key] = build_tools(settings)
    return _WORKER_TOOLS[key]


def _init_worker(settings_json: str) -> None:
    worker_tools(Settings.model_validate_json(settings_json))


def _run_in_worker(settings_json: str, batch: WorkBatch) -> BatchResult:
    return process_work(batch, worker_tools(Settings.model_validate_json(settings_json)))


class ProcessExecutor:
    """Runs batches in `workers` processes (spawned, so nothing of this process's DuckDB connection or
    threads is inherited), each loading the spaCy pipeline once."""

    def __init__(self, settings: Settings, workers: int) -> None:
        self._settings_json = settings.model_dump_json()
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker,
            initargs=(self._settings_json,),
        )
        # Results are taken in order: a few batches queued per process keep every process busy while one
        # long batch (a page of transcripts) holds up the head of the queue.
        self.capacity = workers * 4

    def __enter__(self) -> ProcessExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, batch: WorkBatch) -> Pending:
        """Queue the batch for the pool."""
        future: Future[BatchResult] = self._pool.submit(_run_in_worker, self._settings_json, batch)
        return future

    def close(self) -> None:
        """Stop the worker processes (cancelling batches not started)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------------------------------------
# Arrow: how batch results travel back from a cluster


def result_to_arrow(result: BatchResult) -> bytes:
    """A batch result as an Arrow IPC stream: one row per tagged article (the article's fields as
    columns, its tagging as JSON), the record outcomes in the schema metadata."""
    rows = []
    for item in result.tagged:
        row = asdict(item.article)
        row["tagging"] = json.dumps(asdict(item.tagging))
        rows.append(row)
    table = pa.Table.from_pylist(rows, schema=_ARTICLE_SCHEMA)
    outcomes = [{**asdict(o), "seen_at": o.seen_at.isoformat()} for o in result.outcomes]
    table = table.replace_schema_metadata({"outcomes": json.dumps(outcomes)})
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def result_from_arrow(data: bytes) -> BatchResult:
    """The inverse of `result_to_arrow`."""
    table = pa.ipc.open_stream(data).read_all()
    tagged = []
    for row in table.to_pylist():
        tagging = _tagging_from(json.loads(row.pop("tagging")))
        for name in ("authors", "flags", "minhash"):
            row[name] = tuple(row[name] or ())
        tagged.append(TaggedArticle(Article(**row), tagging))
    meta = table.schema.metadata or {}
    outcomes = tuple(
        RecordOutcome(**{**o, "seen_at": datetime.fromisoformat(o["seen_at"])})
        for o in json.loads(meta.get(b"outcomes", b"[]"))
    )
    return BatchResult(tagged=tuple(tagged), outcomes=outcomes)


_ARTICLE_SCHEMA = pa.schema(
    [
        ("article_id", pa.int64()),
        ("url", pa.string()),
        ("canonical_url", pa.string()),
        ("outlet", pa.string()),
        ("feed_url", pa.string()),
        ("title", pa.string()),
        ("text", pa.string()),
        ("authors", pa.list_(pa.string())),
        ("published", pa.timestamp("us", tz="UTC")),
        ("published_source", pa.string()),
        ("site_name", pa.string()),
        ("language", pa.string()),
        ("content_hash", pa.string()),
        ("fetched_at", pa.timestamp("us", tz="UTC")),
        ("raw_sha256", pa.string()),
        ("published_confidence", pa.float64()),
        ("flags", pa.list_(pa.string())),
        ("minhash", pa.list_(pa.int64())),
        ("wire_agency", pa.string()),
        ("tagging", pa.string()),
    ]
)


def _tagging_from(raw: dict[str, Any]) -> Tagging:
    return Tagging(
        entities=tuple(EntityMention(**e) for e in raw["entities"]),
        quotes=tuple(Quote(**q) for q in raw["quotes"]),
        topics=tuple(
            TopicScore(**{**t, "evidence": tuple(TopicEvidence(**e) for e in t["evidence"])})
            for t in raw["topics"]
        ),
        annotation_version=raw["annotation_version"],
    )


# ---------------------------------------------------------------------------------------------------
# Reader / writer side


@dataclass(frozen=True)
class _Chunk:
    """Records read from one source up to `next_offset`: the work for a worker, and what the reader
    itself already settled (skipped and unreadable records)."""

    source: str
    work: WorkBatch
    next_offset: int
    counts: Counter[str]
    errors: tuple[store.BackfillErrorRow, ...]
    last: bool  # the source ends with this chunk


def source_key(source: str) -> str:
    """How a source is named in the checkpoint table: a URL as given, a file by its absolute path."""
    if source.startswith(("http://", "https://")):
        return source
    return str(Path(source).resolve())


ProgressHook = Callable[[str, Mapping[str, int]], None]


@dataclass
class _SourceState:
    key: str
    kind: SourceKind
    size: int | None
    started_at: datetime
    counts: Counter[str]
    errors: int
    loaded: int
    read: int
    credited: int = 0  # bytes of the file counted as read in the run's `bytes_read`

    def credit(self, next_offset: int, last: bool) -> int:
        """Bytes newly read up to `next_offset` (byte offsets: WARC, JSONL) or the whole file when done."""
        size = self.size or 0
        reached = size if last else min(size, next_offset) if self.kind in ("warc", "jsonl") else 0
        gained = max(0, reached - self.credited)
        self.credited = max(self.credited, reached)
        return gained


def run_backfill(
    settings: Settings,
    con: duckdb.DuckDBPyConnection,
    sources: Sequence[str],
    options: BackfillOptions,
    executor: BatchExecutor,
    *,
    run_id: str,
    fetcher: Fetcher | None = None,
    progress: ProgressHook | None = None,
) -> BackfillReport:
    """Backfill `sources` into the database `con` (schema already upgraded): read each from its
    checkpoint, send batches to `executor`, load results in order and checkpoint after each. URL lists
    and sitemap URLs need `fetcher`. `progress(event, counts)` is called after each batch with the
    run's counts so far ('records', 'pages', 'loaded', …) and once per source done."""
    checkpoints = store.backfill_checkpoints(con)
    totals: Counter[str] = Counter()
    per_source: dict[str, dict[str, int]] = {}
    all_errors: list[store.BackfillErrorRow] = []
    in_flight: list[tuple[_Chunk, Pending]] = []
    states: dict[str, _SourceState] = {}
    # Pages fetched from URL lists and sitemaps, by (source, offset): their `fetches` rows are written
    # with the batch that settles them, so each row says what became of the page (loaded, duplicate, …).
    held_fetches: dict[tuple[str, int], store.FetchRecord] = {}

    # Results waiting to be loaded together: a scan with a prefilter gets batches of a hundred pages
    # and one article, and loading each alone would spend more on the transaction than on the article.
    ready: list[tuple[_Chunk, BatchResult]] = []
    ready_since = 0.0

    def settle_one() -> None:
        nonlocal ready_since
        chunk, pending = in_flight.pop(0)
        if not ready:
            ready_since = time.monotonic()
        ready.append((chunk, pending.result()))
        if (
            chunk.last
            or sum(len(result.tagged) for _, result in ready) >= options.batch_size
            or len(ready) >= MAX_MERGED_BATCHES
            or time.monotonic() - ready_since >= MAX_MERGE_WAIT_S
        ):
            load_ready()

    def load_ready() -> None:
        batch = list(ready)
        ready.clear()
        last = batch[-1][0]
        state = states[last.source]  # a source's last chunk is always loaded, so one source per batch
        # How stories were reached is recorded first (an idempotent upsert): the batch and its checkpoint
        # then commit together, so a kill leaves either both or neither.
        store.record_sightings(con, [s for chunk, result in batch for s in _sightings(chunk, result, run_id)])

        def checkpoint(tx: duckdb.DuckDBPyConnection, loaded: store.LoadCounts) -> None:
            now = datetime.now(UTC)
            seen: set[str] = set()
            settled: list[store.FetchRecord] = []
            batch_errors: list[store.BackfillErrorRow] = []
            for chunk, result in batch:
                final = _final_outcomes(result, loaded, seen)
                outcome_counts = Counter(outcome for _, outcome in final)
                batch_errors.extend(chunk.errors)
                batch_errors.extend(
                    store.BackfillErrorRow(chunk.source, o.offset, outcome, o.url, o.error, run_id, now)
                    for o, outcome in final
                    if o.error
                )
                settled.extend(
                    replace(fetch, outcome=outcome)
                    for o, outcome in final
                    if (fetch := held_fetches.pop((chunk.source, o.offset), None)) is not None
                )
                for counter in (state.counts, totals):
                    counter.update(chunk.counts)
                    counter.update(outcome_counts)
                state.read += chunk.counts["records"]
                totals["bytes_read"] += state.credit(chunk.next_offset, chunk.last)
            if settled:
                store.write_fetches(tx, settled)
            state.counts["articles_loaded"] += loaded.articles
            totals["articles_loaded"] += loaded.articles
            state.loaded += loaded.articles
            state.errors += len(batch_errors)
            totals["errors"] += len(batch_errors)
            all_errors.extend(batch_errors)
            store.write_backfill_checkpoint(
                tx,
                store.BackfillCheckpoint(
                    source=state.key,
                    kind=state.kind,
                    size_bytes=state.size,
                    next_offset=last.next_offset,
                    records_read=state.read,
                    articles_loaded=state.loaded,
                    errors=state.errors,
                    counts=dict(state.counts),
                    done=last.last,
                    started_at=state.started_at,
                    updated_at=now,
                    run_id=run_id,
                ),
                batch_errors,
            )

        store.load_articles(
            con, [item for _, result in batch for item in result.tagged], run_id=run_id, then=checkpoint
        )
        per_source[state.key] = {"loaded": state.loaded, "errors": state.errors, "records": state.read}
        if progress is not None:
            progress("batch", totals)

    def source_failed(key: str, kind: SourceKind, stage: str, error: str, url: str | None) -> None:
        # Recorded against the source with a checkpoint that is not done, so the next run tries again;
        # what an earlier run read of it is kept.
        now = datetime.now(UTC)
        failure = store.BackfillErrorRow(key, 0, stage, url, error, run_id, now)
        previous = checkpoints.get(key)
        if previous is None:
            failed = store.BackfillCheckpoint(key, kind, None, 0, 0, 0, 1, {}, False, now, now, run_id)
        else:
            failed = replace(previous, errors=previous.errors + 1, done=False, updated_at=now, run_id=run_id)
        store.save_backfill_checkpoint(con, failed, [failure])
        all_errors.append(failure)
        totals["errors"] += 1

    queue: deque[tuple[str, int]] = deque((source, 0) for source in sources)  # with the index depth
    indexes_read: set[str] = set()
    while queue:
        source, depth = queue.popleft()
        key = source_key(source)
        kind = source_kind(source)
        size = source_size(source)
        if size is None and not source.startswith(("http://", "https://")):
            # A missing or unreadable file is that source's error; the other sources still load.
            source_failed(key, kind, "unreadable", "no such file", None)
            totals["sources_missing"] += 1
            continue
        previous = checkpoints.get(key)
        if previous is not None and previous.done and previous.size_bytes == size:
            totals["sources_skipped"] += 1
            totals["bytes_read"] += size or 0
            if progress is not None:
                progress("source_skipped", totals)
            continue
        sitemap: SitemapDoc | None = None
        if kind == "sitemap":
            got = _sitemap(source, fetcher)
            if isinstance(got, str):
                source_failed(
                    key, kind, "fetch_error" if got.startswith("fetch_error") else "unreadable", got, source
                )
                continue
            sitemap = got
            if sitemap.kind == "index":
                # An index has no pages of its own: its children are read as sources of their own (each
                # checkpointed), and the index is read again on a re-run, so children added since are found.
                totals["sitemap_indexes"] += 1
                if key in indexes_read:
                    continue  # indexes listing each other
                indexes_read.add(key)
                if depth >= MAX_SITEMAP_DEPTH:
                    source_failed(key, kind, "unreadable", "sitemap index nested too deep", source)
                    continue
                children = _children_to_read(sitemap, options.since, totals)
                queue.extendleft((child, depth + 1) for child in reversed(children))
                continue
        start = previous.next_offset if previous is not None else 0
        states[key] = _SourceState(
            key=key,
            kind=kind,
            size=size,
            started_at=previous.started_at if previous is not None else datetime.now(UTC),
            counts=Counter(previous.counts) if previous is not None else Counter(),
            errors=previous.errors if previous is not None else 0,
            loaded=previous.articles_loaded if previous is not None else 0,
            read=previous.records_read if previous is not None else 0,
        )
        if previous is not None:
            totals["bytes_read"] += states[key].credit(previous.next_offset, last=False)
        items = _items(key, source, kind, start, options, fetcher, con, run_id, sitemap, held_fetches)
        for chunk in _chunks(key, items, options, settings, run_id, start):
            while len(in_flight) >= executor.capacity:
                settle_one()
            in_flight.append((chunk, executor.submit(chunk.work)))
        totals["sources"] += 1
    while in_flight:
        settle_one()
    return BackfillReport(counts=dict(totals), sources=per_source, errors=tuple(all_errors))


def source_size(source: str) -> int | None:
    """The size of a source file in bytes (None for a URL or a missing file)."""
    if source.startswith(("http://", "https://")):
        return None
    try:
        return os.path.getsize(source)
    except OSError:
        return None


def _sitemap(source: str, fetcher: Fetcher | None) -> SitemapDoc | str:
    """A sitemap source (a URL, fetched politely, or a file) parsed, or why it could not be."""
    if source.startswith(("http://", "https://")):
        if fetcher is None:
            raise ValueError(f"{source}: a sitemap URL needs a fetcher")
        result = fetcher.fetch(FetchRequest(url=source, kind="sitemap"))
        if not result.ok:
            return f"fetch_error: {result.error or f'HTTP {result.status}'}"
        body = result.body
    else:
        try:
            body = Path(source).read_bytes()
        except OSError as exc:
            return f"unreadable: {exc}"
    doc = parse_sitemap_source(source, body)
    if doc.error and not doc.entries and not doc.children:
        return f"sitemap: {doc.error}"
    return doc


def _children_to_read(index: SitemapDoc, since: datetime | None, totals: Counter[str]) -> list[str]:
    """The child sitemaps of an index not last modified before the date window opens: news sites keep
    years of monthly children, and a sitemap untouched since before `since` lists only older pages."""
    children = recent_children(index, since) if since is not None else list(index.children)
    totals["sitemaps_listed"] += len(index.children)
    totals["filtered:sitemap_date"] += len(index.children) - len(children)
    return children


def _items(
    key: str,
    source: str,
    kind: SourceKind,
    start: int,
    options: BackfillOptions,
    fetcher: Fetcher | None,
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    sitemap: SitemapDoc | None,
    held_fetches: dict[tuple[str, int], store.FetchRecord],
) -> Iterator[SourceItem]:
    """The records of a source (checkpointed as `key`), with URL lists and sitemaps fetched (politely, in
    batches) into pages; the fetch rows of pages are left in `held_fetches` for their batch to write."""
    if sitemap is not None:
        listed: Iterator[SourceItem] = sitemap_records(source, sitemap, start=start)
    else:
        listed = read_source(source, start=start, columns=options.columns, kind=kind)
    if kind not in ("urls", "sitemap"):
        yield from listed
        return
    if fetcher is None:
        raise ValueError(f"{source}: a URL list needs a fetcher")
    yield from _fetched(listed, fetcher, con, options, run_id, key, held_fetches)


def _fetched(
    listed: Iterable[SourceItem],
    fetcher: Fetcher,
    con: duckdb.DuckDBPyConnection,
    options: BackfillOptions,
    run_id: str,
    key: str,
    held_fetches: dict[tuple[str, int], store.FetchRecord],
) -> Iterator[SourceItem]:
    """URL records fetched through the polite fetcher, a batch at a time, as pages (or errors); URLs
    already stored are skipped without a fetch, and so are URLs a sitemap dates before `since` (its
    publication date, or its last modification, which cannot be earlier). `until` is left to the page's
    own date: a modification after it says nothing of when the page was first published."""
    pending: list[UrlRecord] = []
    since = options.since

    def flush() -> Iterator[SourceItem]:
        known = store.known_canonical_urls(con, [canonical_url(u.url) for u in pending])
        todo = [u for u in pending if canonical_url(u.url) not in known]
        results = dict(
            zip(
                (u.offset for u in todo),
                fetcher.fetch_many(FetchRequest(url=u.url) for u in todo),
                strict=True,
            )
        )
        # A failed fetch is settled now; a page's row waits for its batch (see `held_fetches`).
        store.record_fetches(con, [_fetch_record(r, run_id) for r in results.values() if not r.ok])
        for u in pending:
            r = results.get(u.offset)
            if r is None:
                yield SkippedRecord(u.source, u.offset, u.next_offset, "already-stored", u.url)
            elif r.ok:
                held_fetches[(key, u.offset)] = _fetch_record(r, run_id)
                yield PageRecord(
                    u.source,
                    u.offset,
                    u.next_offset,
                    r.final_url or u.url,
                    r.body,
                    r.fetched_at,
                    r.content_type,
                    r.status or 200,
                )
            else:
                yield RecordError(
                    u.source, u.offset, u.next_offset, f"fetch_error: {r.error or f'HTTP {r.status}'}", u.url
                )
        pending.clear()

    for item in listed:
        if isinstance(item, UrlRecord):
            if since is not None and item.published is not None and _aware(item.published) < since:
                yield SkippedRecord(item.source, item.offset, item.next_offset, "filtered:date", item.url)
                continue
            pending.append(item)
            if len(pending) >= options.batch_size:
                yield from flush()
        else:
            yield item
    if pending:
        yield from flush()


def _fetch_record(result: FetchResult, run_id: str) -> store.FetchRecord:
    return store.FetchRecord(
        url=result.url,
        canonical_url=canonical_url(result.final_url or result.url),
        final_url=result.final_url,
        feed_url=None,
        status=result.status,
        error=result.error,
        # What became of a page is decided by its batch (`_final_outcome`).
        outcome="fetched" if result.ok else "fetch_error",
        content_type=result.content_type,
        bytes=len(result.body),
        raw_sha256=None,
        fetched_at=result.fetched_at,
        elapsed_ms=result.elapsed_ms,
        run_id=run_id,
    )


def _chunks(
    key: str,
    items: Iterable[SourceItem],
    options: BackfillOptions,
    settings: Settings,
    run_id: str,
    start: int,
) -> Iterator[_Chunk]:
    """Group a source's records into chunks of at most `batch_size` pages/texts (and a bounded number
    of records overall); the last chunk is marked, even when empty, so the source is checkpointed done."""
    work: list[PageRecord | TextRecord] = []
    counts: Counter[str] = Counter()
    errors: list[store.BackfillErrorRow] = []
    next_offset = start
    max_records = options.batch_size * MAX_RECORDS_PER_BATCH_FACTOR

    def chunk(last: bool) -> _Chunk:
        batch = WorkBatch(
            source=key,
            records=tuple(replace(r, source=key) for r in work),
            run_id=run_id,
            since=options.since,
            until=options.until,
            prefilter=options.prefilter,
            expected_language=settings.expected_language,
        )
        return _Chunk(key, batch, next_offset, Counter(counts), tuple(errors), last)

    now = datetime.now(UTC)
    for item in items:
        counts["records"] += 1
        if isinstance(item, PageRecord | TextRecord):
            work.append(item)
            counts["pages" if isinstance(item, PageRecord) else "texts"] += 1
        elif isinstance(item, SkippedRecord):
            # A URL a sitemap dates outside the window counts with the pages filtered by date.
            reason = item.reason
            counts[reason if reason.startswith("filtered:") else f"skipped:{reason.split(':', 1)[0]}"] += 1
        elif isinstance(item, RecordError):
            counts["records"] -= 1  # an error about a record is not a record of its own
            stage = (
                "fetch_error"
                if item.error.startswith("fetch_error")
                else "unreadable"
                if item.fatal
                else "damaged_record"
            )
            errors.append(
                store.BackfillErrorRow(key, item.offset, stage, item.url or None, item.error, run_id, now)
            )
        next_offset = max(next_offset, item.next_offset)
        if len(work) >= options.batch_size or counts["records"] >= max_records:
            yield chunk(last=False)
            work, counts, errors = [], Counter(), []
    yield chunk(last=True)


def _sightings(chunk: _Chunk, result: BatchResult, run_id: str) -> list[Sighting]:
    """How each story of a batch was reached: the source and the URL of its record."""
    return [
        Sighting(article_id(o.canonical_url), chunk.source, o.url, o.seen_at, run_id)
        for o in result.outcomes
        if o.outcome in ("loaded", "duplicate") and o.canonical_url
    ]


def _final_outcomes(
    result: BatchResult, loaded: store.LoadCounts, seen: set[str]
) -> list[tuple[RecordOutcome, str]]:
    """What became of each record once its batch is loaded: an article already stored, or loaded by an
    earlier result of the same load (`seen`, updated here), is a duplicate."""
    final: list[tuple[RecordOutcome, str]] = []
    for o in result.outcomes:
        outcome = o.outcome
        if outcome == "loaded" and o.canonical_url is not None:
            if o.canonical_url in loaded.already_stored or o.canonical_url in seen:
                outcome = "duplicate"
            seen.add(o.canonical_url)
        final.append((o, outcome))
    return final
