"""The fetcher against a misbehaving web: a threaded fault server on loopback addresses (all of 127/8 is
loopback on Linux, so 127.0.0.2, 127.0.0.3 ... are distinct hosts) serving 304s, redirects, 4xx/5xx,
Retry-After, slow and endless bodies, gzip bombs, wrong content types and robots.txt rules. Each test
asserts what the fetcher recorded (status, error, not_modified, permanent_redirect, retry_after_s,
attempts) and, where it matters, what the server saw (which requests, when, how many at once)."""

from __future__ import annotations

import contextlib
import resource
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import pairwise
from pathlib import Path

import pytest

from etl.fetch import Fetcher
from etl.records import FetchRequest, FetchResult
from etl.settings import Settings

Route = Callable[[BaseHTTPRequestHandler], None]


def settings(**kw: object) -> Settings:
    base: dict[str, object] = {
        "fetch_allow_networks": ["127.0.0.0/8"],
        "fetch_retries": 2,
        "fetch_backoff_s": 0.01,
        "fetch_timeout_s": 2.0,
        "fetch_connect_timeout_s": 1.0,
        "fetch_max_bytes": 100_000,
        "feed_max_bytes": 200_000,
        "fetch_host_rate": 1000.0,
        "fetch_host_concurrency": 2,
        "fetch_concurrency": 32,
        "fetch_retry_after_max_s": 5.0,
        "obey_robots": True,
        "robots_ttl_s": 600.0,
        "max_redirects": 3,
    }
    return Settings(**{**base, **kw})  # type: ignore[arg-type]


# -- the fault server ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    path: str
    headers: dict[str, str]
    at: float  # time.monotonic() when the request arrived


