"""A cheap keyword prefilter for backfills: keep only pages that could be about a topic, before any
extraction or NLP is paid for.

Built from the topic's own definition (etl/resources/topics.toml, or NEWSWATCH_TOPICS_FILE): its term
patterns, its entity names and every alias the alias table has for them. The full scorer
(etl.nlp.topics) marks a text relevant only when every group in `requires` has contributed evidence, so a
text in which some required group has no match at all cannot be relevant: the prefilter drops exactly
those. It is lenient by construction (a name inside a menu or a script still passes), never stricter
than the scorer on the same words, and runs on raw HTML bytes as well as on extracted text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from etl.nlp.entities import AliasTable
from etl.nlp.topics import TopicDefinition


@dataclass(frozen=True)
class Prefilter:
    """One compiled byte pattern per required evidence group of a topic; a text passes when each
    pattern finds a match."""

    topic: str
    patterns: tuple[re.Pattern[bytes], ...]

    def passes_bytes(self, body: bytes) -> bool:
        """Whether raw (HTML) bytes could hold a relevant article."""
        return all(p.search(body) is not None for p in self.patterns)

    def passes_text(self, *texts: str) -> bool:
        """Whether extracted text (title, body) could be relevant."""
        return self.passes_bytes("\n".join(texts).encode("utf-8", "replace"))


def build_prefilter(topics: Sequence[TopicDefinition], name: str, aliases: AliasTable) -> Prefilter:
    """The prefilter of topic `name` (a top-level topic of `topics`). Raises KeyError for an unknown
    topic, naming the known ones."""
    by_name = {t.name: t for t in topics}
    if name not in by_name:
        raise KeyError(f"unknown topic {name!r}; known: {', '.join(sorted(by_name))}")
    topic = by_name[name]
    variants: dict[str, list[str]] = {}
    for entry in aliases.entries:
        variants.setdefault(entry.name, []).extend((entry.name, *entry.aliases))
    groups: dict[str, list[str]] = {}

    def add(group: str, pattern: str) -> None:
        # "both" evidence (Mueller, troll farm) satisfies the actor and the activity requirement alike.
        for g in ("actor", "activity") if group == "both" else (group,):
            groups.setdefault(g, []).append(pattern)

    for term in topic.terms:
        add(term.group, term.pattern.pattern)
    for rule in topic.entities:
        for entity in rule.names:
            for variant in dict.fromkeys(variants.get(entity, [entity])):
                add(rule.group, rf"\b{re.escape(variant)}\b")
    required = topic.requires or tuple(groups)
    # A required group with no evidence at all in the definition cannot be met by any text; keep the
    # prefilter honest rather than silently passing everything.
    alternatives = ["|".join(f"(?:{p})" for p in groups.get(group, ["(?!)"])) for group in required]
    return Prefilter(
        topic=name,
        patterns=tuple(re.compile(a.encode("utf-8"), re.IGNORECASE) for a in alternatives),
    )
