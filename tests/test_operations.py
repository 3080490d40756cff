"""Operations: run reports (etl/runreport.py) and their artifacts, `newswatch status`, the one-writer slot
(flows/dbwriter.py), and deadlines on the network tasks. Real parts throughout: the Prefect test server,
DuckDB files, HTTP servers and a second process on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from etl import runreport, store
from etl.demo import serve_site
from etl.fetch import Fetcher
from etl.settings import PROJECT_ROOT, Settings
from etl.status import status_of

SQL_DIR = Settings().sql_dir
RSS = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"


# -- a server that takes its time ------------------------------------------------------------------------


@pytest.fixture
def slow_server() -> Iterator[str]:
    """Answers every GET with an empty RSS feed, after 3 seconds."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            time.sleep(3)
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(RSS)))
                self.end_headers()
                self.wfile.write(RSS)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the fetcher gave up on us, which is the point

        def log_message(self, format: str, *args: object) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    httpd.server_close()


def test_batch_deadline_turns_unfinished_fetches_into_timeout_errors(slow_server: str):
    settings = Settings(fetch_allow_networks=["127.0.0.1/32"], fetch_timeout_s=10, fetch_host_rate=100)
    started = time.monotonic()
    with Fetcher(settings) as fetcher:
        results = fetcher.fetch_many([f"{slow_server}/a", f"{slow_server}/b"], deadline_s=0.5)
    elapsed = time.monotonic() - started
    assert elapsed < 2.5  # not the server's 3 s, let alone the 10 s request timeout
    assert [r.error for r in results] == ["timeout: not done within the deadline of 0.5s"] * 2
    assert all(r.status is None and r.body == b"" for r in results)


def _artifacts(flow_run_id: Any) -> dict[str, Any]:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
    return {a.key: a for a in found}


def _table(artifact: Any) -> list[dict[str, Any]]:
    data = artifact.data
    return data if isinstance(data, list) else json.loads(data)


def test_feeds_past_the_deadline_are_errors_and_the_run_completes(
    prefect_harness, slow_server: str, tmp_path: Path, monkeypatch
):
    from flows.ingest import ingest

    monkeypatch.setenv("NEWSWATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEWSWATCH_FETCH_BATCH_DEADLINE_S", "0.5")
    monkeypatch.setenv("NEWSWATCH_FETCH_TIMEOUT_S", "10")
    feeds = tmp_path / "feeds.toml"
    feeds.write_text(
        "".join(
            f'[[feeds]]\nurl = "{slow_server}/{name}.xml"\noutlet = "{name}"\nhost_rate = 100\n\n'
            for name in ("slowpoke", "laggard")
        )
    )
    db = tmp_path / "news.duckdb"
    state = ingest(feeds_file=str(feeds), db_path=str(db), allow_networks=["127.0.0.1/32"], return_state=True)
    assert state.is_completed()  # errors on items are not a crash
    counts = state.result()
    assert counts["feeds_polled"] == 2 and counts["feed_errors"] == 2

    run_id = str(state.state_details.flow_run_id)
    con = store.connect(db, read_only=True)
    try:
        report = runreport.run_report(con, run_id)
    finally:
        con.close()
    assert report.status == "completed_with_errors" and report.flow == "ingest"
    assert [(e.kind, e.count) for e in report.errors] == [("feed / timeout", 2)]
    assert {f.outlet for f in report.feeds} == {"slowpoke", "laggard"}
    assert all(f.error and f.error.startswith("timeout:") for f in report.feeds)
    assert report.new_articles == 0 and report.top_entities == ()

    artifacts = _artifacts(state.state_details.flow_run_id)
    assert "feed / timeout" in str(artifacts["ingest-run-summary"].data)
    rows = _table(artifacts["ingest-feeds"])
    assert sorted(r["outlet"] for r in rows) == ["laggard", "slowpoke"]
    assert all(r["error"].startswith("timeout:") for r in rows)


# -- run reports from hand-made rows -------------------------------------------------------------------


def _db(tmp_path: Path) -> Any:
    con = store.connect(tmp_path / "ops.duckdb")
    store.upgrade(con, SQL_DIR)
    return con


