"""Backfill sources (etl.archive): WARC/ARC records against the shared archive's inventory, resuming from
any record offset, dumps with mapped columns, URL lists, the fetcher's own WARC files, and the prefilter."""

from __future__ import annotations

import csv
import gzip
import json
import os
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import need
from pytest_httpserver import HTTPServer
from warcio.archiveiterator import ArchiveIterator

from etl.archive import (
    Columns,
    PageRecord,
    RecordError,
    SkippedRecord,
    TextRecord,
    UrlRecord,
    WarcArchiver,
    read_csv,
    read_jsonl,
    read_source,
    read_url_list,
    read_warc,
    source_kind,
    warc_date,
)
from etl.fetch import Fetcher
from etl.nlp.entities import AliasTable
from etl.nlp.topics import load_topics, score_topics
from etl.prefilter import build_prefilter
from etl.records import FetchRequest, RawResponse
from etl.settings import Settings


def _inventory(shared: Path) -> dict[str, dict[str, object]]:
    path = shared / "data" / "warc" / "inventory.json"
    need(path.is_file(), f"WARC inventory missing: {path}")
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _rec_types(path: Path) -> Counter[str]:
    return Counter(i.reason for i in read_warc(str(path)) if isinstance(i, SkippedRecord))


def test_every_shared_archive_reads_as_its_inventory_says(shared: Path) -> None:
    inventory = _inventory(shared)
    assert len(inventory) >= 30
    for name, facts in inventory.items():
        path = shared / "data" / "warc" / name
        assert source_kind(str(path)) == "warc", name
        items = list(read_warc(str(path)))
        fatal = [i for i in items if isinstance(i, RecordError) and i.fatal]
        pages = [i for i in items if isinstance(i, PageRecord)]
        types = facts["types"]
        assert isinstance(types, dict)
        skipped = Counter(i.reason for i in items if isinstance(i, SkippedRecord))
        if facts["error"]:
            # A file that stops parsing says where, once, and after everything before it.
            assert len(fatal) == 1 and items[-1] is fatal[0], name
        else:
            assert not fatal, (name, fatal)
            # Every request, revisit and metadata record is skipped and counted by its type.
            for rec_type in ("request", "revisit", "metadata", "warcinfo"):
                assert skipped[rec_type] == types.get(rec_type, 0), (name, rec_type)
        # Only HTML responses (and HTML resource records) become pages; the inventory counts HTML
        # responses of any status.
        html = facts["html_responses"]
        assert isinstance(html, int)
        assert len(pages) <= html + int(types.get("resource", 0)), name
        for page in pages:
            assert page.url.startswith(("http://", "https://")) and page.body
            assert page.fetched_at.tzinfo is not None
            assert page.offset < page.next_offset <= path.stat().st_size
        samples = facts["sample_html_urls"]
        assert isinstance(samples, list)
        if html and not facts["error"] and name.endswith(("example.warc.gz", "whirlwind.warc.gz")):
            assert {p.url for p in pages} >= {samples[0]}


def test_broken_archives_keep_what_came_before_the_break(shared: Path) -> None:
    base = shared / "data" / "warc" / "warcio"
    trunc = list(read_warc(str(base / "example-trunc.warc")))
    assert [type(i).__name__ for i in trunc].count("PageRecord") == 1
    damaged = [i for i in trunc if isinstance(i, RecordError)]
    assert len(damaged) == 1 and not damaged[0].fatal and "Content-Length" in damaged[0].error
    non_chunked = list(read_warc(str(base / "example-bad-non-chunked.warc.gz")))
    assert isinstance(non_chunked[0], SkippedRecord) and non_chunked[0].reason == "warcinfo"
    assert isinstance(non_chunked[-1], RecordError) and non_chunked[-1].fatal
    assert "non-chunked gzip" in non_chunked[-1].error


def test_brotli_and_gzip_transfer_encodings_decode_to_the_same_page(shared: Path) -> None:
    base = shared / "data" / "warc" / "ukwa-webarchive-discovery" / "compression"
    bodies = {}
    for name in ("transfer_compression_brotli.warc.gz", "transfer_compression_gzip.warc.gz"):
        (page,) = [i for i in read_warc(str(base / name)) if isinstance(i, PageRecord)]
        bodies[name] = page.body
    assert b"<title>Simple page</title>" in bodies["transfer_compression_gzip.warc.gz"]
    assert bodies["transfer_compression_brotli.warc.gz"] == bodies["transfer_compression_gzip.warc.gz"]


