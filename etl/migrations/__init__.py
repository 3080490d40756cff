"""Versioned schema migrations (Alembic, hand-written), shipped inside the package so that an installed
newswatch finds them. `etl.store.upgrade` runs them; see `env.py` for how Alembic meets DuckDB."""
