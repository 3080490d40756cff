"""Realistic news pages and WARC files built from article dumps, for benchmarks and tests of the backfill
(real texts from ../shared/data/articles, wrapped in the furniture of a news site: navigation, byline,
share buttons, a "most read" sidebar, scripts, footer). Nothing here is used by the pipeline itself."""

from __future__ import annotations

import html
import io
import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from etl.dates import parse_date

_SECTIONS = (
    "World",
    "US",
    "Politics",
    "Business",
    "Tech",
    "Science",
    "Health",
    "Sport",
    "Culture",
    "Opinion",
)
_SIDEBAR = (
    "Ten recipes for a quick weeknight dinner",
    "Markets close higher after a volatile week",
    "The best hiking trails within an hour of the city",
    "Local team clinches the title in overtime",
    "How to keep your houseplants alive through winter",
    "New museum wing opens to the public",
)
# Pages carry a site script like real ones do; its size makes the HTML as heavy as a typical article page.
_SCRIPT = "window.__SITE__=" + json.dumps(
    {"ads": [{"slot": f"slot-{i}", "sizes": [[300, 250], [728, 90]]} for i in range(600)]}
)


@dataclass(frozen=True)
class SampleArticle:
    """One article of a dump: what a page is built from."""

    ident: str
    title: str
    text: str
    outlet: str
    published: datetime | None
    url: str


def load_articles(paths: Iterable[Path]) -> list[SampleArticle]:
    """Articles of JSONL dumps (`{id, title, text, outlet, published, url}`), in file order."""
    found: list[SampleArticle] = []
    for path in paths:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                raw = json.loads(line)
                parsed = parse_date(str(raw.get("published") or ""))
                found.append(
                    SampleArticle(
                        ident=str(raw["id"]),
                        title=str(raw.get("title") or ""),
                        text=str(raw.get("text") or ""),
                        outlet=str(raw.get("outlet") or "") or "The Daily Example",
                        published=parsed[0] if parsed else None,
                        url=str(raw.get("url") or ""),
                    )
                )
    return found


def page_url(article: SampleArticle, copy: int = 0) -> str:
    """A URL for the page of `article` (its `copy`-th page when one article fills several)."""
    day = (article.published or datetime(2017, 1, 1, tzinfo=UTC)).strftime("%Y/%m/%d")
    slug = "".join(c if c.isalnum() else "-" for c in article.ident.lower()).strip("-")
    suffix = f"-{copy}" if copy else ""
    return f"https://news.example.org/{day}/{slug}{suffix}.html"


def render_page(article: SampleArticle, url: str, rng: random.Random) -> str:
    """The article as a news site would serve it."""
    title = html.escape(article.title)
    published = (article.published or datetime(2017, 1, 1, tzinfo=UTC)).isoformat()
    paragraphs = "\n".join(f"<p>{html.escape(p.strip())}</p>" for p in article.text.split("\n") if p.strip())
    nav = "".join(f'<li><a href="/{s.lower()}/">{s}</a></li>' for s in _SECTIONS)
    sidebar = "".join(
        f'<li><a href="/story/{rng.randrange(10**6)}.html">{h}</a></li>' for h in rng.sample(_SIDEBAR, 4)
    )
    outlet = html.escape(article.outlet)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title} | {outlet}</title>
<link rel="canonical" href="{html.escape(url)}">
<meta property="og:title" content="{title}">
<meta property="og:type" content="article">
<meta property="og:site_name" content="{outlet}">
<meta property="article:published_time" content="{published}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font-family:Georgia,serif;margin:0}}.nav li{{display:inline;margin:0 8px}}
.share a{{padding:4px}}</style>
<script>{_SCRIPT}</script>
</head><body>
<header><div class="logo"><a href="/">{outlet}</a></div><nav class="nav"><ul>{nav}</ul></nav>
<form action="/search"><input name="q" placeholder="Search"></form></header>
<main><article>
<h1>{title}</h1>
<div class="byline">By <span class="author">Staff Reporter</span> ·
<time datetime="{published}">{published[:10]}</time></div>
<div class="share"><a href="#">Share on Facebook</a><a href="#">Share on Twitter</a>
<a href="#">Email</a></div>
<div class="article-body">
{paragraphs}
</div>
</article>
<aside class="most-read"><h2>Most read</h2><ol>{sidebar}</ol></aside>
<section class="newsletter"><h2>Get our newsletter</h2><p>Sign up for the morning briefing.</p></section>
</main>
<footer><ul><li><a href="/about">About us</a></li><li><a href="/contact">Contact</a></li>
<li><a href="/privacy">Privacy policy</a></li><li><a href="/terms">Terms of use</a></li></ul>
<p>&copy; {outlet}. All rights reserved.</p></footer>
</body></html>
"""


def pages(articles: list[SampleArticle], count: int, *, seed: int = 0) -> Iterator[tuple[str, str, datetime]]:
    """`count` pages (URL, HTML, capture date), cycling through `articles` (a cycle's pages get new URLs)."""
    rng = random.Random(seed)
    for index in range(count):
        article = articles[index % len(articles)]
        url = page_url(article, index // len(articles))
        captured = article.published or datetime(2017, 1, 1, tzinfo=UTC)
        yield url, render_page(article, url, rng), captured


def write_warc(path: Path, items: Iterable[tuple[str, str, datetime]]) -> int:
    """Write pages as a gzip'd WARC of `response` records (each with a `request` record before it, as
    crawlers write them); returns the number of pages."""
    written = 0
    with path.open("wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        for url, page, captured in items:
            body = page.encode("utf-8")
            date = captured.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            request = writer.create_warc_record(
                url,
                "request",
                payload=io.BytesIO(b""),
                length=0,
                http_headers=StatusAndHeaders(
                    f"GET {url} HTTP/1.1", [("Host", "news.example.org")], is_http_request=True
                ),
                warc_headers_dict={"WARC-Date": date},
            )
            writer.write_record(request)
            http = StatusAndHeaders(
                "200 OK",
                [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))],
                protocol="HTTP/1.1",
            )
            response = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                http_headers=http,
                warc_headers_dict={"WARC-Date": date},
            )
            writer.write_record(response)
            written += 1
    return written
