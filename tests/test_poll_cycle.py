"""A feed through a sequence of faults, polled by our real code (fetch, read, schedule) and recorded in a
real DuckDB file: conditional GET, unchanged bodies behind a fresh ETag, a permanent move, errors and a
pause, recovery; what was recorded before is never lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from etl import store
from etl.dedup import canonical_url
from etl.fetch import Fetcher
from etl.ingest import finish_polls, item_outcomes, poll_feeds
from etl.records import FeedSource
from etl.settings import Settings

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"


def rss(*items: str) -> str:
    body = "".join(f"<item><title>{i}</title><link>http://news.test/{i}.html</link></item>" for i in items)
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>{body}</channel></rss>'


class FeedScript:
    """Answers the feed URL with the next scripted response; records what each request carried."""

    def __init__(self) -> None:
        self.responses: list[Response] = []
        self.seen_headers: list[dict[str, str]] = []

    def __call__(self, request: Request) -> Response:
        self.seen_headers.append(dict(request.headers))
        return self.responses.pop(0)


@pytest.fixture
def db(tmp_path: Path):
    con = store.connect(tmp_path / "poll.duckdb")
    store.upgrade(con, SQL_DIR)
    yield con
    con.close()


def poll_once(con, fetcher: Fetcher, settings: Settings):
    """One round of polling every feed (due or not), recorded as the flow records it."""
    states = store.feed_states(con)
    reads = poll_feeds(fetcher, states)
    listed = [canonical_url(e.url) for r in reads for e in r.entries]
    known = store.known_canonical_urls(con, listed) | store.settled_item_urls(con, listed)
    result = finish_polls(
        reads, known, settings, run_id="test", listed_before=store.listed_items(con, listed)
    )
    store.record_feed_polls(con, result.polls)
    store.record_feed_items(con, result.items)
    return result


def settle(con, result) -> None:
    """Record the poll's new entries as loaded, as the article stage would."""
    records = [
        store.FetchRecord(
            url=e.url,
            canonical_url=e.url,
            final_url=e.url,
            feed_url=e.feed_url,
            status=200,
            error=None,
            outcome="loaded",
            content_type="text/html",
            bytes=10,
            raw_sha256=None,
            fetched_at=result.polls[0].outcome.polled_at + timedelta(seconds=1),
            elapsed_ms=1,
            run_id="t",
        )
        for e in result.new_entries
    ]
    feed_ids = {s.url: s.feed_id for s in store.feed_states(con)}
    store.record_feed_items(con, item_outcomes(result.new_entries, records, feed_ids, "t"))


def feed_row(con):
    return con.execute(
        "select url, listed_url, last_status, consecutive_failures, paused, etag, last_error from feeds"
    ).fetchone()


