"""When to poll a feed next, and how healthy it is: a pure state machine over poll outcomes.

Adaptive interval: a feed whose polls bring mostly new items is polled more often, one that brings few
(or answers 304) less often, within [poll_min_interval_s, poll_max_interval_s]. Failures are counted;
after `feed_pause_after_failures` in a row the feed is paused with a backoff that doubles with each
further failure, and it resumes by itself the first time it answers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from etl.settings import Settings

# Longest pause for a failing feed: it is still tried weekly, so a site that comes back is noticed.
MAX_PAUSE_S = 7 * 86_400.0
# Share of new items above which the interval halves, and below which it grows by half.
BUSY_SHARE = 0.5
QUIET_SHARE = 0.1


@dataclass(frozen=True)
class FeedState:
    """A feed as the poller sees it: where to poll, what to send, and when."""

    feed_id: int
    url: str
    outlet: str
    name: str = ""
    kind: str = "feed"  # "feed" or "sitemap"
    etag: str | None = None
    last_modified: str | None = None
    body_sha256: str | None = None
    consecutive_failures: int = 0
    poll_interval_s: float | None = None
    next_poll_at: datetime | None = None
    last_success_at: datetime | None = None
    paused: bool = False
    obey_robots: bool | None = None
    host_rate: float | None = None

    def due(self, now: datetime) -> bool:
        """Whether the feed should be polled at `now`."""
        return self.next_poll_at is None or self.next_poll_at <= now


@dataclass(frozen=True)
class PollOutcome:
    """What one poll of a feed found."""

    polled_at: datetime
    status: int | None
    error: str | None
    unchanged: bool = False  # 304, or a body identical to the last one
    new_items: int = 0
    seen_items: int = 0
    etag: str | None = None
    last_modified: str | None = None
    body_sha256: str | None = None
    moved_to: str | None = None  # a 301/308 target: the feed's new URL
    retry_after_s: float | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None and not self.unchanged


def after_poll(state: FeedState, outcome: PollOutcome, settings: Settings) -> FeedState:
    """The feed's state after a poll: validators kept, health counted, next poll scheduled."""
    interval = state.poll_interval_s or settings.poll_default_interval_s
    if outcome.failed:
        failures = state.consecutive_failures + 1
        if failures >= settings.feed_pause_after_failures:
            pause = min(MAX_PAUSE_S, interval * 2 ** (failures - settings.feed_pause_after_failures + 1))
            wait, paused = max(pause, outcome.retry_after_s or 0.0), True
        else:
            wait, paused = max(settings.poll_min_interval_s, outcome.retry_after_s or 0.0), False
        return replace(
            state,
            consecutive_failures=failures,
            paused=paused,
            next_poll_at=outcome.polled_at + timedelta(seconds=wait),
            url=outcome.moved_to or state.url,
        )
    interval = _adapted_interval(interval, outcome, settings)
    return replace(
        state,
        url=outcome.moved_to or state.url,
        etag=outcome.etag or state.etag,
        last_modified=outcome.last_modified or state.last_modified,
        body_sha256=outcome.body_sha256 or state.body_sha256,
        consecutive_failures=0,
        paused=False,
        poll_interval_s=interval,
        next_poll_at=outcome.polled_at + timedelta(seconds=max(interval, outcome.retry_after_s or 0.0)),
        last_success_at=outcome.polled_at,
    )


def _adapted_interval(interval: float, outcome: PollOutcome, settings: Settings) -> float:
    total = outcome.new_items + outcome.seen_items
    if outcome.unchanged or total == 0:
        interval *= 1.5
    else:
        share_new = outcome.new_items / total
        if share_new > BUSY_SHARE:
            interval /= 2
        elif share_new < QUIET_SHARE:
            interval *= 1.5
    return min(settings.poll_max_interval_s, max(settings.poll_min_interval_s, interval))
