-- name: outlet_silences
-- description: Data quality: stretches of days on which an outlet published nothing while the database kept receiving articles; a feed that broke or an outlet that stopped.
-- params: since (date), until (date), min_days (int, default 2), outlet (text, optional)
--
-- A silence runs from the day after one of the outlet's publication days to the day before its next one,
-- or, after its last one, to the last day any outlet published in the window. Only silences of at least
-- min_days days are listed. Days are publication days (UTC; fetch day when undated), as in article_days.
with params as (
    select
        coalesce(getvariable('since')::date, date '1900-01-01') as since,
        coalesce(getvariable('until')::date, date '9999-12-31') as until,
        coalesce(getvariable('min_days')::int, 2) as min_days,
        getvariable('outlet')::varchar as outlet
),

outlet_days as (
    select distinct
        article_days.outlet,
        article_days.published_day as day
    from article_days
    cross join params
    where article_days.published_day between params.since and params.until
),

window_end as (
    select max(day) as last_day
    from outlet_days
),

next_days as (
    select
        outlet,
        day,
        lead(day) over (partition by outlet order by day) as next_day
    from outlet_days
),

silences as (
    select
        next_days.outlet,
        next_days.day + 1 as silent_from,
        coalesce(next_days.next_day, window_end.last_day + 1) - 1 as silent_until,
        next_days.next_day is null as ongoing
    from next_days
    cross join window_end
)

select
    silences.outlet,
    silences.silent_from,
    silences.silent_until,
    silences.silent_until - silences.silent_from + 1 as silent_days,
    silences.ongoing
from silences
cross join params
where silences.silent_until - silences.silent_from + 1 >= params.min_days
  and (params.outlet is null or silences.outlet = params.outlet)
order by silent_days desc, silences.outlet, silences.silent_from;
