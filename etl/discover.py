"""Feed discovery from a site's homepage, as pure functions: the caller fetches the homepage, asks here for
candidate feed URLs (ranked), fetches them in order and confirms each with `looks_like_feed`.

Candidates come from `<link rel="alternate">` declarations (the site's own word, tried first), from
`<a href>` links on the same registered domain whose URL looks like a feed, and from common feed paths
(guesses: probe them politely, obeying robots.txt, and stop at the first that works)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urldefrag, urljoin, urlsplit, urlunsplit

from courlan import extract_domain
from lxml import etree
from trafilatura.utils import decode_file

from etl.feeds import DEFAULT_MAX_BYTES, decompress_capped, parse_feed
from etl.fetch import Fetcher
from etl.records import FeedSource, FetchRequest

FeedKind = Literal["rss", "atom", "json", "sitemap"]
How = Literal["link-alternate", "anchor", "common-path"]


@dataclass(frozen=True)
class DiscoveredFeed:
    """A candidate feed URL, what kind it seems to be, and how it was found."""

    url: str
    title: str
    kind: FeedKind
    how: How


def discover_in_page(html: bytes | str, page_url: str, *, max_anchors: int = 20) -> list[DiscoveredFeed]:
    """Feed candidates declared or linked in one HTML page: `<link rel="alternate">` feeds in page order,
    then up to `max_anchors` same-site `<a href>` links whose URL looks like a feed. URLs are absolute
    (relative to `<base href>` when there is one), http(s), deduplicated; comment feeds are left out."""
    tree = _parse_html(html)
    if tree is None:
        return []
    base = page_url
    for base_el in tree.iter("base"):
        href = base_el.get("href")
        if href:
            base = urljoin(page_url, href.strip())
            break
    found: list[DiscoveredFeed] = []
    seen: set[str] = set()

    def add(candidate: DiscoveredFeed) -> None:
        key = feed_url_key(candidate.url)
        if key not in seen:
            seen.add(key)
            found.append(candidate)

    for link in tree.iter("link"):
        rels = (link.get("rel") or "").lower().split()
        if "alternate" not in rels:
            continue
        kind = _kind_from_type(link.get("type") or "", link.get("href") or "")
        url = absolute_http_url(link.get("href") or "", base)
        title = " ".join((link.get("title") or "").split())
        if kind is None or url is None or _is_comments_feed(url, title, page_url) or _NOT_A_FEED.search(url):
            continue
        add(DiscoveredFeed(url=url, title=title, kind=kind, how="link-alternate"))

    site = _registered_domain(page_url)
    anchors = 0
    for anchor in tree.iter("a"):
        if anchors >= max_anchors:
            break
        url = absolute_http_url(anchor.get("href") or "", base)
        if url is None or not _looks_like_feed_url(url):
            continue
        # Off-site anchors are feed readers, share buttons and other people's feeds, not this site's.
        if _registered_domain(url) != site or _NOT_A_FEED.search(url):
            continue
        title = " ".join((anchor.get("title") or "".join(anchor.itertext())).split())
        if _is_comments_feed(url, title, page_url):
            continue
        anchors += 1
        add(DiscoveredFeed(url=url, title=title, kind=_kind_from_url(url), how="anchor"))
    return found


def feed_links(html: bytes | str, page_url: str) -> list[str]:
    """The URLs of `discover_in_page`: declared feeds first (page order), then feed-looking anchors."""
    return [candidate.url for candidate in discover_in_page(html, page_url)]


def common_feed_paths(site_url: str) -> list[str]:
    """Candidate feed URLs at paths common CMSs use (WordPress, Blogger, Hugo, Jekyll, Ghost, news sitemaps),
    at the root of `site_url`'s host, most likely first, for the caller to probe."""
    parts = urlsplit(site_url)
    root = f"{parts.scheme or 'https'}://{parts.netloc}"
    return [root + path for path in _COMMON_PATHS]


def common_path_candidates(site_url: str) -> list[DiscoveredFeed]:
    """`common_feed_paths` as `DiscoveredFeed`s (how="common-path"), with the kind each path suggests."""
    return [
        DiscoveredFeed(url=url, title="", kind=_kind_from_url(url), how="common-path")
        for url in common_feed_paths(site_url)
    ]


