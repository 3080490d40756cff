-- name: stories_vs_placements
-- description: Per day, topic-relevant coverage counted two ways: independent stories (clusters of near-identical copies) and placements (every article), with how many placements were syndicated copies.
-- params: since (date), until (date), topic (text, default russian_interference)
with params as (
    select
        coalesce(getvariable('since')::date, date '1900-01-01') as since,
        coalesce(getvariable('until')::date, date '9999-12-31') as until,
        coalesce(getvariable('topic')::varchar, 'russian_interference') as topic
),

relevant as (
    select article_topics.article_id
    from article_topics
    cross join params
    where article_topics.topic = params.topic
      and article_topics.relevant
),

relevant_articles as (
    select
        article_days.article_id,
        article_days.cluster_id,
        article_days.published_day
    from article_days
    inner join relevant using (article_id)
    cross join params
    where article_days.published_day between params.since and params.until
),

cluster_sizes as (
    select
        cluster_id,
        count(*) as copies
    from article_days
    group by cluster_id
)

select
    relevant_articles.published_day,
    count(distinct relevant_articles.cluster_id) as stories,
    count(*) as placements,
    count(*) filter (where cluster_sizes.copies > 1) as syndicated_placements
from relevant_articles
inner join cluster_sizes using (cluster_id)
group by relevant_articles.published_day
order by relevant_articles.published_day;
