"""What one flow run did, read back from the store: the content of the run's Prefect artifacts.

`run_report` reads the run's rows (`runs`, `feed_polls`, `feed_items`, `fetches`, `articles`,
`article_sightings`, `mentions`, `quotes`) into a frozen `RunReport`; `render_markdown` and `feed_table`
turn it into the markdown summary and the per-feed table that flows/ publishes. Nothing here knows about
Prefect, so the same report can be printed, tested or published elsewhere.

The run's articles are the ones it loaded (`articles.run_id`); for a `retag` run, which loads nothing, they
are the articles now at the annotation version it tagged to (`runs.counts.annotation_version`)."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import duckdb

__all__ = [
    "ErrorKind",
    "FeedResult",
    "HostTiming",
    "RunNotFound",
    "RunReport",
    "error_kind",
    "feed_table",
    "render_markdown",
    "run_report",
]

EXAMPLES_PER_KIND = 3


class RunNotFound(LookupError):
    """No `runs` row has this run id."""


@dataclass(frozen=True)
class ErrorKind:
    """Errors of one kind (stage and the error's leading words), how many, and a few examples."""

    kind: str
    count: int
    examples: tuple[tuple[str, str], ...]  # (item, error)


@dataclass(frozen=True)
class HostTiming:
    """Requests one host answered during the run (feed polls and page fetches) and how long they took."""

    host: str
    requests: int
    mean_ms: float
    max_ms: int


@dataclass(frozen=True)
class FeedResult:
    """One feed in one run: its poll (None when it was not polled), and what became of its items."""

    feed_id: int
    outlet: str | None
    url: str
    polled: bool
    status: int | None
    elapsed_ms: int | None
    unchanged: bool | None
    entries: int
    new_items: int
    loaded: int
    item_errors: int
    error: str | None
    articles: int  # the run's articles reached through this feed


@dataclass(frozen=True)
class RunReport:
    """Everything the run's artifacts show."""

    run_id: str
    flow: str
    status: str
    started_at: datetime | None
    finished_at: datetime | None
    counts: Mapping[str, Any]
    feeds_polled: int
    new_articles: int
    updated_articles: int
    errors: tuple[ErrorKind, ...]
    error_total: int
    slowest_hosts: tuple[HostTiming, ...]
    top_entities: tuple[tuple[str, str, int], ...]  # (canonical, label, articles)
    top_speakers: tuple[tuple[str, int], ...]  # (speaker, quotes)
    feeds: tuple[FeedResult, ...]

    @property
    def duration_s(self) -> float | None:
        """Wall time of the run, when it has finished."""
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


def error_kind(stage: str, error: str) -> str:
    """The kind an error counts under: its stage and the error's leading words ('fetch_error / HTTP 404',
    'feed / timeout', 'fetch_error / ConnectError'), so that one bad host's hundred messages, which differ
    by URL, count as one kind."""
    head = (error or "unknown").split(":", 1)[0].strip()
    return f"{stage} / {head[:60] or 'unknown'}"


def _load_json(value: Any) -> Any:
    if value is None:
        return None
    return json.loads(value) if isinstance(value, str) else value


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def _errors(rows: Sequence[Mapping[str, Any]]) -> tuple[ErrorKind, ...]:
    grouped: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in rows:
        stage = str(row.get("stage") or "unknown")
        error = str(row.get("error") or "")
        grouped[error_kind(stage, error)].append((str(row.get("item") or ""), error))
    kinds = [ErrorKind(kind, len(items), tuple(items[:EXAMPLES_PER_KIND])) for kind, items in grouped.items()]
    return tuple(sorted(kinds, key=lambda k: (-k.count, k.kind)))


_RUN_SQL = "select flow, status, started_at, finished_at, counts, errors from runs where run_id = ?"

_POLLS_SQL = """
select p.feed_id, f.outlet, coalesce(f.url, p.url), p.status, p.elapsed_ms, p.unchanged,
       coalesce(p.entries, 0), coalesce(p.new_items, 0), p.error, p.url
from feed_polls p left join feeds f using (feed_id)
where p.run_id = ?
order by p.polled_at
"""

_ITEMS_SQL = """
select feed_id, outcome, count(*) from feed_items where run_id = ? group by feed_id, outcome
"""

_FETCH_TIMES_SQL = "select url, elapsed_ms from fetches where run_id = ? and elapsed_ms is not null"

# The run's articles: loaded by it, or (retag) now at the annotation version it tagged to.
_RUN_ARTICLES = """
run_articles as (
    select article_id, feed_url from articles
    where run_id = $run_id or ($version is not null and annotation_version = $version)
)
"""

_ARTICLES_PER_FEED_SQL = f"""
with {_RUN_ARTICLES}
select f.feed_id, f.outlet, f.url, count(*)
from run_articles a join feeds f on f.url = a.feed_url or f.listed_url = a.feed_url
group by f.feed_id, f.outlet, f.url
"""

_NEW_ARTICLES_SQL = "select count(*) from articles where run_id = ?"

# Stories already stored that the run met again: listed by a feed or reached by another URL.
_UPDATED_ARTICLES_SQL = """
select count(distinct s.article_id)
from article_sightings s join articles a using (article_id)
where s.last_seen_at >= ? and a.run_id is distinct from ?
"""

_TOP_ENTITIES_SQL = f"""
with {_RUN_ARTICLES}
select e.canonical, e.label, count(distinct m.article_id) as articles
from mentions m join run_articles using (article_id) join entities e using (entity_id)
where e.label in ('PERSON', 'ORG', 'GPE', 'NORP')
group by e.canonical, e.label
order by articles desc, e.canonical
limit $top
"""

_TOP_SPEAKERS_SQL = f"""
with {_RUN_ARTICLES}
select q.speaker_canonical, count(*) as n
from quotes q join run_articles using (article_id)
where q.speaker_canonical is not null
group by q.speaker_canonical
order by n desc, q.speaker_canonical
limit $top
"""


def run_report(con: duckdb.DuckDBPyConnection, run_id: str, *, top: int = 10) -> RunReport:
    """Read what run `run_id` did from the store (after `store.finish_run`); RunNotFound if it has no row.

    `top` bounds the slowest hosts, entities and speakers listed."""
    row = con.execute(_RUN_SQL, [run_id]).fetchone()
    if row is None:
        raise RunNotFound(f"no run {run_id!r} in the runs table")
    flow, status, started_at, finished_at, counts_json, errors_json = row
    counts: dict[str, Any] = _load_json(counts_json) or {}
    error_rows: list[dict[str, Any]] = _load_json(errors_json) or []
    version = counts.get("annotation_version") if flow == "retag" else None
    scope = {"run_id": run_id, "version": version}

    outcomes: dict[int, Counter[str]] = defaultdict(Counter)
    for feed_id, outcome, n in con.execute(_ITEMS_SQL, [run_id]).fetchall():
        outcomes[int(feed_id)][str(outcome)] += int(n)
    articles_by_feed: dict[int, tuple[str | None, str, int]] = {
        int(feed_id): (outlet, url, int(n))
        for feed_id, outlet, url, n in con.execute(_ARTICLES_PER_FEED_SQL, scope).fetchall()
    }

    timings: dict[str, list[int]] = defaultdict(list)
    feeds: list[FeedResult] = []
    seen: set[int] = set()
    for feed_id, outlet, url, status_code, elapsed, unchanged, entries, new, error, polled_url in con.execute(
        _POLLS_SQL, [run_id]
    ).fetchall():
        if elapsed is not None:
            timings[_host(polled_url)].append(int(elapsed))
        if feed_id in seen:  # a feed polled twice in one run: report the latest poll
            feeds = [f for f in feeds if f.feed_id != feed_id]
        seen.add(feed_id)
        items = outcomes.get(int(feed_id), Counter())
        feeds.append(
            FeedResult(
                feed_id=int(feed_id),
                outlet=outlet,
                url=url,
                polled=True,
                status=status_code,
                elapsed_ms=elapsed,
                unchanged=unchanged,
                entries=int(entries),
                new_items=int(new),
                loaded=items["loaded"],
                item_errors=sum(n for o, n in items.items() if o in ("fetch_error", "extract_error", "gone")),
                error=error,
                articles=articles_by_feed.get(int(feed_id), (None, "", 0))[2],
            )
        )
    # Feeds the run reached articles of without polling them (a retag run).
    for feed_id, (outlet, url, n) in sorted(
        articles_by_feed.items(), key=lambda kv: (kv[1][0] or "", kv[1][1])
    ):
        if feed_id not in seen:
            feeds.append(
                FeedResult(feed_id, outlet, url, False, None, None, None, 0, 0, 0, 0, None, articles=n)
            )

    for url, elapsed in con.execute(_FETCH_TIMES_SQL, [run_id]).fetchall():
        timings[_host(url)].append(int(elapsed))
    hosts = sorted(
        (HostTiming(host, len(ms), sum(ms) / len(ms), max(ms)) for host, ms in timings.items()),
        key=lambda h: (-h.mean_ms, h.host),
    )

    new_articles = int(con.execute(_NEW_ARTICLES_SQL, [run_id]).fetchone()[0])  # type: ignore[index]
    if flow == "retag":
        updated = int(counts.get("articles", 0))
    elif started_at is not None:
        updated = int(con.execute(_UPDATED_ARTICLES_SQL, [started_at, run_id]).fetchone()[0])  # type: ignore[index]
    else:
        updated = 0
    params = {**scope, "top": top}
    entities = tuple(
        (str(c), str(label), int(n)) for c, label, n in con.execute(_TOP_ENTITIES_SQL, params).fetchall()
    )
    speakers = tuple((str(s), int(n)) for s, n in con.execute(_TOP_SPEAKERS_SQL, params).fetchall())

    return RunReport(
        run_id=run_id,
        flow=str(flow),
        status=str(status),
        started_at=started_at,
        finished_at=finished_at,
        counts=counts,
        feeds_polled=sum(f.polled for f in feeds),
        new_articles=new_articles,
        updated_articles=updated,
        errors=_errors(error_rows),
        error_total=len(error_rows),
        slowest_hosts=tuple(hosts[:top]),
        top_entities=entities,
        top_speakers=speakers,
        feeds=tuple(feeds),
    )


def _cell(value: Any) -> str:
    """A value for a markdown table cell: pipes escaped, newlines flattened, long text cut."""
    text = "" if value is None else str(value)
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= 120 else text[:117] + "..."


def _md_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return lines


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if value is not None else "-"


def render_markdown(report: RunReport) -> str:
    """The run summary as markdown: outcome and counts, feeds polled, new and updated articles, errors by
    kind with examples, slowest hosts, top entities and speakers of the run's articles."""
    duration = report.duration_s
    lines = [
        f"# {report.flow} run: {report.status}",
        "",
        f"Run `{report.run_id}`, started {_when(report.started_at)}"
        + (f", took {duration:.1f} s." if duration is not None else ", not finished."),
        "",
        f"- feeds polled: **{report.feeds_polled}**"
        + (
            f" ({report.counts.get('feeds_unchanged', 0)} unchanged, "
            f"{report.counts.get('feed_errors', 0)} failed)"
            if report.feeds_polled
            else ""
        ),
        f"- new articles: **{report.new_articles}**",
        f"- updated articles: **{report.updated_articles}**"
        + (" (re-tagged)" if report.flow == "retag" else " (stored stories met again)"),
        f"- errors: **{report.error_total}**",
        "",
    ]
    shown_counts = {k: v for k, v in report.counts.items() if not isinstance(v, dict | list)}
    if shown_counts:
        lines += ["## Counts", "", *_md_table(["count", "value"], sorted(shown_counts.items())), ""]
    lines += ["## Errors by kind", ""]
    if report.errors:
        for kind in report.errors:
            lines.append(f"- **{_cell(kind.kind)}**: {kind.count}")
            lines += [f"  - `{_cell(item)}`: {_cell(error)}" for item, error in kind.examples]
    else:
        lines.append("No errors.")
    lines += ["", "## Slowest hosts", ""]
    if report.slowest_hosts:
        lines += _md_table(
            ["host", "requests", "mean ms", "max ms"],
            [(h.host, h.requests, f"{h.mean_ms:.0f}", h.max_ms) for h in report.slowest_hosts],
        )
    else:
        lines.append("No requests.")
    lines += ["", "## Top entities", ""]
    if report.top_entities:
        lines += _md_table(["entity", "label", "articles"], report.top_entities)
    else:
        lines.append("No entities in this run's articles.")
    lines += ["", "## Top speakers", ""]
    if report.top_speakers:
        lines += _md_table(["speaker", "quotes"], report.top_speakers)
    else:
        lines.append("No attributed quotes in this run's articles.")
    return "\n".join(lines) + "\n"


def feed_table(report: RunReport) -> list[dict[str, Any]]:
    """Per-feed results of the run, one dict per feed (the table artifact's rows)."""
    return [
        {
            "outlet": f.outlet or "",
            "feed": f.url,
            "polled": f.polled,
            "status": f.status,
            "ms": f.elapsed_ms,
            "unchanged": f.unchanged,
            "entries": f.entries,
            "new_items": f.new_items,
            "loaded": f.loaded,
            "item_errors": f.item_errors,
            "articles": f.articles,
            "error": f.error or "",
        }
        for f in report.feeds
    ]
