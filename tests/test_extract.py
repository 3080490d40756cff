import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from etl.extract import (
    ExtractionError,
    drop_furniture_blocks,
    extract_article,
    language_mismatch,
    split_authors,
    split_trailing_byline,
)

PAGE = """<html lang="en-GB"><head><title>Spies and votes | Ledger</title>
<link rel="canonical" href="https://ledger.test/2026/10/06/spies.html">
<meta property="article:published_time" content="2026-10-06T08:30:00+02:00">
<meta property="og:site_name" content="The Ledger"><meta name="author" content="Ann Reed and Bo Lund">
</head><body><nav><a href="/">Home</a><a href="/world">World</a></nav><div class="ad">Advertisement</div>
<article><h1>Spies and votes</h1>
<p>The election commission said on Tuesday that it had found a network of fake accounts run from abroad.</p>
<p>Share on Facebook</p>
<p>"We will publish everything we know," said Ana Cebotaru, the commission's chair, at a press conference.</p>
<p>Investigators traced the accounts to a company registered in two countries, officials said.</p>
</article><footer>Copyright 2026 The Ledger. All rights reserved.</footer></body></html>"""


def test_article_text_metadata_and_boilerplate():
    article = extract_article(PAGE, "https://ledger.test/2026/10/06/spies.html?utm_source=rss")
    assert article.title == "Spies and votes"
    assert article.canonical_url == "https://ledger.test/2026/10/06/spies.html"
    assert article.authors == ("Ann Reed", "Bo Lund")
    assert article.site_name == "The Ledger"
    assert article.language == "en"
    assert "fake accounts" in article.text and "Ana Cebotaru" in article.text
    assert "Share on Facebook" not in article.text and "Advertisement" not in article.text
    assert "Home" not in article.text
    # HTML metadata keeps the time of day and the offset.
    assert article.published == datetime(2026, 10, 6, 6, 30, tzinfo=UTC)
    assert article.published_source == "html_meta"


def test_date_trust_order_feed_then_meta_then_url():
    feed_time = datetime(2026, 10, 7, 9, 0, tzinfo=UTC)
    assert extract_article(PAGE, "https://ledger.test/x", feed_published=feed_time).published_source == "feed"
    no_meta = PAGE.replace('<meta property="article:published_time" content="2026-10-06T08:30:00+02:00">', "")
    from_url = extract_article(no_meta, "https://ledger.test/2026/10/04/spies.html")
    assert from_url.published_source == "url" and from_url.published == datetime(2026, 10, 4, tzinfo=UTC)


def test_page_without_article_text_is_an_extraction_error():
    with pytest.raises(ExtractionError):
        extract_article("<html><body><nav><a href='/'>Home</a></nav></body></html>", "https://x.test/")


@pytest.mark.parametrize(
    ("byline", "names"),
    [
        ("By Ann Reed", ("Ann Reed",)),
        ("Ann Reed; Bo Lund", ("Ann Reed", "Bo Lund")),
        ("• Leroy Wright", ("Leroy Wright",)),
    ],
)
def test_split_authors(byline, names):
    assert split_authors(byline) == names


def test_demo_pages_extract_with_their_manifest_metadata(demo_dir: Path):
    manifest = json.loads((demo_dir / "manifest.json").read_text())
    for item in manifest:
        html = (demo_dir / "site" / item["path"]).read_text().replace("__BASE__", "http://127.0.0.1:1")
        article = extract_article(html, f"http://127.0.0.1:1/{item['path']}?utm_source=rss")
        assert article.canonical_url == f"http://127.0.0.1:1/{item['path']}", item["path"]
        assert article.published == datetime.fromisoformat(item["published"]), item["path"]
        assert set(item["authors"]) <= set(article.authors), (item["path"], article.authors)
        for quote in item["quotes"]:
            assert quote["quote"].rstrip(",") in article.text, (item["path"], quote["quote"])
        assert article.flags == (), (item["path"], article.flags)
        # The headline is the title field, not the text's first line.
        assert not article.text.startswith(item["title"]), item["path"]


def test_demo_index_pages_are_not_articles(demo_dir: Path):
    for page in sorted((demo_dir / "site").glob("*/index.html")):
        html = page.read_text().replace("__BASE__", "http://127.0.0.1:1")
        article = extract_article(html, f"http://127.0.0.1:1/{page.parent.name}/index.html")
        assert "not_an_article" in article.flags, page


