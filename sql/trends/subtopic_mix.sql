-- name: subtopic_mix
-- description: Per period, how coverage of a topic splits into its sub-topics: articles relevant to each sub-topic among the articles relevant to the topic, and their share.
-- params: period (text, default month), since (date), until (date), topic (text, default russian_interference), outlet (text, optional)
--
-- Sub-topics are the article_topics rows whose parent_topic is the topic ('russian_interference.hacking',
-- ...). Only articles relevant to the parent count, so the shares are of the topic's coverage; an article
-- may be about several sub-topics, so the shares of a period can add up to more than 1.
with params as (
    select
        coalesce(getvariable('period')::varchar, 'month') as period,
        coalesce(getvariable('since')::date, date '1900-01-01') as since,
        coalesce(getvariable('until')::date, date '9999-12-31') as until,
        coalesce(getvariable('topic')::varchar, 'russian_interference') as topic,
        getvariable('outlet')::varchar as outlet
),

topic_articles as (
    select
        article_days.article_id,
        cast(date_trunc(params.period, article_days.published_day) as date) as period_start
    from article_days
    inner join article_topics using (article_id)
    cross join params
    where article_topics.topic = params.topic
      and article_topics.relevant
      and article_days.published_day between params.since and params.until
      and (params.outlet is null or article_days.outlet = params.outlet)
),

totals as (
    select
        period_start,
        count(*) as topic_articles
    from topic_articles
    group by period_start
),

subtopics as (
    select
        topic_articles.period_start,
        article_topics.topic as subtopic,
        count(*) as articles
    from topic_articles
    inner join article_topics using (article_id)
    cross join params
    where article_topics.parent_topic = params.topic
      and article_topics.relevant
    group by topic_articles.period_start, article_topics.topic
)

select
    subtopics.period_start,
    subtopics.subtopic,
    subtopics.articles,
    totals.topic_articles,
    round(subtopics.articles / totals.topic_articles, 3) as share_of_topic
from subtopics
inner join totals using (period_start)
order by subtopics.period_start, subtopics.articles desc, subtopics.subtopic;
