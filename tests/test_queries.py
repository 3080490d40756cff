"""The trend queries in sql/trends: headers, bound parameters, and real results on hand-made data."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import duckdb
import pytest

from etl import queries, store
from etl.dedup import article_id, content_hash
from etl.records import (
    Article,
    EntityMention,
    Quote,
    QuoteKind,
    TaggedArticle,
    Tagging,
    TopicScore,
)

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"

# Three articles: A1 (Outlet A, Mon 2026-10-05) and A2 (Outlet B, 2026-10-07 UTC) are relevant to
# russian_interference; A3 (Outlet A, no published date, fetched 2026-10-13) is not.
A1 = 'Vladimir Putin met Kremlin aides. "We did not interfere," Putin said. NATO officials disagreed.'
A2 = (
    'Joe Smith said the Kremlin ran the campaign. "They targeted voters," Smith said. '
    'Vladimir Putin denied it, saying "Nothing happened." '
    "Maria Zakharova added that the claims were absurd."
)
A3 = 'NATO and the Kremlin discussed grain exports. "Shipments resume Friday," the statement said.'


def _mention(text: str, surface: str, label: str, canonical: str = "", nth: int = 0) -> EntityMention:
    start = -1
    for _ in range(nth + 1):
        start = text.index(surface, start + 1)
    return EntityMention(surface, label, start, start + len(surface), canonical or surface, 0, len(text))


def _quote(
    text: str, words: str, canonical: str | None, kind: QuoteKind = "direct", confidence: float = 0.5
) -> Quote:
    start = text.index(words)
    return Quote(
        words, start, start + len(words), canonical, None, None, canonical, "said", kind, None, confidence
    )


def _tagged(
    url: str,
    outlet: str,
    text: str,
    published: datetime | None,
    fetched_at: datetime,
    entities: tuple[EntityMention, ...],
    quotes_: tuple[Quote, ...],
    topics: tuple[TopicScore, ...],
) -> TaggedArticle:
    art = Article(
        article_id=article_id(url),
        url=url,
        canonical_url=url,
        outlet=outlet,
        feed_url=None,
        title=text[:30],
        text=text,
        authors=(),
        published=published,
        published_source=None,
        site_name=outlet,
        language="en",
        content_hash=content_hash(text),
        fetched_at=fetched_at,
    )
    return TaggedArticle(art, Tagging(entities, quotes_, topics))


def make_batch() -> list[TaggedArticle]:
    ri = "russian_interference"
    return [
        _tagged(
            "https://a.example/1",
            "Outlet A",
            A1,
            datetime(2026, 10, 5, 9, 0, tzinfo=UTC),
            datetime(2026, 10, 5, 12, 0, tzinfo=UTC),
            (
                _mention(A1, "Vladimir Putin", "PERSON"),
                _mention(A1, "Kremlin", "ORG"),
                _mention(A1, "Putin", "PERSON", "Vladimir Putin", nth=1),
                _mention(A1, "NATO", "ORG"),
            ),
            (_quote(A1, "We did not interfere,", "Vladimir Putin", confidence=0.9),),
            (
                TopicScore(ri, 0.92, True),
                TopicScore("elections", 0.2, False),
                TopicScore(f"{ri}.denials", 0.8, True, parent=ri),
                TopicScore(f"{ri}.hacking", 0.1, False, parent=ri),
            ),
        ),
        _tagged(
            "https://b.example/2",
            "Outlet B",
            A2,
            datetime(2026, 10, 6, 22, 30, tzinfo=timezone(timedelta(hours=-5))),  # 03:30 UTC on the 7th
            datetime(2026, 10, 7, 6, 0, tzinfo=UTC),
            (
                _mention(A2, "Joe Smith", "PERSON"),
                _mention(A2, "Kremlin", "ORG"),
                _mention(A2, "Smith", "PERSON", "Joe Smith", nth=1),
                _mention(A2, "Vladimir Putin", "PERSON"),
            ),
            (
                _quote(A2, "They targeted voters,", "Joe Smith", confidence=0.8),
                _quote(A2, "Nothing happened.", "Vladimir Putin", confidence=0.6),
                _quote(A2, "the claims were absurd", "Maria Zakharova", kind="indirect"),
            ),
            (
                TopicScore(ri, 0.8, True),
                TopicScore(f"{ri}.denials", 0.9, True, parent=ri),
                TopicScore(f"{ri}.disinformation", 0.7, True, parent=ri),
            ),
        ),
        _tagged(
            "https://a.example/3",
            "Outlet A",
            A3,
            None,
            datetime(2026, 10, 13, 8, 0, tzinfo=UTC),
            (_mention(A3, "NATO", "ORG"), _mention(A3, "Kremlin", "ORG")),
            (_quote(A3, "Shipments resume Friday,", None),),
            # A relevant sub-topic row under an irrelevant parent (hand-made; the tagger never does it).
            (TopicScore(ri, 0.1, False), TopicScore(f"{ri}.hacking", 0.8, True, parent=ri)),
        ),
    ]


QUERY_NAMES = [
    "daily_topic_coverage",
    "entity_comentions",
    "top_entities",
    "top_entities_weekly",
    "top_speakers",
    "quote_search",
    "speaker_quotes_weekly",
    "subtopic_mix",
]
WEEK = date(2026, 10, 5)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "newswatch.duckdb"
    con = store.connect(path)
    store.upgrade(con, SQL_DIR)
    store.load_articles(con, make_batch(), run_id="test")
    con.close()
    return path


@pytest.fixture
def con(db_path: Path):
    connection = store.connect(db_path)
    yield connection
    connection.close()


def run(con: duckdb.DuckDBPyConnection, name: str, **params: str) -> list[dict[str, Any]]:
    columns, rows = queries.run_query(con, SQL_DIR, name, params)
    return [dict(zip(columns, row, strict=True)) for row in rows]


# ---------------------------------------------------------------------------------------------------
# Headers


def test_list_queries_reads_the_headers() -> None:
    infos = {q.name: q for q in queries.list_queries(SQL_DIR)}
    assert set(QUERY_NAMES) <= set(infos)
    for info in infos.values():
        assert info.description, info.name
        assert info.path.name == info.name + ".sql"

    weekly = infos["top_entities_weekly"]
    assert weekly.param_names == ("since", "until", "topic", "limit", "label", "fold_demonyms")
    by_name = {p.name: p for p in weekly.params}
    assert (by_name["since"].type, by_name["since"].default) == ("date", None)
    assert (by_name["topic"].type, by_name["topic"].default) == ("text", "russian_interference")
    assert (by_name["limit"].type, by_name["limit"].default) == ("int", "20")
    assert by_name["label"].note == "optional"
    assert infos["top_entities"].param_names == weekly.param_names
    assert infos["top_speakers"].param_names == ("since", "until", "kind", "outlet", "limit")
    assert infos["daily_topic_coverage"].param_names == ("since", "until", "topic")
    assert infos["entity_comentions"].param_names == ("since", "until", "topic", "limit", "label")


def test_header_parsing_rejects_bad_declarations(tmp_path: Path) -> None:
    (tmp_path / "trends").mkdir()
    bad = tmp_path / "trends" / "bad.sql"
    bad.write_text("-- name: bad\n-- params: since (datetime)\nselect 1;\n")
    with pytest.raises(ValueError, match="unknown type"):
        queries.list_queries(tmp_path)
    bad.write_text("-- name: other\nselect 1;\n")
    with pytest.raises(ValueError, match="does not match"):
        queries.list_queries(tmp_path)
    bad.write_text("-- name: bad\n-- params: Since-X (date)\nselect 1;\n")
    with pytest.raises(ValueError, match="bad parameter"):
        queries.list_queries(tmp_path)


# ---------------------------------------------------------------------------------------------------
# Results on the hand-made data


def test_daily_topic_coverage(con: duckdb.DuckDBPyConnection) -> None:
    assert run(con, "daily_topic_coverage") == [
        {
            "outlet": "Outlet A",
            "published_day": date(2026, 10, 5),
            "articles": 1,
            "relevant_articles": 1,
            "share_relevant": 1.0,
        },
        {
            "outlet": "Outlet B",
            "published_day": date(2026, 10, 7),
            "articles": 1,
            "relevant_articles": 1,
            "share_relevant": 1.0,
        },
        {
            "outlet": "Outlet A",
            "published_day": date(2026, 10, 13),
            "articles": 1,
            "relevant_articles": 0,
            "share_relevant": 0.0,
        },
    ]
    window = run(con, "daily_topic_coverage", since="2026-10-06", until="2026-10-07")
    assert [(r["outlet"], r["published_day"]) for r in window] == [("Outlet B", date(2026, 10, 7))]
    other_topic = run(con, "daily_topic_coverage", topic="elections")
    assert [r["relevant_articles"] for r in other_topic] == [0, 0, 0]


def test_top_entities_weekly(con: duckdb.DuckDBPyConnection) -> None:
    got = [
        (r["week"], r["rank"], r["canonical"], r["label"], r["articles"], r["mentions"])
        for r in run(con, "top_entities_weekly")
    ]
    # A3 (week of 2026-10-12) is not relevant, so only one week shows.
    assert got == [
        (WEEK, 1, "Vladimir Putin", "PERSON", 2, 3),
        (WEEK, 2, "Kremlin", "ORG", 2, 2),
        (WEEK, 3, "Joe Smith", "PERSON", 1, 2),
        (WEEK, 4, "NATO", "ORG", 1, 1),
    ]
    people = run(con, "top_entities_weekly", label="person")
    assert [r["canonical"] for r in people] == ["Vladimir Putin", "Joe Smith"]
    assert [r["canonical"] for r in run(con, "top_entities_weekly", limit="1")] == ["Vladimir Putin"]
    assert run(con, "top_entities_weekly", topic="elections") == []
    # Only A2 is in the window: Joe Smith leads on mentions, the 1/1 tie is ordered by name.
    narrowed = run(con, "top_entities_weekly", since="2026-10-06")
    assert [(r["canonical"], r["articles"], r["mentions"]) for r in narrowed] == [
        ("Joe Smith", 1, 2),
        ("Kremlin", 1, 1),
        ("Vladimir Putin", 1, 1),
    ]


def test_top_entities(con: duckdb.DuckDBPyConnection) -> None:
    got = [
        (r["rank"], r["canonical"], r["articles"], r["mentions"], r["outlets"])
        for r in run(con, "top_entities")
    ]
    assert got == [
        (1, "Vladimir Putin", 2, 3, 2),
        (2, "Kremlin", 2, 2, 2),
        (3, "Joe Smith", 1, 2, 1),
        (4, "NATO", 1, 1, 1),
    ]
    # A window that ends before A2 leaves A1 alone (A3 is later and not relevant anyway).
    early = run(con, "top_entities", until="2026-10-05", label="ORG")
    assert [(r["canonical"], r["articles"]) for r in early] == [("Kremlin", 1), ("NATO", 1)]


def test_top_speakers(con: duckdb.DuckDBPyConnection) -> None:
    got = run(con, "top_speakers")
    assert got[0] == {
        "rank": 1,
        "speaker_canonical": "Vladimir Putin",
        "quotes": 2,
        "articles": 2,
        "outlets": 2,
        "first_day": date(2026, 10, 5),
        "last_day": date(2026, 10, 7),
        "example_quote": "We did not interfere,",  # the more confident of his two quotes
    }
    # Unattributed quotes are left out; ties on counts are ordered by name.
    assert [(r["rank"], r["speaker_canonical"], r["quotes"]) for r in got] == [
        (1, "Vladimir Putin", 2),
        (2, "Joe Smith", 1),
        (3, "Maria Zakharova", 1),
    ]
    assert [r["speaker_canonical"] for r in run(con, "top_speakers", kind="indirect")] == ["Maria Zakharova"]
    assert [r["speaker_canonical"] for r in run(con, "top_speakers", limit="2")] == [
        "Vladimir Putin",
        "Joe Smith",
    ]
    late = run(con, "top_speakers", since="2026-10-06")
    assert [(r["speaker_canonical"], r["quotes"]) for r in late] == [
        ("Joe Smith", 1),
        ("Maria Zakharova", 1),
        ("Vladimir Putin", 1),
    ]
    # One outlet: Outlet A quoted only Putin (A1); A3's quote has no speaker.
    assert [
        (r["speaker_canonical"], r["quotes"], r["outlets"])
        for r in run(con, "top_speakers", outlet="Outlet A")
    ] == [("Vladimir Putin", 1, 1)]


def test_quote_search(con: duckdb.DuckDBPyConnection) -> None:
    putin = run(con, "quote_search", speaker="putin")
    # Newest first; the speaker matches the canonical name as a substring, case-insensitively.
    assert [(r["published_day"], r["quote"]) for r in putin] == [
        (date(2026, 10, 7), "Nothing happened."),
        (date(2026, 10, 5), "We did not interfere,"),
    ]
    assert [r["quote"] for r in run(con, "quote_search", words="CLAIMS absurd")] == ["the claims were absurd"]
    assert run(con, "quote_search", words="claims nothing") == []  # every word must occur
    assert [r["quote"] for r in run(con, "quote_search", speaker="putin", until="2026-10-06")] == [
        "We did not interfere,"
    ]
    assert len(run(con, "quote_search")) == 5 and len(run(con, "quote_search", limit="2")) == 2
    assert [r["kind"] for r in run(con, "quote_search", kind="indirect")] == ["indirect"]


def test_speaker_quotes_weekly(con: duckdb.DuckDBPyConnection) -> None:
    got = run(con, "speaker_quotes_weekly", speaker="Vladimir")
    assert [(r["published_week"], r["outlet"], r["quotes"], r["example_quote"]) for r in got] == [
        (WEEK, "Outlet A", 1, "We did not interfere,"),
        (WEEK, "Outlet B", 1, "Nothing happened."),
    ]
    everyone = run(con, "speaker_quotes_weekly")
    assert {r["speaker_canonical"] for r in everyone} == {"Vladimir Putin", "Joe Smith", "Maria Zakharova"}


def test_entity_comentions(con: duckdb.DuckDBPyConnection) -> None:
    got = [
        (r["rank"], r["entity_a"], r["entity_b"], r["articles"], r["outlets"])
        for r in run(con, "entity_comentions")
    ]
    assert got == [
        (1, "Kremlin", "Vladimir Putin", 2, 2),
        (2, "Joe Smith", "Kremlin", 1, 1),
        (3, "Joe Smith", "Vladimir Putin", 1, 1),
        (4, "Kremlin", "NATO", 1, 1),
        (5, "NATO", "Vladimir Putin", 1, 1),
    ]
    people = run(con, "entity_comentions", label="PERSON")
    assert [(r["entity_a"], r["label_a"], r["entity_b"], r["label_b"]) for r in people] == [
        ("Joe Smith", "PERSON", "Vladimir Putin", "PERSON")
    ]
    top = run(con, "entity_comentions", limit="1")
    assert (top[0]["first_day"], top[0]["last_day"]) == (date(2026, 10, 5), date(2026, 10, 7))
    assert len(top) == 1


# ---------------------------------------------------------------------------------------------------
# Parameters


def test_subtopic_mix_per_week(con: duckdb.DuckDBPyConnection) -> None:
    # Week of 5 Oct: A1 and A2 are relevant; both deny, A2 also disinformation. Week of 12 Oct has no
    # article relevant to the parent, so A3's sub-topic row counts nowhere.
    rows = run(con, "subtopic_mix", period="week")
    assert [
        (r["period_start"], r["subtopic"], r["articles"], r["topic_articles"], r["share_of_topic"])
        for r in rows
    ] == [
        (WEEK, "russian_interference.denials", 2, 2, 1.0),
        (WEEK, "russian_interference.disinformation", 1, 2, 0.5),
    ]
    assert run(con, "subtopic_mix", period="week", since="2026-10-06") == [
        {
            "period_start": WEEK,
            "subtopic": s,
            "articles": 1,
            "topic_articles": 1,
            "share_of_topic": 1.0,
        }
        for s in ("russian_interference.denials", "russian_interference.disinformation")
    ]


def test_unknown_query_names_the_known_ones(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(KeyError) as excinfo:
        queries.run_query(con, SQL_DIR, "no_such_query", {})
    for name in QUERY_NAMES:
        assert name in str(excinfo.value)


@pytest.mark.parametrize(
    "params",
    [{"sinse": "2026-10-01"}, {"limit; drop table articles": "1"}, {"LIMIT": "1"}, {"kind": "direct"}],
)
def test_unknown_param_raises(con: duckdb.DuckDBPyConnection, params: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="no parameter"):
        queries.run_query(con, SQL_DIR, "top_entities_weekly", params)


@pytest.mark.parametrize("params", [{"since": "last tuesday"}, {"limit": "ten"}])
def test_bad_value_raises(con: duckdb.DuckDBPyConnection, params: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="wants a"):
        queries.run_query(con, SQL_DIR, "top_entities_weekly", params)


def test_values_are_bound_not_interpolated(con: duckdb.DuckDBPyConnection) -> None:
    evil = "x'); drop table articles; --"
    assert run(con, "top_entities_weekly", topic=evil) == []
    assert con.execute("select count(*) from articles").fetchone() == (3,)


def test_params_do_not_leak_between_calls(con: duckdb.DuckDBPyConnection) -> None:
    assert len(run(con, "top_entities_weekly", label="PERSON", limit="1")) == 1
    assert len(run(con, "top_entities_weekly")) == 4
    # A variable set by hand on the connection is overridden (reset) too, and none is left behind.
    con.execute("SET VARIABLE label = 'ORG'")
    assert len(run(con, "top_entities_weekly")) == 4
    assert con.execute("select getvariable('label'), getvariable('limit')").fetchone() == (None, None)


# ---------------------------------------------------------------------------------------------------
# The duckdb CLI path: the files run as they are on a plain connection, with SET VARIABLE.


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_query_files_run_on_a_plain_connection(db_path: Path, name: str) -> None:
    plain = duckdb.connect(str(db_path))
    try:
        sql = (SQL_DIR / "trends" / (name + ".sql")).read_text()
        plain_rows = plain.execute(sql).fetchall()
    finally:
        plain.close()
    con = store.connect(db_path)
    try:
        assert plain_rows == queries.run_query(con, SQL_DIR, name, {})[1]
        assert plain_rows  # every query has something to say about the hand-made data
    finally:
        con.close()


def test_set_variable_as_in_the_cli(db_path: Path) -> None:
    plain = duckdb.connect(str(db_path))
    try:
        # Strings, as a CLI user types them; "limit" needs quotes because it is a keyword.
        plain.execute("SET VARIABLE since = '2026-10-06'")
        plain.execute('SET VARIABLE "limit" = 2')
        plain.execute("SET VARIABLE kind = 'direct'")
        got = plain.execute((SQL_DIR / "trends" / "top_speakers.sql").read_text()).fetchall()
    finally:
        plain.close()
    assert [(r[1], r[2]) for r in got] == [("Joe Smith", 1), ("Vladimir Putin", 1)]


def test_readme_explains_both_ways() -> None:
    readme = (SQL_DIR / "README.md").read_text()
    assert "SET VARIABLE" in readme
    assert "newswatch query" in readme
    for name in QUERY_NAMES:
        assert name in readme
