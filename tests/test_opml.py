import time
from pathlib import Path

import pytest
from lxml import etree

from etl.feeds import load_feed_sources
from etl.opml import export_opml, outlet_slug, parse_opml
from etl.records import FeedSource
from etl.settings import PROJECT_ROOT

# Shaped like a feed reader's export: folders, nested folders, attribute-case quirks, a feed: URL, a
# duplicate in a second folder, and outlines that are not feeds.
NESTED = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head>
    <title>Subscriptions of a newsroom researcher</title>
    <dateCreated>Mon, 05 Oct 2026 08:00:00 GMT</dateCreated>
  </head>
  <body>
    <outline text="World" title="World">
      <outline type="rss" text="BBC News - World" title="BBC News - World"
               xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml" htmlUrl="https://www.bbc.co.uk/news/world"/>
      <outline type="rss" text="Le Monde.fr – Actualités" xmlUrl="  https://www.lemonde.fr/rss/une.xml  "/>
      <outline type="rss" text="Новости" title="Новости" xmlUrl="https://ria.example.ru/export/rss2/index.xml"/>
    </outline>
    <outline text="Politics">
      <outline text="US">
        <outline type="rss" text="NPR Politics" title="NPR Politics" xmlurl="https://feeds.npr.org/1014/rss.xml"/>
        <outline type="rss" text="Politico" title="Politico"
                 xmlUrl="https://rss.politico.com/politics-news.xml?src=a&amp;b=c"/>
      </outline>
      <outline type="rss" text="BBC News - World (again)" xmlUrl="https://feeds.bbci.co.uk/news/world/rss.xml"/>
    </outline>
    <outline text="Old subscribe link" type="rss" xmlUrl="feed://www.example-news.com/feed/"/>
    <outline text="A bookmark, not a feed" type="link" url="https://www.example-news.com/"/>
    <outline text="Script" type="rss" xmlUrl="javascript:alert(1)"/>
  </body>
</opml>
""".encode()


def test_nested_opml_import():
    sources = parse_opml(NESTED)
    assert sources == [
        FeedSource(
            url="https://feeds.bbci.co.uk/news/world/rss.xml",
            outlet="bbc-news-world",
            name="BBC News - World",
        ),
        FeedSource(
            url="https://www.lemonde.fr/rss/une.xml",
            outlet="le-monde.fr-actualites",
            name="Le Monde.fr – Actualités",
        ),
        # Nothing Latin in the title: the feed's host stands in.
        FeedSource(
            url="https://ria.example.ru/export/rss2/index.xml", outlet="ria.example.ru", name="Новости"
        ),
        FeedSource(url="https://feeds.npr.org/1014/rss.xml", outlet="npr-politics", name="NPR Politics"),
        FeedSource(
            url="https://rss.politico.com/politics-news.xml?src=a&b=c", outlet="politico", name="Politico"
        ),
        FeedSource(
            url="http://www.example-news.com/feed/", outlet="old-subscribe-link", name="Old subscribe link"
        ),
    ]


SOURCES = [
    FeedSource(url="https://feeds.bbci.co.uk/news/world/rss.xml", outlet="bbc", name="BBC News: World"),
    FeedSource(url="https://www.theguardian.com/world/rss", outlet="guardian", name="The Guardian » World"),
    FeedSource(url="https://rss.example.com/a?x=1&y=<2>", outlet="example.com", name='Quotes "and" <tags>'),
    FeedSource(url="https://www.sueddeutsche.de/news/rss", outlet="sz", name="Süddeutsche Zeitung"),
    FeedSource(url="https://ria.example.ru/export/rss2/index.xml", outlet="ria_novosti", name="РИА Новости"),
    FeedSource(url="https://feeds.npr.org/1014/rss.xml", outlet="npr", name=""),
]


def test_round_trip_export_import():
    exported = export_opml(SOURCES, title="Round trip")
    assert parse_opml(exported) == SOURCES
    root = etree.fromstring(exported)
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "Round trip"
    outlines = root.findall("body/outline")
    assert len(outlines) == len(SOURCES)
    assert all(o.get("type") == "rss" and o.get("xmlUrl") and o.get("text") is not None for o in outlines)
    assert exported.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert parse_opml(export_opml([])) == []


def test_round_trip_of_the_projects_feeds_toml():
    sources = load_feed_sources(PROJECT_ROOT / "feeds.toml")
    # Outlets in feeds.toml are expected to be slugs (lowercase ids); one that is not would come back changed.
    assert parse_opml(export_opml(sources)) == sources


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("BBC News: World", "bbc-news-world"),
        ("Dr. Who Weekly", "dr-who-weekly"),
        ("feeds.bbci.co.uk", "feeds.bbci.co.uk"),
        ("Süddeutsche  Zeitung", "suddeutsche-zeitung"),
        ("  -- The Guardian » World --  ", "the-guardian-world"),
        ("ria_novosti", "ria_novosti"),
        ("Новости", ""),
    ],
)
def test_outlet_slug(text: str, slug: str):
    assert outlet_slug(text) == slug
    assert outlet_slug(slug) == slug


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"", "empty document"),
        (b"<opml version='2.0'><head><title>x</head></opml>", "malformed XML"),
        (b"this is not xml", "malformed XML"),
        (b"<?xml version='1.0'?><rss version='2.0'><channel/></rss>", "root element is <rss>"),
        (b"<opml version='2.0'><head><title>No body</title></head></opml>", "has no <body>"),
    ],
)
def test_bad_opml_raises_a_clear_value_error(body: bytes, problem: str):
    with pytest.raises(ValueError, match=problem):
        parse_opml(body)


def test_raw_ampersand_in_xml_url_is_forgiven():
    body = (
        b'<opml version="2.0"><body><outline text="A" xmlUrl="https://a.example/rss?x=1&y=2"/></body></opml>'
    )
    assert parse_opml(body) == [FeedSource(url="https://a.example/rss?x=1&y=2", outlet="a", name="A")]


def test_entity_attacks_are_refused(tmp_path: Path):
    secret = "OPML-SECRET-" + "k4j5h6" * 3
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(secret)
    xxe = (
        f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY xxe SYSTEM "{secret_file.as_uri()}">]>'
        '<opml version="2.0"><body><outline text="&xxe;" xmlUrl="https://a.example/rss"/></body></opml>'
    ).encode()
    with pytest.raises(ValueError, match="refused: document declares XML entities") as info:
        parse_opml(xxe)
    assert secret not in str(info.value)

    entities = ['<!ENTITY a "aaaaaaaaaa">'] + [
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(9)
    ]
    laughs = (
        "<?xml version='1.0'?><!DOCTYPE opml [" + "".join(entities) + "]>"
        '<opml version="2.0"><body><outline text="&j;" xmlUrl="https://a.example/rss"/></body></opml>'
    ).encode()
    started = time.monotonic()
    with pytest.raises(ValueError, match="refused: document declares XML entities"):
        parse_opml(laughs)
    assert time.monotonic() - started < 2.0
