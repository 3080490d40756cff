"""The fetcher's everyday behaviour: the sync and async API, headers, decoding, validators, the SSRF guard and
URL checks. Failure modes (retries, Retry-After, caps, robots, politeness) are in test_fetch_faults.py."""

from __future__ import annotations

import asyncio
import gzip
import threading
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from etl.fetch import AsyncFetcher, Fetcher, FetcherClosed, _parse_retry_after
from etl.records import FetchRequest
from etl.settings import Settings

LOOPBACK = ["127.0.0.0/8"]


def settings(**kw: object) -> Settings:
    base: dict[str, object] = {
        "fetch_allow_networks": LOOPBACK,
        "fetch_retries": 1,
        "fetch_backoff_s": 0.01,
        "fetch_timeout_s": 2.0,
        "fetch_connect_timeout_s": 0.5,
        "fetch_max_bytes": 10_000,
        "feed_max_bytes": 20_000,
        "fetch_host_rate": 1000.0,
        "obey_robots": False,
    }
    return Settings(**{**base, **kw})  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def _server() -> Iterator[HTTPServer]:
    # pytest-httpserver on 127.0.0.1 itself (its default, "localhost", may also resolve to ::1); one per
    # module, because stopping one takes half a second.
    srv = HTTPServer(host="127.0.0.1", port=0)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def server(_server: HTTPServer) -> Iterator[HTTPServer]:
    _server.clear()
    yield _server
    _server.clear()


def paths(srv: HTTPServer) -> list[str]:
    return [request.path for request, _ in srv.log]


# -- the API -------------------------------------------------------------------------------------------------


def test_ok_body_status_headers_sent(server: HTTPServer):
    server.expect_request("/a").respond_with_data("<html>hi</html>", content_type="text/html; charset=utf-8")
    with Fetcher(settings(user_agent="nw-test/1")) as fetcher:
        result = fetcher.fetch(server.url_for("/a"))
    assert result.ok and result.status == 200 and result.error is None
    assert result.body == b"<html>hi</html>" and result.content_type == "text/html; charset=utf-8"
    assert result.url == result.final_url == server.url_for("/a")
    assert result.attempts == 1 and result.not_modified is False and result.permanent_redirect is None
    assert result.elapsed_ms >= 0 and result.fetched_at.tzinfo is not None
    (request, _), *_ = server.log
    assert request.headers["User-Agent"] == "nw-test/1"
    assert request.headers["Accept-Encoding"] == "gzip, deflate"
    assert request.headers["Accept"].startswith("text/html")
    assert "If-None-Match" not in request.headers and "If-Modified-Since" not in request.headers


def test_string_means_page_and_fetch_many_keeps_input_order(server: HTTPServer):
    for i in range(6):
        server.expect_request(f"/p{i}").respond_with_data(f"p{i}", content_type="text/html")
    server.expect_request("/feed").respond_with_data("<rss/>", content_type="application/rss+xml")
    urls: list[FetchRequest | str] = [server.url_for(f"/p{i}") for i in range(6)]
    urls.insert(3, FetchRequest(server.url_for("/feed"), kind="feed"))
    urls.append(server.url_for("/feed"))  # a string is a page, and a page must be HTML
    with Fetcher(settings()) as fetcher:
        results = fetcher.fetch_many(urls)
        assert fetcher.fetch_many([]) == []
    bodies = [r.body.decode() for r in results]
    assert bodies == ["p0", "p1", "p2", "<rss/>", "p3", "p4", "p5", ""]
    assert results[-1].error == "content-type: application/rss+xml not accepted for page"


def test_conditional_request_sends_validators_and_returns_new_ones(server: HTTPServer):
    stamp = format_datetime(datetime(2024, 5, 1, tzinfo=UTC), usegmt=True)
    server.expect_request(
        "/f", headers={"If-None-Match": '"v1"', "If-Modified-Since": stamp}
    ).respond_with_data(
        "<rss/>", content_type="application/rss+xml", headers={"ETag": '"v2"', "Last-Modified": "later"}
    )
    with Fetcher(settings()) as fetcher:
        result = fetcher.fetch(
            FetchRequest(server.url_for("/f"), kind="feed", etag='"v1"', last_modified=stamp)
        )
    assert result.ok and result.body == b"<rss/>"
    assert result.etag == '"v2"' and result.last_modified == "later"
    assert server.log[0][0].headers["Accept"].startswith("application/rss+xml")


