"""Schema migrations (etl/migrations): old databases upgrade without losing rows, the migrated schema is
the one etl/store.py declares, and keyword-search terms are the same whether backfilled or loaded."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from sqlalchemy.exc import DBAPIError
from test_store import SQL_DIR, make_batch, rows
from typer.testing import CliRunner

from etl import store
from etl.cli import app

# The columns and tables schema version 2 added to version 1.
V2_COLUMNS = (
    ("mentions", "annotation_version"),
    ("quotes", "annotation_version"),
    ("article_topics", "annotation_version"),
    ("article_topics", "parent_topic"),
    ("articles", "annotation_version"),
    ("entities", "qid"),
    ("entities", "country_entity_id"),
)
V2_TABLES = ("entity_aliases", "annotation_versions")
VIEWS = ("story_clusters", "mention_facts", "quote_facts", "article_facts")


def make_pre_alembic_database(path: Path, version: int) -> None:
    """A database as the code before migrations left it: the tables of schema `version` (1 or 2) with
    the hand-made batch loaded, `schema_info.schema_version` set, and no `alembic_version`."""
    con = store.connect(path)
    try:
        store.upgrade(con, SQL_DIR)
        store.load_articles(con, make_batch(), run_id="old")
        for view in VIEWS:
            con.execute(f"drop view {view}")
        for table in ("alembic_version", "article_terms", "search_stopwords", "article_entities"):
            con.execute(f"drop table {table}")
        # Before revision 0003 mentions and quotes had primary keys.
        con.execute("alter table mentions add primary key (mention_id)")
        con.execute("alter table quotes add primary key (quote_id)")
        if version == 1:
            for table, column in V2_COLUMNS:
                con.execute(f"alter table {table} drop column {column}")
            for table in V2_TABLES:
                con.execute(f"drop table {table}")
        con.execute("update schema_info set value = ? where key = 'schema_version'", [str(version)])
    finally:
        con.close()


def snapshot(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted, by table name."""
    tables = [t for (t,) in rows(con, "select table_name from duckdb_tables() order by table_name")]
    return {t: sorted(rows(con, f'select * from "{t}"'), key=repr) for t in tables}


@pytest.mark.parametrize("version", [1, 2])
def test_a_pre_alembic_database_upgrades_without_losing_rows(tmp_path: Path, version: int) -> None:
    path = tmp_path / "old.duckdb"
    make_pre_alembic_database(path, version)
    con = store.connect(path)
    try:
        assert store.current_revision(con) is None
        before = snapshot(con)
        assert before["mentions"] and before["quotes"] and before["articles"]

        applied = store.migrate(con)
        store.upgrade(con, SQL_DIR)

        assert applied == store.schema_revisions()
        assert store.current_revision(con) == store.schema_revisions()[-1]
        after = snapshot(con)
        for table, old_rows in before.items():
            if table == "schema_info":
                continue
            # Old columns keep their values; columns added by the migration come last, empty.
            width = len(old_rows[0]) if old_rows else 0
            assert sorted((r[:width] for r in after[table]), key=repr) == old_rows, table
        if version == 1:
            assert rows(con, "select count(*) from mentions where annotation_version is not null") == [(0,)]
            assert rows(con, "select count(*) from entity_aliases") == [(0,)]
        assert rows(con, "select value from schema_info where key = 'schema_version'") == [
            (str(store.SCHEMA_VERSION),)
        ]
        assert rows(con, "select count(*) from mention_facts") == [(len(before["mentions"]),)]
        # The derived rows of stored articles are backfilled exactly as a load would have written them.
        backfilled = rows(con, "select term, article_id from article_terms order by all")
        entities_backfilled = rows(con, "select * from article_entities order by all")
    finally:
        con.close()

    fresh = store.connect(tmp_path / "fresh.duckdb")
    try:
        store.upgrade(fresh, SQL_DIR)
        store.load_articles(fresh, make_batch(), run_id="new")
        assert rows(fresh, "select term, article_id from article_terms order by all") == backfilled
        assert rows(fresh, "select * from article_entities order by all") == entities_backfilled
        assert entities_backfilled
    finally:
        fresh.close()


