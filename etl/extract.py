"""Extraction: trafilatura for the main text and metadata, htmldate for dates, courlan for the canonical
URL; the publication date carries the provenance of whichever source won.

The settings and the clean-up of trafilatura's output were tuned on the scrapinghub article-extraction
benchmark (181 news pages, `newswatch eval extraction`); the F1 each step gained is noted where it is made.
Bare `trafilatura.extract` scores 0.953 there (0.960 without comments)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import lxml.html
from lxml.etree import XPath, _Element
from trafilatura import bare_extraction, load_html
from trafilatura.metadata import (  # the parts of trafilatura's extract_metadata we use; pinned <2.4
    META_URL,
    examine_meta,
    extract_author,
    extract_meta_json,
    extract_sitename,
    extract_title,
    extract_url,
)
from trafilatura.settings import Document
from trafilatura.xml import xmltotxt  # not re-exported by trafilatura; pinned <2.4 in pyproject

from etl.clean import clean_inline, clean_text
from etl.dates import find_publication_date
from etl.dedup import canonical_url
from etl.records import ExtractedArticle


class ExtractionError(Exception):
    """The page yielded no article text; the message says why."""


# Below this many words a page is navigation or an error page, not an article.
MIN_WORDS = 10
# Below this many words an article is flagged "too_short" (a brief, a teaser or a partial extraction).
SHORT_WORDS = 150

FLAG_TOO_SHORT = "too_short"
FLAG_TRUNCATED = "likely_truncated"
FLAG_NOT_ARTICLE = "not_an_article"

_AUTHOR_SPLIT = re.compile(r"\s*(?:;|,|\band\b|&)\s*")
# Anchor-text share at or above which an extracted block is a link to elsewhere (a related-story teaser, a
# "Most read" entry), not prose: +0.0038 F1 on the benchmark. 0.7 scores the same, 0.6 0.0008 less (it cuts
# paragraphs with a long link in them), 0.9 and 0.95 0.0002 less.
_LINK_BLOCK_SHARE = 0.8
# Anchor texts shorter than this ("Home", "World", a name) say nothing about whether a block is a teaser.
_MIN_ANCHOR_CHARS = 12
_LONG_LINKS = XPath(f"//a[string-length(.) >= {_MIN_ANCHOR_CHARS}]")
# An extraction whose characters sit mostly in lines shorter than this, over many lines, is a menu dump.
_MENU_LINE_CHARS = 25
_MENU_MIN_LINES = 30
_NON_WORD = re.compile(r"\W+")
# A byline closing the text, as in the seed article and the Global Post pages: "• Leroy Wright".
_TRAILING_BYLINE = re.compile(r"^[•·∙]\s*([^\W\d_][^\d]{1,100})$")
# Elements whose class says byline or author and whose own text opens with a bullet.
_BULLET_BYLINE = XPath(
    '//*[contains(@class, "byline") or contains(@class, "author")]'
    '[starts-with(normalize-space(text()), "•") or starts-with(normalize-space(text()), "·")]'
)
# Lower-case words a name may hold ("Ursula von der Leyen").
_NAME_PARTICLES = frozenset("al bin da de del della der di du el la le van von y".split())
# Paywall and teaser wording: the page holds only the start of the article.
_PAYWALL = re.compile(
    r"""(?:subscribe|sign\ in|log\ ?in|register)\ (?:now\ )?to\ (?:continue|keep)\ reading|
        to\ (?:continue\ reading|read\ (?:the\ )?(?:full|whole|rest\ of\ the)\ (?:article|story))|
        (?:this|the\ full)\ (?:article|story|content)\ is\ (?:only\ )?(?:available\ )?(?:for|to)\ (?:our\ )?
            (?:subscribers|members)|
        already\ a\ (?:subscriber|member)\?|subscriber[- ]only\ content""",
    re.IGNORECASE | re.VERBOSE,
)
# How far from the end of a text paywall wording is looked for.
_TAIL_CHARS = 600
# schema.org's paywall marker in JSON-LD.
_NOT_FREE = re.compile(r'"isAccessibleForFree"\s*:\s*"?false', re.IGNORECASE)
# Listing pages: tag, category, section, author and archive indexes, paginated lists, directory indexes.
_INDEX_PATH = re.compile(
    r"/(?:tags?|category|categories|section|sections|topics?|author|authors|archives?|search)(?:/|$)|"
    r"/page/\d+/?$|(?:^|/)(?:index|default)\.(?:html?|php|aspx?)$",
    re.IGNORECASE,
)
# The share of the extracted main text that is link text (teasers, before they are dropped) at or above
# which a page is a list of links, not an article. Measured on the main text, not the whole page: the page's
# link share runs from 0.1 to over 1 on the benchmark's articles (hidden menus) and does not separate them.
# No benchmark article reaches 0.5 on the main text (the most, 0.445, is a daily round-up of links); the
# demo sites' index pages, caught by their URLs, have 0.03 to 0.33.
_INDEX_LINK_SHARE = 0.5
# With og:type "website" (a front or section page by its own account) a lower share suffices; the five
# benchmark articles that declare "website" have at most 0.083.
_WEBSITE_LINK_SHARE = 0.25


@dataclass(frozen=True)
class _MainText:
    text: str
    # Share of trafilatura's main text that was link text (see _INDEX_LINK_SHARE).
    link_share: float
    # The end of the text before clean_text removed furniture lines: paywall prompts are such lines.
    raw_tail: str


def extract_article(
    html: bytes | str, url: str, *, feed_published: datetime | None = None
) -> ExtractedArticle:
    """Extract the article in one HTML page. `feed_published` (from the feed entry) outranks any date
    found in the page. Raises ExtractionError when there is no main text. The result's `flags` say what
    looks wrong with an article that was nevertheless extracted (see `quality_flags`)."""
    try:
        # trafilatura's loader (its charset detection and parser) for every step, so the text, the date and
        # the flags all read the same tree; it is parsed once.
        tree = load_html(html)
    except (TypeError, ValueError) as exc:
        raise ExtractionError(f"unparseable HTML: {exc}") from exc
    if tree is None:
        raise ExtractionError("unparseable HTML")
    meta = _metadata(tree, url)
    anchors = _link_texts(tree)
    main = _main_text(tree, url, meta, anchors, fast=True)
    if main is not None and _menu_like(main.text):
        # fast mode skips trafilatura's comparison with its fallback extractors; on a page whose navigation
        # came out as the "article" that comparison is what rescues the text (+0.0020 F1 on the benchmark,
        # where it runs on one page in 181).
        main = _main_text(tree, url, meta, anchors, fast=False) or main
    if main is None:
        raise ExtractionError("no main text found")
    text, byline = split_trailing_byline(main.text)
    words = _word_count(text)
    if words < MIN_WORDS:
        raise ExtractionError(f"main text too short ({words} words): not an article page")
    dated = find_publication_date(tree, url, feed_published)
    page_url = meta.url or url
    return ExtractedArticle(
        url=url,
        canonical_url=canonical_url(page_url if page_url.startswith(("http://", "https://")) else url),
        title=clean_inline(meta.title or ""),
        text=text,
        authors=_merge(split_authors(meta.author or ""), byline),
        published=dated.value,
        published_source=dated.source,
        published_confidence=dated.confidence if dated.value is not None else None,
        site_name=clean_inline(meta.sitename or ""),
        language=_language(tree),
        description=clean_inline(meta.description or ""),
        flags=quality_flags(text, tree, url, link_share=main.link_share, raw_tail=main.raw_tail),
    )


def _main_text(
    tree: lxml.html.HtmlElement, url: str, meta: Document, anchors: list[str], *, fast: bool
) -> _MainText | None:
    """The article text: trafilatura's main content, less furniture blocks and lines. None when none."""
    # Settings, measured on the benchmark (bare trafilatura: F1 0.953) with everything else here in place:
    # - include_comments=False: reader comments are not the article (0.953 -> 0.960 bare, as published);
    # - fast=True: trafilatura alone, without its readability/jusText comparison: +0.0045, and faster
    #   (bare, before our clean-up: 0.960 -> 0.963); _menu_like covers the one page where it needs them;
    # - include_tables stays on: off costs 0.0032 (tables of results and figures are article text);
    # - favor_precision costs 0.0053 (0.023 together with fast), favor_recall 0.0012, deduplicate 0.0084
    #   (it drops lines repeated within a page).
    # Metadata comes from _metadata: trafilatura's own would also run a date search, categories, tags and
    # licence, which we do not use (a third of its time).
    doc = bare_extraction(
        tree,
        url=url,
        fast=fast,
        include_comments=False,
        include_tables=True,
        output_format="python",
    )
    if not isinstance(doc, Document) or doc.body is None or not doc.text:
        return None
    link_share = drop_furniture_blocks(doc.body, description=meta.description or "", anchors=anchors)
    raw = xmltotxt(doc.body, include_formatting=False)
    text = clean_text(raw)
    return _MainText(text, link_share, raw[-_TAIL_CHARS:]) if text else None