class Gauge:
    """Requests in flight, and the most seen at once (shareable between servers)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def up(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def down(self) -> None:
        with self.lock:
            self.now -= 1


class FaultServer:
    """A threaded HTTP/1.0 server on one loopback address; routes are functions of the request handler."""

    def __init__(self, host: str = "127.0.0.1", gauge: Gauge | None = None) -> None:
        self.routes: dict[str, Route] = {}
        self.hits: list[Hit] = []
        self.gauge = gauge or Gauge()
        self.stop = threading.Event()
        fault = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                fault.hits.append(Hit(self.path, dict(self.headers.items()), time.monotonic()))
                fault.gauge.up()
                try:
                    route = fault.routes.get(path)
                    if route is None:
                        reply(self, 404, b"not here")
                    else:
                        route(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the fetcher hung up: that is often the point of the test
                finally:
                    fault.gauge.down()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.host = host
        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.httpd.server_port}{path}"

    def paths(self, *, robots: bool = False) -> list[str]:
        return [h.path for h in self.hits if robots or h.path != "/robots.txt"]

    def starts(self, prefix: str = "/") -> list[float]:
        return [h.at for h in self.hits if h.path.startswith(prefix) and h.path != "/robots.txt"]

    def close(self) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def reply(
    h: BaseHTTPRequestHandler,
    status: int = 200,
    body: bytes = b"",
    ctype: str | None = "text/html",
    headers: dict[str, str] | None = None,
    *,
    length: bool = True,
) -> None:
    h.send_response(status)
    if ctype:
        h.send_header("Content-Type", ctype)
    if length:
        h.send_header("Content-Length", str(len(body)))
    for name, value in (headers or {}).items():
        h.send_header(name, value)
    h.end_headers()
    h.wfile.write(body)


def fixed(status: int = 200, body: bytes = b"ok", ctype: str | None = "text/html", **headers: str) -> Route:
    hdrs = {k.replace("_", "-"): v for k, v in headers.items()}
    return lambda h: reply(h, status, body, ctype, hdrs)


def sequence(*routes: Route) -> Route:
    """Answer with each route in turn, the last one from then on."""
    calls = iter(routes)
    last = [routes[-1]]

    def route(h: BaseHTTPRequestHandler) -> None:
        last[0] = next(calls, last[0])
        last[0](h)

    return route


def slow(seconds: float, then: Route, gauge: Gauge | None = None) -> Route:
    """Wait, then answer. With a gauge, count the request as in flight only while it waits: the server's
    own gauge drops after the reply is written, by which time the client may already have sent its next
    request, so it can show one more than the fetcher ever had in flight."""

    def route(h: BaseHTTPRequestHandler) -> None:
        if gauge is not None:
            gauge.up()
        try:
            time.sleep(seconds)
        finally:
            if gauge is not None:
                gauge.down()
        then(h)

    return route


@pytest.fixture
def server() -> Iterator[FaultServer]:
    srv = FaultServer()
    yield srv
    srv.close()


@pytest.fixture
def make_server() -> Iterator[Callable[..., FaultServer]]:
    made: list[FaultServer] = []

    def make(host: str, gauge: Gauge | None = None) -> FaultServer:
        made.append(FaultServer(host, gauge))
        return made[-1]

    yield make
    for srv in made:
        srv.close()


def fetch(srv: FaultServer, path: str, s: Settings | None = None, **request: object) -> FetchResult:
    with Fetcher(s or settings()) as fetcher:
        return fetcher.fetch(FetchRequest(srv.url(path), **request))  # type: ignore[arg-type]


# -- conditional GET -----------------------------------------------------------------------------------------

STAMP = format_datetime(datetime(2024, 5, 1, 12, tzinfo=UTC), usegmt=True)
RSS = b"<?xml version='1.0'?><rss version='2.0'><channel><title>t</title></channel></rss>"


def conditional(etag: str) -> Route:
    def route(h: BaseHTTPRequestHandler) -> None:
        if h.headers.get("If-None-Match") == etag:
            reply(h, 304, b"", None, {"ETag": etag})
        elif h.headers.get("If-Modified-Since") == STAMP:
            reply(h, 304, b"", None)  # no validators on this 304: the ones sent stay good
        else:
            reply(h, 200, RSS, "application/rss+xml", {"ETag": etag, "Last-Modified": STAMP})

    return route


def test_304_with_matching_etag_or_last_modified(server: FaultServer):
    server.routes["/feed"] = conditional('"v1"')
    by_etag = fetch(server, "/feed", kind="feed", etag='"v1"')
    by_date = fetch(server, "/feed", kind="feed", last_modified=STAMP)
    for result in (by_etag, by_date):
        assert result.status == 304 and result.not_modified and result.error is None
        assert result.body == b"" and result.attempts == 1
        assert not result.ok  # 304 is not 2xx: callers look at not_modified
    assert by_etag.etag == '"v1"'
    assert by_date.last_modified == STAMP and by_date.etag is None
    assert server.hits[0].headers["If-None-Match"] == '"v1"'
    assert server.hits[1].headers["If-Modified-Since"] == STAMP


def test_changed_etag_gives_200_with_the_new_validators(server: FaultServer):
    server.routes["/feed"] = conditional('"v2"')
    result = fetch(server, "/feed", kind="feed", etag='"v1"')
    assert result.ok and result.status == 200 and not result.not_modified
    assert result.body == RSS and result.etag == '"v2"' and result.last_modified == STAMP


# -- redirects -----------------------------------------------------------------------------------------------


def moved(status: int, to: str) -> Route:
    return fixed(status, b"", None, Location=to)


@pytest.mark.parametrize(
    ("status", "permanent"), [(301, True), (308, True), (302, False), (303, False), (307, False)]
)
def test_redirects_record_only_permanent_moves(server: FaultServer, status: int, permanent: bool):
    server.routes["/old"] = moved(status, "/new")
    server.routes["/new"] = fixed(body=b"here")
    result = fetch(server, "/old")
    assert result.ok and result.body == b"here" and result.final_url == server.url("/new")
    assert result.permanent_redirect == (server.url("/new") if permanent else None)
    assert result.attempts == 1 and server.paths() == ["/old", "/new"]


def test_permanent_redirect_only_when_the_first_hop_was_permanent(server: FaultServer):
    server.routes["/a"] = moved(301, "/b")
    server.routes["/b"] = moved(302, "/final")
    server.routes["/c"] = moved(302, "/d")
    server.routes["/d"] = moved(301, "/final")
    server.routes["/final"] = fixed()
    assert fetch(server, "/a").permanent_redirect == server.url("/final")
    assert fetch(server, "/c").permanent_redirect is None


def test_redirect_loop_and_too_many_redirects(server: FaultServer):
    server.routes["/loop"] = moved(302, "/loop")
    for i in range(5):
        server.routes[f"/r{i}"] = moved(301, f"/r{i + 1}")
    server.routes["/r5"] = fixed()
    loop = fetch(server, "/loop")
    chain = fetch(server, "/r0")
    for result in (loop, chain):
        assert result.status is None and result.error == "too many redirects (max 3)"
        assert result.permanent_redirect is None
    assert server.paths().count("/loop") == 4  # the first request and three redirects followed


def test_each_redirect_hop_passes_the_ssrf_guard(server: FaultServer):
    server.routes["/meta"] = moved(302, "http://169.254.169.254/latest/meta-data/")
    result = fetch(server, "/meta")
    assert result.status is None and result.error is not None
    assert result.error.startswith("blocked: 169.254.169.254 resolves to 169.254.169.254 (link-local)")
    assert result.final_url == "http://169.254.169.254/latest/meta-data/"


# -- 4xx, 5xx and Retry-After --------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 403, 404, 410])
def test_client_errors_are_not_retried(server: FaultServer, status: int):
    server.routes["/x"] = fixed(status, b"nope")
    result = fetch(server, "/x")
    assert result.status == status and result.error == f"HTTP {status}" and result.body == b""
    assert result.attempts == 1 and server.paths() == ["/x"]


def test_500_500_then_200_is_retried_with_backoff(server: FaultServer):
    server.routes["/flaky"] = sequence(fixed(500), fixed(500), fixed(body=b"done"))
    result = fetch(server, "/flaky")
    assert result.ok and result.body == b"done" and result.attempts == 3
    assert server.paths() == ["/flaky"] * 3


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_retries_are_bounded(server: FaultServer, status: int):
    server.routes["/down"] = fixed(status)
    result = fetch(server, "/down", settings(fetch_retries=2))
    assert result.status == status and result.error == f"HTTP {status}" and result.attempts == 3
    assert len(server.paths()) == 3


def test_429_with_short_retry_after_is_waited_out(server: FaultServer):
    server.routes["/busy"] = sequence(fixed(429, Retry_After="1"), fixed(body=b"now"))
    started = time.monotonic()
    result = fetch(server, "/busy")
    assert result.ok and result.body == b"now" and result.attempts == 2 and result.retry_after_s is None
    assert time.monotonic() - started >= 0.95
    first, second = server.starts("/busy")
    # Arrival times at the server jitter a little around the client's schedule.
    assert second - first >= 0.8


def test_429_with_long_retry_after_returns_at_once(server: FaultServer):
    server.routes["/busy"] = fixed(429, Retry_After="3600")
    started = time.monotonic()
    result = fetch(server, "/busy")
    assert time.monotonic() - started < 2.0
    assert result.status == 429 and result.error == "HTTP 429" and result.retry_after_s == 3600.0
    assert result.attempts == 1 and server.paths() == ["/busy"]


def test_429_retry_after_reported_when_retries_are_spent(server: FaultServer):
    server.routes["/busy"] = fixed(429, Retry_After="0")
    result = fetch(server, "/busy", settings(fetch_retries=1))
    assert result.error == "HTTP 429" and result.retry_after_s == 0.0 and result.attempts == 2


def test_503_retry_after_seconds_then_success(server: FaultServer):
    server.routes["/maint"] = sequence(fixed(503, Retry_After="1"), fixed(body=b"back"))
    result = fetch(server, "/maint")
    assert result.ok and result.body == b"back" and result.attempts == 2
    first, second = server.starts("/maint")
    assert second - first >= 0.8  # arrival jitter around the 1 s wait


def test_503_retry_after_http_date_beyond_the_cap(server: FaultServer):
    later = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    server.routes["/maint"] = fixed(503, Retry_After=later)
    result = fetch(server, "/maint")
    assert result.status == 503 and result.error == "HTTP 503" and result.attempts == 1
    assert result.retry_after_s is not None and 3500 < result.retry_after_s <= 3600


# -- timeouts ------------------------------------------------------------------------------------------------


def test_timeouts_are_retried_then_reported(server: FaultServer):
    server.routes["/slow"] = slow(1.5, fixed())
    started = time.monotonic()
    result = fetch(server, "/slow", settings(fetch_timeout_s=0.3, fetch_retries=1))
    assert time.monotonic() - started < 1.4
    assert result.status is None and result.error is not None and result.error.startswith("timeout:")
    assert result.attempts == 2
    time.sleep(0.1)  # the threaded server records the retry as soon as it arrives
    assert server.paths() == ["/slow", "/slow"]


def test_slow_drip_ends_at_the_total_deadline(server: FaultServer):
    def drip(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Length", "50000")
        h.end_headers()
        # One byte every 50 ms: each read succeeds well within the read timeout, forever (or 10 s).
        for _ in range(200):
            if server.stop.is_set():
                return
            h.wfile.write(b"x")
            h.wfile.flush()
            time.sleep(0.05)

    server.routes["/drip"] = drip
    started = time.monotonic()
    result = fetch(server, "/drip", settings(fetch_timeout_s=0.6, fetch_retries=0))
    took = time.monotonic() - started
    assert result.status is None and result.error is not None and result.error.startswith("timeout:")
    assert 0.5 <= took < 2.0, took


# -- size caps -----------------------------------------------------------------------------------------------


def test_declared_oversize_is_refused_before_reading(server: FaultServer):
    server.routes["/big"] = fixed(body=b"x" * 150_000)
    result = fetch(server, "/big")
    assert result.status == 200 and result.body == b"" and result.attempts == 1
    assert result.error == "too large: content-length 150000 over cap 100000 bytes"


def test_undeclared_oversize_is_cut_while_streaming(server: FaultServer):
    def endless(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.end_headers()  # HTTP/1.0 with no Content-Length: the body ends when the connection closes
        for _ in range(1000):
            if server.stop.is_set():
                return
            h.wfile.write(b"y" * 10_000)

    server.routes["/endless"] = endless
    result = fetch(server, "/endless")
    assert result.status == 200 and result.body == b""
    assert result.error is not None and result.error.startswith("too large: body over cap 100000 bytes")


def test_feeds_have_their_own_cap(server: FaultServer):
    server.routes["/page"] = fixed(body=b"z" * 150_000, ctype="text/html")
    server.routes["/feed"] = fixed(body=b"z" * 150_000, ctype="application/rss+xml")
    server.routes["/huge-feed"] = fixed(body=b"z" * 250_000, ctype="application/rss+xml")
    assert fetch(server, "/page").error is not None
    assert fetch(server, "/feed", kind="feed").ok
    huge = fetch(server, "/huge-feed", kind="feed")
    assert huge.error is not None and huge.error.startswith("too large:") and "200000" in huge.error


MIB = 1 << 20


def gzip_bomb(mebibytes: int) -> tuple[bytes, bytes, Callable[[], bytes]]:
    """A gzip stream of `mebibytes` MiB of zeros, built without ever holding them: one 1 MiB deflate block
    ending in a full flush (so it does not refer back to what came before) is repeated. Returns the
    header, the repeated block and a function computing the tail (empty final block and trailer)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(bytes(MIB)) + comp.flush(zlib.Z_FULL_FLUSH)
    final = comp.flush()
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"

    def tail() -> bytes:
        crc = 0
        zeros = bytes(MIB)
        for _ in range(mebibytes):
            crc = zlib.crc32(zeros, crc)
        return final + struct.pack("<II", crc, (mebibytes * MIB) & 0xFFFFFFFF)

    return header, block, tail


