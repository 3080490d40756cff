"""The quote evaluation: span matching, speaker scoring, per-kind slices and the CLI's last line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from etl.evals.quotes import Span, match, speaker_right

TEXT = (
    'Putin said the evidence was "crude and systematic". "We did nothing," he told reporters. '
    "Lavrov said that the claims were absurd."
)


def _q(
    text: str, words: str, speaker: str | None, kind: str, canonical: str | None = None
) -> dict[str, object]:
    start = text.index(words)
    s_start = text.index(speaker) if speaker else None
    return {
        "quote": words,
        "quote_start": start,
        "quote_end": start + len(words),
        "speaker": speaker,
        "speaker_start": s_start,
        "speaker_end": s_start + len(speaker) if speaker and s_start is not None else None,
        "canonical_speaker": canonical,
        "speaker_canonical": canonical,
        "cue": "say",
        "kind": kind,
    }


def test_match_needs_the_share_of_both_spans_and_is_one_to_one() -> None:
    gold = [Span(0, 100, "direct", None, None, None)]
    assert match(gold, [Span(0, 60, "direct", None, None, None)], 0.5)
    assert not match(gold, [Span(0, 40, "direct", None, None, None)], 0.5)  # covers 40% of the gold
    assert not match(gold, [Span(50, 200, "direct", None, None, None)], 0.5)  # 50 of 150 predicted
    two = [Span(0, 90, "direct", None, None, None), Span(10, 100, "direct", None, None, None)]
    assert len(match(gold, two, 0.5)) == 1
    assert speaker_right(Span(0, 1, "direct", 5, 9, None), Span(0, 1, "direct", 8, 12, None))
    assert not speaker_right(Span(0, 1, "direct", 5, 9, None), Span(0, 1, "direct", None, None, None))


def test_eval_quotes_command_scores_annotate_output(tmp_path: Path) -> None:
    from etl.cli import app

    gold = {
        "doc_id": "d1",
        "text": TEXT,
        "quotes": [
            _q(TEXT, "crude and systematic", "Putin", "mixed", "Vladimir Putin"),
            _q(TEXT, "We did nothing,", "he", "direct", "Vladimir Putin"),
            _q(TEXT, "the claims were absurd", "Lavrov", "indirect", "Sergei Lavrov"),
        ],
    }
    predicted = {
        "doc_id": "d1",
        "quotes": [
            _q(TEXT, "crude and systematic", "Putin", "mixed", "Vladimir Putin"),
            _q(TEXT, "We did nothing,", "Putin", "direct", "Vladimir Putin"),  # wrong speaker span
            _q(TEXT, "Lavrov said", "Lavrov", "indirect"),  # not the reported content
        ],
    }
    (tmp_path / "gold.jsonl").write_text(json.dumps(gold) + "\n")
    (tmp_path / "pred.jsonl").write_text(json.dumps(predicted) + "\n")
    result = CliRunner().invoke(
        app,
        ["eval", "quotes", "--gold", str(tmp_path / "gold.jsonl"), "--pred", str(tmp_path / "pred.jsonl")],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    # Two of three quotes match (precision = recall = 2/3); one of those has the right speaker.
    assert any(line.startswith("all           quote precision=0.667 recall=0.667 f1=0.667") for line in lines)
    assert lines[-1] == "quote_speaker_f1=0.333"
    only_direct = CliRunner().invoke(
        app,
        [
            "eval", "quotes", "--gold", str(tmp_path / "gold.jsonl"),
            "--pred", str(tmp_path / "pred.jsonl"), "--kinds", "direct",
        ],
    )  # fmt: skip
    assert only_direct.output.strip().splitlines()[-1] == "quote_speaker_f1=0.000"
    bad = CliRunner().invoke(
        app, ["eval", "quotes", "--gold", str(tmp_path / "gold.jsonl"), "--kinds", "nope"]
    )
    assert bad.exit_code != 0