def test_terms_follow_the_documented_rule(tmp_path: Path) -> None:
    con = store.connect(tmp_path / "t.duckdb")
    try:
        store.upgrade(con, SQL_DIR)
        batch = make_batch()
        store.load_articles(con, batch, run_id="r")
        a3 = batch[2].article
        got = rows(con, "select term from article_terms where article_id = ? order by term", [a3.article_id])
        # Title "NATO and the Kremlin discussed grain exports" and text 'NATO and the Kremlin discussed
        # grain exports. "Shipments resume Friday," the statement said.': lower-cased, split on anything
        # not a letter or digit, stop words (and, the, said) dropped, each term once.
        assert [t for (t,) in got] == [
            "discussed",
            "exports",
            "friday",
            "grain",
            "kremlin",
            "nato",
            "resume",
            "shipments",
            "statement",
        ]
        # Loading the same batch again adds no terms.
        count = rows(con, "select count(*) from article_terms")
        store.load_articles(con, batch, run_id="again")
        assert rows(con, "select count(*) from article_terms") == count
    finally:
        con.close()


def test_the_migrated_schema_is_the_declared_one(tmp_path: Path) -> None:
    con = store.connect(tmp_path / "m.duckdb")
    try:
        store.migrate(con)
        migrated = set(
            rows(
                con,
                "select table_name, column_name, data_type, is_nullable from information_schema.columns "
                "where table_schema = 'main' and table_name != 'alembic_version'",
            )
        )
        keys = {
            (t, tuple(c))
            for t, c in rows(
                con,
                "select table_name, constraint_column_names from duckdb_constraints() "
                "where constraint_type in ('PRIMARY KEY', 'UNIQUE') and table_name != 'alembic_version'",
            )
        }
    finally:
        con.close()
    declared = set()
    declared_keys = set()
    for table in store.metadata.sorted_tables:
        for col in table.columns:
            sql_type = col.type.compile(dialect=store._DIALECT)
            sql_type = {"DOUBLE PRECISION": "DOUBLE"}.get(sql_type, sql_type)
            declared.add((table.name, col.name, sql_type, "NO" if not col.nullable else "YES"))
        if table.primary_key.columns:
            declared_keys.add((table.name, tuple(c.name for c in table.primary_key.columns)))
        for col in table.columns:
            if col.unique:
                declared_keys.add((table.name, (col.name,)))
    assert migrated == declared
    assert keys == declared_keys


def test_a_newer_revision_is_refused(tmp_path: Path) -> None:
    con = store.connect(tmp_path / "n.duckdb")
    try:
        store.upgrade(con, SQL_DIR)
        con.execute("update alembic_version set version_num = '9999'")
        with pytest.raises(RuntimeError, match="newer"):
            store.upgrade(con, SQL_DIR)
    finally:
        con.close()


def test_a_failing_migration_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.duckdb"
    make_pre_alembic_database(path, 1)
    con = store.connect(path)
    try:
        before = snapshot(con)
        # The last revision fails after the first one has altered tables: nothing may stick.
        con.execute("create table article_terms (broken integer)")
        with pytest.raises(DBAPIError, match=r"article_terms|\bterm\b"):
            store.migrate(con)
        con.execute("drop table article_terms")
        assert store.current_revision(con) is None
        assert snapshot(con) == before
    finally:
        con.close()