def test_gzip_bomb_construction_is_a_real_gzip_stream():
    import gzip

    header, block, tail = gzip_bomb(3)
    assert gzip.decompress(header + block * 3 + tail()) == bytes(3 * MIB)
    assert len(block) < 2048  # so 1024 of them, about 1 MB on the wire, inflate to 1 GiB


def peak_rss_kib(*, reset: bool = False) -> int:
    """The process's peak RSS in KiB. With reset=True the peak is first set back to the current RSS (Linux
    /proc/self/clear_refs), so that a peak reached by an earlier test does not hide this test's."""
    status = Path("/proc/self/status")
    if not status.exists():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if reset:
        with contextlib.suppress(OSError):
            Path("/proc/self/clear_refs").write_text("5")
    line = next(line for line in status.read_text().splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1])


def test_gzip_bomb_is_cut_at_the_cap_without_inflating(server: FaultServer):
    header, block, tail = gzip_bomb(1024)
    wire = len(header) + 1024 * len(block)  # plus a tail of a few bytes

    def bomb(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/html")
        h.send_header("Content-Encoding", "gzip")
        h.end_headers()  # no Content-Length: the declared-size check cannot catch it
        h.wfile.write(header)
        for _ in range(1024):
            if server.stop.is_set():
                return
            h.wfile.write(block)
        h.wfile.write(tail())

    server.routes["/bomb"] = bomb
    assert wire < 2 * MIB  # about 1 MB on the wire ...
    before = peak_rss_kib(reset=True)
    result = fetch(server, "/bomb", settings(fetch_max_bytes=2_000_000, fetch_timeout_s=10.0))
    after = peak_rss_kib()
    assert result.status == 200 and result.body == b""  # ... 1 GiB decoded, cut at 2 MB
    assert result.error is not None and result.error.startswith("too large: body over cap 2000000 bytes")
    # Holding the 2 MB cap costs a few MiB; inflating whole network chunks (as httpx's decoders do) costs
    # over 60 MiB at a time, and inflating the lot 1 GiB.
    assert (after - before) < 40 * 1024, f"peak RSS grew by {(after - before) // 1024} MiB"


# -- content types -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "ctype", "accepted"),
    [
        ("page", "text/html; charset=utf-8", True),
        ("page", "application/xhtml+xml", True),
        ("page", None, True),
        ("page", "application/pdf", False),
        ("page", "image/jpeg", False),
        ("page", "application/rss+xml", False),
        ("feed", "application/rss+xml; charset=utf-8", True),
        ("feed", "application/atom+xml", True),
        ("feed", "application/rdf+xml", True),
        ("feed", "application/feed+json", True),
        ("feed", "text/xml", True),
        ("feed", "text/html", True),
        ("feed", None, True),
        ("feed", "image/png", False),
        ("feed", "application/octet-stream", False),
        ("sitemap", "application/xml", True),
        ("sitemap", "application/x-gzip", True),
        ("sitemap", "application/octet-stream", True),
        ("sitemap", "text/plain", True),
        ("sitemap", "video/mp4", False),
    ],
)
def test_content_types_per_kind(server: FaultServer, kind: str, ctype: str | None, accepted: bool):
    server.routes["/doc"] = fixed(body=b"<doc/>", ctype=ctype)
    result = fetch(server, "/doc", kind=kind)
    assert result.status == 200
    if accepted:
        assert result.ok and result.body == b"<doc/>", result.error
    else:
        media = (ctype or "").split(";")[0]
        assert result.error == f"content-type: {media} not accepted for {kind}" and result.body == b""


