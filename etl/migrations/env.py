"""Alembic environment for DuckDB: migrations run on a connection handed in by `etl.store.migrate`.

Alembic has no DuckDB implementation of its own; the small `DuckDBImpl` below registers one for
duckdb_engine's dialect name. DuckDB's DDL is transactional, so every pending migration runs in one
transaction: a migration that fails leaves the database as it was.
"""

from __future__ import annotations

from alembic import context
from alembic.ddl.impl import DefaultImpl


class DuckDBImpl(DefaultImpl):
    """Alembic's operations for DuckDB: the defaults (PostgreSQL-like SQL), with transactional DDL."""

    __dialect__ = "duckdb"
    transactional_ddl = True


def run_migrations_online() -> None:
    """Run the pending migrations on the connection `etl.store.migrate` put in the config."""
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, target_metadata=None, transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("newswatch migrations run online only: `newswatch db upgrade`")
run_migrations_online()