def test_db_upgrade_command(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    make_pre_alembic_database(path, 1)
    result = CliRunner().invoke(app, ["db", "upgrade", "--db", str(path)])
    assert result.exit_code == 0, result.output
    assert "0001" in result.output and store.schema_revisions()[-1] in result.output
    con = store.connect(path, read_only=True)
    try:
        assert store.current_revision(con) == store.schema_revisions()[-1]
    finally:
        con.close()


ARTICLE_ENTITIES_FROM_MENTIONS = """
select
    mentions.article_id,
    mentions.entity_id,
    count(*),
    any_value(cast(timezone('UTC', coalesce(articles.published, articles.fetched_at)) as date))
from mentions
inner join articles using (article_id)
group by all
order by all
"""


def test_article_entities_follow_loads_and_retagging(tmp_path: Path) -> None:
    con = store.connect(tmp_path / "ae.duckdb")
    try:
        store.upgrade(con, SQL_DIR)
        batch = make_batch()
        store.load_articles(con, batch, run_id="r")
        expected = rows(con, ARTICLE_ENTITIES_FROM_MENTIONS)
        assert rows(con, "select * from article_entities order by all") == expected
        # Putin is mentioned twice in A1 (full name, then surname folded into it): one row, 2 mentions.
        a1 = batch[1].article.article_id
        putin = store.entity_id_of("Vladimir Putin", "PERSON")
        assert rows(
            con, "select mentions from article_entities where article_id = ? and entity_id = ?", [a1, putin]
        ) == [(2,)]
        # Re-tagging A1 with one mention only replaces its rows, in step with mentions.
        only_nato = dataclasses.replace(
            batch[1].tagging, entities=batch[1].tagging.entities[-1:], annotation_version="v2"
        )
        store.replace_tags(con, [store.ArticleTags(a1, batch[1].article.published, only_nato)])
        assert rows(con, "select * from article_entities order by all") == rows(
            con, ARTICLE_ENTITIES_FROM_MENTIONS
        )
        assert rows(con, "select count(*) from article_entities where article_id = ?", [a1]) == [(1,)]
    finally:
        con.close()


def test_optimize_sorts_the_terms_and_keeps_them(tmp_path: Path) -> None:
    path = tmp_path / "o.duckdb"
    con = store.connect(path)
    try:
        store.upgrade(con, SQL_DIR)
        store.load_articles(con, make_batch(), run_id="r")
        before = rows(con, "select term, article_id from article_terms order by all")
        store.optimize(con)
        after = rows(con, "select term, article_id from article_terms")
        assert after == before  # same rows, now stored in term order
        # Still the declared table: loads keep appending to it.
        assert store.current_revision(con) == store.schema_revisions()[-1]
        assert rows(
            con, "select is_nullable from information_schema.columns where table_name = 'article_terms'"
        ) == [
            ("NO",),
            ("NO",),
        ]
    finally:
        con.close()
    result = CliRunner().invoke(app, ["db", "optimize", "--db", str(path)])
    assert result.exit_code == 0, result.output


def test_bulk_insert_and_index_articles(tmp_path: Path) -> None:
    import pyarrow as pa

    con = store.connect(tmp_path / "bulk.duckdb")
    try:
        store.upgrade(con, SQL_DIR)
        fetched = pa.array([datetime(2026, 10, 5, 23, 30, tzinfo=UTC)] * 2, pa.timestamp("us", tz="UTC"))
        arts = pa.table(
            {
                "article_id": [1, 2],
                "canonical_url": ["https://x.example/1", "https://x.example/2"],
                "title": ["Kremlin hackers", "Grain"],
                "text": ["The hackers again.", None],
                "fetched_at": fetched,
            }
        )
        assert store.bulk_insert(con, "articles", arts) == 2
        assert store.bulk_insert(con, "articles", arts) == 0  # keyed: loading again adds nothing
        mentions = pa.table({"mention_id": [10, 11, 12], "article_id": [1, 1, 2], "entity_id": [7, 7, 8]})
        assert store.bulk_insert(con, "mentions", mentions) == 3
        store.index_articles(con, [1, 2])
        # "Kremlin hackers" + "The hackers again.": "the" is a stop word, "hackers" counts once.
        assert rows(con, "select term, article_id from article_terms order by all") == [
            ("again", 1),
            ("grain", 2),
            ("hackers", 1),
            ("kremlin", 1),
        ]
        # Undated articles take the UTC day of their fetch: 23:30 UTC on the 5th.
        assert rows(
            con, "select article_id, entity_id, mentions, published_day from article_entities order by all"
        ) == [
            (1, 7, 2, date(2026, 10, 5)),
            (2, 8, 1, date(2026, 10, 5)),
        ]
    finally:
        con.close()


def test_a_writing_command_migrates_first(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    make_pre_alembic_database(path, 1)
    result = CliRunner().invoke(app, ["feeds", "add", "https://x.example/rss.xml", "--db", str(path)])
    assert result.exit_code == 0, result.output
    con = store.connect(path, read_only=True)
    try:
        assert store.current_revision(con) == store.schema_revisions()[-1]
        assert rows(con, "select count(*) from feeds") == [(1,)]
        assert rows(con, "select count(*) from article_entities") != [(0,)]
    finally:
        con.close()
