import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from etl.cli import app

runner = CliRunner()


@pytest.mark.model
def test_annotate_writes_the_stable_format(tmp_path: Path, seed_text: str):
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
    (topic,) = seed["topics"]
    assert set(topic) == {"topic", "score", "relevant", "evidence"}
    assert topic["topic"] == "russian_interference" and topic["relevant"] is True
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
