import gzip
import json
import zlib
from pathlib import Path

import pytest

from etl.discover import (
    DiscoveredFeed,
    absolute_http_url,
    common_feed_paths,
    common_path_candidates,
    discover_feeds,
    discover_in_page,
    feed_links,
    looks_like_feed,
    rank_candidates,
    sniff_kind,
)

PAGE_URL = "https://www.example-news.com/"

HOMEPAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Example News – Breaking news and analysis</title>
  <link rel="stylesheet" href="/assets/site.css">
  <link rel="alternate" type="application/rss+xml; charset=UTF-8" title="Example News » Feed" href="/feed/">
  <link rel="alternate" type="application/rss+xml" title="Example News » Comments Feed"
        href="https://www.example-news.com/comments/feed/">
  <link rel="Alternate" type="application/atom+xml" title="Example News (Atom)" href="feed/atom/">
  <link rel="alternate" type="application/json" href="https://www.example-news.com/wp-json/wp/v2/pages/7">
  <link rel="alternate" type="application/json+oembed"
        href="https://www.example-news.com/wp-json/oembed/1.0/embed?url=https%3A%2F%2Fwww.example-news.com%2F">
  <link rel="alternate" type="application/feed+json" title="Example News JSON" href="/feed.json">
  <link rel="alternate" hreflang="de" href="https://de.example-news.com/">
  <link rel="alternate" type="application/rss+xml" title="Example News » Feed" href="https://www.example-news.com/feed">
  <link rel="alternate" type="application/rss+xml" title="Partner" href="//feeds.partner-wire.net/example">
</head>
<body>
  <nav>
    <a href="/world/">World</a>
    <a href="/politics/">Politics</a>
    <a href="/rss/politics.xml">Politics RSS</a>
    <a href="https://rss.example-news.com/science.rss"><img src="/i/rss.png" alt=""> Science</a>
  </nav>
  <main><article><a href="/world/2026/10/05/harbour-strike-ends">Harbour strike ends</a></article></main>
  <footer>
    <a href="/feed/">Subscribe</a>
    <a href="https://feedly.com/i/subscription/feed/https://www.example-news.com/feed/">Follow on Feedly</a>
    <a href="https://twitter.com/examplenews">Twitter</a>
    <a href="mailto:desk@example-news.com">Contact</a>
    <a href="/sitemap.xml">Sitemap</a>
    <a href="/about/feedback">Feedback</a>
    <a href="feed:https://www.example-news.com/feed/podcast/">Podcast</a>
  </footer>
