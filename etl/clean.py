"""Text cleaning after extraction: unicode normalisation, whitespace, and boilerplate lines that
extractors leave behind (share buttons, sign-up prompts, advertisement labels, related-story cues).

The line rules were measured on the scrapinghub article-extraction benchmark (181 news pages, its shingle
metric; `newswatch eval extraction`): each one added for it stays only because removing it costs F1, by the
amount noted next to it (leave-one-out; all of them together +0.0021). NFKC instead of NFC was measured too
and costs 0.0016 (it rewrites "…", full-width forms and superscripts that the pages' own text keeps), so text
stays NFC."""

from __future__ import annotations

import re
import unicodedata

# Whole lines that are page furniture, never article prose. Matched case-insensitively on the stripped line.
# (The original rule set: neutral on the benchmark, where trafilatura already drops these lines, but pages
# such as the demo sites print them inside the article container.)
_BOILERPLATE_LINE = re.compile(
    r"""^(?:
        advertisement|sponsored(?:\ content)?|ad|
        share(?:\ (?:this|on\ \w+|via\ \w+))?|tweet|email|print|
        (?:sign\ up|subscribe)(?:\ (?:to|for)\b.*)?|
        read\ more:?.*|related(?:\ (?:stories|articles|coverage)):?|
        (?:follow\ us\ on)\b.*|
        (?:copyright|©)\ .*all\ rights\ reserved\.?
    )[.!:]?$""",
    re.IGNORECASE | re.VERBOSE,
)
# "(Click|Tap) here …" used to be a furniture line too; on the benchmark it only ever removed article
# sentences ("Click here to get more information or download this game."), so it is gone.

# Cues that introduce links to other stories, comment threads and tag lists (+0.0019 F1 on the benchmark).
_RELATED_LINE = re.compile(
    r"""^(?:
        you\ (?:may|might)\ also\ like|most\ (?:read|popular)\b.*|popular\ on\ .*|don'?t\ miss|
        also\ on\ \S+\ .*|more:|explore\ further|see\ more\ photos|(?:see|read|watch)\ more:.*|related:.*|
        leggi\ anche.*|lesen\ sie\ auch.*|lire\ aussi.*|leia\ também.*|lea\ también.*|
        like\ this\ story\?.*|(?:\d+\ )?comments?|tell\ us\ what\ you\ think.*|filed\ under:.*
    )[.!…]*$""",
    re.IGNORECASE | re.VERBOSE,
)
# Newsletter and sign-up prompts, wherever they sit in a short line (+0.0003).
_NEWSLETTER_LINE = re.compile(
    r"""(?:
        ^(?:sign\ up|subscribe|register|join)\b.{0,200}\b(?:newsletter|inbox|email|free)\b|
        \b(?:delivered|straight|right|directly)\ (?:to|in|into)\ your\ inbox\b|
        \bthanks?\ (?:you\ )?for\ (?:signing\ up|subscribing)\b|
        \berror\ processing\ your\ subscription\b|
        \bkeep\ an\ eye\ on\ your\ inbox\b|
        ^\S+(?:\ \S+){0,3}\ newsletter$
    )""",
    re.IGNORECASE | re.VERBOSE,
)
# "Follow X on Twitter", "Email the author at …", a bare address or profile link: the author's contact box
# (+0.0005). A line must start with the cue, so an embedded tweet's "— Name (@handle) date" stays.
_CONTACT_LINE = re.compile(
    r"""(?:
        ^(?:follow|email|e-mail|write\ to|reach|contact|have\ a\ tip\b.*\bat)\b.{0,200}
            (?:\b(?:twitter|facebook|instagram|linkedin|youtube)\b|@\w|\S+@\S+\.\w+)|
        ^\S+@\S+\.\w+$|
        ^(?:https?://)?(?:www\.)?twitter\.com/\w+$
    )""",
    re.IGNORECASE | re.VERBOSE,
)
# Agency production credits, "(Reporting by …; Editing by …)" (+0.0001). "X contributed to this report"
# lines stay: they are fewer on the benchmark and etl.dedup.wire_agency reads the agency from them.
_CREDIT_LINE = re.compile(
    r"^\(?(?:(?:additional\ )?reporting|writing|editing|edited|compiled)\ by\b", re.IGNORECASE | re.VERBOSE
)
# "Updated at 1:23 p.m.", "Published 18 November 2019", "5 min read": page furniture (+0.0001 each).
_STAMP_LINE = re.compile(
    r"""^(?:
        (?:-\ )?(?:updated|published|posted|last\ (?:updated|modified))\b:?\ .{0,40}|
        \d+\ min(?:ute)?s?\ read|
        (?:reading\ time|tempo\ de\ leitura|lesezeit|temps\ de\ lecture):?\ .{0,20}
    )$""",
    re.IGNORECASE | re.VERBOSE,
)
_FURNITURE = (_RELATED_LINE, _NEWSLETTER_LINE, _CONTACT_LINE, _CREDIT_LINE, _STAMP_LINE)
# Above this many words a line is prose that merely mentions a cue word, whatever the patterns say. (The
# longest contact box on the benchmark runs past 40 words: a cap of 40 costs 0.0001 F1, of 20 0.0005.)
_FURNITURE_MAX_WORDS = 60

_INLINE_SPACE = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")
_ZERO_WIDTH = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff]")


def clean_text(text: str) -> str:
    """Normalise an extracted text: NFC unicode, no zero-width characters, single spaces, one paragraph
    per line, and no boilerplate lines. Quotation marks are kept as written, so quote offsets stay true."""
    text = unicodedata.normalize("NFC", text)
    text = _ZERO_WIDTH.sub("", text)
    paragraphs = []
    for line in text.splitlines():
        line = _INLINE_SPACE.sub(" ", line).strip()
        if not line or is_furniture(line):
            continue
        paragraphs.append(line)
    return "\n".join(paragraphs)


def is_furniture(line: str) -> bool:
    """Whether one stripped line is page furniture (a sign-up prompt, a share or related-stories cue, a
    contact box, a production credit, a time stamp) rather than article prose."""
    if _BOILERPLATE_LINE.match(line):
        return True
    if len(line.split()) > _FURNITURE_MAX_WORDS:
        return False
    return any(pattern.search(line) for pattern in _FURNITURE)


def clean_inline(text: str) -> str:
    """Collapse a one-line field (title, author, site name) to single spaces."""
    return _INLINE_SPACE.sub(" ", _ZERO_WIDTH.sub("", unicodedata.normalize("NFC", text))).strip()
