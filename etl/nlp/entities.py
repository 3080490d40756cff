"""Entity mentions and their canonical names: titles, possessives and punctuation stripped, a surname
merged with the full name used in the same article, and variants folded through the alias table."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tomllib
from collections import Counter
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from spacy.tokens import Doc, Span

from etl.records import AliasEntry, EntityMention

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


class AliasTable:
    """Variant -> canonical entity lookup, keyed on a folded form (case, dots and leading "the" ignored).

    The TOML has one `[[entity]]` per entity: `name`, `type` (OntoNotes label), `qid`, `aliases`, and for
    countries `demonyms` (the first is the canonical demonym: "Russian" for "Russians")."""

    def __init__(self, entries: Sequence[AliasEntry]) -> None:
        self.entries = tuple(entries)
        self._by_variant: dict[str, AliasEntry] = {}
        for entry in self.entries:
            for variant in (entry.name, *entry.aliases):
                # The first entity to claim a variant keeps it; the table's order is its priority.
                self._by_variant.setdefault(fold(variant), entry)
        # Canonical JSON of the entries: the table's part of the annotation version.
        self.digest = hashlib.sha256(
            json.dumps([dataclasses.asdict(e) for e in self.entries], sort_keys=True).encode()
        ).hexdigest()

    @classmethod
    def load(cls, path: Path | None = None) -> AliasTable:
        """Read the alias TOML; the shipped table when no path is given."""
        text = (
            path.read_text(encoding="utf-8")
            if path is not None
            else resources.files("etl.resources").joinpath("aliases.toml").read_text(encoding="utf-8")
        )
        entries: list[AliasEntry] = []
        for item in tomllib.loads(text).get("entity", []):
            entry = AliasEntry(
                name=item["name"],
                label=item["type"],
                qid=item.get("qid"),
                aliases=tuple(item.get("aliases", [])),
                speaks_for=item.get("speaks_for"),
            )
            entries.append(entry)
            demonyms = item.get("demonyms", [])
            if demonyms:
                entries.append(
                    AliasEntry(
                        name=demonyms[0],
                        label="NORP",
                        qid=None,
                        aliases=tuple(demonyms[1:]),
                        country=entry.name,
                        country_qid=entry.qid,
                    )
                )
        return cls(entries)

    def lookup(self, name: str) -> AliasEntry | None:
        """The table entry for a name or variant, if any."""
        return self._by_variant.get(fold(name))

    def speaker_name(self, canonical: str) -> str:
        """The name a quote's speaker is counted under: a capital speaks for its country."""
        entry = self.lookup(canonical)
        return entry.speaks_for if entry is not None and entry.speaks_for else canonical

    def __len__(self) -> int:
        """Entities in the table (demonyms are not counted apart from their country)."""
        return sum(1 for e in self.entries if e.country is None)


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
    cleaned = _entity_spans(doc)
    bare = [clean_name(trimmed.text, label) for _, trimmed, label in cleaned]
    canonical = _resolve_people(
        [(label, name, ent.start_char) for (ent, _, label), name in zip(cleaned, bare, strict=True)]
    )
    mentions = []
    for (ent, trimmed, found_label), name in zip(cleaned, canonical, strict=True):
        if not name:
            continue
        entry = aliases.lookup(name)
        label = entry.label if entry is not None else found_label
        mentions.append(
            EntityMention(
                text=trimmed.text,
                label=label,
                start=trimmed.start_char,
                end=trimmed.end_char,
                canonical=entry.name if entry is not None else name,
                sentence_start=ent.sent.start_char if doc.has_annotation("SENT_START") else 0,
                sentence_end=ent.sent.end_char if doc.has_annotation("SENT_START") else len(doc.text),
                qid=entry.qid if entry is not None else None,
                country=entry.country if entry is not None else None,
                country_qid=entry.country_qid if entry is not None else None,
            )
        )
    return tuple(mentions)


