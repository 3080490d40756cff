"""Publication dates with provenance and confidence: which source said so, in a fixed order of trust, and
how far the other sources back it up.

Order of trust: the feed entry's date, the page's publication metadata (meta tags, JSON-LD, microdata, a
`<time>` in the article header), a date in the URL, htmldate's search of the whole page. The first that
answers wins and is stored as the source; the others only raise or lower the confidence. Modified dates
(`dateModified`, `article:modified_time`, `og:updated_time`, Last-Modified) are never publication dates, and
a page never gets its fetch time: when nothing answers, the answer is (None, None).

All values are UTC. A value that carries an offset or zone name is converted; one without (a bare date, or a
wall-clock time with no zone) is read as UTC, because the site's zone is unknown."""

from __future__ import annotations

import calendar
import copy
import json
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import htmldate
import lxml.html
from dateutil import parser as date_parser
from dateutil.parser import UnknownTimezoneWarning

# Order of trust for the publication date; the first that answers wins and is stored as the source.
DATE_SOURCES = ("feed", "html_meta", "url", "htmldate")

# Confidence of an answer by the source that gave it, before agreement is counted. A feed date is set by
# the publisher for this entry; page metadata is usually the CMS's publication field; a URL date is only a
# day, in the site's local zone, and sometimes a folder date; htmldate guesses from free text.
BASE_CONFIDENCE = {"feed": 0.9, "html_meta": 0.8, "url": 0.6, "htmldate": 0.4}
# Another source naming the same day (one day of slack: a URL or a zoneless value is a local day).
AGREE_BONUS = 0.1
# A weaker agreement: only the month of a /yyyy/mm/ URL, or a second metadata family of the same page,
# which the same CMS usually fills from the same field.
PARTIAL_BONUS = 0.05
# Another source naming a different day.
DISAGREE_PENALTY = 0.25
# Page metadata that is only a `<time>` or a dateline in the header, not a publication field.
HEADER_ONLY_PENALTY = 0.1
MAX_CONFIDENCE = 0.99
MIN_CONFIDENCE = 0.05

# Publication-time meta tags (property/name/itemprop, lower-cased), most standard first. Rank 0 are the
# Open Graph / article tags made for exactly this; rank 3 are site or vendor conventions.
_META_RANK0 = (
    "article:published_time",
    "og:article:published_time",
    "og:published_time",
    "article:published",
    "article.published",
)
_META_RANK3 = (
    "pubdate",
    "publishdate",
    "publish-date",
    "publish_date",
    "published",
    "published_time",
    "pub_date",
    "pdate",
    "dc.date.issued",
    "dcterms.issued",
    "dcterms.created",
    "dc.date",
    "dcterms.date",
    "sailthru.date",
    "parsely-pub-date",
    "article_date_original",
)
# Ranks inside html_meta: lower is trusted more when candidates disagree.
_RANK_META = 0
_RANK_JSONLD_ARTICLE = 1
_RANK_MICRODATA = 2
_RANK_META_OTHER = 3
_RANK_JSONLD_OTHER = 4
_RANK_TIME_ELEMENT = 5
_RANK_DATELINE = 6

