"""Topic relevance from weighted evidence, with the evidence kept so every tag can say why."""

from __future__ import annotations

import math
import re
import tomllib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from etl.records import EntityMention, TopicEvidence, TopicScore, Where


@dataclass(frozen=True)
class _TermRule:
    pattern: re.Pattern[str]
    group: str
    weight: float


@dataclass(frozen=True)
class _EntityRule:
    names: frozenset[str]
    group: str
    weight: float


@dataclass(frozen=True)
class TopicDefinition:
    """One topic of the topic file, compiled."""

    name: str
    description: str
    threshold: float
    scale: float
    title_boost: float
    lead_boost: float
    lead_chars: int
    requires: tuple[str, ...]
    missing_group_factor: float
    terms: tuple[_TermRule, ...]
    entities: tuple[_EntityRule, ...]


def load_topics(path: Path | None = None) -> tuple[TopicDefinition, ...]:
    """Read topic definitions; the shipped file when no path is given."""
    text = (
        path.read_text(encoding="utf-8")
        if path is not None
        else resources.files("etl.resources").joinpath("topics.toml").read_text(encoding="utf-8")
    )
    topics = []
    for name, spec in tomllib.loads(text).get("topics", {}).items():
        terms = tuple(
            _TermRule(
                re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE), rule.get("group", ""), float(rule["weight"])
            )
            for rule in spec.get("terms", [])
            for pattern in rule["patterns"]
        )
        entities = tuple(
            _EntityRule(frozenset(rule["names"]), rule.get("group", ""), float(rule["weight"]))
            for rule in spec.get("entities", [])
        )
        topics.append(
            TopicDefinition(
                name=name,
                description=spec.get("description", ""),
                threshold=float(spec.get("threshold", 0.5)),
                scale=float(spec.get("scale", 5.0)),
                title_boost=float(spec.get("title_boost", 3.0)),
                lead_boost=float(spec.get("lead_boost", 1.5)),
                lead_chars=int(spec.get("lead_chars", 600)),
                requires=tuple(spec.get("requires", [])),
                missing_group_factor=float(spec.get("missing_group_factor", 0.2)),
                terms=terms,
                entities=entities,
            )
        )
    return tuple(topics)


def score_topics(
    topics: Sequence[TopicDefinition], title: str, text: str, mentions: Sequence[EntityMention]
) -> tuple[TopicScore, ...]:
    """Score the text against every topic; `mentions` are the body's entities (offsets into `text`)."""
    return tuple(_score(topic, title, text, mentions) for topic in topics)


def _score(topic: TopicDefinition, title: str, text: str, mentions: Sequence[EntityMention]) -> TopicScore:
    evidence: list[TopicEvidence] = []
    groups: set[str] = set()
    raw = 0.0
    for rule in topic.terms:
        for where, counts in _term_counts(rule.pattern, title, text, topic.lead_chars).items():
            for value, count in counts.items():
                evidence.append(TopicEvidence("term", value, where, count, rule.weight))
                raw += _contribution(topic, rule.weight, where, count)
                groups.update(_groups(rule.group))
    for entity_rule in topic.entities:
        counts_by_where: dict[Where, Counter[str]] = {}
        for mention in mentions:
            if mention.canonical in entity_rule.names:
                place: Where = "lead" if mention.start < topic.lead_chars else "body"
                counts_by_where.setdefault(place, Counter())[mention.canonical] += 1
        for where, counts in counts_by_where.items():
            for value, count in counts.items():
                evidence.append(TopicEvidence("entity", value, where, count, entity_rule.weight))
                raw += _contribution(topic, entity_rule.weight, where, count)
                groups.update(_groups(entity_rule.group))
    score = 1.0 - math.exp(-raw / topic.scale) if raw > 0 else 0.0
    if any(group not in groups for group in topic.requires):
        score *= topic.missing_group_factor
    score = round(score, 4)
    evidence.sort(key=lambda e: -_contribution(topic, e.weight, e.where, e.count))
    return TopicScore(
        topic=topic.name, score=score, relevant=score >= topic.threshold, evidence=tuple(evidence)
    )


def _groups(group: str) -> set[str]:
    return {"actor", "activity"} if group == "both" else {group} if group else set()


def _contribution(topic: TopicDefinition, weight: float, where: str, count: int) -> float:
    boost = topic.title_boost if where == "title" else topic.lead_boost if where == "lead" else 1.0
    return weight * boost * (1.0 + math.log(count))


def _term_counts(
    pattern: re.Pattern[str], title: str, text: str, lead_chars: int
) -> dict[Where, Counter[str]]:
    found: dict[Where, Counter[str]] = {}
    for match in pattern.finditer(title):
        found.setdefault("title", Counter())[match.group(0).lower()] += 1
    for match in pattern.finditer(text):
        where: Where = "lead" if match.start() < lead_chars else "body"
        found.setdefault(where, Counter())[match.group(0).lower()] += 1
    return found
