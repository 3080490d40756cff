-- name: subtopic_mix_weekly
-- description: Per week (Monday, UTC), the sub-topics of a topic: relevant articles of each sub-topic and their share of the week's articles relevant to the parent topic.
-- params: since (date), until (date), topic (text, default russian_interference)
--
-- Sub-topics are the article_topics rows whose parent_topic is the topic (russian_interference.hacking,
-- …). An article can be relevant to several sub-topics, so the shares of a week can add up to more than 1.
with params as (
    select
        coalesce(getvariable('since')::date, date '1900-01-01') as since,
        coalesce(getvariable('until')::date, date '9999-12-31') as until,
        coalesce(getvariable('topic')::varchar, 'russian_interference') as topic
),

articles_in_window as (
    select
        article_facts.article_id,
        date_trunc('week', article_facts.published_day)::date as week
    from article_facts
    cross join params
    where article_facts.published_day between params.since and params.until
),

parent_relevant as (
    select
        articles_in_window.week,
        count(*) as topic_articles
    from articles_in_window
    inner join article_topics using (article_id)
    cross join params
    where article_topics.topic = params.topic
      and article_topics.relevant
    group by articles_in_window.week
),

subtopic_relevant as (
    select
        articles_in_window.week,
        article_topics.topic as subtopic,
        count(*) as articles
    from articles_in_window
    inner join article_topics using (article_id)
    cross join params
    where article_topics.parent_topic = params.topic
      and article_topics.relevant
    group by articles_in_window.week, article_topics.topic
)

select
    subtopic_relevant.week,
    subtopic_relevant.subtopic,
    subtopic_relevant.articles,
    parent_relevant.topic_articles,
    round(subtopic_relevant.articles / parent_relevant.topic_articles, 3) as share_of_topic
from subtopic_relevant
inner join parent_relevant using (week)
order by subtopic_relevant.week, subtopic_relevant.articles desc, subtopic_relevant.subtopic
