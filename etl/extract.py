"""Extraction: trafilatura for the main text and metadata, htmldate for dates, courlan for the canonical
URL; the publication date carries the provenance of whichever source won."""

from __future__ import annotations

import re
from datetime import datetime

import lxml.html
from lxml.etree import ParserError
from trafilatura import bare_extraction
from trafilatura.settings import Document

from etl.clean import clean_inline, clean_text
from etl.dates import publication_date
from etl.dedup import canonical_url
from etl.records import ExtractedArticle


class ExtractionError(Exception):
    """The page yielded no article text; the message says why."""


# Below this many words a page is navigation or an error page, not an article.
MIN_WORDS = 10

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
    published, source = publication_date(tree, url, feed_published)
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
