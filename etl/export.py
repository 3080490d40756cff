"""Snapshots of the database as Parquet datasets that other engines read (pyarrow, Spark, Polars, the
duckdb CLI): one folder per table, the article tables Hive-partitioned by publication day.

Layout under the export folder::

    articles/published_date=2026-10-05/data_0.parquet
    mentions/published_date=2026-10-05/data_0.parquet    (also quotes, article_topics, article_sightings)
    entities/data_0.parquet                              (and every other table, unpartitioned)

`published_date` is article_facts.published_day: the UTC day of `published`, else of `fetched_at`. The
search index (article_terms) and the near-duplicate signatures are left out: they are derived from the
articles and rebuilt by a load. Each table is written to a side folder and swapped in when complete, so
a reader of the export sees either the previous snapshot of a table or the new one, never half of one.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
from sqlalchemy import column, select
from sqlalchemy import table as table_clause

from etl import store

__all__ = ["EXPORTED_TABLES", "PARTITION_COLUMN", "ExportedTable", "export_parquet"]

PARTITION_COLUMN = "published_date"
# Derived from the articles, large, and of no use outside newswatch.
_SKIPPED = {"article_terms", "article_fingerprints", "article_bands", "search_stopwords", "schema_info"}
EXPORTED_TABLES = tuple(t.name for t in store.metadata.sorted_tables if t.name not in _SKIPPED)

_DAYS = table_clause("article_facts", column("article_id"), column("published_day"))


@dataclass(frozen=True)
class ExportedTable:
    """One table written: its folder, its rows, and whether it is partitioned by day."""

    name: str
    path: Path
    rows: int
    partitioned: bool


def _export_sql(name: str) -> tuple[str, bool]:
    """SELECT for one table: the article tables gain the partition column from article_facts."""
    t = store.metadata.tables[name]
    if "article_id" in t.c:
        stmt = select(t, _DAYS.c.published_day.label(PARTITION_COLUMN)).join(
            _DAYS, _DAYS.c.article_id == t.c.article_id
        )
        return store._sql(stmt), True
    return store._sql(select(t)), False


def export_parquet(con: duckdb.DuckDBPyConnection, out_dir: Path) -> list[ExportedTable]:
    """Write every exported table under `out_dir` (see the module docstring); return what was written.
    Works on a read-only connection."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[ExportedTable] = []
    for name in EXPORTED_TABLES:
        sql, partitioned = _export_sql(name)
        final = out_dir / name
        partial = out_dir / (name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        relation = con.sql(sql)
        rows = len(relation)
        if partitioned:
            relation.write_parquet(str(partial), partition_by=[PARTITION_COLUMN], overwrite=True)
        else:
            partial.mkdir()
            relation.write_parquet(str(partial / "data_0.parquet"))
        if rows == 0 and partitioned:
            partial.mkdir(exist_ok=True)  # an empty table is an empty folder, not a missing one
        previous = out_dir / (name + ".previous")
        shutil.rmtree(previous, ignore_errors=True)
        if final.exists():
            final.rename(previous)
        partial.rename(final)
        shutil.rmtree(previous, ignore_errors=True)
        written.append(ExportedTable(name, final, rows, partitioned))
    return written
