"""The `backfill` flow under the Prefect test harness, into real DuckDB files: worker processes locally and
a Dask LocalCluster of two worker processes give the same tables; the progress artifact is kept; the
WARC files the ingest flow writes are read back by a backfill; the CLI command."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from conftest import need
from test_backfill import table_contents
from typer.testing import CliRunner

from etl import store
from etl.demo import serve_site
from etl.samplepages import load_articles, pages, write_warc


def _sample_warc(shared: Path, tmp_path: Path, count: int) -> Path:
    articles_file = shared / "data" / "articles" / "isot_subset.control.jsonl"
    need(articles_file.is_file(), f"articles missing: {articles_file}")
    path = tmp_path / "sample.warc.gz"
    write_warc(path, pages(load_articles([articles_file])[:count], count))
    return path


def _artifact_progress(key: str) -> list[float]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async def read() -> list[float]:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key]))
            )
            return [float(a.data) for a in found if a.data is not None]  # type: ignore[arg-type]

    return asyncio.run(read())


@pytest.mark.model
def test_local_processes_and_dask_cluster_give_the_same_tables(
    prefect_harness, model_name: str, shared: Path, tmp_path: Path
) -> None:
    from distributed import LocalCluster

    from flows.backfill import backfill

    warc = _sample_warc(shared, tmp_path, 24)
    common = {"sources": [str(warc)], "data_dir": str(tmp_path), "batch_size": 4}
    local = backfill(db_path=str(tmp_path / "local.duckdb"), workers=2, **common)
    assert local["status"] == "completed" and local["articles_loaded"] > 0
    assert 100.0 in _artifact_progress("backfill-progress")

    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        on_dask = backfill(
            db_path=str(tmp_path / "dask.duckdb"),
            task_runner="dask",
            dask_address=cluster.scheduler_address,
            **common,
        )
    assert on_dask["status"] == "completed"
    assert {k: v for k, v in on_dask.items() if k != "run_id"} == {
        k: v for k, v in local.items() if k != "run_id"
    }
    contents = {}
    for name in ("local", "dask"):
        con = store.connect(tmp_path / f"{name}.duckdb", read_only=True)
        contents[name] = table_contents(con)
        runs = con.execute("select flow, status from runs").fetchall()
        con.close()
        assert runs == [("backfill", "completed")]
    assert contents["dask"] == contents["local"]
    assert len(contents["local"]["articles"]) == local["articles_loaded"]


@pytest.mark.model
def test_ingest_writes_warc_that_backfill_reads_back(
    prefect_harness, model_name: str, demo_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flows.backfill import backfill
    from flows.ingest import ingest

    data = tmp_path / "data"
    monkeypatch.setenv("NEWSWATCH_DATA_DIR", str(data))
    with serve_site(demo_dir / "site") as base_url:
        first = ingest(
            feeds_file=str(demo_dir / "feeds.toml"),
            db_path=str(tmp_path / "ingest.duckdb"),
            base_url=base_url,
            allow_networks=["127.0.0.0/8"],
        )
    warcs = sorted(str(p) for p in (data / "warc").glob("*.warc.gz"))
    assert warcs and first["articles_loaded"] > 0
    again = backfill(sources=warcs, db_path=str(tmp_path / "again.duckdb"), data_dir=str(data))
    assert again["status"] == "completed"
    con = store.connect(tmp_path / "ingest.duckdb", read_only=True)
    ingested = dict(con.execute("select url, text from articles").fetchall())
    con.close()
    con = store.connect(tmp_path / "again.duckdb", read_only=True)
    rebuilt = dict(con.execute("select url, text from articles").fetchall())
    con.close()
    # The same articles, re-extracted from the kept bytes, with the same text.
    assert rebuilt == ingested


@pytest.mark.model
def test_backfill_command(prefect_harness, model_name: str, shared: Path, tmp_path: Path) -> None:
    from flows.cli import app

    warc = _sample_warc(shared, tmp_path, 6)
    db = tmp_path / "cli.duckdb"
    args = [
        "backfill",
        str(warc),
        "--db",
        str(db),
        "--batch-size",
        "3",
        "--prefilter",
        "russian_interference",
    ]
    result = CliRunner().invoke(app, args, env={"NEWSWATCH_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert "'sources': 1" in result.output
    con = store.connect(db, read_only=True)
    (cp,) = store.backfill_checkpoints(con).values()
    con.close()
    assert cp.done and cp.records_read == 12  # 6 requests and 6 responses
    assert cp.counts["pages"] == 6
    # Control articles: the topic's prefilter lets (nearly) none through to NLP.
    assert cp.counts.get("filtered:topic", 0) >= 5
    bad = CliRunner().invoke(app, ["backfill", str(warc), "--db", str(db), "--prefilter", "no_such_topic"])
    assert bad.exit_code == 1 and "unknown topic" in bad.output