# schema.org types whose datePublished is the article's own. Others (WebPage, ClaimReview, Recipe, …) rank
# lower: a recipe block inside a blog post can carry its own, later, date.
_ARTICLE_TYPES = frozenset(
    t.lower()
    for t in (
        "Article",
        "NewsArticle",
        "BlogPosting",
        "ReportageNews",
        "AnalysisNewsArticle",
        "OpinionNewsArticle",
        "BackgroundNewsArticle",
        "ReviewNewsArticle",
        "AskPublicNewsArticle",
        "SatiricalArticle",
        "AdvertiserContentArticle",
        "TechArticle",
        "ScholarlyArticle",
        "Report",
        "SocialMediaPosting",
        "LiveBlogPosting",
        "DiscussionForumPosting",
    )
)
# JSON-LD branches that describe something else than the page's article: its claim, comments, media.
_JSONLD_SKIP_KEYS = frozenset(
    (
        "itemReviewed",
        "comment",
        "review",
        "citation",
        "isBasedOn",
        "video",
        "associatedMedia",
        "subjectOf",
        "mentions",
        "about",
        "author",
        "creator",
        "publisher",
        "image",
        "hasPart",
    )
)
# Containers whose dates belong to other items: comments, related stories, sidebars.
_ELSEWHERE = re.compile(
    r"(?:comments?|related|sidebar|more|recommend\w*|promo|teaser|footer|nav|navigation)(?:[-_]|$)"
)
_HEADERISH = re.compile(r"byline|dateline|author|meta|info|date|time|publish|posted|entry|story|article|head")
_UPDATED = re.compile(r"updat|modif", re.I)
# An element whose class or id says "publish date" (USA Today's network: <div class="publish-date">
# Published 7:07 PM EST Nov 19, 2019</div>, next to a JSON-LD datePublished of 0001-01-01).
_DATELINE_CLASS = re.compile(
    r"(?:article[-_]?)?(?:publish(?:ed)?[-_]?(?:date|time)|date[-_]?publish(?:ed)?|pub[-_]?date)", re.I
)
_DATELINE_LABEL = re.compile(r"^\W*(?:first\s+)?(?:published|posted)(?:\s+on)?\s*:?\s*", re.I)

_URL_YMD = re.compile(
    r"/((?:19|20)\d{2})/(0?[1-9]|1[0-2])/(0?[1-9]|[12]\d|3[01])(?=/|$|[-_.])"
    r"|(?<![\d])((?:19|20)\d{2})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(?![\d])"
    r"|(?<![\d])((?:19|20)\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?![\d])"
)
_MONTH_NAMES = {name.lower(): i for i, name in enumerate(calendar.month_abbr) if name}
_MONTH_NAMES.update({name.lower(): i for i, name in enumerate(calendar.month_name) if name})
_URL_YMONTHD = re.compile(r"/((?:19|20)\d{2})/([a-z]{3,9})/(0?[1-9]|[12]\d|3[01])(?=/|$)", re.I)
_URL_YM = re.compile(r"/((?:19|20)\d{2})/(0?[1-9]|1[0-2])(?=/)")

_YEAR = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)|^(?:19|20)\d{6}")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
# "GMT+3" means three hours EAST to a reader, but dateutil reads it the POSIX way (west); drop the prefix.
_GMT_PREFIX = re.compile(r"\b(?:GMT|UTC)(?=\s*[+-]\d)")
_PARENTHESES = re.compile(r"\([^)]*\)")
# Zone abbreviations pages print after a time; dateutil cannot know them on its own.
_TZ_ABBREVIATIONS = {
    name: int(hours * 3600)
    for name, hours in {
        "UTC": 0,
        "GMT": 0,
        "Z": 0,
        "BST": 1,
        "CET": 1,
        "CEST": 2,
        "EET": 2,
        "EEST": 3,
        "MSK": 3,
        "AMT": 4,
        "EST": -5,
        "EDT": -4,
        # "ET", "CT", "PT" do not say whether summer time applies; standard time is off by one hour at most.
        "ET": -5,
        "CST": -6,
        "CDT": -5,
        "CT": -6,
        "MST": -7,
        "MDT": -6,
        "PST": -8,
        "PDT": -7,
        "PT": -8,
        "HST": -10,
        "IST": 5.5,
        "PKT": 5,
        "WIB": 7,
        "SGT": 8,
        "HKT": 8,
        "JST": 9,
        "KST": 9,
        "AEST": 10,
        "AEDT": 11,
    }.items()
}
# Two different defaults: a field dateutil filled in from a default differs between the two parses. A
# date missing its day or month must not be completed from today (or any other) date.
_DEFAULTS = (datetime(2000, 1, 1), datetime(2001, 2, 2))
_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class PublicationDate:
    """A publication date with its provenance.

    `value` is UTC (None when no source answered); `source` is one of DATE_SOURCES (None with no value);
    `detail` says which field inside the source gave it (e.g. "meta article:published_time",
    "json-ld NewsArticle.datePublished", "url /2019/11/18/"); `confidence` is 0..1, from the source's base
    confidence raised by each source that agrees and lowered by each that names another day;
    `agrees_with`/`disagrees_with` name those sources."""

    value: datetime | None
    source: str | None
    confidence: float
    detail: str | None = None
    agrees_with: tuple[str, ...] = ()
    disagrees_with: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Candidate:
    value: datetime
    zoned: bool
    rank: int
    family: str
    detail: str