def test_run_report_groups_errors_and_times_hosts(tmp_path: Path):
    con = _db(tmp_path)
    t0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
    store.start_run(con, "r1", "ingest", started_at=t0)
    errors = [
        {"item": f"https://a.example/{i}", "stage": "fetch_error", "error": "HTTP 503"} for i in range(5)
    ] + [
        {"item": "https://b.example/x", "stage": "fetch_error", "error": "timeout: ReadTimeout"},
        {"item": "https://c.example/feed", "stage": "feed", "error": "HTTP 404"},
    ]
    store.finish_run(
        con,
        "r1",
        "completed_with_errors",
        {"feeds_polled": 1},
        errors,
        finished_at=t0 + timedelta(seconds=42),
    )
    con.execute(
        "insert into feeds (feed_id, listed_url, url, outlet) values (1, 'https://c.example/feed', "
        "'https://c.example/feed', 'c|d')"
    )
    con.execute(
        "insert into feed_polls (poll_id, feed_id, url, polled_at, status, elapsed_ms, entries, new_items, "
        "error, run_id) values (10, 1, 'https://c.example/feed', ?, 404, 900, 0, 0, 'HTTP 404', 'r1')",
        [t0],
    )
    con.executemany(
        "insert into fetches (url, elapsed_ms, run_id, outcome) values (?, ?, ?, 'fetch_error')",
        [
            ("https://a.example/1", 100, "r1"),
            ("https://a.example/2", 300, "r1"),
            ("https://b.example/x", 5000, "r1"),
            ("https://z.example/other-run", 99999, "r0"),
        ],
    )
    report = runreport.run_report(con, "r1", top=2)
    con.close()

    assert report.duration_s == 42 and report.error_total == 7
    assert [(e.kind, e.count) for e in report.errors] == [
        ("fetch_error / HTTP 503", 5),
        ("feed / HTTP 404", 1),
        ("fetch_error / timeout", 1),
    ]
    kinds = {e.kind: e for e in report.errors}
    assert kinds["fetch_error / timeout"].examples == (("https://b.example/x", "timeout: ReadTimeout"),)
    # Only the run's own requests, slowest first, `top` of them.
    assert [(h.host, h.requests, h.max_ms) for h in report.slowest_hosts] == [
        ("b.example", 1, 5000),
        ("c.example", 1, 900),
    ]
    assert [(f.outlet, f.status, f.error) for f in report.feeds] == [("c|d", 404, "HTTP 404")]
    markdown = runreport.render_markdown(report)
    assert "# ingest run: completed_with_errors" in markdown and "took 42.0 s" in markdown
    assert "c\\|d" not in markdown  # outlets are in the table artifact, not the summary
    assert runreport.feed_table(report)[0]["outlet"] == "c|d"


def test_error_kinds_merge_messages_that_differ_by_url():
    rows = [
        {"item": f"u{i}", "stage": "fetch_error", "error": f"ConnectError: [Errno 111] to host{i}"}
        for i in range(7)
    ]
    (kind,) = runreport._errors(rows)
    assert kind.kind == "fetch_error / ConnectError" and kind.count == 7 and len(kind.examples) == 3
    assert runreport.error_kind("feed", "") == "feed / unknown"


def test_run_report_of_an_unknown_run(tmp_path: Path):
    con = _db(tmp_path)
    with pytest.raises(runreport.RunNotFound):
        runreport.run_report(con, "nope")
    con.close()


# -- status ------------------------------------------------------------------------------------------------


