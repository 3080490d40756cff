"""One writer at a time: a Prefect global concurrency limit around a flow's use of the DuckDB file.

DuckDB lets one process at a time open a file for writing (and, while it does, no other process may open
it at all), so two overlapping runs (an ingest that runs long into the next one, the nightly retag, a
backfill) would fail on the file lock. Every flow that opens the database does so inside
`database_writer`, which holds the one slot of the global concurrency limit `newswatch-db-writer`; a run
that finds the slot taken logs that it waits, waits, and logs how long it waited.

The limit is created (with 1 slot) the first time a run needs it; slots are leased and renewed while the
run holds them, so a run that dies frees its slot when the lease runs out. The limit serialises runs that
talk to the same Prefect server (every deployment run does); a flow called with no server configured gets
a temporary server of its own, where the limit guards nothing beyond that process. This is a thin
wrapper kept in flows/ so that a file lock in etl/store.py (waiting at connect time) can sit beside it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from uuid import UUID

from prefect import get_client, get_run_logger
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.client.schemas.objects import ConcurrencyLeaseHolder
from prefect.concurrency.sync import concurrency
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.runtime import flow_run

__all__ = ["WRITER_LIMIT", "database_writer", "ensure_writer_limit"]

WRITER_LIMIT = "newswatch-db-writer"
# A wait longer than this is logged even when the slot looked free at first (another run took it first).
_WAIT_NOTED_S = 1.0
# A run holding the slot renews its lease every 3/4 of this; one that died frees it after this long.
_LEASE_S = 300.0


def ensure_writer_limit(name: str = WRITER_LIMIT) -> bool:
    """Create the global concurrency limit `name` with one slot unless it exists (its limit as set);
    returns whether its slots are all taken right now."""
    with get_client(sync_client=True) as client:
        try:
            limit = client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            # Another run may have created it just now.
            with suppress(ObjectAlreadyExists):
                client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
            return False
        return limit.active_slots >= limit.limit


def _holder() -> ConcurrencyLeaseHolder | None:
    run_id = flow_run.get_id()
    return ConcurrencyLeaseHolder(type="flow_run", id=UUID(run_id)) if run_id else None


@contextmanager
def database_writer(what: str, *, wait_s: float | None = None, name: str = WRITER_LIMIT) -> Iterator[float]:
    """Hold the database writer slot for the block (call inside a flow run); yields the seconds waited.

    `what` names the run in the log ("ingest", "retag"). `wait_s` bounds the wait (None: as long as it
    takes); past it, TimeoutError."""
    logger = get_run_logger()
    # Whether it has to wait is asked first, only to say so in the log (a probe with a short timeout
    # would log an error from Prefect's slot service every time); the acquisition below is what counts.
    taken = ensure_writer_limit(name)
    if taken:
        logger.info(
            "%s waits for the database: another run holds the writer slot (%r global concurrency limit)",
            what,
            name,
        )
    started = time.monotonic()
    # A lease renewal that fails (the server restarting under a long run) is logged, not fatal: ending a
    # run halfway through its batches would cost more than the small chance of a second writer, which
    # DuckDB's own lock would then stop.
    with concurrency(
        name,
        occupy=1,
        timeout_seconds=wait_s,
        lease_duration=_LEASE_S,
        strict=True,
        holder=_holder(),
        raise_on_lease_renewal_failure=False,
    ):
        waited = time.monotonic() - started
        if taken or waited > _WAIT_NOTED_S:
            logger.info("%s got the database writer slot after waiting %.1f s", what, waited)
        yield waited