@dataclass(frozen=True)
class _UrlDate:
    value: datetime | None
    month: tuple[int, int] | None
    detail: str


def find_publication_date(
    tree: lxml.html.HtmlElement, url: str, feed_published: datetime | None
) -> PublicationDate:
    """The publication date of a page with its source, the field that gave it and a confidence.

    Sources in order of trust: `feed_published` (the feed entry's date), the page's metadata, a date in the
    URL, htmldate's extensive search with original_date=True. The first that answers wins; the cheaper
    sources are still read to count agreement. Never falls back to the fetch time: with no answer, the value
    and source are None and the confidence 0."""
    meta = _html_meta_candidates(tree)
    meta_best = _best(meta)
    url_date = _url_date(url)
    if feed_published is not None:
        value = _utc(feed_published)
        others: list[tuple[str, datetime | None]] = [
            ("html_meta", meta_best.value if meta_best else None),
            ("url", url_date.value),
        ]
        return _scored(value, "feed", "feed entry", others, url_date.month, ())
    if meta_best is not None:
        found = _scored(
            meta_best.value,
            "html_meta",
            meta_best.detail,
            [("url", url_date.value)],
            url_date.month,
            _family_votes(meta_best, meta),
        )
        if meta_best.rank >= _RANK_TIME_ELEMENT:
            lowered = max(MIN_CONFIDENCE, found.confidence - HEADER_ONLY_PENALTY)
            found = replace(found, confidence=round(lowered, 2))
        return found
    if url_date.value is not None:
        return _scored(url_date.value, "url", url_date.detail, [], None, ())
    guess = _htmldate(tree)
    if guess is not None:
        return _scored(guess, "htmldate", "htmldate extensive search", [], url_date.month, ())
    return PublicationDate(None, None, 0.0)


def publication_date(
    tree: lxml.html.HtmlElement, url: str, feed_published: datetime | None
) -> tuple[datetime | None, str | None]:
    """The publication date of a page and which source gave it, in order of trust: the feed entry's date,
    the page's metadata (meta tags, JSON-LD, microdata), a date in the URL, htmldate's search of the whole
    page. A page never silently gets its fetch time. Thin wrapper over find_publication_date."""
    found = find_publication_date(tree, url, feed_published)
    return found.value, found.source


def parse_date(text: str) -> tuple[datetime, bool] | None:
    """Parse a date string as pages write it: (UTC value, whether the text named its zone), or None when
    the text is not a complete calendar date (a year, a month and a day). Zone abbreviations such as EST or
    IST are understood; a value without zone is read as UTC."""
    text = _PARENTHESES.sub(" ", text).strip()
    if not text or not _YEAR.search(text):
        return None
    if _ISO_DATE.match(text) or re.fullmatch(r"(?:19|20)\d{6}", text):
        try:
            parsed = date_parser.isoparse(text)
        except ValueError:
            parsed = None
        if parsed is not None:
            return _checked(parsed)
    text = _GMT_PREFIX.sub("", text)
    try:
        with warnings.catch_warnings():
            # An unknown zone name is read as no zone (UTC), which `zoned` then reports; no warning spam.
            warnings.simplefilter("ignore", UnknownTimezoneWarning)
            first, second = (
                date_parser.parse(text, default=default, tzinfos=_TZ_ABBREVIATIONS) for default in _DEFAULTS
            )
    except (ValueError, OverflowError, TypeError):
        return None
    if first.date() != second.date():
        return None
    return _checked(first)


