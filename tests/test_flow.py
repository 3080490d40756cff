"""End to end: the real `ingest` flow under the Prefect test harness, against the demo outlets served by a
real HTTP server on 127.0.0.1, into a real DuckDB file. Run twice: the second run changes nothing."""

from pathlib import Path

import pytest

from etl import store
from etl.demo import serve_site
from etl.settings import Settings

CONTENT_TABLES = (
    "article_sightings",
    "article_fingerprints",
    "article_bands",
    "feeds",
    "feed_polls",
    "feed_items",
    "fetches",
    "articles",
    "entities",
    "mentions",
    "quotes",
    "article_topics",
)
DEMO = {"allow_networks": ["127.0.0.0/8"]}


@pytest.mark.model
def test_ingest_flow_end_to_end_and_idempotent(
    prefect_harness, model_name, demo_dir: Path, tmp_path: Path, monkeypatch
):
    from flows.ingest import ingest

    monkeypatch.setenv("NEWSWATCH_DATA_DIR", str(tmp_path / "data"))
    db = tmp_path / "news.duckdb"
    with serve_site(demo_dir / "site") as base_url:
        args = {"feeds_file": str(demo_dir / "feeds.toml"), "db_path": str(db), "base_url": base_url, **DEMO}
        first = ingest(**args)
        con = store.connect(db, read_only=True)
        counts_1 = store.table_counts(con)
        con.close()
        second = ingest(**args)  # right after: no feed is due yet
        con = store.connect(db, read_only=True)
        counts_2 = store.table_counts(con)
        con.close()
        third = ingest(**args, poll_all=True)  # polled again: the same bodies, nothing new

    assert first["feeds_polled"] == 3 and first["feed_errors"] == 0
    assert first["articles_loaded"] == 25
    assert first["fetch_errors"] == 1  # the deliberate 404, recorded and the run went on
    assert second["feeds_due"] == 0 and "articles_loaded" not in second
    assert third["feeds_polled"] == 3 and third["feeds_unchanged"] == 3 and third["entries_new"] == 0

    con = store.connect(db, read_only=True)
    try:
        counts_3 = store.table_counts(con)
        for table in CONTENT_TABLES:
            assert counts_1[table] > 0, table
            assert counts_2[table] == counts_1[table], table
            # A forced re-poll adds to the poll log, and to nothing else.
            assert counts_3[table] == counts_1[table] + (3 if table == "feed_polls" else 0), table
        assert counts_2["runs"] == counts_1["runs"] + 1 == 2  # the run log records each run
        items = dict(con.execute("select outcome, count(*) from feed_items group by outcome").fetchall())
        assert items == {"loaded": 25, "gone": 1}
        feeds = con.execute(
            "select count(*) from feeds where consecutive_failures = 0 and next_poll_at > last_polled_at "
            "and body_sha256 is not null and last_success_at is not null"
        ).fetchone()[0]
        assert feeds == 3

        statuses = [r[0] for r in con.execute("select status from runs order by started_at").fetchall()]
        # The 404 is reported by the run that met it; later runs know it is gone and do not fetch it again.
        assert statuses == ["completed_with_errors", "completed", "completed"]
        missing = con.execute(
            "select status, outcome, error from fetches where url like '%deleted-story%'"
        ).fetchall()
        assert missing == [(404, "gone", "HTTP 404")]

        # Tracking parameters from the feed links are gone from the canonical URLs.
        assert (
            con.execute("select count(*) from articles where canonical_url like '%utm_%'").fetchone()[0] == 0
        )
        # Publication dates come from the feeds, with provenance.
        assert (
            con.execute("select count(*) from articles where published_source = 'feed'").fetchone()[0] == 25
        )
        # The wire story: two placements of one story, credited to the agency.
        wire = con.execute(
            "select count(*), count(distinct cluster_id), min(wire_agency) from articles "
            "where text like '%(CPA)%'"
        ).fetchone()
        assert wire == (2, 1, "Continental Press Agency")
        stories = con.execute("select count(*), sum(placements) from story_clusters").fetchone()
        assert stories == (24, 25)
        assert con.execute("select count(*) from article_sightings").fetchone()[0] == 25
        # Raw bodies are kept on disk for every loaded article.
        raw = Settings(data_dir=tmp_path / "data").raw_dir
        assert len(list(raw.rglob("*.gz"))) >= 25
        # Speakers are linked to entities, and the topic splits the corpus.
        assert (
            con.execute("select count(*) from quotes where speaker_entity_id is not null").fetchone()[0] > 50
        )
        relevant = con.execute(
            "select count(*) from article_topics where relevant and topic = 'russian_interference'"
        ).fetchone()[0]
        assert relevant == 19
        # Every tag row says which annotation version made it, and the articles agree.
        versions = con.execute(
            "select distinct annotation_version from mentions union select distinct annotation_version "
            "from quotes union select distinct annotation_version from article_topics union select distinct "
            "annotation_version from articles"
        ).fetchall()
        assert len(versions) == 1 and versions[0][0].startswith("en_core_web_sm")
    finally:
        con.close()


@pytest.mark.model
def test_every_trend_query_runs_on_the_demo_database(
    prefect_harness, model_name, demo_dir, tmp_path, monkeypatch
):
    from etl.queries import list_queries, run_query
    from flows.ingest import ingest

    monkeypatch.setenv("NEWSWATCH_DATA_DIR", str(tmp_path / "data"))
    db = tmp_path / "news.duckdb"
    with serve_site(demo_dir / "site") as base_url:
        ingest(feeds_file=str(demo_dir / "feeds.toml"), db_path=str(db), base_url=base_url, **DEMO)
    sql_dir = Settings().sql_dir
    con = store.connect(db, read_only=True)
    try:
        names = [q.name for q in list_queries(sql_dir)]
        assert {"daily_topic_coverage", "top_entities_weekly", "top_speakers", "entity_comentions"} <= set(
            names
        )
        # keyword_search finds nothing without words; every other query has defaults for everything.
        examples = {"keyword_search": {"words": "russian"}}
        for name in names:
            columns, rows = run_query(con, sql_dir, name, examples.get(name, {}))
            assert columns and rows, name
        _, speakers = run_query(con, sql_dir, "top_speakers", {"limit": "3"})
        assert len(speakers) == 3
    finally:
        con.close()
