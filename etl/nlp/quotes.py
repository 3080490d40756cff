"""Quotes with speakers.

Direct quotes are found from the quotation marks (character level, so that a quote the sentence
splitter cut in two stays whole, and a quote running over paragraphs is followed); the attribution
is then read from the dependency parse around the marks: `"…," NAME said`, `"…," said NAME`,
`NAME said: "…"`, `NAME said, "…"`. A short quote inside a sentence governed by a speech verb is a
mixed quote; a speech verb with a clausal complement (or `according to NAME`, `NAME accused X of …`)
is an indirect quote. Pronoun speakers resolve to the most recent person mentioned before them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass

from spacy.tokens import Doc, Span, Token

from etl.nlp.entities import AliasTable, fold
from etl.records import EntityMention, Quote

# Lemmas of verbs that report speech. Kept to speech acts: "think" or "believe" report no words.
SPEECH_VERBS = frozenset(
    (
        "say tell add state claim allege argue insist deny warn note explain write declare announce "
        "accuse stress suggest acknowledge admit ask reply respond answer continue conclude remark "
        "observe comment report confirm recall predict assert maintain contend emphasize emphasise "
        "caution urge charge complain describe tweet post testify concede reiterate vow promise "
        "threaten boast joke quip scoff shout whisper mutter counter dismiss blame call label demand "
        "question reveal indicate characterize characterise refer reject "
    ).split()
)
# Speech verbs whose reported content can be a request or undertaking: "asked X to …".
REQUEST_VERBS = frozenset(
    {"ask", "urge", "order", "demand", "promise", "vow", "threaten", "warn", "tell", "call"}
)
OPENING = {'"': '"', "“": "”", "„": "“", "«": "»"}
SPEAKER_LABELS = frozenset({"PERSON", "ORG", "GPE", "NORP"})
PRONOUNS_PERSON = frozenset({"he", "she", "him", "her"})
PRONOUNS_ORG = frozenset({"it"})
SUBJECT_DEPS = frozenset({"nsubj", "nsubjpass"})
MIN_DIRECT_WORDS = 3


@dataclass(frozen=True)
class _Fragment:
    """Characters between one pair of quotation marks (or a mark and the paragraph's end)."""

    start: int  # first character after the opening mark
    end: int  # the closing mark's index (or paragraph end)
    open_at: int  # index of the opening mark
    close_at: int  # index just past the closing mark (paragraph end if unclosed)
    closed: bool


@dataclass(frozen=True)
class _Attribution:
    speaker: Span | None
    cue: Token | None
    via: str | None
    cue_phrase: str | None = None  # a cue that is no verb: "according to"


def extract_quotes(
    doc: Doc, mentions: Sequence[EntityMention], aliases: AliasTable | None = None
) -> tuple[Quote, ...]:
    """All direct, mixed and indirect quotes of a parsed document, in text order; with the alias table,
    a capital quoted as a speaker counts as its country ("Moscow said" is Russia speaking)."""
    text = doc.text
    fragments = _find_fragments(text)
    quotes: list[Quote] = []
    covered: list[tuple[int, int]] = []
    previous: Quote | None = None
    previous_paragraph_end = -1
    group_speaker: _Attribution | None = None
    for fragment in fragments:
        continuing = _continues_previous(text, fragment, previous_paragraph_end)
        if _is_title(doc, fragment):
            continue
        attribution = _attribution_after(doc, fragment) or _attribution_before(doc, fragment)
        kind = "direct"
        if attribution is not None and not continuing and _is_embedded(text, fragment):
            # `Putin said he did not understand "the groundless statements", Peskov added`: the quoted
            # words are Putin's; the closer verb in the parse names the speaker of a mixed quote.
            inner = _inner_speech(doc, fragment, attribution)
            if inner is not None:
                attribution, kind = inner, "mixed"
        if attribution is None and not continuing and _is_embedded(text, fragment):
            attribution = _governing_speech(doc, fragment)
            if attribution is None or attribution.speaker is None:
                continue  # scare quotes or a title, not speech
            kind = "mixed"
        if attribution is None and not continuing:
            # "Stretch responded that, when …, “we weren’t sitting around.”": the cue is farther back in
            # the sentence than an attribution, but the parse hangs the quoted words on it.
            framing = _governing_speech(doc, fragment)
            if (
                framing is not None
                and framing.cue is not None
                and framing.speaker is not None
                and _framed(framing.cue, fragment)
            ):
                attribution, kind = framing, "mixed"
        if attribution is None and continuing and group_speaker is not None:
            attribution = group_speaker
        quote_text, start, end = _trimmed(text, fragment.start, fragment.end)
        if not quote_text:
            continue
        if attribution is None:
            if len(quote_text.split()) < MIN_DIRECT_WORDS:
                continue
            if previous is not None and (
                _is_floating(text, fragment) or _same_paragraph(text, previous, fragment)
            ):
                quote = _floating(previous, quote_text, start, end)
            else:
                quote = _quote(doc, mentions, quote_text, start, end, None, "direct", 0.3)
        else:
            confidence = 0.9 if kind == "direct" else 0.7
            quote = _quote(doc, mentions, quote_text, start, end, attribution, kind, confidence)
        quotes.append(quote)
        covered.append((fragment.open_at, fragment.close_at))
        previous = quote
        group_speaker = attribution if not fragment.closed else None
        previous_paragraph_end = _paragraph_end(text, fragment.start)
        if fragment.closed and attribution is not None:
            group_speaker = attribution
    quotes.extend(_indirect_quotes(doc, mentions, covered))
    quotes.sort(key=lambda q: (q.quote_start, q.quote_end))
    quotes = _pronouns_resolved(doc, mentions, quotes)
    if aliases is not None:
        quotes = [
            dataclasses.replace(q, speaker_canonical=aliases.speaker_name(q.speaker_canonical))
            if q.speaker_canonical
            else q
            for q in quotes
        ]
    return tuple(quotes)


def _pronouns_resolved(doc: Doc, mentions: Sequence[EntityMention], quotes: list[Quote]) -> list[Quote]:
    """Pronoun speakers resolved again once every quote is known, to names the reporter used rather than
    names inside what someone said: in "He insisted that Trump has the power … “…,” he said", "he" is
    still the man who insisted, not Trump."""
    spans = [(q.quote_start, q.quote_end) for q in quotes]
    outside = [m for m in mentions if not _inside_any(m.start, spans)]
    resolved = []
    for quote in quotes:
        speaker = None
        if quote.speaker is not None and quote.speaker.lower() in PRONOUNS_PERSON | PRONOUNS_ORG:
            speaker = doc.char_span(quote.speaker_start or 0, quote.speaker_end or 0)
        if speaker is not None:
            quote = dataclasses.replace(quote, speaker_canonical=_canonical_speaker(speaker, outside))
        resolved.append(quote)
    return resolved


def _find_fragments(text: str) -> list[_Fragment]:
    fragments: list[_Fragment] = []
    offset = 0
    for paragraph in text.split("\n"):
        i = 0
        while i < len(paragraph):
            char = paragraph[i]
            if char in OPENING and _looks_opening(paragraph, i):
                closer = OPENING[char]
                j, after, closed = _find_closing(paragraph, i + 1, char, closer)
                if not closed and j is not None:
                    # The next quote opened before this one was closed: this one ends there.
                    fragments.append(_Fragment(offset + i + 1, offset + j, offset + i, offset + j, False))
                    i = j
                    continue
                if j is None:
                    fragments.append(
                        _Fragment(
                            offset + i + 1,
                            offset + len(paragraph),
                            offset + i,
                            offset + len(paragraph),
                            False,
                        )
                    )
                    break
                fragments.append(_Fragment(offset + i + 1, offset + j, offset + i, offset + after, True))
                i = after
                continue
            i += 1
        offset += len(paragraph) + 1
    return fragments


def _looks_opening(paragraph: str, i: int) -> bool:
    # A straight mark glued to the end of a word ("5'10\"", a stray closer) does not open a quote.
    if paragraph[i] != '"':
        return True
    return i == 0 or not paragraph[i - 1].isalnum() or (i + 1 < len(paragraph) and paragraph[i + 1].isupper())


def _find_closing(paragraph: str, start: int, opener: str, closer: str) -> tuple[int | None, int, bool]:
    """(index of the closing mark, index just past it, closed). Typeset text also closes with a straight
    mark, two apostrophes (`wrong’’`) or a second opening mark glued to the last word (`prison“,`); an
    opening mark after a space opens the next quote, so this one was never closed (`None` when the
    paragraph ends first)."""
    for j in range(start, len(paragraph)):
        char = paragraph[j]
        if char == closer or (closer != '"' and char == '"'):
            return j, j + 1, True
        if opener == "“" and paragraph.startswith("’’", j):
            return j, j + 2, True
        if char == opener and opener != closer:
            glued = j > start and not paragraph[j - 1].isspace()
            if glued and (j + 1 == len(paragraph) or not paragraph[j + 1].isalnum()):
                return j, j + 1, True
            if not glued:
                end = j
                while end > start and paragraph[end - 1].isspace():
                    end -= 1
                return end, end, False
    return None, len(paragraph), False


def _trimmed(text: str, start: int, end: int) -> tuple[str, int, int]:
    # The comma before an attribution ("…," she said) belongs to the sentence, not to the speaker's words.
    while start < end and text[start].isspace():
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] == ","):
        end -= 1
    return text[start:end], start, end


