-- name: outlet_comparison
-- description: Outlets side by side over a window: articles, topic-relevant articles and share, independent relevant stories, relevant placements that are syndicated copies, words per article, quotes and speakers in relevant articles.
-- params: since (date), until (date), topic (text, default russian_interference)
--
-- A story is a cluster of near-identical copies (story_clusters); a syndicated placement is a relevant
-- article whose cluster holds more than one copy anywhere in the database.
with params as (
    select
        coalesce(getvariable('since')::date, date '1900-01-01') as since,
        coalesce(getvariable('until')::date, date '9999-12-31') as until,
        coalesce(getvariable('topic')::varchar, 'russian_interference') as topic
),

window_articles as (
    select
        article_days.article_id,
        article_days.outlet,
        article_days.cluster_id,
        article_days.word_count,
        coalesce(article_topics.relevant, false) as relevant
    from article_days
    cross join params
    left join article_topics
        on article_topics.article_id = article_days.article_id
        and article_topics.topic = params.topic
    where article_days.published_day between params.since and params.until
),

cluster_sizes as (
    select
        cluster_id,
        count(*) as copies
    from article_days
    group by cluster_id
),

relevant_quotes as (
    select
        window_articles.outlet,
        count(*) as quotes,
        count(distinct quotes.speaker_canonical) as speakers
    from window_articles
    inner join quotes using (article_id)
    where window_articles.relevant
    group by window_articles.outlet
),

per_outlet as (
    select
        window_articles.outlet,
        count(*) as articles,
        count(*) filter (where window_articles.relevant) as relevant_articles,
        count(distinct window_articles.cluster_id) filter (where window_articles.relevant) as relevant_stories,
        count(*) filter (where window_articles.relevant and cluster_sizes.copies > 1) as syndicated_placements,
        round(avg(window_articles.word_count), 1) as avg_words
    from window_articles
    inner join cluster_sizes using (cluster_id)
    group by window_articles.outlet
)

select
    per_outlet.outlet,
    per_outlet.articles,
    per_outlet.relevant_articles,
    round(per_outlet.relevant_articles / per_outlet.articles, 3) as share_relevant,
    per_outlet.relevant_stories,
    per_outlet.syndicated_placements,
    per_outlet.avg_words,
    coalesce(relevant_quotes.quotes, 0) as relevant_quotes,
    coalesce(relevant_quotes.speakers, 0) as relevant_speakers
from per_outlet
left join relevant_quotes using (outlet)
order by per_outlet.relevant_articles desc, per_outlet.outlet;
