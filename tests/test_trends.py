"""The trend queries of sql/trends on a small seeded database whose answers were worked out by hand.

Nine articles from three outlets over two weeks (Mon 2026-10-05 and Mon 2026-10-12, all in October):

| n | outlet | published (UTC) | date from    | flags                   | words | rel. | sub-topics relevant |
|---|--------|-----------------|--------------|-------------------------|-------|------|---------------------|
| 1 | A      | 10-05 10:00     | json-ld 0.9  |                         | 6     | yes  | hacking             |
| 2 | A      | 10-06 10:00     | json-ld 0.9  |                         | 9     | yes  | disinformation      |
| 3 | A      | 10-07 10:00     | url 0.5      | short_text              | 3     | no   | (hacking)           |
| 4 | B      | 10-05 12:00     | feed 1.0     |                         | 6     | yes  | hacking             |
| 5 | B      | 10-13 09:00     | feed 1.0     |                         | 7     | yes  | disinfo., hacking   |
| 6 | B      | fetched 10-14   | none         | no_date                 | 5     | no   |                     |
| 7 | C      | 10-05 08:00     | htmldate 0.4 |                         | 6     | yes  | hacking             |
| 8 | C      | 10-15 08:00     | json-ld 0.9  | short_text, boilerplate | 4     | yes  | investigations      |
| 9 | A      | 10-15 11:00     | json-ld 0.6  |                         | 5     | yes  | denials             |

Article 1 also has a non-relevant disinformation score, article 9 a non-relevant diplomacy one, and
article 3 a relevant hacking score in an article not relevant to the parent topic (so it never counts).
Articles 1, 4 and 7 are copies of one story (one cluster). Every expected value below was counted from
this table and the ENTITIES and QUOTES below, not computed by the SQL under test.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from etl import queries, store
from etl.dedup import article_id, content_hash
from etl.records import Article, EntityMention, Quote, TaggedArticle, Tagging, TopicScore

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
RI = "russian_interference"
W1, W2, OCT = date(2026, 10, 5), date(2026, 10, 12), date(2026, 10, 1)

TEXTS = {
    1: "Russian hackers breached the campaign servers.",
    2: "A troll farm spread fake posts about the vote.",
    3: "Grain exports resume.",
    4: "Russian hackers breached the campaign servers.",
    5: "Hackers and trolls targeted the election again.",
    6: "City council approves the budget.",
    7: "Russian hackers breached the campaign servers.",
    8: "Prosecutors opened an investigation.",
    9: "The Kremlin denied any interference.",
}
# n -> (outlet, published, date source, confidence, flags, fetched)
ARTICLES: dict[int, tuple[str, datetime | None, str | None, float | None, tuple[str, ...]]] = {
    1: ("A", datetime(2026, 10, 5, 10, tzinfo=UTC), "json-ld", 0.9, ()),
    2: ("A", datetime(2026, 10, 6, 10, tzinfo=UTC), "json-ld", 0.9, ()),
    3: ("A", datetime(2026, 10, 7, 10, tzinfo=UTC), "url", 0.5, ("short_text",)),
    4: ("B", datetime(2026, 10, 5, 12, tzinfo=UTC), "feed", 1.0, ()),
    5: ("B", datetime(2026, 10, 13, 9, tzinfo=UTC), "feed", 1.0, ()),
    6: ("B", None, None, None, ("no_date",)),
    7: ("C", datetime(2026, 10, 5, 8, tzinfo=UTC), "htmldate", 0.4, ()),
    8: ("C", datetime(2026, 10, 15, 8, tzinfo=UTC), "json-ld", 0.9, ("short_text", "boilerplate")),
    9: ("A", datetime(2026, 10, 15, 11, tzinfo=UTC), "json-ld", 0.6, ()),
}
RELEVANT = {1, 2, 4, 5, 7, 8, 9}
# n -> {sub-topic: relevant}
SUBTOPICS = {
    1: {"hacking": True, "disinformation": False},
    2: {"disinformation": True},
    3: {"hacking": True},
    4: {"hacking": True},
    5: {"disinformation": True, "hacking": True},
    7: {"hacking": True},
    8: {"investigations": True},
    9: {"diplomacy": False, "denials": True},
}
# n -> [(canonical, label, mentions)]
ENTITIES = {
    1: [("Russia", "GPE", 2), ("GRU", "ORG", 1)],
    2: [("Russia", "GPE", 1), ("Facebook", "ORG", 1)],
    3: [("Russia", "GPE", 1)],
    4: [("Russia", "GPE", 1), ("GRU", "ORG", 1)],
    5: [("Russia", "GPE", 1), ("Facebook", "ORG", 2)],
    7: [("GRU", "ORG", 1), ("Russia", "GPE", 1)],
    8: [("Robert Mueller", "PERSON", 1), ("Russia", "GPE", 1)],
    9: [("Kremlin", "ORG", 1), ("Russia", "GPE", 1), ("Dmitry Peskov", "PERSON", 1)],
}
# n -> [(speaker canonical or None, kind)]
QUOTES = {
    1: [("Vladimir Putin", "direct")],
    2: [("Vladimir Putin", "direct"), ("Joe Smith", "indirect")],
    3: [("Maria Zakharova", "direct")],
    4: [("Vladimir Putin", "direct"), ("Vladimir Putin", "direct")],
    5: [("Joe Smith", "direct")],
    8: [("Robert Mueller", "direct"), (None, "direct")],
    9: [("Dmitry Peskov", "direct"), ("Dmitry Peskov", "direct"), ("Vladimir Putin", "direct")],
}


def url(n: int) -> str:
    return f"https://{ARTICLES[n][0].lower()}.example/{n}"


def aid(n: int) -> int:
    return article_id(url(n))


def tagged(n: int) -> TaggedArticle:
    outlet, published, source, confidence, flags = ARTICLES[n]
    text = TEXTS[n]
    fetched = published or datetime(2026, 10, 14, 7, tzinfo=UTC)
    art = Article(
        article_id=aid(n),
        url=url(n),
        canonical_url=url(n),
        outlet=outlet,
        feed_url=None,
        title=text,
        text=text,
        authors=(),
        published=published,
        published_source=source,
        site_name=outlet,
        language="en",
        content_hash=content_hash(text + str(n)),
        fetched_at=fetched,
        published_confidence=confidence,
        flags=flags,
    )
    mentions = []
    offset = 0
    for canonical, label, count in ENTITIES.get(n, []):
        for _ in range(count):
            mentions.append(EntityMention(canonical, label, offset, offset + 1, canonical, 0, 1))
            offset += 2
    quotes = [
        Quote(f"quote {i}", 100 + 10 * i, 105 + 10 * i, speaker, None, None, speaker, "said", kind)  # type: ignore[arg-type]
        for i, (speaker, kind) in enumerate(QUOTES.get(n, []))
    ]
    topics = [TopicScore(RI, 0.9 if n in RELEVANT else 0.1, n in RELEVANT)]
    topics += [
        TopicScore(f"{RI}.{sub}", 0.8 if rel else 0.2, rel, parent=RI)
        for sub, rel in SUBTOPICS.get(n, {}).items()
    ]
    return TaggedArticle(art, Tagging(tuple(mentions), tuple(quotes), tuple(topics)))


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("trends") / "seeded.duckdb"
    con = store.connect(path)
    try:
        store.upgrade(con, SQL_DIR)
        store.load_articles(con, [tagged(n) for n in ARTICLES], run_id="seed")
        # One story, three copies: 4 and 7 join the cluster of 1.
        con.execute(
            "update articles set cluster_id = ? where article_id in (?, ?, ?)",
            [aid(1), aid(1), aid(4), aid(7)],
        )
    finally:
        con.close()
    return path


@pytest.fixture
def con(db_path: Path):
    connection = store.connect(db_path, read_only=True)
    yield connection
    connection.close()


def run(con: duckdb.DuckDBPyConnection, name: str, *columns: str, **params: str) -> list[tuple[Any, ...]]:
    """The named columns of each row of a query."""
    names, rows = queries.run_query(con, SQL_DIR, name, params)
    index = [names.index(c) for c in columns]
    return [tuple(row[i] for i in index) for row in rows]


def test_topic_coverage(con: duckdb.DuckDBPyConnection) -> None:
    cols = ("period_start", "outlet", "articles", "relevant_articles", "share_of_outlet", "share_of_coverage")
    assert run(con, "topic_coverage", *cols) == [
        (W1, "A", 3, 2, 0.667, 0.5),
        (W1, "B", 1, 1, 1.0, 0.25),
        (W1, "C", 1, 1, 1.0, 0.25),
        (W2, "A", 1, 1, 1.0, 0.333),
        (W2, "B", 2, 1, 0.5, 0.333),  # article 6 is undated: counted on its fetch day, 10-14
        (W2, "C", 1, 1, 1.0, 0.333),
    ]
    assert run(con, "topic_coverage", *cols, period="month") == [
        (OCT, "A", 4, 3, 0.75, 0.429),
        (OCT, "B", 3, 2, 0.667, 0.286),
        (OCT, "C", 2, 2, 1.0, 0.286),
    ]
    # One outlet shown; its share of coverage is still of every outlet's.
    assert run(con, "topic_coverage", *cols, outlet="B") == [
        (W1, "B", 1, 1, 1.0, 0.25),
        (W2, "B", 2, 1, 0.5, 0.333),
    ]
    assert run(con, "topic_coverage", *cols, since="2026-10-13", until="2026-10-13") == [
        (W2, "B", 1, 1, 1.0, 1.0)
    ]


def test_stories_vs_placements(con: duckdb.DuckDBPyConnection) -> None:
    cols = ("published_day", "stories", "placements", "syndicated_placements")
    assert run(con, "stories_vs_placements", *cols) == [
        (date(2026, 10, 5), 1, 3, 3),
        (date(2026, 10, 6), 1, 1, 0),
        (date(2026, 10, 13), 1, 1, 0),
        (date(2026, 10, 15), 2, 2, 0),
    ]


def test_top_entities_by_period(con: duckdb.DuckDBPyConnection) -> None:
    cols = ("period_start", "rank", "canonical", "articles", "mentions")
    assert run(con, "top_entities_by_period", *cols) == [
        (W1, 1, "Russia", 4, 5),
        (W1, 2, "GRU", 3, 3),
        (W1, 3, "Facebook", 1, 1),
        (W2, 1, "Russia", 3, 3),
        (W2, 2, "Facebook", 1, 2),
        (W2, 3, "Dmitry Peskov", 1, 1),
        (W2, 4, "Kremlin", 1, 1),
        (W2, 5, "Robert Mueller", 1, 1),
    ]
    assert run(con, "top_entities_by_period", *cols, period="month", limit="3") == [
        (OCT, 1, "Russia", 7, 8),
        (OCT, 2, "GRU", 3, 3),
        (OCT, 3, "Facebook", 2, 3),
    ]
    assert run(con, "top_entities_by_period", "period_start", "canonical", label="person") == [
        (W2, "Dmitry Peskov"),
        (W2, "Robert Mueller"),
    ]
    assert run(
        con, "top_entities_by_period", "period_start", "canonical", "articles", "mentions", outlet="A"
    ) == [
        (W1, "Russia", 2, 3),
        (W1, "Facebook", 1, 1),
        (W1, "GRU", 1, 1),
        (W2, "Dmitry Peskov", 1, 1),
        (W2, "Kremlin", 1, 1),
        (W2, "Russia", 1, 1),
    ]


def test_entity_comentions_over_time(con: duckdb.DuckDBPyConnection) -> None:
    cols = ("period_start", "rank", "entity_a", "entity_b", "articles")
    assert run(con, "entity_comentions_over_time", *cols) == [
        (OCT, 1, "GRU", "Russia", 3),
        (OCT, 2, "Facebook", "Russia", 2),
        (OCT, 3, "Dmitry Peskov", "Kremlin", 1),
        (OCT, 4, "Dmitry Peskov", "Russia", 1),
        (OCT, 5, "Kremlin", "Russia", 1),
        (OCT, 6, "Robert Mueller", "Russia", 1),
    ]
    assert run(con, "entity_comentions_over_time", *cols, period="week", limit="2") == [
        (W1, 1, "GRU", "Russia", 3),
        (W1, 2, "Facebook", "Russia", 1),
        (W2, 1, "Dmitry Peskov", "Kremlin", 1),
        (W2, 2, "Dmitry Peskov", "Russia", 1),
    ]
    assert run(con, "entity_comentions_over_time", "entity_a", "entity_b", entity="KREMLIN") == [
        ("Dmitry Peskov", "Kremlin"),
        ("Kremlin", "Russia"),
    ]


def test_top_speakers_by_period(con: duckdb.DuckDBPyConnection) -> None:
    cols = ("period_start", "outlet", "rank", "speaker_canonical", "quotes", "articles")
    assert run(con, "top_speakers_by_period", *cols) == [
        (OCT, "A", 1, "Vladimir Putin", 3, 3),
        (OCT, "A", 2, "Dmitry Peskov", 2, 1),
        (OCT, "A", 3, "Joe Smith", 1, 1),
        (OCT, "A", 4, "Maria Zakharova", 1, 1),
        (OCT, "B", 1, "Vladimir Putin", 2, 1),
        (OCT, "B", 2, "Joe Smith", 1, 1),
        (OCT, "C", 1, "Robert Mueller", 1, 1),
    ]
    assert run(con, "top_speakers_by_period", *cols, period="week", outlet="A") == [
        (W1, "A", 1, "Vladimir Putin", 2, 2),
        (W1, "A", 2, "Joe Smith", 1, 1),
        (W1, "A", 3, "Maria Zakharova", 1, 1),
        (W2, "A", 1, "Dmitry Peskov", 2, 1),
        (W2, "A", 2, "Vladimir Putin", 1, 1),
    ]
    assert run(con, "top_speakers_by_period", *cols, kind="indirect") == [(OCT, "A", 1, "Joe Smith", 1, 1)]
    assert run(con, "top_speakers_by_period", "outlet", "speaker_canonical", limit="1") == [
        ("A", "Vladimir Putin"),
        ("B", "Vladimir Putin"),
        ("C", "Robert Mueller"),
    ]


def test_subtopic_mix(con: duckdb.DuckDBPyConnection) -> None:
    cols = ("period_start", "subtopic", "articles", "topic_articles", "share_of_topic")
    # Article 3's hacking score does not count: it is not relevant to the parent topic.
    assert run(con, "subtopic_mix", *cols) == [
        (OCT, f"{RI}.hacking", 4, 7, 0.571),
        (OCT, f"{RI}.disinformation", 2, 7, 0.286),
        (OCT, f"{RI}.denials", 1, 7, 0.143),
        (OCT, f"{RI}.investigations", 1, 7, 0.143),
    ]
    assert run(con, "subtopic_mix", *cols, period="week") == [
        (W1, f"{RI}.hacking", 3, 4, 0.75),
        (W1, f"{RI}.disinformation", 1, 4, 0.25),
        (W2, f"{RI}.denials", 1, 3, 0.333),
        (W2, f"{RI}.disinformation", 1, 3, 0.333),
        (W2, f"{RI}.hacking", 1, 3, 0.333),
        (W2, f"{RI}.investigations", 1, 3, 0.333),
    ]
    assert run(con, "subtopic_mix", "subtopic", "articles", outlet="C") == [
        (f"{RI}.hacking", 1),
        (f"{RI}.investigations", 1),
    ]


def test_outlet_comparison(con: duckdb.DuckDBPyConnection) -> None:
    cols = (
        "outlet",
        "articles",
        "relevant_articles",
        "share_relevant",
        "relevant_stories",
        "syndicated_placements",
        "avg_words",
        "relevant_quotes",
        "relevant_speakers",
    )
    assert run(con, "outlet_comparison", *cols) == [
        ("A", 4, 3, 0.75, 3, 1, 5.8, 6, 3),  # words (6 + 9 + 3 + 5) / 4; article 3's quote is not relevant
        ("B", 3, 2, 0.667, 2, 1, 6.0, 3, 2),
        ("C", 2, 2, 1.0, 2, 1, 5.0, 2, 1),  # the unattributed quote counts, its speaker does not
    ]
    assert run(con, "outlet_comparison", "outlet", "articles", "relevant_articles", since="2026-10-12") == [
        ("A", 1, 1),
        ("B", 2, 1),
        ("C", 1, 1),
    ]


def test_outlet_silences(con: duckdb.DuckDBPyConnection) -> None:
    cols = ("outlet", "silent_from", "silent_until", "silent_days", "ongoing")
    d = lambda day: date(2026, 10, day)  # noqa: E731
    assert run(con, "outlet_silences", *cols) == [
        ("C", d(6), d(14), 9, False),
        ("A", d(8), d(14), 7, False),
        ("B", d(6), d(12), 7, False),
    ]
    # B published nothing on the 15th, the last day anyone did.
    assert ("B", d(15), d(15), 1, True) in run(con, "outlet_silences", *cols, min_days="1")
    assert run(con, "outlet_silences", *cols, until="2026-10-10") == [
        ("B", d(6), d(7), 2, True),
        ("C", d(6), d(7), 2, True),
    ]
    assert run(con, "outlet_silences", "outlet", "silent_days", outlet="A") == [("A", 7)]


def test_date_provenance(con: duckdb.DuckDBPyConnection) -> None:
    cols = ("outlet", "date_source", "articles", "share_of_outlet", "mean_confidence")
    assert run(con, "date_provenance", *cols) == [
        ("A", "json-ld", 3, 0.75, 0.8),
        ("A", "url", 1, 0.25, 0.5),
        ("B", "feed", 2, 0.667, 1.0),
        ("B", "none", 1, 0.333, None),
        ("C", "htmldate", 1, 0.5, 0.4),
        ("C", "json-ld", 1, 0.5, 0.9),
    ]


def test_extraction_quality(con: duckdb.DuckDBPyConnection) -> None:
    cols = ("outlet", "flag", "articles", "outlet_articles", "share_of_outlet")
    assert run(con, "extraction_quality", *cols) == [
        ("A", "short_text", 1, 4, 0.25),
        ("A", "none", 3, 4, 0.75),
        ("B", "no_date", 1, 3, 0.333),
        ("B", "none", 2, 3, 0.667),
        ("C", "boilerplate", 1, 2, 0.5),
        ("C", "short_text", 1, 2, 0.5),
        ("C", "none", 1, 2, 0.5),
    ]


def test_keyword_search(con: duckdb.DuckDBPyConnection) -> None:
    def ids(**params: str) -> list[int]:
        return [r[0] for r in run(con, "keyword_search", "article_id", **params)]

    # Newest first: 4 (12:00), 1 (10:00), 7 (08:00), all on the 5th.
    assert ids(words="Russian HACKERS") == [aid(4), aid(1), aid(7)]
    assert ids(words="hackers") == [aid(5), aid(4), aid(1), aid(7)]
    assert ids(words="the hackers") == ids(words="hackers")  # stop words are ignored
    assert ids(words="hack") == []  # whole words only
    assert ids(words="hackers trolls") == [aid(5)]
    assert ids(words="hackers", outlet="B") == [aid(5), aid(4)]
    assert ids(words="hackers", since="2026-10-10") == [aid(5)]
    assert ids(words="grain") == [aid(3)]
    assert ids(words="grain", topic=RI) == []
    assert ids(words="kremlin interference", topic=RI) == [aid(9)]
    assert ids(words="") == [] and ids() == [] and ids(words="the") == []
    assert len(ids(words="hackers", limit="2")) == 2


def test_every_trend_query_is_tested_here_or_in_test_queries() -> None:
    tested_here = {name.removeprefix("test_") for name in globals() if name.startswith("test_")}
    tested_there = {
        "daily_topic_coverage",
        "entity_comentions",
        "feed_health",
        "quote_search",
        "speaker_quotes_weekly",
        "top_entities",
        "top_entities_weekly",
        "top_speakers",
        # newswatch status reads these two; tests/test_operations.py checks them on real runs.
        "recent_runs",
        "run_outcomes",
    }
    names = {q.name for q in queries.list_queries(SQL_DIR)}
    assert names <= tested_here | tested_there, names - tested_here - tested_there


def test_every_query_declares_what_it_reads() -> None:
    import re

    for info in queries.list_queries(SQL_DIR):
        read = set(re.findall(r"getvariable\('([a-z_]+)'\)", info.path.read_text()))
        assert read == set(info.param_names), info.name
        assert len(info.description) > 20, info.name


def test_fold_demonyms_counts_a_demonym_toward_its_country(tmp_path: Path) -> None:
    art = tagged(1).article  # offsets below are into "Russian hackers and Russia again."
    mentions = (
        EntityMention("Russian", "NORP", 0, 7, "Russian", 0, 10, country="Russia"),
        EntityMention("Russia", "GPE", 20, 26, "Russia", 0, 10),
        EntityMention("hackers", "NORP", 8, 15, "hackers", 0, 10),
    )
    batch = [TaggedArticle(art, Tagging(mentions, (), (TopicScore(RI, 0.9, True),)))]
    path = tmp_path / "fold.duckdb"
    con = store.connect(path)
    try:
        store.upgrade(con, SQL_DIR)
        store.load_articles(con, batch, run_id="fold")
        cols = ("canonical", "label", "articles", "mentions")
        assert run(con, "top_entities", *cols) == [
            ("Russia", "GPE", 1, 1),
            ("Russian", "NORP", 1, 1),
            ("hackers", "NORP", 1, 1),
        ]
        assert run(con, "top_entities", *cols, fold_demonyms="true") == [
            ("Russia", "GPE", 1, 2),
            ("hackers", "NORP", 1, 1),
        ]
        assert run(
            con, "top_entities_weekly", "canonical", "mentions", fold_demonyms="true", label="GPE"
        ) == [("Russia", 2)]
    finally:
        con.close()
