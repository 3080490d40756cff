-- name: speaker_quotes_weekly
-- description: A speaker's quotes over time: per week (Monday, UTC), outlet and speaker, the quotes, articles and an example.
-- params: speaker (text, optional), since (date), until (date)
--
-- speaker matches the canonical speaker case-insensitively as a substring ("peskov" finds
-- "Dmitry Peskov"); unset means every attributed speaker. The example is the most confident quote of
-- the row, the longest on a tie.
with params as (
    select
        lower(getvariable('speaker')::varchar) as speaker,
        coalesce(getvariable('since')::date, date '1900-01-01') as since,
        coalesce(getvariable('until')::date, date '9999-12-31') as until
),

speaker_quotes as (
    select
        quote_facts.*,
        cast(date_trunc('week', quote_facts.published_day) as date) as published_week
    from quote_facts
    cross join params
    where quote_facts.speaker_canonical is not null
      and (params.speaker is null or contains(lower(quote_facts.speaker_canonical), params.speaker))
      and quote_facts.published_day between params.since and params.until
)

select
    published_week,
    speaker_canonical,
    outlet,
    count(*) as quotes,
    count(distinct article_id) as articles,
    arg_max(quote, confidence * 100000 + length(quote)) as example_quote
from speaker_quotes
group by published_week, speaker_canonical, outlet
order by published_week, speaker_canonical, outlet;