def _paragraph_end(text: str, position: int) -> int:
    newline = text.find("\n", position)
    return len(text) if newline < 0 else newline


def _paragraph_start(text: str, position: int) -> int:
    return text.rfind("\n", 0, position) + 1


def _continues_previous(text: str, fragment: _Fragment, previous_paragraph_end: int) -> bool:
    """A paragraph opening with a quotation mark right after a paragraph whose quote never closed."""
    para_start = _paragraph_start(text, fragment.open_at)
    return fragment.open_at == para_start and previous_paragraph_end == para_start - 1


def _is_floating(text: str, fragment: _Fragment) -> bool:
    """The quote is a paragraph of its own: nothing but the quoted words (and punctuation) in it."""
    para_start = _paragraph_start(text, fragment.open_at)
    para_end = _paragraph_end(text, fragment.open_at)
    outside = text[para_start : fragment.open_at] + text[fragment.close_at : para_end]
    return not any(ch.isalnum() for ch in outside)


def _same_paragraph(text: str, previous: Quote, fragment: _Fragment) -> bool:
    """`"A," she said. "B."` — an unattributed quote right after an attributed one in its paragraph."""
    return _paragraph_start(text, previous.quote_start) == _paragraph_start(text, fragment.open_at)


# A quoted word or phrase right after another one, in a list: `“ridiculous,” “outrageous” and “goofy”`.
_LIST_OF_QUOTES = re.compile(r"\w[,]?[”\"]\s*(?:,|and|or)?$")


def _is_embedded(text: str, fragment: _Fragment) -> bool:
    """Words run into the opening mark ("was "crude…"), so the quote is part of a reporter's sentence."""
    before = text[_paragraph_start(text, fragment.open_at) : fragment.open_at].rstrip()
    if not before:
        return False
    if _LIST_OF_QUOTES.search(before):
        return True  # were “ridiculous,” “outrageous” and “goofy”: the list runs on in the sentence
    return before[-1] not in ':,.;!?—–-"”'


# Lower-case words a title keeps: "Face the Nation", "Fox & Friends", "State of the Union".
_TITLE_SMALL_WORDS = frozenset("a an and the of for with in on at to by or & vs".split())


def _is_title(doc: Doc, fragment: _Fragment) -> bool:
    """A quoted show, book or film title ("on CBS' “Face the Nation”", "“The Hunt for the Trump Tapes”"),
    not words anyone said: every word capitalised (bar small words), or a lone proper noun."""
    words = [
        t for t in _tokens_between(doc, fragment.start, fragment.end) if not t.is_punct and not t.is_space
    ]
    if not words or len(words) > 10 or not words[0].text[:1].isupper():
        return False
    if doc.text[fragment.start : fragment.end].rstrip().endswith(("!", "?")):
        return False  # "Welcome to the Philippines!" is shouted, not a title
    if len(words) == 1:
        return words[0].pos_ == "PROPN" and bool(words[0].ent_type_)
    if not all(t.text[:1].isupper() or t.lower_ in _TITLE_SMALL_WORDS for t in words):
        return False
    # Title case alone could be a slogan ("No Collusion"); a proper noun in it, or a show's place in
    # the sentence ("on CBS' …", "CNN's …", "on …"), makes it a title.
    before = doc.text[max(0, fragment.open_at - 6) : fragment.open_at].rstrip().lower()
    return any(t.pos_ == "PROPN" for t in words) or before.endswith(("on", "'", "’", "'s", "’s"))


