"""The `backfill` flow: archives, dumps and URL lists -> extract, filter, tag in batches -> load, with a
checkpoint per source (see etl/backfill.py for the job itself).

Where the batches run:
- `task_runner="local"` (default): in this process (`workers=1`) or in `workers` processes, each loading
  the spaCy pipeline once (etl.backfill.ProcessExecutor); the flow run itself is the unit Prefect sees.
- `task_runner="dask"`: each batch is a `backfill-batch` task submitted to prefect-dask's DaskTaskRunner
  on the cluster at `dask_address` (a new LocalCluster when None); workers keep one spaCy pipeline per
  process and send their results back as Arrow IPC bytes. The flow process stays the single writer.

A Prefect progress artifact (key `backfill-progress`) follows the share of the sources' bytes read."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.runtime import flow_run

from etl import backfill as steps
from etl import store
from etl.archive import Columns, archiver_for
from etl.fetch import Fetcher
from etl.settings import Settings

ProgressCallback = Callable[[str, Mapping[str, int]], None]


@task(name="backfill-batch", cache_policy=NO_CACHE)
def process_batch(settings_json: str, batch: steps.WorkBatch) -> bytes:
    """Extract, filter and tag one batch on whichever worker runs it; the result as Arrow IPC bytes."""
    tools = steps.worker_tools(Settings.model_validate_json(settings_json))
    return steps.result_to_arrow(steps.process_work(batch, tools))


class _ArrowPending:
    def __init__(self, future: PrefectFuture[bytes]) -> None:
        self._future = future

    def result(self) -> steps.BatchResult:
        return steps.result_from_arrow(self._future.result())


class TaskExecutor:
    """Submits work batches as `backfill-batch` tasks to the flow's task runner (Dask)."""

    def __init__(self, settings: Settings, capacity: int) -> None:
        self._settings_json = settings.model_dump_json()
        self.capacity = capacity

    def submit(self, batch: steps.WorkBatch) -> steps.Pending:
        """Submit one batch to the task runner."""
        return _ArrowPending(process_batch.submit(self._settings_json, batch))


def _run_id() -> str:
    return str(flow_run.get_id() or uuid.uuid4())