# -- robots.txt ----------------------------------------------------------------------------------------------

ROBOTS = b"User-agent: *\nDisallow: /private\n"


def test_robots_disallow_refuses_pages_without_requesting_them(server: FaultServer):
    server.routes["/robots.txt"] = fixed(body=ROBOTS, ctype="text/plain")
    server.routes["/private/a"] = fixed(body=b"secret")
    server.routes["/private/feed.xml"] = fixed(body=RSS, ctype="application/rss+xml")
    server.routes["/public"] = fixed(body=b"public")
    with Fetcher(settings()) as fetcher:
        refused = fetcher.fetch(server.url("/private/a"))
        allowed = fetcher.fetch(server.url("/public"))
        feed = fetcher.fetch(FetchRequest(server.url("/private/feed.xml"), kind="feed"))
        feed_obeying = fetcher.fetch(
            FetchRequest(server.url("/private/feed.xml"), kind="feed", obey_robots=True)
        )
        sitemap = fetcher.fetch(FetchRequest(server.url("/private/sitemap.xml"), kind="sitemap"))
        overridden = fetcher.fetch(FetchRequest(server.url("/private/a"), obey_robots=False))
    robots_url = server.url("/robots.txt")
    for result in (refused, feed_obeying, sitemap):
        assert result.status is None and result.error == f"robots: disallowed by {robots_url}"
        assert result.body == b"" and result.attempts == 0  # nothing was sent
    assert allowed.ok and feed.ok and feed.body == RSS  # feeds are not subject to robots.txt by default
    assert overridden.ok and overridden.body == b"secret"
    assert server.paths(robots=True) == [
        "/robots.txt",  # fetched once for the whole session
        "/public",
        "/private/feed.xml",
        "/private/a",  # only with obey_robots=False
    ]