def _tokens_between(doc: Doc, start: int, end: int) -> list[Token]:
    span = doc.char_span(start, end, alignment_mode="expand")
    return list(span) if span is not None else []


def _attribution_after(doc: Doc, fragment: _Fragment) -> _Attribution | None:
    """`"…," NAME said` and `"…," said NAME`: a speech verb within a dozen words after the closing mark
    (a long speaker phrase: "the North Korean mission to the United Nations in Geneva said")."""
    if not fragment.closed:
        return None
    limit = _paragraph_end(doc.text, fragment.close_at)
    window = [t for t in _tokens_between(doc, fragment.close_at, limit) if not t.is_space][:14]
    words = 0
    for token in window:
        if token.text in OPENING or token.text in "”»":
            break
        if token.is_punct:
            if words:
                break  # "…," said Name. — the attribution is over at the next punctuation
            continue
        if _is_speech_verb(token) and not _negated(token):
            speaker = _subject(token, after_quote=True)
            if speaker is not None and speaker.start_char < fragment.close_at:
                # The parser took a word of the quote as the subject; the speaker sits by the verb.
                speaker = _speaker_by_verb(token, fragment.close_at)
            if speaker is None or _reports_own_content(token):
                return None
            return _Attribution(speaker=speaker, cue=token, via=_via(token))
        words += 1
        if words > 12:
            break
    return None


def _speaker_by_verb(verb: Token, close_at: int) -> Span | None:
    """`"…," Schiff said` / `"…," said Schiff`: the name between the closing mark and the verb, else
    the name right after the verb."""
    doc = verb.doc
    between = [t for t in _tokens_between(doc, close_at, verb.idx) if t.i < verb.i]
    nominal = [t for t in between if t.pos_ in ("PROPN", "PRON", "NOUN")]
    if nominal:
        return _phrase(nominal[-1])
    after = verb.nbor(1) if verb.i + 1 < len(doc) else None
    if after is not None and (after.pos_ in ("PROPN", "PRON") or after.ent_type_):
        return _phrase(after)
    return None


# Verbs whose direct object is the person addressed, not what was said ("told reporters").
_ADDRESSEE_VERBS = frozenset({"tell", "ask", "write", "warn", "inform", "assure", "remind", "urge"})


def _reports_own_content(verb: Token) -> bool:
    """A speech verb after a closed quote that carries its own content ("Moscow has denied interfering",
    "Mnuchin said on the same show that …") starts a new statement; it does not attribute the quote."""
    doc = verb.doc
    for child in verb.children:
        start = child.left_edge.i
        # A quoted title after the verb (on CBS' "Face the Nation") is not content of its own.
        if child.i <= verb.i or (start > 0 and doc[start - 1].text in OPENING):
            continue
        if child.dep_ in ("ccomp", "xcomp"):
            # "…,” Prince said he told Dmitriev: the quote is what he told him.
            told = _is_speech_verb(child) and not any(c.dep_ in ("ccomp", "xcomp") for c in child.children)
            if not told:
                return True
            continue
        if child.dep_ == "dobj" and verb.lemma_ not in _ADDRESSEE_VERBS:
            return True
    return False


def _attribution_before(doc: Doc, fragment: _Fragment) -> _Attribution | None:
    """`NAME said: "…"` and `NAME said, "…"` (also `, said NAME: "…"`), including a quote that opens
    the paragraph after one ending in `NAME told Fox News:`."""
    para_start = _paragraph_start(doc.text, fragment.open_at)
    if not doc.text[para_start : fragment.open_at].strip():
        previous = doc.text[:para_start].rstrip()
        if previous.endswith(":"):
            para_start = _paragraph_start(doc.text, len(previous))
    before = doc.text[para_start : fragment.open_at].rstrip()
    if not before or before[-1] not in ":,":
        # `He said "…"` with no punctuation is also direct speech.
        tokens = [t for t in _tokens_between(doc, para_start, fragment.open_at) if not t.is_space]
        if tokens and _is_speech_verb(tokens[-1]):
            speaker = _subject(tokens[-1], after_quote=False)
            return _Attribution(speaker, tokens[-1], _via(tokens[-1])) if speaker is not None else None
        return None
    tokens = [t for t in _tokens_between(doc, para_start, fragment.open_at) if not t.is_space]
    for token in reversed(tokens[-8:]):
        if token.text in OPENING or token.text in "”»" or token.text in ".;!?":
            break
        if _is_speech_verb(token):
            speaker = _subject(token, after_quote=False)
            if speaker is not None:
                return _Attribution(speaker, token, _via(token))
    return None


def _framed(cue: Token, fragment: _Fragment) -> bool:
    """The cue comes before the quote in the quote's own sentence, and the quote does not open it."""
    doc = cue.doc
    first = doc.char_span(fragment.start, fragment.end, alignment_mode="expand")
    if first is None or cue.idx >= fragment.open_at:
        return False
    sentence = first[0].sent
    return sentence.start <= cue.i and doc[sentence.start].idx < fragment.open_at - 1


def _inner_speech(doc: Doc, fragment: _Fragment, outer: _Attribution) -> _Attribution | None:
    """A reporting verb before an embedded quote, other than the attribution after it."""
    for inner in (_governing_speech(doc, fragment), _governing_speech(doc, fragment, before_mark=True)):
        if inner is None or inner.cue is None or inner.speaker is None:
            continue
        if inner.cue.idx < fragment.open_at and inner.cue != outer.cue:
            return inner
    return None


def _governing_speech(doc: Doc, fragment: _Fragment, *, before_mark: bool = False) -> _Attribution | None:
    """For a mixed quote: the nearest speech verb above the quoted words in the parse, with its subject
    (with `before_mark`, above the word right before the opening mark, for when the parser hung the
    quoted words on a later verb)."""
    if before_mark:
        mark = doc.char_span(fragment.open_at, fragment.open_at + 1, alignment_mode="expand")
        i = (mark.start if mark is not None else 0) - 1
        while i >= 0 and doc[i].is_space:
            i -= 1
        tokens = [doc[i]] if i >= 0 and not doc[i].is_punct else []
    else:
        tokens = [t for t in _tokens_between(doc, fragment.start, fragment.end) if not t.is_punct]
    if not tokens:
        return None
    token: Token | None = tokens[0]
    seen = 0
    while token is not None and seen < 12:
        # A cue among the quoted words ("the Constitution “clearly states”") is part of what was said,
        # and a participle on a thing ("platform language urging …") does not speak.
        quoted = fragment.start <= token.idx < fragment.end
        on_thing = token.dep_ == "acl" and token.head.pos_ != "PROPN"
        if _is_speech_verb(token) and not quoted and not on_thing and token.lemma_ not in _AFTER_QUOTE_ONLY:
            speaker = _subject(token, after_quote=False)
            return _Attribution(speaker, token, _via(token))
        token = token.head if token.head.i != token.i else None
        seen += 1
    return _according_to(tokens[0].sent, fragment)


