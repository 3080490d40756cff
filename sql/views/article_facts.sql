-- name: article_facts
-- description: One row per article with its publication day (UTC) and the russian_interference
--   topic score, left-joined (NULL when the article was not scored for that topic).
-- Days are UTC calendar days; an article without a published time is dated by when it was fetched,
-- so that it still shows up in the daily and weekly trends. cluster_id groups syndicated copies of one
-- story (etl.dedup); an article alone in its cluster has its own id as cluster_id.
create or replace view article_facts as
with source_articles as (
    select
        article_id,
        outlet,
        published,
        fetched_at,
        title,
        canonical_url,
        word_count,
        coalesce(cluster_id, article_id) as cluster_id,
        wire_agency,
        quality_flags,
        -- The UTC day from the instant's epoch microseconds: the same day as
        -- cast(timezone('UTC', ...) as date), without ICU's time-zone machinery (ten times faster).
        date '1970-01-01' + cast(floor(epoch_us(coalesce(published, fetched_at)) / 86400000000.0) as integer)
            as published_day,
        -- Says openly when the day is the fetch day, because the article carried no date of its own.
        case when published is null then 'fetched' else 'published' end as day_source
    from articles
),

russian_interference as (
    select
        article_id,
        score,
        relevant
    from article_topics
    where topic = 'russian_interference'
)

select
    source_articles.article_id,
    source_articles.outlet,
    source_articles.published,
    source_articles.published_day,
    source_articles.day_source,
    source_articles.title,
    source_articles.canonical_url,
    source_articles.word_count,
    source_articles.cluster_id,
    source_articles.wire_agency,
    source_articles.quality_flags,
    russian_interference.score as russian_interference_score,
    russian_interference.relevant as russian_interference_relevant
from source_articles
left join russian_interference using (article_id);
