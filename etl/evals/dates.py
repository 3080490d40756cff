"""Publication dates scored against a hand-checked gold file.

The gold file is JSON Lines, one page per line: `{"id", "url", "published": "YYYY-MM-DD" or null,
"evidence"}`; the pages are `<id>.html.gz` in the benchmark's `html/` folder. Each page goes through
`find_publication_date` (the function behind `publication_date`) with no feed date, parsed the way
extraction parses it, and the UTC calendar day of the answer is compared with the gold day.

Conventions of the gold file: `published` is the original publication day, not the last update; where the
page states an instant with a zone, it is that instant's UTC day (an article posted 8 pm Eastern on the
18th is gold the 19th); where it prints only a date or a zoneless time, it is the printed day; null means the
page shows no publication date at all.

The figures: accuracy over the pages with a gold date (a missing answer counts as wrong), how many gold-null
pages got a date anyway, and per source how many pages it answered and how many of those were right."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from trafilatura import load_html

from etl.dates import DATE_SOURCES, find_publication_date


@dataclass(frozen=True)
class GoldDate:
    """One line of the gold file."""

    page_id: str
    url: str
    published: date | None
    evidence: str


@dataclass(frozen=True)
class DateResult:
    """What we found for one gold page: the UTC day, the source and confidence that came with it."""

    page_id: str
    url: str
    gold: date | None
    found: date | None
    source: str | None
    confidence: float
    detail: str | None

    @property
    def correct(self) -> bool:
        """The found day equals the gold day (for a gold-null page: we found nothing)."""
        return self.found == self.gold


@dataclass(frozen=True)
class SourceTally:
    """How many pages a source answered, and how many of those answers were right."""

    source: str
    answered: int
    right: int


@dataclass(frozen=True)
class DateScore:
    """Per-page results and the figures derived from them."""

    results: tuple[DateResult, ...]

    @property
    def dated(self) -> tuple[DateResult, ...]:
        """The pages whose gold has a date."""
        return tuple(r for r in self.results if r.gold is not None)

    @property
    def undated(self) -> tuple[DateResult, ...]:
        """The pages whose gold is null: the page shows no publication date."""
        return tuple(r for r in self.results if r.gold is None)

    @property
    def correct(self) -> int:
        """Pages with a gold date where we found that day."""
        return sum(r.correct for r in self.dated)

    @property
    def accuracy(self) -> float:
        """correct / pages with a gold date; 0.0 for a gold file without dates."""
        return self.correct / len(self.dated) if self.dated else 0.0

    @property
    def wrongly_dated(self) -> int:
        """Gold-null pages we gave a date anyway."""
        return sum(r.found is not None for r in self.undated)

    @property
    def missed(self) -> int:
        """Pages with a gold date where we found none."""
        return sum(r.found is None for r in self.dated)

    def by_source(self) -> tuple[SourceTally, ...]:
        """Answered/right per page source (html_meta, url, htmldate; feed never answers here)."""
        return tuple(
            SourceTally(
                source,
                sum(r.source == source for r in self.results),
                sum(r.source == source and r.correct for r in self.results),
            )
            for source in DATE_SOURCES
            if source != "feed"
        )


def load_gold(gold_path: Path) -> Iterator[GoldDate]:
    """The gold file's pages in file order; a malformed line raises ValueError naming its line number."""
    for number, line in enumerate(gold_path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            published = item["published"]
            yield GoldDate(
                page_id=str(item["id"]),
                url=str(item["url"]),
                published=date.fromisoformat(published) if published else None,
                evidence=str(item.get("evidence", "")),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{gold_path}:{number}: bad gold line: {exc}") from exc


def evaluate_dates(gold_path: Path, html_dir: Path) -> DateScore:
    """Run our publication date (no feed date) on every gold page and compare UTC days. `html_dir` holds
    `<id>.html.gz` (or is the benchmark root with an `html/` folder). A gold page without its HTML file is
    an error, not a skip: a silently shrunk set would inflate the accuracy."""
    if (html_dir / "html").is_dir():
        html_dir = html_dir / "html"
    results = []
    for gold in load_gold(gold_path):
        html = gzip.decompress((html_dir / f"{gold.page_id}.html.gz").read_bytes())
        # The tree extraction builds (trafilatura's loader: charset handling, comments removed), so the
        # score is the score of the date search as it runs in the pipeline.
        tree = load_html(html)
        if tree is None:
            raise ValueError(f"{gold.page_id}: unparseable HTML")
        found = find_publication_date(tree, gold.url, None)
        results.append(
            DateResult(
                page_id=gold.page_id,
                url=gold.url,
                gold=gold.published,
                found=found.value.date() if found.value else None,
                source=found.source,
                confidence=found.confidence,
                detail=found.detail,
            )
        )
    return DateScore(tuple(results))


def format_report(score: DateScore, verbose: bool = False) -> str:
    """A text report: page counts, the per-source breakdown, gold-null pages wrongly dated and, with
    `verbose`, every wrong page. The last line is always `accuracy=A (n/N) where a date exists`."""
    dated, undated = len(score.dated), len(score.undated)
    lines = [f"{len(score.results)} gold pages: {dated} with a publication date, {undated} without"]
    lines.append("source      answered  right")
    for tally in score.by_source():
        lines.append(f"{tally.source:<11} {tally.answered:>8}  {tally.right:>5}")
    lines.append(f"{'(none)':<11} {sum(r.source is None for r in score.results):>8}")
    lines.append(f"no date found where gold has one: {score.missed}")
    lines.append(f"gold-null pages wrongly dated: {score.wrongly_dated}/{undated}")
    if verbose:
        wrong = [r for r in score.results if not r.correct]
        lines.append(f"wrong pages: {len(wrong)}")
        for r in wrong:
            lines.append(
                f"  {r.page_id[:16]}  gold={r.gold or 'null'} found={r.found or 'none'}"
                f" source={r.source or '-'} confidence={r.confidence:.2f} ({r.detail or '-'})  {r.url}"
            )
    lines.append(f"accuracy={score.accuracy:.3f} ({score.correct}/{dated}) where a date exists")
    return "\n".join(lines)
