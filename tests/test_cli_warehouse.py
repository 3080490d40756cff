"""The warehouse commands: query (formats, --out, --list), sql (read-only), export (Parquet by day)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from test_trends import ARTICLES, W1, W2, aid, tagged
from typer.testing import CliRunner

from etl import store
from etl.cli import app
from etl.export import EXPORTED_TABLES

SQL_DIR = Path(__file__).resolve().parents[1] / "sql"
runner = CliRunner()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("cli") / "seeded.duckdb"
    con = store.connect(path)
    try:
        store.upgrade(con, SQL_DIR)
        store.load_articles(con, [tagged(n) for n in ARTICLES], run_id="seed")
    finally:
        con.close()
    return str(path)


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    return result.stdout


def test_query_list_shows_descriptions_and_parameters() -> None:
    listing = invoke("query", "--list")
    assert "topic_coverage" in listing and "keyword_search" in listing
    assert "share of the outlet's own volume" in listing.replace("\n", " ").replace("│", " ").replace(
        "  ", " "
    )
    assert "default russian_interference" in listing and "period (text, default week)" in listing


def test_query_formats(db: str, tmp_path: Path) -> None:
    rows = json.loads(invoke("query", "topic_coverage", "--db", db, "-p", "outlet=B", "--format", "json"))
    assert [(r["period_start"], r["articles"], r["relevant_articles"]) for r in rows] == [
        (str(W1), 1, 1),
        (str(W2), 2, 1),
    ]
    text = invoke("query", "topic_coverage", "--db", db, "--param", "outlet=B", "--format", "csv")
    assert list(csv.reader(io.StringIO(text)))[1][:4] == [str(W1), "B", "1", "1"]

    out = tmp_path / "coverage.parquet"
    invoke("query", "topic_coverage", "--db", db, "-p", "outlet=B", "--format", "parquet", "--out", str(out))
    table = pq.read_table(out)
    assert table.column("articles").to_pylist() == [1, 2]
    assert table.column("period_start").type == pa.date32()

    out_csv = tmp_path / "sub" / "coverage.csv"
    invoke("query", "topic_coverage", "--db", db, "-p", "outlet=B", "--format", "csv", "--out", str(out_csv))
    assert out_csv.read_text().splitlines()[0].startswith("period_start,outlet,articles")


def test_query_errors_are_clear(db: str) -> None:
    no_out = runner.invoke(app, ["query", "topic_coverage", "--db", db, "--format", "parquet"])
    assert no_out.exit_code == 2 and "--out" in no_out.output
    bad_param = runner.invoke(app, ["query", "topic_coverage", "--db", db, "-p", "perod=week"])
    assert bad_param.exit_code == 2 and "no parameter 'perod'" in bad_param.output


def test_sql_is_read_only(db: str) -> None:
    got = json.loads(
        invoke(
            "sql",
            "select outlet, count(*) as n from articles group by 1 order by 1",
            "--db",
            db,
            "--format",
            "json",
        )
    )
    assert got == [{"outlet": "A", "n": 4}, {"outlet": "B", "n": 3}, {"outlet": "C", "n": 2}]
    refused = runner.invoke(app, ["sql", "delete from articles", "--db", db])
    assert refused.exit_code == 1 and "read-only" in refused.output
    assert json.loads(
        invoke("sql", "select count(*) as n from articles", "--db", db, "--format", "json")
    ) == [{"n": 9}]


def test_export_is_a_hive_dataset_other_engines_read(db: str, tmp_path: Path) -> None:
    out = tmp_path / "export"
    invoke("export", str(out), "--format", "parquet", "--db", db)
    invoke("export", str(out), "--db", db)  # again, over the first snapshot
    assert sorted(p.name for p in out.iterdir()) == sorted(EXPORTED_TABLES)

    day = ds.partitioning(pa.schema([("published_date", pa.date32())]), flavor="hive")
    articles = ds.dataset(out / "articles", format="parquet", partitioning=day).to_table()
    by_id = dict(
        zip(
            articles.column("article_id").to_pylist(),
            articles.column("published_date").to_pylist(),
            strict=True,
        )
    )
    assert len(by_id) == len(ARTICLES)
    # The UTC publication day, or the fetch day of the undated article 6.
    assert by_id[aid(1)].isoformat() == "2026-10-05" and by_id[aid(6)].isoformat() == "2026-10-14"
    assert (out / "articles" / "published_date=2026-10-14").is_dir()

    mentions = ds.dataset(out / "mentions", format="parquet", partitioning=day)
    con = store.connect(Path(db), read_only=True)
    try:
        assert mentions.count_rows() == store.table_counts(con)["mentions"]
        assert mentions.count_rows(filter=ds.field("article_id") == aid(1)) == 3
    finally:
        con.close()
    entities = pq.read_table(out / "entities" / "data_0.parquet")
    assert "Russia" in entities.column("canonical").to_pylist()