def rank_candidates(candidates: Iterable[DiscoveredFeed]) -> list[DiscoveredFeed]:
    """Deduplicate candidates (same URL up to case of scheme and host, a trailing slash and the fragment)
    keeping the best-found copy, and order them for probing: declared feeds, then anchors, then guessed
    paths; within each, RSS/Atom before JSON before sitemaps; otherwise first-seen order."""
    best: dict[str, tuple[tuple[int, int, int], DiscoveredFeed]] = {}
    for index, candidate in enumerate(candidates):
        rank = (_HOW_RANK[candidate.how], _KIND_RANK[candidate.kind], index)
        key = feed_url_key(candidate.url)
        if key not in best or rank < best[key][0]:
            if key in best and not candidate.title:
                # Keep a title found elsewhere (an anchor's text) when the better copy has none.
                candidate = DiscoveredFeed(candidate.url, best[key][1].title, candidate.kind, candidate.how)
            best[key] = (rank, candidate)
    return [candidate for _, candidate in sorted(best.values(), key=lambda item: item[0])]


def discover_feeds(
    html: bytes | str, page_url: str, *, include_common_paths: bool = True
) -> list[DiscoveredFeed]:
    """Every candidate for a site, ranked: what its homepage declares and links, then (optionally) the
    common paths. The caller probes them in order and keeps those `looks_like_feed` confirms."""
    candidates = discover_in_page(html, page_url)
    if include_common_paths:
        candidates += common_path_candidates(page_url)
    return rank_candidates(candidates)


def probe_site(
    fetcher: Fetcher, site_url: str, *, max_probes: int = 12, want: int = 3
) -> list[DiscoveredFeed]:
    """Find a site's feeds: fetch its homepage, rank the candidates it declares or links (and the common
    paths), then probe them in order through `fetcher` (robots.txt obeyed: these URLs were not listed by
    the site for polling) and keep those whose bytes are a feed or sitemap, up to `want` of them."""
    home = fetcher.fetch(FetchRequest(url=site_url, kind="page"))
    html = home.body if home.ok else b""
    candidates = discover_feeds(html, home.final_url or site_url)[:max_probes]
    # Probed as feeds (so feed content types are accepted) but under robots.txt, like pages.
    results = fetcher.fetch_many(FetchRequest(url=c.url, kind="feed", obey_robots=True) for c in candidates)
    found: list[DiscoveredFeed] = []
    for candidate, result in zip(candidates, results, strict=True):
        if result.ok and len(found) < want:
            kind = sniff_kind(result.body, result.content_type)
            if kind is not None:
                found.append(
                    DiscoveredFeed(result.final_url or candidate.url, candidate.title, kind, candidate.how)
                )
    return found


def sniff_kind(body: bytes, content_type: str = "", *, max_bytes: int = DEFAULT_MAX_BYTES) -> FeedKind | None:
    """What a fetched candidate is, from its bytes: "rss" (RSS 0.9x/2.0, RSS 1.0 RDF), "atom", "json"
    (JSON Feed), "sitemap" (urlset or sitemap index), or None (an HTML page, an error, anything else).
    The Content-Type is only a hint: feeds are often served as text/html or text/plain."""
    body, problem = decompress_capped(body, max_bytes)
    if problem is not None:
        return None
    head = _decode_head(body)
    if head.startswith("{"):
        return "json" if _is_json_feed(body) else None
    root = _root_name(head)
    if root in ("rss", "channel"):
        return "rss"
    if root == "feed":
        return "atom"
    if root == "rdf":
        # RSS 1.0 (purl.org/rss/1.0/) and 0.90 (my.netscape.com/rdf/simple/0.9/) are RDF documents.
        rss_markers = ("purl.org/rss", "netscape.com/rdf", "<channel", "<item")
        return "rss" if any(marker in head for marker in rss_markers) else None
    if root in ("urlset", "sitemapindex"):
        return "sitemap"
    if root in ("html", "!doctype", "head", "body"):
        return None
    # An odd prolog or encoding the sniffing did not see through: let feedparser have the last word.
    feed = parse_feed(body, FeedSource(url="", outlet=""), content_type=content_type)
    if feed.error is not None:
        return None
    return "atom" if "atom" in content_type.lower() else "rss"