def test_robots_off_in_settings(server: FaultServer):
    server.routes["/robots.txt"] = fixed(body=ROBOTS, ctype="text/plain")
    server.routes["/private/a"] = fixed(body=b"secret")
    result = fetch(server, "/private/a", settings(obey_robots=False))
    assert result.ok and server.paths(robots=True) == ["/private/a"]


def test_robots_group_for_our_product_token(server: FaultServer):
    server.routes["/robots.txt"] = fixed(
        body=b"User-agent: newswatch\nDisallow: /\n\nUser-agent: *\nAllow: /\n", ctype="text/plain"
    )
    server.routes["/a"] = fixed()
    result = fetch(server, "/a")
    assert result.error == f"robots: disallowed by {server.url('/robots.txt')}"


def test_concurrent_first_requests_share_one_robots_fetch(server: FaultServer):
    server.routes["/robots.txt"] = slow(0.2, fixed(body=ROBOTS, ctype="text/plain"))
    for i in range(6):
        server.routes[f"/p{i}"] = fixed(body=f"p{i}".encode())
    with Fetcher(settings(fetch_host_concurrency=6)) as fetcher:
        results = fetcher.fetch_many([server.url(f"/p{i}") for i in range(6)] + [server.url("/private/x")])
    assert [r.body for r in results[:6]] == [f"p{i}".encode() for i in range(6)]
    assert results[6].error is not None and results[6].error.startswith("robots:")
    assert server.paths(robots=True).count("/robots.txt") == 1