def _metadata(tree: lxml.html.HtmlElement, url: str) -> Document:
    """Title, author, canonical URL, site name and description: trafilatura's extract_metadata without its
    date search (publication_date does ours), categories, tags and licence."""
    meta = examine_meta(tree)
    if meta.author and " " not in meta.author:
        meta.author = None  # a one-word "author" is a site or desk name (trafilatura's rule)
    # trafilatura guards this call too: its JSON-LD reader can break on odd payloads.
    with contextlib.suppress(Exception):
        meta = extract_meta_json(tree, meta)
    meta.title = meta.title or extract_title(tree)
    if not meta.author:
        # A closing "• Name" byline (the Global Post pages) first: trafilatura's byline search, which
        # deep-copies and scans the whole page (5 ms), drops such blocks as boilerplate.
        meta.author = "; ".join(_html_byline(tree)) or extract_author(tree)
    meta.url = meta.url or extract_url(tree, url)
    meta.sitename = (meta.sitename or extract_sitename(tree) or "").lstrip("@") or None
    if meta.sitename and "." not in meta.sitename and not meta.sitename[0].isupper():
        meta.sitename = meta.sitename.title()
    elif not meta.sitename and meta.url and (match := META_URL.match(meta.url)):
        meta.sitename = match[1]
    meta.clean_and_trim()
    return meta