def test_a_feed_through_faults_and_back(httpserver: HTTPServer, db):
    script = FeedScript()
    httpserver.expect_request("/feed.xml").respond_with_handler(script)
    httpserver.expect_request("/moved.xml").respond_with_handler(script)
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    feed_url = httpserver.url_for("/feed.xml")
    settings = Settings(
        fetch_allow_networks=["127.0.0.0/8"],
        fetch_host_rate=1000,
        fetch_retries=0,
        feed_pause_after_failures=2,
    )
    store.register_feeds(db, [FeedSource(url=feed_url, outlet="wire")])
    xml = {"content_type": "application/rss+xml"}
    with Fetcher(settings) as fetcher:
        # 1. A first answer with validators: two new items.
        script.responses.append(Response(rss("a", "b"), headers={"ETag": '"v1"'}, **xml))
        first = poll_once(db, fetcher, settings)
        assert [p.outcome.new_items for p in first.polls] == [2]
        settle(db, first)
        assert feed_row(db)[2:6] == (200, 0, False, '"v1"')

        # 2. The validators go back to the server, which answers 304: nothing further happens.
        script.responses.append(Response(status=304))
        second = poll_once(db, fetcher, settings)
        assert script.seen_headers[-1].get("If-None-Match") == '"v1"'
        assert second.polls[0].outcome.unchanged and second.new_entries == ()

        # 3. A fresh ETag on the very same body is still unchanged (no parsing, no items).
        script.responses.append(Response(rss("a", "b"), headers={"ETag": '"v2"'}, **xml))
        third = poll_once(db, fetcher, settings)
        assert third.polls[0].outcome.unchanged and third.items == ()

        # 4. One new item among known ones: only it is new.
        script.responses.append(Response(rss("a", "b", "c"), headers={"ETag": '"v3"'}, **xml))
        fourth = poll_once(db, fetcher, settings)
        assert [e.url for e in fourth.new_entries] == ["http://news.test/c.html"]
        assert (fourth.polls[0].outcome.new_items, fourth.polls[0].outcome.seen_items) == (1, 2)
        # The item is loaded; listing it again later must not bring it back as new.
        settle(db, fourth)

        # 5. A permanent move: the stored URL follows it, the listed URL stays.
        script.responses.append(Response(status=301, headers={"Location": "/moved.xml"}))
        script.responses.append(Response(rss("a", "b", "c"), headers={"ETag": '"v4"'}, **xml))
        poll_once(db, fetcher, settings)
        url, listed, *_ = feed_row(db)
        assert url.endswith("/moved.xml") and listed == feed_url

        # 6. Failures are counted; at the threshold the feed is paused, and nothing recorded is lost.
        script.responses.append(Response("down", status=500))
        poll_once(db, fetcher, settings)
        assert feed_row(db)[2:5] == (500, 1, False)
        script.responses.append(Response("gone", status=410))
        poll_once(db, fetcher, settings)
        assert feed_row(db)[2:5] == (410, 2, True)
        assert feed_row(db)[6] == "HTTP 410"
        assert db.execute("select count(*) from feed_items").fetchone()[0] == 3
        outcomes = dict(db.execute("select canonical_url, outcome from feed_items").fetchall())
        assert outcomes["http://news.test/c.html"] == "loaded"

        # 7. It answers again: resumed, healthy, and the loaded item is not new.
        script.responses.append(Response(rss("a", "b", "c", "d"), headers={"ETag": '"v5"'}, **xml))
        back = poll_once(db, fetcher, settings)
        assert feed_row(db)[2:6] == (200, 0, False, '"v5"')
        assert [e.url for e in back.new_entries] == ["http://news.test/d.html"]

    polls = db.execute("select count(*), count(*) filter (where unchanged) from feed_polls").fetchone()
    # Unchanged: the 304, the fresh ETag on the same body, and the moved feed serving the same body.
    assert polls == (8, 3)


def test_a_news_sitemap_index_is_polled_through_its_fresh_children(httpserver: HTTPServer, db):
    now = datetime.now(UTC)
    fresh, stale = now.strftime("%Y-%m-%dT%H:%M:%SZ"), (now - timedelta(days=400)).strftime("%Y-%m-%d")
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
    news = 'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    httpserver.expect_request("/sitemap-index.xml").respond_with_data(
        f"<sitemapindex {ns}>"
        f"<sitemap><loc>{httpserver.url_for('/news-today.xml')}</loc><lastmod>{fresh}</lastmod></sitemap>"
        f"<sitemap><loc>{httpserver.url_for('/archive-2019.xml')}</loc><lastmod>{stale}</lastmod></sitemap>"
        "</sitemapindex>",
        content_type="application/xml",
    )
    httpserver.expect_request("/news-today.xml").respond_with_data(
        f"<urlset {ns} {news}><url><loc>http://news.test/today.html</loc><news:news>"
        "<news:publication><news:name>Wire</news:name><news:language>en</news:language></news:publication>"
        f"<news:publication_date>{fresh}</news:publication_date><news:title>Today</news:title>"
        "</news:news></url></urlset>",
        content_type="application/xml",
    )
    httpserver.expect_request("/archive-2019.xml").respond_with_data("must not be fetched", status=500)
    index_url = httpserver.url_for("/sitemap-index.xml")
    settings = Settings(fetch_allow_networks=["127.0.0.0/8"], fetch_host_rate=1000, fetch_retries=0)
    store.register_feeds(db, [FeedSource(url=index_url, outlet="wire", kind="sitemap")])
    with Fetcher(settings) as fetcher:
        result = poll_once(db, fetcher, settings)
    (entry,) = result.new_entries
    assert (entry.url, entry.title, entry.feed_url) == ("http://news.test/today.html", "Today", index_url)
    assert entry.published is not None and abs((entry.published - now).total_seconds()) < 5
    assert not any("archive-2019" in str(r.path) for r, _ in httpserver.log)
    assert result.polls[0].outcome.error is None and result.polls[0].entries == 1
