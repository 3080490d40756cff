"""Quotes and their speakers scored against a hand-annotated gold file.

Gold lines: `{"doc_id", "text"?, "quotes": [{"quote", "quote_start", "quote_end", "speaker",
"speaker_start", "speaker_end", "cue", "kind", "canonical_speaker"?}]}`; lines without text take it from a
texts file by `id`. Predictions are `newswatch annotate` records (`{"doc_id", "quotes": [...]}`), either
read from a file or made on the spot by the configured pipeline.

Matching, per document: a predicted quote matches a gold quote when their overlap covers at least
`overlap` of both spans; pairs are made one-to-one, largest overlap first. The speaker is right when the
predicted speaker span overlaps the gold speaker span (for a gold quote without a speaker: when none is
predicted). Scores: quote P/R/F1 and quote+speaker P/R/F1 (a match with the wrong speaker counts as both a
false positive and a false negative), per kind (gold and prediction restricted to that kind) and overall
(kinds ignored in matching), and the share of matched quotes with a gold speaker whose canonical speaker
equals the gold's (both null counts as equal: a group or an unnamed source has no canonical entity, and
naming one is a mistake).
Canonical names are compared with case, dots and a leading "the" ignored ("The White House" is "White
House"), after both sides are mapped through the alias table when one is given: the gold's "Federal Bureau
of Investigation" is the table's "FBI". The last line printed is `quote_speaker_f1=F` (overall)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from etl.evals.gold import PRF, GoldDoc, GoldError
from etl.nlp.entities import AliasTable, fold

KINDS = ("direct", "mixed", "indirect")


@dataclass(frozen=True)
class Span:
    """One quote, gold or predicted, reduced to what the scoring needs."""

    start: int
    end: int
    kind: str
    speaker_start: int | None
    speaker_end: int | None
    canonical: str | None
    text: str = ""
    speaker: str | None = None


@dataclass(frozen=True)
class DocQuotes:
    """A document's gold and predicted quotes."""

    doc_id: str
    gold: tuple[Span, ...]
    predicted: tuple[Span, ...]


@dataclass(frozen=True)
class QuoteScores:
    """Counts for one slice (a kind, or all)."""

    quote: PRF
    quote_speaker: PRF
    canonical_right: int
    matched: int

    @property
    def canonical_share(self) -> float:
        """Share of matched quotes whose canonical speaker is the gold one."""
        return self.canonical_right / self.matched if self.matched else 0.0


