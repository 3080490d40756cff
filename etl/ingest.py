"""The ingest job in plain Python, one function per coarse step. The Prefect flow in flows/ingest.py
wraps each of these in a task; tests and other callers can run them without Prefect."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from etl import store
from etl.dedup import article_id, canonical_url, content_hash
from etl.extract import ExtractionError, extract_article
from etl.feeds import parse_feed
from etl.fetch import Fetcher
from etl.nlp.pipeline import Tagger
from etl.rawstore import keep_raw
from etl.records import Article, FeedEntry, FeedSource, FetchResult, ItemError, TaggedArticle


@dataclass(frozen=True)
class FeedPollResult:
    """One feed's poll: what to record about the feed, and the entries it listed."""

    poll: store.FeedPoll
    entries: tuple[FeedEntry, ...]
    error: ItemError | None


@dataclass(frozen=True)
class ProcessedBatch:
    """A batch after extraction, dedup and tagging: ready to load, with what became of every URL."""

    tagged: tuple[TaggedArticle, ...]
    fetch_records: tuple[store.FetchRecord, ...]
    errors: tuple[ItemError, ...] = field(default_factory=tuple)


def poll_feeds(fetcher: Fetcher, sources: Sequence[FeedSource]) -> list[FeedPollResult]:
    """Fetch and parse feeds concurrently. A failed feed is recorded, never raised."""
    results = []
    for source, fetched in zip(sources, fetcher.fetch_many(s.url for s in sources), strict=True):
        error = fetched.error
        entries: tuple[FeedEntry, ...] = ()
        title = ""
        if fetched.ok:
            parsed = parse_feed(fetched.body, source, content_type=fetched.content_type)
            entries, title, error = parsed.entries, parsed.title, parsed.error
        poll = store.FeedPoll(
            url=source.url,
            outlet=source.outlet,
            name=source.name,
            title=title,
            polled_at=fetched.fetched_at,
            status=fetched.status,
            error=error,
            entry_count=len(entries),
        )
        item_error = ItemError(item=source.url, stage="feed", error=error) if error else None
        results.append(FeedPollResult(poll=poll, entries=entries, error=item_error))
    return results


def select_new_entries(entries: Sequence[FeedEntry], known_canonical: set[str]) -> list[FeedEntry]:
    """Entries whose canonical URL is not loaded yet; the first entry wins when two feeds list one story."""
    fresh: list[FeedEntry] = []
    seen = set(known_canonical)
    for entry in entries:
        key = canonical_url(entry.url)
        if key not in seen:
            seen.add(key)
            fresh.append(entry)
    return fresh


def process_batch(
    fetched: Sequence[FetchResult],
    entries: Sequence[FeedEntry | None],
    tagger: Tagger,
    *,
    raw_dir: Path | None,
    run_id: str,
    known_canonical: set[str] | None = None,
) -> ProcessedBatch:
    """Keep raw bodies, extract, drop duplicates (by canonical URL) and tag one batch of fetched pages.
    `entries[i]` is the feed entry that led to `fetched[i]` (None for URLs from elsewhere)."""
    seen = set(known_canonical or ())
    articles: list[Article] = []
    records: list[store.FetchRecord] = []
    errors: list[ItemError] = []
    for result, entry in zip(fetched, entries, strict=True):
        raw_sha = keep_raw(raw_dir, result.body) if raw_dir is not None and result.ok else None
        outcome, error, canonical = "loaded", result.error, canonical_url(result.final_url)
        if not result.ok:
            outcome = "fetch_error"
            error = error or f"HTTP {result.status}"
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
                        )
                    )
            except ExtractionError as exc:
                outcome, error = "extract_error", str(exc)
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
    taggings = tagger.tag([a.text for a in articles], [a.title for a in articles])
    tagged = tuple(TaggedArticle(article=a, tagging=t) for a, t in zip(articles, taggings, strict=True))
    return ProcessedBatch(tagged=tagged, fetch_records=tuple(records), errors=tuple(errors))
