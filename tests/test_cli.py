import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from etl.cli import app

runner = CliRunner()


@pytest.mark.model
def test_annotate_writes_the_stable_format(tmp_path: Path, seed_text: str, model_name: str):
    docs = tmp_path / "docs.jsonl"
    docs.write_text(
        json.dumps({"doc_id": "seed", "text": seed_text})
        + "\nnot json\n"
        + json.dumps({"doc_id": 7, "text": "Nothing to see."})
        + "\n"
    )
    out = tmp_path / "tagged.jsonl"
    result = runner.invoke(app, ["annotate", "--in", str(docs), "--out", str(out)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [line["doc_id"] for line in lines] == ["seed", "7"]  # the bad line is skipped and reported
    seed = lines[0]
    assert set(seed) == {"doc_id", "entities", "quotes", "topics"}
    assert set(seed["entities"][0]) == {"text", "label", "start", "end", "canonical"}
    quote_keys = {
        "quote",
        "quote_start",
        "quote_end",
        "speaker",
        "speaker_start",
        "speaker_end",
        "speaker_canonical",
        "cue",
        "kind",
    }
    assert all(set(q) == quote_keys for q in seed["quotes"])
    assert all(q["kind"] in ("direct", "indirect", "mixed") for q in seed["quotes"])
    for entity in seed["entities"]:
        assert seed_text[entity["start"] : entity["end"]] == entity["text"]
    for quote in seed["quotes"]:
        assert seed_text[quote["quote_start"] : quote["quote_end"]] == quote["quote"]
        if quote["speaker"] is not None:
            assert seed_text[quote["speaker_start"] : quote["speaker_end"]] == quote["speaker"]
    someday = next(q for q in seed["quotes"] if q["quote"] == "Someday this will have to stop")
    assert someday["speaker_canonical"] == "Vladimir Putin" and someday["cue"] == "say"
    topic, *subtopics = seed["topics"]
    assert set(topic) == {"topic", "score", "relevant", "evidence"}
    assert topic["topic"] == "russian_interference" and topic["relevant"] is True
    assert {s["topic"] for s in subtopics} == {
        f"russian_interference.{name}"
        for name in ("hacking", "disinformation", "investigations", "diplomacy", "denials")
    }
    assert {"kind", "value", "where", "count", "weight"} == set(topic["evidence"][0])
    assert lines[1]["topics"][0]["relevant"] is False


def test_extract_prints_json(tmp_path: Path, demo_dir: Path):
    page = next((demo_dir / "site" / "globalpost").rglob("2026/10/*/*.html"))
    result = runner.invoke(app, ["extract", str(page), "--url", "http://127.0.0.1:1/x.html"])
    assert result.exit_code == 0, result.output
    article = json.loads(result.output)
    assert article["title"] and len(article["text"]) > 500 and article["published_source"] == "html_meta"


def test_query_list_names_the_trend_queries():
    result = runner.invoke(app, ["query", "--list"])
    assert result.exit_code == 0
    for name in ("daily_topic_coverage", "top_entities_weekly", "top_speakers", "entity_comentions"):
        assert name in result.output


def test_unknown_query_is_a_clear_error(tmp_path: Path):
    db = tmp_path / "x.duckdb"
    assert runner.invoke(app, ["db", "upgrade", "--db", str(db)]).exit_code == 0
    result = runner.invoke(app, ["query", "no_such_query", "--db", str(db)])
    assert result.exit_code == 2 and "no_such_query" in result.output


def test_model_ensure_fails_clearly_for_a_missing_folder(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("NEWSWATCH_NLP_MODEL", str(tmp_path / "nothing-here"))
    result = runner.invoke(app, ["model", "ensure"])
    assert result.exit_code == 1 and "not a spaCy pipeline folder" in result.output


def test_feeds_add_import_export_list(tmp_path: Path):
    db = str(tmp_path / "feeds.duckdb")
    assert (
        runner.invoke(
            app, ["feeds", "add", "https://news.example/rss.xml", "--outlet", "ex", "--db", db]
        ).exit_code
        == 0
    )
    opml = tmp_path / "in.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>t</title></head><body>'
        '<outline text="World"><outline text="Wire World" title="wire" type="rss" xmlUrl="https://wire.example/feed"/>'
        "</outline></body></opml>"
    )
    result = runner.invoke(app, ["feeds", "import", str(opml), "--db", db])
    assert result.exit_code == 0 and "1 feeds imported" in result.output
    bad = tmp_path / "bad.opml"
    bad.write_text("<rss/>")
    result = runner.invoke(app, ["feeds", "import", str(bad), "--db", db])
    assert result.exit_code == 1 and "opml" in result.output.lower()
    out = tmp_path / "out.opml"
    assert runner.invoke(app, ["feeds", "export", "--out", str(out), "--db", db]).exit_code == 0
    exported = out.read_text()
    assert "https://news.example/rss.xml" in exported and "https://wire.example/feed" in exported
    listing = runner.invoke(app, ["feeds", "list", "--db", db], env={"COLUMNS": "250"})
    assert listing.exit_code == 0 and "wire.example" in listing.output and "new" in listing.output


def test_feeds_discover_finds_and_adds_a_declared_feed(tmp_path: Path, httpserver):
    feed = '<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nAllow: /\n")
    httpserver.expect_request("/").respond_with_data(
        '<html><head><link rel="alternate" type="application/rss+xml" title="All news" href="/news.rss">'
        "</head><body>home</body></html>",
        content_type="text/html",
    )
    httpserver.expect_request("/news.rss").respond_with_data(feed, content_type="application/rss+xml")
    db = str(tmp_path / "d.duckdb")
    env = {
        "NEWSWATCH_FETCH_ALLOW_NETWORKS": '["127.0.0.0/8"]',
        "NEWSWATCH_FETCH_HOST_RATE": "100",
        "COLUMNS": "200",
    }
    result = runner.invoke(app, ["feeds", "discover", httpserver.url_for("/"), "--add", "--db", db], env=env)
    assert result.exit_code == 0, result.output
    assert "news.rss" in result.output and "added 1 feeds" in result.output


def test_the_console_script_has_the_flow_commands_and_etl_does_not_import_prefect():
    import subprocess
    import sys

    from flows.cli import app as full_app

    names = {c.name or c.callback.__name__ for c in full_app.registered_commands}
    assert {"ingest", "demo", "query", "extract", "annotate", "summary"} <= names
    code = "import sys, etl.cli, etl.ingest, etl.store; print('prefect' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
