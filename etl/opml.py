"""OPML subscription lists: import feed readers' exports as feed sources, and export ours.

Only standard OPML attributes are used (`text`, `title`, `type`, `xmlUrl`), so any reader can import
what `export_opml` writes. On import, an outline's outlet is a slug of its `title` (else its `text`,
else the feed URL's host) and its name is its `text` (else its `title`); on export, `text` carries the
name and `title` the outlet, which is what makes `parse_opml(export_opml(sources)) == sources` hold for
outlets that are already slugs (lowercase letters, digits, `-`, `_`, single dots, as in feeds.toml)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Literal
from urllib.parse import urlsplit

from lxml import etree

from etl.discover import absolute_http_url
from etl.records import FeedSource
from etl.sitemaps import parse_untrusted_xml


def parse_opml(body: bytes) -> list[FeedSource]:
    """The feeds of an OPML document: every `<outline>` with an `xmlUrl`, at any depth (category outlines
    without one are only folders), in document order, first occurrence of a URL kept. `feed:` URLs become
    http(s); outlines whose URL is not http(s) are skipped. Raises ValueError naming the problem when the
    document is not well-formed XML, declares entities, or is not OPML."""
    root, problem = parse_untrusted_xml(body, recover=False)
    if root is None:
        raise ValueError(f"not a usable OPML document: {problem or 'no root element'}")
    if _local(root) != "opml":
        raise ValueError(f"not an OPML document: root element is <{_local(root)}>, expected <opml>")
    body_el = next((child for child in root if _local(child) == "body"), None)
    if body_el is None:
        raise ValueError("not a usable OPML document: <opml> has no <body>")
    sources: list[FeedSource] = []
    seen: set[str] = set()
    for outline in body_el.iter():
        if _local(outline) != "outline":
            continue
        # Attribute names vary in case between exporters (xmlUrl, xmlurl, XMLURL).
        attrs = {str(key).lower(): str(value) for key, value in outline.attrib.items()}
        url = absolute_http_url(attrs.get("xmlurl", ""), "")
        if url is None or url in seen:
            continue
        seen.add(url)
        name = " ".join((attrs["text"] if "text" in attrs else attrs.get("title", "")).split())
        label = attrs.get("title", "").strip() or attrs.get("text", "")
        outlet = outlet_slug(label) or (urlsplit(url).hostname or url)
        # type="sitemap" is how export_opml marks (news) sitemaps; readers of OPML ignore unknown types.
        kind: Literal["feed", "sitemap"] = "sitemap" if attrs.get("type", "").lower() == "sitemap" else "feed"
        sources.append(FeedSource(url=url, outlet=outlet, name=name, kind=kind))
    return sources


def export_opml(sources: Sequence[FeedSource], title: str = "newswatch feeds") -> bytes:
    """An OPML 2.0 document (UTF-8 bytes) listing `sources` in order, one flat outline each, which
    `parse_opml` reads back to the same sources (see the module note on outlets)."""
    opml = etree.Element("opml", version="2.0")
    head = etree.SubElement(opml, "head")
    etree.SubElement(head, "title").text = _xml_safe(title)
    body = etree.SubElement(opml, "body")
    for source in sources:
        etree.SubElement(
            body,
            "outline",
            type="sitemap" if source.kind == "sitemap" else "rss",
            text=_xml_safe(source.name),
            title=_xml_safe(source.outlet),
            xmlUrl=_xml_safe(source.url),
        )
    return bytes(etree.tostring(opml, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def outlet_slug(text: str) -> str:
    """A short stable outlet id from a feed title: accents folded to ASCII, lowercased, every run of other
    characters made one hyphen; single dots between letters or digits stay, so a host name survives.
    Idempotent: a slug maps to itself. Empty when nothing Latin is left (the caller falls back)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = _SLUG_BREAK.sub("-", folded)
    return _HYPHENS.sub("-", slug).strip("-._")


# -- internals -----------------------------------------------------------------------------------------

# Runs of characters outside [a-z0-9_.-], and dots that do not sit between two letters or digits.
_SLUG_BREAK = re.compile(r"[^a-z0-9_.-]+|\.(?:\.+)|(?<![a-z0-9])\.|\.(?![a-z0-9])")
_HYPHENS = re.compile(r"-{2,}")
# XML 1.0 cannot carry most C0 control characters, even escaped.
_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _local(el: etree._Element) -> str:
    tag = el.tag
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _xml_safe(text: str) -> str:
    return _XML_INVALID.sub("", text)
