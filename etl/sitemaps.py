"""Sitemap parsing: XML sitemaps, sitemap indexes, Google News sitemaps and plain-text sitemaps (bytes as
the fetch module received them, gzip or not) to feed entries, plus the `Sitemap:` lines of robots.txt.

Pure: nothing here touches the network. The caller fetches a sitemap, parses it, and decides which child
sitemaps of an index to fetch next (`recent_children` helps keep that to the fresh ones).

Sitemaps come from anywhere, so the XML parser is hardened: no entity substitution, no DTD loading, no
network, libxml2's size limits on; a document that declares entities is refused outright (real sitemaps
never need one), and gzip bodies are decompressed through a cap so a gzip bomb is an error, not an OOM."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urldefrag, urljoin, urlsplit

from dateutil import parser as date_parser
from lxml import etree

from etl.feeds import DEFAULT_MAX_BYTES, decompress_capped, parse_feed
from etl.records import FeedEntry, FeedSource

NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
# The sitemaps protocol caps an uncompressed sitemap at 50 MB; anything larger is not a sitemap we want.

SitemapKind = Literal["urlset", "index", "text", "feed", "unknown"]


@dataclass(frozen=True)
class SitemapDoc:
    """One sitemap document after parsing.

    `entries` are the page URLs of a `<urlset>` (or text / RSS-as-sitemap) document; `children` the
    absolute URLs of the child sitemaps of a `<sitemapindex>`, with `children_lastmod` aligned to them.
    `error` says why nothing usable came out (an empty but valid sitemap is not an error); `warning` notes
    a document that was malformed but from which URLs were recovered. `skipped` counts URLs dropped as
    duplicate, non-http or unusable. `is_news` marks a Google News sitemap and `publication` is the first
    `<news:publication><news:name>` seen."""

    sitemap_url: str
    entries: tuple[FeedEntry, ...] = ()
    children: tuple[str, ...] = ()
    error: str | None = None
    kind: SitemapKind = "unknown"
    is_news: bool = False
    publication: str = ""
    children_lastmod: tuple[datetime | None, ...] = ()
    warning: str | None = None
    skipped: int = 0


def safe_xml_parser(*, recover: bool = False) -> etree.XMLParser:
    """An lxml parser for untrusted XML: entities are not substituted, no DTD is loaded, nothing is fetched,
    and libxml2's limits on tree size and depth stay on (`huge_tree=False`)."""
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        recover=recover,
        remove_comments=True,
        remove_pis=True,
    )


def parse_untrusted_xml(body: bytes, *, recover: bool = True) -> tuple[etree._Element | None, str | None]:
    """Parse untrusted XML bytes with `safe_xml_parser`. Returns `(root, problem)`: `problem` is the first
    syntax error (the root may still be there when `recover` salvaged part of the document) or a refusal.

    Documents that declare entities are refused (root None): sitemaps, feed lists and OPML never need
    them, and refusing is simpler to trust than reasoning about what an unexpanded entity leaves behind."""
    body = _strip_bom_and_space(body)
    if not body:
        return None, "empty document"
    problem: str | None = None
    root: etree._Element | None = None
    try:
        root = etree.fromstring(body, safe_xml_parser())
    except etree.XMLSyntaxError as exc:
        problem = f"malformed XML: {exc}"
        repaired = _escape_bare_ampersands(body)
        if repaired != body:
            # The commonest sitemap defect: raw '&' in query strings. Escaping it loses nothing, while
            # libxml2's recovery would silently drop the '&name' part of the URL.
            try:
                root = etree.fromstring(repaired, safe_xml_parser())
            except etree.XMLSyntaxError:
                root = None
        if root is None and recover:
            try:
                root = etree.fromstring(repaired, safe_xml_parser(recover=True))
            except etree.XMLSyntaxError:
                root = None
    # A document that failed to parse is checked by its bytes, so that an entity attack libxml2 stopped
    # (amplification, an external entity in an attribute) is reported as what it is.
    if (root is not None and _declares_entities(root)) or (root is None and b"<!ENTITY" in body):
        return None, _ENTITY_REFUSAL
    return root, problem


