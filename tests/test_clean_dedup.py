from etl.clean import clean_inline, clean_text
from etl.dedup import article_id, canonical_url, content_hash, new_urls, stable_id


def test_clean_text_drops_furniture_and_normalises():
    raw = (
        "Advertisement\nThe  vote\u00a0was close.\u200b\n\nShare this\n"
        "Read more: other story\n\u201cQuote,\u201d she said."
    )
    assert clean_text(raw) == "The vote was close.\n\u201cQuote,\u201d she said."
    assert clean_inline("  Ann\u00a0 Reed ") == "Ann Reed"


def test_canonical_url_strips_tracking_and_fragments():
    assert (
        canonical_url("HTTPS://Example.COM:443/a.html?utm_source=rss&id=3#top")
        == "https://example.com/a.html?id=3"
    )
    assert article_id(canonical_url("https://example.com/a.html?utm_medium=x")) == article_id(
        "https://example.com/a.html"
    )


def test_ids_are_stable_and_distinct():
    assert stable_id("a", 1) == stable_id("a", 1)
    assert stable_id("a", 1) != stable_id("a", 2)
    assert -(2**63) <= stable_id("x") < 2**63


def test_content_hash_ignores_whitespace_case_and_punctuation_only():
    assert content_hash("The vote, was CLOSE.") == content_hash("the vote was close")
    assert content_hash("the vote was close") != content_hash("the vote was not close")


def test_new_urls_skips_known_and_repeats():
    known = {"https://a.test/1"}
    urls = ["https://a.test/1?utm_source=x", "https://a.test/2", "https://a.test/2#c", "https://a.test/3"]
    assert new_urls(urls, known) == ["https://a.test/2", "https://a.test/3"]
