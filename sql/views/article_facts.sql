-- name: article_facts
-- description: One row per article with its publication day (UTC) and the russian_interference
--   topic score, left-joined (NULL when the article was not scored for that topic).
-- Builds on article_days (file names sort in creation order): days, clusters, as described there.
create or replace view article_facts as
with russian_interference as (
    select
        article_id,
        score,
        relevant
    from article_topics
    where topic = 'russian_interference'
)

select
    article_days.article_id,
    article_days.outlet,
    article_days.published,
    article_days.published_day,
    article_days.day_source,
    article_days.title,
    article_days.canonical_url,
    article_days.word_count,
    article_days.cluster_id,
    article_days.wire_agency,
    article_days.quality_flags,
    russian_interference.score as russian_interference_score,
    russian_interference.relevant as russian_interference_relevant
from article_days
left join russian_interference using (article_id);