def _entity_spans(doc: Doc) -> list[tuple[Span, Span, str]]:
    """(entity span, trimmed span, label) in text order: the pipeline's entities of the labels we keep,
    plus what the statistical NER tends to get wrong about people named in full elsewhere in the text:
    their surname standing alone untagged ("Manafort said") or tagged as an organisation or place
    ("Karpov" as ORG) becomes a PERSON mention; and a full name tagged as an organisation ("Oleg
    Voloshyn" as ORG) is a person when its surname alone is tagged PERSON at least twice."""
    spans: list[tuple[Span, Span, str]] = []
    for ent in doc.ents:
        trimmed = _trim_span(ent) if ent.label_ in ENTITY_LABELS else None
        if trimmed is not None:
            spans.append((ent, trimmed, ent.label_))
    lone_people = Counter(
        trimmed.text for _, trimmed, label in spans if label == "PERSON" and len(trimmed) == 1
    )
    spans = [
        (
            ent,
            trimmed,
            "PERSON"
            if label in _NOT_PEOPLE
            and (
                (
                    2 <= len(trimmed) <= 3
                    and lone_people[trimmed[-1].text] >= 2
                    and all(t.pos_ == "PROPN" and t.is_title for t in trimmed)
                )
                or _titled_name(trimmed)
            )
            else label,
        )
        for ent, trimmed, label in spans
    ]
    # A surname is the name's last word as written: "Kollar-Kotelly" is three tokens but one word.
    surnames = {
        trimmed.text.split()[-1]
        for _, trimmed, label in spans
        if label == "PERSON"
        and len(trimmed.text.split()) > 1
        and trimmed.text.split()[-1][:1].isupper()
        and len(trimmed.text.split()[-1]) > 2
    }
    if not surnames:
        return spans
    relabelled = [
        (
            ent,
            trimmed,
            "PERSON"
            if label in _NOT_PEOPLE and " " not in trimmed.text and trimmed.text in surnames
            else label,
        )
        for ent, trimmed, label in spans
    ]
    covered = {i for ent in doc.ents for i in range(ent.start, ent.end)}
    for token in doc:
        if token.text in surnames and token.i not in covered and token.is_title:
            span = doc[token.i : token.i + 1]
            relabelled.append((span, span, "PERSON"))
    relabelled.sort(key=lambda item: item[1].start_char)
    return relabelled


# Titles that only ever stand in front of a person's name.
_PERSON_TITLES = frozenset(
    "representative rep. rep senator sen. sen judge president governor gov. mayor minister secretary "
    "ambassador general gen. congressman congresswoman".split()
)


def _titled_name(span: Span) -> bool:
    """ "Representative Elijah Cummings" tagged as an organisation: a person's title and then a name."""
    return (
        3 <= len(span) <= 4
        and span[0].lower_ in _PERSON_TITLES
        and all(t.pos_ == "PROPN" and t.is_title for t in span[1:])
    )


# Labels the NER gives by mistake to a lone surname.
_NOT_PEOPLE = frozenset({"ORG", "GPE", "NORP", "LOC", "FAC", "PRODUCT", "WORK_OF_ART"})


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
    """Map a shortened name to the full name used in the same document: "Putin" -> "Vladimir Putin",
    and for organisations "the Times" -> "New York Times", "the Post" -> "Washington Post". The nearest
    full name before the mention wins; for a person, failing that, the first one after it (an
    organisation's short name only ever refers back)."""
    full_names = [
        (label, pos, name)
        for label, name, pos in items
        if label in ("PERSON", "ORG") and len(name.split()) > 1
    ]
    resolved = []
    for label, name, pos in items:
        if label not in ("PERSON", "ORG") or not name:
            resolved.append(name)
            continue
        parts = name.split()
        candidates = [
            (p, full)
            for full_label, p, full in full_names
            if full_label == label and full != name and _is_short_form(parts, full.split(), label)
        ]
        before = [c for c in candidates if c[0] < pos]
        if before:
            resolved.append(before[-1][1])
        elif candidates and label == "PERSON":
            resolved.append(candidates[0][1])
        else:
            resolved.append(name)
    return resolved


def _is_short_form(short: list[str], full: list[str], label: str = "PERSON") -> bool:
    if len(short) >= len(full):
        return False
    # "Putin" in "Vladimir Putin", "Le Pen" in "Marine Le Pen", "Vladimir" alone does not merge.
    if [s.casefold() for s in short] == [f.casefold() for f in full[-len(short) :]]:
        return True
    # A company by its first word: "Prevezon" for "Prevezon Holdings Ltd", "Fusion" for "Fusion GPS";
    # never "House" for "House Intelligence Committee", whose other words are not a company's suffix.
    rest = full[len(short) :]
    return (
        label == "ORG"
        and [s.casefold() for s in short] == [f.casefold() for f in full[: len(short)]]
        and all(w.rstrip(".").casefold() in _COMPANY_SUFFIXES or (w.isupper() and len(w) > 1) for w in rest)
    )


_COMPANY_SUFFIXES = frozenset(
    "holdings ltd limited inc incorporated llc corp corporation co plc group sa ag gmbh partners".split()
)