@pytest.mark.parametrize(
    "name",
    [
        "warcio/example.warc",
        "warcio/example.warc.gz",
        "warcio/example.arc",
        "warcio/example.arc.gz",
        "ukwa-webarchive-test-suite/small-arcs-and-warcs/IAH-urls-wget.warc.gz",
        "ukwa-webarchive-test-suite/small-arcs-and-warcs/IAH-20080430204825-00000-blackbook-truncated.arc",
    ],
)
def test_reading_from_any_record_offset_gives_the_rest_of_the_file(shared: Path, name: str) -> None:
    path = str(shared / "data" / "warc" / name)

    def keyed(items: list[object]) -> list[tuple[object, ...]]:
        return [(type(i).__name__, i.offset, i.next_offset, i.url) for i in items]  # type: ignore[attr-defined]

    full = list(read_warc(path))
    assert len(full) >= 2
    for index in range(1, len(full)):
        assert keyed(list(read_warc(path, start=full[index].offset))) == keyed(full[index:])
        # A checkpoint is the next record's offset: resuming there gives what follows.
        assert full[index - 1].next_offset == full[index].offset


def test_warc_dates() -> None:
    assert warc_date("2019-08-15T01:02") == datetime(2019, 8, 15, 1, 2, tzinfo=UTC)
    assert warc_date("2014-03-25T12:12:24Z") == datetime(2014, 3, 25, 12, 12, 24, tzinfo=UTC)
    assert warc_date("20080430204825") == datetime(2008, 4, 30, 20, 48, 25, tzinfo=UTC)
    assert warc_date("not a date") is None and warc_date(None) is None


# -- dumps and URL lists ----------------------------------------------------------------------------------


def _dump_rows() -> list[dict[str, str]]:
    return [
        {"link": "https://a.example/1", "headline": "One", "body": "Text one.", "date": "2018-01-02"},
        {"link": "", "headline": "Two", "body": "Text two.", "date": "", "key": "k2"},
        {"link": "https://a.example/3", "headline": "Three", "body": "", "date": "2018-01-04"},
    ]


COLUMNS = Columns.parse(["url=link", "title=headline", "text=body", "published=date", "id=key"])


def test_jsonl_dump_with_mapped_columns_and_resume(tmp_path: Path) -> None:
    path = tmp_path / "dump.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in _dump_rows()) + "\nnot json\n", encoding="utf-8")
    items = list(read_jsonl(str(path), columns=COLUMNS))
    first, second, third, fourth = items
    assert isinstance(first, TextRecord) and first.title == "One" and first.text == "Text one."
    assert first.published == datetime(2018, 1, 2, tzinfo=UTC)
    assert (
        isinstance(second, TextRecord) and second.url == "urn:newswatch:dump:k2" and second.published is None
    )
    assert isinstance(third, RecordError) and "'body'" in third.error
    assert isinstance(fourth, RecordError) and "bad JSON" in fourth.error
    assert fourth.next_offset == path.stat().st_size
    resumed = list(read_jsonl(str(path), start=second.offset, columns=COLUMNS))
    assert [(i.offset, i.url) for i in resumed] == [(i.offset, i.url) for i in items[1:]]


def test_csv_dump_resumes_by_row(tmp_path: Path) -> None:
    path = tmp_path / "dump.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["link", "headline", "body", "date", "key"])
        writer.writeheader()
        for row in _dump_rows():
            writer.writerow(
                {"key": "", **row, "body": row["body"] + ("\nsecond line" if row["body"] else "")}
            )
    items = list(read_source(str(path), columns=COLUMNS))
    assert [type(i).__name__ for i in items] == ["TextRecord", "TextRecord", "RecordError"]
    assert isinstance(items[0], TextRecord) and items[0].text == "Text one.\nsecond line"
    assert [i.offset for i in read_csv(str(path), start=1, columns=COLUMNS)] == [1, 2]


def test_column_mapping_refuses_unknown_fields() -> None:
    with pytest.raises(ValueError, match="FIELD=COLUMN"):
        Columns.parse(["body=text"])


