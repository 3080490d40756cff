-- name: daily_topic_coverage
-- description: Per outlet and publication day (UTC): articles, articles relevant to the topic, and the relevant share.
-- params: since (date), until (date), topic (text, default russian_interference)
--
-- since/until are inclusive publication days; unset means no bound.
with params as (
    select
        coalesce(getvariable('since')::date, date '1900-01-01') as since,
        coalesce(getvariable('until')::date, date '9999-12-31') as until,
        coalesce(getvariable('topic')::varchar, 'russian_interference') as topic
),

articles_in_window as (
    select
        article_days.article_id,
        article_days.outlet,
        article_days.published_day
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

daily as (
    select
        articles_in_window.outlet,
        articles_in_window.published_day,
        count(*) as articles,
        count(relevant.article_id) as relevant_articles
    from articles_in_window
    left join relevant using (article_id)
    group by articles_in_window.outlet, articles_in_window.published_day
)

select
    outlet,
    published_day,
    articles,
    relevant_articles,
    round(relevant_articles / articles, 3) as share_relevant
from daily
order by published_day, outlet;
