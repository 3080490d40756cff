"""Throughput of the article path on this machine: extraction (scrapinghub pages), tagging (real articles
about the topic with the configured spaCy pipeline) and loading (DuckDB through Arrow).

    NEWSWATCH_NLP_MODEL=../shared/models/en_core_web_sm_offline-3.8 .venv/bin/python bench/bench_pipeline.py
"""

from __future__ import annotations

import gzip
import json
import resource
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from etl import store
from etl.dedup import article_id, content_hash
from etl.extract import ExtractionError, extract_article
from etl.nlp.pipeline import Tagger
from etl.records import Article, TaggedArticle
from etl.settings import PROJECT_ROOT, Settings

SHARED = PROJECT_ROOT.parent / "shared"


def main() -> None:
    settings = Settings()
    pages = _pages()
    started = time.perf_counter()
    extracted = 0
    for url, html in pages:
        try:
            extract_article(html, url)
            extracted += 1
        except ExtractionError:
            pass
    extract_s = time.perf_counter() - started
    print(
        f"extract: {len(pages)} pages ({extracted} articles) in {extract_s:.2f}s = "
        f"{len(pages) / extract_s:.1f} pages/s"
    )

    rows = _articles()
    words = sum(len(r["text"].split()) for r in rows)
    started = time.perf_counter()
    tagger = Tagger.from_settings(settings)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    taggings = tagger.tag([r["text"] for r in rows], [r["title"] for r in rows])
    tag_s = time.perf_counter() - started
    print(f"pipeline load: {load_s:.2f}s ({tagger.pipeline_version})")
    print(
        f"tag: {len(rows)} articles, {words} words in {tag_s:.2f}s = {len(rows) / tag_s:.1f} articles/s, "
        f"{words / tag_s:,.0f} words/s"
    )

    now = datetime.now(UTC)
    base = [
        TaggedArticle(
            Article(
                article_id=0,
                url="",
                canonical_url="",
                outlet=r.get("outlet") or "bench",
                feed_url=None,
                title=r["title"],
                text=r["text"],
                authors=(),
                published=None,
                published_source=None,
                site_name="",
                language="en",
                content_hash=content_hash(r["text"]),
                fetched_at=now,
            ),
            tagging,
        )
        for r, tagging in zip(rows, taggings, strict=True)
    ]
    with tempfile.TemporaryDirectory() as tmp:
        con = store.connect(Path(tmp) / "bench.duckdb")
        store.upgrade(con, settings.sql_dir)
        batches = 20
        started = time.perf_counter()
        for b in range(batches):
            batch = []
            for i, tagged in enumerate(base):
                url = f"https://bench.test/{b}/{i}"
                article = replace(tagged.article, url=url, canonical_url=url, article_id=article_id(url))
                batch.append(TaggedArticle(article, tagged.tagging))
            store.load_articles(con, batch, run_id="bench")
        load_total = time.perf_counter() - started
        counts = store.table_counts(con)
        con.close()
    rows_loaded = sum(counts[t] for t in ("articles", "mentions", "quotes", "article_topics"))
    print(
        f"load: {batches} batches of {len(base)} articles, {rows_loaded:,} rows in {load_total:.2f}s = "
        f"{rows_loaded / load_total:,.0f} rows/s ({counts['articles'] / load_total:.0f} articles/s)"
    )
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def _pages() -> list[tuple[str, bytes]]:
    root = SHARED / "data" / "extraction" / "scrapinghub"
    truth = json.loads((root / "ground-truth.json").read_text())
    return [
        (truth[k]["url"], gzip.decompress((root / "html" / f"{k}.html.gz").read_bytes()))
        for k in sorted(truth)
    ]


def _articles() -> list[dict[str, str]]:
    path = SHARED / "data" / "articles" / "isot_subset.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()[:200]]


if __name__ == "__main__":
    if not SHARED.is_dir():
        sys.exit(f"needs {SHARED} (benchmark data)")
    main()
