"""Dedup keys: the canonical URL identifies an article, a content hash identifies its text."""

from __future__ import annotations

import hashlib
import re

from courlan import normalize_url

_WORDS = re.compile(r"\w+", re.UNICODE)


def canonical_url(url: str) -> str:
    """Normalise a URL for identity: lower-cased host, default port dropped, fragment and tracking
    parameters (utm_*, fbclid, …) removed, query sorted. courlan owns these rules."""
    try:
        return normalize_url(url.strip(), strict=True)
    except (ValueError, AttributeError):
        return url.strip()


def stable_id(*parts: object) -> int:
    """A deterministic signed 64-bit id from the given parts; equal parts give equal ids in every run,
    which is what makes loads idempotent without a database round trip."""
    digest = hashlib.blake2b("\x1f".join(str(p) for p in parts).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def article_id(canonical: str) -> int:
    """The article key: derived from the canonical URL only."""
    return stable_id("article", canonical)


def content_hash(text: str) -> str:
    """Hash of the text's word sequence, case-folded, so that whitespace and punctuation edits made
    by templates do not hide an identical story."""
    words = " ".join(w.casefold() for w in _WORDS.findall(text))
    return hashlib.sha256(words.encode("utf-8")).hexdigest()


def new_urls(candidates: list[str], known_canonical: set[str]) -> list[str]:
    """Keep the candidates whose canonical URL is not known yet, first occurrence only, input order."""
    fresh: list[str] = []
    seen = set(known_canonical)
    for url in candidates:
        key = canonical_url(url)
        if key in seen:
            continue
        seen.add(key)
        fresh.append(url)
    return fresh
