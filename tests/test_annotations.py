"""Entities with QIDs and demonym links, entity_aliases, annotation versions, sub-topics, and re-tagging
stored articles (store functions, the retag loop, the retag flow and its command)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest
from test_store import A1_TEXT, make_a1, make_batch, mention, rows
from typer.testing import CliRunner

from etl import store
from etl.nlp.entities import AliasTable
from etl.nlp.topics import load_topics, score_topics
from etl.records import EntityMention, TaggedArticle
from etl.retag import UnknownTopic, retag, topic_definition
from etl.settings import PROJECT_ROOT

SQL_DIR = PROJECT_ROOT / "sql"


@pytest.fixture
def con(tmp_path: Path):
    connection = store.connect(tmp_path / "nw.duckdb")
    store.upgrade(connection, SQL_DIR)
    yield connection
    connection.close()


def versioned(batch: list[TaggedArticle], version: str) -> list[TaggedArticle]:
    return [
        dataclasses.replace(t, tagging=dataclasses.replace(t.tagging, annotation_version=version))
        for t in batch
    ]


# ---------------------------------------------------------------------------------------------------
# Alias table


def test_alias_table_is_large_with_qids_and_demonyms() -> None:
    table = AliasTable.load()
    with_qid = [e for e in table.entries if e.qid and e.country is None]
    assert len(table) >= 150 and len(with_qid) >= 150
    assert len({e.qid for e in with_qid}) == len(with_qid), "a QID names one entity"
    assert all(e.qid is None or (e.qid[0] == "Q" and e.qid[1:].isdigit()) for e in table.entries)
    russian = table.lookup("Russians")
    assert russian is not None and (russian.name, russian.label, russian.country) == (
        "Russian",
        "NORP",
        "Russia",
    )
    assert russian.country_qid == "Q159"
    assert table.lookup("U.S.").name == "United States"  # type: ignore[union-attr]
    assert table.lookup("the Kremlin").name == "Kremlin"  # type: ignore[union-attr]


def test_a_variant_belongs_to_one_entity() -> None:
    from etl.nlp.entities import fold

    table = AliasTable.load()
    owners: dict[str, str] = {}
    for entry in table.entries:
        for variant in {entry.name, *entry.aliases}:
            key = fold(variant)
            assert owners.setdefault(key, entry.name) == entry.name, (
                f"{variant!r}: {owners[key]} and {entry.name}"
            )


def test_alias_table_digest_follows_content(tmp_path: Path) -> None:
    path = tmp_path / "aliases.toml"
    path.write_text('[[entity]]\nname = "Acme"\ntype = "ORG"\nqid = "Q1"\naliases = ["ACME Corp"]\n')
    first = AliasTable.load(path).digest
    path.write_text(
        '[[entity]]\nname = "Acme"\ntype = "ORG"\nqid = "Q1"\naliases = ["ACME Corp", "Acme Inc"]\n'
    )
    assert AliasTable.load(path).digest != first


# ---------------------------------------------------------------------------------------------------
# Store: QIDs, demonyms, aliases, versions


def a1_with_demonym(version: str = "test-1+abc") -> TaggedArticle:
    a1 = make_a1()
    text = A1_TEXT
    extra = (
        dataclasses.replace(mention(text, "Vladimir Putin", "PERSON"), qid="Q7747"),
        EntityMention("Russian", "NORP", 0, 7, "Russian", 0, 10, country="Russia", country_qid="Q159"),
    )
    tagging = dataclasses.replace(
        a1.tagging, entities=extra + a1.tagging.entities[1:], annotation_version=version
    )
    return dataclasses.replace(a1, tagging=tagging)


def test_load_records_qids_demonym_links_aliases_and_version(con: duckdb.DuckDBPyConnection) -> None:
    store.load_articles(con, [a1_with_demonym()], run_id="r")
    putin = store.entity_id_of("Vladimir Putin", "PERSON")
    russia = store.entity_id_of("Russia", "GPE")
    assert rows(con, "select qid from entities where entity_id = ?", [putin]) == [("Q7747",)]
    # The demonym points at its country, and the country exists even though no mention named it.
    assert rows(con, "select country_entity_id from entities where canonical = 'Russian'") == [(russia,)]
    assert rows(con, "select canonical, qid, first_seen from entities where entity_id = ?", [russia]) == [
        ("Russia", "Q159", None)
    ]
    assert rows(con, "select counts_as from mention_facts where canonical = 'Russian'") == [("Russia",)]
    aliases = {a for (a,) in rows(con, "select alias from entity_aliases where entity_id = ?", [putin])}
    assert aliases == {"Vladimir Putin", "Putin"}
    for table in ("mentions", "quotes", "article_topics", "articles"):
        assert rows(con, f"select distinct annotation_version from {table}") == [("test-1+abc",)], table
    assert rows(con, "select annotation_version, pipeline, rules_digest from annotation_versions") == [
        ("test-1+abc", "test-1", "abc")
    ]
    # Loading the same batch again changes nothing.
    before = store.table_counts(con)
    store.load_articles(con, [a1_with_demonym()], run_id="r2")
    assert store.table_counts(con) == before


def test_entity_first_seen_moves_back_for_an_earlier_article(con: duckdb.DuckDBPyConnection) -> None:
    a2, a1, _ = make_batch()  # a1 was published before a2; load a2 first, alone
    store.load_articles(con, [a2], run_id="r1")
    kremlin = store.entity_id_of("Kremlin", "ORG")
    later = rows(con, "select first_seen from entities where entity_id = ?", [kremlin])[0][0]
    store.load_articles(con, [a1], run_id="r2")
    earlier = rows(con, "select first_seen from entities where entity_id = ?", [kremlin])[0][0]
    assert earlier < later and earlier == datetime(2026, 10, 5, 9, 0, tzinfo=UTC)


def test_register_alias_table_is_idempotent(con: duckdb.DuckDBPyConnection) -> None:
    table = AliasTable.load()
    store.register_alias_table(con, table.entries)
    counts = store.table_counts(con)
    store.register_alias_table(con, table.entries)
    assert store.table_counts(con) == counts
    assert counts["entities"] == len(table.entries)
    us = store.entity_id_of("United States", "GPE")
    assert ("U.S.", "table") in rows(
        con, "select alias, source from entity_aliases where entity_id = ?", [us]
    )
    assert rows(con, "select count(*) from entities where first_seen is not null") == [(0,)]
    american = rows(con, "select country_entity_id from entities where canonical = 'American'")
    assert american == [(us,)]


# ---------------------------------------------------------------------------------------------------
# Sub-topics


def test_subtopics_are_scored_and_need_their_parent() -> None:
    topics = load_topics()
    (parent,) = topics
    assert {s.name for s in parent.subtopics} == {
        "russian_interference." + n
        for n in ("hacking", "disinformation", "investigations", "diplomacy", "denials")
    }
    hacked = (
        "Russian military hackers broke into the campaign's email servers and leaked stolen emails, "
        "officials said."
    )
    mentions = [EntityMention("Russian", "NORP", 0, 7, "Russian", 0, len(hacked))]
    scores = {
        s.topic: s for s in score_topics(topics, "Russian hackers stole campaign emails", hacked, mentions)
    }
    assert scores["russian_interference"].relevant
    assert scores["russian_interference.hacking"].relevant
    assert scores["russian_interference.hacking"].parent == "russian_interference"
    assert not scores["russian_interference.diplomacy"].relevant
    unrelated = "Hackers stole credit card numbers from a retailer's servers, the company said."
    off = {s.topic: s for s in score_topics(topics, "Retailer hacked", unrelated, [])}
    assert not off["russian_interference"].relevant and not off["russian_interference.hacking"].relevant
    assert off["russian_interference.hacking"].score > 0  # scored, but not relevant without its parent


# ---------------------------------------------------------------------------------------------------
# Re-tagging


def test_retag_replaces_old_tags_once(con: duckdb.DuckDBPyConnection, tagger) -> None:  # type: ignore[no-untyped-def]
    store.load_articles(con, versioned(make_batch(), "old+000000000000"), run_id="r")
    assert rows(con, "select count(*) from articles where annotation_version = 'old+000000000000'") == [(3,)]
    seen: list[int] = []
    totals = retag(con, tagger, batch_size=2, on_batch=lambda t: seen.append(t.articles))
    assert (totals.articles, totals.batches) == (3, 2) and seen == [2, 3]
    current = tagger.annotation_version
    for table in ("articles", "mentions", "quotes", "article_topics"):
        assert rows(con, f"select distinct annotation_version from {table}") == [(current,)], table
    # The hand-made old mentions are gone, the pipeline's are in; Putin's surname is folded.
    assert rows(con, "select count(*) from mention_facts where canonical = 'Vladimir Putin'")[0][0] >= 3
    counts = store.table_counts(con)
    again = retag(con, tagger)
    assert again.articles == 0 and store.table_counts(con) == counts


def test_retag_since_and_topic_only(con: duckdb.DuckDBPyConnection, tagger) -> None:  # type: ignore[no-untyped-def]
    store.load_articles(con, versioned(make_batch(), "old+000000000000"), run_id="r")
    late = retag(con, tagger, since=datetime(2026, 10, 10, tzinfo=UTC))
    assert late.articles == 1  # only the article dated 2026-10-13
    assert store.articles_behind_latest_version(con) == 2  # what `newswatch query` warns about
    # --topic: one topic re-scored from stored text and mentions, no spaCy; other tags untouched.
    mentions_before = rows(con, "select mention_id, annotation_version from mentions order by mention_id")
    rescored = retag(con, tagger, topic="russian_interference")
    assert rescored.articles == 2 and rescored.topic_rows == 2 * 6  # the topic and its five sub-topics
    assert (
        rows(con, "select mention_id, annotation_version from mentions order by mention_id")
        == mentions_before
    )
    assert rows(
        con,
        "select count(*) from article_topics "
        "where topic like 'russian_interference%' and annotation_version = ?",
        [tagger.annotation_version],
    ) == [(18,)]
    assert rows(con, "select count(*) from article_topics where topic = 'elections'") == [
        (1,)
    ]  # not its topic
    assert retag(con, tagger, topic="russian_interference").articles == 0
    with pytest.raises(UnknownTopic, match="known: russian_interference"):
        topic_definition(tagger, "nope")


def test_retag_flow_and_command(tmp_path: Path, prefect_harness, tagger, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from flows.cli import app

    db = tmp_path / "nw.duckdb"
    con = store.connect(db)
    store.upgrade(con, SQL_DIR)
    store.load_articles(con, versioned(make_batch(), "old+000000000000"), run_id="r")
    con.close()
    runner = CliRunner()
    result = runner.invoke(app, ["retag", "--db", str(db), "--since", "2026-10-01"])
    assert result.exit_code == 0, result.output
    con = store.connect(db, read_only=True)
    try:
        assert rows(con, "select count(distinct annotation_version) from articles") == [(1,)]
        assert rows(con, "select flow, status from runs where flow = 'retag'") == [("retag", "completed")]
    finally:
        con.close()
    bad = runner.invoke(app, ["retag", "--db", str(db), "--topic", "nope"])
    assert bad.exit_code == 1 and "no topic 'nope'" in bad.output
