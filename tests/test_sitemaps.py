import gzip
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lxml import etree

from etl.records import FeedSource
from etl.sitemaps import (
    common_sitemap_urls,
    decompress_capped,
    parse_sitemap,
    parse_untrusted_xml,
    parse_w3c_datetime,
    recent_children,
    safe_xml_parser,
    sitemaps_from_robots,
)

SOURCE = FeedSource(url="https://www.example-news.com/sitemaps/articles-2026-10.xml", outlet="examplenews")

URLSET = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url>
    <loc>https://www.example-news.com/world/2026/10/05/harbour-strike-ends</loc>
    <lastmod>2026-10-05T09:12:44+02:00</lastmod>
    <changefreq>hourly</changefreq>
    <image:image><image:loc>https://img.example-news.com/harbour.jpg</image:loc></image:image>
  </url>
  <url>
    <loc>
        /politics/2026/10/04/budget-vote-delayed
    </loc>
    <lastmod>2026-10-04</lastmod>
  </url>
  <url><loc>https://www.example-news.com/world/2026/10/05/harbour-strike-ends</loc></url>
  <url><loc>ftp://files.example-news.com/archive.zip</loc></url>
  <url><loc>mailto:desk@example-news.com</loc></url>
  <url><lastmod>2026-10-01</lastmod></url>
  <url>
    <loc>https://www.example-news.com/science/2026/10/03/comet-flyby</loc>
    <lastmod>2026-10-03T18:00Z</lastmod>
  </url>
</urlset>
"""

INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://www.example-news.com/sitemaps/news.xml</loc>
    <lastmod>2026-10-05T10:00:00Z</lastmod></sitemap>
  <sitemap><loc>articles-2026-10.xml.gz</loc><lastmod>2026-10-05</lastmod></sitemap>
  <sitemap><loc>https://www.example-news.com/sitemaps/articles-2019-01.xml.gz</loc>
    <lastmod>2019-02-01</lastmod></sitemap>
  <sitemap><loc>https://www.example-news.com/sitemaps/sections.xml</loc></sitemap>
  <sitemap><loc>https://www.example-news.com/sitemaps/news.xml</loc></sitemap>
</sitemapindex>
"""

NEWS = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url>
    <loc>https://www.example-news.com/world/2026/10/05/harbour-strike-ends</loc>
    <lastmod>2026-10-05T12:30:00+00:00</lastmod>
    <news:news>
      <news:publication>
        <news:name>Example News</news:name>
        <news:language>en</news:language>
      </news:publication>
      <news:publication_date>2026-10-05T09:12:44+02:00</news:publication_date>
      <news:title>Harbour strike ends
        after 12 days</news:title>
      <news:keywords>strike, ports</news:keywords>
    </news:news>
  </url>
  <url>
    <loc>https://www.example-news.com/culture/2026/10/05/m%C3%BCller-retrospective</loc>
    <news:news>
      <news:publication><news:name>Example News</news:name><news:language>de</news:language>
      </news:publication>
      <news:publication_date>2026-10-05</news:publication_date>
      <news:title><![CDATA[Müller retrospective opens & sells out]]></news:title>
    </news:news>
  </url>
</urlset>
""".encode()


def _gzip_bomb(decompressed_mib: int) -> bytes:
    """A gzip stream of `decompressed_mib` MiB of zeros, built chunk by chunk so the test never holds the
    decompressed data (the compressed result is about a thousandth of it)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: gzip container
    chunk = bytes(1024 * 1024)
    parts = [compressor.compress(chunk) for _ in range(decompressed_mib)]
    parts.append(compressor.flush())
    return b"".join(parts)


def test_urlset_absolute_deduplicated_http_only_with_dates():
    doc = parse_sitemap(URLSET, SOURCE)
    assert doc.error is None and doc.warning is None
    assert doc.kind == "urlset" and not doc.is_news
    assert [e.url for e in doc.entries] == [
        "https://www.example-news.com/world/2026/10/05/harbour-strike-ends",
        "https://www.example-news.com/politics/2026/10/04/budget-vote-delayed",
        "https://www.example-news.com/science/2026/10/03/comet-flyby",
    ]
    # The duplicate, ftp:, mailto: and the <url> without <loc>.
    assert doc.skipped == 4
    first, second, third = doc.entries
    assert first.published == datetime(2026, 10, 5, 7, 12, 44, tzinfo=UTC)
    assert second.published == datetime(2026, 10, 4, tzinfo=UTC)
    assert third.published == datetime(2026, 10, 3, 18, 0, tzinfo=UTC)
    for entry in doc.entries:
        assert entry.feed_url == SOURCE.url and entry.outlet == "examplenews"
        assert entry.guid == entry.url and entry.title == "" and entry.summary == ""
        assert entry.published is not None and entry.published.tzinfo is not None