def test_async_fetcher_for_async_callers(server: HTTPServer):
    server.expect_request("/x").respond_with_data("x", content_type="text/html")
    server.expect_request("/y").respond_with_data("y", content_type="text/html")

    async def main() -> list[bytes]:
        async with AsyncFetcher(settings()) as fetcher:
            one = await fetcher.fetch(server.url_for("/x"))
            many = await fetcher.fetch_many([server.url_for("/y"), FetchRequest(server.url_for("/x"))])
        return [one.body, *(r.body for r in many)]

    assert asyncio.run(main()) == [b"x", b"y", b"x"]


def test_one_fetcher_shared_by_threads(server: HTTPServer):
    for i in range(8):
        server.expect_request(f"/t{i}").respond_with_data(f"t{i}", content_type="text/html")
    out: dict[int, list[bytes]] = {}
    with Fetcher(settings()) as fetcher:

        def work(n: int) -> None:
            out[n] = [r.body for r in fetcher.fetch_many(server.url_for(f"/t{i}") for i in range(n, n + 4))]

        threads = [threading.Thread(target=work, args=(n,)) for n in range(0, 8, 4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=10)
    assert out == {0: [b"t0", b"t1", b"t2", b"t3"], 4: [b"t4", b"t5", b"t6", b"t7"]}


def test_close_is_idempotent_and_use_after_close_raises():
    fetcher = Fetcher(settings())
    fetcher.close()
    fetcher.close()
    with pytest.raises(FetcherClosed):
        fetcher.fetch("http://127.0.0.1:9/")


# -- decoding ------------------------------------------------------------------------------------------------

HTML = b"<html><body>" + b"news " * 200 + b"</body></html>"


@pytest.mark.parametrize(
    ("encoding", "encoded"),
    [
        ("gzip", gzip.compress(HTML)),
        ("gzip", gzip.compress(HTML[:100]) + gzip.compress(HTML[100:])),  # two gzip members
        ("deflate", zlib.compress(HTML)),  # zlib-wrapped, as the RFC says
        ("deflate", zlib.compress(HTML, wbits=-15)),  # raw deflate, as some servers send it
        ("identity", HTML),
    ],
    ids=["gzip", "gzip-multi-member", "deflate-zlib", "deflate-raw", "identity"],
)
def test_content_encoding_is_decoded_but_charset_is_not(server: HTTPServer, encoding: str, encoded: bytes):
    server.expect_request("/z").respond_with_data(
        encoded, content_type="text/html; charset=latin-1", headers={"Content-Encoding": encoding}
    )
    with Fetcher(settings()) as fetcher:
        result = fetcher.fetch(server.url_for("/z"))
    assert result.ok, result.error
    assert result.body == HTML


def test_undecodable_encodings_are_errors(server: HTTPServer):
    server.expect_request("/br").respond_with_data(
        b"\x0b\x02\x80hi\x03", content_type="text/html", headers={"Content-Encoding": "br"}
    )
    server.expect_request("/bad").respond_with_data(
        b"not gzip at all", content_type="text/html", headers={"Content-Encoding": "gzip"}
    )
    with Fetcher(settings()) as fetcher:
        br = fetcher.fetch(server.url_for("/br"))
        bad = fetcher.fetch(server.url_for("/bad"))
    assert br.error == "content-encoding: br not supported" and br.body == b""
    assert bad.error is not None and bad.error.startswith("decode:") and bad.body == b""


# -- the SSRF guard and URL checks ---------------------------------------------------------------------------


def test_loopback_is_blocked_by_default_before_any_request(server: HTTPServer):
    server.expect_request("/a").respond_with_data("secret", content_type="text/html")
    url = server.url_for("/a")
    with Fetcher(settings(fetch_allow_networks=[])) as fetcher:
        result = fetcher.fetch(url)
    assert result.status is None and result.body == b"" and not result.ok and result.attempts == 0
    assert result.error == (
        "blocked: 127.0.0.1 resolves to 127.0.0.1 (loopback); allow it with NEWSWATCH_FETCH_ALLOW_NETWORKS"
    )
    assert server.log == []


@pytest.mark.parametrize(
    ("allow", "host", "fetched"),
    [
        (["127.0.0.0/8"], "127.0.0.1", True),
        (["127.0.0.1"], "127.0.0.1", True),  # a bare address is a /32 network
        (["10.0.0.0/8", "192.168.0.0/16"], "127.0.0.1", False),
        (["localhost"], "localhost", True),  # a host name entry allows that name, whatever it resolves to
        (["localhost"], "127.0.0.1", False),
        (["127.0.0.0/8"], "localhost", True),  # localhost resolves to 127.0.0.1 (and maybe ::1)
    ],
)
def test_allow_list_by_network_or_host_name(server: HTTPServer, allow: list[str], host: str, fetched: bool):
    if host == "localhost" and allow == LOOPBACK:
        allow = [*allow, "::1/128"]  # where localhost also resolves to ::1, every address must be allowed
    server.expect_request("/a").respond_with_data("hi", content_type="text/html")
    with Fetcher(settings(fetch_allow_networks=allow)) as fetcher:
        result = fetcher.fetch(f"http://{host}:{server.port}/a")
    assert result.ok is fetched, result.error
    if not fetched:
        assert result.error is not None and result.error.startswith(f"blocked: {host} resolves to 127.0.0.1")
        assert server.log == []


@pytest.mark.parametrize(
    ("url", "category"),
    [
        ("http://169.254.169.254/latest/meta-data/", "link-local"),  # cloud metadata
        ("http://10.1.2.3/", "private"),
        ("http://192.168.0.1:8080/", "private"),
        ("http://100.64.0.1/", "non-global"),  # carrier-grade NAT
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),  # IPv4-mapped IPv6
        ("http://[fd00::1]/", "private"),
    ],
)
def test_internal_addresses_are_blocked_even_with_loopback_allowed(url: str, category: str):
    # A short connect timeout: if the guard failed, the test fails fast instead of hanging on a connect.
    with Fetcher(settings(fetch_retries=0, fetch_connect_timeout_s=0.2, fetch_timeout_s=0.3)) as fetcher:
        result = fetcher.fetch(url)
    assert result.status is None and result.error is not None
    assert result.error.startswith("blocked: ") and f"({category})" in result.error, result.error


