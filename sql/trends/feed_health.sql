-- name: feed_health
-- description: Every feed with its health and schedule: last status and error, last success, consecutive failures, next poll, items listed per day over the last week.
-- params: days (int, default 7)
--
-- items_per_day counts distinct items first seen in the last `days` days, divided by `days`.
with params as (
    select coalesce(getvariable('days')::int, 7) as days
),

recent_items as (
    select
        feed_items.feed_id,
        count(*) as items
    from feed_items
    cross join params
    where feed_items.first_seen_at >= now() - to_days(params.days)
    group by feed_items.feed_id
),

polls as (
    select
        feed_id,
        count(*) as polls,
        count(*) filter (where unchanged) as unchanged_polls
    from feed_polls
    group by feed_id
)

select
    feeds.outlet,
    feeds.url,
    feeds.kind,
    case
        when feeds.paused then 'paused'
        when feeds.consecutive_failures > 0 then 'failing'
        when feeds.last_polled_at is null then 'new'
        else 'ok'
    end as health,
    feeds.last_status,
    feeds.last_error,
    feeds.last_success_at,
    feeds.consecutive_failures as failures,
    feeds.next_poll_at,
    round(feeds.poll_interval_s / 60) as interval_min,
    coalesce(polls.polls, 0) as polls,
    coalesce(polls.unchanged_polls, 0) as unchanged_polls,
    round(coalesce(recent_items.items, 0) / params.days, 1) as items_per_day
from feeds
cross join params
left join recent_items using (feed_id)
left join polls using (feed_id)
order by health desc, feeds.outlet, feeds.url;
