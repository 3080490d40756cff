"""The scheduled path end to end, with real parts: a Prefect server on 127.0.0.1 (a free port, its home in a
temp folder), the `ingest` deployment deployed from deployments/prefect.yaml, a process worker, a flow run
of that deployment against the demo outlets served on 127.0.0.1, the rows in the DuckDB file and the run's
artifacts read back through the Prefect client; everything it started is stopped at the end.

It starts the stack with the same functions as `make serve` (flows/serve.py). Marked slow (about a minute
and a half here); `make test` runs it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from etl import store
from etl.demo import serve_site
from flows import serve

RUN_TIMEOUT_S = 180.0


def _wait_final(client: Any, run_id: Any, timeout_s: float) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = client.read_flow_run(run_id)
        if run.state is not None and run.state.is_final():
            return run
        time.sleep(1.0)
    raise AssertionError(f"flow run {run_id} not finished within {timeout_s:g}s: {run.state}")


@pytest.mark.slow
@pytest.mark.model
def test_deployed_ingest_runs_on_a_process_worker(model_name, demo_dir: Path, tmp_path: Path, capsys):
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId
    from prefect.settings import PREFECT_API_URL, temporary_settings

    started = time.monotonic()
    home = tmp_path / "prefect"
    port = serve.free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    db = tmp_path / "news.duckdb"
    extra = {
        # The test triggers its run; the 15-minute schedule must not start one (against real feeds).
        "PREFECT_SERVER_SERVICES_SCHEDULER_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "NEWSWATCH_DATA_DIR": str(tmp_path / "data"),
    }
    env = serve.prefect_env(home, api_url, extra)
    procs: list[serve.Proc] = []
    server = serve.start_server(home, port, tmp_path / "server.log", extra_env=extra)
    procs.append(serve.Proc.of("server", server, tmp_path / "server.log"))
    try:
        up = serve.wait_healthy(api_url, server, timeout_s=120)
        serve.create_pool(env)
        deployed, failed = serve.deploy(env, ["every-15-min"])
        assert deployed == ["every-15-min"], failed
        worker = serve.start_worker(env, tmp_path / "worker.log")
        procs.append(serve.Proc.of("worker", worker, tmp_path / "worker.log"))
        ready = time.monotonic() - started

        with (
            serve_site(demo_dir / "site") as base_url,
            temporary_settings(updates={PREFECT_API_URL: api_url}),
            get_client(sync_client=True) as client,
        ):
            deployment = client.read_deployment_by_name("ingest/every-15-min")
            assert deployment.work_pool_name == "newswatch"
            assert [s.schedule.cron for s in deployment.schedules] == ["*/15 * * * *"]  # type: ignore[union-attr]
            run = client.create_flow_run_from_deployment(
                deployment.id,
                parameters={
                    "feeds_file": str(demo_dir / "feeds.toml"),
                    "db_path": str(db),
                    "data_dir": str(tmp_path / "data"),
                    "base_url": base_url,
                    "allow_networks": ["127.0.0.1/32"],
                },
            )
            run = _wait_final(client, run.id, RUN_TIMEOUT_S)
            assert run.state is not None and run.state.is_completed(), (
                run.state,
                (tmp_path / "worker.log").read_text(errors="replace")[-3000:],
            )
            artifacts = client.read_artifacts(
                artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run.id]))
            )
        ran = time.monotonic() - started - ready

        by_key = {a.key: a for a in artifacts}
        assert {"ingest-run-summary", "ingest-feeds"} <= set(by_key), sorted(map(str, by_key))
        summary = str(by_key["ingest-run-summary"].data)
        assert "# ingest run: completed_with_errors" in summary
        assert "- new articles: **25**" in summary
        assert "gone / HTTP 404" in summary and "deleted-story" in summary
        assert f"127.0.0.1:{base_url.rsplit(':', 1)[1]}" in summary  # the demo host, among the slowest
        feeds = by_key["ingest-feeds"].data
        rows = feeds if isinstance(feeds, list) else __import__("json").loads(str(feeds))
        assert len(rows) == 3 and sum(r["loaded"] for r in rows) == 25

        con = store.connect(db, read_only=True)
        try:
            assert con.execute("select count(*) from articles").fetchone()[0] == 25
            assert con.execute("select run_id, status from runs").fetchall() == [
                (str(run.id), "completed_with_errors")
            ]
        finally:
            con.close()
    finally:
        stopped = [serve.stop_process(p) for p in reversed(procs)]
    total = time.monotonic() - started
    for proc in procs:
        assert not serve._alive(proc), proc
    with capsys.disabled():
        print(
            f"\n[integration] server up {up:.1f}s, stack ready {ready:.1f}s, flow run {ran:.1f}s, "
            f"total {total:.1f}s; {'; '.join(stopped)}"
        )