def _according_to(sentence: Span, fragment: _Fragment) -> _Attribution | None:
    """`… is to “send Hillary to prison”, according to Morgan Freeman`: the sentence's source."""
    doc = sentence.doc
    for token in sentence:
        if token.lower_ == "according" and token.i + 1 < sentence.end and doc[token.i + 1].lower_ == "to":
            source = next((c for c in doc[token.i + 1].children if c.dep_ == "pobj"), None)
            if source is not None and not fragment.open_at <= source.idx < fragment.close_at:
                return _Attribution(_phrase(source), None, None, "according to")
    return None


# Cues that attribute only a quote they follow (`"…," he continued`): "let it continue" reports nothing.
_AFTER_QUOTE_ONLY = frozenset({"continue"})


def _negated(verb: Token) -> bool:
    """ "did not immediately respond", "declined to say": a cue that reports no words."""
    if any(child.dep_ == "neg" for child in verb.children):
        return True
    return verb.dep_ == "xcomp" and verb.head.lemma_.lower() in ("decline", "refuse")


def _is_speech_verb(token: Token) -> bool:
    return token.lemma_.lower() in SPEECH_VERBS and token.tag_.startswith("VB")


def _subject(verb: Token, *, after_quote: bool) -> Span | None:
    """The speaker phrase of a speech verb: its nominal subject, or the name right after an inverted
    `said NAME`; for a conjoined verb ("… and added"), the first verb's subject."""
    subjects = [child for child in verb.children if child.dep_ in SUBJECT_DEPS]
    if subjects:
        # "WASHINGTON (Reuters) - Two former officials said": the dateline is parsed as a second
        # subject; it never speaks. Of two subjects the nearest speaks, unless it sits inside the first
        # one's relative clause ("A firm that commissioned … Trump's campaign and Russia said").
        candidates = [s for s in subjects if not _is_dateline(s)] or subjects
        before = [s for s in candidates if s.i < verb.i]
        subject = before[-1] if before else candidates[0]
        for earlier in before[:-1]:
            clause = next((c for c in earlier.rights if c.dep_ in ("relcl", "acl")), None)
            if clause is not None and clause.i < subject.i:
                subject = earlier
                break
        # "Page asked if Trump might become president and Strzok replied": the parser joined the
        # name to the noun before it; the name right before the verb is who replied.
        joined = [c for c in subject.children if c.dep_ == "conj" and c.pos_ == "PROPN" and c.i < verb.i]
        if subject.pos_ == "NOUN" and joined and joined[-1].i >= verb.i - 2:
            subject = joined[-1]
        return _phrase(subject)
    if after_quote:
        nxt = verb.nbor(1) if verb.i + 1 < len(verb.doc) else None
        if nxt is not None and (nxt.pos_ in ("PROPN", "PRON") or nxt.ent_type_):
            return _phrase(nxt)
        if nxt is not None and nxt.lower_ in ("the", "a", "an"):
            head = nxt.head
            if head.i > nxt.i:
                return _phrase(head)
    if verb.dep_ == "conj" and verb.head.i != verb.i and verb.head.tag_.startswith("VB"):
        stray = _stray_subject(verb)
        if stray is not None:
            return _phrase(stray)
        head = verb.head
        # "Downing said the charges were ridiculous and said …", "Trump said he thought the probe makes
        # the country look bad but said …": the parser hung the second "said" on the first one's
        # content; it pairs with the first "said".
        above = head
        for _ in range(3):
            if above.dep_ != "ccomp" or _is_speech_verb(above):
                break
            above = above.head
            if _is_speech_verb(above) and _is_speech_verb(verb):
                return _subject(above, after_quote=False)
        return _subject(head, after_quote=False)
    if verb.dep_ == "acl" and verb.head.pos_ in ("PROPN", "NOUN") and verb.head.i < verb.i:
        if verb.head.ent_type_ in _NOT_SPEAKERS:
            # "filed disclosures in April and August saying …": a date does not speak; whoever did the
            # clause's verb does.
            clause = next((t for t in verb.head.ancestors if t.tag_.startswith("VB")), None)
            return _subject(clause, after_quote=False) if clause is not None else None
        # "a feisty Putin … accusing American spies of …": the participle describes its speaker.
        return _phrase(verb.head)
    if verb.dep_ == "pcomp" and verb.head.dep_ == "prep" and verb.head.head.tag_.startswith("VB"):
        # "Freeman … looked up at the heavens before saying, …": the speaker of the main clause.
        return _subject(verb.head.head, after_quote=False)
    if verb.dep_ in ("advcl", "ccomp") and verb.head.i < verb.i and verb.head.tag_.startswith("VB"):
        stray = _stray_subject(verb) if verb.dep_ == "ccomp" else None
        if stray is not None:
            return _phrase(stray)  # "Moscow denies meddling and Trump denies collusion"
        # "Peskov, asked how Trump had raised it, said: …" parses "said" as a complement of "asked";
        # a cue with no subject of its own speaks for the clause it hangs on.
        return _subject(verb.head, after_quote=False)
    return None


_NOT_SPEAKERS = frozenset({"DATE", "TIME", "CARDINAL", "ORDINAL", "MONEY", "PERCENT", "QUANTITY"})


def _is_dateline(token: Token) -> bool:
    """The place in capitals that opens a wire story: "WASHINGTON (Reuters) -", "MOSCOW -"."""
    doc = token.doc
    if not token.is_upper or len(token.text) < 3 or token.i > 3:
        return False
    nxt = doc[token.i + 1] if token.i + 1 < len(doc) else None
    return nxt is not None and nxt.text in ("(", "-", "—", "–")


def _stray_subject(verb: Token) -> Token | None:
    """The subject of a conjoined clause that the parser hung on the previous clause's object:
    "Moscow has denied meddling and Trump has denied collusion" parses "Trump" as a conjunct of
    "meddling". The name right after "and", in front of the verb (and its auxiliaries), is the subject."""
    doc = verb.doc
    i = verb.i - 1
    while i >= 0 and doc[i].dep_ in ("aux", "neg", "advmod") and doc[i].head.i == verb.i:
        i -= 1
    if i < 1 or doc[i].dep_ != "conj" or doc[i].pos_ not in ("PROPN", "PRON", "NOUN"):
        return None
    if doc[i - 1].lower_ != "and" and not doc[i].ent_type_:
        return None
    return doc[i]


