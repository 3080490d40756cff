"""Article-text extraction scored on the scrapinghub article-extraction-benchmark format.

The set is a folder `html/<id>.html.gz` and a truth file `{id: {"articleBody": …, "url": …}}`. The metric is
the benchmark's own (its evaluate.py), reproduced convention for convention so our figures compare with the
published table:

* tokens are `\\w+` matches, case kept (the benchmark does not lowercase);
* a page's shingles are the 4-token windows as a multiset (a shingle seen twice counts twice); a text of
  1-3 tokens is one short shingle, an empty text has none;
* per page, tp/fp/fn are the multiset overlaps; precision = tp/(tp+fp) and recall = tp/(tp+fn), both 1.0
  when prediction and truth are identical multisets (both empty included);
* precision is averaged over the pages with a non-empty prediction only: an empty prediction (or an
  ExtractionError) has no precision and is left out of that mean, while it still counts as recall 0. Recall
  is averaged over the pages whose truth has shingles;
* F1 is the harmonic mean of the two averages, not the mean of per-page F1s.

Checked by reproducing the benchmark's figures for trafilatura 2.3.1: F1 0.953 with defaults and 0.960 with
`include_comments=False` (tests/test_eval_extraction.py)."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

SHINGLE = 4
_TOKEN = re.compile(r"\w+")

Extractor = Callable[[bytes, str], str]


@dataclass(frozen=True)
class PageScore:
    """One page's score. `precision` is None when the prediction was empty and `recall` None when the truth
    was (neither has a value then, and the page stays out of that average); `f1` counts a None as 0."""

    page_id: str
    precision: float | None
    recall: float | None
    f1: float


@dataclass(frozen=True)
class ExtractionScore:
    """Averages over the set (precision and recall averaged per page, F1 of the two averages) and the
    per-page scores they came from."""

    precision: float
    recall: float
    f1: float
    pages: int
    per_page: tuple[PageScore, ...]


def shingles(text: str, n: int = SHINGLE) -> Counter[tuple[str, ...]]:
    """The multiset of n-token shingles of `text` (`\\w+` tokens, case kept); a text shorter than n tokens
    gives one shorter shingle, an empty text none."""
    tokens = _TOKEN.findall(text or "")
    if not tokens:
        return Counter()
    return Counter(tuple(tokens[i : i + n]) for i in range(max(1, len(tokens) - n + 1)))


def score_page(page_id: str, predicted: str, truth: str) -> PageScore:
    """Score one page's predicted text against its truth with the benchmark's per-page rules."""
    got, want = shingles(predicted), shingles(truth)
    tp = sum((got & want).values())
    fp = sum(got.values()) - tp
    fn = sum(want.values()) - tp
    if fp == fn == 0:
        # Identical multisets, both empty included: the benchmark scores this as perfect.
        precision: float | None = 1.0
        recall: float | None = 1.0
    else:
        precision = tp / (tp + fp) if tp + fp else None
        recall = tp / (tp + fn) if tp + fn else None
    p, r = precision or 0.0, recall or 0.0
    return PageScore(page_id, precision, recall, 2 * p * r / (p + r) if p + r else 0.0)


def aggregate(per_page: list[PageScore] | tuple[PageScore, ...]) -> ExtractionScore:
    """Average precision over pages that have one (a non-empty prediction) and recall over pages that have
    one (a non-empty truth), then take F1 of the two averages."""
    precisions = [page.precision for page in per_page if page.precision is not None]
    recalls = [page.recall for page in per_page if page.recall is not None]
    precision = sum(precisions) / len(precisions) if precisions else 0.0
    recall = sum(recalls) / len(recalls) if recalls else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return ExtractionScore(precision, recall, f1, len(per_page), tuple(per_page))


def evaluate_extraction(
    html_dir: Path, truth_path: Path, *, extract: Extractor | None = None
) -> ExtractionScore:
    """Score an extractor on a benchmark set: `html_dir` holds `<id>.html.gz` (or is the set's root with an
    `html/` folder), `truth_path` the `{id: {"articleBody", "url"}}` file. `extract(html_bytes, url)` returns
    the article text; by default it is our `extract_article(...).text`, with an ExtractionError counted as an
    empty prediction. A page listed in the truth without its HTML file is an error, not a skip."""
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    extractor = extract or _our_text
    per_page = [
        score_page(page_id, extractor(html, url), body)
        for page_id, html, url, body in _pages(html_dir, truth)
    ]
    return aggregate(per_page)


def format_report(score: ExtractionScore, *, verbose: bool, worst: int = 10) -> str:
    """A text report. The last line is always `precision=P recall=R f1=F`; with `verbose`, the `worst`
    pages by F1 are listed above it."""
    lines = []
    if verbose:
        lines.append(f"{score.pages} pages; worst {min(worst, score.pages)} by F1:")
        for page in sorted(score.per_page, key=lambda page: (page.f1, page.page_id))[:worst]:
            lines.append(
                f"  {page.page_id}  precision={_fmt(page.precision)} recall={_fmt(page.recall)}"
                f" f1={page.f1:.3f}"
            )
    lines.append(f"precision={score.precision:.3f} recall={score.recall:.3f} f1={score.f1:.3f}")
    return "\n".join(lines)


def load_pages(html_dir: Path, truth_path: Path) -> Iterator[tuple[str, bytes, str, str]]:
    """(id, html bytes, url, true article body) for every page of a benchmark set, in id order."""
    return _pages(html_dir, json.loads(truth_path.read_text(encoding="utf-8")))


def _pages(html_dir: Path, truth: dict[str, dict[str, str]]) -> Iterator[tuple[str, bytes, str, str]]:
    if (html_dir / "html").is_dir():
        html_dir = html_dir / "html"
    for page_id in sorted(truth):
        html = gzip.decompress((html_dir / f"{page_id}.html.gz").read_bytes())
        yield page_id, html, truth[page_id].get("url", ""), truth[page_id].get("articleBody") or ""


def _our_text(html: bytes, url: str) -> str:
    # Imported here so the metric itself stays usable (and testable) without the extraction stack.
    from etl.extract import ExtractionError, extract_article

    try:
        return extract_article(html, url).text
    except ExtractionError:
        return ""


def _fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:.3f}"
