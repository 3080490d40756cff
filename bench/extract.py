"""Extraction speed on the scrapinghub benchmark pages: median milliseconds per page for our
`extract_article` and for bare `trafilatura.extract(html, url=url)`, their ratio (target: ours within 1.15x),
and how much of ours is the publication-date search (`etl.dates.publication_date`, timed on its own).

    .venv/bin/python bench/extract.py [--rounds 3] [--set ../shared/data/extraction/scrapinghub]

Each page is timed `rounds` times with the contenders interleaved (so a noisy neighbour hits both alike);
a page's time is its best round, and the figure reported is the median over pages."""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import trafilatura
from trafilatura import load_html

from etl.dates import publication_date
from etl.evals.extraction import load_pages
from etl.extract import ExtractionError, extract_article
from etl.settings import PROJECT_ROOT

DEFAULT_SET = PROJECT_ROOT.parent / "shared" / "data" / "extraction" / "scrapinghub"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--set", type=Path, default=DEFAULT_SET, help="html/ and ground-truth.json folder")
    parser.add_argument("--rounds", type=int, default=3, help="timings per page and contender (best kept)")
    args = parser.parse_args()
    pages = [(html, url) for _, html, url, _ in load_pages(args.set / "html", args.set / "ground-truth.json")]
    # The date search is timed on trees parsed beforehand: its own cost, without the parse it shares with
    # the text extraction inside extract_article.
    trees = [load_html(html) for html, _ in pages]

    contenders: dict[str, Callable[[int], object]] = {
        "ours": lambda i: _ours(*pages[i]),
        "trafilatura": lambda i: trafilatura.extract(pages[i][0], url=pages[i][1]),
        "dates": lambda i: publication_date(trees[i], pages[i][1], None),
        "parse": lambda i: load_html(pages[i][0]),
    }
    for i in range(min(5, len(pages))):  # warm-up: imports, dateparser's lazy tables, caches
        for run in contenders.values():
            run(i)
    best: dict[str, list[float]] = {name: [] for name in contenders}
    gc.disable()  # collections land on whichever contender is running; keep them out of the timings
    try:
        for i in range(len(pages)):
            times: dict[str, list[float]] = {name: [] for name in contenders}
            for _ in range(args.rounds):
                for name, run in contenders.items():
                    started = time.perf_counter()
                    run(i)
                    times[name].append((time.perf_counter() - started) * 1000)
            for name in contenders:
                best[name].append(min(times[name]))
            gc.collect()
    finally:
        gc.enable()

    median = {name: statistics.median(values) for name, values in best.items()}
    total = {name: sum(values) for name, values in best.items()}
    print(f"{len(pages)} pages, best of {args.rounds} rounds per page")
    for name, label in (("ours", "extract_article"), ("trafilatura", "trafilatura.extract")):
        print(f"{label:<22} median {median[name]:6.2f} ms/page  (total {total[name] / 1000:5.2f} s)")
    per_page = statistics.median(o / t for o, t in zip(best["ours"], best["trafilatura"], strict=True))
    print(
        f"ratio ours/trafilatura  {median['ours'] / median['trafilatura']:.3f}x of medians, "
        f"{per_page:.3f}x median per page, {total['ours'] / total['trafilatura']:.3f}x of totals "
        "(target <= 1.15x)"
    )
    without_dates = statistics.median(
        (o - d) / t for o, d, t in zip(best["ours"], best["dates"], best["trafilatura"], strict=True)
    )
    print(
        f"of ours: publication_date median {median['dates']:.2f} ms ({total['dates'] / total['ours']:.1%} of "
        f"our total), parse {median['parse']:.2f} ms; ours without the date search: {without_dates:.3f}x "
        "median per page"
    )


def _ours(html: bytes, url: str) -> object:
    try:
        return extract_article(html, url)
    except ExtractionError:
        return None


if __name__ == "__main__":
    main()