def _without_stray_subject(content: Span) -> Span:
    """Cut reported content before "and NAME" when NAME is really the subject of the next clause
    (see `_stray_subject`): "denied meddling and Trump has said …" reports "meddling"."""
    doc = content.doc
    for token in content:
        if token.dep_ != "conj" or token.i < 1 or doc[token.i - 1].lower_ != "and":
            continue
        verb = next(
            (t for t in doc[token.i + 1 : token.i + 4] if t.pos_ == "VERB" or t.tag_.startswith("VB")), None
        )
        while verb is not None and verb.dep_ == "aux":
            verb = verb.head
        stray = _stray_subject(verb) if verb is not None and verb.dep_ in ("conj", "ccomp") else None
        if stray is not None and stray.i == token.i:
            return doc[content.start : token.i - 1]
    return content


def _phrase(token: Token) -> Span:
    """The name or noun phrase headed by a token: the entity it belongs to, else its compounds,
    modifiers and possessor (e.g. "the agency's director")."""
    doc = token.doc
    if token.ent_type_:
        for ent in doc.ents:
            if ent.start <= token.i < ent.end:
                return _strip_possessive(ent)
    if token.pos_ == "PRON":
        return doc[token.i : token.i + 1]
    # "Strzok's lawyer, Aitan Goelman, said": the name in apposition is the speaker as written.
    named = next((c for c in token.rights if c.dep_ == "appos" and c.ent_type_ == "PERSON"), None)
    if named is not None and token.pos_ == "NOUN":
        return _phrase(named)
    left = token.i
    for child in token.lefts:
        if child.dep_ in ("compound", "amod", "det", "poss", "nmod", "case") and child.i >= token.i - 6:
            left = min(left, child.left_edge.i)
    return doc[left : token.i + 1]


def _strip_possessive(span: Span) -> Span:
    end = span.end
    while end > span.start + 1 and span.doc[end - 1].lower_ in ("'s", "’s", "'", "’"):
        end -= 1
    return span.doc[span.start : end]


def _via(verb: Token) -> str | None:
    """A secondary source: `per NBC News`, `according to Reuters`, `told the Associated Press`."""
    doc = verb.doc
    sentence_end = verb.sent.end
    for token in doc[verb.i + 1 : min(sentence_end, verb.i + 12)]:
        if token.lower_ == "per" or (
            token.lower_ == "according" and token.i + 1 < len(doc) and doc[token.i + 1].lower_ == "to"
        ):
            for ent in doc.ents:
                if ent.start > token.i and ent.start <= token.i + 4 and ent.label_ == "ORG":
                    return ent.text
    if verb.lemma_ == "tell":
        for child in verb.children:
            if child.dep_ in ("dobj", "dative") and child.ent_type_ == "ORG":
                return _phrase(child).text
    return None


def _quote(
    doc: Doc,
    mentions: Sequence[EntityMention],
    quote_text: str,
    start: int,
    end: int,
    attribution: _Attribution | None,
    kind: str,
    confidence: float,
) -> Quote:
    speaker = attribution.speaker if attribution is not None else None
    canonical = _canonical_speaker(speaker, mentions) if speaker is not None else None
    if speaker is not None and speaker[-1].pos_ == "PRON":
        confidence -= 0.15
    return Quote(
        quote=quote_text,
        quote_start=start,
        quote_end=end,
        speaker=speaker.text if speaker is not None else None,
        speaker_start=speaker.start_char if speaker is not None else None,
        speaker_end=speaker.end_char if speaker is not None else None,
        speaker_canonical=canonical,
        cue=None
        if attribution is None
        else attribution.cue.lemma_.lower()
        if attribution.cue is not None
        else attribution.cue_phrase,
        kind=kind,  # type: ignore[arg-type]
        via=attribution.via if attribution is not None else None,
        confidence=round(confidence, 2),
    )


def _floating(previous: Quote, quote_text: str, start: int, end: int) -> Quote:
    # A quoted paragraph with no attribution of its own continues the speaker of the quote before it;
    # the speaker offsets point at that earlier attribution.
    return Quote(
        quote=quote_text,
        quote_start=start,
        quote_end=end,
        speaker=previous.speaker,
        speaker_start=previous.speaker_start,
        speaker_end=previous.speaker_end,
        speaker_canonical=previous.speaker_canonical,
        cue=previous.cue,
        kind="direct",
        via=previous.via,
        confidence=0.6 if previous.speaker else 0.3,
    )


# Heads of speaker phrases that speak for whoever owns them: "a Justice Department spokesman",
# "Fusion GPS' statement", "the Prevezon letter", "a spokeswoman for Fusion GPS".
_VOICE_NOUNS = frozenset(
    "spokesman spokeswoman spokesperson representative statement letter report document filing release "
    "memo lawsuit complaint email tweet post readout transcript".split()
)
# Heads of descriptions that can only mean an organisation: "the company", "the U.S. firm".
_ORG_NOUNS = frozenset(
    "company firm group organization organisation agency newspaper paper outlet network ministry "
    "department committee panel bank party website site institute tank watchdog campaign".split()
)
# Organisation descriptions that must name a news outlet, and the words news outlets' names carry.
_MEDIA_NOUNS = frozenset("newspaper paper outlet network website site".split())
_MEDIA_WORDS = frozenset(
    "times post journal news herald tribune gazette telegraph guardian reuters press beacon magazine "
    "tv radio daily pilot observer independent agency wire bloomberg cnn bbc ap afp tass ria".split()
)


