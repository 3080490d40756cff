from datetime import UTC, datetime, timedelta

from etl.polling import FeedState, PollOutcome, after_poll
from etl.settings import Settings

T0 = datetime(2026, 10, 5, 8, 0, tzinfo=UTC)
SETTINGS = Settings(
    poll_min_interval_s=600,
    poll_max_interval_s=86_400,
    poll_default_interval_s=3_600,
    feed_pause_after_failures=3,
)


def state(**kw) -> FeedState:
    return FeedState(feed_id=1, url="https://a.test/feed", outlet="a", **kw)


def ok(new: int, seen: int, at: datetime = T0, **kw) -> PollOutcome:
    return PollOutcome(polled_at=at, status=200, error=None, new_items=new, seen_items=seen, **kw)


def test_busy_feed_is_polled_more_often_quiet_one_less_within_bounds():
    busy = after_poll(state(), ok(9, 1), SETTINGS)
    assert busy.poll_interval_s == 1_800 and busy.next_poll_at == T0 + timedelta(seconds=1_800)
    quiet = after_poll(state(), ok(0, 20), SETTINGS)
    assert quiet.poll_interval_s == 5_400
    middling = after_poll(state(), ok(3, 7), SETTINGS)
    assert middling.poll_interval_s == 3_600
    s = state()
    for _ in range(20):
        s = after_poll(s, ok(10, 0), SETTINGS)
    assert s.poll_interval_s == 600  # never below the floor
    for _ in range(40):
        s = after_poll(s, PollOutcome(polled_at=T0, status=304, error=None, unchanged=True), SETTINGS)
    assert s.poll_interval_s == 86_400  # nor above the ceiling


def test_success_keeps_validators_and_resets_health():
    s = state(consecutive_failures=2, etag='"old"')
    after = after_poll(
        s, ok(1, 1, etag='"new"', last_modified="Mon, 05 Oct 2026 08:00:00 GMT", body_sha256="ab"), SETTINGS
    )
    assert (after.etag, after.last_modified, after.body_sha256) == (
        '"new"',
        "Mon, 05 Oct 2026 08:00:00 GMT",
        "ab",
    )
    assert after.consecutive_failures == 0 and after.last_success_at == T0 and not after.paused
    unchanged = after_poll(after, PollOutcome(polled_at=T0, status=304, error=None, unchanged=True), SETTINGS)
    assert unchanged.etag == '"new"'  # a 304 without validators keeps the stored ones


def test_failures_pause_with_growing_backoff_and_resume_on_answer():
    s = state(poll_interval_s=3_600)
    waits = []
    for n in range(1, 6):
        s = after_poll(s, PollOutcome(polled_at=T0, status=500, error="HTTP 500"), SETTINGS)
        assert s.consecutive_failures == n
        waits.append((s.next_poll_at - T0).total_seconds())
    assert waits[:2] == [600, 600]  # below the threshold: retried at the floor interval
    assert s.paused
    assert waits[2:] == [7_200, 14_400, 28_800]  # paused: the wait doubles with each failure
    back = after_poll(s, ok(2, 2), SETTINGS)
    assert not back.paused and back.consecutive_failures == 0


def test_retry_after_and_permanent_redirect():
    s = after_poll(
        state(), PollOutcome(polled_at=T0, status=429, error="HTTP 429", retry_after_s=7_200), SETTINGS
    )
    assert s.next_poll_at == T0 + timedelta(seconds=7_200)
    moved = after_poll(state(), ok(1, 0, moved_to="https://a.test/new-feed"), SETTINGS)
    assert moved.url == "https://a.test/new-feed"


def test_due():
    assert state().due(T0)
    assert not state(next_poll_at=T0 + timedelta(minutes=1)).due(T0)
