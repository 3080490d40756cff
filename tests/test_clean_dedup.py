import pytest

from etl.clean import clean_inline, clean_text
from etl.dedup import article_id, canonical_url, content_hash, stable_id


def test_clean_text_drops_furniture_and_normalises():
    raw = (
        "Advertisement\nThe  vote\u00a0was close.\u200b\n\nShare this\n"
        "Read more: other story\n\u201cQuote,\u201d she said."
    )
    assert clean_text(raw) == "The vote was close.\n\u201cQuote,\u201d she said."
    assert clean_inline("  Ann\u00a0 Reed ") == "Ann Reed"
    furniture = [
        "Sign up for The Morning Brief, our free daily newsletter.",
        "Get the day's top headlines delivered to your inbox every morning.",
        "Thanks for signing up!",
        "Pick Six Newsletter",
        "Follow her on Twitter @AmyKup or on Facebook.",
        "Email Tariq Malik at tmalik@space.test or follow him @tariqjmalik.",
        "reporter@paper.test",
        "(Reporting by Greg Roumeliotis; Editing by Martin Howell)",
        "Updated at 1:23 p.m.",
        "5 min read",
        "You may also like...",
        "Most read in world news",
        "DON'T MISS",
        "Related: The 15 Weirdest Galaxies in Our Universe",
        "Leggi anche",
        "Comments",
    ]
    prose = [
        "The newsletter, which has 40,000 subscribers, said the accounts were fake.",
        "Reuters contributed to this report.",  # etl.dedup.wire_agency reads the agency from it
        "— Dianna E. Anderson (@diannaeanderson) November 18, 2019",  # an embedded tweet's attribution
        "Click here to get more information or download this game.",
        "Follow the money, investigators said, and you will find the network's owners.",
    ]
    assert clean_text("\n".join(furniture + prose)) == "\n".join(prose)


def test_canonical_url_keeps_the_parameters_that_identify_a_story():
    assert (
        canonical_url("https://e.org/article.php?story=123&utm_source=x")
        == "https://e.org/article.php?story=123"
    )
    assert canonical_url("https://e.org/article.php?story=123") != canonical_url(
        "https://e.org/article.php?story=456"
    )
    assert canonical_url("https://e.org/a?fbclid=1&b=2&a=1#c") == "https://e.org/a?a=1&b=2"


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


def test_minhash_similarity_separates_copies_from_other_stories():
    from etl.dedup import NEAR_DUPLICATE_JACCARD, estimated_jaccard, lsh_bands, minhash_signature

    story = " ".join(f"word{i} appears in sentence {i // 7} of the wire story" for i in range(120))
    edited = story.replace("sentence 3 ", "paragraph 3 ") + " An extra closing line added by the outlet."
    other = " ".join(f"token{i} belongs to another report {i // 5}" for i in range(120))
    a, b, c = minhash_signature(story), minhash_signature(edited), minhash_signature(other)
    assert estimated_jaccard(a, a) == 1.0
    assert estimated_jaccard(a, b) >= NEAR_DUPLICATE_JACCARD > estimated_jaccard(a, c)
    assert set(lsh_bands(a)) & set(lsh_bands(b))
    assert not set(lsh_bands(a)) & set(lsh_bands(c))
    assert list(minhash_signature(story)) == list(a)  # deterministic across calls (and runs)


@pytest.mark.parametrize(
    ("text", "agency"),
    [
        ("MOSCOW (Reuters) - The Kremlin said on Friday ...", "Reuters"),
        ("WASHINGTON (AP) — Officials warned ...", "Associated Press"),
        ("BRUSSELS (CPA) — The commission opened ...", "Continental Press Agency"),
        ("Officials warned on Monday.\nReuters contributed to this report", "Reuters"),
        ("The AP style guide was updated (a story about style).", None),
    ],
)
def test_wire_agency(text, agency):
    from etl.dedup import wire_agency

    assert wire_agency(text) == agency
