"""Several processes on one DuckDB file: a reader started during a write waits for it (or says clearly that
it gave up), and two writers run one after the other, both batches whole. Real processes, because DuckDB's
file lock is per process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from etl import store

ROOT = Path(__file__).resolve().parents[1]
SQL_DIR = ROOT / "sql"

# Loads articles 1..9 of the seeded trend data whose numbers are given, inside one connection that it
# keeps open (holding the file) for HOLD seconds after the load; touches READY once it holds the file.
WRITER = """
import sys, time
from pathlib import Path
from etl import store
from test_trends import tagged

path, ready, hold = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
numbers = [int(n) for n in sys.argv[4].split(",")]
con = store.connect(path)
ready.touch()
store.upgrade(con, Path(sys.argv[5]))
counts = store.load_articles(con, [tagged(n) for n in numbers], run_id="writer-" + sys.argv[4])
time.sleep(hold)
con.close()
print("loaded", counts.articles)
"""


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests"), str(ROOT), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


def start_writer(
    tmp_path: Path, db: Path, numbers: str, hold: float, tag: str
) -> tuple[subprocess.Popen[str], Path]:
    ready = tmp_path / f"ready-{tag}"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db), str(ready), str(hold), numbers, str(SQL_DIR)],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, ready


def wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            pytest.fail(f"writer ended early: {proc.communicate()}")
        if time.monotonic() > deadline:
            pytest.fail("writer never took the file")
        time.sleep(0.05)


def newswatch(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from etl.cli import app; app()", *args],
        env=_env(COLUMNS="200", **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "shared.duckdb"
    con = store.connect(path)
    try:
        store.upgrade(con, SQL_DIR)
    finally:
        con.close()
    return path


def test_a_reader_during_a_write_waits_and_then_reads(tmp_path: Path, db: Path) -> None:
    writer, ready = start_writer(tmp_path, db, "1,2,3", hold=2.0, tag="w")
    wait_for(ready, writer)
    started = time.monotonic()
    result = newswatch("sql", "select count(*) as n from articles", "--db", str(db), "--format", "csv")
    waited = time.monotonic() - started
    assert writer.wait(60) == 0, writer.communicate()
    assert result.returncode == 0, result.stderr
    assert "lock" not in result.stderr.lower()
    # It read after the writer's commit, not before: all three articles are there.
    assert result.stdout.splitlines() == ["n", "3"]
    assert waited > 0.5


def test_a_reader_that_gives_up_says_why(tmp_path: Path, db: Path) -> None:
    writer, ready = start_writer(tmp_path, db, "1", hold=6.0, tag="w")
    wait_for(ready, writer)
    result = newswatch("query", "topic_coverage", "--db", str(db), NEWSWATCH_DB_READ_WAIT_S="0.5")
    assert writer.wait(60) == 0
    assert result.returncode == 1
    assert "being written by another process" in result.stderr
    assert "Traceback" not in result.stderr and "IOException" not in result.stderr


def test_two_writers_are_serialised_and_both_batches_land(tmp_path: Path, db: Path) -> None:
    first, ready_first = start_writer(tmp_path, db, "1,2,3,4", hold=4.0, tag="a")
    wait_for(ready_first, first)
    second, ready_second = start_writer(tmp_path, db, "5,6,7,8,9", hold=0.0, tag="b")
    time.sleep(2.5)
    # The second writer is waiting for the file, not writing beside the first.
    assert first.poll() is None and not ready_second.exists()
    out_first, err_first = first.communicate(timeout=60)
    out_second, err_second = second.communicate(timeout=60)
    assert first.returncode == 0, err_first
    assert second.returncode == 0, err_second
    assert out_first.split() == ["loaded", "4"] and out_second.split() == ["loaded", "5"]
    con = store.connect(db, read_only=True)
    try:
        assert con.execute("select count(*), count(distinct run_id) from articles").fetchone() == (9, 2)
        # The terms of both batches too: nothing of either load was lost.
        assert con.execute("select count(distinct article_id) from article_terms").fetchone() == (9,)
    finally:
        con.close()
