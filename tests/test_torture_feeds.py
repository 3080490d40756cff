"""feedparser's torture corpus, served over HTTP on 127.0.0.1 with the response headers each file asks for
(its `Header:` lines), polled through our fetch and feed-reading code: nothing crashes, and every file
yields entries, a recorded error, or is a valid feed that lists no entries."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from etl.fetch import Fetcher
from etl.ingest import feed_request, read_feed
from etl.polling import FeedState
from etl.settings import Settings

_HEADER = re.compile(rb"^Header:\s*([^:\r\n]+):[ \t]*(.*?)\s*$", re.MULTILINE)


def served_headers(body: bytes) -> list[tuple[str, str]]:
    """The `Header: Name: value` lines of a corpus file's leading comment."""
    head = body[:2000]
    return [
        (name.decode("latin-1").strip(), value.decode("latin-1")) for name, value in _HEADER.findall(head)
    ]


class _CorpusHandler(BaseHTTPRequestHandler):
    root: Path

    def do_GET(self) -> None:
        path = (self.root / self.path.lstrip("/")).resolve()
        if not path.is_file() or not path.is_relative_to(self.root):
            self.send_error(404)
            return
        body = path.read_bytes()
        headers = served_headers(body)
        self.send_response(200)
        if not any(name.lower() == "content-type" for name, _ in headers):
            self.send_header("Content-Type", "application/xml")
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def corpus(shared: Path) -> Iterator[tuple[str, list[Path]]]:
    root = (shared / "data" / "feeds" / "feedparser-tests").resolve()
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "LICENSE")
    handler = type("Handler", (_CorpusHandler,), {"root": root})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_port}/"
        yield base, [p.relative_to(root) for p in files]
    finally:
        server.shutdown()
        server.server_close()


def test_every_corpus_file_is_polled_without_a_crash(corpus):
    base, files = corpus
    assert len(files) > 2000
    settings = Settings(
        fetch_allow_networks=["127.0.0.0/8"],
        fetch_host_rate=10_000,
        fetch_host_concurrency=16,
        fetch_retries=0,
    )
    states = [FeedState(feed_id=i, url=base + str(path), outlet="torture") for i, path in enumerate(files)]
    with Fetcher(settings) as fetcher:
        results = fetcher.fetch_many(feed_request(s) for s in states)
    reads = [read_feed(state, result) for state, result in zip(states, results, strict=True)]
    tally: Counter[str] = Counter()
    for path, read in zip(files, reads, strict=True):
        if read.entries:
            tally["entries"] += 1
        elif read.error:
            tally["error"] += 1
            assert read.error.strip(), path
        elif read.listed:
            tally["items_without_http_link"] += 1  # e.g. a test of an item's title, with no <link>
        else:
            tally["feed_level_only"] += 1  # a test of channel metadata: no items at all
        for entry in read.entries:
            assert entry.url.startswith(("http://", "https://")), (path, entry.url)
    print(f"\ntorture corpus: {len(files)} files, {dict(tally)}")
    assert sum(tally.values()) == len(files)
    assert tally["entries"] > 80 and tally["error"] > 0
