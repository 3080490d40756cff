"""Tagging throughput: our whole tagging (alias ruler, entities, quotes, topics) against bare `nlp.pipe`
with the same spaCy pipeline on the same texts, and where our time goes.

    NEWSWATCH_NLP_MODEL=../shared/models/en_core_web_sm_offline-3.8 .venv/bin/python bench/tag.py [N]

Reads the first N (default 1,000) articles of ../shared/data/articles/*.jsonl in file-name order. Prints
words/s for bare nlp.pipe and for Tagger.tag, their ratio (target: >= 0.8), and a breakdown of our time
after the pipeline: entity canonicalisation, quote extraction (its share of the whole tagging time;
target for quotes: <= 30%) and topic scoring."""

from __future__ import annotations

import json
import resource
import sys
import time

from etl.nlp.entities import extract_mentions
from etl.nlp.pipeline import Tagger, load_pipeline
from etl.nlp.quotes import extract_quotes
from etl.nlp.topics import score_topics
from etl.settings import PROJECT_ROOT, Settings

ARTICLES = PROJECT_ROOT.parent / "shared" / "data" / "articles"


def _articles(limit: int) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for path in sorted(ARTICLES.glob("*.jsonl")):
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                record = json.loads(line)
                if record.get("text"):
                    rows.append((record.get("title") or "", record["text"]))
                if len(rows) >= limit:
                    return rows
    return rows


def main() -> None:
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    settings = Settings()
    rows = _articles(limit)
    titles = [title for title, _ in rows]
    texts = [text for _, text in rows]
    words = sum(len(t.split()) for t in texts)
    print(f"{len(texts)} articles, {words:,} words, pipeline {settings.nlp_model}")

    bare = load_pipeline(settings.nlp_model)
    started = time.perf_counter()
    for _ in bare.pipe(texts, batch_size=settings.nlp_batch_size):
        pass
    bare_s = time.perf_counter() - started
    print(f"bare nlp.pipe:  {bare_s:7.1f}s  {words / bare_s:7.0f} words/s")

    tagger = Tagger.from_settings(settings)
    started = time.perf_counter()
    tagger.tag(texts, titles)
    ours_s = time.perf_counter() - started
    print(f"Tagger.tag:     {ours_s:7.1f}s  {words / ours_s:7.0f} words/s")
    print(f"ratio (ours / bare words per second): {bare_s / ours_s:.2f}  (target >= 0.80)")

    # Where our time goes: the pipeline with our alias ruler, then each of our stages on its docs.
    started = time.perf_counter()
    docs = list(tagger.nlp.pipe(texts, batch_size=settings.nlp_batch_size))
    pipe_s = time.perf_counter() - started
    started = time.perf_counter()
    mentions = [extract_mentions(doc, tagger.aliases) for doc in docs]
    entities_s = time.perf_counter() - started
    started = time.perf_counter()
    for doc, found in zip(docs, mentions, strict=True):
        extract_quotes(doc, found, tagger.aliases)
    quotes_s = time.perf_counter() - started
    started = time.perf_counter()
    for title, doc, found in zip(titles, docs, mentions, strict=True):
        score_topics(tagger.topics, title, doc.text, found)
    topics_s = time.perf_counter() - started
    total = pipe_s + entities_s + quotes_s + topics_s
    print(
        f"breakdown: pipeline+ruler {pipe_s:.1f}s, entities {entities_s:.1f}s, "
        f"quotes {quotes_s:.1f}s, topics {topics_s:.1f}s"
    )
    print(
        f"quotes add {quotes_s / (total - quotes_s):.1%} to the rest of the tagging time "
        f"(target <= 30%); peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