def parse_sitemap(body: bytes, source: FeedSource, *, max_bytes: int = DEFAULT_MAX_BYTES) -> SitemapDoc:
    """Parse one sitemap document: `<urlset>` (plain or Google News), `<sitemapindex>`, a plain-text
    sitemap (one URL a line), or an RSS/Atom feed used as a sitemap. Gzip bodies are detected by their
    magic bytes and decompressed up to `max_bytes` (the same cap applies to an uncompressed body).

    `source.url` is the sitemap's URL (relative `<loc>`s resolve against it; pass the final URL after
    redirects) and `source.outlet` is copied onto every entry. Never raises for bad input: `error` says
    what went wrong."""
    url = source.url
    body, problem = decompress_capped(body, max_bytes)
    if problem is not None:
        return SitemapDoc(sitemap_url=url, error=problem)
    stripped = _strip_bom_and_space(body)
    if not stripped:
        return SitemapDoc(sitemap_url=url, error="empty sitemap document")
    # UTF-16 XML starts with its byte-order mark; anything else not starting with '<' is a text sitemap.
    if not stripped.startswith((b"<", b"\xff\xfe", b"\xfe\xff")):
        return _parse_text_sitemap(stripped, source)
    root, problem = parse_untrusted_xml(stripped)
    if root is None:
        return SitemapDoc(sitemap_url=url, error=problem or "unparseable sitemap")
    name = _local(root)
    if name == "urlset":
        doc = _parse_urlset(root, source)
    elif name == "sitemapindex":
        doc = _parse_index(root, url)
    elif name in ("rss", "feed", "rdf"):
        doc = _parse_feed_as_sitemap(stripped, source)
    else:
        return SitemapDoc(sitemap_url=url, error=f"not a sitemap: root element is <{name}>")
    if problem is not None:
        if doc.entries or doc.children:
            return replace(doc, warning=problem)
        return replace(doc, error=problem)
    return doc


def recent_children(doc: SitemapDoc, since: datetime) -> list[str]:
    """The child sitemaps of an index modified at or after `since` (an aware datetime), plus those with no
    `<lastmod>`: news sites keep years of monthly children, and only the fresh ones are worth a fetch."""
    return [
        child
        for child, lastmod in zip(doc.children, doc.children_lastmod, strict=True)
        if lastmod is None or lastmod >= since
    ]


def sitemaps_from_robots(robots_txt: str, base_url: str) -> list[str]:
    """The sitemap URLs named by `Sitemap:` lines of a robots.txt (any case, any group), made absolute
    against `base_url`, without fragments, http(s) only, deduplicated in file order."""
    found: list[str] = []
    for match in _ROBOTS_SITEMAP.finditer(robots_txt.lstrip("\ufeff")):
        absolute = _absolute_url(match.group(1), base_url)
        if absolute is not None and absolute not in found:
            found.append(absolute)
    return found


def common_sitemap_urls(site_url: str) -> list[str]:
    """Sitemap URLs worth probing at a site's root when its robots.txt names none, news sitemaps first."""
    parts = urlsplit(site_url)
    root = f"{parts.scheme or 'https'}://{parts.netloc}"
    return [root + path for path in _COMMON_SITEMAP_PATHS]


def parse_w3c_datetime(text: str) -> datetime | None:
    """A sitemap date (W3C datetime: YYYY, YYYY-MM, YYYY-MM-DD, with or without a time and zone) as an
    aware UTC datetime; a date or time without a zone is taken as UTC. Lenient about the odd RFC 822
    date some generators write; None when nothing sensible can be read."""
    text = text.strip()
    if not text:
        return None
    partial = _PARTIAL_DATE.fullmatch(text)
    try:
        if partial:
            value = datetime(int(partial.group(1)), int(partial.group(2) or 1), 1)
        else:
            try:
                value = datetime.fromisoformat(text)
            except ValueError:
                # Missing fields default to the first of the month at midnight, not to today.
                value = date_parser.parse(text, default=datetime(2000, 1, 1))
    except (ValueError, OverflowError):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


# -- internals -----------------------------------------------------------------------------------------