@pytest.mark.parametrize(
    ("route", "robots_requests"),
    [
        (fixed(404, b"none"), 1),  # no robots.txt: all allowed
        (fixed(403, b"no"), 1),  # any 4xx: all allowed
        (fixed(500, b"oops"), 3),  # unreachable after the retries: allowed (for a short while)
        (slow(1.0, fixed(body=ROBOTS, ctype="text/plain")), 3),  # timing out: allowed
    ],
    ids=["404", "403", "500", "timeout"],
)
def test_missing_or_unreachable_robots_allows(server: FaultServer, route: Route, robots_requests: int):
    server.routes["/robots.txt"] = route
    server.routes["/private/a"] = fixed(body=b"ok")
    with Fetcher(settings(fetch_timeout_s=0.3)) as fetcher:
        first = fetcher.fetch(server.url("/private/a"))
        second = fetcher.fetch(server.url("/private/a"))  # the outcome is cached either way
    assert first.ok and second.ok
    time.sleep(0.1)
    assert server.paths(robots=True).count("/robots.txt") == robots_requests


def test_crawl_delay_lowers_the_host_rate(server: FaultServer):
    server.routes["/robots.txt"] = fixed(body=b"User-agent: *\nCrawl-delay: 0.5\n", ctype="text/plain")
    for i in range(4):
        server.routes[f"/p{i}"] = fixed()
    with Fetcher(settings(fetch_host_rate=100.0)) as fetcher:
        results = fetcher.fetch_many([server.url(f"/p{i}") for i in range(4)])
    assert all(r.ok for r in results)
    starts = sorted(server.starts("/p"))
    gaps = [b - a for a, b in pairwise(starts)]
    assert len(gaps) == 3 and min(gaps) >= 0.35, gaps  # 0.5 s apart, give or take arrival jitter


# -- politeness: per-host rate and concurrency, the global limit ---------------------------------------------


