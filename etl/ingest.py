"""The ingest job in plain Python, one function per coarse step. The Prefect flow in flows/ingest.py
wraps each of these in a task; tests and other callers can run them without Prefect."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from etl import store
from etl.dedup import article_id, canonical_url, content_hash, minhash_signature, wire_agency
from etl.extract import ExtractionError, extract_article, language_mismatch
from etl.feeds import parse_feed
from etl.fetch import Fetcher
from etl.nlp.pipeline import Tagger
from etl.polling import FeedState, PollOutcome, after_poll
from etl.rawstore import keep_raw
from etl.records import (
    Article,
    FeedEntry,
    FeedSource,
    FetchRequest,
    FetchResult,
    ItemError,
    Sighting,
    TaggedArticle,
)
from etl.settings import Settings
from etl.sitemaps import parse_sitemap, recent_children

# A first poll of a sitemap index reads the children modified in the last few days; later polls read
# those changed since the last successful poll. Never more than this many children per poll.
SITEMAP_LOOKBACK_DAYS = 2
MAX_SITEMAP_CHILDREN = 20


@dataclass(frozen=True)
class FeedRead:
    """One polled feed, read: its entries when the body changed, or why there are none."""

    state: FeedState
    fetched: FetchResult
    title: str
    entries: tuple[FeedEntry, ...]
    unchanged: bool
    body_sha256: str | None
    error: str | None
    children: tuple[str, ...] = ()  # child sitemaps of a sitemap index, still to be read
    listed: int = 0  # items the document lists, usable or not


@dataclass(frozen=True)
class PollResults:
    """Everything a round of polling produced: feed states and logs to record, entries to fetch."""

    polls: tuple[store.FeedPoll, ...]
    items: tuple[store.FeedItem, ...]
    new_entries: tuple[FeedEntry, ...]
    errors: tuple[ItemError, ...]


@dataclass(frozen=True)
class ProcessedBatch:
    """A batch after extraction, dedup and tagging: ready to load, with what became of every URL."""

    tagged: tuple[TaggedArticle, ...]
    fetch_records: tuple[store.FetchRecord, ...]
    errors: tuple[ItemError, ...] = field(default_factory=tuple)


def feed_request(state: FeedState) -> FetchRequest:
    """The conditional, polite request for one feed."""
    return FetchRequest(
        url=state.url,
        kind="sitemap" if state.kind == "sitemap" else "feed",
        etag=state.etag,
        last_modified=state.last_modified,
        obey_robots=state.obey_robots,
        host_rate=state.host_rate,
    )


def page_request(entry: FeedEntry, feed: FeedState | None) -> FetchRequest:
    """The request for an article page a feed listed: the feed's robots and politeness settings apply."""
    if feed is None:
        return FetchRequest(url=entry.url, kind="page")
    return FetchRequest(url=entry.url, kind="page", obey_robots=feed.obey_robots, host_rate=feed.host_rate)


def read_feed(state: FeedState, fetched: FetchResult) -> FeedRead:
    """Interpret a feed response: a 304, or a body identical to the last one, is unchanged (some servers
    send a fresh ETag for the same feed); otherwise the body is parsed as a feed or a sitemap."""
    if fetched.not_modified:
        return FeedRead(state, fetched, "", (), True, state.body_sha256, None)
    if not fetched.ok:
        return FeedRead(state, fetched, "", (), False, None, fetched.error or f"HTTP {fetched.status}")
    digest = hashlib.sha256(fetched.body).hexdigest()
    if digest == state.body_sha256:
        return FeedRead(state, fetched, "", (), True, digest, None)
    # Relative links resolve against where the body came from, after redirects.
    source = FeedSource(url=fetched.final_url or state.url, outlet=state.outlet, name=state.name)
    if state.kind == "sitemap":
        doc = parse_sitemap(fetched.body, source)
        since = state.last_success_at or fetched.fetched_at - timedelta(days=SITEMAP_LOOKBACK_DAYS)
        children = tuple(recent_children(doc, since)[:MAX_SITEMAP_CHILDREN])
        entries = tuple(replace(e, feed_url=state.url) for e in doc.entries)
        listed = len(doc.entries) + doc.skipped
        return FeedRead(state, fetched, doc.publication, entries, False, digest, doc.error, children, listed)
    parsed = parse_feed(fetched.body, source, content_type=fetched.content_type)
    entries = tuple(replace(e, feed_url=state.url) for e in parsed.entries)
    return FeedRead(state, fetched, parsed.title, entries, False, digest, parsed.error, listed=parsed.listed)


