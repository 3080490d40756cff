"""Tagging: canonical names and topic scoring as pure functions; entities and quotes on the real pipeline."""

import json
from pathlib import Path

import pytest

from etl.extract import extract_article
from etl.nlp.entities import AliasTable, _resolve_people, clean_name, fold
from etl.nlp.topics import load_topics, score_topics
from etl.records import EntityMention


@pytest.mark.parametrize(
    ("text", "label", "name"),
    [
        ("Russian President Vladimir Putin", "PERSON", "Vladimir Putin"),
        ("Putin's", "PERSON", "Putin"),
        ("Sergei Kislyak’s", "PERSON", "Sergei Kislyak"),
        ("Sen. Mark Warner", "PERSON", "Mark Warner"),
        ("Ambassador Sergei Kislyak", "PERSON", "Sergei Kislyak"),
        ("the Kremlin", "ORG", "Kremlin"),
        ("Mr. Smith,", "PERSON", "Smith"),
    ],
)
def test_clean_name(text, label, name):
    assert clean_name(text, label) == name


def test_surname_merges_with_full_name_in_same_document():
    items = [
        ("PERSON", "Putin", 5),
        ("PERSON", "Vladimir Putin", 40),
        ("PERSON", "Putin", 90),
        ("GPE", "Putin", 99),
    ]
    assert _resolve_people(items) == ["Vladimir Putin", "Vladimir Putin", "Vladimir Putin", "Putin"]
    # Two people with one surname: the nearest full name before the mention wins.
    items = [
        ("PERSON", "Anna Lang", 0),
        ("PERSON", "Lang", 10),
        ("PERSON", "Peter Lang", 20),
        ("PERSON", "Lang", 30),
    ]
    assert _resolve_people(items) == ["Anna Lang", "Anna Lang", "Peter Lang", "Peter Lang"]


def test_alias_table_folds_variants():
    aliases = AliasTable.load()
    for variant in ("U.S.", "US", "USA", "the United States", "America"):
        assert aliases.lookup(variant).name == "United States", variant
    assert aliases.lookup("North Atlantic Treaty Organisation").name == "NATO"
    assert aliases.lookup("Russian Federation").qid == "Q159"
    assert aliases.lookup("Zelenskiy").name == "Volodymyr Zelensky"
    assert aliases.lookup("Nobody Known") is None
    assert fold("The U.S.") == "us"


def _mention(canonical: str, start: int, label: str = "GPE") -> EntityMention:
    return EntityMention(canonical, label, start, start + len(canonical), canonical, 0, 100)


def test_topic_needs_actor_and_activity_and_keeps_evidence():
    topic = load_topics()
    assert [t.name for t in topic] == ["russian_interference"]
    text = "Investigators say the hacking campaign targeted the election. Russia denied any meddling."
    about = score_topics(topic, "Russia accused of election meddling", text, [_mention("Russia", 62)])[0]
    assert about.relevant and about.score >= 0.5
    values = {(e.kind, e.value, e.where) for e in about.evidence}
    assert ("term", "meddling", "title") in values and ("entity", "Russia", "lead") in values
    sport = score_topics(topic, "Moscow derby ends in a draw", "Spartak and CSKA drew 1-1 in Moscow.", [])[0]
    assert not sport.relevant
    local = score_topics(
        topic, "City election results", "Voters elected a new mayor after a long campaign.", []
    )[0]
    assert not local.relevant and local.score < about.score


def test_term_literals_never_skip_a_rule_that_matches(shared: Path):
    """The scorer skips a term rule whose literals are all absent from the text; on every article of
    ../shared (on-topic and control) each rule that matches has one of its literals in the text, and
    every rule has literals (else the skip saves nothing)."""
    from etl.nlp.literals import case_insensitive_literals

    topics = load_topics()
    rules = [rule for topic in topics for t in (topic, *topic.subtopics) for rule in t.terms]
    assert rules and all(rule.literals for rule in rules)
    assert case_insensitive_literals("(?:a|b)? c") == ()
    assert case_insensitive_literals("Russia(?:n|ns)?|Kreml\\w+") == ("russia", "kreml")
    checked = 0
    for path in sorted((shared / "data" / "articles").glob("*.jsonl")):
        for line in path.open(encoding="utf-8"):
            article = json.loads(line)
            text = f"{article.get('title', '')}\n{article.get('text', '')}"
            folded = text.casefold()
            for rule in rules:
                if rule.pattern.search(text):
                    assert any(literal in folded for literal in rule.literals), (rule.pattern.pattern, path)
                    checked += 1
    assert checked > 1000


