"""The DuckDB store: schema upgrade, idempotent transactional loads, upserts, lookups."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pytest

from etl import store
from etl.dedup import article_id, content_hash, minhash_signature, stable_id, wire_agency
from etl.polling import FeedState, PollOutcome, after_poll
from etl.records import (
    Article,
    EntityMention,
    FeedSource,
    Quote,
    QuoteKind,
    Sighting,
    TaggedArticle,
    Tagging,
    TopicEvidence,
    TopicScore,
)
from etl.settings import Settings

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
TABLES = {
    "article_fingerprints",
    "article_bands",
    "article_sightings",
    "feeds",
    "feed_polls",
    "feed_items",
    "fetches",
    "articles",
    "entities",
    "entity_aliases",
    "annotation_versions",
    "mentions",
    "quotes",
    "article_topics",
    "runs",
    "schema_info",
    "article_terms",
    "search_stopwords",
    "article_entities",
    "backfill_progress",
    "backfill_errors",
}
# Tables the migrations fill with reference rows of their own, not with anything loaded.
SEEDED = {"schema_info", "search_stopwords"}

# ---------------------------------------------------------------------------------------------------
# Hand-made batch: three articles, two outlets, two weeks.

A1_URL = "https://outlet-a.example/2026/10/05/putin-denies"
A2_URL = "https://outlet-b.example/news/kremlin-campaign"
A3_URL = "https://outlet-a.example/2026/10/13/grain"

A1_TEXT = (
    'Vladimir Putin met Kremlin aides on Monday. "We did not interfere," Putin said. '
    "NATO officials disagreed."
)
A2_TEXT = (
    'Joe Smith said the Kremlin ran the campaign. "They targeted voters," Smith said. '
    'Vladimir Putin denied it, saying "Nothing happened." '
    "Maria Zakharova added that the claims were absurd."
)
A3_TEXT = 'NATO and the Kremlin discussed grain exports. "Shipments resume Friday," the statement said.'


def mention(text: str, surface: str, label: str, canonical: str | None = None, nth: int = 0) -> EntityMention:
    """The nth occurrence of `surface` in `text` as an entity mention."""
    start = -1
    for _ in range(nth + 1):
        start = text.index(surface, start + 1)
    return EntityMention(
        text=surface,
        label=label,
        start=start,
        end=start + len(surface),
        canonical=canonical or surface,
        sentence_start=0,
        sentence_end=len(text),
    )


def quote(
    text: str,
    words: str,
    speaker: str | None,
    canonical: str | None,
    *,
    kind: QuoteKind = "direct",
    confidence: float = 0.5,
) -> Quote:
    start = text.index(words)
    speaker_start = text.index(speaker) if speaker else None
    return Quote(
        quote=words,
        quote_start=start,
        quote_end=start + len(words),
        speaker=speaker,
        speaker_start=speaker_start,
        speaker_end=speaker_start + len(speaker) if speaker and speaker_start is not None else None,
        speaker_canonical=canonical,
        cue="said",
        kind=kind,
        via="test",
        confidence=confidence,
    )


def article(url: str, outlet: str, text: str, published: datetime | None, fetched_at: datetime) -> Article:
    return Article(
        article_id=article_id(url),
        url=url + "?utm_source=feed",
        canonical_url=url,
        outlet=outlet,
        feed_url="https://" + outlet.lower().replace(" ", "-") + ".example/feed.xml",
        title=text.split(".")[0],
        text=text,
        authors=("A. Writer", "B. Editor"),
        published=published,
        published_source="json-ld" if published else None,
        site_name=outlet,
        language="en",
        content_hash=content_hash(text),
        fetched_at=fetched_at,
        raw_sha256="ab" * 32,
    )


def ri(score: float, relevant: bool) -> TopicScore:
    return TopicScore(
        topic="russian_interference",
        score=score,
        relevant=relevant,
        evidence=(TopicEvidence(kind="term", value="interfere", where="body", count=1, weight=score),),
    )


def make_a1() -> TaggedArticle:
    return TaggedArticle(
        article=article(
            A1_URL,
            "Outlet A",
            A1_TEXT,
            datetime(2026, 10, 5, 9, 0, tzinfo=UTC),
            datetime(2026, 10, 5, 12, 0, tzinfo=UTC),
        ),
        tagging=Tagging(
            entities=(
                mention(A1_TEXT, "Vladimir Putin", "PERSON"),
                mention(A1_TEXT, "Kremlin", "ORG"),
                mention(A1_TEXT, "Putin", "PERSON", "Vladimir Putin", nth=1),
                mention(A1_TEXT, "NATO", "ORG"),
            ),
            quotes=(quote(A1_TEXT, "We did not interfere,", "Putin", "Vladimir Putin", confidence=0.9),),
            topics=(ri(0.92, True), TopicScore("elections", 0.2, False)),
        ),
    )


def make_a2() -> TaggedArticle:
    # 22:30 at UTC-5 is 03:30 UTC the next day: the article belongs to 2026-10-07.
    published = datetime(2026, 10, 6, 22, 30, tzinfo=timezone(timedelta(hours=-5)))
    return TaggedArticle(
        article=article(A2_URL, "Outlet B", A2_TEXT, published, datetime(2026, 10, 7, 6, 0, tzinfo=UTC)),
        tagging=Tagging(
            entities=(
                mention(A2_TEXT, "Joe Smith", "PERSON"),
                mention(A2_TEXT, "Kremlin", "ORG"),
                mention(A2_TEXT, "Smith", "PERSON", "Joe Smith", nth=1),
                mention(A2_TEXT, "Vladimir Putin", "PERSON"),
            ),
            quotes=(
                quote(A2_TEXT, "They targeted voters,", "Smith", "Joe Smith", confidence=0.8),
                quote(A2_TEXT, "Nothing happened.", "Vladimir Putin", "Vladimir Putin", confidence=0.6),
                quote(
                    A2_TEXT,
                    "the claims were absurd",
                    "Maria Zakharova",
                    "Maria Zakharova",
                    kind="indirect",
                ),
            ),
            topics=(ri(0.8, True),),
        ),
    )


def make_a3() -> TaggedArticle:
    # No published date, and a naive fetched_at (taken as UTC): dated 2026-10-13 by its fetch.
    return TaggedArticle(
        article=article(A3_URL, "Outlet A", A3_TEXT, None, datetime(2026, 10, 13, 8, 0)),
        tagging=Tagging(
            entities=(mention(A3_TEXT, "NATO", "ORG"), mention(A3_TEXT, "Kremlin", "ORG")),
            quotes=(quote(A3_TEXT, "Shipments resume Friday,", None, None),),
            topics=(ri(0.1, False),),
        ),
    )


def make_batch() -> list[TaggedArticle]:
    # A2 first: Kremlin is met in A2 before A1, yet first_seen must be A1's (earlier) time.
    return [make_a2(), make_a1(), make_a3()]


EXPECTED_INSERTED = {"articles": 3, "entities": 4, "mentions": 10, "quotes": 5, "article_topics": 4}


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "newswatch.duckdb"


@pytest.fixture
def con(db_path: Path):
    connection = store.connect(db_path)
    store.upgrade(connection, SQL_DIR)
    yield connection
    connection.close()


def rows(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    return con.execute(sql, params or []).fetchall()


# ---------------------------------------------------------------------------------------------------
# Connection and schema


def test_connect_creates_parent_and_disables_extension_autoload(db_path: Path) -> None:
    con = store.connect(db_path)
    try:
        assert db_path.exists()
        settings = dict(
            rows(
                con,
                "select name, value from duckdb_settings() "
                "where name in ('autoinstall_known_extensions', 'autoload_known_extensions')",
            )
        )
        assert settings == {"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
    finally:
        con.close()


def test_upgrade_twice_is_idempotent(db_path: Path) -> None:
    con = store.connect(db_path)
    store.upgrade(con, SQL_DIR)
    store.load_articles(con, make_batch(), run_id="r1")
    counts = store.table_counts(con)
    store.upgrade(con, SQL_DIR)
    assert store.table_counts(con) == counts
    assert set(counts) == TABLES
    assert rows(con, "select value from schema_info where key = 'schema_version'") == [
        (str(store.SCHEMA_VERSION),)
    ]
    views = {r[0] for r in rows(con, "select view_name from duckdb_views() where not internal")}
    assert views == {"article_days", "article_facts", "quote_facts", "mention_facts", "story_clusters"}
    con.close()

    # Upgrade on a reopened file, as a later run would do.
    con = store.connect(db_path)
    store.upgrade(con, SQL_DIR)
    assert store.table_counts(con) == counts
    con.close()


def test_ddl_types_come_from_the_metadata(con: duckdb.DuckDBPyConnection) -> None:
    types = dict(
        rows(
            con,
            "select table_name || '.' || column_name, data_type from information_schema.columns "
            "where table_schema = 'main'",
        )
    )
    assert types["feeds.feed_id"] == "BIGINT"  # not BIGSERIAL: ids are computed, never generated
    assert types["articles.authors"] == "VARCHAR[]"
    assert types["articles.published"] == "TIMESTAMP WITH TIME ZONE"
    assert types["article_topics.evidence"] == "JSON"
    assert types["quotes.confidence"] == "DOUBLE"
    pk = rows(
        con,
        "select constraint_column_names from duckdb_constraints() "
        "where table_name = 'article_topics' and constraint_type = 'PRIMARY KEY'",
    )
    assert pk == [(["article_id", "topic"],)]
    # Relations are documented, not declared.
    assert rows(con, "select count(*) from duckdb_constraints() where constraint_type = 'FOREIGN KEY'") == [
        (0,)
    ]


def test_upgrade_refuses_a_newer_database(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("update schema_info set value = '99' where key = 'schema_version'")
    with pytest.raises(RuntimeError, match="newer"):
        store.upgrade(con, SQL_DIR)
    assert rows(con, "select value from schema_info") == [("99",)]


# ---------------------------------------------------------------------------------------------------
# Article loads


def test_load_articles_counts_and_values(con: duckdb.DuckDBPyConnection) -> None:
    counts = store.load_articles(con, make_batch(), run_id="run-1")
    assert counts == store.LoadCounts(**EXPECTED_INSERTED, skipped_articles=0)
    assert {k: v for k, v in store.table_counts(con).items() if k in EXPECTED_INSERTED} == EXPECTED_INSERTED

    a2 = make_a2().article
    got = rows(
        con,
        "select word_count, authors, published, run_id, canonical_url, url "
        "from articles where article_id = ?",
        [a2.article_id],
    )
    assert got == [
        (
            len(A2_TEXT.split()),
            ["A. Writer", "B. Editor"],
            datetime(2026, 10, 7, 3, 30, tzinfo=UTC),
            "run-1",
            A2_URL,
            A2_URL + "?utm_source=feed",
        )
    ]

    kremlin = store.entity_id_of("Kremlin", "ORG")
    assert kremlin == stable_id("entity", "Kremlin", "ORG")
    assert rows(con, "select canonical, label, first_seen from entities where entity_id = ?", [kremlin]) == [
        ("Kremlin", "ORG", datetime(2026, 10, 5, 9, 0, tzinfo=UTC))
    ]

    # Two surface forms of Putin in A1 are two mentions of one entity.
    putin = store.entity_id_of("Vladimir Putin", "PERSON")
    a1 = make_a1().article
    assert rows(
        con,
        "select text, start_char from mentions where article_id = ? and entity_id = ? order by start_char",
        [a1.article_id, putin],
    ) == [("Vladimir Putin", 0), ("Putin", make_a1().tagging.entities[2].start)]
    m = make_a1().tagging.entities[0]
    assert rows(
        con,
        "select count(*) from mentions where mention_id = ?",
        [stable_id("mention", a1.article_id, m.start, m.end, m.label)],
    ) == [(1,)]

    speakers = dict(
        rows(
            con, "select speaker_canonical, speaker_entity_id from quotes where speaker_canonical is not null"
        )
    )
    assert speakers == {
        "Vladimir Putin": putin,
        "Joe Smith": store.entity_id_of("Joe Smith", "PERSON"),
        "Maria Zakharova": None,  # quoted but never tagged as an entity of that article
    }

    evidence = rows(
        con,
        "select evidence from article_topics where article_id = ? and topic = 'russian_interference'",
        [a1.article_id],
    )[0][0]
    assert json.loads(evidence) == [
        {"kind": "term", "value": "interfere", "where": "body", "count": 1, "weight": 0.92}
    ]


def test_loading_the_same_batch_twice_changes_nothing(con: duckdb.DuckDBPyConnection) -> None:
    store.load_articles(con, make_batch(), run_id="run-1")
    first = store.table_counts(con)
    snapshot = rows(con, "select * from articles order by article_id")

    again = store.load_articles(con, make_batch(), run_id="run-2")

    stored = frozenset(t.article.canonical_url for t in make_batch())
    assert again == store.LoadCounts(skipped_articles=3, already_stored=stored)
    assert store.table_counts(con) == first
    assert rows(con, "select * from articles order by article_id") == snapshot  # run_id still run-1


def test_duplicate_article_inside_a_batch_loads_once(con: duckdb.DuckDBPyConnection) -> None:
    a1 = make_a1()
    other_tagging = dataclasses.replace(
        a1,
        article=dataclasses.replace(a1.article, title="A second copy"),
        tagging=Tagging(entities=(mention(A1_TEXT, "Monday", "DATE"),), quotes=(), topics=()),
    )
    counts = store.load_articles(con, [a1, other_tagging], run_id="r")

    assert counts.articles == 1
    assert counts.skipped_articles == 1
    assert rows(con, "select title from articles") == [(a1.article.title,)]
    # The first occurrence wins, with its own tagging only.
    assert rows(con, "select count(*) from mentions where label = 'DATE'") == [(0,)]
    assert store.table_counts(con)["mentions"] == 4


def test_an_article_already_stored_keeps_its_first_tagging(con: duckdb.DuckDBPyConnection) -> None:
    store.load_articles(con, [make_a1()], run_id="r1")
    before = store.table_counts(con)
    retagged = dataclasses.replace(
        make_a1(), tagging=Tagging(entities=(mention(A1_TEXT, "Monday", "DATE"),), quotes=(), topics=())
    )
    counts = store.load_articles(con, [retagged, make_a3()], run_id="r2")
    assert counts.articles == 1 and counts.skipped_articles == 1
    assert rows(con, "select count(*) from entities where label = 'DATE'") == [(0,)]
    assert store.table_counts(con)["articles"] == before["articles"] + 1


def test_a_failing_batch_leaves_no_partial_rows(
    con: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = store._stage_insert
    calls: list[str] = []

    def fail_at_mentions(c: duckdb.DuckDBPyConnection, table: Any, staged: Any, **kw: Any) -> None:
        calls.append(table.name)
        if table.name == "mentions":
            raise RuntimeError("disk on fire")
        real(c, table, staged, **kw)

    monkeypatch.setattr(store, "_stage_insert", fail_at_mentions)
    with pytest.raises(RuntimeError, match="disk on fire"):
        store.load_articles(con, make_batch(), run_id="r")
    assert calls[0] == "articles" and "entities" in calls  # rows were inserted before the failure
    assert all(n == 0 for name, n in store.table_counts(con).items() if name not in SEEDED)

    # The connection is usable afterwards, with no transaction left open.
    monkeypatch.setattr(store, "_stage_insert", real)
    assert store.load_articles(con, make_batch(), run_id="r").articles == 3


def test_a_database_error_mid_batch_rolls_back(con: duckdb.DuckDBPyConnection) -> None:
    bad = dataclasses.replace(
        make_a3(),
        tagging=dataclasses.replace(
            make_a3().tagging,
            # A NULL label violates entities.label NOT NULL, after the articles were inserted.
            entities=(dataclasses.replace(mention(A3_TEXT, "NATO", "ORG"), label=None),),  # type: ignore[arg-type]
        ),
    )
    with pytest.raises(duckdb.ConstraintException):
        store.load_articles(con, [make_a1(), bad], run_id="r")
    assert all(n == 0 for name, n in store.table_counts(con).items() if name not in SEEDED)


# ---------------------------------------------------------------------------------------------------
# Feeds, fetches, runs


FEED_A = "https://outlet-a.example/feed.xml"


def poll(polled_at: datetime, *, title: str | None, status: int | None, error: str | None, n: int):
    feed_state = FeedState(feed_id=stable_id("feed", FEED_A), url=FEED_A, outlet="Outlet A", name="A world")
    outcome = PollOutcome(polled_at=polled_at, status=status, error=error, new_items=n, etag='"e1"')
    return store.FeedPoll(
        state=after_poll(feed_state, outcome, Settings()),
        outcome=outcome,
        title=title,
        entries=n,
        bytes=1000,
        elapsed_ms=12,
        run_id="r1",
    )


def test_register_feeds_keeps_poll_state_and_updates_settings(con: duckdb.DuckDBPyConnection) -> None:
    t0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
    store.register_feeds(
        con, [FeedSource(FEED_A, "a"), FeedSource(FEED_A, "dup"), FeedSource("https://b.test/rss", "b")]
    )
    assert store.table_counts(con)["feeds"] == 2
    assert {s.url for s in store.feed_states(con, due_at=t0)} == {FEED_A, "https://b.test/rss"}
    store.record_feed_polls(con, [poll(t0, title="World", status=200, error=None, n=3)])
    # Re-registering (every run reads feeds.toml) changes the listed settings only.
    store.register_feeds(con, [FeedSource(FEED_A, "a-renamed", obey_robots=False, host_rate=0.5)])
    (a,) = [s for s in store.feed_states(con) if s.url == FEED_A]
    assert (a.outlet, a.obey_robots, a.host_rate, a.etag) == ("a-renamed", False, 0.5, '"e1"')
    assert a.next_poll_at is not None and a.next_poll_at > t0
    # Only feed B is due right after A's poll.
    assert [s.url for s in store.feed_states(con, due_at=t0 + timedelta(minutes=1))] == ["https://b.test/rss"]
    assert store.table_counts(con)["feeds"] == 2


def test_feed_polls_update_state_and_log_every_poll(con: duckdb.DuckDBPyConnection) -> None:
    t0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
    store.register_feeds(con, [FeedSource(FEED_A, "a")])
    # Two polls of the same feed in one batch: the later one sets the state, both are logged.
    store.record_feed_polls(
        con,
        [
            poll(t0 + timedelta(hours=1), title="World news", status=200, error=None, n=12),
            poll(t0, title="Old title", status=200, error=None, n=10),
        ],
    )
    assert store.table_counts(con)["feeds"] == 1
    assert store.table_counts(con)["feed_polls"] == 2

    def feed_a() -> list[tuple[Any, ...]]:
        return rows(
            con,
            "select feed_id, title, last_polled_at, last_status, last_error, last_entry_count, "
            "consecutive_failures from feeds",
        )

    feed_id = stable_id("feed", FEED_A)
    assert feed_a() == [(feed_id, "World news", t0 + timedelta(hours=1), 200, None, 12, 0)]

    # A failed re-poll updates the last_* values and the failure count but keeps the title.
    store.record_feed_polls(con, [poll(t0 + timedelta(hours=2), title="", status=503, error="boom", n=0)])
    assert feed_a() == [(feed_id, "World news", t0 + timedelta(hours=2), 503, "boom", 0, 1)]

    # A late, older poll does not overwrite the newer state (but is logged).
    store.record_feed_polls(
        con, [poll(t0 - timedelta(hours=1), title="Ancient", status=200, error=None, n=1)]
    )
    assert feed_a() == [(feed_id, "World news", t0 + timedelta(hours=2), 503, "boom", 0, 1)]
    # Recording the same polls again changes nothing.
    before = store.table_counts(con)
    store.record_feed_polls(con, [poll(t0 + timedelta(hours=2), title="", status=503, error="boom", n=0)])
    assert store.table_counts(con) == before
    assert before["feed_polls"] == 4


def test_feed_items_keep_first_sighting_and_latest_outcome(con: duckdb.DuckDBPyConnection) -> None:
    t0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)

    def item(at: datetime, outcome: str, reason: str | None = None) -> store.FeedItem:
        return store.FeedItem(
            1, "https://a.test/x", "https://a.test/x?utm_source=rss", "g", "X", None, at, outcome, reason, "r"
        )

    store.record_feed_items(con, [item(t0, "new")])
    store.record_feed_items(con, [item(t0 + timedelta(minutes=1), "loaded")])
    store.record_feed_items(con, [item(t0 + timedelta(hours=1), "seen")])  # listed again later
    assert rows(con, "select first_seen_at, last_seen_at, outcome from feed_items") == [
        (t0, t0 + timedelta(hours=1), "loaded")
    ]
    store.record_feed_items(con, [item(t0 + timedelta(hours=1), "seen")])
    assert store.table_counts(con)["feed_items"] == 1
    assert store.settled_item_urls(con, ["https://a.test/x", "https://a.test/y"]) == {"https://a.test/x"}
    store.record_feed_items(con, [item(t0 + timedelta(hours=2), "fetch_error", "timeout: ReadTimeout")])
    assert store.settled_item_urls(con, ["https://a.test/x"]) == set()  # a transient failure is retried


def fetch(url: str, at: datetime, *, outcome: str, status: int | None, error: str | None = None):
    return store.FetchRecord(
        url=url,
        canonical_url=url,
        final_url=url,
        feed_url="https://outlet-a.example/feed.xml",
        status=status,
        error=error,
        outcome=outcome,
        content_type="text/html",
        bytes=1234 if status == 200 else 0,
        raw_sha256="cd" * 32 if status == 200 else None,
        fetched_at=at,
        elapsed_ms=42,
        run_id="run-" + at.strftime("%H"),
    )


def test_fetches_upsert_latest_attempt_wins(con: duckdb.DuckDBPyConnection) -> None:
    t0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
    store.record_fetches(
        con,
        [
            fetch(A1_URL, t0, outcome="fetch_error", status=None, error="timeout"),
            fetch(A2_URL, t0, outcome="loaded", status=200),
        ],
    )
    store.record_fetches(con, [fetch(A1_URL, t0 + timedelta(hours=1), outcome="loaded", status=200)])
    # Same URL twice in one batch, and an older attempt arriving late: both lose to the newest.
    store.record_fetches(
        con,
        [
            fetch(A2_URL, t0 + timedelta(hours=2), outcome="duplicate", status=200),
            fetch(A2_URL, t0 + timedelta(hours=1), outcome="extract_error", status=200),
            fetch(A1_URL, t0, outcome="fetch_error", status=None, error="timeout"),
        ],
    )
    assert store.table_counts(con)["fetches"] == 2
    assert rows(con, "select url, outcome, status, error, bytes, run_id from fetches order by url") == [
        (A1_URL, "loaded", 200, None, 1234, "run-09"),
        (A2_URL, "duplicate", 200, None, 1234, "run-10"),
    ]


def test_runs_start_and_finish(con: duckdb.DuckDBPyConnection) -> None:
    started = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
    store.start_run(con, "run-1", "ingest", started_at=started)
    assert rows(con, "select flow, status, started_at, finished_at from runs") == [
        ("ingest", "running", started, None)
    ]
    store.finish_run(
        con,
        "run-1",
        "failed",
        {"articles": 3, "feeds": 2},
        [{"item": A1_URL, "stage": "fetch", "error": "timeout"}],
        finished_at=started + timedelta(minutes=5),
    )
    got = rows(con, "select flow, status, started_at, finished_at, counts, errors from runs")
    assert len(got) == 1
    flow, status, s, f, counts, errors = got[0]
    assert (flow, status, s, f) == ("ingest", "failed", started, started + timedelta(minutes=5))
    assert json.loads(counts) == {"articles": 3, "feeds": 2}
    assert json.loads(errors) == [{"item": A1_URL, "stage": "fetch", "error": "timeout"}]

    # finish_run without start_run still records the outcome.
    store.finish_run(con, "run-2", "ok", {}, [])
    assert rows(con, "select run_id, flow, status from runs order by run_id") == [
        ("run-1", "ingest", "failed"),
        ("run-2", None, "ok"),
    ]


# ---------------------------------------------------------------------------------------------------
# Lookups


def test_known_canonical_urls(con: duckdb.DuckDBPyConnection) -> None:
    assert store.known_canonical_urls(con, [A1_URL]) == set()
    store.load_articles(con, [make_a1(), make_a2()], run_id="r")
    tricky = "https://x.example/it's'); drop table articles; --"
    assert store.known_canonical_urls(con, [A1_URL, A3_URL, A1_URL, tricky]) == {A1_URL}
    assert store.known_canonical_urls(con, iter([A2_URL])) == {A2_URL}
    assert store.known_canonical_urls(con, []) == set()
    assert store.table_counts(con)["articles"] == 2


def test_table_counts_covers_every_table(con: duckdb.DuckDBPyConnection) -> None:
    store.load_articles(con, make_batch(), run_id="r")
    counts = store.table_counts(con)
    assert set(counts) == TABLES == {t.name for t in store.metadata.sorted_tables}
    assert counts["schema_info"] == 1
    assert counts["feeds"] == counts["fetches"] == counts["runs"] == 0


def test_views_date_articles_in_utc(con: duckdb.DuckDBPyConnection) -> None:
    store.load_articles(con, make_batch(), run_id="r")
    # Whatever the session's time zone, days are UTC days.
    con.execute("SET TimeZone = 'America/New_York'")
    got = rows(
        con,
        "select canonical_url, published_day, russian_interference_score, russian_interference_relevant "
        "from article_facts order by published_day",
    )
    assert got == [
        (A1_URL, date(2026, 10, 5), 0.92, True),
        (A2_URL, date(2026, 10, 7), 0.8, True),
        (A3_URL, date(2026, 10, 13), 0.1, False),
    ]
    weeks = rows(con, "select distinct published_week from mention_facts order by 1")
    assert weeks == [(date(2026, 10, 5),), (date(2026, 10, 12),)]
    assert rows(con, "select count(*) from quote_facts") == [(5,)]


# ---------------------------------------------------------------------------------------------------
# Near-duplicates and sightings

WIRE = (
    "BRUSSELS (Reuters) - European regulators opened an investigation on Tuesday into a social network over "
    "accounts that pushed coordinated messages ahead of three national elections, officials said. The "
    "commission said the accounts were created in batches and posted the same claims within minutes of "
    "each other. Investigators will examine whether the platform acted quickly enough once it was warned. "
    "The company said it had removed thousands of accounts and would cooperate with the inquiry."
)


def wire_copy(url: str, outlet: str, text: str, published: datetime) -> TaggedArticle:
    base = article(url, outlet, text, published, published)
    enriched = dataclasses.replace(
        base,
        minhash=tuple(int(v) for v in minhash_signature(text)),
        wire_agency=wire_agency(text),
    )
    return TaggedArticle(enriched, Tagging(entities=(), quotes=(), topics=(ri(0.9, True),)))


def test_syndicated_copies_share_a_cluster_across_batches(con: duckdb.DuckDBPyConnection) -> None:
    t0 = datetime(2026, 10, 6, 8, 0, tzinfo=UTC)
    first = wire_copy("https://a.example/wire", "a", WIRE, t0)
    trimmed = WIRE.rsplit(" The company", 1)[0] + " Shares fell."
    second = wire_copy("https://b.example/copy", "b", trimmed, t0 + timedelta(hours=1))
    other = wire_copy("https://c.example/other", "c", A1_TEXT, t0 + timedelta(hours=2))
    store.load_articles(con, [first], run_id="r1")
    store.load_articles(con, [second, other], run_id="r2")
    clusters = dict(rows(con, "select canonical_url, cluster_id from articles"))
    assert (
        clusters["https://b.example/copy"] == clusters["https://a.example/wire"] == first.article.article_id
    )
    assert clusters["https://c.example/other"] == other.article.article_id
    story = rows(
        con,
        "select origin_article_id, wire_agency, placements, outlets from story_clusters where cluster_id = ?",
        [first.article.article_id],
    )
    assert story == [(first.article.article_id, "Reuters", 2, 2)]
    assert rows(con, "select count(*) from story_clusters") == [(2,)]
    # Loading again changes nothing, bands included.
    before = store.table_counts(con)
    store.load_articles(con, [first, second, other], run_id="r3")
    assert store.table_counts(con) == before


def test_copies_within_one_batch_cluster_too(con: duckdb.DuckDBPyConnection) -> None:
    t0 = datetime(2026, 10, 6, 8, 0, tzinfo=UTC)
    a = wire_copy("https://a.example/w", "a", WIRE, t0)
    b = wire_copy("https://b.example/w", "b", WIRE.replace("Tuesday", "Wednesday"), t0)
    store.load_articles(con, [a, b], run_id="r")
    assert rows(con, "select count(distinct cluster_id) from articles") == [(1,)]


def test_sightings_keep_first_and_last_time(con: duckdb.DuckDBPyConnection) -> None:
    t0 = datetime(2026, 10, 6, 8, 0, tzinfo=UTC)
    seen = [
        Sighting(1, "https://feed.a/rss", "https://a/x?utm_source=rss", t0 + timedelta(hours=2)),
        Sighting(1, "https://feed.a/rss", "https://a/x?utm_source=rss", t0),
        Sighting(1, "backfill:cc-news.warc.gz", "https://a/x", t0 + timedelta(days=1)),
    ]
    store.record_sightings(con, seen)
    store.record_sightings(con, seen[:1])
    assert rows(con, "select source, first_seen_at, last_seen_at from article_sightings order by source") == [
        ("backfill:cc-news.warc.gz", t0 + timedelta(days=1), t0 + timedelta(days=1)),
        ("https://feed.a/rss", t0, t0 + timedelta(hours=2)),
    ]
