"""Mentions and quotes without primary keys; `article_entities`, the per-article entity counts.

Revision ID: 0003
Revises: 0002

Why no keys: a mention or quote row is only ever written together with its article (the article's load,
or a re-tagging that first deletes the article's tags, each in one transaction), so the article is the
unit of idempotency and the ids stay unique without an index. DuckDB's primary-key index cost four fifths
of the load time of these, the largest tables (0.4M rows/s with it, 2-3M without: bench/warehouse.py).
DuckDB cannot drop a key in place, so each table is copied into a keyless one, rows and column order kept.

`article_entities (article_id, entity_id, mentions, published_day)`: one row per entity an article
mentions, with how often and the article's UTC publication day (fetch day when undated). It is what the
entity trend queries count (distinct articles per entity without a DISTINCT over every mention); the loads
and re-tagging keep it in step with `mentions`, and this revision fills it for the stored articles.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_MENTIONS = (
    "mention_id BIGINT NOT NULL, article_id BIGINT, entity_id BIGINT, text VARCHAR, label VARCHAR, "
    "start_char INTEGER, end_char INTEGER, sentence_start INTEGER, sentence_end INTEGER, "
    "annotation_version VARCHAR"
)
_QUOTES = (
    "quote_id BIGINT NOT NULL, article_id BIGINT, quote VARCHAR, quote_start INTEGER, quote_end INTEGER, "
    "speaker VARCHAR, speaker_start INTEGER, speaker_end INTEGER, speaker_canonical VARCHAR, "
    "speaker_entity_id BIGINT, cue VARCHAR, kind VARCHAR, via VARCHAR, confidence DOUBLE, "
    "annotation_version VARCHAR"
)
_VIEWS = ("story_clusters", "quote_facts", "mention_facts", "article_facts")


def _rebuild_without_key(table: str, columns: str) -> None:
    names = ", ".join(c.split()[0] for c in columns.split(", "))
    op.execute(f"CREATE TABLE {table}_keyless ({columns})")
    op.execute(f"INSERT INTO {table}_keyless ({names}) SELECT {names} FROM {table}")
    op.execute(f"DROP TABLE {table}")
    op.execute(f"ALTER TABLE {table}_keyless RENAME TO {table}")


def upgrade() -> None:
    """Rebuild mentions and quotes without keys; create and fill article_entities."""
    for view in _VIEWS:  # recreated by etl.store.upgrade after the migrations
        op.execute(f"DROP VIEW IF EXISTS {view}")
    _rebuild_without_key("mentions", _MENTIONS)
    _rebuild_without_key("quotes", _QUOTES)
    op.execute(
        "CREATE TABLE article_entities (article_id BIGINT NOT NULL, entity_id BIGINT NOT NULL, "
        "mentions INTEGER NOT NULL, published_day DATE NOT NULL)"
    )
    op.execute(
        """
        INSERT INTO article_entities (article_id, entity_id, mentions, published_day)
        SELECT
            mentions.article_id,
            mentions.entity_id,
            count(*) AS mentions,
            any_value(
                DATE '1970-01-01' + CAST(
                    floor(epoch_us(coalesce(articles.published, articles.fetched_at)) / 86400000000.0)
                    AS INTEGER
                )
            ) AS published_day
        FROM mentions
        INNER JOIN articles USING (article_id)
        WHERE mentions.entity_id IS NOT NULL
        GROUP BY mentions.article_id, mentions.entity_id
        ORDER BY published_day
        """
    )


def downgrade() -> None:
    """Not supported: the keys would have to be rebuilt over tables that may have grown past them."""
    raise NotImplementedError("newswatch does not downgrade below revision 0003")