@pytest.mark.model
def test_seed_article_entities(tagger, seed_text):
    tagging = tagger.tag([seed_text])[0]
    people = [m for m in tagging.entities if m.label == "PERSON"]
    putin = [m for m in people if m.canonical == "Vladimir Putin"]
    # Every "Putin" (and "Putin's") mention is merged into the one entity.
    assert any(m.text == "Vladimir Putin" for m in putin)
    assert sum(m.text == "Putin" for m in putin) >= 8
    assert not any(m.canonical == "Putin" for m in tagging.entities)
    for mention in tagging.entities:
        assert seed_text[mention.start : mention.end] == mention.text
    canon = {m.canonical for m in tagging.entities}
    assert {"Sergei Kislyak", "Kremlin", "Russia", "United States", "NATO", "NBC News"} <= canon
    assert "Leroy Wright" in canon


# Every quote of speech in the seed article, read by hand: (kind, words, speaker as written, canonical
# speaker, cue). "Various US politicians" and "critics" are groups: no canonical speaker.
SEED_QUOTES = [
    ("mixed", "crude and systematic", "Putin", "Vladimir Putin", "accuse"),
    ("mixed", "Russo-phobic hysteria", "Putin", "Vladimir Putin", "say"),
    (
        "indirect",
        "some evidence pointing at Russian hackers' participation in attacks - he didn't specify which - "
        "could have been falsified in an attempt to smear Russia",
        "Putin",
        "Vladimir Putin",
        "allege",
    ),
    (
        "direct",
        "The US intelligence community in January concluded with high confidence that Vladimir Putin "
        "ordered an influence campaign to try to shape the US election. That is not proof",
        "Putin",
        "Vladimir Putin",
        "say",
    ),
    ("direct", "Someday this will have to stop", "Putin", "Vladimir Putin", "say"),
    ("mixed", "working quite well", "Putin", "Vladimir Putin", "respond"),
    ("indirect", "any Kremlin role", "he", "Vladimir Putin", "deny"),
    ("indirect", "meddling in the recent US presidential campaign", "Various US politicians", None, "accuse"),
    ("direct", "That's the most important thing", "he", "Vladimir Putin", "say"),
    ("indirect", "The climate deal can not work without the United States", "he", "Vladimir Putin", "say"),
    (
        "indirect",
        "the Kremlin leader has failed to make good in the past on pledges to make serious changes",
        "critics",
        None,
        "say",
    ),
    ("mixed", "over the top", "He", "Vladimir Putin", "add"),
]


@pytest.mark.model
def test_seed_article_quotes_all_listed(tagger, seed_text):
    quotes = tagger.tag([seed_text])[0].quotes
    got = [(q.kind, q.quote, q.speaker, q.speaker_canonical, q.cue) for q in quotes]
    assert got == SEED_QUOTES
    for q in quotes:
        assert seed_text[q.quote_start : q.quote_end] == q.quote
        if q.speaker is not None:
            assert seed_text[q.speaker_start : q.speaker_end] == q.speaker
    assert [q.via for q in quotes if q.via] == ["NBC News"]


@pytest.mark.model
def test_seed_article_quotes(tagger, seed_text):
    quotes = tagger.tag([seed_text])[0].quotes
    by_text = {q.quote: q for q in quotes}
    someday = by_text["Someday this will have to stop"]
    assert (someday.speaker_canonical, someday.cue, someday.kind) == ("Vladimir Putin", "say", "direct")
    assert seed_text[someday.quote_start : someday.quote_end] == someday.quote
    assert seed_text[someday.speaker_start : someday.speaker_end] == "Putin"
    proof = next(q for q in quotes if "That is not proof" in q.quote)
    assert proof.speaker_canonical == "Vladimir Putin" and proof.kind == "direct"
    assert proof.quote.startswith("The US intelligence community")  # one quote across the sentence split
    assert proof.via == "NBC News"
    he = by_text["That's the most important thing"]
    assert he.speaker == "he" and he.speaker_canonical == "Vladimir Putin"
    mixed = {q.quote: q for q in quotes if q.kind == "mixed"}
    assert mixed["Russo-phobic hysteria"].speaker_canonical == "Vladimir Putin"
    indirect = [q for q in quotes if q.kind == "indirect"]
    assert any(q.cue == "allege" and q.speaker_canonical == "Vladimir Putin" for q in indirect)
    assert "patriotic" not in by_text  # scare quotes are not speech