def _read_safely(state: FeedState, fetched: FetchResult) -> FeedRead:
    # One feed whose body breaks a parser is that feed's error, not the end of the poll round.
    try:
        return read_feed(state, fetched)
    except Exception as exc:
        return FeedRead(state, fetched, "", (), False, None, f"parse: {type(exc).__name__}: {exc}")


def poll_feeds(
    fetcher: Fetcher, states: Sequence[FeedState], *, deadline_s: float | None = None
) -> list[FeedRead]:
    """Fetch (conditionally, politely, concurrently) and read feeds; the fresh children of sitemap
    indexes are fetched in a second round and their entries credited to the index's feed. `deadline_s`
    bounds each round (a feed not fetched by then is a `timeout:` error)."""
    results = fetcher.fetch_many((feed_request(s) for s in states), deadline_s=deadline_s)
    reads = [_read_safely(state, result) for state, result in zip(states, results, strict=True)]
    wanted = [(i, child) for i, read in enumerate(reads) for child in read.children]
    if not wanted:
        return reads
    child_results = fetcher.fetch_many(
        (
            FetchRequest(
                url=child,
                kind="sitemap",
                obey_robots=reads[i].state.obey_robots,
                host_rate=reads[i].state.host_rate,
            )
            for i, child in wanted
        ),
        deadline_s=deadline_s,
    )
    extra: dict[int, list[FeedEntry]] = {}
    problems: dict[int, list[str]] = {}
    for (i, child), result in zip(wanted, child_results, strict=True):
        state = reads[i].state
        if not result.ok:
            problems.setdefault(i, []).append(f"{child}: {result.error or result.status}")
            continue
        doc = parse_sitemap(result.body, FeedSource(url=result.final_url or child, outlet=state.outlet))
        extra.setdefault(i, []).extend(replace(e, feed_url=state.url) for e in doc.entries)
        if doc.error:
            problems.setdefault(i, []).append(f"{child}: {doc.error}")
    merged = []
    for i, read in enumerate(reads):
        entries = read.entries + tuple(extra.get(i, ()))
        # A child that failed is worth a note, but the index itself answered: not a feed failure
        # unless nothing at all came out of it.
        error = read.error or ("; ".join(problems[i]) if i in problems and not entries else None)
        merged.append(replace(read, entries=entries, error=error, children=()))
    return merged


def finish_polls(
    reads: Sequence[FeedRead],
    known_canonical: set[str],
    settings: Settings,
    run_id: str,
    *,
    listed_before: set[tuple[int, str]] | None = None,
) -> PollResults:
    """Count new and already-listed items per feed, schedule each feed's next poll (etl.polling), and
    pick the entries to fetch: those not known (stored or settled), the first listing winning when several
    feeds carry a story. An item the feed listed before is not counted as new for its schedule, even when
    it is fetched again (a transient fetch error is retried)."""
    listed_before = listed_before or set()
    polls: list[store.FeedPoll] = []
    items: list[store.FeedItem] = []
    fresh: list[FeedEntry] = []
    taken: set[str] = set()
    errors: list[ItemError] = []
    for read in reads:
        new_items = seen_items = 0
        for entry in read.entries:
            key = canonical_url(entry.url)
            is_new = key not in known_canonical
            news = is_new and (read.state.feed_id, key) not in listed_before
            new_items += news
            seen_items += not news
            items.append(
                store.FeedItem(
                    feed_id=read.state.feed_id,
                    canonical_url=key,
                    url=entry.url,
                    guid=entry.guid,
                    title=entry.title,
                    published=entry.published,
                    seen_at=read.fetched.fetched_at,
                    outcome="new" if is_new else "seen",
                    reason=None,
                    run_id=run_id,
                )
            )
            if is_new and key not in taken:
                taken.add(key)
                fresh.append(entry)
        outcome = PollOutcome(
            polled_at=read.fetched.fetched_at,
            status=read.fetched.status,
            error=read.error,
            unchanged=read.unchanged,
            new_items=new_items,
            seen_items=seen_items,
            etag=read.fetched.etag,
            last_modified=read.fetched.last_modified,
            body_sha256=read.body_sha256,
            moved_to=read.fetched.permanent_redirect,
            retry_after_s=read.fetched.retry_after_s,
        )
        if read.error:
            errors.append(ItemError(item=read.state.url, stage="feed", error=read.error))
        polls.append(
            store.FeedPoll(
                state=after_poll(read.state, outcome, settings),
                outcome=outcome,
                title=read.title or None,
                entries=len(read.entries),
                bytes=len(read.fetched.body),
                elapsed_ms=read.fetched.elapsed_ms,
                run_id=run_id,
            )
        )
    return PollResults(tuple(polls), tuple(items), tuple(fresh), tuple(errors))


