"""Backfill checkpoints and per-record errors: `backfill_progress` and `backfill_errors`.

Revision ID: 0004
Revises: 0003

`backfill_progress` holds, per source file (or sitemap URL), the offset reading resumes at, the running
counts and whether the source is done; a batch's articles and its checkpoint commit in one transaction
(etl.backfill), so a killed backfill resumes where it stopped and never loads a record twice.
`backfill_errors` records what went wrong with single records (a truncated WARC record, a page that is
not an article) so that the run can go on. Both start empty.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the two tables."""
    op.execute(
        "CREATE TABLE IF NOT EXISTS backfill_progress ("
        "source VARCHAR NOT NULL, kind VARCHAR, size_bytes BIGINT, next_offset BIGINT, records_read BIGINT, "
        "articles_loaded BIGINT, errors BIGINT, counts JSON, done BOOLEAN, started_at TIMESTAMPTZ, "
        "updated_at TIMESTAMPTZ, run_id VARCHAR, PRIMARY KEY (source))"
    )
    op.execute(
        "CREATE TABLE IF NOT EXISTS backfill_errors ("
        "source VARCHAR NOT NULL, record_offset BIGINT NOT NULL, stage VARCHAR NOT NULL, url VARCHAR, "
        "error VARCHAR, run_id VARCHAR, recorded_at TIMESTAMPTZ, PRIMARY KEY (source, record_offset, stage))"
    )


def downgrade() -> None:
    """Drop the backfill tables (a later backfill starts its sources from the beginning)."""
    op.execute("DROP TABLE IF EXISTS backfill_errors")
    op.execute("DROP TABLE IF EXISTS backfill_progress")