def _page(body: str, *, head: str = "", lang: str = "en") -> str:
    return f"<html lang='{lang}'><head><title>T</title>{head}</head><body>{body}</body></html>"


_OG_ARTICLE = '<meta property="og:type" content="article">'
PROSE = " ".join(
    f"Sentence {i} says that officials found more fake accounts run from abroad this week." for i in range(20)
)


def test_quality_flags():
    long_article = _page(f"<article><h1>Title</h1><p>{PROSE}</p></article>", head=_OG_ARTICLE)
    assert extract_article(long_article, "https://x.test/2026/10/06/story.html").flags == ()
    short = _page(
        "<article><p>" + "Officials found fake accounts run from abroad, they said. " * 3 + "</p></article>"
    )
    assert extract_article(short, "https://x.test/2026/10/06/brief.html").flags == ("too_short",)
    paywall = _page(f"<article><p>{PROSE}</p><p>Subscribe to continue reading this story.</p></article>")
    assert "likely_truncated" in extract_article(paywall, "https://x.test/2026/10/06/p.html").flags
    teaser = _page(
        "<article><p>" + "Officials found fake accounts run from abroad. " * 4 + "All...</p></article>"
    )
    assert "likely_truncated" in extract_article(teaser, "https://x.test/2026/10/06/t.html").flags
    # A long free article that happens to end on an ellipsis is not truncated.
    ending = _page(f"<article><p>{PROSE} And then…</p></article>", head=_OG_ARTICLE)
    assert extract_article(ending, "https://x.test/2026/10/06/e.html").flags == ()
    tag_page = _page(f"<article><p>{PROSE}</p></article>")
    assert "not_an_article" in extract_article(tag_page, "https://x.test/tag/elections/").flags
    # The same URL shape on a page that declares itself an article (CNN's /index.html stories) is fine.
    assert extract_article(long_article, "https://x.test/2026/10/06/story/index.html").flags == ()


def test_language_mismatch():
    assert language_mismatch("de", "en")
    assert not language_mismatch("en-GB", "en")
    assert not language_mismatch("EN_us", "en-US")
    assert not language_mismatch(None, "en") and not language_mismatch("ru", None)


def test_trailing_bullet_byline_moves_from_text_to_authors():
    text, names = split_trailing_byline("Other world leaders condemned the decision.\n  • Leroy Wright")
    assert text == "Other world leaders condemned the decision." and names == ("Leroy Wright",)
    assert split_trailing_byline("A.\n• Ann Reed and Bo Lund")[1] == ("Ann Reed", "Bo Lund")
    # A bulleted line that does not read as names stays where it is.
    assert split_trailing_byline("Deals.\n• Prices may vary") == ("Deals.\n• Prices may vary", ())
    assert split_trailing_byline("• Leroy Wright") == ("• Leroy Wright", ())
    # In a page: the byline paragraph gives the author when the page's metadata names none.
    page = _page(f"<article><p>{PROSE}</p><p class='byline-end'>• Leroy Wright</p></article>")
    article = extract_article(page, "https://x.test/2026/10/06/s.html")
    assert article.authors == ("Leroy Wright",) and "Leroy Wright" not in article.text
    # A plain closing paragraph survives extraction: it leaves the text and joins the page's author.
    page = _page(
        f"<article><p>{PROSE}</p><p>• Leroy Wright</p></article>",
        head='<meta name="author" content="Ann Reed">',
    )
    article = extract_article(page, "https://x.test/2026/10/06/s.html")
    assert article.authors == ("Ann Reed", "Leroy Wright") and "Leroy Wright" not in article.text


def test_seed_article_byline(seed_text: str):
    text, names = split_trailing_byline(seed_text.strip())
    assert names == ("Leroy Wright",) and not text.rstrip().endswith("Leroy Wright")


def test_furniture_blocks_are_dropped():
    from lxml import etree

    body = etree.fromstring(
        "<body><head rend='h1'>Spies and votes</head><head rend='h2'>The commission found a network</head>"
        "<p>The election commission said on Tuesday that it had found a network of fake accounts.</p>"
        "<p>More: Moldova votes amid warnings of disinformation</p>"
        "<list><item>Moldova votes amid warnings of disinformation</item></list></body>"
    )
    share = drop_furniture_blocks(
        body,
        description="The commission found a network of fake accounts run from abroad.",
        anchors=["moldova votes amid warnings of disinformation"],
    )
    assert [element.tag for element in body.iter("p", "head", "item")] == ["p"]
    assert 0.2 < share < 0.8