def drop_furniture_blocks(body: _Element, *, description: str, anchors: Iterable[str]) -> float:
    """Remove from trafilatura's output tree (in place) the blocks that are page furniture, not article:
    the headline (an h1: the title is its own field; +0.0036 F1 on the benchmark), a heading that repeats
    the page's description (the standfirst; +0.0020), and any paragraph, heading or list item made mostly of
    link text (a teaser for another story; +0.0038). `anchors` are the texts of the page's links, normalised
    as `_normal` does (lower case, runs of non-word characters as one space). Returns the share of the
    blocks' text that was link text, before any was removed."""
    standfirst = _normal(description)
    index = _AnchorIndex(anchors)
    linked = total = 0.0
    for element in list(body.iter("p", "head", "item")):
        block = _normal("".join(element.itertext()))
        if not block:
            continue
        share = index.share(block)
        linked += share * len(block)
        total += len(block)
        headline = element.tag == "head" and element.get("rend") == "h1"
        repeats_standfirst = element.tag == "head" and bool(standfirst) and standfirst.startswith(block)
        if headline or repeats_standfirst or share >= _LINK_BLOCK_SHARE:
            _remove(element)
    return linked / total if total else 0.0


def split_trailing_byline(text: str) -> tuple[str, tuple[str, ...]]:
    """Split a closing byline line ("• Leroy Wright") off a text: the text without it, and its names.
    A last line that does not read as names ("• Prices may vary") stays in the text."""
    head, _, last = text.rpartition("\n")
    names = _bullet_byline(last)
    if not names or not head:
        return text, ()
    return head, names


def split_authors(byline: str) -> tuple[str, ...]:
    """Split a byline ("By A, B and C") into names, dropping the "By" and duplicates."""
    byline = re.sub(r"^\s*(?:by|von|par|por)\s+", "", clean_inline(byline), flags=re.IGNORECASE)
    names: list[str] = []
    for part in _AUTHOR_SPLIT.split(byline):
        name = part.strip(" •·-–—|")
        if name and name not in names:
            names.append(name)
    return tuple(names)


def quality_flags(
    text: str, tree: lxml.html.HtmlElement, url: str, *, link_share: float = 0.0, raw_tail: str = ""
) -> tuple[str, ...]:
    """What looks wrong with an extracted article: `too_short` (under SHORT_WORDS words); `likely_truncated`
    (paywall or teaser wording near the end, or a text that breaks off in an ellipsis while short or on a
    page that declares itself paywalled); `not_an_article` (a tag, category, section, author, archive,
    search or directory-index URL on a page that does not declare itself an article, or a main text made
    largely of links: `link_share`, as drop_furniture_blocks returns it, at 0.5 or more, or at 0.25 or more
    on a page whose og:type is "website"). `raw_tail` is the end of the text before furniture lines were
    cleaned out, where a paywall prompt ("Subscribe to continue reading") would be."""
    flags = []
    if _word_count(text) < SHORT_WORDS:
        flags.append(FLAG_TOO_SHORT)
    if _truncated(text, raw_tail, tree):
        flags.append(FLAG_TRUNCATED)
    if _index_page(tree, url, link_share):
        flags.append(FLAG_NOT_ARTICLE)
    return tuple(flags)


def language_mismatch(language: str | None, expected: str | None) -> bool:
    """Whether an article's language (an HTML lang value such as "en-GB") differs from the language its
    feed or outlet is expected to publish in. Unknown on either side is not a mismatch."""
    if not language or not expected:
        return False
    return _primary(language) != _primary(expected)


def _bullet_byline(line: str) -> tuple[str, ...]:
    match = _TRAILING_BYLINE.match(line.strip())
    if not match:
        return ()
    names = split_authors(match.group(1))
    return names if names and all(_looks_like_name(name) for name in names) else ()


