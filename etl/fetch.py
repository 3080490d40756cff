"""The only module that touches the network.

An async core (`AsyncFetcher`: one `httpx.AsyncClient`) with a sync façade (`Fetcher`, which runs the core
on a private event loop in a background thread), so that sync callers such as Prefect thread tasks still
get async concurrency. Every fetch is polite and defensive:

- politeness: per host (by hostname) at most `fetch_host_concurrency` requests in flight and request
  starts spaced by 1/rate (`fetch_host_rate`, or the request's `host_rate`, lowered by robots.txt
  `Crawl-delay`); at most `fetch_concurrency` in flight overall. A request waiting for its host holds no
  global slot. Retries and robots.txt fetches are requests too, so they wait their turn like any other.
- robots.txt: fetched once per origin and cached for `robots_ttl_s`; obeyed for pages and sitemaps.
- conditional GET (ETag / Last-Modified -> 304 `not_modified`), redirects followed by hand so that each hop
  passes the SSRF guard and robots.txt, retries with full-jitter backoff, Retry-After honoured up to a cap.
- size caps counted on decoded bytes while streaming (a gzip bomb is cut off, never inflated), a total
  deadline per attempt (a slow drip ends), content types checked per kind before the body is read.
- SSRF guard: hosts resolving to loopback/private/link-local/multicast/reserved addresses are refused
  unless allowed by `fetch_allow_networks`. The guard resolves the name itself just before httpx does; a
  DNS answer that changes in between (rebinding) is not caught - pin addresses upstream if that matters.

Network and HTTP trouble never raises: every fetch comes back as a `FetchResult` with `error` set.
"""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import logging
import random
import socket
import threading
import time
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Iterable, Iterator
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, TypeVar, cast

import httpx
from protego import Protego

from etl.records import FetchKind, FetchRequest, FetchResult, RawResponse
from etl.settings import Settings

if TYPE_CHECKING:
    from etl.archive import WarcArchiver

logger = logging.getLogger(__name__)

T = TypeVar("T")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_DEFAULT_PORTS = {"http": 80, "https": 443}
RETRYABLE_STATUS = frozenset({500, 502, 503, 504})
RETRY_AFTER_STATUS = frozenset({429, 503})
REDIRECT_STATUS = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECT_STATUS = frozenset({301, 308})
# An unreachable robots.txt (5xx, timeout) is taken as "allow all", but only for this long: a host that
# was down for a minute should not stay unrestricted for the whole robots TTL.
ROBOTS_UNREACHABLE_TTL_S = 600.0
# Decompressed output is produced in pieces of at most this size, so that memory stays bounded by the cap.
DECODE_PIECE = 64 * 1024
# We only advertise what we can decode piecewise with zlib (no br/zstd).
ACCEPT_ENCODING = "gzip, deflate"
ACCEPT: dict[str, str] = {
    "page": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
    "feed": "application/rss+xml,application/atom+xml,application/rdf+xml,application/feed+json,"
    "application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.1",
    "sitemap": "application/xml,text/xml;q=0.9,application/gzip;q=0.8,*/*;q=0.1",
    "robots": "text/plain,*/*;q=0.1",
}


class FetcherClosed(RuntimeError):
    """The fetcher was used after `close()`."""


# ---------------------------------------------------------------------------------------------------------
# The async core