def _checked(parsed: datetime) -> tuple[datetime, bool] | None:
    value = _utc(parsed)
    # Before the web there were no web pages; after tomorrow is a typo or a scheduled placeholder.
    if value < _EARLIEST or value > datetime.now(UTC) + timedelta(days=2):
        return None
    return value, parsed.tzinfo is not None


def _scored(
    value: datetime,
    source: str,
    detail: str,
    others: list[tuple[str, datetime | None]],
    url_month: tuple[int, int] | None,
    family_votes: tuple[tuple[str, bool], ...],
) -> PublicationDate:
    confidence = BASE_CONFIDENCE[source]
    agree: list[str] = []
    disagree: list[str] = []
    for name, other in others:
        if other is None:
            continue
        if _same_day(value, other):
            confidence += AGREE_BONUS
            agree.append(name)
        else:
            confidence -= DISAGREE_PENALTY
            disagree.append(name)
    if url_month is not None and not any(name == "url" for name, other in others if other is not None):
        if _in_month(value, url_month):
            confidence += PARTIAL_BONUS
            agree.append("url (month)")
        else:
            confidence -= DISAGREE_PENALTY
            disagree.append("url (month)")
    for name, agrees in family_votes:
        if agrees:
            confidence += PARTIAL_BONUS
            agree.append(name)
        else:
            confidence -= PARTIAL_BONUS
            disagree.append(name)
    confidence = round(min(MAX_CONFIDENCE, max(MIN_CONFIDENCE, confidence)), 2)
    return PublicationDate(value, source, confidence, detail, tuple(agree), tuple(disagree))


def _family_votes(best: _Candidate, candidates: list[_Candidate]) -> tuple[tuple[str, bool], ...]:
    """One vote per other metadata family (meta tags, JSON-LD, microdata): does its best value agree?"""
    votes: list[tuple[str, bool]] = []
    for family in dict.fromkeys(c.family for c in candidates):
        if family == best.family:
            continue
        other = _best([c for c in candidates if c.family == family])
        if other is not None and other.rank < _RANK_TIME_ELEMENT:
            votes.append((f"html_meta ({family})", _same_day(best.value, other.value)))
    return tuple(votes)


def _same_day(a: datetime, b: datetime) -> bool:
    # A URL date or a zoneless value is the site's local day, which can be a day off the UTC day.
    return abs((a.date() - b.date()).days) <= 1


def _in_month(value: datetime, month: tuple[int, int]) -> bool:
    days = (value.date() + timedelta(days=offset) for offset in (-1, 0, 1))
    return any((day.year, day.month) == month for day in days)


def _best(candidates: list[_Candidate]) -> _Candidate | None:
    """The most trusted candidate: the structured fields (meta tags, JSON-LD, microdata) first, a `<time>`
    or dateline in the header only when there are none; among those, a value that names its zone before one
    that does not (a zoneless value is often local wall time: techcrunch's sailthru.date), then by rank,
    then in the order found."""
    if not candidates:
        return None
    structured = [c for c in candidates if c.rank < _RANK_TIME_ELEMENT] or candidates
    return min(structured, key=lambda c: (not c.zoned, c.rank))