@pytest.mark.model
@pytest.mark.parametrize(
    ("text", "quote", "speaker", "cue"),
    [
        ('"We will win," Jane Porter said.', "We will win", "Jane Porter", "say"),
        ('"We will win," said Jane Porter, the campaign manager.', "We will win", "Jane Porter", "say"),
        ('Jane Porter said: "We will win this time."', "We will win this time.", "Jane Porter", "say"),
        ('Jane Porter said, "We will win this time."', "We will win this time.", "Jane Porter", "say"),
        ("“We will win,” Jane Porter told reporters.", "We will win", "Jane Porter", "tell"),
    ],
)
def test_direct_quote_shapes(tagger, text, quote, speaker, cue):
    quotes = [q for q in tagger.tag([text])[0].quotes if q.kind == "direct"]
    assert [(q.quote, q.speaker_canonical, q.cue) for q in quotes] == [(quote, speaker, cue)]


@pytest.mark.model
def test_demo_quotes_and_topics_against_manifest(tagger, demo_dir: Path):
    """The demo corpus' manifest is the gold: every direct quote found, speakers mostly right,
    every article's topic decision right."""
    manifest = json.loads((demo_dir / "manifest.json").read_text())
    articles = [
        extract_article(
            (demo_dir / "site" / m["path"]).read_text().replace("__BASE__", "http://h"),
            "http://h/" + m["path"],
        )
        for m in manifest
    ]
    taggings = tagger.tag([a.text for a in articles], [a.title for a in articles])
    total = found = right = 0
    for item, tagging in zip(manifest, taggings, strict=True):
        assert tagging.topics[0].relevant == item["relevant"], item["path"]
        for gold in item["quotes"]:
            total += 1
            want = gold["quote"].rstrip(",").strip()
            match = [q for q in tagging.quotes if q.kind == "direct" and (want in q.quote or q.quote in want)]
            found += bool(match)
            right += bool(match) and match[0].speaker_canonical == gold["speaker"]
    assert total > 50
    assert found / total >= 0.95, (found, total)
    assert right / total >= 0.8, (right, total)


def test_denied_and_accused_acts_are_indirect_quotes(tagger):
    text = (
        "The Kremlin has denied meddling in the U.S. election. Representative Matt Gaetz accused Robert "
        "Mueller of a conflict of interest. Trump denied it."
    )
    quotes = [(q.kind, q.quote, q.speaker, q.cue) for q in tagger.tag([text])[0].quotes]
    assert quotes == [
        ("indirect", "meddling in the U.S. election", "Kremlin", "deny"),
        ("indirect", "a conflict of interest", "Matt Gaetz", "accuse"),
    ]  # "denied it" reports no content


def test_a_second_clause_keeps_its_own_speaker(tagger):
    # The parser hangs "Trump" on the first clause's object; the speaker of the second is still Trump.
    text = "Moscow has denied interfering in the election and Trump has denied any collusion by his campaign."
    quotes = [(q.quote, q.speaker) for q in tagger.tag([text])[0].quotes]
    assert quotes == [("interfering in the election", "Moscow"), ("any collusion", "Trump")]


def test_lone_surnames_of_people_named_in_full_become_person_mentions(tagger):
    text = (
        "Manafort did not respond. Paul Manafort, the former campaign chairman, was indicted on Monday. "
        "Prosecutors said Manafort hid the payments."
    )
    found = [(m.text, m.label, m.canonical) for m in tagger.tag([text])[0].entities if "Manafort" in m.text]
    assert found and all(label == "PERSON" and canonical == "Paul Manafort" for _, label, canonical in found)
    assert len(found) == 3


