-- name: story_clusters
-- description: One row per story: a cluster of near-identical articles (syndicated or lightly edited
--   copies), its origin (the earliest published copy), the wire agency its copies credit, and how many
--   placements it had in how many outlets.
-- Builds on article_days (file names sort in creation order).
create or replace view story_clusters as
with copies as (
    select
        cluster_id,
        article_id,
        outlet,
        published,
        published_day,
        title,
        wire_agency
    from article_days
),

ranked as (
    select
        *,
        row_number() over (partition by cluster_id order by published nulls last, article_id) as copy_rank
    from copies
),

agencies as (
    select
        cluster_id,
        mode(wire_agency) as wire_agency
    from copies
    where wire_agency is not null
    group by cluster_id
),

placements as (
    select
        cluster_id,
        count(*) as placements,
        count(distinct outlet) as outlets,
        min(published_day) as first_day,
        max(published_day) as last_day
    from copies
    group by cluster_id
)

select
    ranked.cluster_id,
    ranked.article_id as origin_article_id,
    ranked.outlet as origin_outlet,
    ranked.title as origin_title,
    agencies.wire_agency,
    coalesce(agencies.wire_agency, ranked.outlet) as origin,
    placements.placements,
    placements.outlets,
    placements.first_day,
    placements.last_day
from ranked
inner join placements using (cluster_id)
left join agencies using (cluster_id)
where ranked.copy_rank = 1;
