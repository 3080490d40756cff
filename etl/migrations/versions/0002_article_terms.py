"""Keyword search without the fts extension: `article_terms (term, article_id)` and its stop words.

Revision ID: 0002
Revises: 0001

A term is a maximal run of letters and digits in the lower-cased title and text (regular expression
`[\\p{L}\\p{N}]+`), 2 to 40 characters long, not a stop word; each article lists each of its terms once.
`etl.store.load_articles` fills the table for every article it loads, with the same definition; this
revision fills it for the articles already stored. No key and no index: rows are only ever added with
their article (in the article's load transaction), and an index would block later ALTERs and cost more
memory than the scan it saves (see bench/warehouse.py).
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Words too common to narrow a search; a search for one of them matches on the other words only.
STOP_WORDS = (
    "a about after all also an and any are as at be been but by can could did do does for from had has "
    "have he her his i if in into is it its me more my no not of on or our out over said says she so "
    "than that the their them then there these they this to up was we were what when which who will "
    "with would you your"
).split()


def upgrade() -> None:
    """Create the tables and fill `article_terms` for the stored articles."""
    op.execute("CREATE TABLE IF NOT EXISTS search_stopwords (term VARCHAR NOT NULL, PRIMARY KEY (term))")
    op.execute("CREATE TABLE IF NOT EXISTS article_terms (term VARCHAR NOT NULL, article_id BIGINT NOT NULL)")
    values = ", ".join(f"('{word}')" for word in STOP_WORDS)  # constants of this file, never data
    op.execute(f"INSERT INTO search_stopwords (term) VALUES {values} ON CONFLICT (term) DO NOTHING")
    op.execute(
        r"""
        INSERT INTO article_terms (term, article_id)
        WITH tokens AS (
            SELECT
                article_id,
                unnest(regexp_extract_all(lower(concat_ws(' ', title, text)), '[\p{L}\p{N}]+')) AS term
            FROM articles
            WHERE article_id NOT IN (SELECT article_id FROM article_terms)
        )
        SELECT DISTINCT term, article_id
        FROM tokens
        WHERE length(term) BETWEEN 2 AND 40
          AND term NOT IN (SELECT term FROM search_stopwords)
        """
    )


def downgrade() -> None:
    """Drop the search tables (the articles keep their text; upgrading again refills them)."""
    op.execute("DROP TABLE IF EXISTS article_terms")
    op.execute("DROP TABLE IF EXISTS search_stopwords")