def test_sitemap_index_children_and_recent_children():
    doc = parse_sitemap(INDEX, SOURCE)
    assert doc.error is None and doc.kind == "index" and doc.entries == ()
    assert doc.children == (
        "https://www.example-news.com/sitemaps/news.xml",
        "https://www.example-news.com/sitemaps/articles-2026-10.xml.gz",
        "https://www.example-news.com/sitemaps/articles-2019-01.xml.gz",
        "https://www.example-news.com/sitemaps/sections.xml",
    )
    assert doc.children_lastmod[0] == datetime(2026, 10, 5, 10, tzinfo=UTC)
    assert doc.children_lastmod[3] is None
    assert doc.skipped == 1
    recent = recent_children(doc, datetime(2026, 9, 1, tzinfo=UTC))
    assert "https://www.example-news.com/sitemaps/articles-2019-01.xml.gz" not in recent
    assert recent == [doc.children[0], doc.children[1], doc.children[3]]


def test_google_news_sitemap_titles_and_publication_date_win_over_lastmod():
    doc = parse_sitemap(NEWS, SOURCE)
    assert doc.error is None and doc.is_news and doc.publication == "Example News"
    first, second = doc.entries
    assert first.title == "Harbour strike ends after 12 days"
    # publication_date (07:12 UTC) beats lastmod (12:30 UTC).
    assert first.published == datetime(2026, 10, 5, 7, 12, 44, tzinfo=UTC)
    assert second.title == "Müller retrospective opens & sells out"
    assert second.published == datetime(2026, 10, 5, tzinfo=UTC)
    assert second.url.endswith("/m%C3%BCller-retrospective")


def test_news_sitemap_without_namespace_declarations_is_recovered():
    # Generators that forget xmlns:news write prefixed tags libxml2 calls not well-formed.
    body = (
        b"<urlset><url><loc>https://www.example-news.com/a</loc><news:news>"
        b"<news:publication_date>2026-10-05T08:00:00Z</news:publication_date>"
        b"<news:title>Undeclared prefix</news:title></news:news></url></urlset>"
    )
    doc = parse_sitemap(body, SOURCE)
    assert doc.error is None and doc.warning is not None
    assert doc.is_news
    assert doc.entries[0].title == "Undeclared prefix"
    assert doc.entries[0].published == datetime(2026, 10, 5, 8, tzinfo=UTC)


def test_odd_namespace_bare_ampersands_and_leading_whitespace():
    body = (
        b"\n\n  <?xml version='1.0'?>\n<urlset xmlns='http://www.google.com/schemas/sitemap/0.84'>"
        b"<url><loc>https://www.example-news.com/search?q=port&page=2</loc></url>"
        b"<url><loc>https://www.example-news.com/b?x=1&amp;y=2</loc></url></urlset>"
    )
    doc = parse_sitemap(body, SOURCE)
    assert doc.error is None
    assert [e.url for e in doc.entries] == [
        "https://www.example-news.com/search?q=port&page=2",
        "https://www.example-news.com/b?x=1&y=2",
    ]


def test_gzip_body_detected_by_magic_bytes():
    doc = parse_sitemap(gzip.compress(URLSET), SOURCE)
    assert doc.error is None and len(doc.entries) == 3
    index = parse_sitemap(gzip.compress(INDEX), SOURCE)
    assert len(index.children) == 4


def test_text_sitemap_one_url_a_line():
    body = (
        b"\xef\xbb\xbfhttps://www.example-news.com/world/a\r\n"
        b"  https://www.example-news.com/world/b  \n\n"
        b"# not a url\n/world/c\nhttps://www.example-news.com/world/a\njavascript:alert(1)\n"
    )
    doc = parse_sitemap(body, SOURCE)
    assert doc.kind == "text" and doc.error is None
    assert [e.url for e in doc.entries] == [
        "https://www.example-news.com/world/a",
        "https://www.example-news.com/world/b",
        "https://www.example-news.com/world/c",
    ]


