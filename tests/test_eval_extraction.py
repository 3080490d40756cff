"""The extraction evaluation: the benchmark's metric on hand-made pages, its reproduction of the published
trafilatura figures, and our extraction's score on the shared scrapinghub set."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from etl.evals.extraction import (
    ExtractionScore,
    PageScore,
    aggregate,
    evaluate_extraction,
    format_report,
    score_page,
    shingles,
)

TARGET_F1 = 0.965


def _write_set(root: Path, pages: dict[str, tuple[str, str]]) -> tuple[Path, Path]:
    """A benchmark-format set: html/<id>.html.gz and ground-truth.json, from {id: (html, articleBody)}."""
    (root / "html").mkdir()
    truth = {}
    for page_id, (html, body) in pages.items():
        (root / "html" / f"{page_id}.html.gz").write_bytes(gzip.compress(html.encode()))
        truth[page_id] = {"articleBody": body, "url": f"https://news.test/{page_id}.html"}
    (root / "ground-truth.json").write_text(json.dumps(truth))
    return root / "html", root / "ground-truth.json"


def test_shingles_are_four_token_windows_with_counts_and_case():
    assert shingles("The cat sat on the mat.") == {
        ("The", "cat", "sat", "on"): 1,
        ("cat", "sat", "on", "the"): 1,
        ("sat", "on", "the", "mat"): 1,
    }
    # Punctuation separates tokens and is dropped; case is kept (the benchmark does not lowercase).
    assert shingles("Yes, no. Yes, no.") == {("Yes", "no", "Yes", "no"): 1}
    assert shingles("a b c d a b c d")[("a", "b", "c", "d")] == 2
    assert shingles("too short") == {("too", "short"): 1}
    assert shingles("") == {} and shingles(" …, ") == {}


def test_score_page_precision_and_recall():
    truth = "one two three four five six seven"  # 4 shingles
    perfect = score_page("p", truth, truth)
    assert (perfect.precision, perfect.recall, perfect.f1) == (1.0, 1.0, 1.0)
    # Two of the four true shingles, plus two of boilerplate: precision 2/4, recall 2/4.
    half = score_page("p", "one two three four five\nsubscribe now", truth)
    assert half.precision == pytest.approx(2 / 4) and half.recall == pytest.approx(2 / 4)
    # Case matters: the same words capitalised share no shingle.
    assert score_page("p", truth.upper(), truth).recall == 0.0
    # A repeated paragraph counts twice against precision (multiset, not set).
    doubled = score_page("p", f"{truth}\n{truth}", truth)
    assert doubled.recall == 1.0 and doubled.precision < 0.6


def test_score_page_empty_cases():
    empty_prediction = score_page("p", "", "one two three four five")
    assert (
        empty_prediction.precision is None and empty_prediction.recall == 0.0 and empty_prediction.f1 == 0.0
    )
    both_empty = score_page("p", "", "")
    assert (both_empty.precision, both_empty.recall) == (1.0, 1.0)
    empty_truth = score_page("p", "one two three four five", "")
    assert empty_truth.precision == 0.0 and empty_truth.recall is None


def test_averages_are_per_page_and_f1_is_of_the_averages():
    pages = [PageScore("a", 1.0, 0.5, 2 / 3), PageScore("b", 0.5, 1.0, 2 / 3)]
    score = aggregate(pages)
    assert score.precision == 0.75 and score.recall == 0.75 and score.pages == 2
    # F1 of the averages (0.75), not the average of the pages' F1s (0.667).
    assert score.f1 == pytest.approx(0.75)
    # A long page does not outweigh a short one: averaging is per page, not over pooled shingles.
    long_perfect = score_page(
        "long", " ".join(f"w{i}" for i in range(400)), " ".join(f"w{i}" for i in range(400))
    )
    short_wrong = score_page("short", "x y z q r", "one two three four five")
    assert aggregate([long_perfect, short_wrong]).recall == pytest.approx(0.5)


def test_empty_predictions_leave_the_precision_average_but_count_in_recall():
    pages = [PageScore("a", 1.0, 1.0, 1.0), PageScore("b", None, 0.0, 0.0)]
    score = aggregate(pages)
    assert score.precision == 1.0 and score.recall == 0.5
    assert score.f1 == pytest.approx(2 * 1.0 * 0.5 / 1.5)


def test_evaluate_extraction_on_a_hand_made_set(tmp_path: Path):
    body = "The council approved the budget on Tuesday after a long debate about bus routes."
    html_dir, truth_path = _write_set(
        tmp_path,
        {
            "a": (f"<html><body><p>{body}</p></body></html>", body),
            "b": ("<html></html>", "Words that exist."),
        },
    )
    seen: list[str] = []

    def extract(html: bytes, url: str) -> str:
        seen.append(url)
        return body if b"council" in html else ""

    score = evaluate_extraction(html_dir, truth_path, extract=extract)
    assert seen == ["https://news.test/a.html", "https://news.test/b.html"]
    assert score.pages == 2 and score.precision == 1.0 and score.recall == 0.5
    # The set's root folder works as well as its html/ folder.
    assert evaluate_extraction(tmp_path, truth_path, extract=extract) == score


def test_default_extractor_counts_an_extraction_error_as_empty(tmp_path: Path):
    paragraphs = "".join(
        f"<p>Paragraph {i} of the report says the commission found fake accounts run from abroad.</p>"
        for i in range(6)
    )
    article = f"<html><body><article>{paragraphs}</article></body></html>"
    truth = "\n".join(
        f"Paragraph {i} of the report says the commission found fake accounts run from abroad."
        for i in range(6)
    )
    html_dir, truth_path = _write_set(
        tmp_path,
        {
            "good": (article, truth),
            "nav": ("<html><body><nav><a href='/'>Home</a></nav></body></html>", "x y z w"),
        },
    )
    score = evaluate_extraction(html_dir, truth_path)
    by_id = {page.page_id: page for page in score.per_page}
    assert by_id["good"].recall == 1.0
    assert by_id["nav"].precision is None and by_id["nav"].recall == 0.0


def test_format_report_last_line_and_worst_pages():
    score = ExtractionScore(
        0.9,
        0.8,
        2 * 0.9 * 0.8 / 1.7,
        3,
        (
            PageScore("good", 1.0, 1.0, 1.0),
            PageScore("bad", 0.1, 0.2, 0.133),
            PageScore("empty", None, 0.0, 0.0),
        ),
    )
    quiet = format_report(score, verbose=False)
    assert quiet == "precision=0.900 recall=0.800 f1=0.847"
    loud = format_report(score, verbose=True, worst=2).splitlines()
    assert loud[-1] == "precision=0.900 recall=0.800 f1=0.847"
    assert "empty" in loud[1] and "bad" in loud[2] and not any("good" in line for line in loud)


def _scrapinghub(shared: Path) -> tuple[Path, Path]:
    root = shared / "data" / "extraction" / "scrapinghub"
    return root / "html", root / "ground-truth.json"


@pytest.mark.shared
def test_metric_reproduces_published_trafilatura_figures(shared: Path):
    """The benchmark publishes F1 0.960 for trafilatura 2.3.1 with include_comments=False (0.953 with
    defaults): reproducing both is what shows this metric is the benchmark's."""
    import trafilatura

    html_dir, truth_path = _scrapinghub(shared)
    no_comments = evaluate_extraction(
        html_dir,
        truth_path,
        extract=lambda html, url: trafilatura.extract(html, url=url, include_comments=False) or "",
    )
    assert no_comments.pages == 181
    assert no_comments.f1 == pytest.approx(0.960, abs=0.001), format_report(no_comments, verbose=False)
    defaults = evaluate_extraction(
        html_dir, truth_path, extract=lambda html, url: trafilatura.extract(html, url=url) or ""
    )
    assert defaults.f1 == pytest.approx(0.953, abs=0.001), format_report(defaults, verbose=False)


@pytest.mark.shared
def test_our_extraction_meets_the_target_on_the_benchmark(shared: Path):
    score = evaluate_extraction(*_scrapinghub(shared))
    assert score.pages == 181
    assert score.f1 >= TARGET_F1, format_report(score, verbose=True)