def _canonical_speaker(speaker: Span, mentions: Sequence[EntityMention]) -> str | None:
    root = speaker.root
    if len(speaker) == 1 and root.lower_ in ("who", "which", "that") and root.head.dep_ == "relcl":
        # "Donald Trump Jr., who said …": the relative pronoun speaks for the noun it hangs on.
        antecedent = root.head.head
        return _canonical_speaker(_phrase(antecedent), mentions) if antecedent.i < root.i else None
    if _is_group(root):
        # "Republicans said", "Russians say", "Strzok and Page said", "the companies said": a group of
        # people or bodies has no one canonical speaker (not the party, the country or its first member).
        return None
    for mention in mentions:
        overlaps = mention.start < speaker.end_char and speaker.start_char < mention.end
        # "the Kremlin's spokesman" is not the Kremlin: only a mention that is the phrase's head counts.
        if overlaps and mention.label in SPEAKER_LABELS and mention.end >= speaker.end_char - 1:
            return _fullest(mention.canonical, mentions) if mention.label == "PERSON" else mention.canonical
    by_name = _person_named(speaker.text, mentions)
    if by_name is not None:
        return by_name
    head = speaker[-1].lower_
    if head in PRONOUNS_PERSON:
        # "An aide to Phares said he maintains …": a person named earlier in the pronoun's own sentence
        # comes first (its subject, else anyone named there).
        sentence = speaker.sent
        here = [
            m
            for m in mentions
            if m.label == "PERSON"
            and sentence.start_char <= m.start < speaker.start_char
            and (_is_subject_mention(speaker.doc, m) or _in_subject_phrase(speaker.doc, m))
        ]
        if here:
            return _fullest(here[-1].canonical, mentions)
        # Reporters' "he said" points back to the person the story is following: prefer the latest
        # person who was a grammatical subject over one merely named in passing.
        subjects = [m for m in mentions if m.label == "PERSON" and _is_subject_mention(speaker.doc, m)]
        return _most_recent(subjects, speaker.start_char, ("PERSON",)) or _most_recent(
            mentions, speaker.start_char, ("PERSON",)
        )
    if head in PRONOUNS_ORG:
        return _most_recent(
            [m for m in mentions if not _in_dateline(speaker.doc, m)], speaker.start_char, ("ORG", "GPE")
        )
    return (
        _described(speaker, mentions)
        or _owner(speaker, mentions)
        or _document_author(speaker, mentions)
        or _organisation_described(speaker, mentions)
    )


def _in_dateline(doc: Doc, mention: EntityMention) -> bool:
    return mention.start < 60 and doc.text[max(0, mention.start - 1) : mention.start] == "("


def _is_group(head: Token) -> bool:
    if head.ent_type_ == "NORP":
        return True
    if head.tag_ in ("NNS", "NNPS") and head.ent_type_ not in ("GPE", "ORG", "FAC", "LOC"):
        return True
    return any(child.dep_ == "conj" and child.pos_ in ("PROPN", "NOUN") for child in head.children)


def _owner(speaker: Span, mentions: Sequence[EntityMention]) -> str | None:
    """Whoever a spokesperson, statement or letter belongs to, named in the phrase itself: its
    possessor, a name compounded in front of it, or `for`/`of`/`from` NAME after it."""
    root = speaker.root
    lemma = root.lemma_.lower()
    if lemma not in _VOICE_NOUNS | _ORG_NOUNS:
        return None
    # "the Virginian-Pilot newspaper" is the Virginian-Pilot; "the U.S. firm" is not the United States.
    labels = SPEAKER_LABELS if lemma in _VOICE_NOUNS else {"ORG"}
    owners = [c for c in root.children if c.dep_ in ("poss", "compound", "nmod")]
    for prep in root.children:
        if prep.dep_ == "prep" and prep.lower_ in ("for", "of", "from"):
            owners.extend(c for c in prep.children if c.dep_ == "pobj")
    for owner in owners:
        for mention in mentions:
            if mention.start <= owner.idx < mention.end and mention.label in labels:
                return mention.canonical
        # "a Fusion representative" after "Fusion GPS": an organisation called by its first word.
        for mention in mentions:
            if mention.label == "ORG" and mention.canonical.split()[0] == owner.text and owner.is_title:
                return mention.canonical
    return None


_DOCUMENT_NOUNS = frozenset(
    "letter statement filing document memo report release complaint lawsuit email".split()
)
_WRITING_VERBS = frozenset("file send issue write release publish submit sign".split())


def _document_author(speaker: Span, mentions: Sequence[EntityMention]) -> str | None:
    """ "The letter said": the author of the letter the article introduced before, by its owner
    ("Prevezon's letter"), by who spoke in it ("Goelman said in a letter") or by who wrote, filed or sent
    it ("Fusion filed a court document")."""
    root = speaker.root
    lemma = root.lemma_.lower()
    if speaker[0].lower_ != "the" or lemma not in _DOCUMENT_NOUNS:
        return None
    doc = speaker.doc
    for token in reversed(doc[max(0, root.i - 400) : speaker.start]):
        if token.lemma_.lower() != lemma:
            continue
        owned = _owner(doc[token.left_edge.i : token.i + 1], mentions)
        if owned is not None:
            return owned
        head = token.head
        if token.dep_ == "pobj" and head.lower_ == "in" and _is_speech_verb(head.head):
            verb = head.head
        elif token.dep_ == "dobj" and head.lemma_.lower() in _WRITING_VERBS:
            verb = head
        else:
            continue
        author = _subject(verb, after_quote=False)
        return _canonical_speaker(author, mentions) if author is not None else None
    return None


def _organisation_described(speaker: Span, mentions: Sequence[EntityMention]) -> str | None:
    """ "The company said", "the newspaper reported": the latest organisation the article made the
    subject of a sentence before (for a newspaper or network, the latest news outlet)."""
    root = speaker.root
    lemma = root.lemma_.lower()
    if speaker[0].lower_ != "the" or root.pos_ != "NOUN" or lemma not in _ORG_NOUNS:
        return None
    named = [
        c
        for c in root.children
        if c.dep_ == "compound" and c.pos_ == "PROPN" and c.ent_type_ not in ("GPE", "NORP", "LOC")
    ]
    if named:
        # "the Virginian-Pilot newspaper" names its own paper, even where the NER missed the name.
        return speaker.doc[named[0].left_edge.i : named[-1].i + 1].text
    # The wire in the dateline ("WASHINGTON (Reuters) -") publishes the story; it is not in it.
    earlier = [
        m
        for m in mentions
        if m.end <= speaker.start_char and m.label == "ORG" and not _in_dateline(speaker.doc, m)
    ]
    if lemma in _MEDIA_NOUNS:
        earlier = [m for m in earlier if _MEDIA_WORDS & set(m.canonical.casefold().split())]
        return earlier[-1].canonical if earlier else None
    subjects = [m for m in earlier if _is_subject_mention(speaker.doc, m)]
    return subjects[-1].canonical if subjects else None


