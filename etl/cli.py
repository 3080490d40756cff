"""The `newswatch` command line."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, TextIO

import duckdb
import typer
from rich import box
from rich.console import Console
from rich.table import Table

from etl import store
from etl.extract import ExtractionError, extract_article
from etl.queries import list_queries, run_query
from etl.records import Tagging
from etl.report import print_summary, write_html_report
from etl.settings import Settings

app = typer.Typer(help="newswatch: news ingestion, tagging and trend SQL.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.")
feeds_app = typer.Typer(help="The feeds newswatch polls: add, import, export, list, discover.")
eval_app = typer.Typer(help="Evaluations against gold files: precision, recall, F1, accuracy.")
model_app = typer.Typer(help="The spaCy pipeline.")
app.add_typer(db_app, name="db")
app.add_typer(feeds_app, name="feeds")
app.add_typer(eval_app, name="eval")
app.add_typer(model_app, name="model")
console = Console()
err_console = Console(stderr=True)

DbOption = Annotated[
    Path | None,
    typer.Option("--db", help="DuckDB file (default: NEWSWATCH_DB_PATH or data/newswatch.duckdb)"),
]


def _settings(db: Path | None = None, **overrides: Any) -> Settings:
    if db is not None:
        overrides["db_path"] = db
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


@app.command("summary")
def summary_command(db: DbOption = None) -> None:
    """Print the trend summary of a database."""
    settings = _settings(db)
    con = _readable(settings)
    try:
        print_summary(con, settings.sql_dir, console)
    finally:
        con.close()


@app.command("report")
def report_command(
    out: Annotated[Path, typer.Option("--out", help="the HTML file to write")] = Path("report.html"),
    since: Annotated[str | None, typer.Option(help="first publication day, YYYY-MM-DD")] = None,
    until: Annotated[str | None, typer.Option(help="last publication day, YYYY-MM-DD")] = None,
    topic: Annotated[str, typer.Option(help="topic of the coverage charts")] = "russian_interference",
    db: DbOption = None,
) -> None:
    """Write the trend report: one self-contained HTML file of charts (works offline), each with its SQL."""
    from datetime import date

    try:
        first = date.fromisoformat(since) if since else None
        last = date.fromisoformat(until) if until else None
    except ValueError as exc:
        raise typer.BadParameter(f"dates are YYYY-MM-DD: {exc}") from exc
    settings = _settings(db)
    con = _readable(settings)
    try:
        written = write_html_report(con, settings.sql_dir, out, since=first, until=last, topic=topic)
    finally:
        con.close()
    console.print(f"report written to {written}")


@app.command("status")
def status_command(
    runs: Annotated[int, typer.Option(help="how many of the latest runs to list")] = 10,
    days: Annotated[int, typer.Option(help="outcomes per flow over this many days")] = 7,
    fmt: Annotated[str, typer.Option("--format", help="table or json")] = "table",
    db: DbOption = None,
) -> None:
    """How the runs are doing: the last runs with outcomes and counts, outcomes per flow, feeds in trouble
    (failing or paused), database size. Read-only."""
    from etl.status import status_of

    settings = _settings(db)
    try:
        status = status_of(settings.database, settings.sql_dir, runs=runs, days=days)
    except FileNotFoundError as exc:
        err_console.print(f"[red]{exc}: run `newswatch ingest` or `newswatch demo` first[/red]")
        raise typer.Exit(1) from exc
    if fmt == "json":
        typer.echo(json.dumps(status.as_dict(), default=str, ensure_ascii=False))
        return
    _print_status(status)


_OUTCOME = {
    "completed": "[green]ok[/green]",
    "completed_with_errors": "[yellow]errors[/yellow]",
    "failed": "[red]failed[/red]",
    "running": "[cyan]running[/cyan]",
}


def _when(value: Any) -> str:
    """Month, day and time: enough for runs of the last days, and it fits a terminal."""
    return value.strftime("%m-%d %H:%M") if hasattr(value, "strftime") else "never"


def _print_status(status: Any) -> None:
    rows = ", ".join(f"{n} {name}" for name, n in status.rows.items())
    console.print(
        f"[bold]{status.database}[/bold]: {status.size_bytes / 1e6:.1f} MB" + (f"; {rows}" if rows else "")
    )
    if status.busy:
        console.print(f"[yellow]{status.busy}[/yellow]")
        return
    runs = Table(
        "started",
        "flow",
        "outcome",
        "secs",
        "feeds",
        "loaded",
        "retagged",
        "errors",
        "run",
        title="Last runs",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        title_justify="left",
    )
    for column in runs.columns:
        column.no_wrap = True  # one line per run; rich shortens cells rather than wrapping them
    for r in status.runs:
        runs.add_row(
            _when(r["started_at"]),
            r["flow"],
            _OUTCOME.get(r["status"], r["status"]),
            "" if r["seconds"] is None else f"{r['seconds']:.0f}",
            str(r["feeds_polled"]),
            str(r["articles_loaded"]),
            str(r["retagged"]),
            str(r["errors"]),
            str(r["run_id"])[:8],
        )
    if not status.runs:
        runs.caption = "no runs yet"
    console.print(runs)
    outcomes = Table(
        "flow",
        "runs",
        "ok",
        "errors",
        "failed",
        "running",
        "loaded",
        "last ok",
        title="Outcomes per flow",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        title_justify="left",
    )
    for o in status.outcomes:
        outcomes.add_row(
            o["flow"],
            str(o["runs"]),
            str(o["completed"]),
            str(o["with_errors"]),
            str(o["failed"]),
            str(o["running"]),
            str(o["articles_loaded"]),
            _when(o["last_completed_at"]),
        )
    console.print(outcomes)
    if status.feeds_in_trouble:
        trouble = Table(
            "outlet",
            "health",
            "status",
            "fails",
            "last error",
            "last ok",
            "url",
            title=f"Feeds in trouble ({len(status.feeds_in_trouble)} of {status.feeds_total})",
            title_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        for f in status.feeds_in_trouble:
            trouble.add_row(
                str(f["outlet"]),
                f["health"],
                str(f["last_status"]),
                str(f["failures"]),
                str(f["last_error"] or ""),
                _when(f["last_success_at"]),
                f["url"],
            )
        console.print(trouble)
    else:
        console.print(f"No feeds in trouble ({status.feeds_total} feeds).")


FormatOption = Annotated[
    str, typer.Option("--format", help="table, csv, json or parquet (parquet needs --out)")
]
OutOption = Annotated[Path | None, typer.Option("--out", help="write the rows to this file")]


@app.command()
def query(
    name: Annotated[str | None, typer.Argument(help="query name (see --list)")] = None,
    list_: Annotated[bool, typer.Option("--list", help="list the trend queries")] = False,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="k=v, repeatable")] = None,
    fmt: FormatOption = "table",
    out: OutOption = None,
    db: DbOption = None,
) -> None:
    """Run a trend query from the sql/trends library against the database."""
    settings = _settings(db)
    if list_ or name is None:
        _print_query_list(settings)
        return
    _check_format(fmt, out)
    params = dict(_split_param(p) for p in param or [])
    con = _readable(settings)
    try:
        columns, rows = run_query(con, settings.sql_dir, name, params)
        stale = store.articles_behind_latest_version(con)
    except (KeyError, ValueError) as exc:
        err_console.print(f"[red]{exc.args[0] if exc.args else exc}[/red]")
        raise typer.Exit(2) from exc
    except duckdb.Error as exc:
        err_console.print(f"[red]query {name} failed: {exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        con.close()
    _emit_rows(columns, rows, fmt, out)
    if stale:
        err_console.print(
            f"[yellow]{stale} articles carry tags of an older annotation version than the latest used; "
            "`newswatch retag` brings them up to date.[/yellow]"
        )


def _print_query_list(settings: Settings) -> None:
    table = Table("name", "description", "parameters (type, default)")
    for info in list_queries(settings.sql_dir):
        params = "\n".join(
            f"{p.name} ({p.type}"
            + (f", default {p.default}" if p.default is not None else "")
            + (f", {p.note}" if p.note else "")
            + ")"
            for p in info.params
        )
        table.add_row(info.name, info.description, params)
    console.print(table)


@app.command("sql")
def sql_command(
    statement: Annotated[
        str, typer.Argument(help='SQL to run, e.g. "SELECT outlet, count(*) FROM articles"')
    ],
    fmt: FormatOption = "table",
    out: OutOption = None,
    db: DbOption = None,
) -> None:
    """Run ad-hoc SQL on a read-only connection: the tables, the views and DuckDB's functions; nothing
    can be written."""
    _check_format(fmt, out)
    settings = _settings(db)
    con = _readable(settings)
    try:
        cursor = con.execute(statement)
        columns = [d[0] for d in cursor.description or []]
        rows = [tuple(r) for r in cursor.fetchall()] if columns else []
    except duckdb.Error as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        con.close()
    _emit_rows(columns, rows, fmt, out)


@app.command("export")
def export_command(
    out_dir: Annotated[Path, typer.Argument(help="folder for the dataset (one subfolder per table)")],
    fmt: Annotated[str, typer.Option("--format", help="parquet (the only format)")] = "parquet",
    db: DbOption = None,
) -> None:
    """Snapshot the database as Parquet: the article tables partitioned by publication day (Hive
    layout, published_date=YYYY-MM-DD), readable by pyarrow, Spark, Polars or the duckdb CLI."""
    from etl.export import export_parquet

    if fmt != "parquet":
        raise typer.BadParameter("export writes parquet only", param_hint="--format")
    settings = _settings(db)
    con = _readable(settings)
    try:
        written = export_parquet(con, out_dir)
    finally:
        con.close()
    table = Table(
        "table", "rows", "partitioned by", "path", title=f"Exported to {out_dir}", title_justify="left"
    )
    for t in written:
        table.add_row(t.name, str(t.rows), "published_date" if t.partitioned else "", str(t.path))
    console.print(table)


@app.command()
def extract(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="an HTML file")],
    url: Annotated[str | None, typer.Option(help="the page's URL (for canonical URL and URL dates)")] = None,
) -> None:
    """Extract one saved HTML page and print the article as JSON."""
    try:
        article = extract_article(file.read_bytes(), url or file.resolve().as_uri())
    except ExtractionError as exc:
        err_console.print(f"[red]{file}: {exc}[/red]")
        raise typer.Exit(1) from exc
    payload = {
        "url": article.url,
        "canonical_url": article.canonical_url,
        "title": article.title,
        "authors": list(article.authors),
        "published": article.published.isoformat() if article.published else None,
        "published_source": article.published_source,
        "published_confidence": article.published_confidence,
        "flags": list(article.flags),
        "site_name": article.site_name,
        "language": article.language,
        "description": article.description,
        "text": article.text,
    }
    typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))


@app.command()
def annotate(
    in_: Annotated[Path, typer.Option("--in", exists=True, dir_okay=False, help='JSONL: {"doc_id", "text"}')],
    out: Annotated[Path, typer.Option("--out", help="JSONL with entities, quotes and topics per document")],
    batch: Annotated[int, typer.Option(help="documents per nlp.pipe batch")] = 64,
) -> None:
    """Tag documents with the configured pipeline; one output line per input document."""
    tagger = _tagger(_settings(nlp_batch_size=batch))
    written = 0
    with out.open("w", encoding="utf-8") as sink:
        for docs in _batches(_read_docs(in_), batch):
            for (doc_id, _), tagging in zip(docs, tagger.tag(text for _, text in docs), strict=True):
                sink.write(json.dumps(annotation(doc_id, tagging), ensure_ascii=False) + "\n")
                written += 1
    err_console.print(f"{written} documents tagged -> {out}")


def annotation(doc_id: str, tagging: Tagging) -> dict[str, Any]:
    """The stable `annotate` output record for one document."""
    return {
        "doc_id": doc_id,
        "entities": [
            {"text": m.text, "label": m.label, "start": m.start, "end": m.end, "canonical": m.canonical}
            for m in tagging.entities
        ],
        "quotes": [
            {
                "quote": q.quote,
                "quote_start": q.quote_start,
                "quote_end": q.quote_end,
                "speaker": q.speaker,
                "speaker_start": q.speaker_start,
                "speaker_end": q.speaker_end,
                "speaker_canonical": q.speaker_canonical,
                "cue": q.cue,
                "kind": q.kind,
            }
            for q in tagging.quotes
        ],
        "topics": [
            {
                "topic": t.topic,
                "score": t.score,
                "relevant": t.relevant,
                "evidence": [
                    {"kind": e.kind, "value": e.value, "where": e.where, "count": e.count, "weight": e.weight}
                    for e in t.evidence
                ],
            }
            for t in tagging.topics
        ],
    }


@feeds_app.command("add")
def feeds_add(
    url: Annotated[str, typer.Argument(help="feed or sitemap URL")],
    outlet: Annotated[str | None, typer.Option(help="short outlet id (default: the host)")] = None,
    name: Annotated[str, typer.Option(help="display name")] = "",
    sitemap: Annotated[bool, typer.Option("--sitemap", help="the URL is a (news) sitemap")] = False,
    db: DbOption = None,
) -> None:
    """Add a feed to the database (it is polled from the next ingest on)."""
    from etl.feeds import source_for

    settings = _settings(db)
    source = source_for(url, outlet=outlet, name=name, kind="sitemap" if sitemap else "feed")
    con = _writable(settings)
    try:
        store.register_feeds(con, [source])
    finally:
        con.close()
    console.print(f"added {source.url} (outlet {source.outlet})")


@feeds_app.command("import")
def feeds_import(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="an OPML file")],
    db: DbOption = None,
) -> None:
    """Add every feed of an OPML file."""
    from etl.opml import parse_opml

    settings = _settings(db)
    try:
        sources = parse_opml(file.read_bytes())
    except ValueError as exc:
        err_console.print(f"[red]{file}: {exc}[/red]")
        raise typer.Exit(1) from exc
    con = _writable(settings)
    try:
        store.register_feeds(con, sources)
    finally:
        con.close()
    console.print(f"{len(sources)} feeds imported from {file}")


@feeds_app.command("export")
def feeds_export(
    out: Annotated[Path | None, typer.Option("--out", help="write here instead of standard output")] = None,
    db: DbOption = None,
) -> None:
    """Write every feed as OPML 2.0."""
    from etl.opml import export_opml

    settings = _settings(db)
    con = _readable(settings)
    try:
        sources = store.feed_sources(con)
    finally:
        con.close()
    body = export_opml(sources)
    if out is None:
        sys.stdout.write(body.decode("utf-8"))
    else:
        out.write_bytes(body)
        console.print(f"{len(sources)} feeds written to {out}")


@feeds_app.command("discover")
def feeds_discover(
    site: Annotated[str, typer.Argument(help="a site's homepage URL")],
    add: Annotated[bool, typer.Option("--add", help="add the feeds found")] = False,
    outlet: Annotated[str | None, typer.Option(help="outlet id for --add (default: the host)")] = None,
    db: DbOption = None,
) -> None:
    """Find a site's feeds (declared links, linked feeds, common paths), confirmed by fetching them."""
    from etl.discover import probe_site
    from etl.feeds import source_for
    from etl.fetch import Fetcher

    settings = _settings(db)
    with Fetcher(settings) as fetcher:
        found = probe_site(fetcher, site)
    if not found:
        err_console.print(f"no feed found for {site}")
        raise typer.Exit(1)
    table = Table("url", "kind", "found by", "title")
    for feed in found:
        table.add_row(feed.url, feed.kind, feed.how, feed.title)
    console.print(table)
    if add:
        sources = [
            source_for(f.url, outlet=outlet, kind="sitemap" if f.kind == "sitemap" else "feed") for f in found
        ]
        con = _writable(settings)
        try:
            store.register_feeds(con, sources)
        finally:
            con.close()
        console.print(f"added {len(sources)} feeds")