def looks_like_feed(body: bytes, content_type: str = "") -> bool:
    """Whether a probed candidate's body is an RSS, Atom or JSON feed (not HTML, not a sitemap)."""
    return sniff_kind(body, content_type) in ("rss", "atom", "json")


def absolute_http_url(href: str, base: str) -> str | None:
    """`href` made absolute against `base`, without its fragment; `feed:` URLs become http(s); None unless
    the result is an http(s) URL with a host."""
    href = href.strip()
    if not href:
        return None
    lowered = href.lower()
    if lowered.startswith("feed:"):
        # feed://host/path (old subscribe links) and feed:https://host/path.
        rest = href[5:]
        href = rest if rest.lower().startswith(("http://", "https://")) else "http:" + rest
    absolute = urldefrag(urljoin(base, href)).url
    parts = urlsplit(absolute)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return absolute


def feed_url_key(url: str) -> str:
    """A key under which URLs that name the same feed collide: scheme and host lowercased, no fragment,
    no trailing slash on the path."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


# -- internals -----------------------------------------------------------------------------------------

_RSS_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/rss",
        "application/x-rss+xml",
        "text/rss+xml",
        "application/rdf+xml",
        "text/rdf+xml",
    }
)
_ATOM_TYPES = frozenset(
    {"application/atom+xml", "application/x-atom+xml", "text/atom+xml", "application/atom"}
)
_JSON_TYPES = frozenset({"application/feed+json", "application/json"})
# Declared as alternates but never feeds: WordPress's REST API and oEmbed endpoints.
_NOT_A_FEED = re.compile(r"/wp-json/|oembed", re.IGNORECASE)
_COMMENTS_URL = re.compile(
    r"/comments/(?:feed|rss|atom|default)\b|[?&]feed=comments|comments-rss|/comments\.xml$", re.I
)
# WordPress's "Site » Comments Feed" and "Site » Post title Comments Feed", and their common translations.
_COMMENTS_TITLE = re.compile(
    r"\bcomments?\b.*\bfeed\b|\bfeed\b.*\bcomments?\b|"
    r"feed\s+(?:dei\s+commenti|de\s+coment[aá]rios|des\s+commentaires)|"
    r"flux\s+des\s+commentaires|kommentar-?feed|umpan\s+komentar|коммент|コメント",
    re.IGNORECASE,
)
_FEED_PATH = re.compile(
    r"(?:^|/)(?:feeds?|rss|atom)(?:/|$)"  # a path segment: /feed, /rss/, /feeds/posts/default, /atom/
    r"|\.(?:rss|rdf|atom|xml)$"  # a feed-ish file name: rss.xml, index.rdf, news.atom
    r"|(?:^|/)(?:rss|atom|feed)[-_.][^/]*$",  # rss-news.php, feed.json, atom_all
)
_FEED_QUERY = re.compile(r"(?:^|&)(?:feed|format|type|output|alt)=(?:rss2?|atom|rdf)\b", re.IGNORECASE)
_COMMON_PATHS = (
    "/feed",
    "/rss",
    "/feed.xml",
    "/rss.xml",
    "/atom.xml",
    "/index.xml",
    "/feeds/posts/default",
    "/?feed=rss2",
    "/feed/atom",
    "/rss/index.xml",
    "/news/rss.xml",
    "/feed.json",
    "/sitemap_news.xml",
    "/news-sitemap.xml",
)
_HOW_RANK = {"link-alternate": 0, "anchor": 1, "common-path": 2}
_KIND_RANK = {"rss": 0, "atom": 0, "json": 1, "sitemap": 2}
_PROLOG = re.compile(
    r"\s*(?:<\?.*?\?>|<!--.*?-->|<!DOCTYPE[^>\[]*(?:\[.*?\])?\s*>)", re.DOTALL | re.IGNORECASE
)
_ROOT = re.compile(r"\s*<(!doctype|[A-Za-z_][\w.:-]*)", re.IGNORECASE)


def _parse_html(html: bytes | str) -> etree._Element | None:
    if isinstance(html, bytes):
        # libxml2 falls back to Latin-1 when it misses the charset; trafilatura's decoder tries UTF-8 and
        # then guesses, as the extraction stage does (and unwraps a compressed body, within the cap).
        html = decode_file(html, max_size=DEFAULT_MAX_BYTES)
    # lxml refuses str input that carries an XML encoding declaration (XHTML pages).
    html = re.sub(r"^\s*<\?xml[^>]*\?>", "", html)
    if not html or not html.strip():
        return None
    parser = etree.HTMLParser(no_network=True, remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(html, parser)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return None
    return root


def _kind_from_type(type_: str, href: str) -> FeedKind | None:
    mime = type_.split(";", 1)[0].strip().lower()
    if mime in _RSS_TYPES:
        return "rss"
    if mime in _ATOM_TYPES:
        return "atom"
    if mime in _JSON_TYPES:
        return "json"
    if mime in ("text/xml", "application/xml") and _looks_like_feed_url(href):
        return _kind_from_url(href)
    return None


def _kind_from_url(url: str) -> FeedKind:
    path = urlsplit(url).path.lower()
    query = urlsplit(url).query.lower()
    if "sitemap" in path:
        return "sitemap"
    if path.endswith(".json") or "json" in query:
        return "json"
    if "atom" in path or "atom" in query or path.rstrip("/").endswith("feeds/posts/default"):
        return "atom" if "alt=rss" not in query else "rss"
    return "rss"


def _looks_like_feed_url(url: str) -> bool:
    parts = urlsplit(url)
    return bool(_FEED_PATH.search(parts.path.lower()) or _FEED_QUERY.search(parts.query))


def _is_comments_feed(url: str, title: str, page_url: str) -> bool:
    if _COMMENTS_URL.search(url) or (title and _COMMENTS_TITLE.search(title)):
        return True
    # WordPress serves an article's comments at the article's URL + /feed/.
    page = urlsplit(page_url)
    return page.path.strip("/") != "" and feed_url_key(url) == feed_url_key(
        urlunsplit((page.scheme, page.netloc, page.path.rstrip("/") + "/feed", "", ""))
    )


def _registered_domain(url: str) -> str:
    # courlan knows public suffixes (news.bbc.co.uk -> bbc.co.uk); hosts it cannot place (localhost, IPs)
    # stand for themselves.
    return extract_domain(url) or (urlsplit(url).hostname or "")


def _decode_head(body: bytes) -> str:
    head = body[:8192]
    for bom, codec in (
        (b"\xff\xfe\x00\x00", "utf-32-le"),
        (b"\x00\x00\xfe\xff", "utf-32-be"),
        (b"\xff\xfe", "utf-16-le"),
        (b"\xfe\xff", "utf-16-be"),
    ):
        if head.startswith(bom):
            return head[len(bom) :].decode(codec, errors="ignore").lstrip()
    if head[:4] in (b"<\x00?\x00", b"<\x00\x00\x00"):
        return head.decode("utf-16-le" if head[:4] == b"<\x00?\x00" else "utf-32-le", errors="ignore")
    if head[:4] in (b"\x00<\x00?", b"\x00\x00\x00<"):
        return head.decode("utf-16-be" if head[:4] == b"\x00<\x00?" else "utf-32-be", errors="ignore")
    return head.decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")


def _root_name(head: str) -> str:
    """The local name of the first element after the XML prolog (declaration, comments, DOCTYPE)."""
    position = 0
    while match := _PROLOG.match(head, position):
        if match.end() == position:
            break
        position = match.end()
    root = _ROOT.match(head, position)
    if root is None:
        return ""
    return root.group(1).rsplit(":", 1)[-1].lower()


def _is_json_feed(body: bytes) -> bool:
    try:
        doc = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(doc, dict) and "jsonfeed.org" in str(doc.get("version", ""))