def _html_meta_candidates(tree: lxml.html.HtmlElement) -> list[_Candidate]:
    """Every publication date the page's markup states, in document order within each kind."""
    found: list[_Candidate] = []

    def add(text: str | None, rank: int, family: str, detail: str) -> None:
        parsed = parse_date(text or "")
        if parsed is not None:
            found.append(_Candidate(parsed[0], parsed[1], rank, family, detail))

    head = tree.find("head")
    # Publication meta tags live in <head>; itemprop metas in the body are read with the microdata below.
    for meta in (head if head is not None else tree).iter("meta"):
        content = meta.get("content")
        for attribute in ("property", "name"):
            key = (meta.get(attribute) or "").strip().lower()
            if key in _META_RANK0:
                add(content, _RANK_META, "meta", f"meta {key}")
            elif key in _META_RANK3:
                add(content, _RANK_META_OTHER, "meta", f"meta {key}")
    for payload in tree.xpath('//script[@type="application/ld+json"]/text()'):
        for value, rank, detail in _json_ld_dates(str(payload)):
            add(value, rank, "json-ld", detail)
    if any(c.rank <= _RANK_JSONLD_ARTICLE for c in found):
        # An article:published_time or an article's JSON-LD datePublished outranks anything below; the
        # microdata scan visits every element (half the cost of the whole date search), so it is skipped.
        # Agreement is still counted between the meta tags and the JSON-LD.
        return found
    for element in tree.xpath('//*[@itemprop or @pubdate] | //time[contains(@class, "publish")]'):
        if element.tag == "meta" and (element.get("property") or element.get("name")):
            continue  # read above as a meta tag; counting it twice would fake agreement
        props = (element.get("itemprop") or "").split()
        if "datePublished" in props or "published" in props:
            how = "itemprop=" + ("datePublished" if "datePublished" in props else "published")
        elif element.get("pubdate") is not None:
            how = "pubdate"
        elif element.tag == "time" and not _is_update(element):
            how = f'class="{element.get("class")}"'
        else:
            continue
        if _elsewhere(element):
            continue
        text = element.get("content") or element.get("datetime") or element.text_content()
        add(text, _RANK_MICRODATA, "microdata", f"{element.tag} {how}")
    for element in tree.xpath("//time[@datetime]"):
        if _is_update(element):
            continue
        if _elsewhere(element) or not _in_header(element):
            continue
        add(element.get("datetime"), _RANK_TIME_ELEMENT, "time", "time[datetime] in the article header")
        break
    if found:
        # A visible dateline is the weakest markup; scanning every classed element for one costs more than
        # the rest of the date search, so it is only done when the page states no date otherwise.
        return found
    for element in tree.xpath("//body//*[@class or @id]"):
        tokens = f"{element.get('class') or ''} {element.get('id') or ''}".split()
        named = next((token for token in tokens if _DATELINE_CLASS.fullmatch(token)), None)
        if named is None or _elsewhere(element):
            continue
        text = " ".join(element.text_content().split())
        if len(text) <= 80:  # a byline date, not a container that happens to carry the class
            add(_DATELINE_LABEL.sub("", text), _RANK_DATELINE, "dateline", f"text of {element.tag}.{named}")
            break
    return found


def _json_ld_dates(payload: str) -> Iterator[tuple[str, int, str]]:
    """(datePublished, rank, detail) of each JSON-LD object, article types ranked first. Broken JSON (single
    quotes, trailing commas, raw newlines) still yields its first datePublished by pattern."""
    try:
        data = json.loads(payload)
    except ValueError:
        match = re.search(r'"datePublished"\s*:\s*"([^"]+)"', payload)
        if match:
            yield match[1], _RANK_META_OTHER, "json-ld datePublished (invalid JSON)"
        return
    stack = [data]
    while stack:
        item = stack.pop(0)
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        types = item.get("@type") or ()
        types = [types] if isinstance(types, str) else [t for t in types if isinstance(t, str)]
        value = item.get("datePublished")
        if isinstance(value, str):
            article = any(t.lower() in _ARTICLE_TYPES for t in types)
            rank = _RANK_JSONLD_ARTICLE if article else _RANK_JSONLD_OTHER
            yield value, rank, f"json-ld {'/'.join(types) or 'object'}.datePublished"
        stack.extend(v for k, v in item.items() if k not in _JSONLD_SKIP_KEYS and isinstance(v, dict | list))


def _is_update(element: lxml.html.HtmlElement) -> bool:
    """A `<time>` that marks the last update (class "updated", itemprop dateModified) and not also the
    publication (WordPress themes write class="entry-date published updated" on the one date they show)."""
    marks = f"{element.get('class') or ''} {element.get('itemprop') or ''}"
    return bool(_UPDATED.search(marks)) and "publish" not in marks.lower()