_ENTITY_REFUSAL = "refused: document declares XML entities (DTD), which this format never needs"
_ROBOTS_SITEMAP = re.compile(r"^[ \t]*sitemap[ \t]*:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)
_PARTIAL_DATE = re.compile(r"(\d{4})(?:-(\d{2}))?")
_BARE_AMPERSAND = re.compile(rb"&(?!(?:[A-Za-z_][\w.-]*|#[0-9]+|#x[0-9A-Fa-f]+);)")
_TAB_NEWLINE = re.compile(r"[\t\r\n]")
_COMMON_SITEMAP_PATHS = (
    "/sitemap_news.xml",
    "/news-sitemap.xml",
    "/sitemap-news.xml",
    "/sitemap_index.xml",
    "/sitemap.xml",
)


def _parse_urlset(root: etree._Element, source: FeedSource) -> SitemapDoc:
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    skipped = 0
    is_news = NEWS_NS in (root.nsmap or {}).values()
    publication = ""
    for url_el in _children(root, "url"):
        loc = _child_text(url_el, "loc")
        absolute = _absolute_url(loc, source.url) if loc else None
        if absolute is None or absolute in seen:
            skipped += 1
            continue
        seen.add(absolute)
        title = ""
        published: datetime | None = None
        news = _child(url_el, "news")
        if news is not None:
            is_news = True
            title = " ".join(_child_text(news, "title").split())
            # Google News wants the article's first publication time here; lastmod is only a last edit.
            published = parse_w3c_datetime(_child_text(news, "publication_date"))
            pub = _child(news, "publication")
            if pub is not None and not publication:
                publication = " ".join(_child_text(pub, "name").split())
        if published is None:
            published = parse_w3c_datetime(_child_text(url_el, "lastmod"))
        entries.append(
            FeedEntry(
                feed_url=source.url,
                outlet=source.outlet,
                url=absolute,
                guid=absolute,
                title=title,
                published=published,
                summary="",
            )
        )
    return SitemapDoc(
        sitemap_url=source.url,
        entries=tuple(entries),
        kind="urlset",
        is_news=is_news,
        publication=publication,
        skipped=skipped,
    )


def _parse_index(root: etree._Element, url: str) -> SitemapDoc:
    children: list[str] = []
    lastmods: list[datetime | None] = []
    skipped = 0
    for sitemap_el in _children(root, "sitemap"):
        loc = _child_text(sitemap_el, "loc")
        absolute = _absolute_url(loc, url) if loc else None
        if absolute is None or absolute in children:
            skipped += 1
            continue
        children.append(absolute)
        lastmods.append(parse_w3c_datetime(_child_text(sitemap_el, "lastmod")))
    return SitemapDoc(
        sitemap_url=url,
        children=tuple(children),
        children_lastmod=tuple(lastmods),
        kind="index",
        skipped=skipped,
    )


def _parse_text_sitemap(body: bytes, source: FeedSource) -> SitemapDoc:
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    skipped = 0
    for line in body.decode("utf-8", errors="replace").splitlines():
        line = line.strip()
        # Text sitemaps hold one absolute URL a line; a root-relative line is forgiven, anything else
        # (comments, prose, an HTML error page) is not a URL.
        if not line or not line.startswith(("http://", "https://", "/")):
            continue
        absolute = _absolute_url(line, source.url)
        if absolute is None or absolute in seen:
            skipped += 1
            continue
        seen.add(absolute)
        entries.append(
            FeedEntry(
                feed_url=source.url,
                outlet=source.outlet,
                url=absolute,
                guid=absolute,
                title="",
                published=None,
                summary="",
            )
        )
    error = None if entries else "not a sitemap: neither XML nor lines of URLs"
    return SitemapDoc(
        sitemap_url=source.url, entries=tuple(entries), kind="text", error=error, skipped=skipped
    )


def _parse_feed_as_sitemap(body: bytes, source: FeedSource) -> SitemapDoc:
    # Search engines accept RSS/Atom feeds as sitemaps, so robots.txt sometimes names one.
    feed = parse_feed(body, source)
    return SitemapDoc(sitemap_url=source.url, entries=feed.entries, kind="feed", error=feed.error)


def _absolute_url(raw: str, base: str) -> str | None:
    # As browsers do (WHATWG URL parsing): tabs and newlines inside a URL are dropped, spaces encoded.
    text = _TAB_NEWLINE.sub("", raw.strip()).replace(" ", "%20")
    if not text:
        return None
    absolute = urldefrag(urljoin(base, text)).url if base else urldefrag(text).url
    parts = urlsplit(absolute)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return absolute


def _local(el: etree._Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):
        return ""
    # Namespaced ("{ns}url"), or prefixed without a declaration ("news:title", from recovery mode).
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1].lower()


def _children(el: etree._Element, name: str) -> Iterable[etree._Element]:
    # Namespaces are ignored on purpose: sitemaps in the wild use none, the wrong one, or an old one.
    return (child for child in el if _local(child) == name)


def _child(el: etree._Element, name: str) -> etree._Element | None:
    return next(iter(_children(el, name)), None)


def _child_text(el: etree._Element, name: str) -> str:
    child = _child(el, name)
    if child is None:
        return ""
    # Text and the tails of children only: an entity reference node contributes nothing.
    parts = [child.text or ""] + [sub.tail or "" for sub in child]
    return "".join(parts).strip()


def _declares_entities(root: etree._Element) -> bool:
    dtd = root.getroottree().docinfo.internalDTD
    return dtd is not None and any(True for _ in dtd.iterentities())


def _escape_bare_ampersands(body: bytes) -> bytes:
    return _BARE_AMPERSAND.sub(b"&amp;", body)


def _strip_bom_and_space(body: bytes) -> bytes:
    body = body.lstrip()
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:].lstrip()
    return body
