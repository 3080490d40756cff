"""Feed polling at scale through the real code: N feeds over H hosts on loopback, polled by
`etl.ingest.poll_feeds` with a `Fetcher` at the default politeness, then `finish_polls`.

    .venv/bin/python bench/poll_feeds.py                      # 500 feeds, 50 hosts
    .venv/bin/python bench/poll_feeds.py --feeds 2000 --hosts 100 --obey-robots

Hosts are 127.0.0.1, 127.0.0.2, ... (all of 127/8 is loopback on Linux, and the fetcher keys politeness by
hostname, so each address is a host of its own). One asyncio server per address, all in a separate
process, so that this process's RSS and CPU are the poller's alone. Each host gets the same deterministic
(seeded) mix of feeds: ~60% an RSS 2.0 document with 20-50 items (half of them all new, half sharing
stories with the outlet's other section feeds), ~20% a 304 for the ETag of a "previous poll", ~10% slow
(the document after 1-3 s) and ~10% errors (500, 404, 429 with Retry-After: 60). The server counts every
request (robots.txt included) and sends the counts back when the poll is over.

Target: 500 feeds over 50 hosts polled in under 20 s with peak RSS under 300 MB. The politeness floor is set
by the busiest host: N requests at 1 request/s cannot take less than (N - 1) s plus its last response.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import gzip
import multiprocessing
import os
import random
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from itertools import pairwise
from multiprocessing.connection import Connection
from typing import Any
from xml.sax.saxutils import escape

# Only the standard library at module level: the server process is spawned and imports this module, and it
# must stay small. The poller's imports (etl.*: spaCy, DuckDB, SQLAlchemy, SciPy ...) are made in `_poll`.

MIX = (("new", 0.6), ("304", 0.2), ("slow", 0.1), ("error", 0.1))
ERRORS = ("500", "404", "429")
RETRY_AFTER_S = 60  # over the default fetch_retry_after_max_s (30 s): recorded, not waited out
WORDS = (
    "election interference campaign ministry officials said report investigation intelligence agency "
    "social media accounts network disinformation voters parliament commission statement sanctions "
    "spokesperson alleged hackers leaked documents security services candidate polling stations observers "
    "cyber attack platform removed posts influence operation embassy diplomats denied claims evidence "
    "analysts warned regional authorities court ruling opposition coalition debate broadcast"
).split()


@dataclass(frozen=True)
class FeedPlan:
    """One feed of the bench: where it lives, how its server behaves, and what it lists."""

    index: int
    host: int  # 0-based: served on host_address(host), 127.0.0.1 for the first
    path: str
    kind: str  # "new", "304", "slow", "500", "404", "429"
    delay_s: float  # slow feeds answer after this long
    stories: tuple[int, ...]  # story ids on the feed's host; ids below SHARED_STORIES are shared
    previous_etag: str | None  # what the "previous poll" left in FeedState

    @property
    def etag(self) -> str:
        return f'"feed{self.index}-v2"'


SHARED_STORIES = 60  # per host: stories that several of the outlet's section feeds list


def make_plan(feeds: int, hosts: int, seed: int) -> list[FeedPlan]:
    """The feeds, dealt round-robin to hosts so that every host gets the same mix, in a seeded order."""
    rng = random.Random(seed)
    counts = [round(share * feeds) for _, share in MIX]
    counts[0] += feeds - sum(counts)
    kinds = [kind for (kind, _), n in zip(MIX, counts, strict=True) for _ in range(n)]
    errors = [ERRORS[i % len(ERRORS)] for i in range(counts[-1])]
    rng.shuffle(errors)
    per_host: list[list[str]] = [[] for _ in range(hosts)]
    for i, kind in enumerate(kinds):
        per_host[i % hosts].append(errors.pop() if kind == "error" else kind)
    plan: list[FeedPlan] = []
    next_story = [SHARED_STORIES] * hosts
    for host, host_kinds in enumerate(per_host):
        rng.shuffle(host_kinds)
        for section, kind in enumerate(host_kinds):
            index = len(plan)
            n_items = rng.randint(20, 50)
            # Half the documents list only their own stories; the rest share about half their items with
            # the outlet's other sections (the same URL in several feeds: finish_polls keeps the first).
            shared = rng.randint(n_items // 3, n_items * 2 // 3) if rng.random() < 0.5 else 0
            own = n_items - shared
            stories = tuple(sorted(rng.sample(range(SHARED_STORIES), shared))) + tuple(
                range(next_story[host], next_story[host] + own)
            )
            next_story[host] += own
            if kind == "304":
                previous: str | None = f'"feed{index}-v2"'  # unchanged since the previous poll
            elif kind in ("new", "slow") and rng.random() < 0.5:
                previous = f'"feed{index}-v1"'  # polled before, changed since
            else:
                previous = None  # first poll
            plan.append(
                FeedPlan(
                    index=index,
                    host=host,
                    path=f"/section{section}/rss.xml",
                    kind=kind,
                    delay_s=round(rng.uniform(1.0, 3.0), 2) if kind == "slow" else 0.0,
                    stories=stories,
                    previous_etag=previous,
                )
            )
    return plan


def host_address(host: int) -> str:
    if not 0 <= host < 254 * 256:
        raise ValueError(f"host {host}: out of the 127/8 addresses used here")
    return f"127.0.{host // 254}.{host % 254 + 1}"


# ---------------------------------------------------------------------------------------------------------
# The server (its own process)

LAST_MODIFIED = "Mon, 05 Oct 2026 08:00:00 GMT"
FIRST_PUBLISHED = datetime(2026, 9, 28, tzinfo=UTC)
ROBOTS = b"User-agent: *\nAllow: /\n"


def render_rss(feed: FeedPlan, base: str, seed: int) -> bytes:
    """An RSS 2.0 document for the feed; a story reads the same in every feed that lists it."""
    items = []
    for story in feed.stories:
        rng = random.Random(f"{seed}-{feed.host}-{story}")
        title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 12))).capitalize()
        summary = ". ".join(
            " ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 20))).capitalize() for _ in range(3)
        )
        published = format_datetime(
            FIRST_PUBLISHED + timedelta(seconds=rng.randint(0, 7 * 86_400)), usegmt=True
        )
        url = f"{base}/news/{story}-{title.lower().replace(' ', '-')[:48]}.html"
        items.append(
            f"<item><title>{escape(title)}</title><link>{escape(url)}</link>"
            f'<guid isPermaLink="true">{escape(url)}</guid><pubDate>{published}</pubDate>'
            f"<description>{escape(summary)}.</description></item>"
        )
    doc = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
        f"<title>Outlet {feed.host} section {feed.path.split('/')[1]}</title><link>{base}/</link>"
        f"<description>bench feed {feed.index}</description><lastBuildDate>{LAST_MODIFIED}</lastBuildDate>"
        + "\n".join(items)
        + "</channel></rss>\n"
    )
    return doc.encode()


class BenchServer:
    """Minimal HTTP/1.1 (keep-alive, Content-Length, gzip when asked) on one address per host."""

    def __init__(self, plan: list[FeedPlan], hosts: int, seed: int, use_gzip: bool, retry_after: int) -> None:
        self.retry_after = retry_after
        self.plan = {(host_address(f.host), f.path): f for f in plan}
        self.hosts = hosts
        self.seed = seed
        self.use_gzip = use_gzip
        self.ports: dict[str, int] = {}
        self.bodies: dict[tuple[str, str], tuple[bytes, bytes]] = {}  # identity, gzip
        # (host, path, status, arrived, done), times from time.monotonic() (system-wide on Linux)
        self.log: list[tuple[str, str, int, float, float]] = []
        self.connections = 0
        self.handlers: set[asyncio.Task[None]] = set()
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()

    async def start(self) -> list[asyncio.Server]:
        servers = []
        for host in range(self.hosts):
            address = host_address(host)
            server = await asyncio.start_server(self.handle, address, 0, backlog=128)
            servers.append(server)
            self.ports[address] = server.sockets[0].getsockname()[1]
        for (address, path), feed in self.plan.items():
            body = render_rss(feed, f"http://{address}:{self.ports[address]}", self.seed)
            self.bodies[address, path] = (body, gzip.compress(body, 6))
        return servers

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        address = writer.get_extra_info("sockname")[0]
        self.connections += 1
        task = asyncio.current_task()
        if task is not None:
            self.handlers.add(task)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                arrived = time.monotonic()
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, sep, value = line.partition(":")
                    if sep:
                        headers[name.strip().lower()] = value.strip()
                self.in_flight[address] += 1
                self.max_in_flight[address] = max(self.max_in_flight[address], self.in_flight[address])
                try:
                    status, out_headers, body = await self.respond(address, target.split("?", 1)[0], headers)
                    if method == "HEAD":
                        body = b""
                    reason = {200: "OK", 304: "Not Modified", 404: "Not Found", 429: "Too Many Requests"}
                    out = [f"HTTP/1.1 {status} {reason.get(status, 'Internal Server Error')}"]
                    out += [f"{k}: {v}" for k, v in out_headers.items()]
                    out.append(f"Content-Length: {len(body)}")
                    writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + body)
                    await writer.drain()
                finally:
                    self.in_flight[address] -= 1
                self.log.append((address, target, status, arrived, time.monotonic()))
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError):
            pass
        except asyncio.CancelledError:
            pass  # shut down with the connection still open: end quietly (3.11 logs a cancelled handler)
        finally:
            writer.close()
            if task is not None:
                self.handlers.discard(task)

    async def stop(self, servers: list[asyncio.Server]) -> None:
        for server in servers:
            server.close()
        for task in list(self.handlers):
            task.cancel()
        await asyncio.gather(*self.handlers, return_exceptions=True)

    async def respond(self, address: str, path: str, headers: dict[str, str]) -> tuple[int, dict, bytes]:
        if path == "/robots.txt":
            return 200, {"Content-Type": "text/plain"}, ROBOTS
        feed = self.plan.get((address, path))
        if feed is None or feed.kind == "404":
            return 404, {"Content-Type": "text/html"}, b"<h1>Not Found</h1>"
        if feed.kind == "500":
            return 500, {"Content-Type": "text/html"}, b"<h1>Internal Server Error</h1>"
        if feed.kind == "429":
            return 429, {"Content-Type": "text/plain", "Retry-After": str(self.retry_after)}, b"slow down"
        validators = {"ETag": feed.etag, "Last-Modified": LAST_MODIFIED}
        if headers.get("if-none-match") == feed.etag:
            return 304, validators, b""
        if feed.delay_s:
            await asyncio.sleep(feed.delay_s)
        plain, packed = self.bodies[address, path]
        out = {"Content-Type": "application/rss+xml; charset=utf-8", **validators}
        if self.use_gzip and "gzip" in headers.get("accept-encoding", ""):
            out["Content-Encoding"] = "gzip"
            return 200, out, packed
        return 200, out, plain


def serve(
    conn: Connection, plan: list[FeedPlan], hosts: int, seed: int, use_gzip: bool, retry_after: int
) -> None:
    """The server process: report the ports, serve until told to stop, then send back what it saw."""

    async def main() -> None:
        bench = BenchServer(plan, hosts, seed, use_gzip, retry_after)
        servers = await bench.start()
        conn.send(bench.ports)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, conn.recv)  # "stop"
        await bench.stop(servers)
        usage = resource.getrusage(resource.RUSAGE_SELF)
        conn.send(
            {
                "log": bench.log,
                "max_in_flight": dict(bench.max_in_flight),
                "connections": bench.connections,
                "maxrss_kb": usage.ru_maxrss,
                "cpu_s": usage.ru_utime + usage.ru_stime,
            }
        )

    asyncio.run(main())


# ---------------------------------------------------------------------------------------------------------
# The poller (this process)


class TimedFetcher:
    """Passes fetch_many through to the real Fetcher, timing each round (poll_feeds makes one, or two with
    sitemap children)."""

    def __init__(self, fetcher: Any) -> None:
        self.fetcher = fetcher
        self.rounds: list[tuple[float, float]] = []

    def fetch_many(self, requests: Any) -> Any:
        started = time.monotonic()
        try:
            return self.fetcher.fetch_many(requests)
        finally:
            self.rounds.append((started, time.monotonic()))


def _rss_now_mb() -> float:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _peak_rss_mb(usage: Any) -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    return usage.ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def _poll(plan: list[FeedPlan], ports: dict[str, int], obey_robots: bool) -> dict[str, Any]:
    from etl.fetch import Fetcher
    from etl.ingest import finish_polls, poll_feeds
    from etl.polling import FeedState
    from etl.settings import Settings

    # Default politeness; only loopback allowed (a developer's .env must not change what is measured).
    settings = Settings(_env_file=None, fetch_allow_networks=["127.0.0.0/8"])  # type: ignore[call-arg]
    states = []
    for feed in plan:
        address = host_address(feed.host)
        states.append(
            FeedState(
                feed_id=feed.index + 1,
                url=f"http://{address}:{ports[address]}{feed.path}",
                outlet=f"outlet{feed.host}",
                name=feed.path,
                etag=feed.previous_etag,
                last_modified=LAST_MODIFIED if feed.previous_etag else None,
                obey_robots=True if obey_robots else None,
            )
        )
    rss_before = _rss_now_mb()
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    with Fetcher(settings) as fetcher:
        timed = TimedFetcher(fetcher)
        reads = poll_feeds(timed, states)  # type: ignore[arg-type]
        polled = time.monotonic()
        results = finish_polls(reads, set(), settings, run_id="bench")
        finished = time.monotonic()
    ended = time.monotonic()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "settings": settings,
        "reads": reads,
        "results": results,
        "started": started,
        "rounds": timed.rounds,
        "polled": polled,
        "finished": finished,
        "ended": ended,
        "rss_before_mb": rss_before,
        "peak_rss_mb": _peak_rss_mb(usage),
        "cpu_s": (usage.ru_utime + usage.ru_stime) - (cpu_before.ru_utime + cpu_before.ru_stime),
    }


def _report(
    plan: list[FeedPlan], run: dict[str, Any], served: dict[str, Any], hosts: int, load: float
) -> bool:
    settings, reads, results = run["settings"], run["reads"], run["results"]
    started, ended = run["started"], run["ended"]
    wall = ended - started
    log: list[tuple[str, str, int, float, float]] = served["log"]
    requests = len(log)
    robots = sum(1 for _, path, *_ in log if path == "/robots.txt")
    attempts = sum(r.fetched.attempts for r in reads)

    print(
        f"settings: {settings.fetch_host_rate:g} req/s and {settings.fetch_host_concurrency} in flight per "
        f"host, {settings.fetch_concurrency} in flight overall, {settings.fetch_retries} retries "
        f"(backoff {settings.fetch_backoff_s:g} s), Retry-After cap {settings.fetch_retry_after_max_s:g} s"
    )
    print(f"machine: {os.cpu_count()} CPUs, 1-min load average {load:.2f} before the bench started")
    kinds = Counter(f.kind for f in plan)
    print(
        f"feeds: {len(plan)} over {hosts} hosts: " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
    )
    print(f"wall: {wall:.2f}s for {len(reads)} feeds polled (poll_feeds + finish_polls, Fetcher open/close)")
    for n, (a, b) in enumerate(run["rounds"], 1):
        print(f"  fetch round {n}: {b - a:.2f}s (fetch_many)")
    fetch_end = run["rounds"][-1][1] if run["rounds"] else started
    print(f"  read/parse (read_feed): {run['polled'] - fetch_end:.2f}s")
    print(f"  finish_polls: {run['finished'] - run['polled']:.2f}s")
    print(
        f"requests: {requests} served ({robots} robots.txt), {attempts} attempts on the feeds' results; "
        f"{requests / wall:.1f} req/s over the wall time, {len(reads) / wall:.1f} feeds/s"
    )
    statuses = Counter(status for *_, status, _, _ in log)
    connections = served["connections"]
    print(f"  connections: {connections} opened ({requests / connections:.1f} requests each)")
    print("  served statuses: " + ", ".join(f"{s} x{n}" for s, n in sorted(statuses.items())))

    entries = sum(len(r.entries) for r in reads)
    unchanged = sum(1 for r in reads if r.unchanged)
    with_entries = sum(1 for r in reads if r.entries)
    errors = Counter((r.error or "").split(":")[0] for r in reads if r.error)
    retry_after = sum(1 for r in reads if r.fetched.retry_after_s)
    retried = sum(1 for r in reads if r.fetched.attempts > 1)
    print(
        f"outcomes: {with_entries} feeds with entries ({entries} entries, "
        f"{len(results.new_entries)} distinct new), {unchanged} unchanged (304), "
        f"{sum(errors.values())} errors: " + ", ".join(f"{e} x{n}" for e, n in sorted(errors.items()))
    )
    print(
        f"  {retried} feeds retried ({attempts - len(reads)} extra requests), {retry_after} with a "
        f"Retry-After passed on to the schedule; {len(results.polls)} polls scheduled"
    )

    # Politeness as the server saw it, and the floor it sets.
    by_host: dict[str, list[tuple[float, float]]] = {}
    for address, _, _, arrived, done in log:
        by_host.setdefault(address, []).append((arrived, done))
    gaps: list[float] = []
    in_order = 0.0  # the floor for the order the requests went out in, with the server's response times
    for visits in by_host.values():
        visits.sort()
        gaps += [b[0] - a[0] for a, b in pairwise(visits)]
        # The i-th request on a host cannot start before i / rate, and ends its response time later.
        in_order = max(
            in_order, *(i / settings.fetch_host_rate + done - at for i, (at, done) in enumerate(visits))
        )
    per_host = Counter(len(visits) for visits in by_host.values())
    busiest = max(per_host)
    first_arrival = min(a for *_, a, _ in log)
    last_done = max(done for *_, done in log)
    print(
        "politeness: requests per host " + ", ".join(f"{n} on {h} hosts" for n, h in sorted(per_host.items()))
    )
    print(
        f"  floor: busiest host made {busiest} requests -> {(busiest - 1) / settings.fetch_host_rate:.2f}s "
        f"at {settings.fetch_host_rate:g} req/s; {in_order:.2f}s for the order they went out in, with "
        f"response times; first request at {first_arrival - started:.2f}s, last response at "
        f"{last_done - started:.2f}s"
    )
    short = sum(1 for g in gaps if g < 0.95 / settings.fetch_host_rate)
    print(
        f"  gaps between arrivals on a host: min {min(gaps):.3f}s, mean {sum(gaps) / len(gaps):.3f}s, "
        f"{short} under 95% of 1/rate; max in flight on a host {max(served['max_in_flight'].values())}"
    )
    print(f"poller: {run['cpu_s']:.2f}s CPU in the timed section ({run['cpu_s'] / wall:.0%} of one core)")
    print(
        f"peak RSS: {run['peak_rss_mb']:.0f} MB poller ({run['rss_before_mb']:.0f} MB before polling, after "
        f"imports), {served['maxrss_kb'] / 1024:.0f} MB server ({served['cpu_s']:.2f}s CPU)"
    )
    met = wall < 20.0 and run["peak_rss_mb"] < 300.0
    scope = "" if (len(plan), hosts) == (500, 50) else ", set for 500 feeds over 50 hosts"
    print(f"target (< 20 s, < 300 MB{scope}): {'met' if met else 'NOT met'}")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=500, help="feeds to poll (default 500)")
    parser.add_argument("--hosts", type=int, default=50, help="hosts they are spread over (default 50)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the feed mix (default 7)")
    parser.add_argument(
        "--obey-robots",
        action="store_true",
        help="have feeds consult robots.txt (the default does not: feeds are listed by their owners)",
    )
    parser.add_argument("--no-gzip", action="store_true", help="serve feeds uncompressed")
    parser.add_argument(
        "--retry-after",
        type=int,
        default=RETRY_AFTER_S,
        metavar="S",
        help=f"Retry-After of the 429s (default {RETRY_AFTER_S}); one within fetch_retry_after_max_s is "
        "waited out and holds back the whole host",
    )
    parser.add_argument("--log", metavar="CSV", help="write every request the server saw to this file")
    args = parser.parse_args()
    if args.feeds < 1 or not 1 <= args.hosts <= args.feeds:
        parser.error("need 1 <= hosts <= feeds")

    load = os.getloadavg()[0]  # other work on the machine skews the figures
    plan = make_plan(args.feeds, args.hosts, args.seed)
    # Spawned (not forked) so the server starts small and its RSS and CPU are its own.
    ctx = multiprocessing.get_context("spawn")
    here, there = ctx.Pipe()
    server = ctx.Process(
        target=serve,
        args=(there, plan, args.hosts, args.seed, not args.no_gzip, args.retry_after),
        name="bench-server",
    )
    server.start()
    there.close()  # so that a server that dies is an EOFError here, not a hang
    try:
        ports = here.recv()
        run = _poll(plan, ports, args.obey_robots)
        here.send("stop")
        served = here.recv()
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()
    _report(plan, run, served, args.hosts, load)
    if args.log:
        with open(args.log, "w", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["host", "path", "status", "arrived_s", "done_s"])
            for address, path, status, arrived, done in sorted(served["log"], key=lambda row: row[3]):
                writer.writerow(
                    [address, path, status, f"{arrived - run['started']:.4f}", f"{done - run['started']:.4f}"]
                )


if __name__ == "__main__":
    main()
