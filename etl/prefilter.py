"""A cheap keyword prefilter for backfills: keep only pages that could be about a topic, before any
extraction or NLP is paid for.

Built from the topic's own definition (etl/resources/topics.toml, or NEWSWATCH_TOPICS_FILE): its term
patterns, its entity names and every alias the alias table has for them. The full scorer
(etl.nlp.topics) marks a text relevant only when every group in `requires` has contributed evidence, so a
text in which some required group has no match at all cannot be relevant: the prefilter drops exactly
those. It is lenient by construction (a name inside a menu or a script still passes), never stricter
than the scorer on the same words, and runs on raw HTML bytes as well as on extracted text.

Speed: a regular expression with a hundred alternatives costs tens of milliseconds on a 40 KB page in
Python's `re`. Each alternative is therefore keyed by the literal text it must start with ("russia" for
`russia(?:n|ns)?`, the whole name for an entity); one Aho-Corasick pass over the lower-cased page finds
which literals occur and where, and only their (small) expressions run, anchored there, to confirm the word
boundaries."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import ahocorasick

from etl.nlp.entities import AliasTable
from etl.nlp.literals import alternatives, literal_starts
from etl.nlp.topics import TopicDefinition

# How topic terms are compiled (etl.nlp.topics): the user's pattern inside word boundaries.
_TERM_WRAPPER = re.compile(r"^\\b\(\?:(?P<inner>.*)\)\\b$", re.DOTALL)


@dataclass(frozen=True)
class _Check:
    literals: tuple[str, ...]  # lower-case; one of them starts every match ("" : the expression always runs)
    pattern: re.Pattern[bytes]


@dataclass(frozen=True)
class Prefilter:
    """Per required evidence group of a topic, the checks any one of which satisfies it; a text passes
    when every group is satisfied."""

    topic: str
    groups: tuple[tuple[_Check, ...], ...]
    _automaton: ahocorasick.Automaton = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        automaton = ahocorasick.Automaton()
        for literal in {lit for checks in self.groups for c in checks for lit in c.literals if lit}:
            automaton.add_word(literal, literal)
        automaton.make_automaton()
        object.__setattr__(self, "_automaton", automaton)

    def __reduce__(self) -> tuple[object, ...]:
        # The automaton is rebuilt where the prefilter is unpickled (a worker process).
        return (Prefilter, (self.topic, self.groups))

    def passes_bytes(self, body: bytes) -> bool:
        """Whether raw (HTML) bytes could hold a relevant article."""
        # latin-1 maps each byte to one character, so the literals (UTF-8 bytes, ASCII-lower-cased, read
        # the same way) are found exactly where the byte patterns can match.
        lowered = body.lower().decode("latin-1")
        starts: dict[str, list[int]] = {}
        if len(self._automaton):
            for end, literal in self._automaton.iter(lowered):
                starts.setdefault(literal, []).append(end - len(literal) + 1)
        return all(any(_confirmed(c, body, starts) for c in checks) for checks in self.groups)

    def passes_text(self, *texts: str) -> bool:
        """Whether extracted text (title, body) could be relevant."""
        return self.passes_bytes("\n".join(texts).encode("utf-8", "replace"))


def _confirmed(check: _Check, body: bytes, starts: dict[str, list[int]]) -> bool:
    """Whether the check's expression matches: tried only where one of its literals starts (every match
    starts with one), not searched for through the whole page; an expression without a literal is."""
    if "" in check.literals:
        return check.pattern.search(body) is not None
    return any(
        check.pattern.match(body, start) is not None
        for literal in check.literals
        for start in starts.get(literal, ())
    )


def _check(pattern: str) -> _Check:
    literals = tuple(lit.encode("utf-8").lower().decode("latin-1") for lit in literal_starts(pattern))
    return _Check(literals, re.compile(rf"\b(?:{pattern})\b".encode(), re.IGNORECASE))


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
        wrapped = _TERM_WRAPPER.match(term.pattern.pattern)
        inner = wrapped.group("inner") if wrapped else term.pattern.pattern
        for alternative in alternatives(inner):
            add(term.group, alternative)
    for rule in topic.entities:
        for entity in rule.names:
            for variant in dict.fromkeys(variants.get(entity, [entity])):
                add(rule.group, re.escape(variant))
    required = topic.requires or tuple(groups)
    # A required group with no evidence at all in the definition cannot be met by any text: its empty
    # check list fails every text rather than silently passing everything.
    return Prefilter(
        topic=name,
        groups=tuple(tuple(_check(p) for p in dict.fromkeys(groups.get(group, []))) for group in required),
    )