@feeds_app.command("list")
def feeds_list(
    fmt: Annotated[
        str, typer.Option("--format", help="table (the main columns), csv or json (all)")
    ] = "table",
    db: DbOption = None,
) -> None:
    """The feeds and their health: status, last success, failures, next poll, items per day."""
    settings = _settings(db)
    con = _readable(settings)
    try:
        columns, rows = run_query(con, settings.sql_dir, "feed_health", {})
    finally:
        con.close()
    if fmt == "table":
        shown = {
            "outlet": "outlet",
            "health": "health",
            "last_status": "status",
            "failures": "fails",
            "next_poll_at": "next poll",
            "items_per_day": "items/day",
            "url": "url",
        }
        index = [columns.index(c) for c in shown]
        columns, rows = list(shown.values()), [tuple(_short(row[i]) for i in index) for row in rows]
    _print_rows(columns, rows, fmt)


@eval_app.command("extraction")
def eval_extraction(
    html_dir: Annotated[
        Path, typer.Option("--html-dir", exists=True, file_okay=False, help="<id>.html.gz files")
    ],
    truth: Annotated[Path, typer.Option("--truth", exists=True, dir_okay=False, help="ground-truth.json")],
    verbose: Annotated[bool, typer.Option("--verbose", help="list the worst pages")] = False,
) -> None:
    """Score text extraction on the article-extraction-benchmark format (4-word shingles, averaged)."""
    from etl.evals.extraction import evaluate_extraction, format_report

    typer.echo(format_report(evaluate_extraction(html_dir, truth), verbose=verbose))


