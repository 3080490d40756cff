"""The backfill job (etl.backfill) on a real DuckDB file with the real spaCy pipeline: every shared archive
goes through, broken ones leave recorded errors; dumps with date window and prefilter; checkpoints; a
backfill killed with SIGKILL and resumed ends with the same tables as an uninterrupted one; Arrow
round trip of batch results."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import need

from etl import backfill, store
from etl.archive import PageRecord, read_warc
from etl.nlp.entities import AliasTable
from etl.nlp.pipeline import Tagger
from etl.nlp.topics import load_topics
from etl.prefilter import build_prefilter
from etl.samplepages import load_articles, pages, write_warc
from etl.settings import PROJECT_ROOT, Settings


@pytest.fixture(scope="module")
def tools(tagger: Tagger) -> backfill.WorkerTools:
    topics = load_topics()
    aliases = AliasTable.load()
    return backfill.WorkerTools(tagger, {t.name: build_prefilter(topics, t.name, aliases) for t in topics})


def _db(tmp_path: Path, name: str = "nw.duckdb") -> tuple[Settings, duckdb.DuckDBPyConnection]:
    settings = Settings(data_dir=tmp_path, db_path=tmp_path / name)
    con = store.connect(settings.database)
    store.upgrade(con, settings.sql_dir)
    return settings, con


def _archives(shared: Path) -> list[Path]:
    inventory = shared / "data" / "warc" / "inventory.json"
    need(inventory.is_file(), f"WARC inventory missing: {inventory}")
    return [shared / "data" / "warc" / name for name in json.loads(inventory.read_text(encoding="utf-8"))]


def test_every_shared_archive_goes_through_backfill(
    shared: Path, tools: backfill.WorkerTools, tmp_path: Path
) -> None:
    files = _archives(shared)
    broken = {
        str(shared / "data" / "warc" / name)
        for name, facts in json.loads((shared / "data" / "warc" / "inventory.json").read_text()).items()
        if facts["error"]
    }
    settings, con = _db(tmp_path)
    options = backfill.BackfillOptions(batch_size=25)
    report = backfill.run_backfill(
        settings, con, [str(f) for f in files], options, backfill.InlineExecutor(tools), run_id="all"
    )
    assert report.counts["sources"] == len(files)
    checkpoints = store.backfill_checkpoints(con)
    assert set(checkpoints) == {str(f.resolve()) for f in files}
    for f in files:
        cp = checkpoints[str(f.resolve())]
        assert cp.done and cp.next_offset == f.stat().st_size and cp.size_bytes == f.stat().st_size
    # Broken files: an 'unreadable' error where they break; the records before it still count.
    unreadable = {
        r[0] for r in con.execute("select source from backfill_errors where stage = 'unreadable'").fetchall()
    }
    assert unreadable == {str(Path(b).resolve()) for b in broken}
    # Every HTML page either loaded, was a duplicate of one, or failed extraction with a recorded error.
    pages_read = sum(1 for f in files for i in read_warc(str(f)) if isinstance(i, PageRecord))
    assert report.counts["pages"] == pages_read
    settled = sum(report.counts.get(k, 0) for k in ("loaded", "duplicate", "extract_error"))
    assert settled == pages_read
    extract_errors = con.execute(
        "select count(*) from backfill_errors where stage = 'extract_error'"
    ).fetchone()
    assert extract_errors is not None and extract_errors[0] == report.counts.get("extract_error", 0)
    loaded = {r[0] for r in con.execute("select url from articles").fetchall()}
    assert report.counts["articles_loaded"] == len(loaded) > 20
    assert "https://an.wikipedia.org/wiki/Escopete" in loaded  # Common Crawl's sample page
    assert "http://www.iana.org/" in loaded
    # Each loaded article was sighted in the archive it came from.
    unsighted = con.execute(
        "select count(*) from articles a where not exists "
        "(select 1 from article_sightings s where s.article_id = a.article_id and s.source like '%/warc/%')"
    ).fetchone()
    assert unsighted == (0,)
    # A re-run skips every finished source and loads nothing.
    before = store.table_counts(con)
    again = backfill.run_backfill(
        settings, con, [str(f) for f in files], options, backfill.InlineExecutor(tools), run_id="again"
    )
    assert again.counts.get("sources_skipped") == len(files) and "records" not in again.counts
    assert store.table_counts(con) == before


def _dump(shared: Path, tmp_path: Path, each: int = 8) -> Path:
    rows: list[str] = []
    for name in ("isot_subset.jsonl", "isot_subset.control.jsonl"):
        path = shared / "data" / "articles" / name
        need(path.is_file(), f"articles missing: {path}")
        rows += path.read_text(encoding="utf-8").splitlines()[:each]
    dump = tmp_path / "dump.jsonl"
    dump.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return dump


def test_dump_backfill_with_window_and_prefilter(
    shared: Path, tools: backfill.WorkerTools, tmp_path: Path
) -> None:
    dump = _dump(shared, tmp_path)
    rows = [json.loads(line) for line in dump.read_text(encoding="utf-8").splitlines()]
    since, until = datetime(2017, 9, 15, tzinfo=UTC), datetime(2017, 12, 25, tzinfo=UTC)
    settings, con = _db(tmp_path)
    options = backfill.BackfillOptions(
        since=since, until=until, prefilter="russian_interference", batch_size=4
    )
    report = backfill.run_backfill(
        settings, con, [str(dump)], options, backfill.InlineExecutor(tools), run_id="d"
    )
    prefilter = tools.prefilters["russian_interference"]
    in_window = [r for r in rows if r["published"] and "2017-09-15" <= r["published"][:10] < "2017-12-25"]
    # The dump has no URLs: its ids name the articles.
    expected = {
        f"urn:newswatch:dump:{r['id']}" for r in in_window if prefilter.passes_text(r["title"], r["text"])
    }
    assert 0 < len(expected) < len(rows)
    stored = dict(con.execute("select url, published from articles").fetchall())
    assert set(stored) == expected
    assert all(since <= p < until for p in stored.values())
    assert report.counts["texts"] == len(rows)
    assert report.counts["filtered:date"] + report.counts["filtered:topic"] + len(expected) == len(rows)
    # Extraction is skipped: the dump's own title and text are stored as they are.
    first = next(r for r in in_window if f"urn:newswatch:dump:{r['id']}" in expected)
    url = f"urn:newswatch:dump:{first['id']}"
    assert con.execute("select title, text from articles where url = ?", [url]).fetchone() == (
        first["title"],
        first["text"].strip(),
    )
    # Loading the same dump again (checkpoint dropped) inserts nothing new.
    counts = store.table_counts(con)
    con.execute("delete from backfill_progress")
    again = backfill.run_backfill(
        settings, con, [str(dump)], options, backfill.InlineExecutor(tools), run_id="d2"
    )
    assert again.counts.get("articles_loaded", 0) == 0
    after = store.table_counts(con)
    assert {k: v for k, v in after.items() if k != "backfill_progress"} == {
        k: v for k, v in counts.items() if k != "backfill_progress"
    }


def test_sparse_results_load_together(
    shared: Path, tools: backfill.WorkerTools, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a prefilter most batches carry one article or none: consecutive results of a source load in
    one transaction with one checkpoint, a page repeated across them counts once (a duplicate), and the
    tables are those of loading every batch on its own."""
    prefilter = tools.prefilters["russian_interference"]
    articles = shared / "data" / "articles"
    need((articles / "isot_subset.jsonl").is_file(), f"articles missing: {articles}")
    on_topic = [
        a for a in load_articles([articles / "isot_subset.jsonl"]) if prefilter.passes_text(a.title, a.text)
    ]
    control = [
        a
        for a in load_articles([articles / "isot_subset.control.jsonl"])
        if not prefilter.passes_text(a.title, a.text)
    ]
    items = list(pages(control[:21], 21))
    topical = list(pages(on_topic[:3], 3))
    for position, item in zip((2, 10, 18), topical, strict=True):
        items.insert(position, item)
    items.insert(22, topical[0])  # the same page again, two batches later
    warc = tmp_path / "sparse.warc.gz"
    write_warc(warc, items)
    options = backfill.BackfillOptions(prefilter="russian_interference", batch_size=4)

    def run(name: str) -> tuple[backfill.BackfillReport, int, dict[str, Any]]:
        settings, con = _db(tmp_path, f"{name}.duckdb")
        loads: list[str] = []
        report = backfill.run_backfill(
            settings,
            con,
            [str(warc)],
            options,
            backfill.InlineExecutor(tools),
            run_id="sparse",
            progress=lambda event, counts: loads.append(event),
        )
        (checkpoint,) = store.backfill_checkpoints(con).values()
        assert checkpoint.done and checkpoint.articles_loaded == 3
        contents = table_contents(con)
        con.close()
        return report, len(loads), contents

    merged, merged_loads, merged_tables = run("merged")
    # 25 pages in 7 batches of 4: the 4th page to pass the prefilter fills a load, the last batch ends it.
    assert merged_loads == 2
    assert merged.counts["pages"] == 25
    assert (merged.counts["articles_loaded"], merged.counts["duplicate"]) == (3, 1)
    assert merged.counts["filtered:topic"] == 21
    monkeypatch.setattr(backfill, "MAX_MERGED_BATCHES", 1)
    alone, alone_loads, alone_tables = run("alone")
    assert alone_loads == 7
    assert alone.counts == merged.counts
    assert alone_tables == merged_tables


