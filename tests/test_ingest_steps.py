"""The ingest steps as plain functions, with a blank spaCy pipeline (tagging itself is tested elsewhere)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import spacy

from etl.ingest import process_batch
from etl.nlp.pipeline import Tagger
from etl.rawstore import read_raw
from etl.records import FeedEntry, FetchResult

T0 = datetime(2026, 10, 6, 8, 0, tzinfo=UTC)
PAGE = """<html lang="{lang}"><head><title>{title}</title><link rel="canonical" href="{canonical}"></head>
<body><article><h1>{title}</h1>
<p>Election officials said on Monday that a network of fake accounts had pushed the same claims about the vote
within minutes of each other, and that the accounts had been created in batches over the summer.</p>
<p>Investigators are examining whether the platform acted quickly enough once it was warned about them, and
what the company knew about who was paying for the advertisements that the accounts promoted.</p>
</article></body></html>"""


def page(url: str, *, status: int = 200, body: str = "", error: str | None = None) -> FetchResult:
    return FetchResult(
        url=url,
        final_url=url,
        status=status,
        content_type="text/html",
        body=body.encode(),
        fetched_at=T0,
        elapsed_ms=5,
        error=error,
    )


def entry(url: str) -> FeedEntry:
    return FeedEntry("https://feed.test/rss", "test", url, url, "t", T0, "")


def test_process_batch_records_what_became_of_every_url(tmp_path: Path):
    tagger = Tagger(spacy.blank("en"))
    ok = PAGE.format(lang="en", title="Fake accounts", canonical="https://news.test/a")
    german = PAGE.format(lang="de", title="Gefälschte Konten", canonical="https://news.test/de")
    fetched = [
        page("https://news.test/a?utm_source=rss", body=ok),
        page("https://news.test/a-amp", body=ok),  # the same canonical URL: a duplicate
        page("https://news.test/de", body=german),
        page("https://news.test/menu", body="<html><body><nav><a href='/'>Home</a></nav></body></html>"),
        page("https://news.test/gone", status=404, error="HTTP 404"),
        page(
            "https://news.test/private",
            status=None,
            error="robots: disallowed by https://news.test/robots.txt",
        ),
        page("https://news.test/slow", status=None, error="timeout: ReadTimeout"),
    ]
    batch = process_batch(
        fetched,
        [entry(r.url) for r in fetched],
        tagger,
        raw_dir=tmp_path / "raw",
        run_id="r",
        expected_language="en",
    )
    outcomes = [r.outcome for r in batch.fetch_records]
    assert outcomes == ["loaded", "duplicate", "loaded", "extract_error", "gone", "robots", "fetch_error"]
    assert [t.article.canonical_url for t in batch.tagged] == ["https://news.test/a", "https://news.test/de"]
    english, other = (t.article for t in batch.tagged)
    assert "language_mismatch" not in english.flags and "language_mismatch" in other.flags
    assert english.published == T0 and english.published_source == "feed"
    assert english.minhash and english.wire_agency is None
    # The raw bytes are kept and can be read back by their hash.
    assert read_raw(tmp_path / "raw", english.raw_sha256).decode() == ok
    assert {e.stage for e in batch.errors} == {"extract_error", "gone", "robots", "fetch_error"}
    assert all(e.error for e in batch.errors)


def test_a_page_whose_canonical_url_is_already_stored_is_a_duplicate():
    from etl.ingest import mark_already_stored
    from etl.store import FetchRecord

    def record(url: str, outcome: str) -> FetchRecord:
        return FetchRecord(
            url, "https://news.test/a", url, None, 200, None, outcome, "text/html", 1, None, T0, 1, "r"
        )

    records = [record("https://news.test/a-amp", "loaded"), record("https://news.test/x", "extract_error")]
    marked = mark_already_stored(records, frozenset({"https://news.test/a"}))
    assert [r.outcome for r in marked] == ["duplicate", "extract_error"]


def test_opml_round_trip_keeps_sitemaps():
    from etl.opml import export_opml, parse_opml
    from etl.records import FeedSource

    sources = [
        FeedSource("https://a.test/rss", "a"),
        FeedSource("https://b.test/news-sitemap.xml", "b", kind="sitemap"),
    ]
    assert [s.kind for s in parse_opml(export_opml(sources))] == ["feed", "sitemap"]