def _described(speaker: Span, mentions: Sequence[EntityMention]) -> str | None:
    """A definite description ("the judge", "the newspaper", "the company") resolved to the latest
    entity the article introduced with that word: as a title in front of it ("U.S. District Judge
    Colleen Kollar-Kotelly") or an apposition after it ("Fusion GPS, the research firm")."""
    root = speaker.root
    if speaker[0].lower_ != "the" or root.pos_ != "NOUN":
        return None
    # Every word of the description must be in the introduction: "the U.S. president" is not the
    # Russian President Vladimir Putin.
    words = _roles({t.lemma_.lower() for t in speaker[1:] if not t.is_punct})
    doc = speaker.doc
    earlier = [
        (mention, span)
        for mention in reversed(mentions)
        if mention.end <= speaker.start_char and mention.label in SPEAKER_LABELS
        for span in [doc.char_span(mention.start, mention.end, alignment_mode="expand")]
        if span is not None
    ]
    # "the department" is first the Justice Department itself (the word heads the name), and only
    # then someone introduced as "Justice Department official …".
    for mention, span in earlier:
        if span[-1].lemma_.lower() == root.lemma_.lower() and words <= {t.lemma_.lower() for t in span}:
            return mention.canonical
    for mention, span in earlier:
        own = {t.lemma_.lower() for t in span}
        if words <= _roles(own | _title_words(span)) or words <= _roles(_apposition_words(span)):
            return mention.canonical
    return None


# Words for one role: "the Facebook lawyer" is "Facebook General Counsel Colin Stretch".
_ROLE_WORDS = {
    "attorney": "lawyer",
    "counsel": "lawyer",
    "spokeswoman": "spokesman",
    "spokesperson": "spokesman",
    "chairwoman": "chairman",
    "chair": "chairman",
}


def _roles(words: set[str]) -> set[str]:
    return {_ROLE_WORDS.get(w, w) for w in words}


def _title_words(name: Span) -> set[str]:
    """Lemmas of the title run right in front of a name: "U.S. District Judge" before "Colleen …"."""
    doc = name.doc
    i = name.start - 1
    found: set[str] = set()
    while i >= max(name.sent.start, name.start - 5) and (
        doc[i].is_title or doc[i].is_upper or doc[i].dep_ in ("compound", "amod")
    ):
        found.add(doc[i].lemma_.lower())
        i -= 1
    return found


def _apposition_words(name: Span) -> set[str]:
    """Lemmas of an apposition right after a name: "Fusion GPS, the research firm, …"."""
    doc = name.doc
    if name.end >= name.sent.end or doc[name.end].text != ",":
        return set()
    found: set[str] = set()
    for token in doc[name.end + 1 : min(name.sent.end, name.end + 7)]:
        if token.is_punct:
            break
        if "appos" in (token.dep_, token.head.dep_) or token.head.dep_ == "appos":
            found.add(token.lemma_.lower())
    return found


def _person_named(name: str, mentions: Sequence[EntityMention]) -> str | None:
    """A speaker the NER missed or mislabelled, named like a person of the article: "Albers" after
    "Katrin Albers" resolves to the full name."""
    words = name.split()
    if not words or not words[0][:1].isupper():
        return None
    for mention in mentions:
        # An organisation the NER found elsewhere but not here: "Fusion GPS" is Fusion GPS.
        if mention.label in SPEAKER_LABELS and fold(mention.text) == fold(name) and mention.canonical != name:
            return mention.canonical
        if mention.label != "PERSON":
            continue
        full = mention.canonical.split()
        if full[-len(words) :] == words and len(full) > len(words):
            return mention.canonical
    # A speaker called by first name ("Morgan said"), when one person of the article has it.
    if len(words) == 1:
        first = {m.canonical for m in mentions if m.label == "PERSON" and m.canonical.split()[0] == words[0]}
        if len(first) == 1 and len(next(iter(first)).split()) > 1:
            return first.pop()
    return None


def _in_subject_phrase(doc: Doc, mention: EntityMention) -> bool:
    """The name hangs on the subject: "An aide to Phares said …"."""
    span = doc.char_span(mention.start, mention.end, alignment_mode="expand")
    if span is None:
        return False
    root = span.root
    return root.dep_ == "pobj" and root.head.dep_ == "prep" and root.head.head.dep_ in SUBJECT_DEPS


def _fullest(canonical: str, mentions: Sequence[EntityMention]) -> str:
    """A one-word person name the entity pass left alone ("Phares", "Morgan") completed from the
    article's one full name that ends or starts with it."""
    if " " in canonical:
        return canonical
    named = _person_named(canonical, mentions)
    if named is not None:
        return named
    # The full name itself mislabelled ("Walid Phares" as an organisation).
    fuller = {
        m.canonical
        for m in mentions
        if 2 <= len(m.canonical.split()) <= 3 and m.canonical.split()[-1] == canonical
    }
    return fuller.pop() if len(fuller) == 1 else canonical


def _is_subject_mention(doc: Doc, mention: EntityMention) -> bool:
    span = doc.char_span(mention.start, mention.end, alignment_mode="expand")
    if span is None:
        return False
    root = span.root
    # "Trump's White House attorney, Ty Cobb, declined …": for a person, a name in apposition to the
    # subject (an organisation in apposition is mostly a mislabelled person: "Republican Devin Nunes").
    heads = ("poss", "appos") if mention.label == "PERSON" else ("poss",)
    return root.dep_ in SUBJECT_DEPS or (root.dep_ in heads and root.head.dep_ in SUBJECT_DEPS)


def _most_recent(mentions: Sequence[EntityMention], before: int, labels: tuple[str, ...]) -> str | None:
    best: EntityMention | None = None
    for mention in mentions:
        if mention.end <= before and mention.label in labels:
            best = mention
    return best.canonical if best is not None else None


