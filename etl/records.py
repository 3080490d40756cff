"""The records that travel between pipeline stages. All frozen: a stage never edits what it was given."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal


@dataclass(frozen=True)
class FeedSource:
    """One feed to poll, as listed in feeds.toml (or added with `newswatch feeds add`)."""

    url: str
    outlet: str
    name: str = ""
    kind: Literal["feed", "sitemap"] = "feed"
    # None: the settings' default (obey robots.txt for article pages); True/False overrides it.
    obey_robots: bool | None = None
    # Requests per second to this feed's host; None: the settings' default.
    host_rate: float | None = None


@dataclass(frozen=True)
class FeedEntry:
    """One item of a parsed feed: a candidate article URL."""

    feed_url: str
    outlet: str
    url: str
    guid: str
    title: str
    published: datetime | None
    summary: str


@dataclass(frozen=True)
class ParsedFeed:
    """A feed document after parsing; `error` says why entries may be missing. `listed` counts the items
    the document itself lists; `entries` keeps those with a usable http(s) link, each link once."""

    feed_url: str
    title: str
    entries: tuple[FeedEntry, ...]
    error: str | None = None
    listed: int = 0


FetchKind = Literal["feed", "page", "robots", "sitemap"]


@dataclass(frozen=True)
class FetchRequest:
    """One URL to fetch, with what the fetcher needs to be polite and conditional about it."""

    url: str
    kind: FetchKind = "page"
    etag: str | None = None
    last_modified: str | None = None
    # None: obey robots.txt for pages and sitemaps (feeds are listed by their owners for polling).
    obey_robots: bool | None = None
    # Per-request override of the host's politeness (requests per second); None: the settings' default.
    host_rate: float | None = None


@dataclass(frozen=True)
class FetchResult:
    """What happened when one URL was fetched. `body` is the raw bytes as received (empty on error).

    `status` is the final HTTP status (None when no response came). A 304 has `not_modified=True` and an
    empty body. `permanent_redirect` is the new URL when a 301/308 moved the resource. `retry_after_s`
    carries a 429/503 Retry-After the fetcher did not wait out. `error` is a short reason, prefixed with
    its kind ("timeout:", "HTTP 404", "too large:", "robots:", "blocked:", "content-type:", …)."""

    url: str
    final_url: str
    status: int | None
    content_type: str
    body: bytes
    fetched_at: datetime
    elapsed_ms: int
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    permanent_redirect: str | None = None
    retry_after_s: float | None = None
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class RawResponse:
    """One HTTP response as the fetcher got it, for the raw archive: every hop, retry and robots.txt is
    one. `headers` are as sent except that the body is stored decoded (no Content-Encoding, its own
    Content-Length). `truncated` is why the body is missing or cut short ('length': over the size cap,
    'unspecified': not read, e.g. a media type we refuse), as WARC's `WARC-Truncated` names it."""

    url: str
    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    fetched_at: datetime
    truncated: str | None = None


@dataclass(frozen=True)
class ExtractedArticle:
    """Text and metadata pulled out of one HTML page."""

    url: str
    canonical_url: str
    title: str
    text: str
    authors: tuple[str, ...]
    published: datetime | None
    published_source: str | None
    site_name: str
    language: str | None
    description: str
    # Quality flags from extraction: "too_short", "likely_truncated", "not_an_article" (etl.extract).
    flags: tuple[str, ...] = ()
    # How sure the publication date is, 0..1, from its source and whether other sources agree (etl.dates).
    published_confidence: float | None = None


@dataclass(frozen=True)
class Article:
    """An article ready for tagging: extraction plus where it came from and its dedup keys."""

    article_id: int
    url: str
    canonical_url: str
    outlet: str
    feed_url: str | None
    title: str
    text: str
    authors: tuple[str, ...]
    published: datetime | None
    published_source: str | None
    site_name: str
    language: str | None
    content_hash: str
    fetched_at: datetime
    raw_sha256: str | None = None
    published_confidence: float | None = None
    # Quality flags from extraction (too_short, likely_truncated, not_an_article, language_mismatch).
    flags: tuple[str, ...] = ()
    # Near-duplicate detection: the MinHash signature of the text, and the wire agency it credits.
    minhash: tuple[int, ...] = ()
    wire_agency: str | None = None


@dataclass(frozen=True)
class Sighting:
    """One way an article was reached: through a feed (or a backfill source) and a URL, at a time."""

    article_id: int
    source: str  # the feed URL, or the backfill file / list the URL came from
    url: str
    seen_at: datetime
    run_id: str | None = None


@dataclass(frozen=True)
class AliasEntry:
    """One entity of the alias table, or one demonym of a country (label NORP, `country` set: a
    country's demonyms are always linked to it as a GPE)."""

    name: str
    label: str
    qid: str | None
    aliases: tuple[str, ...] = ()
    country: str | None = None
    country_qid: str | None = None
    # The entity that speaks when this one is quoted: a capital's country ("Moscow said").
    speaks_for: str | None = None


@dataclass(frozen=True)
class EntityMention:
    """One named-entity mention with end-exclusive character offsets into the article text."""

    text: str
    label: str
    start: int
    end: int
    canonical: str
    sentence_start: int
    sentence_end: int
    # From the alias table: the entity's Wikidata id, and for a demonym ("Russian") the country it
    # stands for, so that "Russian meddling" can count toward Russia.
    qid: str | None = None
    country: str | None = None
    country_qid: str | None = None


QuoteKind = Literal["direct", "indirect", "mixed"]
Where = Literal["title", "lead", "body"]


@dataclass(frozen=True)
class Quote:
    """Reported speech: the quoted words, who said them (as written and canonical), and the cue verb."""

    quote: str
    quote_start: int
    quote_end: int
    speaker: str | None
    speaker_start: int | None
    speaker_end: int | None
    speaker_canonical: str | None
    cue: str | None
    kind: QuoteKind
    via: str | None = None
    confidence: float = 0.5


@dataclass(frozen=True)
class TopicEvidence:
    """One piece of evidence behind a topic score: a term or entity, where it was found, its weight."""

    kind: Literal["term", "entity"]
    value: str
    where: Where
    count: int
    weight: float


@dataclass(frozen=True)
class TopicScore:
    """How strongly a text is about a topic, the decision at the topic's threshold, and why."""

    topic: str
    score: float
    relevant: bool
    evidence: tuple[TopicEvidence, ...] = field(default_factory=tuple)
    # Sub-topics ("russian_interference.hacking") name their parent topic; a sub-topic is only relevant
    # when its parent is.
    parent: str | None = None


@dataclass(frozen=True)
class Tagging:
    """Everything the NLP stage says about one text."""

    entities: tuple[EntityMention, ...]
    quotes: tuple[Quote, ...]
    topics: tuple[TopicScore, ...]
    # Which pipeline and rules produced these tags (etl.nlp.pipeline.annotation_version).
    annotation_version: str = ""


@dataclass(frozen=True)
class TaggedArticle:
    """An article together with its tagging: the unit the store loads."""

    article: Article
    tagging: Tagging


@dataclass(frozen=True)
class ItemError:
    """A failure recorded against one item (feed, URL, record) so the run can go on."""

    item: str
    stage: str
    error: str
