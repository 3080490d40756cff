"""Publication dates with provenance: which source said so, in a fixed order of trust."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import htmldate
import lxml.html
from dateutil import parser as date_parser

# Order of trust for the publication date; the first that answers wins and is stored as the source.
DATE_SOURCES = ("feed", "html_meta", "url", "htmldate")

_META_DATE_KEYS = (
    "article:published_time",
    "og:published_time",
    "datepublished",
    "pubdate",
    "publishdate",
    "dc.date.issued",
    "dcterms.created",
    "sailthru.date",
    "parsely-pub-date",
)
_URL_DATE = re.compile(r"/(20\d{2}|19\d{2})[/-](0[1-9]|1[0-2])[/-](0[1-9]|[12]\d|3[01])(?:/|[-_]|$)")
# Zone abbreviations pages print after a time; dateutil cannot know them on its own.
_TZ_ABBREVIATIONS = {
    name: hours * 3600
    for name, hours in {
        "UTC": 0,
        "GMT": 0,
        "BST": 1,
        "CET": 1,
        "CEST": 2,
        "EET": 2,
        "EEST": 3,
        "MSK": 3,
        "EST": -5,
        "EDT": -4,
        "CST": -6,
        "CDT": -5,
        "MST": -7,
        "MDT": -6,
        "PST": -8,
        "PDT": -7,
        "IST": 5.5,
        "JST": 9,
        "KST": 9,
        "AEST": 10,
        "AEDT": 11,
    }.items()
}


def publication_date(
    tree: lxml.html.HtmlElement, url: str, feed_published: datetime | None
) -> tuple[datetime | None, str | None]:
    """The publication date of a page and which source gave it, in order of trust: the feed entry's date,
    the page's metadata (meta tags, JSON-LD), a date in the URL, htmldate's search of the whole page.
    A page never silently gets its fetch time."""
    if feed_published is not None:
        return _utc(feed_published), "feed"
    found = _html_meta_date(tree)
    if found is not None:
        return found, "html_meta"
    found = _url_date(url)
    if found is not None:
        return found, "url"
    guess = htmldate.find_date(tree, extensive_search=True, original_date=True, outputformat="%Y-%m-%d")
    if guess:
        return datetime.fromisoformat(guess).replace(tzinfo=UTC), "htmldate"
    return None, None


def _html_meta_date(tree: lxml.html.HtmlElement) -> datetime | None:
    for meta in tree.iter("meta"):
        key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or "").lower()
        if key in _META_DATE_KEYS:
            parsed = _parse(meta.get("content") or "")
            if parsed is not None:
                return parsed
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        parsed = _parse(_json_ld_date(script.text or ""))
        if parsed is not None:
            return parsed
    return None


def _json_ld_date(payload: str) -> str:
    try:
        data = json.loads(payload)
    except ValueError:
        return ""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            if isinstance(item.get("datePublished"), str):
                return str(item["datePublished"])
            stack.extend(v for v in item.values() if isinstance(v, dict | list))
    return ""


def _url_date(url: str) -> datetime | None:
    match = _URL_DATE.search(url)
    if not match:
        return None
    try:
        return datetime(int(match[1]), int(match[2]), int(match[3]), tzinfo=UTC)
    except ValueError:
        return None


def _parse(text: str) -> datetime | None:
    if not text.strip():
        return None
    try:
        return _utc(date_parser.isoparse(text.strip()))
    except ValueError:
        try:
            return _utc(date_parser.parse(text.strip(), tzinfos=_TZ_ABBREVIATIONS))
        except (ValueError, OverflowError):
            return None


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
