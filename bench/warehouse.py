"""Warehouse benchmark: load throughput and the median time of every trend query on a synthetic database
of realistic shape.

    .venv/bin/python bench/warehouse.py [--scale 1.0] [--repeat 5] [--db PATH] [--keep]
    make bench-warehouse ARGS="--scale 0.1"

At --scale 1 (the default) the database holds 1,000,000 articles over 3 years from 200 outlets, 10,000,000
entity mentions and 2,000,000 quotes. Distributions follow what ingestion produces: outlet volume and
entity and speaker popularity are Zipf-like (a few outlets, names and speakers dominate), about a fifth of
the articles are relevant to russian_interference with one or two sub-topics, one in seven is a
syndicated copy of an earlier story, a few percent are undated or carry quality flags, and the words of
titles and texts are drawn from a Zipf vocabulary so the search index has a realistic long tail.

Rows are loaded through `etl.store.bulk_insert` (Arrow, INSERT … SELECT … ON CONFLICT, one transaction per
batch) and the search terms through `etl.store.index_articles` (the load path's SQL). Printed: rows/s per
table, then the median of --repeat runs (after one warm-up run) of every query in sql/trends with its
default parameters (a few get realistic ones, listed in QUERY_PARAMS), and of keyword searches for rare,
common and combined words. Targets on the project's 2-core machine: mentions >= 1M rows/s, every trend
query < 1 s, keyword search < 100 ms.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa

from etl import queries, store
from etl.settings import PROJECT_ROOT

SQL_DIR = PROJECT_ROOT / "sql"
FULL = {"articles": 1_000_000, "mentions": 10_000_000, "quotes": 2_000_000, "entities": 200_000}
OUTLETS = 200
DAYS = 3 * 365
START = datetime(2023, 1, 2, tzinfo=UTC)
CHUNK = 100_000  # articles per load batch
RI = "russian_interference"
SUBTOPICS = [f"{RI}.{s}" for s in ("hacking", "disinformation", "investigations", "diplomacy", "denials")]
LABELS = np.array(["PERSON", "ORG", "GPE", "NORP", "EVENT", "LAW"])
LABEL_P = [0.4, 0.3, 0.15, 0.08, 0.04, 0.03]
SOURCES = np.array(["json-ld", "html_meta", "feed", "url", "htmldate"])
SOURCE_P = [0.55, 0.2, 0.15, 0.05, 0.05]
# Real words planted in the synthetic vocabulary at chosen popularity ranks, for the keyword searches.
PLANTED = {"election": 40, "russia": 60, "hackers": 300, "kremlin": 500, "sanctions": 2_000, "troll": 8_000}
VOCABULARY = 30_000

# Parameters a researcher would give; every other query runs with its defaults.
QUERY_PARAMS: dict[str, dict[str, str]] = {
    "keyword_search": {"words": "kremlin hackers"},
    "quote_search": {"words": "sanctions"},
    "speaker_quotes_weekly": {"speaker": "speaker 000017"},
}
SEARCHES = {
    "rare word": "troll",
    "common word": "russia",
    "two words": "kremlin hackers",
    "three words, one year": "russia election sanctions",
}


def zipf_choice(rng: np.random.Generator, n: int, size: int, exponent: float) -> np.ndarray:
    """Indices 0..n-1 drawn with probability proportional to 1 / (rank + 1) ** exponent."""
    weights = 1.0 / np.arange(1, n + 1) ** exponent
    return rng.choice(n, size=size, p=weights / weights.sum())


def vocabulary(rng: np.random.Generator) -> np.ndarray:
    syllables = np.array(
        ["ka", "lo", "mi", "ren", "sto", "va", "dri", "pel", "nu", "tor", "ex", "zan", "qui"]
    )
    parts = rng.integers(0, len(syllables), size=(VOCABULARY, 3))
    lengths = rng.integers(1, 4, size=VOCABULARY)
    words = np.array(
        ["".join(syllables[p[:k]]) + str(i % 7) for i, (p, k) in enumerate(zip(parts, lengths, strict=True))]
    )
    for word, rank in PLANTED.items():
        words[rank] = word
    return words


def sentences(rng: np.random.Generator, words: np.ndarray, rows: int, length: int) -> list[str]:
    picked = words[zipf_choice(rng, len(words), rows * length, 1.05).reshape(rows, length)]
    return [" ".join(row) for row in picked]


def make_entities(rng: np.random.Generator, n: int) -> pa.Table:
    labels = LABELS[rng.choice(len(LABELS), size=n, p=LABEL_P)]
    ids = np.arange(1, n + 1, dtype=np.int64) * 7_919  # distinct, spread
    names = [f"{label.lower()} {i}" for i, label in enumerate(labels)]
    # Speakers are named "speaker 000017": the PERSON entities, numbered in popularity order.
    persons = np.flatnonzero(labels == "PERSON")
    for k, i in enumerate(persons):
        names[i] = f"speaker {k:06d}"
    return pa.table(
        {
            "entity_id": ids,
            "canonical": names,
            "label": labels,
            "first_seen": pa.array([START] * n, pa.timestamp("us", tz="UTC")),
        }
    )


def make_chunk(
    rng: np.random.Generator,
    words: np.ndarray,
    first: int,
    n: int,
    scale: float,
    entity_ids: np.ndarray,
    person_rows: np.ndarray,
    entity_names: np.ndarray,
    entity_labels: np.ndarray,
    next_ids: dict[str, int],
) -> dict[str, pa.Table]:
    """The rows of articles first..first+n-1 for every table; `next_ids` numbers mentions and quotes."""
    ids = (np.arange(first, first + n, dtype=np.int64) + 1) * 104_729
    outlets = zipf_choice(rng, OUTLETS, n, 0.8)
    seconds = rng.integers(0, DAYS * 86_400, size=n)
    published = [START + timedelta(seconds=int(s)) for s in seconds]
    undated = rng.random(n) < 0.03
    flags_roll = rng.random(n)
    flags = [
        ["short_text"]
        if r < 0.05
        else ["boilerplate"]
        if r < 0.08
        else ["short_text", "no_byline"]
        if r < 0.09
        else []
        for r in flags_roll
    ]
    copies = rng.random(n) < 0.15
    cluster = np.where(copies, ids[rng.integers(0, n, size=n)], ids)
    titles = sentences(rng, words, n, 8)
    texts = sentences(rng, words, n, 60)
    articles = pa.table(
        {
            "article_id": ids,
            "canonical_url": [f"https://outlet{o}.example/{i}" for o, i in zip(outlets, ids, strict=True)],
            "outlet": [f"outlet {o}" for o in outlets],
            "title": titles,
            "text": texts,
            "published": pa.array(
                [None if u else p for u, p in zip(undated, published, strict=True)],
                pa.timestamp("us", tz="UTC"),
            ),
            "published_source": pa.array(
                np.where(undated, None, SOURCES[rng.choice(len(SOURCES), size=n, p=SOURCE_P)])
            ),
            "published_confidence": np.round(rng.uniform(0.4, 1.0, size=n), 2),
            "fetched_at": pa.array([p + timedelta(hours=2) for p in published], pa.timestamp("us", tz="UTC")),
            "word_count": rng.lognormal(6.3, 0.5, size=n).astype(np.int32),
            "quality_flags": pa.array(flags, pa.list_(pa.string())),
            "cluster_id": cluster,
            "language": ["en"] * n,
        }
    )

    relevant = rng.random(n) < 0.2
    topic_rows = {
        "article_id": ids,
        "topic": [RI] * n,
        "score": np.where(relevant, 0.85, 0.2),
        "relevant": relevant,
        "parent_topic": pa.nulls(n, pa.string()),
    }
    rel_ids = ids[relevant]
    first_sub = rng.integers(0, len(SUBTOPICS), size=len(rel_ids))
    second = rng.random(len(rel_ids)) < 0.4
    second_sub = (first_sub + rng.integers(1, len(SUBTOPICS), size=len(rel_ids))) % len(SUBTOPICS)
    sub_ids = np.concatenate([rel_ids, rel_ids[second]])
    sub_topics = np.concatenate([first_sub, second_sub[second]])
    topics = pa.concat_tables(
        [
            pa.table(topic_rows),
            pa.table(
                {
                    "article_id": sub_ids,
                    "topic": np.array(SUBTOPICS)[sub_topics],
                    "score": np.full(len(sub_ids), 0.8),
                    "relevant": np.ones(len(sub_ids), dtype=bool),
                    "parent_topic": [RI] * len(sub_ids),
                }
            ),
        ]
    )

    per_article = FULL["mentions"] // FULL["articles"]
    m_counts = rng.poisson(per_article, size=n)
    m_article = np.repeat(ids, m_counts)
    m_total = len(m_article)
    m_rows = zipf_choice(rng, len(entity_ids), m_total, 1.1)
    m_first = next_ids["mentions"]
    next_ids["mentions"] += m_total
    mentions = pa.table(
        {
            "mention_id": np.arange(m_first, m_first + m_total, dtype=np.int64) * 15_485_863,
            "article_id": m_article,
            "entity_id": entity_ids[m_rows],
            "label": entity_labels[m_rows],
            "start_char": rng.integers(0, 3_000, size=m_total).astype(np.int32),
            "end_char": rng.integers(3_000, 3_020, size=m_total).astype(np.int32),
        }
    )

    q_per_article = FULL["quotes"] / FULL["articles"]
    q_counts = rng.poisson(q_per_article, size=n)
    q_article = np.repeat(ids, q_counts)
    q_total = len(q_article)
    speaker_rows = person_rows[zipf_choice(rng, len(person_rows), q_total, 1.2)]
    attributed = rng.random(q_total) > 0.1
    q_first = next_ids["quotes"]
    next_ids["quotes"] += q_total
    quotes = pa.table(
        {
            "quote_id": np.arange(q_first, q_first + q_total, dtype=np.int64) * 32_452_843,
            "article_id": q_article,
            "quote": sentences(rng, words, q_total, 12),
            "speaker_canonical": pa.array(np.where(attributed, entity_names[speaker_rows], None)),
            "speaker_entity_id": pa.array(np.where(attributed, entity_ids[speaker_rows], None), pa.int64()),
            "kind": np.array(["direct", "indirect", "mixed"])[
                rng.choice(3, size=q_total, p=[0.6, 0.35, 0.05])
            ],
            "confidence": np.round(rng.uniform(0.3, 1.0, size=q_total), 2),
        }
    )
    return {"articles": articles, "article_topics": topics, "mentions": mentions, "quotes": quotes}


def timed(fn, *args):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - started


def load(con, scale: float, rng: np.random.Generator) -> None:  # type: ignore[no-untyped-def]
    n_articles = int(FULL["articles"] * scale)
    words = vocabulary(rng)
    entities = make_entities(rng, max(1_000, int(FULL["entities"] * scale)))
    entity_ids = entities.column("entity_id").to_numpy()
    entity_names = np.array(entities.column("canonical").to_pylist(), dtype=object)
    entity_labels = np.array(entities.column("label").to_pylist())
    person_rows = np.flatnonzero(entity_labels == "PERSON")
    next_ids = {"mentions": 1, "quotes": 1}
    rows: dict[str, int] = {}
    seconds: dict[str, float] = {}
    added, took = timed(store.bulk_insert, con, "entities", entities)
    rows["entities"], seconds["entities"] = added, took
    generating = 0.0
    for first in range(0, n_articles, CHUNK):
        n = min(CHUNK, n_articles - first)
        chunk, took = timed(
            make_chunk,
            rng,
            words,
            first,
            n,
            scale,
            entity_ids,
            person_rows,
            entity_names,
            entity_labels,
            next_ids,
        )
        generating += took
        for name in ("articles", "article_topics", "mentions", "quotes"):
            added, took = timed(store.bulk_insert, con, name, chunk[name])
            rows[name] = rows.get(name, 0) + added
            seconds[name] = seconds.get(name, 0.0) + took
        ids = chunk["articles"].column("article_id").to_pylist()
        before = con.execute("select count(*) from article_terms").fetchone()[0]
        _, took = timed(store.index_articles, con, ids)
        rows["article_terms"] = (
            rows.get("article_terms", 0)
            + con.execute("select count(*) from article_terms").fetchone()[0]
            - before
        )
        seconds["article_terms"] = seconds.get("article_terms", 0.0) + took
        print(f"  loaded {first + n:,} articles", flush=True)
    print(f"\nsynthetic data generated in {generating:.1f}s (not counted below)\n")
    print(f"{'table':<16}{'rows':>14}{'seconds':>10}{'rows/s':>14}")
    for name in ("entities", "articles", "article_topics", "mentions", "quotes", "article_terms"):
        print(f"{name:<16}{rows[name]:>14,}{seconds[name]:>10.2f}{rows[name] / seconds[name]:>14,.0f}")
    print("(article_terms: store.index_articles, which also writes article_entities from the mentions)")


def median_time(con, name: str, params: dict[str, str], repeat: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    _, result = queries.run_query(con, SQL_DIR, name, params)  # warm-up
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        queries.run_query(con, SQL_DIR, name, params)
        times.append(time.perf_counter() - started)
    return statistics.median(times), len(result)


# DuckDB's fts: BM25 over the articles; conjunctive so that, like keyword_search, every word must occur.
FTS_SEARCH = """
select article_id
from (
    select article_id, fts_main_articles.match_bm25(article_id, ?, conjunctive := 1) as score
    from articles
)
where score is not null
order by score desc
limit 50
"""


def compare_fts(con, extension: Path, repeat: int) -> None:  # type: ignore[no-untyped-def]
    """Build DuckDB's fts index over title and text (installed from the given file: never downloaded) and
    time the same searches with it."""
    con.install_extension(str(extension))
    con.load_extension("fts")
    started = time.perf_counter()
    con.execute(
        "PRAGMA create_fts_index('articles', 'article_id', 'title', 'text', "
        "stemmer = 'none', stopwords = 'none', lower = 1, strip_accents = 0, overwrite = 1)"
    )
    print(f"\nfts index built in {time.perf_counter() - started:.1f}s")
    for label, words in SEARCHES.items():
        con.execute(FTS_SEARCH, [words]).fetchall()
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            n = len(con.execute(FTS_SEARCH, [words]).fetchall())
            times.append(time.perf_counter() - started)
        print(f"{'fts: ' + label:<30}{statistics.median(times):>10.3f}{n:>10}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full size (1M articles)")
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per query (after a warm-up)")
    parser.add_argument("--db", type=Path, help="database file (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the database file")
    parser.add_argument("--queries-only", action="store_true", help="time the queries of an existing --db")
    parser.add_argument(
        "--fts",
        type=Path,
        help="fts.duckdb_extension of the duckdb-extension-fts 1.5.5 wheel: also time DuckDB's fts",
    )
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="newswatch-bench-"))
    path = args.db or folder / "warehouse.duckdb"
    if not args.queries_only:
        path.unlink(missing_ok=True)
    con = store.connect(path)
    try:
        # A database kept from an older run is brought up to the current schema (its views included).
        store.upgrade(con, SQL_DIR)
        if not args.queries_only:
            print(f"loading {int(FULL['articles'] * args.scale):,} articles into {path}")
            started = time.perf_counter()
            load(con, args.scale, np.random.default_rng(7))
            con.execute("checkpoint")
            _, took = timed(store.optimize, con)
            print(f"\nnewswatch db optimize (article_terms sorted by term): {took:.1f}s")
            size = path.stat().st_size / 2**30
            print(f"\nwhole load with generation: {time.perf_counter() - started:.0f}s; file {size:.2f} GiB")
        counts = store.table_counts(con)
        print(
            f"\n{counts['articles']:,} articles, {counts['mentions']:,} mentions, "
            f"{counts['quotes']:,} quotes, {counts['article_terms']:,} terms\n"
        )
        print(f"{'query':<30}{'median s':>10}{'rows':>10}  target")
        for info in queries.list_queries(SQL_DIR):
            params = QUERY_PARAMS.get(info.name, {})
            took, n = median_time(con, info.name, params, args.repeat)
            flag = "ok" if took < 1.0 else "MISSED (< 1 s)"
            print(f"{info.name:<30}{took:>10.3f}{n:>10}  {flag}")
        print()
        for label, words in SEARCHES.items():
            params = {"words": words}
            if "one year" in label:
                params.update(since="2024-01-01", until="2024-12-31")
            took, n = median_time(con, "keyword_search", params, args.repeat)
            flag = "ok" if took < 0.1 else "MISSED (< 100 ms)"
            print(f"{'search: ' + label:<30}{took:>10.3f}{n:>10}  {flag}")
        if args.fts:
            compare_fts(con, args.fts, args.repeat)
    finally:
        con.close()
        if not args.keep and args.db is None:
            path.unlink(missing_ok=True)
            Path(str(path) + ".wal").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