def test_status_lists_runs_outcomes_and_feeds_in_trouble(tmp_path: Path):
    con = _db(tmp_path)
    now = datetime.now(UTC)
    store.start_run(con, "old", "ingest", started_at=now - timedelta(hours=1))
    store.finish_run(
        con,
        "old",
        "completed",
        {"feeds_polled": 3, "articles_loaded": 7},
        [],
        finished_at=now - timedelta(minutes=59),
    )
    store.start_run(con, "new", "ingest", started_at=now - timedelta(minutes=5))
    store.finish_run(
        con,
        "new",
        "completed_with_errors",
        {"feeds_polled": 2},
        [{"item": "x", "stage": "feed", "error": "HTTP 500"}],
        finished_at=now - timedelta(minutes=4),
    )
    store.start_run(con, "live", "retag", started_at=now - timedelta(minutes=1))
    con.execute(
        "insert into feeds (feed_id, listed_url, url, outlet, consecutive_failures, paused, last_status, "
        "last_error, last_polled_at) values (1, 'https://ok.example/f', 'https://ok.example/f', 'ok', 0, "
        "false, 200, null, now()), (2, 'https://bad.example/f', 'https://bad.example/f', 'bad', 3, false, "
        "500, 'HTTP 500', now()), (3, 'https://off.example/f', 'https://off.example/f', 'off', 9, true, 404, "
        "'HTTP 404', now())"
    )
    con.close()

    status = status_of(tmp_path / "ops.duckdb", SQL_DIR, runs=2)
    assert status.busy is None and status.size_bytes > 0
    assert [(r["run_id"], r["status"]) for r in status.runs] == [
        ("live", "running"),
        ("new", "completed_with_errors"),
    ]
    assert status.runs[1]["feeds_polled"] == 2 and status.runs[1]["errors"] == 1
    outcomes = {o["flow"]: o for o in status.outcomes}
    assert outcomes["ingest"]["runs"] == 2 and outcomes["ingest"]["with_errors"] == 1
    assert outcomes["ingest"]["articles_loaded"] == 7 and outcomes["retag"]["running"] == 1
    assert sorted((f["outlet"], f["health"]) for f in status.feeds_in_trouble) == [
        ("bad", "failing"),
        ("off", "paused"),
    ]
    assert status.feeds_total == 3 and status.rows["runs"] == 3

    from flows.cli import app

    result = CliRunner().invoke(app, ["status", "--db", str(tmp_path / "ops.duckdb"), "--format", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["runs"][0]["run_id"] == "live" and len(data["feeds_in_trouble"]) == 2
    table = CliRunner().invoke(app, ["status", "--db", str(tmp_path / "ops.duckdb")])
    assert table.exit_code == 0 and "Feeds in trouble (2 of 3)" in table.output


def test_status_of_a_database_another_process_writes(tmp_path: Path):
    db = tmp_path / "busy.duckdb"
    con = _db(tmp_path)
    con.close()
    (tmp_path / "ops.duckdb").rename(db)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
            "time.sleep(30)",
            str(db),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        status = status_of(db, SQL_DIR)
    finally:
        holder.kill()
        holder.wait()
    assert status.busy is not None and f"process {holder.pid}" in status.busy
    assert status.size_bytes > 0 and status.runs == ()
    with pytest.raises(FileNotFoundError):
        status_of(tmp_path / "missing.duckdb", SQL_DIR)


# -- one writer at a time ----------------------------------------------------------------------------------

HOLDER = textwrap.dedent(
    """
    import sys, time
    import duckdb
    from prefect import flow
    from flows.dbwriter import database_writer

    @flow
    def hold(path: str, ready: str) -> None:
        with database_writer("holder"):
            con = duckdb.connect(path)
            con.execute("create table if not exists t (x int)")
            open(ready, "w").close()
            time.sleep(4)
            con.execute("insert into t values (1)")
            con.close()

    hold(sys.argv[1], sys.argv[2])
    """
)


def test_a_second_writer_waits_for_the_first_and_says_so(prefect_harness, tmp_path: Path):
    from prefect import flow, get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.settings import PREFECT_API_URL

    from flows.dbwriter import database_writer

    db, ready = tmp_path / "w.duckdb", tmp_path / "ready"
    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value()), "PYTHONPATH": str(PROJECT_ROOT)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db), str(ready)],
        env=env,
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert holder.poll() is None, holder.stdout.read() if holder.stdout else ""
            assert time.monotonic() < deadline, "the holder never got the slot"
            time.sleep(0.1)

        @flow
        def second(path: str) -> float:
            with database_writer("second") as waited:
                con = store.connect(Path(path))  # would fail on DuckDB's lock without the slot
                rows = con.execute("select count(*) from t").fetchone()
                con.close()
            assert rows == (1,)  # the holder's write is there: it finished before we opened the file
            return waited

        state = second(str(db), return_state=True)
        waited = state.result()
    finally:
        holder.wait(timeout=60)
    assert holder.returncode == 0
    assert waited > 1.0
    # Flow-run logs reach the server in batches (every 2 s by default).
    with get_client(sync_client=True) as client:
        deadline = time.monotonic() + 20
        while True:
            logs = client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[state.state_details.flow_run_id]))
            )
            messages = [log.message for log in logs]
            if any("got the database writer slot" in m for m in messages) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert any("second waits for the database" in m for m in messages), messages
    assert any("second got the database writer slot after waiting" in m for m in messages), messages


# -- the demo, ingested and re-tagged: reports of real runs -----------------------------------------------