# Shapes of reported speech the quote rules handle, each with what must come out:
# (text, quote words, speaker as written, canonical speaker, cue, kind).
QUOTE_SHAPES = [
    # A reporter's aside between dashes does not end the report.
    (
        "Putin alleged that the evidence - he did not say which - could have been forged.",
        "the evidence - he did not say which - could have been forged",
        "Putin",
        "Vladimir Putin",
        "allege",
        "indirect",
    ),
    # "called X Y" and "called for X" report speech.
    (
        "President Donald Trump has called the probes a witch hunt.",
        "the probes a witch hunt",
        "Donald Trump",
        "Donald Trump",
        "call",
        "indirect",
    ),
    # The name in apposition is the speaker as written.
    (
        "Strzok's lawyer, Aitan Goelman, said the move was unnecessary.",
        "the move was unnecessary",
        "Aitan Goelman",
        "Aitan Goelman",
        "say",
        "indirect",
    ),
    # A relative pronoun speaks for its antecedent.
    (
        "He met Donald Trump Jr., who has denied any wrongdoing.",
        "any wrongdoing",
        "who",
        "Donald Trump Jr.",
        "deny",
        "indirect",
    ),
    # A capital speaks for its country.
    (
        "Moscow has said it did not interfere in the election.",
        "it did not interfere in the election",
        "Moscow",
        "Russia",
        "say",
        "indirect",
    ),
    # A spokesperson speaks for whom they represent.
    (
        "A spokeswoman for Fusion GPS said the firm had done nothing wrong.",
        "the firm had done nothing wrong",
        "A spokeswoman",
        "Fusion GPS",
        "say",
        "indirect",
    ),
    # A group has no canonical speaker.
    (
        "Republicans said the investigation was biased.",
        "the investigation was biased",
        "Republicans",
        None,
        "say",
        "indirect",
    ),
    # Nested reporting: the quoted words are Putin's, not Peskov's.
    (
        'Putin also said he did not understand "the groundless statements on the issue", Peskov added.',
        "the groundless statements on the issue",
        "Putin",
        "Vladimir Putin",
        "say",
        "mixed",
    ),
    # A mixed quote inside an according-to sentence.
    (
        "The best way forward is to “send Hillary to prison”, according to the actor Morgan Freeman.",
        "send Hillary to prison",
        "Morgan Freeman",
        "Morgan Freeman",
        "according to",
        "mixed",
    ),
]


@pytest.mark.model
@pytest.mark.parametrize(("text", "quote", "speaker", "canonical", "cue", "kind"), QUOTE_SHAPES)
def test_reported_speech_shapes(tagger, text, quote, speaker, canonical, cue, kind):
    quotes = tagger.tag([text])[0].quotes
    assert (quote, speaker, canonical, cue, kind) in [
        (q.quote, q.speaker, q.speaker_canonical, q.cue, q.kind) for q in quotes
    ], quotes


@pytest.mark.model
@pytest.mark.parametrize(
    "text",
    [
        'Collins said on CBS\' "Face the Nation" that she backed the bill.',
        "McConnell spoke on “Fox News Sunday” about the vote.",
        "Gidley told “Fox & Friends” on Monday that the memo was eye-opening.",
    ],
)
def test_quoted_show_titles_are_not_quotes(tagger, text):
    quotes = tagger.tag([text])[0].quotes
    assert not [q for q in quotes if q.kind != "indirect"], quotes


@pytest.mark.model
def test_typeset_quote_marks(tagger):
    text = (
        "Trump said Flynn “hadn’t done anything wrong’’ in his contacts. "
        "“I don’t expect them to be objective,” Gowdy said. “Almost by definition, it is not objective. "
        "“The next thing is whether the government relied on it.”"
    )
    quotes = [(q.quote, q.speaker_canonical) for q in tagger.tag([text])[0].quotes if q.kind != "indirect"]
    assert ("hadn’t done anything wrong", "Donald Trump") in quotes
    assert ("Almost by definition, it is not objective.", "Trey Gowdy") in quotes
    assert ("The next thing is whether the government relied on it.", "Trey Gowdy") in quotes