@pytest.mark.parametrize(
    "url",
    ["ftp://example.org/file", "file:///etc/passwd", "javascript:alert(1)", "not a url", "http:///nohost"],
)
def test_non_http_urls_are_invalid(url: str):
    with Fetcher(settings()) as fetcher:
        result = fetcher.fetch(url)
    assert result.status is None and result.error is not None and result.error.startswith("invalid url:")


def test_connection_refused_is_an_error_result_after_retries():
    import socket

    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with Fetcher(settings(fetch_retries=2)) as fetcher:
        result = fetcher.fetch(f"http://127.0.0.1:{port}/nothing")
    assert result.status is None and result.error is not None and result.error.startswith("ConnectError")
    assert result.attempts == 3


# -- helpers -------------------------------------------------------------------------------------------------


def test_retry_after_parsing():
    soon = datetime.now(UTC) + timedelta(seconds=120)
    assert _parse_retry_after("3600") == 3600.0
    assert _parse_retry_after(" 0 ") == 0.0
    parsed = _parse_retry_after(format_datetime(soon, usegmt=True))
    assert parsed is not None and 100 < parsed <= 120
    assert _parse_retry_after(format_datetime(datetime(2000, 1, 1, tzinfo=UTC), usegmt=True)) == 0.0
    assert _parse_retry_after("soon") is None and _parse_retry_after("-5") is None
    assert _parse_retry_after(None) is None


def test_handler_sees_what_was_requested(server: HTTPServer):
    # A sanity check on the fixture: the server really serves on 127.0.0.1 and records requests.
    def echo(request: Request) -> Response:
        return Response(request.path, content_type="text/html")

    server.expect_request("/echo").respond_with_handler(echo)
    with Fetcher(settings()) as fetcher:
        assert fetcher.fetch(server.url_for("/echo")).body == b"/echo"
    assert paths(server) == ["/echo"] and server.url_for("/").startswith("http://127.0.0.1:")
