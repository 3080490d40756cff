"""Text cleaning after extraction: unicode normalisation, whitespace, and boilerplate lines that
extractors leave behind (share buttons, sign-up prompts, advertisement labels)."""

from __future__ import annotations

import re
import unicodedata

# Whole lines that are page furniture, never article prose. Matched case-insensitively on the stripped line.
_BOILERPLATE_LINE = re.compile(
    r"""^(?:
        advertisement|sponsored(?:\ content)?|ad|
        share(?:\ (?:this|on\ \w+|via\ \w+))?|tweet|email|print|
        (?:sign\ up|subscribe)(?:\ (?:to|for)\b.*)?|
        read\ more:?.*|related(?:\ (?:stories|articles|coverage)):?|
        (?:click|tap)\ here\b.*|
        (?:follow\ us\ on)\b.*|
        (?:copyright|©)\ .*all\ rights\ reserved\.?
    )[.!:]?$""",
    re.IGNORECASE | re.VERBOSE,
)
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
        if not line or _BOILERPLATE_LINE.match(line):
            continue
        paragraphs.append(line)
    return "\n".join(paragraphs)


def clean_inline(text: str) -> str:
    """Collapse a one-line field (title, author, site name) to single spaces."""
    return _INLINE_SPACE.sub(" ", _ZERO_WIDTH.sub("", unicodedata.normalize("NFC", text))).strip()
