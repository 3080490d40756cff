"""Backfill throughput: end to end (WARC -> extract -> dedup -> tag -> DuckDB, with checkpoints) against the
raw limit on the same pages (bare `trafilatura.extract` + bare `nlp.pipe`, same pipeline, same process
count, no orchestration, no database), with 1 and 2 worker processes; then the keyword prefilter's scan
rate on an archive where about 1% of the pages are on topic.

    NEWSWATCH_NLP_MODEL=../shared/models/en_core_web_sm_offline-3.8 .venv/bin/python bench/backfill.py \
        [--pages 5000] [--measure N] [--scan-pages 5000] [--workers 1 2]

The WARC holds `--pages` news pages (real texts from ../shared/data/articles wrapped in realistic page HTML,
cycling through the articles with new URLs); the end-to-end and raw runs use its first `--measure` pages
(default: all). Targets (issue 8): end to end >= 0.8x the raw limit, 2 processes >= 1.7x one, prefilter
scan >= 500 pages/s on 2 cores. Prints peak RSS of this process and of its worker processes."""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from etl import backfill, store
from etl.archive import PageRecord, read_warc
from etl.samplepages import SampleArticle, load_articles, pages, write_warc
from etl.settings import PROJECT_ROOT, Settings

ARTICLES = PROJECT_ROOT.parent / "shared" / "data" / "articles"

_RAW_NLP: dict[str, object] = {}


def _raw_init(model: str) -> None:
    import spacy

    _RAW_NLP["nlp"] = spacy.load(model)


def _raw_work(chunk: list[tuple[bytes, str]], batch_size: int = 32) -> int:
    import trafilatura

    nlp = _RAW_NLP["nlp"]
    texts = [t for t in (trafilatura.extract(html, url=url) for html, url in chunk) if t]
    for _ in nlp.pipe(texts, batch_size=batch_size):  # type: ignore[attr-defined]
        pass
    return len(texts)


def raw_limit(bodies: list[tuple[bytes, str]], model: str, workers: int) -> tuple[float, int]:
    """Seconds and texts for bare trafilatura + nlp.pipe over `bodies` in `workers` processes."""
    started = time.perf_counter()
    if workers == 1:
        _raw_init(model)
        done = _raw_work(bodies)
    else:
        size = 64  # pages per task: small enough to balance the processes, big enough for nlp.pipe
        chunks = [bodies[i : i + size] for i in range(0, len(bodies), size)]
        with ProcessPoolExecutor(workers, multiprocessing.get_context("spawn"), _raw_init, (model,)) as pool:
            done = sum(pool.map(_raw_work, chunks))
    return time.perf_counter() - started, done