def test_empty_urlset_is_not_an_error_but_garbage_is():
    empty = parse_sitemap(b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>', SOURCE)
    assert empty.error is None and empty.entries == ()
    assert parse_sitemap(b"", SOURCE).error
    assert parse_sitemap(b"just some words\n", SOURCE).error


@pytest.mark.parametrize(
    "body",
    [
        b"<urlset><url><loc>https://a.example/</loc></url><<<>>>",
        b"<?xml version='1.0'?><urlset><url><loc>https://a.example/x</loc></url>",  # truncated
        b"<<<not xml at all",
        b"<!DOCTYPE html><html><head><title>404</title></head><body><p>Not found</body></html>",
        b'<?xml version="1.0"?><opml version="2.0"><head/><body/></opml>',
    ],
)
def test_malformed_or_foreign_documents_never_raise(body: bytes):
    doc = parse_sitemap(body, SOURCE)
    assert doc.error is not None or doc.warning is not None
    if doc.error is None:
        # What was recovered must be real URLs from the document.
        assert all(e.url.startswith("https://a.example/") for e in doc.entries)


def test_truncated_document_recovers_what_it_can():
    doc = parse_sitemap(b"<urlset><url><loc>https://a.example/one</loc></url><url><loc>https://a.ex", SOURCE)
    assert doc.warning is not None and doc.warning.startswith("malformed XML")
    assert [e.url for e in doc.entries][:1] == ["https://a.example/one"]


def test_html_page_is_not_a_sitemap():
    doc = parse_sitemap(b"<html><body><a href='/x'>x</a></body></html>", SOURCE)
    assert doc.error == "not a sitemap: root element is <html>"


def test_billion_laughs_completes_quickly_without_expansion():
    entities = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol%s;" % ("" if i == 1 else i - 1)) * 10}">' for i in range(1, 10)
    ]
    body = (
        '<?xml version="1.0"?>\n<!DOCTYPE urlset [\n' + "\n".join(entities) + "\n]>\n"
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>https://a.example/&lol9;</loc></url></urlset>"
    ).encode()
    started = time.monotonic()
    doc = parse_sitemap(body, SOURCE)
    assert time.monotonic() - started < 2.0
    assert doc.error is not None and doc.error.startswith("refused") and doc.entries == ()
    assert "lollol" not in repr(doc)


def test_external_entity_file_is_never_read(tmp_path: Path):
    secret = "TOP-SECRET-" + "x1y2z3" * 3
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(secret)
    body = (
        f'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY xxe SYSTEM "{secret_file.as_uri()}">]>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<url><loc>https://a.example/&xxe;</loc><lastmod>&xxe;</lastmod></url>"
        "<url><loc>&xxe;</loc></url></urlset>"
    ).encode()
    doc = parse_sitemap(body, SOURCE)
    assert secret not in repr(doc)
    assert doc.error is not None and doc.error.startswith("refused") and doc.entries == ()
    # And the parser itself, even without the refusal, leaves the entity unread.
    root = etree.fromstring(body, safe_xml_parser())
    assert secret not in etree.tostring(root).decode()
    assert parse_untrusted_xml(body)[0] is None


def test_external_dtd_is_not_loaded(tmp_path: Path):
    secret = "DTD-SECRET-" + "q9w8e7" * 3
    (tmp_path / "secret.txt").write_text(secret)
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY leak SYSTEM "{(tmp_path / "secret.txt").as_uri()}">')
    body = (
        f'<?xml version="1.0"?><!DOCTYPE urlset SYSTEM "{dtd.as_uri()}">'
        "<urlset><url><loc>https://a.example/&leak;</loc></url></urlset>"
    ).encode()
    doc = parse_sitemap(body, SOURCE)
    assert secret not in repr(doc)


def test_gzip_bomb_is_an_error_not_an_oom():
    bomb = _gzip_bomb(64)
    assert len(bomb) < 200_000
    started = time.monotonic()
    doc = parse_sitemap(bomb, SOURCE)  # default cap: 50 MiB
    assert doc.error is not None and doc.error.startswith("too large")
    assert time.monotonic() - started < 10
    small_cap = parse_sitemap(gzip.compress(URLSET), SOURCE, max_bytes=100)
    assert small_cap.error is not None and small_cap.error.startswith("too large")
    assert parse_sitemap(URLSET, SOURCE, max_bytes=100).error is not None


