"""Topic relevance scored against a hand-labelled gold file.

Gold lines: `{"doc_id", "text"?, "title"?, "labels": {"<topic>": true|false, …}}`; lines without text
take it (and the title) from a texts file by `id`. Every document is tagged by the full pipeline (the
title counts as title evidence, as in ingestion), and for each topic named in the gold labels the
decision `relevant` is compared with the label. The report ends with one line per topic:
`<topic> precision=P recall=R f1=F`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from etl.evals.gold import PRF, GoldDoc, GoldError
from etl.nlp.pipeline import Tagger
from etl.records import TopicScore


@dataclass(frozen=True)
class TopicDecision:
    """The pipeline's decision for one document and topic, with the gold label."""

    doc_id: str
    topic: str
    gold: bool
    score: TopicScore

    @property
    def correct(self) -> bool:
        """The decision equals the label."""
        return self.score.relevant == self.gold


def evaluate_topics(docs: Sequence[GoldDoc], tagger: Tagger) -> list[TopicDecision]:
    """Tag every gold document and pair each labelled topic's decision with its label."""
    known = {t.name for t in tagger.topics} | {s.name for t in tagger.topics for s in t.subtopics}
    decisions = []
    taggings = tagger.tag([d.text for d in docs], [d.title for d in docs])
    for doc, tagging in zip(docs, taggings, strict=True):
        labels = doc.record.get("labels")
        if not isinstance(labels, dict):
            raise GoldError(f"{doc.doc_id}: `labels` must be an object of topic -> true|false")
        scores = {s.topic: s for s in tagging.topics}
        for topic, label in labels.items():
            if topic not in known:
                raise GoldError(f"{doc.doc_id}: topic {topic!r} is not defined (known: {sorted(known)})")
            decisions.append(TopicDecision(doc.doc_id, topic, bool(label), scores[topic]))
    return decisions


def topic_scores(decisions: Sequence[TopicDecision]) -> dict[str, PRF]:
    """Precision, recall and F1 of the positive decision, per topic."""
    topics = sorted({d.topic for d in decisions})
    return {
        topic: PRF(
            tp=sum(d.topic == topic and d.gold and d.score.relevant for d in decisions),
            fp=sum(d.topic == topic and not d.gold and d.score.relevant for d in decisions),
            fn=sum(d.topic == topic and d.gold and not d.score.relevant for d in decisions),
        )
        for topic in topics
    }


def format_report(decisions: Sequence[TopicDecision], verbose: bool = False) -> str:
    """Document counts, with `verbose` every wrong decision with its score and strongest evidence, and
    last one line per topic: `<topic> precision=P recall=R f1=F`."""
    lines = [f"{len({d.doc_id for d in decisions})} gold documents, {len(decisions)} labels"]
    if verbose:
        for d in decisions:
            if not d.correct:
                evidence = ", ".join(f"{e.value}@{e.where}x{e.count}" for e in d.score.evidence[:6])
                kind = "missed" if d.gold else "false alarm"
                lines.append(f"  {kind:<11} {d.doc_id} {d.topic} score={d.score.score:.3f} [{evidence}]")
    scores = topic_scores(decisions)
    for topic, prf in scores.items():
        lines.append(f"{topic}: {prf.counts()}")
    for topic, prf in scores.items():
        lines.append(f"{topic} {prf.line()}")
    return "\n".join(lines)
