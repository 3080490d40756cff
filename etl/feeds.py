"""Feed parsing: RSS/Atom bytes (as the fetch module received them) to feed entries."""

from __future__ import annotations

import calendar
import gzip
import io
import json
import re
import tomllib
import zlib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from etl.dates import parse_date
from etl.records import FeedEntry, FeedSource, ParsedFeed

# The most a compressed feed or sitemap body may inflate to.
DEFAULT_MAX_BYTES = 50 * 1024 * 1024


def decompress_capped(body: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[bytes, str | None]:
    """Gunzip `body` when it starts with the gzip magic bytes, reading at most `max_bytes` of output from
    the stream, so a gzip bomb costs `max_bytes` of memory and yields an error instead of exhausting RAM.
    Returns `(data, problem)`; `problem` is None when the data is usable."""
    if body[:2] != b"\x1f\x8b":
        if len(body) > max_bytes:
            return b"", f"too large: body is over {max_bytes} bytes"
        return body, None
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
            data = stream.read(max_bytes + 1)
    except (OSError, EOFError, zlib.error) as exc:
        return b"", f"bad gzip: {exc or type(exc).__name__}"
    if len(data) > max_bytes:
        return b"", f"too large: decompresses to over {max_bytes} bytes"
    return data, None


def load_feed_sources(path: Path, *, base_url: str | None = None) -> list[FeedSource]:
    """Read a feeds.toml (`[[feeds]]` tables with url, outlet, name, and optionally kind ("feed" or
    "sitemap"), obey_robots (bool) and host_rate (requests/s)). `base_url` fills the `__BASE__`
    placeholder that the bundled demo feeds use for their local server's address."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    sources = []
    for i, item in enumerate(data.get("feeds", [])):
        url = item.get("url")
        if not url:
            raise ValueError(f"{path}: feeds[{i}] has no url")
        if base_url is not None:
            url = url.replace("__BASE__", base_url.rstrip("/"))
        try:
            source = source_for(
                url, outlet=item.get("outlet"), name=item.get("name", ""), kind=item.get("kind", "feed")
            )
        except ValueError as exc:
            raise ValueError(f"{path}: feeds[{i}]: {exc}") from exc
        sources.append(replace(source, obey_robots=item.get("obey_robots"), host_rate=item.get("host_rate")))
    return sources


def source_for(url: str, *, outlet: str | None = None, name: str = "", kind: str = "feed") -> FeedSource:
    """A feed source for a URL given on the command line; the outlet defaults to the host."""
    url = url.strip()
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"not an http(s) URL: {url!r}")
    if kind not in ("feed", "sitemap"):
        raise ValueError(f"kind must be 'feed' or 'sitemap', not {kind!r}")
    return FeedSource(
        url=url, outlet=outlet or _host(url), name=name, kind="sitemap" if kind == "sitemap" else "feed"
    )


def parse_feed(
    body: bytes, source: FeedSource, *, content_type: str = "", max_bytes: int = DEFAULT_MAX_BYTES
) -> ParsedFeed:
    """Parse one RSS/Atom document. Ill-formed feeds still yield what feedparser could recover;
    `error` is set when nothing usable came out, so the caller can record it against the feed."""
    # Some servers send gzip bodies without a Content-Encoding header, so the client did not decode them.
    body, problem = decompress_capped(body, max_bytes)
    if problem:
        return ParsedFeed(feed_url=source.url, title="", entries=(), error=problem)
    if body.lstrip()[:1] == b"{":
        return _parse_json_feed(body, source)
    headers = {"content-location": source.url}
    if content_type:
        headers["content-type"] = content_type
    parsed = feedparser.parse(body, response_headers=headers)
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    for raw in parsed.entries:
        entry = _entry(raw, source)
        if entry is None or entry.url in seen:
            continue
        seen.add(entry.url)
        entries.append(entry)
    error = None
    if not entries and not parsed.get("version"):
        # An empty but valid feed is not an error; a document feedparser could not recognise is.
        problem = parsed.get("bozo_exception")
        error = f"unparseable feed: {problem!s}" if problem else "not a feed: no RSS/Atom structure found"
    title = str(parsed.feed.get("title", "")) if parsed.get("feed") else ""
    return ParsedFeed(
        feed_url=source.url, title=title, entries=tuple(entries), error=error, listed=len(parsed.entries)
    )


def _entry(raw: Any, source: FeedSource) -> FeedEntry | None:
    link = raw.get("link") or _first_alternate(raw)
    if not link:
        guid = raw.get("id", "")
        # Some RSS feeds only carry a permalink guid.
        link = guid if guid.startswith(("http://", "https://")) else ""
    if not link:
        return None
    link = urljoin(source.url, link.strip())
    if not link.startswith(("http://", "https://")):
        return None
    return FeedEntry(
        feed_url=source.url,
        outlet=source.outlet,
        url=link,
        guid=str(raw.get("id") or link),
        title=str(raw.get("title", "")).strip(),
        published=_entry_time(raw),
        summary=str(raw.get("summary", "")).strip(),
    )


def _parse_json_feed(body: bytes, source: FeedSource) -> ParsedFeed:
    """JSON Feed (jsonfeed.org) 1.x, which feedparser does not read."""
    try:
        doc = json.loads(body)
    except ValueError as exc:
        return ParsedFeed(feed_url=source.url, title="", entries=(), error=f"unparseable JSON feed: {exc}")
    if not isinstance(doc, dict) or "jsonfeed.org" not in str(doc.get("version", "")):
        return ParsedFeed(
            feed_url=source.url, title="", entries=(), error="not a feed: JSON without jsonfeed version"
        )
    entries: list[FeedEntry] = []
    seen: set[str] = set()
    items = doc.get("items")
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue  # a malformed item is skipped, not allowed to sink the feed
        link = str(item.get("url") or item.get("external_url") or "")
        if not link.startswith(("http://", "https://")):
            continue
        link = urljoin(source.url, link)
        if link in seen:
            continue
        seen.add(link)
        entries.append(
            FeedEntry(
                feed_url=source.url,
                outlet=source.outlet,
                url=link,
                guid=str(item.get("id") or link),
                title=str(item.get("title") or "").strip(),
                published=_parse_date_text(
                    str(item.get("date_published") or item.get("date_modified") or "")
                ),
                summary=str(item.get("summary") or "").strip(),
            )
        )
    return ParsedFeed(
        feed_url=source.url,
        title=str(doc.get("title") or ""),
        entries=tuple(entries),
        listed=len(items) if isinstance(items, list) else 0,
    )


def _first_alternate(raw: Any) -> str:
    for link in raw.get("links", []):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return str(link["href"])
    return ""


def _entry_time(raw: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = raw.get(key)
        # feedparser fills what a date leaves out from today ("10:32" becomes today at 10:32): a date
        # string without a year is no date.
        if value and _YEAR.search(str(raw.get(key.removesuffix("_parsed")) or "")):
            try:
                # feedparser normalises to UTC struct_time; timegm keeps it in UTC.
                return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
            except (OverflowError, ValueError, OSError):
                continue
    for key in ("published", "updated", "created"):
        parsed = _parse_date_text(str(raw.get(key) or ""))
        if parsed is not None:
            return parsed
    return None


_YEAR = re.compile(r"(?:19|20)\d{2}")


def _parse_date_text(text: str) -> datetime | None:
    """Lenient fallback for dates feedparser gave up on (e.g. "Thu,28 Jul 2022 4:35:5 GMT+9"); an
    incomplete date ("Sunday", "June 5") is no date, never one filled in from today."""
    parsed = parse_date(text)
    return parsed[0] if parsed is not None else None


def _host(url: str) -> str:
    return urlsplit(url).hostname or url