def end_to_end(
    warc: Path, workdir: Path, settings: Settings, workers: int, **options: object
) -> tuple[float, dict[str, int]]:
    """Seconds and counts of a backfill of `warc` into a fresh database."""
    run_settings = settings.model_copy(
        update={"db_path": workdir / f"bench-{workers}-{time.time_ns()}.duckdb"}
    )
    con = store.connect(run_settings.database)
    store.upgrade(con, run_settings.sql_dir)
    opts = backfill.BackfillOptions(workers=workers, batch_size=settings.batch_size, **options)  # type: ignore[arg-type]
    started = time.perf_counter()
    if workers == 1:
        executor: backfill.BatchExecutor = backfill.InlineExecutor(backfill.build_tools(run_settings))
        report = backfill.run_backfill(run_settings, con, [str(warc)], opts, executor, run_id="bench")
    else:
        with backfill.ProcessExecutor(run_settings, workers) as pool:
            report = backfill.run_backfill(run_settings, con, [str(warc)], opts, pool, run_id="bench")
    spent = time.perf_counter() - started
    con.close()
    return spent, report.counts


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children: under contention from other work on the
    machine, pages per CPU-second still say what the code costs."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _rss_mb(who: int) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--measure", type=int, default=0, help="pages of the WARC to run (0: all)")
    parser.add_argument("--scan-pages", type=int, default=5000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--on-topic-every", type=int, default=100, help="one on-topic page in N (0: none)")
    args = parser.parse_args()
    settings = Settings()
    workdir = Path(tempfile.mkdtemp(prefix="nw-bench-"))
    on_topic = load_articles(sorted(p for p in ARTICLES.glob("*.jsonl") if ".control." not in p.name))
    control = load_articles(sorted(ARTICLES.glob("*.control.jsonl")))
    print(
        f"pipeline {settings.nlp_model}; {len(on_topic)} on-topic and {len(control)} control articles; "
        f"work dir {workdir}"
    )

    if not args.skip_throughput:
        everything = [a for a in on_topic + control if len(a.text.split()) >= 50]
        # Shuffled (seeded), so that any prefix of the WARC is a fair mix of long and short articles.
        random.Random(8).shuffle(everything)
        warc = workdir / "pages.warc.gz"
        started = time.perf_counter()
        write_warc(warc, pages(everything, args.pages))
        print(
            f"built {warc.name}: {args.pages} pages, {warc.stat().st_size / 1e6:.1f} MB "
            f"in {time.perf_counter() - started:.1f}s"
        )
        if args.measure and args.measure < args.pages:
            measured = workdir / "measured.warc.gz"
            write_warc(measured, pages(everything, args.measure))
        else:
            measured = warc
        bodies = [(r.body, r.url) for r in read_warc(str(measured)) if isinstance(r, PageRecord)]
        print(f"measuring on {len(bodies)} pages")
        results: dict[int, tuple[float, float]] = {}
        for workers in args.workers:
            cpu = cpu_seconds()
            raw_s, raw_n = raw_limit(bodies, settings.nlp_model, workers)
            raw_cpu = cpu_seconds() - cpu
            e2e_s, counts = end_to_end(measured, workdir, settings, workers)
            e2e_cpu = cpu_seconds() - cpu - raw_cpu
            loaded = counts.get("articles_loaded", 0)
            raw_rate, e2e_rate = len(bodies) / raw_s, len(bodies) / e2e_s
            results[workers] = (raw_rate, e2e_rate)
            print(
                f"{workers} process(es): raw limit {raw_rate:6.2f} pages/s ({raw_n} texts, {raw_s:.0f}s); "
                f"end to end {e2e_rate:6.2f} pages/s ({loaded} articles loaded, {e2e_s:.0f}s); "
                f"ratio {e2e_rate / raw_rate:.2f}; CPU s raw {raw_cpu:.0f}, end to end {e2e_cpu:.0f} "
                f"(ratio {raw_cpu / e2e_cpu:.2f})"
            )
        if 1 in results and 2 in results:
            print(
                f"2 vs 1 process: end to end {results[2][1] / results[1][1]:.2f}x, "
                f"raw {results[2][0] / results[1][0]:.2f}x"
            )

    # The prefilter: ~1% of pages on topic, the rest control articles, 2 processes.
    every = args.on_topic_every
    share = args.scan_pages // every if every else 0
    # On-topic pages drawn from all the on-topic dumps (seeded), not the first file's: the NLP they need
    # should cost what a typical on-topic article costs.
    picks = random.Random(9).sample(on_topic, min(len(on_topic), max(1, share)))
    mixed: list[SampleArticle] = []
    for i in range(args.scan_pages):
        topical = every and i % every == 0
        mixed.append(picks[i // every % len(picks)] if topical else control[i % len(control)])
    scan = workdir / "scan.warc.gz"
    write_warc(scan, pages(mixed, args.scan_pages))
    workers = max(args.workers)
    cpu = cpu_seconds()
    spent, counts = end_to_end(scan, workdir, settings, workers, prefilter="russian_interference")
    cpu = cpu_seconds() - cpu
    print(
        f"prefilter russian_interference, {workers} processes: {args.scan_pages} pages ({share} on topic) "
        f"scanned in {spent:.1f}s = {args.scan_pages / spent:.0f} pages/s "
        f"({counts.get('records', 0) / spent:.0f} WARC records/s); "
        f"{counts.get('filtered:topic', 0)} filtered, {counts.get('articles_loaded', 0)} loaded; "
        f"{cpu:.1f} CPU s = {args.scan_pages / cpu:.0f} pages per CPU-second"
    )
    print(
        f"peak RSS: this process {_rss_mb(resource.RUSAGE_SELF):.0f} MB, "
        f"largest worker {_rss_mb(resource.RUSAGE_CHILDREN):.0f} MB"
    )


if __name__ == "__main__":
    main()