def _elsewhere(element: lxml.html.HtmlElement) -> bool:
    """Inside a comment, a related-stories box, a sidebar or navigation: another item's date."""
    for ancestor in element.iterancestors():
        if ancestor.tag in ("body", "html"):
            break  # page-wide classes ("has-sidebar", "no-sidebar") say nothing about this element
        if ancestor.tag in ("aside", "footer", "nav"):
            return True
        tokens = f"{ancestor.get('class') or ''} {ancestor.get('id') or ''}".lower().split()
        if any(_ELSEWHERE.match(token) for token in tokens):
            return True
        itemtype = ancestor.get("itemtype") or ""
        if itemtype.endswith(("/Comment", "/Review")):
            return True
    return False


def _in_header(element: lxml.html.HtmlElement) -> bool:
    """In the article or its header: under <article>/<header>/<main>, or a byline-like container."""
    for ancestor in element.iterancestors():
        if ancestor.tag in ("article", "header", "main"):
            return True
        if _HEADERISH.search(f"{ancestor.get('class') or ''} {ancestor.get('id') or ''}".lower()):
            return True
    return False


def _url_date(url: str) -> _UrlDate:
    """A full date in the URL path (/2019/11/18/, /2019/11/8/, 2019-11-18, -20191118, /2019/nov/18/), else
    the year and month of a /2019/11/ folder, which only counts as agreement."""
    path = urlsplit(url).path
    match = _URL_YMD.search(path)
    if match:
        groups = [g for g in match.groups() if g is not None]
        found = _day(int(groups[0]), int(groups[1]), int(groups[2]))
        if found is not None:
            return _UrlDate(found, None, f"url {match[0]}")
    match = _URL_YMONTHD.search(path)
    if match and match[2].lower() in _MONTH_NAMES:
        found = _day(int(match[1]), _MONTH_NAMES[match[2].lower()], int(match[3]))
        if found is not None:
            return _UrlDate(found, None, f"url {match[0]}")
    match = _URL_YM.search(path)
    if match:
        return _UrlDate(None, (int(match[1]), int(match[2])), f"url {match[0]}")
    return _UrlDate(None, None, "")


def _day(year: int, month: int, day: int) -> datetime | None:
    try:
        value = datetime(year, month, day, tzinfo=UTC)
    except ValueError:
        return None
    return value if _EARLIEST <= value <= datetime.now(UTC) + timedelta(days=2) else None


def _htmldate(tree: lxml.html.HtmlElement) -> datetime | None:
    # htmldate cleans the tree it is given, so it gets a copy; scripts other than JSON-LD go, because what
    # they write into the page is comments and widgets, not the article's dateline.
    page = copy.deepcopy(tree)
    for script in page.xpath('//script[not(@type="application/ld+json")]'):
        script.drop_tree()
    guess = htmldate.find_date(page, extensive_search=True, original_date=True, outputformat="%Y-%m-%d")
    if not guess:
        return None
    day = date.fromisoformat(guess)
    # When it finds no full date, htmldate answers the first of a month it saw ("2019-11") or January 1st
    # of a copyright or lone year ("© 2008"). That is not a publication date: a first of the month only
    # counts when the page writes that full date somewhere.
    if day.day == 1 and not _writes_first_of_month(lxml.html.tostring(page, encoding="unicode"), day):
        return None
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


def _writes_first_of_month(html: str, day: date) -> bool:
    """Whether the page writes the full date `day` (a first of the month) in a common numeric or English
    form: 2019-11-01, 2019/11/01, 01.11.2019, 1/11/2019, 11/1/2019, November 1, 2019, 1st Nov 2019."""
    y, m = day.year, day.month
    month = rf"(?:{calendar.month_name[m]}|{calendar.month_abbr[m]})\.?"
    patterns = (
        rf"(?<!\d){y}[-/.]0?{m}[-/.]0?1(?!\d)",
        rf"(?<!\d)0?1[-/.]0?{m}[-/.]{y}(?!\d)",
        rf"(?<!\d)0?{m}/0?1/{y}(?!\d)",
        rf"{month}\s+0?1(?:st)?,?\s+{y}(?!\d)",
        rf"(?<!\d)0?1(?:st)?\.?\s+{month},?\s+{y}(?!\d)",
    )
    return any(re.search(pattern, html, re.IGNORECASE) for pattern in patterns)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