</body>
</html>
"""


def test_link_alternates_and_feedish_anchors_in_page_order():
    found = discover_in_page(HOMEPAGE, PAGE_URL)
    assert [(d.url, d.kind, d.how) for d in found] == [
        ("https://www.example-news.com/feed/", "rss", "link-alternate"),
        ("https://www.example-news.com/feed/atom/", "atom", "link-alternate"),
        ("https://www.example-news.com/feed.json", "json", "link-alternate"),
        ("https://feeds.partner-wire.net/example", "rss", "link-alternate"),
        ("https://www.example-news.com/rss/politics.xml", "rss", "anchor"),
        ("https://rss.example-news.com/science.rss", "rss", "anchor"),
        ("https://www.example-news.com/sitemap.xml", "sitemap", "anchor"),
        ("https://www.example-news.com/feed/podcast/", "rss", "anchor"),
    ]
    assert found[0].title == "Example News » Feed"
    assert found[5].title == "Science"
    assert feed_links(HOMEPAGE.encode(), PAGE_URL) == [d.url for d in found]


def test_base_href_xhtml_declaration_and_empty_input():
    xhtml = (
        '<?xml version="1.0" encoding="utf-8"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><head>'
        '<base href="https://cdn.example-news.com/edition/"/>'
        '<link rel="alternate" type="application/rss+xml" href="rss.xml"/></head><body/></html>'
    )
    assert feed_links(xhtml, PAGE_URL) == ["https://cdn.example-news.com/edition/rss.xml"]
    assert feed_links("", PAGE_URL) == []
    assert feed_links(b"   ", PAGE_URL) == []
    assert feed_links(b"\x00\x01binary", PAGE_URL) == []


def test_article_page_comment_feed_is_left_out():
    page = "https://blog.example-news.com/2026/10/05/harbour-strike-ends/"
    html = (
        '<head><link rel="alternate" type="application/rss+xml" title="Blog » Feed" href="/feed/">'
        '<link rel="alternate" type="application/rss+xml" title="Blog » Harbour strike ends"'
        ' href="https://blog.example-news.com/2026/10/05/harbour-strike-ends/feed/"></head>'
        '<body><a href="/2026/10/05/harbour-strike-ends/feed/">Feed for comments</a></body>'
    )
    assert feed_links(html, page) == ["https://blog.example-news.com/feed/"]


def test_common_feed_paths_are_at_the_site_root():
    paths = common_feed_paths("https://www.example-news.com/politics/2026/story.html?x=1")
    assert paths[0] == "https://www.example-news.com/feed"
    for expected in (
        "/rss",
        "/rss.xml",
        "/feed.xml",
        "/atom.xml",
        "/index.xml",
        "/feeds/posts/default",
        "/?feed=rss2",
        "/news/rss.xml",
        "/sitemap_news.xml",
    ):
        assert "https://www.example-news.com" + expected in paths
    assert all(p.startswith("https://www.example-news.com/") for p in paths)
    assert len(set(paths)) == len(paths)
    kinds = {c.url.rsplit("/", 1)[-1]: c.kind for c in common_path_candidates("http://site.example")}
    assert kinds["default"] == "atom" and kinds["atom.xml"] == "atom"
    assert kinds["feed.json"] == "json" and kinds["sitemap_news.xml"] == "sitemap"
    assert kinds["rss.xml"] == "rss" and kinds["?feed=rss2"] == "rss"


def test_rank_candidates_dedupes_and_orders_for_probing():
    candidates = [
        DiscoveredFeed("https://x.example/sitemap_news.xml", "", "sitemap", "common-path"),
        DiscoveredFeed("https://x.example/feed", "", "rss", "common-path"),
        DiscoveredFeed("https://x.example/rss/world.xml", "World", "rss", "anchor"),
        DiscoveredFeed("https://X.example/feed/#top", "", "rss", "link-alternate"),
        DiscoveredFeed("https://x.example/feed.json", "JSON", "json", "link-alternate"),
        DiscoveredFeed("https://x.example/atom.xml", "Atom", "atom", "link-alternate"),
    ]
    ranked = rank_candidates(candidates)
    assert [(c.url, c.how) for c in ranked] == [
        ("https://X.example/feed/#top", "link-alternate"),
        ("https://x.example/atom.xml", "link-alternate"),
        ("https://x.example/feed.json", "link-alternate"),
        ("https://x.example/rss/world.xml", "anchor"),
        ("https://x.example/sitemap_news.xml", "common-path"),
    ]
    anchor_then_alternate = rank_candidates(
        [
            DiscoveredFeed("https://x.example/rss", "Our feeds", "rss", "anchor"),
            DiscoveredFeed("https://x.example/rss/", "", "rss", "link-alternate"),
        ]
    )
    assert anchor_then_alternate == [
        DiscoveredFeed("https://x.example/rss/", "Our feeds", "rss", "link-alternate")
    ]


def test_discover_feeds_puts_declared_feeds_before_guesses_without_duplicates():
    ranked = discover_feeds(HOMEPAGE, PAGE_URL)
    urls = [c.url for c in ranked]
    assert urls[0] == "https://www.example-news.com/feed/"
    assert "https://www.example-news.com/feed" not in urls  # the common path, same as /feed/
    hows = [c.how for c in ranked]
    assert hows == sorted(hows, key=["link-alternate", "anchor", "common-path"].index)
    assert "https://www.example-news.com/rss.xml" in urls
    assert len(discover_feeds(HOMEPAGE, PAGE_URL, include_common_paths=False)) == 8


def test_absolute_http_url():
    assert absolute_http_url(" /a#b ", "https://x.example/p/") == "https://x.example/a"
    assert absolute_http_url("feed://x.example/rss", "") == "http://x.example/rss"
    assert absolute_http_url("FEED:https://x.example/rss", "") == "https://x.example/rss"
    assert absolute_http_url("javascript:void(0)", "https://x.example/") is None
    assert absolute_http_url("", "https://x.example/") is None
    assert absolute_http_url("relative/only", "") is None


RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<!-- generator: handwritten -->
<rss version="2.0"><channel><title>T</title><item><link>https://x.example/a</link></item></channel></rss>"""
SITEMAP = b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>'


