"""The only module that touches the network: one httpx client with timeouts, a size cap, a user agent,
bounded redirects, retries on timeouts and 5xx, and per-host politeness when fetching many URLs."""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx

from etl.records import FetchResult
from etl.settings import Settings

RETRYABLE_STATUS = frozenset({500, 502, 503, 504})


class BodyTooLarge(Exception):
    """The response body went past the configured size cap."""


class Fetcher:
    """Fetches URLs politely. Use as a context manager so the connection pool is closed."""

    def __init__(self, settings: Settings, *, max_per_host: int = 2) -> None:
        self._settings = settings
        self._client = httpx.Client(
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(settings.fetch_timeout_s, connect=settings.fetch_connect_timeout_s),
            follow_redirects=True,
            max_redirects=settings.max_redirects,
        )
        self._host_slots: defaultdict[str, threading.Semaphore] = defaultdict(
            lambda: threading.Semaphore(max_per_host)
        )
        self._host_last: dict[str, float] = {}
        self._host_lock = threading.Lock()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def fetch(self, url: str) -> FetchResult:
        """Fetch one URL; never raises for network or HTTP trouble, the result carries the error."""
        started = time.monotonic()
        fetched_at = datetime.now(UTC)
        attempts = self._settings.fetch_retries + 1
        last: FetchResult | None = None
        for attempt in range(attempts):
            if attempt:
                # Exponential backoff with jitter so that retries from many workers do not align.
                delay = self._settings.fetch_backoff_s * (2 ** (attempt - 1))
                time.sleep(delay * (0.5 + random.random()))
            last = self._attempt(url, fetched_at, started)
            if not _retryable(last):
                return last
        assert last is not None
        return last

    def fetch_many(self, urls: Iterable[str]) -> list[FetchResult]:
        """Fetch URLs concurrently (bounded globally and per host); results come back in input order."""
        url_list = list(urls)
        if not url_list:
            return []
        workers = max(1, min(self._settings.fetch_concurrency, len(url_list)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fetch") as pool:
            return list(pool.map(self._polite_fetch, url_list))

    def _polite_fetch(self, url: str) -> FetchResult:
        host = urlsplit(url).hostname or ""
        with self._host_slots[host], self._host_turn(host):
            return self.fetch(url)

    @contextmanager
    def _host_turn(self, host: str) -> Iterator[None]:
        delay = self._settings.fetch_per_host_delay_s
        if delay > 0:
            with self._host_lock:
                now = time.monotonic()
                turn = max(now, self._host_last.get(host, 0.0) + delay)
                self._host_last[host] = turn
            if turn > now:
                time.sleep(turn - now)
        yield

    def _attempt(self, url: str, fetched_at: datetime, started: float) -> FetchResult:
        def result(
            status: int | None, body: bytes, error: str | None, final: str = url, ctype: str = ""
        ) -> FetchResult:
            return FetchResult(
                url=url,
                final_url=final,
                status=status,
                content_type=ctype,
                body=body,
                fetched_at=fetched_at,
                elapsed_ms=int((time.monotonic() - started) * 1000),
                error=error,
            )

        try:
            with self._client.stream("GET", url) as response:
                final = str(response.url)
                ctype = response.headers.get("content-type", "")
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > self._settings.fetch_max_bytes:
                    raise BodyTooLarge(f"content-length {declared} over cap {self._settings.fetch_max_bytes}")
                body = self._read_capped(response)
                if response.status_code >= 400:
                    return result(response.status_code, b"", f"HTTP {response.status_code}", final, ctype)
                return result(response.status_code, body, None, final, ctype)
        except BodyTooLarge as exc:
            return result(None, b"", f"too large: {exc}")
        except httpx.TooManyRedirects:
            return result(None, b"", f"too many redirects (max {self._settings.max_redirects})")
        except httpx.TimeoutException as exc:
            return result(None, b"", f"timeout: {type(exc).__name__}")
        except httpx.InvalidURL as exc:
            return result(None, b"", f"invalid url: {exc}")
        except httpx.HTTPError as exc:
            return result(None, b"", f"{type(exc).__name__}: {exc}")

    def _read_capped(self, response: httpx.Response) -> bytes:
        cap = self._settings.fetch_max_bytes
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > cap:
                raise BodyTooLarge(f"body over cap {cap} bytes")
            chunks.append(chunk)
        return b"".join(chunks)


def _retryable(result: FetchResult) -> bool:
    if result.status in RETRYABLE_STATUS:
        return True
    return result.status is None and result.error is not None and result.error.startswith("timeout")