def mark_already_stored(
    records: Sequence[store.FetchRecord], stored: frozenset[str]
) -> list[store.FetchRecord]:
    """A page reached by a new URL whose canonical URL was already loaded (an AMP or tracking variant, a
    story a later batch met again) is a duplicate, not a load."""
    return [
        replace(r, outcome="duplicate") if r.outcome == "loaded" and r.canonical_url in stored else r
        for r in records
    ]


def sightings(
    records: Sequence[store.FetchRecord],
    items: Sequence[store.FeedItem],
    *,
    loaded_urls: set[str],
    feed_urls: dict[int, str],
    run_id: str,
) -> list[Sighting]:
    """How stories were reached this run: each page loaded or found to duplicate a stored story, and each
    feed item listing a story already stored (`loaded_urls`: canonical URLs known to be in `articles`)."""
    found = [
        Sighting(article_id(r.canonical_url), r.feed_url or r.url, r.url, r.fetched_at, run_id)
        for r in records
        if r.outcome in ("loaded", "duplicate") and r.canonical_url
    ]
    found += [
        Sighting(article_id(i.canonical_url), feed_urls.get(i.feed_id, ""), i.url, i.seen_at, run_id)
        for i in items
        if i.outcome == "seen" and i.canonical_url in loaded_urls
    ]
    return found


def item_outcomes(
    entries: Sequence[FeedEntry], records: Sequence[store.FetchRecord], feed_ids: dict[str, int], run_id: str
) -> list[store.FeedItem]:
    """What became of each fetched feed entry, for `feed_items`."""
    return [
        store.FeedItem(
            feed_id=feed_ids[entry.feed_url],
            canonical_url=canonical_url(entry.url),
            url=entry.url,
            guid=entry.guid,
            title=entry.title,
            published=entry.published,
            seen_at=record.fetched_at,
            outcome=record.outcome,
            reason=record.error,
            run_id=run_id,
        )
        for entry, record in zip(entries, records, strict=True)
        if entry.feed_url in feed_ids
    ]


def _failure_outcome(result: FetchResult) -> str:
    if result.error is not None and result.error.startswith("robots:"):
        return "robots"
    if result.status in (404, 410):
        return "gone"
    return "fetch_error"


@dataclass(frozen=True)
class ExtractedBatch:
    """A batch after extraction and dedup, before tagging: the new articles, and what became of every
    URL (`fetch_records[i]` is about `fetched[i]`)."""

    articles: tuple[Article, ...]
    fetch_records: tuple[store.FetchRecord, ...]
    errors: tuple[ItemError, ...] = field(default_factory=tuple)


