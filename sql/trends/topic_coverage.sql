-- name: topic_coverage
-- description: Per period and outlet: all articles, topic-relevant articles, the relevant share of the outlet's own volume, and the outlet's share of all relevant articles of the period.
-- params: period (text, default week), since (date), until (date), topic (text, default russian_interference), outlet (text, optional)
--
-- period is day, week (Monday, UTC), month, quarter or year; period_start is its first day. The shares
-- answer two questions: how much of what this outlet published was about the topic (share_of_outlet),
-- and how much of the period's coverage of the topic came from this outlet (share_of_coverage, computed
-- over every outlet even when outlet narrows the rows shown).
with params as (
    select
        coalesce(getvariable('period')::varchar, 'week') as period,
        coalesce(getvariable('since')::date, date '1900-01-01') as since,
        coalesce(getvariable('until')::date, date '9999-12-31') as until,
        coalesce(getvariable('topic')::varchar, 'russian_interference') as topic,
        getvariable('outlet')::varchar as outlet
),

dated as (
    select
        article_days.article_id,
        article_days.outlet,
        cast(date_trunc(params.period, article_days.published_day) as date) as period_start
    from article_days
    cross join params
    where article_days.published_day between params.since and params.until
),

relevant as (
    select article_topics.article_id
    from article_topics
    cross join params
    where article_topics.topic = params.topic
      and article_topics.relevant
),

per_outlet as (
    select
        dated.period_start,
        dated.outlet,
        count(*) as articles,
        count(relevant.article_id) as relevant_articles
    from dated
    left join relevant using (article_id)
    group by dated.period_start, dated.outlet
),

shares as (
    select
        period_start,
        outlet,
        articles,
        relevant_articles,
        round(relevant_articles / articles, 3) as share_of_outlet,
        round(relevant_articles / nullif(sum(relevant_articles) over (partition by period_start), 0), 3)
            as share_of_coverage
    from per_outlet
)

select shares.*
from shares
cross join params
where params.outlet is null or shares.outlet = params.outlet
order by shares.period_start, shares.outlet;