def test_per_host_rate_spaces_requests_but_hosts_run_in_parallel(make_server: Callable[..., FaultServer]):
    one = make_server("127.0.0.1")
    for i in range(5):
        one.routes[f"/p{i}"] = fixed()
    many = [make_server(f"127.0.0.{n}") for n in range(2, 7)]
    for srv in many:
        srv.routes["/p"] = fixed()
    s = settings(fetch_host_rate=2.0, obey_robots=False)
    with Fetcher(s) as fetcher:
        started = time.monotonic()
        same_host = fetcher.fetch_many([one.url(f"/p{i}") for i in range(5)])
        same_host_s = time.monotonic() - started
        started = time.monotonic()
        five_hosts = fetcher.fetch_many([srv.url("/p") for srv in many])
        five_hosts_s = time.monotonic() - started
    assert all(r.ok for r in same_host + five_hosts)
    assert same_host_s >= 1.9, same_host_s  # starts at 0, 0.5, 1.0, 1.5, 2.0
    starts = sorted(one.starts())
    assert min(b - a for a, b in pairwise(starts)) >= 0.35  # 0.5 s apart, give or take arrival jitter
    assert five_hosts_s < 0.9, five_hosts_s


def test_request_host_rate_overrides_the_default(server: FaultServer):
    for i in range(5):
        server.routes[f"/p{i}"] = fixed()
    with Fetcher(settings(fetch_host_rate=0.5, obey_robots=False)) as fetcher:
        started = time.monotonic()
        results = fetcher.fetch_many([FetchRequest(server.url(f"/p{i}"), host_rate=50.0) for i in range(5)])
        took = time.monotonic() - started
    assert all(r.ok for r in results) and took < 1.0, took


def test_retries_wait_their_turn_at_the_host_rate(server: FaultServer):
    server.routes["/flaky"] = sequence(fixed(500), fixed(500), fixed())
    result = fetch(server, "/flaky", settings(fetch_host_rate=4.0, obey_robots=False))
    assert result.ok and result.attempts == 3
    starts = server.starts()
    assert min(b - a for a, b in pairwise(starts)) >= 0.15  # 0.25 s apart, give or take arrival jitter


def test_at_most_host_concurrency_in_flight_per_host(server: FaultServer):
    waiting = Gauge()
    for i in range(6):
        server.routes[f"/p{i}"] = slow(0.3, fixed(), waiting)
    with Fetcher(settings(fetch_host_concurrency=2, obey_robots=False)) as fetcher:
        started = time.monotonic()
        results = fetcher.fetch_many([server.url(f"/p{i}") for i in range(6)])
        took = time.monotonic() - started
    assert all(r.ok for r in results)
    assert waiting.peak == 2  # never more, and the limit is actually used
    assert took >= 0.85  # three waves of two


def test_global_limit_holds_across_hosts(make_server: Callable[..., FaultServer]):
    gauge = Gauge()
    servers = [make_server(f"127.0.0.{n}") for n in range(2, 8)]
    for srv in servers:
        srv.routes["/p"] = slow(0.3, fixed(), gauge)
    with Fetcher(settings(fetch_concurrency=2, obey_robots=False)) as fetcher:
        results = fetcher.fetch_many([srv.url("/p") for srv in servers])
    assert all(r.ok for r in results)
    assert gauge.peak == 2


def test_a_task_waiting_for_its_host_holds_no_global_slot(make_server: Callable[..., FaultServer]):
    busy = make_server("127.0.0.2")
    other = make_server("127.0.0.3")
    waiting = Gauge()
    for i in range(3):
        busy.routes[f"/p{i}"] = slow(0.6, fixed(), waiting)
    other.routes["/q"] = fixed()
    s = settings(fetch_concurrency=2, fetch_host_concurrency=1, obey_robots=False)
    with Fetcher(s) as fetcher:
        results = fetcher.fetch_many([*(busy.url(f"/p{i}") for i in range(3)), other.url("/q")])
    assert all(r.ok for r in results)
    # /q got the second global slot at once; had the queued /p1, /p2 held it, /q would wait >= 0.6 s.
    assert results[-1].elapsed_ms < 400, results[-1].elapsed_ms
    assert waiting.peak == 1
