"""The HTML trend report: its content from a seeded database, its rendering in a real headless browser
(Debian's chromium), and the `report` flow with its artifact on the real Prefect engine."""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from conftest import need
from test_queries import SQL_DIR, make_batch

from etl import store
from etl.report import write_html_report
from etl.settings import PROJECT_ROOT

CHART_COUNT = 8
# Where the browser test leaves its screenshot, for people to look at (build/ is not tracked).
SCREENSHOT = PROJECT_ROOT / "build" / "test-artifacts" / "report.png"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "newswatch.duckdb"
    con = store.connect(path)
    store.upgrade(con, SQL_DIR)
    store.load_articles(con, make_batch(), run_id="test")
    con.close()
    return path


@pytest.fixture
def report_file(db_path: Path, tmp_path: Path) -> Path:
    con = store.connect(db_path, read_only=True)
    try:
        return write_html_report(con, SQL_DIR, tmp_path / "out" / "report.html")
    finally:
        con.close()


def test_report_has_every_chart_with_its_sql(report_file: Path) -> None:
    html = report_file.read_text(encoding="utf-8")
    charts = re.findall(r"<svg [^>]*data-chart='(\w+)'.*?</svg>", html, flags=re.S)
    assert len(charts) == CHART_COUNT
    bodies = re.findall(r"(<svg [^>]*data-chart=.*?</svg>)", html, flags=re.S)
    # Every chart has marks on the seeded data (no "no data" placeholder).
    assert all(re.search(r"<(rect|circle|polyline) ", body) for body in bodies), [b[:200] for b in bodies]
    for name in (
        "daily_topic_coverage",
        "stories_vs_placements",
        "top_entities",
        "top_entities_weekly",
        "top_speakers",
        "subtopic_mix",
        "entity_comentions",
    ):
        assert (SQL_DIR / "trends" / f"{name}.sql").read_text().splitlines()[0] in html.replace("&#x27;", "'")
    # The seeded facts show up: the most-quoted speakers and the two outlets.
    assert "Vladimir Putin" in html and "Outlet A" in html and "Outlet B" in html
    # Self-contained: nothing is loaded from anywhere.
    assert not re.search(r"\s(src|href)=", html)
    assert "<link" not in html


def test_report_window_and_empty_database(db_path: Path, tmp_path: Path) -> None:
    con = store.connect(db_path, read_only=True)
    try:
        late = write_html_report(con, SQL_DIR, tmp_path / "late.html", since=date(2027, 1, 1))
    finally:
        con.close()
    html = late.read_text(encoding="utf-8")
    # Nothing in the window: every chart says so instead of failing.
    assert html.count("no data for") == CHART_COUNT
    assert "2027-01-01" in html


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_report_renders_in_headless_chromium(report_file: Path) -> None:
    browser = _chromium()
    need(browser is not None, "chromium is not installed (apt-get install chromium)")
    assert browser is not None
    flags = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=3000"]
    dom = subprocess.run(
        [*flags, "--dump-dom", report_file.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    body = re.search(r"<body([^>]*)>", dom)
    assert body is not None, dom[:500]
    attributes = dict(re.findall(r'data-(\w+)="(\d+)"', body.group(1)))
    # The page's own check ran: every chart drew marks, and no script error happened.
    assert attributes == {"charts": str(CHART_COUNT), "drawn": str(CHART_COUNT), "errors": "0"}, body.group(0)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    subprocess.run(
        [
            *flags,
            "--hide-scrollbars",
            "--window-size=1100,4200",
            f"--screenshot={SCREENSHOT}",
            report_file.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    assert SCREENSHOT.stat().st_size > 20_000  # a page of charts, not a blank image


def test_report_flow_writes_the_file_and_links_it(prefect_harness, db_path: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.report import report

    out = tmp_path / "reports" / "trend.html"
    written = report(out=str(out), db_path=str(db_path))
    assert (
        Path(written) == out.resolve() and out.read_text(encoding="utf-8").count("data-chart=") == CHART_COUNT
    )

    async def artifacts() -> list[str]:
        async with get_client() as client:
            found = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["trend-report"]))
            )
            return [str(a.data) for a in found]

    linked = asyncio.run(artifacts())
    assert any(out.resolve().as_uri() in data for data in linked), linked