@flow(name="backfill")
def backfill(
    sources: list[str],
    db_path: str | None = None,
    data_dir: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    prefilter: str | None = None,
    workers: int = 1,
    batch_size: int | None = None,
    columns: list[str] | None = None,
    task_runner: str = "local",
    dask_address: str | None = None,
    dask_workers: int = 2,
    on_progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Backfill `sources` (WARC/ARC files, JSONL/CSV dumps, URL lists, sitemap files or URLs) into the
    DuckDB file: only articles published in [since, until), only those passing `prefilter`'s keyword
    check (a topic name) when given. `columns` maps dump fields to columns (`text=body`). A re-run
    resumes each source at its checkpoint and skips finished ones. `on_progress(event, counts)` is
    called after every batch (the CLI draws its progress bar with it). Returns the run's counts."""
    if task_runner == "dask":
        from prefect_dask import DaskTaskRunner

        runner = (
            DaskTaskRunner(address=dask_address)
            if dask_address
            else DaskTaskRunner(cluster_kwargs={"n_workers": dask_workers, "threads_per_worker": 1})
        )
        on_dask = _backfill_on_runner.with_options(task_runner=runner)  # type: ignore[arg-type]
        return on_dask(
            sources, db_path, data_dir, since, until, prefilter, workers, batch_size, columns, on_progress
        )
    if task_runner != "local":
        raise ValueError(f"task_runner must be 'local' or 'dask', not {task_runner!r}")
    return run_backfill_flow(
        _settings(db_path, data_dir, batch_size),
        sources,
        _options(since, until, prefilter, workers, batch_size, columns),
        dask=False,
        on_progress=on_progress,
    )


@flow(name="backfill-dask")
def _backfill_on_runner(
    sources: list[str],
    db_path: str | None,
    data_dir: str | None,
    since: datetime | None,
    until: datetime | None,
    prefilter: str | None,
    workers: int,
    batch_size: int | None,
    columns: list[str] | None,
    on_progress: ProgressCallback | None,
) -> dict[str, Any]:
    """The backfill with its batches submitted to this flow's task runner (a DaskTaskRunner)."""
    return run_backfill_flow(
        _settings(db_path, data_dir, batch_size),
        sources,
        _options(since, until, prefilter, workers, batch_size, columns),
        dask=True,
        on_progress=on_progress,
    )


def _settings(db_path: str | None, data_dir: str | None, batch_size: int | None) -> Settings:
    overrides: dict[str, Any] = {}
    if db_path:
        overrides["db_path"] = Path(db_path)
    if data_dir:
        overrides["data_dir"] = Path(data_dir)
    if batch_size:
        overrides["batch_size"] = batch_size
    return Settings(**overrides)


def _options(
    since: datetime | None,
    until: datetime | None,
    prefilter: str | None,
    workers: int,
    batch_size: int | None,
    columns: list[str] | None,
) -> steps.BackfillOptions:
    # Dates without a zone (as typed on a command line) are UTC, like every date the store keeps.
    return steps.BackfillOptions(
        since=since.replace(tzinfo=UTC) if since and since.tzinfo is None else since,
        until=until.replace(tzinfo=UTC) if until and until.tzinfo is None else until,
        prefilter=prefilter,
        workers=max(1, workers),
        batch_size=batch_size or 100,
        columns=Columns.parse(columns or []),
    )


def run_backfill_flow(
    settings: Settings,
    sources: list[str],
    options: steps.BackfillOptions,
    *,
    dask: bool,
    on_progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """The body of the backfill flows (call it inside a flow run): run record, executor, progress
    artifact, and etl.backfill.run_backfill."""
    logger = get_run_logger()
    run_id = _run_id()
    if options.prefilter:
        steps.prefilter_for(settings, options.prefilter)  # an unknown topic fails before any work
    total_bytes = sum(steps.source_size(s) or 0 for s in sources)
    artifact: UUID | None = None
    try:
        created = create_progress_artifact(0.0, key="backfill-progress", description="backfill: starting")
        artifact = created if isinstance(created, UUID) else None
    except Exception as exc:  # the artifact is a convenience: a backfill must not fail for want of it
        logger.warning("no progress artifact: %s", exc)

    def progress(event: str, counts: Mapping[str, int]) -> None:
        if artifact is not None and total_bytes:
            share = min(100.0, 100.0 * counts.get("bytes_read", 0) / total_bytes)
            description = (
                f"{counts.get('records', 0)} records read, {counts.get('articles_loaded', 0)} articles loaded"
            )
            try:
                update_progress_artifact(artifact, share, description=description)
            except Exception as exc:  # progress reporting never stops a backfill
                logger.warning("progress artifact not updated: %s", exc)
        if on_progress is not None:
            on_progress(event, counts)

    con = store.connect(settings.database)
    status = "failed"
    report: steps.BackfillReport | None = None
    try:
        store.upgrade(con, settings.sql_dir)
        store.start_run(con, run_id, "backfill")
        try:
            with ExitStack() as stack:
                executor: steps.BatchExecutor
                if dask:
                    executor = TaskExecutor(settings, capacity=max(2, options.workers) * 2)
                elif options.workers > 1:
                    executor = stack.enter_context(steps.ProcessExecutor(settings, options.workers))
                else:
                    executor = steps.InlineExecutor(steps.build_tools(settings))
                archiver = archiver_for(settings)
                if archiver is not None:
                    stack.enter_context(archiver)
                fetcher = stack.enter_context(Fetcher(settings, archiver=archiver))
                report = steps.run_backfill(
                    settings,
                    con,
                    sources,
                    options,
                    executor,
                    run_id=run_id,
                    fetcher=fetcher,
                    progress=progress,
                )
            status = "completed_with_errors" if report.errors else "completed"
        finally:
            counts = dict(report.counts) if report is not None else {}
            errors = [
                {"item": f"{e.source}@{e.record_offset}", "stage": e.stage, "error": e.error}
                for e in (report.errors if report is not None else ())
            ]
            store.finish_run(con, run_id, status, counts, errors[:500])
    finally:
        con.close()
    if artifact is not None:
        update_progress_artifact(artifact, 100.0, description=f"backfill {status}")
    logger.info("backfill %s %s: %s", run_id, status, report.counts if report else {})
    return {"run_id": run_id, "status": status, **(report.counts if report else {})}