def test_truncated_gzip_is_an_error():
    packed = gzip.compress(URLSET)
    doc = parse_sitemap(packed[: len(packed) // 2], SOURCE)
    assert doc.error is not None and doc.error.startswith("bad gzip")
    data, problem = decompress_capped(packed, 10_000)
    assert problem is None and data == URLSET


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026", datetime(2026, 1, 1, tzinfo=UTC)),
        ("2026-10", datetime(2026, 10, 1, tzinfo=UTC)),
        ("2026-10-05", datetime(2026, 10, 5, tzinfo=UTC)),
        ("2026-10-05T09:12+02:00", datetime(2026, 10, 5, 7, 12, tzinfo=UTC)),
        ("2026-10-05T09:12:44Z", datetime(2026, 10, 5, 9, 12, 44, tzinfo=UTC)),
        ("2026-10-05T09:12:44.5-05:00", datetime(2026, 10, 5, 14, 12, 44, 500000, tzinfo=UTC)),
        ("2026-10-05T09:12:44", datetime(2026, 10, 5, 9, 12, 44, tzinfo=UTC)),
        (" 2026-10-05 09:12:44 +0000 ", datetime(2026, 10, 5, 9, 12, 44, tzinfo=UTC)),
        ("Mon, 05 Oct 2026 09:12:44 GMT", datetime(2026, 10, 5, 9, 12, 44, tzinfo=UTC)),
        ("", None),
        ("soon", None),
        ("2026-13-45", None),
    ],
)
def test_w3c_dates(text: str, expected: datetime | None):
    assert parse_w3c_datetime(text) == expected


def test_sitemaps_from_robots():
    robots = (
        "\ufeffUser-agent: *\nDisallow: /search\n"
        "Sitemap: https://www.example-news.com/sitemap_index.xml\n"
        "sitemap:/news-sitemap.xml   # the news one\r\n"
        "SITEMAP : https://www.example-news.com/sitemap_index.xml\n"
        "  Sitemap: https://cdn.example-news.com/video.xml#frag\n"
        "# Sitemap: https://www.example-news.com/commented-out.xml\n"
        "Sitemap: ftp://www.example-news.com/x.xml\n"
        "Disallow: /sitemap-mentioned-in-a-rule.xml\n"
    )
    assert sitemaps_from_robots(robots, "https://www.example-news.com/robots.txt") == [
        "https://www.example-news.com/sitemap_index.xml",
        "https://www.example-news.com/news-sitemap.xml",
        "https://cdn.example-news.com/video.xml",
    ]
    assert sitemaps_from_robots("", "https://x.example/") == []


def test_common_sitemap_urls_are_at_the_site_root():
    urls = common_sitemap_urls("https://www.example-news.com/world/story.html")
    assert urls[0] == "https://www.example-news.com/sitemap_news.xml"
    assert "https://www.example-news.com/sitemap.xml" in urls


@pytest.mark.shared
def test_real_feeds_named_as_sitemaps_are_read_as_feeds(shared: Path):
    # No real sitemap ships in ../shared; robots.txt may name an RSS/Atom feed as a sitemap, so the real
    # feeds (one of them gzip-compressed, in a non-UTF-8 encoding) exercise that path.
    real = shared / "data" / "feeds" / "real"
    cnn = parse_sitemap((real / "mediacloud-rss-fetcher" / "real-cnn.rss").read_bytes(), SOURCE)
    assert cnn.kind == "feed" and cnn.error is None and len(cnn.entries) == 69
    assert all(e.url.startswith("https://") and e.outlet == "examplenews" for e in cnn.entries)
    compressed = parse_sitemap((real / "node-feedparser" / "compressed.xml").read_bytes(), SOURCE)
    assert compressed.kind == "feed" and len(compressed.entries) == 10
    assert compressed.entries[0].url.startswith("http://www.oren.ru/news/")
    html = parse_sitemap((real / "node-feedparser" / "notafeed.html").read_bytes(), SOURCE)
    assert html.error is not None and html.entries == ()