class AsyncFetcher:
    """Fetches URLs politely on the running event loop. Use as an async context manager (or call
    `aclose()`), so that the connection pool is closed. Create and use it on one event loop."""

    def __init__(
        self, settings: Settings, *, on_response: Callable[[RawResponse], None] | None = None
    ) -> None:
        self._settings = settings
        # Called with every HTTP response received (each redirect hop, retry and robots.txt too), in a
        # worker thread: this is how the raw archive sees everything the fetcher got.
        self._on_response = on_response
        self._client = httpx.AsyncClient(
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            timeout=httpx.Timeout(
                settings.fetch_timeout_s,
                connect=settings.fetch_connect_timeout_s,
                pool=settings.fetch_timeout_s,
            ),
            # Redirects are followed here, hop by hop, so that every hop is vetted (SSRF guard, robots).
            follow_redirects=False,
            limits=httpx.Limits(
                max_connections=max(1, settings.fetch_concurrency),
                max_keepalive_connections=max(1, settings.fetch_concurrency),
            ),
        )
        self._allow = _AllowList.parse(settings.fetch_allow_networks)
        self._global = asyncio.Semaphore(max(1, settings.fetch_concurrency))
        self._hosts: dict[str, _HostGate] = {}
        self._robots: dict[str, _Robots] = {}
        self._robots_loading: dict[str, asyncio.Task[_Robots]] = {}
        # robots.txt groups are matched on the product token ("newswatch"), not the whole header: the
        # comment part of the header ("research crawler") must not select somebody else's group.
        self._robots_agent = settings.user_agent.split("/", 1)[0].split()[0] if settings.user_agent else "*"
        self._rng = random.Random()
        self._closed = False

    async def __aenter__(self) -> AsyncFetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Cancel robots.txt loads still in flight and close the connection pool."""
        if self._closed:
            return
        self._closed = True
        for task in self._robots_loading.values():
            task.cancel()
        await self._client.aclose()

    async def fetch(self, request: FetchRequest | str, *, deadline_s: float | None = None) -> FetchResult:
        """Fetch one URL (a plain string is a page); never raises for network or HTTP trouble.

        `deadline_s` bounds the whole fetch, waits for the host's turn, retries and redirects included; a
        fetch still unfinished then is cancelled and comes back as a `timeout:` error."""
        if self._closed:
            raise FetcherClosed("fetch() after aclose()")
        req = as_request(request)
        run = _Run(req, time.monotonic(), datetime.now(UTC))
        try:
            if deadline_s is None:
                return await self._fetch(req, run)
            return await asyncio.wait_for(self._fetch(req, run), deadline_s)
        except TimeoutError:
            return run.result(req.url, error=f"timeout: not done within the deadline of {deadline_s:g}s")
        except Exception as exc:
            # A bug must not sink a whole batch: it is logged with its traceback and recorded on the URL.
            logger.exception("unexpected error fetching %s", req.url)
            return run.result(req.url, error=f"internal: {type(exc).__name__}: {exc}")

    async def fetch_many(
        self, requests: Iterable[FetchRequest | str], *, deadline_s: float | None = None
    ) -> list[FetchResult]:
        """Fetch all requests concurrently (within the global and per-host limits); results come back in
        input order. `deadline_s` bounds the whole batch: what is not done by then is a `timeout:` error."""
        return list(await asyncio.gather(*(self.fetch(r, deadline_s=deadline_s) for r in requests)))

    # -- one fetch: redirects, retries ---------------------------------------------------------------------

    async def _fetch(self, req: FetchRequest, run: _Run) -> FetchResult:
        s = self._settings
        url_text = req.url
        first_hop_permanent: bool | None = None
        redirects = 0
        retries_left = max(0, s.fetch_retries)
        while True:
            url, error = _parse_url(url_text)
            if url is None:
                return run.result(url_text, error=error)
            blocked = await self._guard(url)
            if blocked:
                return run.result(url_text, error=blocked)
            rate = req.host_rate if req.host_rate is not None else s.fetch_host_rate
            if self._obeys_robots(req):
                robots = await self._robots_for(url)
                if not robots.allows(url_text, self._robots_agent):
                    return run.result(url_text, error=f"robots: disallowed by {robots.url}")
                delay = robots.crawl_delay(self._robots_agent)
                if delay:
                    rate = min(rate, 1.0 / delay) if rate > 0 else 1.0 / delay

            # Attempts at this hop: retried on timeouts, connection errors, 5xx and 429.
            while True:
                ex = await self._exchange(url, req, rate)
                run.sent += 1
                wait = self._retry_wait(ex, run.retries + 1)
                if wait is None or retries_left == 0:
                    break
                retries_left -= 1
                run.retries += 1
                if ex.retry_after_s is not None:
                    # The server asked the whole host to back off, not just this request.
                    self._gate(url.host).defer(wait)
                await asyncio.sleep(wait)

            if ex.status in REDIRECT_STATUS and ex.location is not None:
                redirects += 1
                if first_hop_permanent is None:
                    first_hop_permanent = ex.status in PERMANENT_REDIRECT_STATUS
                if redirects > s.max_redirects:
                    return run.result(url_text, error=f"too many redirects (max {s.max_redirects})")
                try:
                    url_text = str(url.join(ex.location))
                except httpx.InvalidURL as exc:
                    return run.result(url_text, error=f"invalid url: redirect to {ex.location!r}: {exc}")
                continue

            permanent = url_text if first_hop_permanent and url_text != req.url else None
            if ex.not_modified:
                return run.result(
                    url_text,
                    status=304,
                    content_type=ex.content_type,
                    etag=ex.etag or req.etag,  # a 304 may omit validators: the ones sent are still good
                    last_modified=ex.last_modified or req.last_modified,
                    not_modified=True,
                    permanent_redirect=permanent,
                )
            # retry_after_s is reported only when it was not waited out (over the cap, or retries spent).
            return run.result(
                url_text,
                status=ex.status,
                content_type=ex.content_type,
                body=ex.body,
                error=ex.error,
                etag=ex.etag,
                last_modified=ex.last_modified,
                permanent_redirect=permanent,
                retry_after_s=ex.retry_after_s if ex.error else None,
            )

    def _retry_wait(self, ex: _Exchange, attempt: int) -> float | None:
        """Seconds to wait before trying this hop again, or None when it should not be retried."""
        if ex.retry_after_s is not None and ex.status in RETRY_AFTER_STATUS:
            # Honour the server's own estimate when it is reasonable; a longer one is reported instead.
            if ex.retry_after_s > self._settings.fetch_retry_after_max_s:
                return None
            return ex.retry_after_s
        if not ex.retryable:
            return None
        # Exponential backoff with full jitter, so that retries from many tasks do not align.
        return self._rng.uniform(0.0, self._settings.fetch_backoff_s * (2 ** (attempt - 1)))

    def _obeys_robots(self, req: FetchRequest) -> bool:
        if req.kind == "robots":
            return False
        if req.obey_robots is not None:
            return req.obey_robots
        # Feeds are listed by their owners for polling, so robots.txt is not consulted for them.
        return self._settings.obey_robots and req.kind in ("page", "sitemap")

    # -- one HTTP exchange ---------------------------------------------------------------------------------

    async def _exchange(self, url: httpx.URL, req: FetchRequest, rate: float) -> _Exchange:
        """One GET, and its response handed to `on_response` (off the event loop: archive writes compress
        and touch the disk, and must not stall the other fetches)."""
        ex = await self._get(url, req, rate)
        if ex.raw is not None and self._on_response is not None:
            await asyncio.to_thread(self._on_response, ex.raw)
        return ex

    async def _get(self, url: httpx.URL, req: FetchRequest, rate: float) -> _Exchange:
        """One GET, within the host's and the global limits and under a total deadline."""
        headers = {"Accept": ACCEPT[req.kind]}
        if req.etag:
            headers["If-None-Match"] = req.etag
        if req.last_modified:
            headers["If-Modified-Since"] = req.last_modified
        deadline = self._settings.fetch_timeout_s
        async with self._turn(url.host, rate):
            sent_at = datetime.now(UTC)
            try:
                # The total deadline covers connect, headers and body: a server that drips one byte per
                # second never trips the per-read timeout, but it does trip this.
                async with (
                    asyncio.timeout(deadline),
                    self._client.stream("GET", url, headers=headers) as resp,
                ):
                    return await self._read(resp, req.kind, sent_at)
            except TimeoutError:
                return _Exchange(error=f"timeout: no complete response within {deadline:g}s", retryable=True)
            except httpx.TimeoutException as exc:
                return _Exchange(error=f"timeout: {type(exc).__name__}", retryable=True)
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                return _Exchange(error=f"invalid url: {exc}")
            except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
                return _Exchange(error=f"{type(exc).__name__}: {exc}", retryable=True)
            except httpx.HTTPError as exc:
                return _Exchange(error=f"{type(exc).__name__}: {exc}")

    async def _read(self, resp: httpx.Response, kind: FetchKind, sent_at: datetime) -> _Exchange:
        exchange = await self._read_body(resp, kind)
        # A body left unread (304, redirect, error status, refused type) is read anyway when small, so the
        # connection goes back to the pool instead of costing a new TCP+TLS handshake next time.
        leftover = await _drain(resp)
        if self._on_response is None:
            return exchange
        return replace(exchange, raw=_raw_response(resp, exchange, leftover, sent_at))

    async def _read_body(self, resp: httpx.Response, kind: FetchKind) -> _Exchange:
        status = resp.status_code
        headers = resp.headers
        ctype = headers.get("content-type", "")
        etag, last_modified = headers.get("etag"), headers.get("last-modified")
        if status in REDIRECT_STATUS and headers.get("location"):
            return _Exchange(status=status, content_type=ctype, location=headers["location"])
        if status == 304:
            return _Exchange(
                status=304, content_type=ctype, etag=etag, last_modified=last_modified, not_modified=True
            )
        if not 200 <= status < 300:
            retry_after = (
                _parse_retry_after(headers.get("retry-after")) if status in RETRY_AFTER_STATUS else None
            )
            return _Exchange(
                status=status,
                content_type=ctype,
                error=f"HTTP {status}",
                retry_after_s=retry_after,
                # A 429 without Retry-After is retried with backoff like a 503.
                retryable=status in RETRYABLE_STATUS or status == 429,
            )

        def refused(error: str) -> _Exchange:
            return _Exchange(status=status, content_type=ctype, error=error)

        media = ctype.split(";", 1)[0].strip().lower()
        if not _accepts(kind, media):
            return refused(f"content-type: {media} not accepted for {kind}")
        cap = self._settings.fetch_max_bytes if kind == "page" else self._settings.feed_max_bytes
        declared = _declared_length(resp)
        if declared is not None and declared > cap:
            return refused(f"too large: content-length {declared} over cap {cap} bytes")
        try:
            decoder = _Decoder.for_encoding(headers.get("content-encoding", ""))
        except ValueError as exc:
            return refused(f"content-encoding: {exc}")
        body = _CappedBody(cap)
        try:
            # aclosing: leaving the loop early (over the cap) closes the stream's generator there and then.
            async with aclosing(cast(AsyncGenerator[bytes, None], resp.aiter_raw())) as raw_chunks:
                async for raw in raw_chunks:
                    if not body.take(decoder.feed(raw)):
                        return refused(f"too large: body over cap {cap} bytes (after decompression)")
            if not body.take(decoder.flush()):
                return refused(f"too large: body over cap {cap} bytes (after decompression)")
        except zlib.error as exc:
            return refused(f"decode: {exc}")
        return _Exchange(
            status=status, content_type=ctype, body=body.bytes(), etag=etag, last_modified=last_modified
        )

    # -- politeness ----------------------------------------------------------------------------------------

    def _gate(self, host: str) -> _HostGate:
        gate = self._hosts.get(host)
        if gate is None:
            gate = self._hosts[host] = _HostGate(max(1, self._settings.fetch_host_concurrency))
        return gate

    @asynccontextmanager
    async def _turn(self, host: str, rate: float) -> AsyncIterator[None]:
        """Hold one of the host's slots and one global slot, starting no sooner than the host's rate allows.

        The global slot is taken only once the host's turn has come, so tasks queued behind a slow or
        rate-limited host never keep other hosts waiting. After taking it the turn is checked again, since
        another task of the same host may have started meanwhile."""
        gate = self._gate(host)
        loop = asyncio.get_running_loop()
        async with gate.slots:
            while True:
                wait = gate.next_start - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                    continue
                await self._global.acquire()
                if gate.next_start > loop.time():
                    self._global.release()
                    continue
                break
            gate.next_start = loop.time() + (1.0 / rate if rate > 0 else 0.0)
            try:
                yield
            finally:
                self._global.release()

    # -- robots.txt ----------------------------------------------------------------------------------------

    async def _robots_for(self, url: httpx.URL) -> _Robots:
        """The robots.txt rules for the URL's origin, fetched once and shared by concurrent callers."""
        # The default port is left out, so that "https://h:443/..." and "https://h/..." share one robots.txt.
        port = None if url.port == _DEFAULT_PORTS.get(url.scheme) else url.port
        robots_url = str(httpx.URL(scheme=url.scheme, host=url.host, port=port, path="/robots.txt"))
        loop = asyncio.get_running_loop()
        cached = self._robots.get(robots_url)
        if cached is not None and cached.expires > loop.time():
            return cached
        task = self._robots_loading.get(robots_url)
        if task is None:
            task = loop.create_task(self._load_robots(robots_url))
            self._robots_loading[robots_url] = task
            task.add_done_callback(self._robots_loaded)
        # Shielded: one waiter being cancelled must not cancel the load the others are waiting for.
        return await asyncio.shield(task)

    def _robots_loaded(self, task: asyncio.Task[_Robots]) -> None:
        for key, loading in list(self._robots_loading.items()):
            if loading is task:
                del self._robots_loading[key]

    async def _load_robots(self, robots_url: str) -> _Robots:
        result = await self.fetch(FetchRequest(robots_url, kind="robots", obey_robots=False))
        now = asyncio.get_running_loop().time()
        ttl = self._settings.robots_ttl_s
        parser: Protego | None = None
        if result.ok:
            try:
                parser = Protego.parse(result.body.decode("utf-8", errors="replace"))
            except Exception:
                logger.warning("unparseable %s; allowing all", robots_url, exc_info=True)
        elif result.status is not None and 400 <= result.status < 500 and result.status != 429:
            pass  # no robots.txt (404, 410, 403 ...): everything is allowed, as in RFC 9309
        else:
            # Unreachable (5xx, 429, timeout, refused): RFC 9309 says assume disallow, Google crawls on
            # after a while. We allow, so one flaky origin doesn't stall ingestion, but only for a short TTL.
            logger.warning("robots.txt unreachable (%s): allowing all for now", result.error or result.status)
            ttl = min(ttl, ROBOTS_UNREACHABLE_TTL_S)
        robots = _Robots(url=robots_url, parser=parser, expires=now + ttl)
        self._robots[robots_url] = robots
        return robots

    # -- SSRF guard ----------------------------------------------------------------------------------------

    async def _guard(self, url: httpx.URL) -> str | None:
        """Why this URL must not be fetched (its host is internal and not allowed), or None."""
        host = url.host
        if host in self._allow.hosts:
            return None
        try:
            addresses: set[IPAddress] = {ipaddress.ip_address(host)}
        except ValueError:
            port = url.port or _DEFAULT_PORTS[url.scheme]
            try:
                async with asyncio.timeout(self._settings.fetch_connect_timeout_s):
                    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except TimeoutError:
                return f"dns: cannot resolve {host}: timed out"
            except OSError as exc:
                return f"dns: cannot resolve {host}: {exc}"
            addresses = {ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos}
        for address in sorted(addresses, key=str):
            category = _internal_category(address)
            if category and not self._allow.covers(address):
                return (
                    f"blocked: {host} resolves to {address} ({category}); "
                    "allow it with NEWSWATCH_FETCH_ALLOW_NETWORKS"
                )
        return None