def process_batch(
    fetched: Sequence[FetchResult],
    entries: Sequence[FeedEntry | None],
    tagger: Tagger,
    *,
    raw_dir: Path | None,
    run_id: str,
    known_canonical: set[str] | None = None,
    expected_language: str | None = None,
) -> ProcessedBatch:
    """Keep raw bodies, extract, drop duplicates (by canonical URL) and tag one batch of fetched pages.
    `entries[i]` is the feed entry that led to `fetched[i]` (None for URLs from elsewhere). An article
    whose language differs from `expected_language` is flagged `language_mismatch`, not dropped."""
    extracted = extract_batch(
        fetched,
        entries,
        raw_dir=raw_dir,
        run_id=run_id,
        known_canonical=known_canonical,
        expected_language=expected_language,
    )
    return tag_batch(extracted, tagger)


def tag_batch(extracted: ExtractedBatch, tagger: Tagger) -> ProcessedBatch:
    """Tag the articles of an extracted batch (one `nlp.pipe` over all of them)."""
    articles = extracted.articles
    taggings = tagger.tag([a.text for a in articles], [a.title for a in articles])
    tagged = tuple(TaggedArticle(article=a, tagging=t) for a, t in zip(articles, taggings, strict=True))
    return ProcessedBatch(tagged=tagged, fetch_records=extracted.fetch_records, errors=extracted.errors)


def extract_batch(
    fetched: Sequence[FetchResult],
    entries: Sequence[FeedEntry | None],
    *,
    raw_dir: Path | None,
    run_id: str,
    known_canonical: set[str] | None = None,
    expected_language: str | None = None,
) -> ExtractedBatch:
    """The first half of `process_batch`: keep raw bodies, extract and drop duplicates, no tagging (a
    backfill filters the articles by date and topic in between)."""
    seen = set(known_canonical or ())
    articles: list[Article] = []
    records: list[store.FetchRecord] = []
    errors: list[ItemError] = []
    for result, entry in zip(fetched, entries, strict=True):
        raw_sha = keep_raw(raw_dir, result.body) if raw_dir is not None and result.ok else None
        outcome, error, canonical = "loaded", result.error, canonical_url(result.final_url)
        if not result.ok:
            error = error or f"HTTP {result.status}"
            outcome = _failure_outcome(result)
        else:
            try:
                extracted = extract_article(
                    result.body, result.final_url, feed_published=entry.published if entry else None
                )
                canonical = extracted.canonical_url
                if canonical in seen:
                    outcome = "duplicate"
                else:
                    seen.add(canonical)
                    articles.append(
                        Article(
                            article_id=article_id(canonical),
                            url=result.url,
                            canonical_url=canonical,
                            outlet=entry.outlet if entry else extracted.site_name,
                            feed_url=entry.feed_url if entry else None,
                            title=extracted.title or (entry.title if entry else ""),
                            text=extracted.text,
                            authors=extracted.authors,
                            published=extracted.published,
                            published_source=extracted.published_source,
                            site_name=extracted.site_name,
                            language=extracted.language,
                            content_hash=content_hash(extracted.text),
                            fetched_at=result.fetched_at,
                            raw_sha256=raw_sha,
                            flags=extracted.flags
                            + (
                                ("language_mismatch",)
                                if language_mismatch(extracted.language, expected_language)
                                else ()
                            ),
                            published_confidence=extracted.published_confidence,
                            minhash=tuple(int(v) for v in minhash_signature(extracted.text)),
                            wire_agency=wire_agency(extracted.text),
                        )
                    )
            except ExtractionError as exc:
                outcome, error = "extract_error", str(exc)
            except Exception as exc:  # a page that breaks a parser must not take the batch down with it
                outcome, error = "extract_error", f"{type(exc).__name__}: {exc}"
        if error:
            errors.append(ItemError(item=result.url, stage=outcome, error=error))
        records.append(
            store.FetchRecord(
                url=result.url,
                canonical_url=canonical,
                final_url=result.final_url,
                feed_url=entry.feed_url if entry else None,
                status=result.status,
                error=error,
                outcome=outcome,
                content_type=result.content_type,
                bytes=len(result.body),
                raw_sha256=raw_sha,
                fetched_at=result.fetched_at,
                elapsed_ms=result.elapsed_ms,
                run_id=run_id,
            )
        )
    return ExtractedBatch(articles=tuple(articles), fetch_records=tuple(records), errors=tuple(errors))
