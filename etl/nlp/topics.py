"""Topic relevance from weighted evidence, with the evidence kept so every tag can say why."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import tomllib
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from etl.nlp.literals import case_insensitive_literals
from etl.records import EntityMention, TopicEvidence, TopicScore, Where


@dataclass(frozen=True)
class _TermRule:
    pattern: re.Pattern[str]
    group: str
    weight: float
    # Case-folded literals one of which every match contains (etl.nlp.literals); () : always run. A rule
    # whose literals are all absent from a text is skipped without running its expression: most of a
    # topic's hundred-odd rules match nothing in a given article, and each `finditer` walks the whole text.
    literals: tuple[str, ...] = ()


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
    reference_words: int = 0
    group_caps: dict[str, float] = dataclasses.field(default_factory=dict)
    subtopics: tuple[TopicDefinition, ...] = ()
    parent: str | None = None
    # SHA-256 of the topic's definition as canonical JSON: its part of the annotation version.
    digest: str = ""


def load_topics(path: Path | None = None) -> tuple[TopicDefinition, ...]:
    """Read topic definitions; the shipped file when no path is given."""
    text = (
        path.read_text(encoding="utf-8")
        if path is not None
        else resources.files("etl.resources").joinpath("topics.toml").read_text(encoding="utf-8")
    )
    return tuple(
        _definition(name, spec, None) for name, spec in tomllib.loads(text).get("topics", {}).items()
    )


def _definition(name: str, spec: dict[str, Any], parent: TopicDefinition | None) -> TopicDefinition:
    """Compile one topic (or sub-topic: its defaults come from the parent, its name is `parent.name`)."""
    full_name = f"{parent.name}.{name}" if parent is not None else name

    def setting(key: str, default: float) -> float:
        inherited = getattr(parent, key) if parent is not None else default
        return float(spec.get(key, inherited))

    terms = tuple(
        _TermRule(
            re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE),
            rule.get("group", ""),
            float(rule["weight"]),
            case_insensitive_literals(pattern),
        )
        for rule in spec.get("terms", [])
        for pattern in rule["patterns"]
    )
    entities = tuple(
        _EntityRule(frozenset(rule["names"]), rule.get("group", ""), float(rule["weight"]))
        for rule in spec.get("entities", [])
    )
    topic = TopicDefinition(
        name=full_name,
        description=spec.get("description", ""),
        threshold=float(spec.get("threshold", 0.5)),
        scale=float(spec.get("scale", 5.0)),
        title_boost=setting("title_boost", 3.0),
        lead_boost=setting("lead_boost", 1.5),
        lead_chars=int(setting("lead_chars", 600)),
        # Sub-topics need no groups of their own: the parent's decision already required them.
        requires=tuple(spec.get("requires", [])),
        missing_group_factor=float(spec.get("missing_group_factor", 0.2)),
        reference_words=int(setting("reference_words", 0)),
        group_caps={str(k): float(v) for k, v in spec.get("group_caps", {}).items()},
        terms=terms,
        entities=entities,
        parent=parent.name if parent is not None else None,
        digest=hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest(),
    )
    subtopics = tuple(
        _definition(sub, sub_spec, topic) for sub, sub_spec in spec.get("subtopics", {}).items()
    )
    return dataclasses.replace(topic, subtopics=subtopics)


def score_topics(
    topics: Sequence[TopicDefinition], title: str, text: str, mentions: Sequence[EntityMention]
) -> tuple[TopicScore, ...]:
    """Score the text against every topic and, after each topic, its sub-topics; `mentions` are the
    body's entities (offsets into `text`). A sub-topic is relevant only when its parent is."""
    scores: list[TopicScore] = []
    folded = f"{title}\n{text}".casefold()
    for topic in topics:
        parent = _score(topic, title, text, folded, mentions)
        scores.append(parent)
        for sub in topic.subtopics:
            score = _score(sub, title, text, folded, mentions)
            scores.append(dataclasses.replace(score, relevant=score.relevant and parent.relevant))
    return tuple(scores)


def _score(
    topic: TopicDefinition, title: str, text: str, folded: str, mentions: Sequence[EntityMention]
) -> TopicScore:
    # Evidence deep in a long text says less about what the text is about than the same evidence in a
    # short one: body contributions shrink with the square root of the length past `reference_words`.
    words = max(1, len(text.split()))
    body_factor = min(1.0, math.sqrt(topic.reference_words / words)) if topic.reference_words else 1.0
    evidence: list[TopicEvidence] = []
    groups: set[str] = set()
    group_raw: defaultdict[str, float] = defaultdict(float)

    def add(
        kind: Literal["term", "entity"], value: str, where: Where, count: int, weight: float, group: str
    ) -> None:
        evidence.append(TopicEvidence(kind, value, where, count, weight))
        contribution = _contribution(topic, weight, where, count) * (body_factor if where == "body" else 1.0)
        # "both" evidence (Mueller, troll farm) names the actor and the activity at once; it adds to
        # the activity total, which has no cap.
        group_raw["activity" if group == "both" else group] += contribution
        groups.update(_groups(group))

    for rule in topic.terms:
        if rule.literals and not any(literal in folded for literal in rule.literals):
            continue
        for where, counts in _term_counts(rule.pattern, title, text, topic.lead_chars).items():
            for value, count in counts.items():
                add("term", value, where, count, rule.weight, rule.group)
    for entity_rule in topic.entities:
        counts_by_where: dict[Where, Counter[str]] = {}
        for mention in mentions:
            if mention.canonical in entity_rule.names:
                place: Where = "lead" if mention.start < topic.lead_chars else "body"
                counts_by_where.setdefault(place, Counter())[mention.canonical] += 1
        for where, counts in counts_by_where.items():
            for value, count in counts.items():
                add("entity", value, where, count, entity_rule.weight, entity_rule.group)
    # A group's cap keeps an article that names Russia forty times (a debate transcript, a piece on
    # Syria) from scoring on the actor alone.
    raw = sum(min(total, topic.group_caps.get(group, math.inf)) for group, total in group_raw.items())
    score = 1.0 - math.exp(-raw / topic.scale) if raw > 0 else 0.0
    if any(group not in groups for group in topic.requires):
        score *= topic.missing_group_factor
    score = round(score, 4)
    evidence.sort(key=lambda e: -_contribution(topic, e.weight, e.where, e.count))
    return TopicScore(
        topic=topic.name,
        score=score,
        relevant=score >= topic.threshold,
        evidence=tuple(evidence),
        parent=topic.parent,
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
