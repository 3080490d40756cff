-- name: top_speakers
-- description: Most-quoted speakers (canonical name): quotes, articles, outlets, first and last day, and an example quote.
-- params: since (date), until (date), kind (text, optional), outlet (text, optional), limit (int, default 20)
--
-- kind filters on the quote kind (direct, indirect, mixed); unset means all kinds. outlet keeps one
-- outlet's quotes (per period and outlet: run it per window, or see speaker_quotes_weekly). Quotes without a
-- resolved speaker are left out. The example is the most confident quote, the longest on a tie.
with params as (
    select
        coalesce(getvariable('since')::date, date '1900-01-01') as since,
        coalesce(getvariable('until')::date, date '9999-12-31') as until,
        lower(getvariable('kind')::varchar) as kind,
        getvariable('outlet')::varchar as outlet,
        coalesce(getvariable('limit')::int, 20) as top_n
),

attributed_quotes as (
    select quote_facts.*
    from quote_facts
    cross join params
    where quote_facts.speaker_canonical is not null
      and quote_facts.published_day between params.since and params.until
      and (params.kind is null or quote_facts.kind = params.kind)
      and (params.outlet is null or quote_facts.outlet = params.outlet)
),

speakers as (
    select
        speaker_canonical,
        count(*) as quotes,
        count(distinct article_id) as articles,
        count(distinct outlet) as outlets,
        min(published_day) as first_day,
        max(published_day) as last_day,
        first(quote order by confidence desc, length(quote) desc, quote_id) as example_quote
    from attributed_quotes
    group by speaker_canonical
),

ranked as (
    select
        *,
        row_number() over (order by quotes desc, articles desc, speaker_canonical) as rank
    from speakers
)

select
    ranked.rank,
    ranked.speaker_canonical,
    ranked.quotes,
    ranked.articles,
    ranked.outlets,
    ranked.first_day,
    ranked.last_day,
    ranked.example_quote
from ranked
cross join params
where ranked.rank <= params.top_n
order by ranked.rank;
