"""Entity mentions and their canonical names: titles, possessives and punctuation stripped, a surname
merged with the full name used in the same article, and variants folded through the alias table."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from spacy.tokens import Doc, Span

from etl.records import EntityMention

# Labels worth counting; numbers, dates and amounts are not entities a researcher tracks by name.
ENTITY_LABELS = frozenset(
    {"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC", "EVENT", "LAW", "PRODUCT", "WORK_OF_ART"}
)

# Titles and descriptions that precede a name ("Russian President Vladimir Putin", "Sen. Mark Warner").
# Longest first so that "Prime Minister" wins over "Minister".
_TITLE_WORDS = sorted(
    {
        "president",
        "vice president",
        "prime minister",
        "foreign minister",
        "defence minister",
        "defense minister",
        "interior minister",
        "minister",
        "deputy minister",
        "secretary of state",
        "secretary",
        "ambassador",
        "senator",
        "sen.",
        "sen",
        "representative",
        "rep.",
        "rep",
        "congressman",
        "congresswoman",
        "governor",
        "gov.",
        "mayor",
        "chancellor",
        "king",
        "queen",
        "prince",
        "princess",
        "mr.",
        "mr",
        "mrs.",
        "mrs",
        "ms.",
        "ms",
        "miss",
        "dr.",
        "dr",
        "prof.",
        "prof",
        "professor",
        "sir",
        "lord",
        "lady",
        "dame",
        "gen.",
        "gen",
        "general",
        "col.",
        "colonel",
        "lt.",
        "lieutenant",
        "adm.",
        "admiral",
        "maj.",
        "major",
        "capt.",
        "captain",
        "sgt.",
        "judge",
        "justice",
        "chief justice",
        "attorney general",
        "special counsel",
        "counsel",
        "director",
        "deputy director",
        "chairman",
        "chairwoman",
        "chair",
        "commissioner",
        "spokesman",
        "spokeswoman",
        "spokesperson",
        "rev.",
        "reverend",
        "pope",
        "leader",
        "premier",
        "speaker",
        "former",
        "acting",
        "then-president",
        "russian",
        "american",
        "u.s.",
        "us",
        "ukrainian",
        "french",
        "german",
        "british",
        "chinese",
    },
    key=lambda t: -len(t),
)
_TITLE_PREFIX = re.compile(
    r"^(?:(?:" + "|".join(re.escape(t) for t in _TITLE_WORDS) + r")\s+)+", re.IGNORECASE
)
_POSSESSIVE = re.compile(r"(?:['’]s|s['’]|['’])$")
_EDGE_PUNCT = re.compile(r"^[\W_]+|[\W_]+$")
_SPACES = re.compile(r"\s+")
_DOTS = re.compile(r"\.")


@dataclass(frozen=True)
class AliasEntry:
    """One row of the alias table."""

    name: str
    label: str
    qid: str | None


class AliasTable:
    """Variant -> canonical entity lookup, keyed on a folded form (case, dots and leading "the" ignored)."""

    def __init__(self, entries: dict[str, AliasEntry]) -> None:
        self._entries = entries

    @classmethod
    def load(cls, path: Path | None = None) -> AliasTable:
        """Read the alias TOML; the shipped table when no path is given."""
        text = (
            path.read_text(encoding="utf-8")
            if path is not None
            else resources.files("etl.resources").joinpath("aliases.toml").read_text(encoding="utf-8")
        )
        entries: dict[str, AliasEntry] = {}
        for item in tomllib.loads(text).get("entity", []):
            entry = AliasEntry(name=item["name"], label=item["type"], qid=item.get("qid"))
            for variant in [item["name"], *item.get("aliases", [])]:
                entries.setdefault(fold(variant), entry)
        return cls(entries)

    def lookup(self, name: str) -> AliasEntry | None:
        """The table entry for a name or variant, if any."""
        return self._entries.get(fold(name))

    def __len__(self) -> int:
        return len({e.name for e in self._entries.values()})


def fold(name: str) -> str:
    """Comparison key for names: case-folded, dots dropped, leading "the" dropped, single spaces."""
    key = _SPACES.sub(" ", _DOTS.sub("", name)).strip().casefold()
    return key[4:] if key.startswith("the ") else key


def clean_name(text: str, label: str) -> str:
    """Surface form to a bare name: possessive, edge punctuation, leading "the" (for organisations and
    places) and, for people, titles and descriptions in front of the name are removed."""
    name = _SPACES.sub(" ", text).strip()
    name = _POSSESSIVE.sub("", name)
    name = _EDGE_PUNCT.sub("", name)
    if label == "PERSON":
        stripped = _TITLE_PREFIX.sub("", name)
        # Keep the text when the "title" was the whole name (e.g. someone called "Major").
        name = stripped if stripped else name
    elif name.lower().startswith("the "):
        name = name[4:]
    return _EDGE_PUNCT.sub("", name)


def extract_mentions(doc: Doc, aliases: AliasTable) -> tuple[EntityMention, ...]:
    """Entity mentions of a parsed document with canonical names resolved within the document."""
    cleaned: list[tuple[Span, Span]] = []
    for ent in doc.ents:
        trimmed = _trim_span(ent) if ent.label_ in ENTITY_LABELS else None
        if trimmed is not None:
            cleaned.append((ent, trimmed))
    bare = [clean_name(trimmed.text, ent.label_) for ent, trimmed in cleaned]
    canonical = _resolve_people(
        [(ent.label_, name, ent.start_char) for (ent, _), name in zip(cleaned, bare, strict=True)]
    )
    mentions = []
    for (ent, trimmed), name in zip(cleaned, canonical, strict=True):
        if not name:
            continue
        entry = aliases.lookup(name)
        label = entry.label if entry is not None else ent.label_
        mentions.append(
            EntityMention(
                text=trimmed.text,
                label=label,
                start=trimmed.start_char,
                end=trimmed.end_char,
                canonical=entry.name if entry is not None else name,
                sentence_start=ent.sent.start_char if doc.has_annotation("SENT_START") else 0,
                sentence_end=ent.sent.end_char if doc.has_annotation("SENT_START") else len(doc.text),
            )
        )
    return tuple(mentions)


def _trim_span(ent: Span) -> Span | None:
    """Drop trailing possessive tokens and edge punctuation/whitespace from the span itself, so that
    offsets point at the name as written ("Kislyak" in "Kislyak's")."""
    start, end = ent.start, ent.end
    doc = ent.doc
    while end > start and (
        doc[end - 1].is_punct or doc[end - 1].is_space or doc[end - 1].lower_ in ("'s", "’s")
    ):
        end -= 1
    while start < end and (doc[start].is_punct or doc[start].is_space):
        start += 1
    if start >= end:
        return None
    span = doc[start:end]
    # A straight-apostrophe possessive sometimes stays inside the last token's text.
    cut = _POSSESSIVE.search(span.text)
    if cut is not None:
        shorter = doc.char_span(span.start_char, span.start_char + cut.start(), alignment_mode="contract")
        if shorter is not None and len(shorter):
            return shorter
    return span


def _resolve_people(items: list[tuple[str, str, int]]) -> list[str]:
    """Map a shortened person name to the full name used in the same document: "Putin" -> "Vladimir Putin".
    The nearest full name before the mention wins; failing that, the first one after it."""
    full_names = [(pos, name) for label, name, pos in items if label == "PERSON" and len(name.split()) > 1]
    resolved = []
    for label, name, pos in items:
        if label != "PERSON" or not name:
            resolved.append(name)
            continue
        parts = name.split()
        candidates = [
            (p, full) for p, full in full_names if full != name and _is_short_form(parts, full.split())
        ]
        if not candidates:
            resolved.append(name)
            continue
        before = [c for c in candidates if c[0] < pos]
        resolved.append(before[-1][1] if before else candidates[0][1])
    return resolved


def _is_short_form(short: list[str], full: list[str]) -> bool:
    if len(short) >= len(full):
        return False
    # "Putin" in "Vladimir Putin", "Le Pen" in "Marine Le Pen", "Vladimir" alone does not merge.
    return [s.casefold() for s in short] == [f.casefold() for f in full[-len(short) :]]
