"""Tagging stored articles again, from their stored text (no refetch), when the annotation version
(pipeline, our rules, the alias table, the topic definitions) has changed since they were tagged.

A full re-tag replaces an article's mentions, quotes and topic scores; `--topic` re-scores one topic
(and its sub-topics) from the stored text and stored mentions without running spaCy, which is what a
user needs after editing or adding a topic definition. Both go in batches, one transaction each, so an
interrupted re-tag keeps what it finished and the next run carries on with the rest."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb

from etl import store
from etl.nlp.pipeline import Tagger
from etl.nlp.topics import TopicDefinition, score_topics


@dataclass(frozen=True)
class RetagCounts:
    """What one re-tag did."""

    articles: int = 0
    batches: int = 0
    mentions: int = 0
    quotes: int = 0
    topic_rows: int = 0


class UnknownTopic(ValueError):
    """`--topic` names no topic of the loaded topic definitions."""


def topic_definition(tagger: Tagger, name: str) -> TopicDefinition:
    """The top-level topic called `name`, or UnknownTopic naming the ones there are."""
    for topic in tagger.topics:
        if topic.name == name:
            return topic
    known = ", ".join(t.name for t in tagger.topics) or "none"
    raise UnknownTopic(f"no topic {name!r} in the topic definitions (known: {known})")


def retag_batch(
    con: duckdb.DuckDBPyConnection, tagger: Tagger, batch: Sequence[store.StoredArticle]
) -> store.LoadCounts:
    """Tag a batch of stored articles with the tagger's pipeline and rules and replace their tags."""
    taggings = tagger.tag([a.text for a in batch], [a.title for a in batch])
    return store.replace_tags(
        con,
        [store.ArticleTags(a.article_id, a.seen_at, t) for a, t in zip(batch, taggings, strict=True)],
    )


def rescore_topic_batch(
    con: duckdb.DuckDBPyConnection,
    tagger: Tagger,
    topic: TopicDefinition,
    batch: Sequence[store.StoredArticle],
) -> int:
    """Score one topic again for a batch of stored articles from their text and stored mentions."""
    mentions = store.stored_mentions(con, [a.article_id for a in batch])
    scores = {a.article_id: score_topics([topic], a.title, a.text, mentions[a.article_id]) for a in batch}
    return store.replace_topic_scores(con, topic.name, scores, tagger.annotation_version)


def retag(
    con: duckdb.DuckDBPyConnection,
    tagger: Tagger,
    *,
    since: datetime | None = None,
    topic: str | None = None,
    batch_size: int = 100,
    on_batch: Callable[[RetagCounts], None] | None = None,
) -> RetagCounts:
    """Re-tag every stored article whose tags (or, with `topic`, whose score for that topic) are not of
    the tagger's annotation version, in batches of `batch_size`; `on_batch` hears the running totals."""
    definition = topic_definition(tagger, topic) if topic is not None else None
    totals = RetagCounts()
    after_id = -(2**63)
    while True:
        batch = store.articles_to_retag(
            con, tagger.annotation_version, topic=topic, since=since, after_id=after_id, limit=batch_size
        )
        if not batch:
            return totals
        after_id = batch[-1].article_id
        if definition is not None:
            written = rescore_topic_batch(con, tagger, definition, batch)
            totals = _add(totals, len(batch), topic_rows=written)
        else:
            loaded = retag_batch(con, tagger, batch)
            totals = _add(
                totals,
                len(batch),
                mentions=loaded.mentions,
                quotes=loaded.quotes,
                topic_rows=loaded.article_topics,
            )
        if on_batch is not None:
            on_batch(totals)


def _add(
    totals: RetagCounts, articles: int, *, mentions: int = 0, quotes: int = 0, topic_rows: int = 0
) -> RetagCounts:
    return RetagCounts(
        articles=totals.articles + articles,
        batches=totals.batches + 1,
        mentions=totals.mentions + mentions,
        quotes=totals.quotes + quotes,
        topic_rows=totals.topic_rows + topic_rows,
    )