@eval_app.command("dates")
def eval_dates(
    gold: Annotated[Path, typer.Option("--gold", exists=True, dir_okay=False, help="dates gold JSONL")],
    html_dir: Annotated[
        Path, typer.Option("--html-dir", exists=True, file_okay=False, help="<id>.html.gz files")
    ],
    verbose: Annotated[bool, typer.Option("--verbose", help="list the misses")] = False,
) -> None:
    """Accuracy of publication dates against a hand-checked gold file."""
    from etl.evals.dates import evaluate_dates, format_report

    typer.echo(format_report(evaluate_dates(gold, html_dir), verbose=verbose))


@eval_app.command("topics")
def eval_topics(
    gold: Annotated[Path, typer.Option("--gold", exists=True, dir_okay=False, help="topic gold JSONL")],
    texts: Annotated[
        list[Path] | None,
        typer.Option(
            "--texts", exists=True, dir_okay=False, help="JSONL {id, text, title?} for lines without text"
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", help="list the wrong decisions")] = False,
) -> None:
    """Precision, recall and F1 of topic relevance against a hand-labelled gold file."""
    from etl.evals.gold import GoldError, load_gold, load_texts
    from etl.evals.topics import evaluate_topics, format_report

    tagger = _tagger(_settings())
    try:
        docs = load_gold(gold, load_texts(texts or []))
        decisions = evaluate_topics(docs, tagger)
    except GoldError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    typer.echo(format_report(decisions, verbose=verbose))


@eval_app.command("quotes")
def eval_quotes(
    gold: Annotated[Path, typer.Option("--gold", exists=True, dir_okay=False, help="quote gold JSONL")],
    texts: Annotated[
        list[Path] | None,
        typer.Option("--texts", exists=True, dir_okay=False, help="JSONL {id, text} for lines without text"),
    ] = None,
    pred: Annotated[
        Path | None,
        typer.Option("--pred", exists=True, dir_okay=False, help="`newswatch annotate` output to score"),
    ] = None,
    kinds: Annotated[str, typer.Option(help="comma-separated kinds to score")] = "direct,mixed,indirect",
    overlap: Annotated[
        float, typer.Option(min=0.01, max=1.0, help="share of both spans that must overlap")
    ] = 0.5,
    verbose: Annotated[
        bool, typer.Option("--verbose", help="list misses, spurious quotes, wrong speakers")
    ] = False,
) -> None:
    """Quote and quote+speaker precision, recall and F1 against a hand-annotated gold file, per kind;
    scores `--pred` (annotate output) or, without it, tags the gold texts with the configured pipeline."""
    from etl.evals.gold import GoldError, json_lines, load_gold, load_texts
    from etl.evals.quotes import KINDS, format_report, pair_documents
    from etl.nlp.entities import AliasTable

    chosen = [k.strip() for k in kinds.split(",") if k.strip()]
    if not chosen or any(k not in KINDS for k in chosen):
        raise typer.BadParameter(f"--kinds takes a comma-separated subset of {', '.join(KINDS)}")
    settings = _settings()
    try:
        docs = load_gold(gold, load_texts(texts or []))
        if pred is not None:
            predictions = {str(r.get("doc_id")): r for _, r in json_lines(pred)}
        else:
            tagger = _tagger(settings)
            taggings = tagger.tag([d.text for d in docs], [d.title for d in docs])
            predictions = {d.doc_id: annotation(d.doc_id, t) for d, t in zip(docs, taggings, strict=True)}
        paired = pair_documents(docs, predictions, AliasTable.load(settings.aliases_file))
    except GoldError as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    typer.echo(format_report(paired, overlap, chosen, verbose=verbose))


@db_app.command("upgrade")
def db_upgrade(db: DbOption = None) -> None:
    """Create or upgrade the schema (the pending migrations, in one transaction) and the views."""
    settings = _settings(db)
    con = store.connect(settings.database, wait_s=settings.db_write_wait_s)
    try:
        before = store.current_revision(con)
        applied = store.migrate(con)
        store.upgrade(con, settings.sql_dir)
        if applied:
            console.print(f"schema migrated from {before or 'before migrations'}: {', '.join(applied)}")
        else:
            console.print(f"schema already at revision {store.current_revision(con)}")
        _print_counts(store.table_counts(con))
    finally:
        con.close()


@db_app.command("optimize")
def db_optimize(db: DbOption = None) -> None:
    """Sort the keyword-search index by term, so searches skip what they do not need (after large loads)."""
    settings = _settings(db)
    con = _writable(settings)
    try:
        store.optimize(con)
    finally:
        con.close()
    console.print("article_terms sorted by term")


@model_app.command("ensure")
def model_ensure() -> None:
    """Make sure the spaCy pipeline named by NEWSWATCH_NLP_MODEL is there; download en_core_web_sm if not."""
    from etl.nlp.pipeline import model_available

    model = _settings().nlp_model
    if model_available(model):
        console.print(f"spaCy pipeline ready: {model}")
        return
    if "/" in model or Path(model).exists():
        err_console.print(
            f"[red]NEWSWATCH_NLP_MODEL={model} is not a spaCy pipeline folder (no config.cfg).[/red]"
        )
        raise typer.Exit(1)
    console.print(f"spaCy pipeline {model} missing: python -m spacy download {model}")
    done = subprocess.run(
        [sys.executable, "-m", "spacy", "download", model], check=False, capture_output=True, text=True
    )
    if done.returncode != 0 or not model_available(model):
        reason = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        err_console.print(f"spacy download failed: {reason[0][:300]}")
        err_console.print(
            f"[red]Could not download {model} (offline?). Install it with `python -m spacy download {model}` "
            "on a machine with internet, or set NEWSWATCH_NLP_MODEL to a pipeline folder, e.g. "
            "NEWSWATCH_NLP_MODEL=/path/to/en_core_web_sm-3.8.0.[/red]"
        )
        raise typer.Exit(1)


def _tagger(settings: Settings) -> Any:
    """The configured Tagger, or a clear message and exit 1 when the pipeline is missing."""
    from etl.nlp.pipeline import ModelNotFound, Tagger

    try:
        return Tagger.from_settings(settings)
    except ModelNotFound as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


def _readable(settings: Settings) -> Any:
    if not settings.database.exists():
        err_console.print(
            f"[red]no database at {settings.database}: run `newswatch ingest` or `newswatch demo` first[/red]"
        )
        raise typer.Exit(1)
    try:
        return store.connect(settings.database, read_only=True, wait_s=settings.db_read_wait_s)
    except store.DatabaseBusy as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


def _writable(settings: Settings) -> Any:
    try:
        con = store.connect(settings.database, wait_s=settings.db_write_wait_s)
    except store.DatabaseBusy as exc:
        err_console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    # Migrations before any write, never inside a write's transaction.
    store.upgrade(con, settings.sql_dir)
    return con


def _read_docs(path: Path) -> Iterator[tuple[str, str]]:
    with path.open(encoding="utf-8") as source:
        for number, line in enumerate(source, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                yield str(record["doc_id"]), str(record["text"])
            except (ValueError, KeyError, TypeError) as exc:
                err_console.print(
                    f"[yellow]{path}:{number}: skipped, not a {{doc_id, text}} record ({exc})[/yellow]"
                )


def _batches(items: Iterator[tuple[str, str]], size: int) -> Iterator[list[tuple[str, str]]]:
    chunk: list[tuple[str, str]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _split_param(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep:
        raise typer.BadParameter(f"--param wants k=v, got {text!r}")
    return key.strip(), value


_FORMATS = ("table", "csv", "json", "parquet")


def _check_format(fmt: str, out: Path | None) -> None:
    if fmt not in _FORMATS:
        raise typer.BadParameter(f"{fmt!r}; choose one of {', '.join(_FORMATS)}", param_hint="--format")
    if fmt == "parquet" and out is None:
        raise typer.BadParameter("parquet is binary: give a file with --out", param_hint="--format")


def _emit_rows(columns: list[str], rows: list[tuple[Any, ...]], fmt: str, out: Path | None) -> None:
    """Rows to standard output, or to `out`, in one of _FORMATS."""
    if out is None:
        _print_rows(columns, rows, fmt)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)}), out)
    elif fmt == "table":
        with out.open("w", encoding="utf-8") as sink:
            Console(file=sink, width=200).print(_rich_table(columns, rows))
    else:
        with out.open("w", encoding="utf-8", newline="") as sink:
            _write_text_rows(columns, rows, fmt, sink)
    err_console.print(f"{len(rows)} rows written to {out}")


def _write_text_rows(columns: list[str], rows: list[tuple[Any, ...]], fmt: str, sink: TextIO) -> None:
    if fmt == "json":
        sink.write(
            json.dumps(
                [dict(zip(columns, row, strict=True)) for row in rows], default=str, ensure_ascii=False
            )
        )
        sink.write("\n")
    else:
        import csv

        writer = csv.writer(sink)
        writer.writerow(columns)
        writer.writerows(rows)


def _rich_table(columns: list[str], rows: list[tuple[Any, ...]]) -> Table:
    table = Table(*columns)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    return table


def _print_rows(columns: list[str], rows: list[tuple[Any, ...]], fmt: str) -> None:
    if fmt in ("json", "csv"):
        _write_text_rows(columns, rows, fmt, sys.stdout)
    else:
        console.print(_rich_table(columns, rows))


def _short(value: Any) -> Any:
    """Times to the minute, for tables people read."""
    return value.strftime("%Y-%m-%d %H:%M") if hasattr(value, "strftime") else value


def _print_counts(counts: dict[str, int]) -> None:
    table = Table("table", "rows", title="Rows per table", title_justify="left")
    for name, count in counts.items():
        table.add_row(name, str(count))
    console.print(table)
