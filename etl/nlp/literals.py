"""The literal text a regular expression's matches must start with, so that a cheap substring or
Aho-Corasick search can rule an expression out before Python's `re` is asked to run it. Used by the
topic scorer (etl.nlp.topics) and the backfill prefilter (etl.prefilter)."""

from __future__ import annotations

# Characters that end the literal start of a pattern, and quantifiers that make the character before them
# optional or repeated (so it is not part of the literal either).
_META = set("()[]{}.\\|^$")
_QUANTIFIERS = set("?*+{")


def literal_start(pattern: str) -> str:
    """The literal text every match of `pattern` starts with ("" when it starts with a group, a class or
    a character escape such as \\w): characters up to the first metacharacter, less one followed by a
    quantifier; an escaped punctuation character (`\\ `, `\\.`) is literal."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        step = 1
        if ch == "\\" and i + 1 < len(pattern) and not pattern[i + 1].isalnum():
            ch, step = pattern[i + 1], 2
        elif ch in _META or ch in _QUANTIFIERS:
            break
        if i + step < len(pattern) and pattern[i + step] in _QUANTIFIERS:
            break
        out.append(ch)
        i += step
    return "".join(out)


def literal_starts(pattern: str) -> tuple[str, ...]:
    """Literals one of which starts every match: `literal_start`, or for a pattern opening with a
    non-capturing group, the literal starts of that group's alternatives (("",) when one has none)."""
    head = literal_start(pattern)
    if head or not pattern.startswith("(?:"):
        return (head,)
    depth = 0
    for i, ch in enumerate(pattern):
        depth += ch == "("
        depth -= ch == ")"
        if depth == 0:
            inner = pattern[3:i]
            # A group that may be skipped (followed by a quantifier) starts nothing for certain.
            if i + 1 < len(pattern) and pattern[i + 1] in _QUANTIFIERS:
                return ("",)
            starts = tuple(literal_start(alt) for alt in alternatives(inner))
            return starts if all(starts) else ("",)
    return ("",)


def alternatives(pattern: str) -> list[str]:
    """Top-level `|` alternatives of a pattern (none split inside groups or classes)."""
    parts: list[str] = []
    depth, start, escaped, in_class = 0, 0, False, False
    for i, ch in enumerate(pattern):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
    parts.append(pattern[start:])
    return parts


def case_insensitive_literals(pattern: str) -> tuple[str, ...]:
    """Case-folded literals, one of which is in the case-folded text wherever `pattern` (compiled with
    re.IGNORECASE) matches; () when no such promise can be made (an alternative without a literal start,
    or a non-ASCII literal, whose case rules `re` and `str.casefold` may not share)."""
    found: list[str] = []
    for alternative in alternatives(pattern):
        for literal in literal_starts(alternative):
            if not literal or not literal.isascii():
                return ()
            found.append(literal.casefold())
    return tuple(dict.fromkeys(found))