def test_url_list(tmp_path: Path) -> None:
    path = tmp_path / "urls.txt"
    path.write_text("# a comment\nhttps://a.example/1\n\nftp://nope\nhttps://a.example/2\n", encoding="utf-8")
    items = list(read_url_list(str(path)))
    assert [(type(i).__name__, i.offset) for i in items] == [
        ("UrlRecord", 1),
        ("RecordError", 3),
        ("UrlRecord", 4),
    ]
    assert [i.url for i in read_url_list(str(path), start=2) if isinstance(i, UrlRecord)] == [
        "https://a.example/2"
    ]


# -- our own WARC files -----------------------------------------------------------------------------------


def _response(url: str, status: int, body: bytes, at: datetime, **fields: object) -> RawResponse:
    headers = (("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))))
    return RawResponse(url, status, "OK" if status == 200 else "Not Found", headers, body, at, **fields)  # type: ignore[arg-type]


def test_archiver_round_trip(tmp_path: Path) -> None:
    at = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    ok = _response("https://n.example/a?x=1", 200, b"<html>a</html>", at)
    missing = _response("https://n.example/b", 404, b"<html>gone</html>", at)
    with WarcArchiver(tmp_path / "warc") as archiver:
        archiver.write_response(ok)
        archiver.write_response(missing)
        archiver.write_response(ok)
    (path,) = archiver.paths
    items = list(read_warc(str(path)))
    pages = [i for i in items if isinstance(i, PageRecord)]
    assert [(p.url, p.body, p.fetched_at, p.status) for p in pages] == [
        ("https://n.example/a?x=1", b"<html>a</html>", at, 200)
    ] * 2
    # The 404 is kept as it came, and a backfill counts it as skipped, by status.
    assert [i.reason for i in items if isinstance(i, SkippedRecord)] == ["warcinfo", "status:404"]


def test_archiver_rotates_files(tmp_path: Path) -> None:
    at = datetime(2024, 5, 6, tzinfo=UTC)
    result = _response("https://n.example/a", 200, os.urandom(5000), at)
    with WarcArchiver(tmp_path, max_bytes=1000) as archiver:
        archiver.write_response(result)
        archiver.write_response(result)
    assert len(archiver.paths) == 2
    assert all(len([i for i in read_warc(str(p)) if isinstance(i, PageRecord)]) == 1 for p in archiver.paths)


@pytest.fixture
def server() -> Iterator[HTTPServer]:
    srv = HTTPServer(host="127.0.0.1", port=0)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def test_fetcher_writes_every_response_to_warc(server: HTTPServer, tmp_path: Path) -> None:
    """Every response the fetcher gets is in the archive as it came: the page (stored decoded, gzip on
    the wire), robots.txt, the redirect hop, the feed, the 404 page and a refused PDF (headers only,
    marked truncated); a backfill of the archive finds the one HTML page."""
    page = b"<html><p>story</p></html>"
    server.expect_request("/robots.txt").respond_with_data(
        "User-agent: *\nAllow: /\n", content_type="text/plain"
    )
    server.expect_request("/old").respond_with_data("", status=301, headers={"Location": "/story"})
    server.expect_request("/story").respond_with_data(
        gzip.compress(page),
        content_type="text/html",
        headers={"Content-Encoding": "gzip", "X-Served-By": "t"},
    )
    server.expect_request("/feed").respond_with_data("<rss/>", content_type="application/rss+xml")
    server.expect_request("/missing").respond_with_data("<html>no such page</html>", status=404)
    server.expect_request("/report.pdf").respond_with_data(
        b"%PDF-1.4" + b"x" * 200_000, content_type="application/pdf"
    )
    settings = Settings(data_dir=tmp_path, fetch_allow_networks=["127.0.0.0/8"], fetch_host_rate=1000.0)
    with WarcArchiver(settings.warc_dir) as archiver, Fetcher(settings, archiver=archiver) as fetcher:
        assert fetcher.fetch(server.url_for("/old")).ok
        results = fetcher.fetch_many(
            [
                FetchRequest(server.url_for("/feed"), kind="feed"),
                server.url_for("/missing"),
                server.url_for("/report.pdf"),
            ]
        )
        assert [r.ok for r in results] == [True, False, False]
    (path,) = list(settings.warc_dir.glob("*.warc.gz"))
    items = list(read_warc(str(path)))
    pages = [i for i in items if isinstance(i, PageRecord)]
    assert [(p.url, p.body) for p in pages] == [(server.url_for("/story"), page)]
    assert Counter(i.reason for i in items if isinstance(i, SkippedRecord)) == Counter(
        {
            "warcinfo": 1,
            "non-html:text/plain": 1,  # robots.txt
            "status:301": 1,
            "non-html:application/rss+xml": 1,
            "status:404": 1,
            "empty": 1,  # the PDF: refused, so only its headers are kept
        }
    )
    with open(path, "rb") as fh:
        records = {
            r.rec_headers.get_header("WARC-Target-URI"): (r, r.content_stream().read())
            for r in ArchiveIterator(fh)
            if r.rec_type == "response"
        }
    story, body = records[server.url_for("/story")]
    assert body == page
    assert story.http_headers.get_header("X-Served-By") == "t"
    assert story.http_headers.get_header("Content-Encoding") is None  # stored decoded
    assert story.http_headers.get_header("Content-Length") == str(len(page))
    old, _ = records[server.url_for("/old")]
    assert old.http_headers.get_statuscode() == "301"
    assert old.http_headers.get_header("Location") == "/story"
    missing, body = records[server.url_for("/missing")]
    assert (missing.http_headers.get_statuscode(), body) == ("404", b"<html>no such page</html>")
    pdf, body = records[server.url_for("/report.pdf")]
    assert (pdf.rec_headers.get_header("WARC-Truncated"), body) == ("unspecified", b"")
    assert pdf.http_headers.get_header("Content-Type") == "application/pdf"


# -- the prefilter ----------------------------------------------------------------------------------------


def test_prefilter_is_never_stricter_than_the_topic_terms(shared: Path) -> None:
    """Every article whose title and text alone (no entities) make it relevant passes the prefilter, on
    its text and on its text inside HTML; and the prefilter drops most of the control articles."""
    topics = load_topics()
    prefilter = build_prefilter(topics, "russian_interference", AliasTable.load())
    (topic,) = [t for t in topics if t.name == "russian_interference"]
    articles = shared / "data" / "articles"
    on_topic = [json.loads(line) for line in (articles / "isot_subset.jsonl").open(encoding="utf-8")]
    control = [json.loads(line) for line in (articles / "isot_subset.control.jsonl").open(encoding="utf-8")]
    relevant = [a for a in on_topic if score_topics([topic], a["title"], a["text"], ())[0].relevant]
    assert len(relevant) >= 50
    for article in relevant:
        assert prefilter.passes_text(article["title"], article["text"])
        page = f"<html><h1>{article['title']}</h1><p>{article['text']}</p></html>".encode()
        assert prefilter.passes_bytes(page)
    passed = sum(prefilter.passes_text(a["title"], a["text"]) for a in control)
    assert passed < len(control) * 0.2


def test_prefilter_needs_every_required_group() -> None:
    prefilter = build_prefilter(load_topics(), "russian_interference", AliasTable.load())
    assert not prefilter.passes_text("The Kremlin said on Tuesday that talks would resume.")
    assert not prefilter.passes_text("Hackers leaked emails from the campaign.")
    assert prefilter.passes_text("Russian hackers leaked emails from the campaign, investigators said.")
    with pytest.raises(KeyError, match="known"):
        build_prefilter(load_topics(), "no_such_topic", AliasTable.load())


def test_prefilter_literals_find_whatever_the_expressions_find(shared: Path) -> None:
    """The Aho-Corasick shortcut decides as the groups' full expressions would, on real pages."""
    import random
    import re

    from etl.nlp.literals import literal_starts
    from etl.samplepages import load_articles, page_url, render_page

    assert literal_starts("russia(?:n|ns)?") == ("russia",)
    assert literal_starts(r"russo-?phobi\w*") == ("russo",)
    assert literal_starts(r"Vladimir\ Putin") == ("Vladimir Putin",)
    assert literal_starts("(?:russian|kremlin) (?:meddling)") == ("russian", "kremlin")
    assert literal_starts("(?:a|b)? c") == ("",)
    prefilter = build_prefilter(load_topics(), "russian_interference", AliasTable.load())
    full = [
        re.compile(b"|".join(c.pattern.pattern for c in checks), re.IGNORECASE) for checks in prefilter.groups
    ]
    articles = shared / "data" / "articles"
    rng = random.Random(3)
    sample = load_articles([articles / "fakenewsnet_v1.jsonl", articles / "fakenewsnet_v1.control.jsonl"])
    decided = []
    for article in sample:
        page = render_page(article, page_url(article), rng).encode()
        expected = all(p.search(page) for p in full)
        assert prefilter.passes_bytes(page) == expected, article.ident
        decided.append(expected)
    assert 0 < sum(decided) < len(decided)
