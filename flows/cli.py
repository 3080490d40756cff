"""The `newswatch` command: the library's commands (etl/cli.py) plus those that run Prefect flows.

etl/ never imports Prefect, so the commands that start a flow run live here, in flows/."""

from __future__ import annotations

import os
import time
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
