"""The schema as of schema version 2, reached from nothing or from any earlier newswatch database.

Revision ID: 0001
Revises: (none)

Before Alembic, `etl.store.upgrade` created missing tables and added missing columns from the live
metadata, and recorded `schema_info.schema_version` (1, then 2). This migration freezes that schema in
plain DDL and applies it the same forgiving way: CREATE TABLE IF NOT EXISTS, then ADD COLUMN IF NOT EXISTS
for every column (nullable, as the old upgrade added them), so a database made by any earlier version
(which has no `alembic_version` table, and so starts here) gains what it lacks and loses nothing.

Hand-written and frozen: later schema changes go into new revisions, never here.
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# table -> (columns as (name, type, not null), table constraints)
_TABLES: dict[str, tuple[list[tuple[str, str, bool]], list[str]]] = {
    "feeds": (
        [
            ("feed_id", "BIGINT", True),
            ("listed_url", "VARCHAR", True),
            ("url", "VARCHAR", True),
            ("outlet", "VARCHAR", False),
            ("name", "VARCHAR", False),
            ("kind", "VARCHAR", False),
            ("obey_robots", "BOOLEAN", False),
            ("host_rate", "DOUBLE", False),
            ("title", "VARCHAR", False),
            ("added_at", "TIMESTAMP WITH TIME ZONE", False),
            ("etag", "VARCHAR", False),
            ("last_modified", "VARCHAR", False),
            ("body_sha256", "VARCHAR", False),
            ("last_polled_at", "TIMESTAMP WITH TIME ZONE", False),
            ("last_status", "INTEGER", False),
            ("last_error", "VARCHAR", False),
            ("last_entry_count", "INTEGER", False),
            ("last_success_at", "TIMESTAMP WITH TIME ZONE", False),
            ("consecutive_failures", "INTEGER", False),
            ("poll_interval_s", "DOUBLE", False),
            ("next_poll_at", "TIMESTAMP WITH TIME ZONE", False),
            ("paused", "BOOLEAN", False),
        ],
        ["PRIMARY KEY (feed_id)", "UNIQUE (listed_url)"],
    ),
    "feed_polls": (
        [
            ("poll_id", "BIGINT", True),
            ("feed_id", "BIGINT", False),
            ("url", "VARCHAR", False),
            ("polled_at", "TIMESTAMP WITH TIME ZONE", False),
            ("status", "INTEGER", False),
            ("bytes", "INTEGER", False),
            ("elapsed_ms", "INTEGER", False),
            ("unchanged", "BOOLEAN", False),
            ("entries", "INTEGER", False),
            ("new_items", "INTEGER", False),
            ("seen_items", "INTEGER", False),
            ("error", "VARCHAR", False),
            ("next_poll_at", "TIMESTAMP WITH TIME ZONE", False),
            ("run_id", "VARCHAR", False),
        ],
        ["PRIMARY KEY (poll_id)"],
    ),
    "feed_items": (
        [
            ("feed_id", "BIGINT", True),
            ("canonical_url", "VARCHAR", True),
            ("url", "VARCHAR", False),
            ("guid", "VARCHAR", False),
            ("title", "VARCHAR", False),
            ("published", "TIMESTAMP WITH TIME ZONE", False),
            ("first_seen_at", "TIMESTAMP WITH TIME ZONE", False),
            ("last_seen_at", "TIMESTAMP WITH TIME ZONE", False),
            ("outcome", "VARCHAR", False),
            ("reason", "VARCHAR", False),
            ("run_id", "VARCHAR", False),
        ],
        ["PRIMARY KEY (feed_id, canonical_url)"],
    ),
    "fetches": (
        [
            ("url", "VARCHAR", True),
            ("canonical_url", "VARCHAR", False),
            ("final_url", "VARCHAR", False),
            ("feed_url", "VARCHAR", False),
            ("status", "INTEGER", False),
            ("error", "VARCHAR", False),
            ("outcome", "VARCHAR", False),
            ("content_type", "VARCHAR", False),
            ("bytes", "INTEGER", False),
            ("raw_sha256", "VARCHAR", False),
            ("fetched_at", "TIMESTAMP WITH TIME ZONE", False),
            ("elapsed_ms", "INTEGER", False),
            ("run_id", "VARCHAR", False),
        ],
        ["PRIMARY KEY (url)"],
    ),
    "articles": (
        [
            ("article_id", "BIGINT", True),
            ("canonical_url", "VARCHAR", True),
            ("url", "VARCHAR", False),
            ("outlet", "VARCHAR", False),
            ("feed_url", "VARCHAR", False),
            ("title", "VARCHAR", False),
            ("text", "VARCHAR", False),
            ("authors", "VARCHAR[]", False),
            ("published", "TIMESTAMP WITH TIME ZONE", False),
            ("published_source", "VARCHAR", False),
            ("published_confidence", "DOUBLE", False),
            ("site_name", "VARCHAR", False),
            ("language", "VARCHAR", False),
            ("content_hash", "VARCHAR", False),
            ("word_count", "INTEGER", False),
            ("fetched_at", "TIMESTAMP WITH TIME ZONE", False),
            ("raw_sha256", "VARCHAR", False),
            ("run_id", "VARCHAR", False),
            ("quality_flags", "VARCHAR[]", False),
            ("cluster_id", "BIGINT", False),
            ("wire_agency", "VARCHAR", False),
            ("annotation_version", "VARCHAR", False),
        ],
        ["PRIMARY KEY (article_id)", "UNIQUE (canonical_url)"],
    ),
    "article_fingerprints": (
        [("article_id", "BIGINT", True), ("minhash", "BIGINT[]", False)],
        ["PRIMARY KEY (article_id)"],
    ),
    "article_bands": (
        [("band_key", "BIGINT", True), ("article_id", "BIGINT", True)],
        ["PRIMARY KEY (band_key, article_id)"],
    ),
    "article_sightings": (
        [
            ("article_id", "BIGINT", True),
            ("source", "VARCHAR", True),
            ("url", "VARCHAR", True),
            ("first_seen_at", "TIMESTAMP WITH TIME ZONE", False),
            ("last_seen_at", "TIMESTAMP WITH TIME ZONE", False),
            ("run_id", "VARCHAR", False),
        ],
        ["PRIMARY KEY (article_id, source, url)"],
    ),
    "entities": (
        [
            ("entity_id", "BIGINT", True),
            ("canonical", "VARCHAR", True),
            ("label", "VARCHAR", True),
            ("qid", "VARCHAR", False),
            ("country_entity_id", "BIGINT", False),
            ("first_seen", "TIMESTAMP WITH TIME ZONE", False),
        ],
        ["PRIMARY KEY (entity_id)"],
    ),
    "entity_aliases": (
        [("entity_id", "BIGINT", True), ("alias", "VARCHAR", True), ("source", "VARCHAR", True)],
        ["PRIMARY KEY (entity_id, alias, source)"],
    ),
    "annotation_versions": (
        [
            ("annotation_version", "VARCHAR", True),
            ("pipeline", "VARCHAR", False),
            ("rules_digest", "VARCHAR", False),
            ("first_used_at", "TIMESTAMP WITH TIME ZONE", False),
        ],
        ["PRIMARY KEY (annotation_version)"],
    ),
    "mentions": (
        [
            ("mention_id", "BIGINT", True),
            ("article_id", "BIGINT", False),
            ("entity_id", "BIGINT", False),
            ("text", "VARCHAR", False),
            ("label", "VARCHAR", False),
            ("start_char", "INTEGER", False),
            ("end_char", "INTEGER", False),
            ("sentence_start", "INTEGER", False),
            ("sentence_end", "INTEGER", False),
            ("annotation_version", "VARCHAR", False),
        ],
        ["PRIMARY KEY (mention_id)"],
    ),
    "quotes": (
        [
            ("quote_id", "BIGINT", True),
            ("article_id", "BIGINT", False),
            ("quote", "VARCHAR", False),
            ("quote_start", "INTEGER", False),
            ("quote_end", "INTEGER", False),
            ("speaker", "VARCHAR", False),
            ("speaker_start", "INTEGER", False),
            ("speaker_end", "INTEGER", False),
            ("speaker_canonical", "VARCHAR", False),
            ("speaker_entity_id", "BIGINT", False),
            ("cue", "VARCHAR", False),
            ("kind", "VARCHAR", False),
            ("via", "VARCHAR", False),
            ("confidence", "DOUBLE", False),
            ("annotation_version", "VARCHAR", False),
        ],
        ["PRIMARY KEY (quote_id)"],
    ),
    "article_topics": (
        [
            ("article_id", "BIGINT", True),
            ("topic", "VARCHAR", True),
            ("score", "DOUBLE", False),
            ("relevant", "BOOLEAN", False),
            ("evidence", "JSON", False),
            ("parent_topic", "VARCHAR", False),
            ("annotation_version", "VARCHAR", False),
        ],
        ["PRIMARY KEY (article_id, topic)"],
    ),
    "runs": (
        [
            ("run_id", "VARCHAR", True),
            ("flow", "VARCHAR", False),
            ("started_at", "TIMESTAMP WITH TIME ZONE", False),
            ("finished_at", "TIMESTAMP WITH TIME ZONE", False),
            ("status", "VARCHAR", False),
            ("counts", "JSON", False),
            ("errors", "JSON", False),
        ],
        ["PRIMARY KEY (run_id)"],
    ),
    "schema_info": (
        [("key", "VARCHAR", True), ("value", "VARCHAR", False)],
        ["PRIMARY KEY (key)"],
    ),
}

# The views of the old schema are recreated by `etl.store.upgrade` after the migrations; dropping them
# first lets a migration alter the tables they read (DuckDB refuses some ALTERs under a dependent view).
_OLD_VIEWS = ("story_clusters", "quote_facts", "mention_facts", "article_facts")


def upgrade() -> None:
    """Create the version-2 tables, or complete older ones column by column."""
    for view in _OLD_VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {view}")
    for table, (columns, constraints) in _TABLES.items():
        body = [f'"{name}" {type_}' + (" NOT NULL" if not_null else "") for name, type_, not_null in columns]
        op.execute(f'CREATE TABLE IF NOT EXISTS "{table}" (' + ", ".join(body + constraints) + ")")
        for name, type_, _ in columns:
            op.execute(f'ALTER TABLE "{table}" ADD COLUMN IF NOT EXISTS "{name}" {type_}')


def downgrade() -> None:
    """Not supported: the first revision would drop every table and all the data in it."""
    raise NotImplementedError("newswatch does not downgrade below its first schema revision")