@pytest.mark.model
def test_reports_of_an_ingest_and_a_retag_of_the_demo(
    prefect_harness, model_name, demo_dir: Path, tmp_path: Path, monkeypatch
):
    from flows.ingest import ingest
    from flows.retag import retag

    monkeypatch.setenv("NEWSWATCH_DATA_DIR", str(tmp_path / "data"))
    db = tmp_path / "news.duckdb"
    with serve_site(demo_dir / "site") as base_url:
        state = ingest(
            feeds_file=str(demo_dir / "feeds.toml"),
            db_path=str(db),
            base_url=base_url,
            allow_networks=["127.0.0.0/8"],
            return_state=True,
        )
    retag_state = retag(db_path=str(db), return_state=True)
    assert state.is_completed() and retag_state.is_completed()

    con = store.connect(db, read_only=True)
    try:
        report = runreport.run_report(con, str(state.state_details.flow_run_id))
        again = runreport.run_report(con, str(retag_state.state_details.flow_run_id))
    finally:
        con.close()
    assert report.feeds_polled == 3 and report.new_articles == 25 and report.updated_articles == 0
    assert [(e.kind, e.count) for e in report.errors] == [("gone / HTTP 404", 1)]
    assert sum(f.loaded for f in report.feeds) == 25 and sum(f.articles for f in report.feeds) == 25
    assert len(report.top_entities) == 10 and report.top_entities[0][2] >= report.top_entities[-1][2]
    assert report.top_speakers and report.top_speakers[0][1] >= 2
    assert report.slowest_hosts[0].host == base_url.removeprefix("http://")
    # Nothing changed since the ingest: the retag re-tags nothing, and reports the articles of its version.
    assert again.flow == "retag" and again.status == "completed" and again.updated_articles == 0
    assert again.top_entities == report.top_entities and again.feeds_polled == 0
    assert sum(f.articles for f in again.feeds) == 25

    retag_artifacts = _artifacts(retag_state.state_details.flow_run_id)
    assert "# retag run: completed" in str(retag_artifacts["retag-run-summary"].data)
    assert len(_table(retag_artifacts["retag-feeds"])) == 3

    status = status_of(db, SQL_DIR)
    assert [r["flow"] for r in status.runs] == ["retag", "ingest"]
    assert status.runs[1]["articles_loaded"] == 25 and status.feeds_in_trouble == ()


# -- deployments and make serve / make stop ------------------------------------------------------------


def test_prefect_yaml_declares_the_four_deployments():
    import yaml

    from flows import serve

    data = yaml.safe_load(serve.PREFECT_FILE.read_text())
    deployments = {d["name"]: d for d in data["deployments"]}
    assert serve.deployment_names() == ["every-15-min", "nightly", "daily", "on-demand"]
    expected = {
        "every-15-min": ("flows/ingest.py:ingest", ["*/15 * * * *"]),
        "nightly": ("flows/retag.py:retag", ["30 2 * * *"]),
        "daily": ("flows/report.py:report", ["0 6 * * *"]),
        "on-demand": ("flows/backfill.py:backfill", []),
    }
    for name, (entrypoint, crons) in expected.items():
        d = deployments[name]
        assert d["entrypoint"] == entrypoint, name
        assert [s["cron"] for s in d.get("schedules") or []] == crons, name
        assert d["work_pool"]["name"] == serve.POOL and d["concurrency_limit"] == 1, name
        assert (PROJECT_ROOT / entrypoint.split(":")[0]).parent.is_dir()
    assert set(deployments["daily"]["parameters"]) == {"out"}
    assert data["pull"][0]["prefect.deployments.steps.set_working_directory"]["directory"] == (
        "{{ $NEWSWATCH_HOME }}"
    )


def _sleeper() -> subprocess.Popen[Any]:
    # A process group of two, like the worker and its flow-run subprocess.
    return subprocess.Popen(["sh", "-c", "sleep 60 & sleep 60; wait"], start_new_session=True)


def test_stop_ends_what_start_recorded_and_nothing_else(tmp_path: Path):
    from flows import serve

    settings = Settings(data_dir=tmp_path / "data")
    path = serve.state_path(settings)
    path.parent.mkdir(parents=True)
    ours, stranger = _sleeper(), _sleeper()
    try:
        recorded = serve.Proc.of("worker", ours, tmp_path / "w.log")
        # A record whose pid is now someone else's (another start time) must be left alone.
        reused = serve.Proc("server", stranger.pid, "1", str(tmp_path / "s.log"))
        serve.ServeState("http://127.0.0.1:1/api", 1, str(path.parent), (reused, recorded), ("x",), {}).save(
            path
        )
        said: list[str] = []
        assert serve.stop(settings, echo=said.append)
        assert said == [f"worker (pid {ours.pid}) stopped", f"server (pid {stranger.pid}) had already ended"]
        assert ours.wait(timeout=5) is not None
        assert stranger.poll() is None  # untouched
        assert not path.exists()
        assert not serve.stop(settings, echo=said.append)  # nothing recorded: nothing to stop
    finally:
        for proc in (ours, stranger):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
            proc.wait()


def test_free_port_prefers_the_asked_one_when_free():
    import socket

    from flows import serve

    port = serve.free_port()
    assert serve.free_port(port) == port
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        assert serve.free_port(port) != port
