-- name: top_speakers_by_period
-- description: Most-quoted speakers per period and outlet: quotes, articles, and the rank within the period and outlet.
-- params: period (text, default month), since (date), until (date), outlet (text, optional), kind (text, optional), limit (int, default 10)
--
-- Quotes without a resolved speaker are left out; kind is direct, indirect or mixed (unset: all);
-- limit is per period and outlet. Ties on quotes are broken by articles, then by name.
with params as (
    select
        coalesce(getvariable('period')::varchar, 'month') as period,
        coalesce(getvariable('since')::date, date '1900-01-01') as since,
        coalesce(getvariable('until')::date, date '9999-12-31') as until,
        getvariable('outlet')::varchar as outlet,
        lower(getvariable('kind')::varchar) as kind,
        coalesce(getvariable('limit')::int, 10) as top_n
),

per_speaker as (
    select
        cast(date_trunc(params.period, quote_facts.published_day) as date) as period_start,
        quote_facts.outlet,
        quote_facts.speaker_canonical,
        count(*) as quotes,
        count(distinct quote_facts.article_id) as articles
    from quote_facts
    cross join params
    where quote_facts.speaker_canonical is not null
      and quote_facts.published_day between params.since and params.until
      and (params.outlet is null or quote_facts.outlet = params.outlet)
      and (params.kind is null or quote_facts.kind = params.kind)
    group by all
),

ranked as (
    select
        *,
        row_number() over (
            partition by period_start, outlet order by quotes desc, articles desc, speaker_canonical
        ) as rank
    from per_speaker
)

select
    ranked.period_start,
    ranked.outlet,
    ranked.rank,
    ranked.speaker_canonical,
    ranked.quotes,
    ranked.articles
from ranked
cross join params
where ranked.rank <= params.top_n
order by ranked.period_start, ranked.outlet, ranked.rank;