def test_batch_results_survive_the_arrow_trip(
    shared: Path, tools: backfill.WorkerTools, tmp_path: Path
) -> None:
    dump = _dump(shared, tmp_path, each=3)
    from etl.archive import Columns, TextRecord, read_jsonl

    records = tuple(r for r in read_jsonl(str(dump), columns=Columns()) if isinstance(r, TextRecord))
    result = backfill.process_work(backfill.WorkBatch(str(dump), records, "arrow"), tools)
    assert len(result.tagged) == len(records) and any(t.tagging.quotes for t in result.tagged)
    assert backfill.result_from_arrow(backfill.result_to_arrow(result)) == result


# -- kill -9 and resume -----------------------------------------------------------------------------------

# Columns that say when or by which run a row was written: they differ between any two runs.
_RUN_COLUMNS = {"run_id", "started_at", "updated_at", "recorded_at", "first_used_at"}


def table_contents(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows (sorted), without the columns that record the run or the wall-clock time."""
    contents = {}
    for table in store.metadata.sorted_tables:
        if table.name == "runs":
            continue
        cols = [c.name for c in table.columns if c.name not in _RUN_COLUMNS]
        rows = con.execute(f'select {", ".join(cols)} from "{table.name}"').fetchall()
        contents[table.name] = sorted(rows, key=repr)
    return contents


_CHILD = """
import sys
from etl import backfill, store
from etl.settings import Settings
settings = Settings(db_path=sys.argv[1], data_dir=sys.argv[2])
con = store.connect(settings.database)
store.upgrade(con, settings.sql_dir)
executor = backfill.InlineExecutor(backfill.build_tools(settings))
def progress(event, counts):
    print("checkpoint", counts.get("records", 0), flush=True)
backfill.run_backfill(settings, con, [sys.argv[3]], backfill.BackfillOptions(batch_size=int(sys.argv[4])),
                      executor, run_id=sys.argv[5], progress=progress)
print("finished", flush=True)
"""


def _sample_warc(shared: Path, tmp_path: Path, count: int) -> Path:
    articles_file = shared / "data" / "articles" / "isot_subset.jsonl"
    need(articles_file.is_file(), f"articles missing: {articles_file}")
    path = tmp_path / "sample.warc.gz"
    write_warc(path, pages(load_articles([articles_file])[:count], count))
    return path


def test_killed_backfill_resumes_to_the_same_tables(
    shared: Path, tools: backfill.WorkerTools, model_name: str, tmp_path: Path
) -> None:
    warc = _sample_warc(shared, tmp_path, 40)
    batch = 4
    # The uninterrupted run.
    settings, con = _db(tmp_path, "whole.duckdb")
    backfill.run_backfill(
        settings,
        con,
        [str(warc)],
        backfill.BackfillOptions(batch_size=batch),
        backfill.InlineExecutor(tools),
        run_id="whole",
    )
    whole = table_contents(con)
    con.close()
    assert len(whole["articles"]) == 40

    # A run in a real process, killed with SIGKILL after its third checkpoint.
    killed_db = tmp_path / "killed.duckdb"
    env = {**os.environ, "NEWSWATCH_NLP_MODEL": model_name}
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(killed_db), str(tmp_path), str(warc), str(batch), "killed"],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
    )
    assert child.stdout is not None
    checkpoints = 0
    for line in child.stdout:
        checkpoints += line.startswith("checkpoint")
        if checkpoints == 3:
            child.send_signal(signal.SIGKILL)
            break
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL
    con = store.connect(killed_db)
    (cp,) = store.backfill_checkpoints(con).values()
    assert not cp.done and 0 < cp.next_offset < warc.stat().st_size
    partial = con.execute("select count(*) from articles").fetchone()
    assert partial is not None and 0 < partial[0] < 40
    con.close()

    # The resumed run, in a fresh process too, then the tables compared.
    finished = subprocess.run(
        [sys.executable, "-c", _CHILD, str(killed_db), str(tmp_path), str(warc), str(batch), "resumed"],
        capture_output=True,
        text=True,
        env=env,
        cwd=PROJECT_ROOT,
        timeout=300,
        check=True,
    )
    assert "finished" in finished.stdout
    con = store.connect(killed_db)
    assert table_contents(con) == whole
    con.close()


# -- URL lists and sitemaps through the polite fetcher ------------------------------------------------------


def test_url_list_and_sitemap_are_fetched_politely(
    shared: Path, tools: backfill.WorkerTools, tmp_path: Path
) -> None:
    import random

    from pytest_httpserver import HTTPServer

    from etl.fetch import Fetcher
    from etl.samplepages import render_page

    articles_file = shared / "data" / "articles" / "isot_subset.control.jsonl"
    need(articles_file.is_file(), f"articles missing: {articles_file}")
    sample = load_articles([articles_file])[:3]
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        urls = [server.url_for(f"/story/{i}.html") for i in range(3)]
        for i, (url, article) in enumerate(zip(urls, sample, strict=True)):
            page = render_page(article, url, random.Random(0))
            server.expect_request(f"/story/{i}.html").respond_with_data(page, content_type="text/html")
        server.expect_request("/gone.html").respond_with_data("gone", status=404, content_type="text/html")
        listing = tmp_path / "urls.txt"
        listing.write_text("\n".join([*urls[:2], server.url_for("/gone.html")]) + "\n", encoding="utf-8")
        sitemap = tmp_path / "news-sitemap.xml"
        sitemap.write_text(
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + "".join(f"<url><loc>{u}</loc></url>" for u in urls[1:])
            + "</urlset>",
            encoding="utf-8",
        )
        settings, con = _db(tmp_path)
        settings = settings.model_copy(
            update={"fetch_allow_networks": ["127.0.0.0/8"], "obey_robots": False, "fetch_host_rate": 1000.0}
        )
        with Fetcher(settings) as fetcher:
            report = backfill.run_backfill(
                settings,
                con,
                [str(listing), str(sitemap)],
                backfill.BackfillOptions(batch_size=2),
                backfill.InlineExecutor(tools),
                run_id="urls",
                fetcher=fetcher,
            )
        fetched = [request.path for request, _ in server.log]
    finally:
        server.stop()
    stored = {r[0] for r in con.execute("select url from articles").fetchall()}
    assert stored == set(urls)
    # The sitemap's first URL was stored by the list already: not fetched twice.
    assert sorted(fetched) == sorted(["/story/0.html", "/story/1.html", "/gone.html", "/story/2.html"])
    assert report.counts["skipped:already-stored"] == 1
    errors = con.execute("select url, stage from backfill_errors").fetchall()
    assert errors == [(server.url_for("/gone.html"), "fetch_error")]
    # Each fetch row says what became of the page.
    assert dict(con.execute("select url, outcome from fetches").fetchall()) == {
        **dict.fromkeys(urls, "loaded"),
        server.url_for("/gone.html"): "fetch_error",
    }


def test_sitemap_index_children_are_followed_and_dated(
    shared: Path, tools: backfill.WorkerTools, tmp_path: Path
) -> None:
    """A sitemap index given by URL: its children are read as sources of their own (a child last
    modified before `--since` is not fetched at all, nor is a page the sitemap dates before it), a child
    that cannot be fetched is an error the next run retries, and a re-run reads the index again but
    skips the children already done."""
    import random

    from pytest_httpserver import HTTPServer

    from etl.fetch import Fetcher
    from etl.samplepages import render_page

    articles_file = shared / "data" / "articles" / "isot_subset.control.jsonl"
    need(articles_file.is_file(), f"articles missing: {articles_file}")
    sample = load_articles([articles_file])[:2]
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    try:
        paths = [f"/2024/story-{i}.html" for i in range(2)]
        urls = [server.url_for(p) for p in paths]
        for path, url, article in zip(paths, urls, sample, strict=True):
            page = render_page(article, url, random.Random(0))
            server.expect_request(path).respond_with_data(page, content_type="text/html")
        ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
        news = 'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'
        server.expect_request("/sitemap-index.xml").respond_with_data(
            f'<?xml version="1.0"?><sitemapindex {ns}>'
            f"<sitemap><loc>{server.url_for('/sitemap-2024.xml')}</loc><lastmod>2024-06-30</lastmod></sitemap>"
            f"<sitemap><loc>{server.url_for('/sitemap-2014.xml')}</loc><lastmod>2014-12-31</lastmod></sitemap>"
            f"<sitemap><loc>{server.url_for('/sitemap-broken.xml')}</loc></sitemap>"
            "</sitemapindex>",
            content_type="application/xml",
        )

        def news_entry(url: str, when: str) -> str:
            return (
                f"<url><loc>{url}</loc><news:news><news:publication><news:name>T</news:name>"
                f"<news:language>en</news:language></news:publication>"
                f"<news:publication_date>{when}</news:publication_date><news:title>t</news:title>"
                "</news:news></url>"
            )

        server.expect_request("/sitemap-2024.xml").respond_with_data(
            f'<?xml version="1.0"?><urlset {ns} {news}>'
            + news_entry(urls[0], "2016-03-01T10:00:00Z")
            + news_entry(urls[1], "2016-04-01T10:00:00Z")
            + news_entry(server.url_for("/2014/old.html"), "2014-12-30T10:00:00Z")
            + "</urlset>",
            content_type="application/xml",
        )
        server.expect_request("/sitemap-broken.xml").respond_with_data("down", status=500)
        settings, con = _db(tmp_path)
        settings = settings.model_copy(
            update={
                "fetch_allow_networks": ["127.0.0.0/8"],
                "obey_robots": False,
                "fetch_host_rate": 1000.0,
                "fetch_retries": 0,
            }
        )
        options = backfill.BackfillOptions(batch_size=2, since=datetime(2015, 1, 1, tzinfo=UTC))

        def run(run_id: str) -> backfill.BackfillReport:
            with Fetcher(settings) as fetcher:
                return backfill.run_backfill(
                    settings,
                    con,
                    [server.url_for("/sitemap-index.xml")],
                    options,
                    backfill.InlineExecutor(tools),
                    run_id=run_id,
                    fetcher=fetcher,
                )

        first = run("one")
        fetched_first = sorted(request.path for request, _ in server.log)
        server.clear_log()
        second = run("two")
        fetched_second = sorted(request.path for request, _ in server.log)
    finally:
        server.stop()
    stored = {r[0] for r in con.execute("select url from articles").fetchall()}
    assert stored == set(urls)
    # Neither the 2014 sitemap nor the page dated 2014 was fetched (the sample pages are from 2016-17).
    assert fetched_first == sorted(["/sitemap-index.xml", "/sitemap-2024.xml", "/sitemap-broken.xml", *paths])
    assert first.counts["sitemap_indexes"] == 1
    assert first.counts["sitemaps_listed"] == 3
    assert first.counts["filtered:sitemap_date"] == 1
    assert first.counts["filtered:date"] == 1
    assert first.counts["articles_loaded"] == 2
    (error,) = first.errors
    assert (error.source, error.stage, error.error) == (
        server.url_for("/sitemap-broken.xml"),
        "fetch_error",
        "fetch_error: HTTP 500",
    )
    checkpoints = store.backfill_checkpoints(con)
    assert checkpoints[server.url_for("/sitemap-2024.xml")].done
    assert not checkpoints[server.url_for("/sitemap-broken.xml")].done
    # The re-run reads the index again and retries the broken child; the done child is not fetched.
    assert fetched_second == ["/sitemap-broken.xml", "/sitemap-index.xml"]
    assert second.counts["sources_skipped"] == 1
    assert con.execute("select count(*) from backfill_errors").fetchone() == (1,)


# -- checkpoints in the store -----------------------------------------------------------------------------


def _checkpoint(offset: int, done: bool = False) -> store.BackfillCheckpoint:
    at = datetime(2026, 1, 2, tzinfo=UTC)
    return store.BackfillCheckpoint(
        "/a.warc.gz", "warc", 100, offset, 3, 1, 1, {"pages": 2}, done, at, at, "r"
    )


def test_checkpoints_round_trip_and_saving_twice_changes_nothing(tmp_path: Path) -> None:
    _, con = _db(tmp_path)
    error = store.BackfillErrorRow(
        "/a.warc.gz", 7, "damaged_record", None, "truncated", "r", datetime.now(UTC)
    )
    store.save_backfill_checkpoint(con, _checkpoint(50), [error])
    store.save_backfill_checkpoint(con, _checkpoint(50), [error])
    assert store.backfill_checkpoints(con) == {"/a.warc.gz": _checkpoint(50)}
    assert con.execute("select count(*) from backfill_errors").fetchone() == (1,)
    store.save_backfill_checkpoint(con, _checkpoint(100, done=True))
    assert store.backfill_checkpoints(con)["/a.warc.gz"] == _checkpoint(100, done=True)


def test_a_batch_and_its_checkpoint_commit_together(tmp_path: Path) -> None:
    from test_store import make_batch

    _, con = _db(tmp_path)

    def failing(tx: duckdb.DuckDBPyConnection, counts: store.LoadCounts) -> None:
        store.write_backfill_checkpoint(tx, _checkpoint(60))
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        store.load_articles(con, make_batch(), run_id="r", then=failing)
    assert con.execute("select count(*) from articles").fetchone() == (0,)
    assert store.backfill_checkpoints(con) == {}

    seen: list[int] = []

    def saving(tx: duckdb.DuckDBPyConnection, counts: store.LoadCounts) -> None:
        seen.append(counts.articles)
        store.write_backfill_checkpoint(tx, _checkpoint(60))

    store.load_articles(con, make_batch(), run_id="r", then=saving)
    assert seen == [3] and store.backfill_checkpoints(con)["/a.warc.gz"].next_offset == 60


def test_a_missing_source_is_an_error_and_the_others_load(
    shared: Path, tools: backfill.WorkerTools, tmp_path: Path
) -> None:
    example = shared / "data" / "warc" / "warcio" / "example.warc.gz"
    need(example.is_file(), f"missing: {example}")
    settings, con = _db(tmp_path)
    report = backfill.run_backfill(
        settings,
        con,
        [str(tmp_path / "nowhere.warc.gz"), str(example)],
        backfill.BackfillOptions(),
        backfill.InlineExecutor(tools),
        run_id="m",
    )
    assert report.counts["sources_missing"] == 1 and report.counts["sources"] == 1
    assert [e.error for e in report.errors] == ["no such file"]
    assert store.backfill_checkpoints(con)[str(example.resolve())].done