def _indirect_quotes(
    doc: Doc, mentions: Sequence[EntityMention], covered: list[tuple[int, int]]
) -> list[Quote]:
    """Reported speech without quotation marks: a speech verb with a subject and a clausal complement,
    `according to NAME, …`, and `NAME accused X of …`."""
    quotes: list[Quote] = []
    for token in doc:
        content: Span | None = None
        attribution: _Attribution | None = None
        # Clauses need three words to be speech rather than a fragment; an alleged act ("any
        # collusion") may be two, a denied one ("denied wrongdoing") one.
        min_words = 3
        if _is_speech_verb(token) and token.lemma_ not in _AFTER_QUOTE_ONLY:
            subject = _subject(token, after_quote=False)
            if subject is None or _negated(token):
                continue
            clause = next((c for c in token.children if c.dep_ == "ccomp"), None)
            if clause is not None and _stray_subject(clause) is not None:
                clause = None  # a second main clause the parser hung here, not what was said
            if clause is not None and clause.i > token.i:
                content = _clause_span(clause)
            elif clause is not None and clause.i < token.i and not _inside_any(token.idx, covered):
                # "The deal can not work without the United States, he said" — speech before the cue.
                content = _clause_span(clause)
            elif token.lemma_ in _NAMING_VERBS and (named := _named_as(token)) is not None:
                # "Trump has called the probes a witch hunt", "called for Mueller to resign".
                content, min_words = named, 2
            elif token.lemma_ == "accuse":
                # "X accused Y of N": what Y is accused of is the reported content.
                target = next((c for c in token.children if c.dep_ == "dobj"), None)
                candidates = [*token.children, *(target.children if target is not None else [])]
                of = next((c for c in candidates if c.dep_ == "prep" and c.lower_ == "of"), None)
                if target is not None and of is not None and of.right_edge.i > of.i:
                    content = doc[of.i + 1 : of.right_edge.i + 1]
                    min_words = 2
            elif token.lemma_ in REQUEST_VERBS:
                # "Feinstein asked Page to turn over documents", "Obama warned Trump not to hire Flynn".
                wanted = next((c for c in token.children if c.dep_ == "xcomp" and c.i > token.i), None)
                if wanted is not None:
                    content = doc[wanted.left_edge.i : wanted.right_edge.i + 1]
            elif token.lemma_ == "deny":
                # "Moscow denied meddling in the election", "Trump has denied any collusion".
                denied = next(
                    (c for c in token.children if c.dep_ in ("dobj", "xcomp") and c.i > token.i), None
                )
                if denied is not None and denied.pos_ != "PRON":
                    content = doc[denied.left_edge.i : denied.right_edge.i + 1]
                    min_words = 1  # "denied wrongdoing"; "denied it" is a pronoun, left out above
            if content is not None:
                attribution = _Attribution(subject, token, _via(token))
        elif token.lower_ == "according" and token.i + 1 < len(doc) and doc[token.i + 1].lower_ == "to":
            source = next((c for c in doc[token.i + 1].children if c.dep_ == "pobj"), None)
            if source is None:
                continue
            content = _sentence_without(token.sent, token.i, source.right_edge.i)
            attribution = _Attribution(_phrase(source), None, None, "according to")
        if content is None or attribution is None or attribution.speaker is None:
            continue
        content = _without_stray_subject(content)
        quote_text, start, end = _trimmed(doc.text, content.start_char, content.end_char)
        quote_text = quote_text.rstrip(".")
        end = start + len(quote_text)
        if len(quote_text.split()) < min_words or _overlaps_any(start, end, covered):
            continue
        quotes.append(_quote(doc, mentions, quote_text, start, end, attribution, "indirect", 0.6))
    return quotes


# Verbs that report speech as "VERB X Y" (what X was called) or "call for X".
_NAMING_VERBS = frozenset({"call", "label", "brand", "dub"})


def _named_as(verb: Token) -> Span | None:
    """What a naming verb reports: "called [the probes a witch hunt]", "called for [an investigation]"."""
    doc = verb.doc
    named = next((c for c in verb.children if c.dep_ == "dobj" and c.i > verb.i), None)
    as_what = next((c for c in verb.children if c.dep_ in ("oprd", "xcomp") and c.i > verb.i), None)
    if named is not None and as_what is not None and as_what.i > named.i:
        return doc[named.left_edge.i : as_what.right_edge.i + 1]
    wanted = next(
        (c for c in verb.children if c.dep_ == "prep" and c.lower_ == "for" and c.i == verb.i + 1), None
    )
    if verb.lemma_ == "call" and wanted is not None and wanted.right_edge.i > wanted.i:
        return doc[wanted.i + 1 : wanted.right_edge.i + 1]
    return None


def _clause_span(clause: Token) -> Span:
    """The reported clause, without its "that", and without a subjectless verb conjoined after a comma,
    which the parser hangs on the clause but the reporter wrote about the speaker: "said the military
    is in crisis, and has pointed to …" (without the comma, "… was questioned by the FBI and has
    appeared before the grand jury" is one report)."""
    doc = clause.doc
    start = clause.left_edge.i
    while start < clause.i and doc[start].dep_ == "mark" and doc[start].lower_ == "that":
        start += 1
    end = clause.right_edge.i + 1
    end = _past_dash_aside(doc, end, clause.sent.end)
    for child in clause.rights:
        if child.dep_ != "conj" or not child.tag_.startswith("VB") or _has_subject(child):
            continue
        joint = child.left_edge.i - 1
        while joint > clause.i and (doc[joint].dep_ in ("cc", "aux", "neg", "advmod") or doc[joint].is_space):
            joint -= 1
        if doc[joint].text == "," or _is_speech_verb(child):
            # "… were ridiculous and said the president was right": a second report, not this one.
            end = min(end, joint + 1 if doc[joint].text != "," else joint)
            break
    while end > start + 1 and (doc[end - 1].is_punct or doc[end - 1].dep_ == "cc" or doc[end - 1].is_space):
        end -= 1
    return doc[start:end]


_DASHES = frozenset("-–—")


def _past_dash_aside(doc: Doc, end: int, sentence_end: int) -> int:
    """`alleged that some evidence … in attacks - he didn't specify which - could have been falsified`:
    the parser ends the clause at the reporter's aside between dashes; the report runs on after it."""
    if end >= sentence_end or doc[end].text not in _DASHES:
        return end
    closing = next((k for k in range(end + 1, min(sentence_end, end + 10)) if doc[k].text in _DASHES), None)
    if closing is None or closing + 1 >= sentence_end:
        return end
    last = sentence_end
    while last > closing + 1 and (doc[last - 1].is_punct or doc[last - 1].is_space):
        last -= 1
    return last


def _has_subject(verb: Token) -> bool:
    return any(child.dep_ in SUBJECT_DEPS or child.dep_ == "expl" for child in verb.children)


def _sentence_without(sentence: Span, phrase_start: int, phrase_end: int) -> Span | None:
    doc = sentence.doc
    if phrase_start - sentence.start <= 1:
        start = phrase_end + 1
        while start < sentence.end and doc[start].is_punct:
            start += 1
        return doc[start : sentence.end] if start < sentence.end else None
    return doc[sentence.start : phrase_start]


def _inside_any(position: int, spans: list[tuple[int, int]]) -> bool:
    return any(a <= position < b for a, b in spans)


def _overlaps_any(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < b and a < end for a, b in spans)
