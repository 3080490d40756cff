"""`newswatch status`: how the scheduled runs are doing, read from the store (read-only).

The last runs and their outcomes and counts (`runs`, through sql/trends/recent_runs.sql and
run_outcomes.sql), the feeds in trouble (failing or paused, through feed_health.sql) and the size of the
database. While a run writes to the database DuckDB lets no other process open it, so the status of a
busy database is its size and who holds it, and says so."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from etl import store
from etl.queries import run_query

__all__ = ["TROUBLE", "Status", "database_size", "read_status", "status_of"]

# feed_health's health values that put a feed in trouble.
TROUBLE = ("failing", "paused")
_RECORD_TABLES = ("articles", "feeds", "entities", "quotes", "runs")


@dataclass(frozen=True)
class Status:
    """The status of one database. `busy` is set (and the rest empty) when another process holds it."""

    database: Path
    size_bytes: int
    checked_at: datetime
    busy: str | None = None
    rows: Mapping[str, int] = field(default_factory=dict)
    runs: tuple[Mapping[str, Any], ...] = ()
    outcomes: tuple[Mapping[str, Any], ...] = ()
    feeds_in_trouble: tuple[Mapping[str, Any], ...] = ()
    feeds_total: int = 0

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (times as ISO strings)."""

        def plain(value: Any) -> Any:
            if isinstance(value, datetime):
                return value.isoformat()
            if isinstance(value, Mapping):
                return {k: plain(v) for k, v in value.items()}
            if isinstance(value, list | tuple):
                return [plain(v) for v in value]
            if isinstance(value, Path):
                return str(value)
            return value

        return {
            "database": str(self.database),
            "size_bytes": self.size_bytes,
            "checked_at": self.checked_at.isoformat(),
            "busy": self.busy,
            "rows": dict(self.rows),
            "runs": plain(self.runs),
            "outcomes": plain(self.outcomes),
            "feeds_in_trouble": plain(self.feeds_in_trouble),
            "feeds_total": self.feeds_total,
        }


def database_size(path: Path) -> int:
    """Bytes on disk of the DuckDB file and its write-ahead log (0 when neither exists)."""
    path = Path(path)
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + ".wal")) if p.is_file())


def _dicts(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> tuple[dict[str, Any], ...]:
    return tuple(dict(zip(columns, row, strict=True)) for row in rows)


def read_status(
    con: duckdb.DuckDBPyConnection, sql_dir: Path, database: Path, *, runs: int = 10, days: int = 7
) -> Status:
    """The status from an open connection: the last `runs` runs, outcomes per flow over `days` days,
    feeds in trouble, row counts of the main tables and the file's size."""
    recent = _dicts(*run_query(con, sql_dir, "recent_runs", {"limit": str(runs)}))
    outcomes = _dicts(*run_query(con, sql_dir, "run_outcomes", {"days": str(days)}))
    feeds = _dicts(*run_query(con, sql_dir, "feed_health", {}))
    counts = store.table_counts(con)
    return Status(
        database=database,
        size_bytes=database_size(database),
        checked_at=datetime.now(UTC),
        rows={name: counts[name] for name in _RECORD_TABLES if name in counts},
        runs=recent,
        outcomes=outcomes,
        feeds_in_trouble=tuple(f for f in feeds if f.get("health") in TROUBLE),
        feeds_total=len(feeds),
    )


_LOCK_HOLDER = re.compile(r"\(PID (\d+)\)")


def status_of(database: Path, sql_dir: Path, *, runs: int = 10, days: int = 7) -> Status:
    """Open `database` read-only and read its status; FileNotFoundError when there is no database. When
    another process is writing to it, the status says so (with that process's id) instead of failing."""
    database = Path(database)
    if not database.is_file():
        raise FileNotFoundError(f"no database at {database}")
    try:
        # Status answers at once: waiting out a long ingest (store.connect's default) would hide it.
        con = store.connect(database, read_only=True, wait_s=0)
    except (duckdb.IOException, store.DatabaseBusy) as exc:
        message = str(exc)
        if isinstance(exc, duckdb.IOException) and "lock" not in message.lower():
            raise
        holder = _LOCK_HOLDER.search(message)
        return Status(
            database=database,
            size_bytes=database_size(database),
            checked_at=datetime.now(UTC),
            busy="a run is writing to the database"
            + (f" (process {holder.group(1)})" if holder else "")
            + "; try again when it finishes",
        )
    try:
        return read_status(con, sql_dir, database, runs=runs, days=days)
    finally:
        con.close()