# ---------------------------------------------------------------------------------------------------------
# The sync façade


class Fetcher:
    """Fetches URLs politely from sync code: the async core runs on a private event loop in a background
    thread, so `fetch_many` gets async concurrency and several threads may share one Fetcher (and so its
    politeness limits). Use as a context manager so that the loop and the connection pool are closed."""

    def __init__(self, settings: Settings, *, archiver: WarcArchiver | None = None) -> None:
        self._settings = settings
        # Every response received is also written to WARC files (the store of record) when an archiver is
        # given: redirect hops, error pages and robots.txt included, as a crawler's archive has them.
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="fetcher-loop", daemon=True)
        self._thread.start()
        self._lock = threading.Lock()
        self._closed = False
        self._core: AsyncFetcher = self._call(
            _make_core(settings, archiver.write_response if archiver is not None else None)
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def settings(self) -> Settings:
        """The settings this fetcher was built with."""
        return self._settings

    def fetch(self, request: FetchRequest | str) -> FetchResult:
        """Fetch one URL (a plain string is a page); never raises for network or HTTP trouble."""
        return self._call(self._core.fetch(request))

    def fetch_many(
        self, requests: Iterable[FetchRequest | str], *, deadline_s: float | None = None
    ) -> list[FetchResult]:
        """Fetch all requests concurrently (within the global and per-host limits); results come back in
        input order. `deadline_s` bounds the whole batch: what is not done by then is a `timeout:` error
        (this is what bounds a batch run in a worker thread, which nothing else can interrupt)."""
        return self._call(self._core.fetch_many(list(requests), deadline_s=deadline_s))

    def close(self) -> None:
        """Close the connection pool and stop the loop thread. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            asyncio.run_coroutine_threadsafe(_shutdown(self._core), self._loop).result()
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._closed:
            coro.close()
            raise FetcherClosed("Fetcher used after close()")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()


async def _shutdown(core: AsyncFetcher) -> None:
    # Fetches still running (another thread closed the fetcher under them) are cancelled, so that no
    # caller waits forever on a loop that is about to stop.
    current = asyncio.current_task()
    others = [task for task in asyncio.all_tasks() if task is not current]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)
    await core.aclose()


async def _make_core(settings: Settings, on_response: Callable[[RawResponse], None] | None) -> AsyncFetcher:
    # Built on the loop's own thread, so everything it owns belongs to that loop.
    return AsyncFetcher(settings, on_response=on_response)


def as_request(request: FetchRequest | str) -> FetchRequest:
    """A plain URL string means a page fetch with no validators."""
    return FetchRequest(request) if isinstance(request, str) else request


# ---------------------------------------------------------------------------------------------------------
# Internals


@dataclass
class _Run:
    """Bookkeeping for one fetch across its hops and attempts (mutable, private to one fetch)."""

    request: FetchRequest
    started: float
    fetched_at: datetime
    sent: int = 0
    retries: int = 0

    def result(self, final_url: str, **fields: Any) -> FetchResult:
        return FetchResult(
            url=self.request.url,
            final_url=final_url,
            status=fields.pop("status", None),
            content_type=fields.pop("content_type", ""),
            body=fields.pop("body", b""),
            fetched_at=self.fetched_at,
            elapsed_ms=int((time.monotonic() - self.started) * 1000),
            # One plus the retries made (redirect hops are not attempts); 0 when nothing was sent
            # (invalid URL, blocked, disallowed by robots.txt).
            attempts=self.retries + 1 if self.sent else 0,
            **fields,
        )


@dataclass(frozen=True)
class _Exchange:
    """What one GET came back with (a response, or the reason there was none)."""

    status: int | None = None
    content_type: str = ""
    body: bytes = b""
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    location: str | None = None
    retry_after_s: float | None = None
    retryable: bool = False
    raw: RawResponse | None = None  # the response for the archive, when the fetcher keeps one


class _CappedBody:
    """Collects decoded pieces until they would pass the cap."""

    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._size = 0
        self._chunks: list[bytes] = []

    def take(self, pieces: Iterable[bytes]) -> bool:
        """Keep the pieces; False (and stop pulling pieces) as soon as the total goes over the cap."""
        for piece in pieces:
            self._size += len(piece)
            if self._size > self._cap:
                self._chunks.clear()
                return False
            self._chunks.append(piece)
        return True

    def bytes(self) -> bytes:
        return b"".join(self._chunks)


class _HostGate:
    """One host's politeness state: in-flight slots and the earliest time the next request may start."""

    def __init__(self, concurrency: int) -> None:
        self.slots = asyncio.Semaphore(concurrency)
        self.next_start = 0.0

    def defer(self, seconds: float) -> None:
        """Start nothing on this host for `seconds` from now (a Retry-After applies to the whole host)."""
        self.next_start = max(self.next_start, asyncio.get_running_loop().time() + seconds)


@dataclass(frozen=True)
class _Robots:
    """Parsed robots.txt for one origin; no parser means everything is allowed."""

    url: str
    parser: Protego | None
    expires: float

    def allows(self, url: str, agent: str) -> bool:
        return self.parser is None or self.parser.can_fetch(url, agent)

    def crawl_delay(self, agent: str) -> float | None:
        delay = self.parser.crawl_delay(agent) if self.parser is not None else None
        return delay if delay and delay > 0 else None


@dataclass(frozen=True)
class _AllowList:
    """`fetch_allow_networks` parsed: CIDR entries become networks, anything else is a host name."""

    networks: tuple[IPNetwork, ...]
    hosts: frozenset[str]

    @classmethod
    def parse(cls, entries: Iterable[str]) -> _AllowList:
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for entry in (e.strip() for e in entries):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                hosts.add(entry.lower().rstrip("."))
        return cls(tuple(networks), frozenset(hosts))

    def covers(self, address: IPAddress) -> bool:
        return any(address in network for network in self.networks)


def _internal_category(address: IPAddress) -> str | None:
    """Why an address is not on the public internet, or None when it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # ::ffff:127.0.0.1 reaches 127.0.0.1.
        return _internal_category(address.ipv4_mapped)
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        # e.g. 100.64.0.0/10 (carrier-grade NAT) is neither private nor global.
        ("non-global", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def _parse_url(text: str) -> tuple[httpx.URL | None, str | None]:
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        return None, f"invalid url: {exc}"
    if url.scheme not in ("http", "https"):
        return None, f"invalid url: scheme {url.scheme or '(none)'!r} not fetched: {text}"
    if not url.host:
        return None, f"invalid url: no host: {text}"
    return url, None


def _parse_retry_after(value: str | None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    return seconds if seconds >= 0 else None


_FEED_SUBTYPE_HINTS = ("xml", "rss", "atom", "rdf", "json")


def _accepts(kind: FetchKind, media: str) -> bool:
    """Whether a response's media type (lowercase, no parameters) is acceptable for this kind."""
    if not media or kind == "robots":
        return True
    main, _, sub = media.partition("/")
    if kind == "page":
        return media in ("text/html", "application/xhtml+xml")
    if kind == "feed":
        return main == "text" or any(hint in sub for hint in _FEED_SUBTYPE_HINTS)
    # sitemap: XML, plain text, or gzip (served under a few names)
    return (
        main == "text"
        or "xml" in sub
        or media in ("application/gzip", "application/x-gzip", "application/octet-stream")
    )


# Bodies we did not want are still read when they are this small, so the connection can be reused.
_DRAIN_MAX_BYTES = 64 * 1024


def _declared_length(resp: httpx.Response) -> int | None:
    """The Content-Length the server declared, or None when it declared none (or nonsense)."""
    declared = resp.headers.get("content-length", "").strip()
    return int(declared) if declared.isdigit() else None


async def _drain(resp: httpx.Response) -> bytes | None:
    """The unread body (still content-encoded) when it is small enough to be worth reading; else None."""
    declared = _declared_length(resp)
    if resp.is_stream_consumed or declared is None or declared > _DRAIN_MAX_BYTES:
        return None  # unknown or large: closing the connection is cheaper than reading it
    chunks: list[bytes] = []
    try:
        async for chunk in resp.aiter_raw():
            chunks.append(chunk)
    except (httpx.HTTPError, RuntimeError):
        return None
    return b"".join(chunks)


# Headers that describe the body on the wire; the archive stores it decoded, with its own length.
_WIRE_HEADERS = frozenset({b"content-encoding", b"transfer-encoding", b"content-length"})


def _raw_response(
    resp: httpx.Response, exchange: _Exchange, leftover: bytes | None, sent_at: datetime
) -> RawResponse:
    """The response as the archive keeps it: the accepted body, or a small unwanted one (an error page, a
    redirect's note), decoded; a body not read is marked truncated rather than silently left out."""
    status = resp.status_code
    truncated: str | None = None
    if exchange.error is None and 200 <= status < 300:
        body = exchange.body
    elif leftover is not None:
        decoded = _decoded(leftover, resp.headers.get("content-encoding", ""))
        body, truncated = (decoded, None) if decoded is not None else (b"", "unspecified")
    else:
        body = b""
        has_body = "transfer-encoding" in resp.headers or (_declared_length(resp) or 0) > 0
        if (exchange.error or "").startswith("too large"):
            truncated = "length"
        elif has_body and status not in (204, 304):
            truncated = "unspecified"
    headers = [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, value in resp.headers.raw
        if name.lower() not in _WIRE_HEADERS
    ]
    headers.append(("Content-Length", str(len(body))))
    try:
        reason = resp.reason_phrase or HTTPStatus(status).phrase
    except ValueError:
        reason = ""
    return RawResponse(str(resp.url), status, reason, tuple(headers), body, sent_at, truncated)


def _decoded(raw: bytes, coding: str) -> bytes | None:
    """A small body with its Content-Encoding undone (None when it cannot be), capped like any body."""
    capped = _CappedBody(_DRAIN_MAX_BYTES * 64)
    try:
        decoder = _Decoder.for_encoding(coding)
        if capped.take(decoder.feed(raw)) and capped.take(decoder.flush()):
            return capped.bytes()
    except (ValueError, zlib.error):
        pass
    return None


class _Decoder:
    """Undoes Content-Encoding piece by piece, never producing more than DECODE_PIECE bytes at once, so
    that a body inflating a thousandfold is stopped at the cap rather than expanded in memory first.
    (httpx's own decoders inflate a whole network chunk at once: up to ~64 MB for a 64 KB chunk.)"""

    def __init__(self, codings: list[str]) -> None:
        # Codings are listed in the order they were applied; undo them last-first.
        self._stages = [_ZlibStage(coding) for coding in reversed(codings)]

    @classmethod
    def for_encoding(cls, header: str) -> _Decoder:
        codings = [c.strip().lower() for c in header.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        for coding in codings:
            if coding not in ("gzip", "x-gzip", "deflate"):
                raise ValueError(f"{coding} not supported")
        return cls(codings)

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._through(iter((data,)), 0)

    def flush(self) -> Iterator[bytes]:
        for index, stage in enumerate(self._stages):
            yield from self._through(stage.flush(), index + 1)

    def _through(self, pieces: Iterator[bytes], start: int) -> Iterator[bytes]:
        for stage in self._stages[start:]:
            pieces = stage.feed_all(pieces)
        return pieces


class _ZlibStage:
    """Undoes one gzip or deflate coding, DECODE_PIECE bytes of output at a time."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        # 32 + MAX_WBITS: accept a gzip or a zlib header; "deflate" sent as raw deflate is tried on failure.
        self._wbits = zlib.MAX_WBITS | 32
        self._obj = zlib.decompressobj(self._wbits)
        self._started = False
        self._done = False

    def feed_all(self, pieces: Iterator[bytes]) -> Iterator[bytes]:
        for piece in pieces:
            yield from self.feed(piece)

    def feed(self, data: bytes) -> Iterator[bytes]:
        drain = False
        while (data or drain) and not self._done:
            if self._obj.eof:
                # A gzip body may hold several members; other bytes after the end are ignored, as httpx does.
                if not data.startswith(b"\x1f\x8b"):
                    self._done = True
                    return
                self._obj = zlib.decompressobj(self._wbits)
            out = self._decompress(data)
            if out:
                yield out
            data = self._obj.unused_data if self._obj.eof else self._obj.unconsumed_tail
            # Output can still be pending inside zlib when all input was consumed: ask again while full.
            drain = len(out) == DECODE_PIECE and not self._obj.eof

    def flush(self) -> Iterator[bytes]:
        # feed() always drains its input, so only a truncated stream's last bytes can be left here.
        tail = b"" if self._done or self._obj.eof else self._obj.flush()
        if tail:
            yield tail

    def _decompress(self, data: bytes) -> bytes:
        try:
            out = self._obj.decompress(data, DECODE_PIECE)
        except zlib.error:
            if self._coding != "deflate" or self._started:
                raise
            self._wbits = -zlib.MAX_WBITS
            self._obj = zlib.decompressobj(self._wbits)
            out = self._obj.decompress(data, DECODE_PIECE)
        self._started = True
        return out
