-- name: article_days
-- description: One row per article with its publication day (UTC), and what the trends group by: outlet,
--   story cluster, wire agency, quality flags, date provenance. No topic columns (see article_facts), so the
--   views and queries that only need dates and outlets skip the topic join.
-- Days are UTC calendar days; an article without a published time is dated by when it was fetched,
-- so that it still shows up in the daily and weekly trends. cluster_id groups syndicated copies of one
-- story (etl.dedup); an article alone in its cluster has its own id as cluster_id.
create or replace view article_days as
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
    published_source,
    published_confidence,
    -- The UTC day from the instant's epoch microseconds: the same day as
    -- cast(timezone('UTC', ...) as date), without ICU's time-zone machinery (ten times faster).
    date '1970-01-01' + cast(floor(epoch_us(coalesce(published, fetched_at)) / 86400000000.0) as integer)
        as published_day,
    -- Says openly when the day is the fetch day, because the article carried no date of its own.
    case when published is null then 'fetched' else 'published' end as day_source
from articles;
