"""Extraction: trafilatura for the main text and metadata, htmldate for dates, courlan for the canonical
URL; the publication date carries the provenance of whichever source won."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import htmldate
import lxml.html
from dateutil import parser as date_parser
from lxml.etree import ParserError
from trafilatura import bare_extraction
from trafilatura.settings import Document

from etl.clean import clean_inline, clean_text
from etl.dedup import canonical_url
from etl.records import ExtractedArticle


class ExtractionError(Exception):
    """The page yielded no article text; the message says why."""


# Below this many words a page is navigation or an error page, not an article.
MIN_WORDS = 10

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
_AUTHOR_SPLIT = re.compile(r"\s*(?:;|,|\band\b|&)\s*")


def extract_article(
    html: bytes | str, url: str, *, feed_published: datetime | None = None
) -> ExtractedArticle:
    """Extract the article in one HTML page. `feed_published` (from the feed entry) outranks any date
    found in the page. Raises ExtractionError when there is no main text."""
    try:
        tree = lxml.html.fromstring(html)
    except (ParserError, ValueError) as exc:
        raise ExtractionError(f"unparseable HTML: {exc}") from exc
    doc = bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        output_format="python",
    )
    if not isinstance(doc, Document) or not doc.text:
        raise ExtractionError("no main text found")
    text = clean_text(doc.text or "")
    words = len(text.split())
    if words < MIN_WORDS:
        raise ExtractionError(f"main text too short ({words} words): not an article page")
    published, source = _publication_date(tree, url, feed_published)
    page_url = getattr(doc, "url", None) or url
    return ExtractedArticle(
        url=url,
        canonical_url=canonical_url(page_url if page_url.startswith(("http://", "https://")) else url),
        title=clean_inline(doc.title or ""),
        text=text,
        authors=split_authors(doc.author or ""),
        published=published,
        published_source=source,
        site_name=clean_inline(doc.sitename or ""),
        language=_language(tree),
        description=clean_inline(doc.description or ""),
    )


def split_authors(byline: str) -> tuple[str, ...]:
    """Split a byline ("By A, B and C") into names, dropping the "By" and duplicates."""
    byline = re.sub(r"^\s*(?:by|von|par|por)\s+", "", clean_inline(byline), flags=re.IGNORECASE)
    names: list[str] = []
    for part in _AUTHOR_SPLIT.split(byline):
        name = part.strip(" •·-–—|")
        if name and name not in names:
            names.append(name)
    return tuple(names)


def _publication_date(
    tree: lxml.html.HtmlElement, url: str, feed_published: datetime | None
) -> tuple[datetime | None, str | None]:
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


def _language(tree: lxml.html.HtmlElement) -> str | None:
    lang = tree.get("lang") or tree.get("xml:lang") or ""
    if not lang:
        for meta in tree.iter("meta"):
            key = (meta.get("property") or meta.get("http-equiv") or "").lower()
            if key in ("og:locale", "content-language"):
                lang = meta.get("content") or ""
                break
    lang = lang.strip().replace("_", "-").split("-")[0].lower()
    return lang or None