def _span(record: Mapping[str, Any], canonical_key: str, aliases: AliasTable | None) -> Span:
    canonical = record.get(canonical_key)
    if canonical and aliases is not None:
        entry = aliases.lookup(canonical)
        canonical = entry.name if entry is not None else canonical
    try:
        return Span(
            start=int(record["quote_start"]),
            end=int(record["quote_end"]),
            kind=str(record["kind"]),
            speaker_start=None if record.get("speaker_start") is None else int(record["speaker_start"]),
            speaker_end=None if record.get("speaker_end") is None else int(record["speaker_end"]),
            canonical=canonical,
            text=str(record.get("quote") or ""),
            speaker=record.get("speaker"),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise GoldError(f"a quote needs quote_start, quote_end and kind: {record!r:.200}") from exc


def pair_documents(
    docs: Sequence[GoldDoc],
    predictions: Mapping[str, Mapping[str, Any]],
    aliases: AliasTable | None = None,
) -> list[DocQuotes]:
    """Gold and predicted quotes per gold document; a document with no prediction predicted nothing.
    With `aliases`, canonical speaker names on both sides become the table's names for them."""
    paired = []
    for doc in docs:
        gold_quotes = doc.record.get("quotes")
        if not isinstance(gold_quotes, list):
            raise GoldError(f"{doc.doc_id}: `quotes` must be a list")
        predicted = predictions.get(doc.doc_id, {}).get("quotes", [])
        paired.append(
            DocQuotes(
                doc.doc_id,
                tuple(_span(q, "canonical_speaker", aliases) for q in gold_quotes),
                tuple(_span(q, "speaker_canonical", aliases) for q in predicted),
            )
        )
    return paired


def _overlap(a_start: int, a_end: int, b_start: int, b_end: int) -> int:
    return max(0, min(a_end, b_end) - max(a_start, b_start))


def match(gold: Sequence[Span], predicted: Sequence[Span], share: float) -> list[tuple[Span, Span]]:
    """One-to-one pairs whose overlap covers at least `share` of both spans, largest overlap first."""
    candidates = []
    for gi, g in enumerate(gold):
        for pi, p in enumerate(predicted):
            common = _overlap(g.start, g.end, p.start, p.end)
            if common and common >= share * (g.end - g.start) and common >= share * (p.end - p.start):
                candidates.append((common, gi, pi))
    candidates.sort(key=lambda c: (-c[0], c[1], c[2]))
    used_gold: set[int] = set()
    used_pred: set[int] = set()
    pairs = []
    for _, gi, pi in candidates:
        if gi in used_gold or pi in used_pred:
            continue
        used_gold.add(gi)
        used_pred.add(pi)
        pairs.append((gold[gi], predicted[pi]))
    return pairs


def speaker_right(gold: Span, predicted: Span) -> bool:
    """The predicted speaker span overlaps the gold one (or neither has a speaker)."""
    if gold.speaker_start is None or gold.speaker_end is None:
        return predicted.speaker_start is None
    if predicted.speaker_start is None or predicted.speaker_end is None:
        return False
    return _overlap(gold.speaker_start, gold.speaker_end, predicted.speaker_start, predicted.speaker_end) > 0


def _same_name(a: str | None, b: str | None) -> bool:
    """Names compared as the alias table compares them: case, dots and a leading "the" ignored; two
    missing names are the same."""
    if a is None or b is None:
        return a is None and b is None
    return fold(a) == fold(b)


def score(docs: Iterable[DocQuotes], share: float, kinds: Iterable[str] | None = None) -> QuoteScores:
    """Scores over documents, with gold and predictions restricted to `kinds` (None: all, matched
    across kinds). The canonical-speaker share counts matched quotes whose gold names a speaker."""
    wanted = set(kinds) if kinds is not None else None
    tp = fp = fn = tp_s = canonical_right = with_canonical = 0
    for doc in docs:
        gold = [g for g in doc.gold if wanted is None or g.kind in wanted]
        predicted = [p for p in doc.predicted if wanted is None or p.kind in wanted]
        pairs = match(gold, predicted, share)
        tp += len(pairs)
        fp += len(predicted) - len(pairs)
        fn += len(gold) - len(pairs)
        tp_s += sum(speaker_right(g, p) for g, p in pairs)
        spoken = [(g, p) for g, p in pairs if g.speaker_start is not None]
        canonical_right += sum(_same_name(g.canonical, p.canonical) for g, p in spoken)
        with_canonical += len(spoken)
    quote = PRF(tp, fp, fn)
    with_speaker = PRF(tp_s, fp + (tp - tp_s), fn + (tp - tp_s))
    return QuoteScores(quote, with_speaker, canonical_right, with_canonical)


def format_report(
    docs: Sequence[DocQuotes], share: float, kinds: Sequence[str] = KINDS, verbose: bool = False
) -> str:
    """Per kind and overall: quote P/R/F1, quote+speaker P/R/F1 and the canonical-speaker share; with
    `verbose`, each document's misses. Last line: `quote_speaker_f1=F` over the chosen kinds."""
    lines = [
        f"{len(docs)} documents, {sum(len(d.gold) for d in docs)} gold quotes, "
        f"{sum(len(d.predicted) for d in docs)} predicted; overlap >= {share:g} of both spans"
    ]
    if verbose:
        for doc in docs:
            gold = [g for g in doc.gold if g.kind in kinds]
            predicted = [p for p in doc.predicted if p.kind in kinds]
            pairs = match(gold, predicted, share)
            found = {id(g) for g, _ in pairs}
            made = {id(p) for _, p in pairs}
            for g in gold:
                if id(g) not in found:
                    lines.append(f"  missed      {doc.doc_id} {g.kind:<8} {g.text[:70]!r} ({g.speaker})")
            for p in predicted:
                if id(p) not in made:
                    lines.append(f"  spurious    {doc.doc_id} {p.kind:<8} {p.text[:70]!r} ({p.speaker})")
            for g, p in pairs:
                if not speaker_right(g, p):
                    lines.append(
                        f"  speaker     {doc.doc_id} {g.text[:50]!r}: gold {g.speaker!r}, got {p.speaker!r}"
                    )
    slices: list[tuple[str, Sequence[str] | None]] = [(kind, [kind]) for kind in kinds]
    if set(kinds) >= {"direct", "mixed"} and len(kinds) > 2:
        slices.append(("direct+mixed", ["direct", "mixed"]))
    for name, slice_kinds in slices:
        s = score(docs, share, slice_kinds)
        lines.append(f"{name:<13} quote {s.quote.line()}")
        lines.append(f"{'':<13} quote+speaker {s.quote_speaker.line()}")
    overall = score(docs, share, None if tuple(kinds) == KINDS else kinds)
    lines.append(f"{'all':<13} quote {overall.quote.line()} ({overall.quote.counts()})")
    lines.append(f"{'':<13} quote+speaker {overall.quote_speaker.line()}")
    lines.append(
        f"canonical speaker right on {overall.canonical_share:.3f} of matched quotes "
        f"({overall.canonical_right}/{overall.matched} with a gold speaker)"
    )
    lines.append(f"quote_speaker_f1={overall.quote_speaker.f1:.3f}")
    return "\n".join(lines)
