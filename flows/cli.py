"""The `newswatch` command: the library's commands (etl/cli.py) plus those that run Prefect flows.

etl/ never imports Prefect, so the commands that start a flow run live here, in flows/."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from etl import store
from etl.cli import DbOption, _print_counts, _readable, _settings, app, console, err_console
from etl.report import print_summary

__all__ = ["app"]


def _quiet_prefect() -> None:
    # The temporary local Prefect server's telemetry heartbeat fights the flow run for its SQLite file
    # and logs lock errors; nothing of ours needs it.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")


@app.command()
def ingest(
    feeds: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="feeds.toml to register and poll (default: NEWSWATCH_FEEDS_FILE)",
        ),
    ] = None,
    all_feeds: Annotated[bool, typer.Option("--all", help="poll every feed, not only the due ones")] = False,
    db: DbOption = None,
) -> None:
    """Run the ingest flow once: poll the due feeds, fetch new articles, tag and load them."""
    _quiet_prefect()
    from flows.ingest import ingest as ingest_flow

    settings = _settings(db, feeds_file=feeds)
    counts = ingest_flow(
        feeds_file=str(settings.feeds_file), db_path=str(settings.database), poll_all=all_feeds
    )
    console.print(counts)


@app.command()
def retag(
    since: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="only articles published on or after DATE")
    ] = None,
    topic: Annotated[
        str | None, typer.Option(help="only re-score this topic (no spaCy: from stored text and mentions)")
    ] = None,
    db: DbOption = None,
) -> None:
    """Tag stored articles again where their tags come from another annotation version (pipeline, rules,
    alias table or topic definitions changed); no refetch."""
    _quiet_prefect()
    from etl.retag import UnknownTopic
    from flows.retag import retag as retag_flow

    settings = _settings(db)
    try:
        counts = retag_flow(
            db_path=str(settings.database), since=since.replace(tzinfo=UTC) if since else None, topic=topic
        )
    except UnknownTopic as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(counts)


@app.command()
def backfill(
    sources: Annotated[
        list[str],
        typer.Argument(
            help="WARC/ARC files (.warc, .warc.gz, .arc, .arc.gz), JSONL/CSV dumps, URL lists (.txt), "
            "sitemaps (.xml file or http(s) URL)"
        ),
    ],
    since: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="only articles published on or after DATE")
    ] = None,
    until: Annotated[
        datetime | None, typer.Option(formats=["%Y-%m-%d"], help="only articles published before DATE")
    ] = None,
    prefilter: Annotated[
        str | None, typer.Option(help="keep only pages passing TOPIC's keyword prefilter (before NLP)")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="processes for extraction and tagging")] = 1,
    batch_size: Annotated[int | None, typer.Option(min=1, help="records per batch")] = None,
    column: Annotated[
        list[str] | None,
        typer.Option(help="dump column mapping FIELD=COLUMN (url, title, text, published, outlet, id)"),
    ] = None,
    task_runner: Annotated[str, typer.Option(help="'local' (processes) or 'dask'")] = "local",
    dask_address: Annotated[
        str | None, typer.Option(help="scheduler of an existing Dask cluster, tcp://HOST:PORT")
    ] = None,
    db: DbOption = None,
) -> None:
    """Backfill archives, dumps and URL lists: extract, filter by date and topic, tag and load, in
    batches; resumable (a re-run continues each source at its checkpoint and skips finished ones)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    _quiet_prefect()
    from etl.backfill import source_size
    from flows.backfill import backfill as backfill_flow

    if task_runner not in ("local", "dask"):
        err_console.print(f"[red]--task-runner must be 'local' or 'dask', not {task_runner!r}[/red]")
        raise typer.Exit(2)
    settings = _settings(db)
    total = sum(source_size(s) or 0 for s in sources) or None
    columns = [
        TextColumn("[bold]backfill"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "{task.fields[records]} records, {task.fields[loaded]} loaded, {task.fields[rate]:.0f} rec/s"
        ),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    started = time.monotonic()
    with Progress(*columns, console=err_console, transient=False) as bar:
        task_id = bar.add_task("backfill", total=total, records=0, loaded=0, rate=0.0)

        def on_progress(event: str, counts: Mapping[str, int]) -> None:
            spent = max(time.monotonic() - started, 1e-6)
            bar.update(
                task_id,
                completed=counts.get("bytes_read", 0),
                records=counts.get("records", 0),
                loaded=counts.get("articles_loaded", 0),
                rate=counts.get("records", 0) / spent,
            )

        try:
            counts = backfill_flow(
                sources=sources,
                db_path=str(settings.database),
                data_dir=str(settings.data_dir),
                since=since.replace(tzinfo=UTC) if since else None,
                until=until.replace(tzinfo=UTC) if until else None,
                prefilter=prefilter,
                workers=workers,
                batch_size=batch_size,
                columns=column,
                task_runner=task_runner,
                dask_address=dask_address,
                on_progress=on_progress,
            )
        except (KeyError, ValueError) as exc:
            err_console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
    console.print(counts)


@app.command()
def demo(
    db: DbOption = None,
    summary: Annotated[bool, typer.Option(help="print the trend summary afterwards")] = True,
) -> None:
    """Serve the bundled demo outlets on 127.0.0.1, ingest them through the normal flow, print trends."""
    from etl.demo import PortInUse, serve_site

    _quiet_prefect()
    from flows.ingest import ingest as ingest_flow

    settings = _settings(db)
    started = time.monotonic()
    try:
        with serve_site(settings.demo_dir / "site", port=settings.demo_port) as base_url:
            console.print(f"[bold]demo outlets served at {base_url}[/bold]")
            counts = ingest_flow(
                feeds_file=str(settings.demo_dir / "feeds.toml"),
                db_path=str(settings.database),
                base_url=base_url,
                # The demo outlets live on this machine, which the SSRF guard refuses by default.
                allow_networks=["127.0.0.1/32"],
            )
    except PortInUse as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    console.print(f"ingest finished in {time.monotonic() - started:.1f}s: {counts}")
    con = _readable(settings)
    try:
        _print_counts(store.table_counts(con))
        if summary:
            print_summary(con, settings.sql_dir, console)
    finally:
        con.close()