@pytest.mark.parametrize(
    ("body", "content_type", "kind"),
    [
        (RSS, "application/rss+xml", "rss"),
        (b"\xef\xbb\xbf\n  " + RSS, "text/html", "rss"),  # feeds are often served as text/html
        (gzip.compress(RSS), "application/octet-stream", "rss"),
        (RSS.decode().encode("utf-16"), "text/xml", "rss"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title></feed>', "", "atom"),
        (
            b'<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
            b' xmlns="http://purl.org/rss/1.0/"><channel/></rdf:RDF>',
            "application/rdf+xml",
            "rss",
        ),
        (json.dumps({"version": "https://jsonfeed.org/version/1.1", "items": []}).encode(), "", "json"),
        (SITEMAP, "application/xml", "sitemap"),
        (b'{"status": "ok", "items": []}', "application/json", None),
        (b"<!DOCTYPE html><html><head><title>RSS feeds</title></head></html>", "application/rss+xml", None),
        (b"", "application/rss+xml", None),
        (b"Not Found", "text/plain", None),
    ],
)
def test_sniff_kind(body: bytes, content_type: str, kind: str | None):
    assert sniff_kind(body, content_type) == kind
    assert looks_like_feed(body, content_type) is (kind in ("rss", "atom", "json"))


def test_gzip_bomb_candidate_is_not_a_feed():
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    bomb = b"".join(compressor.compress(bytes(1 << 20)) for _ in range(60)) + compressor.flush()
    assert not looks_like_feed(bomb, "application/rss+xml")


@pytest.mark.shared
def test_looks_like_feed_on_real_files(shared: Path):
    real = shared / "data" / "feeds" / "real"
    assert looks_like_feed(
        (real / "mediacloud-rss-fetcher" / "real-cnn.rss").read_bytes(), "application/rss+xml"
    )
    assert looks_like_feed(
        (real / "mediacloud-rss-fetcher" / "real-korean-times.rss").read_bytes(), "text/xml"
    )
    assert sniff_kind((real / "node-feedparser" / "tpm.atom").read_bytes()) == "atom"
    assert sniff_kind((real / "trafilatura" / "feed.json").read_bytes()) == "json"
    # gzip-compressed, windows-1251 inside.
    assert looks_like_feed((real / "node-feedparser" / "compressed.xml").read_bytes(), "")
    assert not looks_like_feed((real / "node-feedparser" / "notafeed.html").read_bytes(), "text/html")


@pytest.mark.shared
def test_every_wellformed_feed_of_the_feedparser_corpus_looks_like_a_feed(shared: Path):
    corpus = shared / "data" / "feeds" / "feedparser-tests"
    files = [p for p in (corpus / "wellformed").rglob("*") if p.is_file()]
    files += list((corpus / "json").glob("*.json"))
    assert len(files) > 1000
    missed = [p.name for p in files if not looks_like_feed(p.read_bytes(), "")]
    assert missed == []


SCRAPINGHUB_PAGES = {
    # WordPress: the site feed, not the comments feed declared next to it.
    "1ace8c85aaee21b9d4505eca506d50c4721c29db62848b567a9703bfe0583892": ["https://techcrunch.com/feed/"],
    # Blogger: Atom and RSS of the blog, not the post's comments.
    "34a7328535ad4e60b059f81d37eec5d25c2bc8de759ce9a7b5e47ac7dc6fd1b0": [
        "https://www.linknaija.com/feeds/posts/default",
        "https://www.linknaija.com/feeds/posts/default?alt=rss",
    ],
    # Relative href.
    "16c30add7e96315e9cc957d85aa876ccb6b70055f0ddab51547a586117cc1f56": ["https://www.vox.com/rss/index.xml"],
    # Protocol-relative href on an http page.
    "3c6d3381ef52ca26be2fbde19c1b0fe17d85682b726dfecf5e300c1ca34546b1": [
        "http://www.wday.ru/rss-feeds/rss.xml"
    ],
    # Off-site (FeedBurner) feed declared by the site.
    "06e5123e4ef7cfb4533250dc45d1e03d0838fc66223f45c583c4d12f48b4da85": [
        "https://feeds.feedburner.com/venturebeat/SZYF"
    ],
}


@pytest.mark.shared
def test_feed_links_on_real_news_pages(shared: Path):
    base = shared / "data" / "extraction" / "scrapinghub"
    truth = json.loads((base / "ground-truth.json").read_text(encoding="utf-8"))
    for page_id, expected in SCRAPINGHUB_PAGES.items():
        html = gzip.decompress((base / "html" / f"{page_id}.html.gz").read_bytes())
        assert feed_links(html, truth[page_id]["url"]) == expected, page_id
    # Titles are decoded from the page's own charset, not read as Latin-1.
    wday = "3c6d3381ef52ca26be2fbde19c1b0fe17d85682b726dfecf5e300c1ca34546b1"
    html = gzip.decompress((base / "html" / f"{wday}.html.gz").read_bytes())
    assert discover_in_page(html, truth[wday]["url"])[0].title.startswith("Женский журнал")


@pytest.mark.shared
def test_no_comment_feeds_or_offsite_anchors_across_the_benchmark_pages(shared: Path):
    base = shared / "data" / "extraction" / "scrapinghub"
    truth = json.loads((base / "ground-truth.json").read_text(encoding="utf-8"))
    pages = sorted((base / "html").glob("*.html.gz"))
    with_feeds = 0
    for path in pages:
        page_id = path.name.split(".")[0]
        found = discover_in_page(gzip.decompress(path.read_bytes()), truth[page_id]["url"])
        with_feeds += bool(found)
        for candidate in found:
            assert "/comments/" not in candidate.url, candidate
            assert "wp-json" not in candidate.url, candidate
            assert candidate.url.startswith(("http://", "https://"))
    assert with_feeds > len(pages) // 2