def _looks_like_name(name: str) -> bool:
    words = name.split()
    return (
        1 <= len(words) <= 5
        and all(word[0].isupper() or word.lower() in _NAME_PARTICLES for word in words)
        and words[0][0].isupper()
    )


def _html_byline(tree: lxml.html.HtmlElement) -> tuple[str, ...]:
    # trafilatura drops byline blocks from the text, so a closing "• Name" byline is read from the page:
    # the last element whose class says byline or author and whose own text is such a line.
    found: tuple[str, ...] = ()
    for element in _BULLET_BYLINE(tree):
        found = _bullet_byline(element.text_content()) or found
    return found


def _link_texts(tree: lxml.html.HtmlElement) -> list[str]:
    """The page's link texts long enough to identify a teaser, normalised."""
    return [_normal(anchor.text_content()) for anchor in _LONG_LINKS(tree)]


class _AnchorIndex:
    """Normalised link texts of a page, indexed by first word, to measure how much of a block is link text."""

    def __init__(self, anchors: Iterable[str]) -> None:
        self._by_first: dict[str, list[str]] = {}
        for anchor in set(anchors):
            if len(anchor) >= _MIN_ANCHOR_CHARS:
                self._by_first.setdefault(anchor.split(" ", 1)[0], []).append(anchor)

    def share(self, block: str) -> float:
        """The share of a normalised block's characters that its link texts account for (at most 1)."""
        if not self._by_first:
            return 0.0
        covered = 0
        for word in set(block.split(" ")):
            covered += sum(len(anchor) for anchor in self._by_first.get(word, ()) if anchor in block)
        return min(1.0, covered / len(block))


def _menu_like(text: str) -> bool:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    chars = sum(len(line) for line in lines)
    short = sum(len(line) for line in lines if len(line) < _MENU_LINE_CHARS)
    return len(lines) >= _MENU_MIN_LINES and short * 2 >= chars


def _truncated(text: str, raw_tail: str, tree: lxml.html.HtmlElement) -> bool:
    if _PAYWALL.search(raw_tail or text[-_TAIL_CHARS:]):
        return True
    # A text that stops on an ellipsis was cut off when the page says it is paywalled or the text is short;
    # a long free article may end on one (a newsletter plug: "… need to know today."...).
    if not text.rstrip().endswith(("...", "…", "[…]", "[...]")):
        return False
    return _word_count(text) < SHORT_WORDS or _declared_paywalled(tree)


def _declared_paywalled(tree: lxml.html.HtmlElement) -> bool:
    for meta in tree.xpath('//meta[@itemprop="isAccessibleForFree" or @name="isAccessibleForFree"]'):
        if (meta.get("content") or "").strip().lower() == "false":
            return True
    return any(
        _NOT_FREE.search(script.text or "") for script in tree.xpath('//script[@type="application/ld+json"]')
    )


def _index_page(tree: lxml.html.HtmlElement, url: str, link_share: float) -> bool:
    og_type = _og_type(tree)
    path = urlsplit(url).path
    # A URL shape only counts on a page that does not declare itself an article: CNN's stories end in
    # /index.html (two of the benchmark's articles).
    if og_type != "article" and (path in ("", "/") or _INDEX_PATH.search(path)):
        return True
    return link_share >= _INDEX_LINK_SHARE or (og_type == "website" and link_share >= _WEBSITE_LINK_SHARE)


def _og_type(tree: lxml.html.HtmlElement) -> str:
    for meta in tree.iter("meta"):
        if meta.get("property") == "og:type":
            return (meta.get("content") or "").strip().lower()
    return ""


def _word_count(text: str) -> int:
    # Scripts written without spaces count one word per two ideographs or kana, roughly.
    return len(text.split()) + len(re.findall(r"[\u3040-\u30ff\u3400-\u9fff]", text)) // 2


def _merge(*groups: tuple[str, ...]) -> tuple[str, ...]:
    names: list[str] = []
    for name in (name for group in groups for name in group):
        if name not in names:
            names.append(name)
    return tuple(names)


def _normal(text: str) -> str:
    return _NON_WORD.sub(" ", text).strip().lower()


def _remove(element: _Element) -> None:
    # Keep the element's tail text (text that follows it inside the parent), which is not part of it.
    parent = element.getparent()
    if parent is None:
        return
    if element.tail and element.tail.strip():
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _primary(language: str) -> str:
    return language.strip().replace("_", "-").split("-")[0].lower()


def _language(tree: lxml.html.HtmlElement) -> str | None:
    lang = tree.get("lang") or tree.get("xml:lang") or ""
    if not lang:
        for meta in tree.iter("meta"):
            key = (meta.get("property") or meta.get("http-equiv") or "").lower()
            if key in ("og:locale", "content-language"):
                lang = meta.get("content") or ""
                break
    lang = _primary(lang)
    return lang or None
