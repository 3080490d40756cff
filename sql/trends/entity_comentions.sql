-- name: entity_comentions
-- description: Pairs of entities mentioned together in the same topic-relevant article, ranked by the number of such articles.
-- params: since (date), until (date), topic (text, default russian_interference), limit (int, default 20), label (text, optional)
--
-- Each pair is listed once, entity_a < entity_b by canonical name. label, when set, applies to both
-- entities of the pair (e.g. PERSON: who appears with whom).
with params as (
    select
        coalesce(getvariable('since')::date, date '1900-01-01') as since,
        coalesce(getvariable('until')::date, date '9999-12-31') as until,
        coalesce(getvariable('topic')::varchar, 'russian_interference') as topic,
        coalesce(getvariable('limit')::int, 20) as top_n,
        upper(getvariable('label')::varchar) as label
),

relevant as (
    select article_topics.article_id
    from article_topics
    cross join params
    where article_topics.topic = params.topic
      and article_topics.relevant
),

wanted_entities as (
    select
        entities.entity_id,
        entities.canonical,
        entities.label
    from entities
    cross join params
    where params.label is null or entities.label = params.label
),

-- Pairs are formed and counted on ids; names come in at the end. article_entities has one row per
-- article and entity.
article_rows as (
    select
        article_entities.article_id,
        article_entities.entity_id,
        article_entities.published_day
    from article_entities
    cross join params
    where article_entities.published_day between params.since and params.until
      and article_entities.article_id in (select article_id from relevant)
),

-- Two entities of one name (Russia the GPE, Russia the ORG) are not a pair.
same_name as (
    select
        a.entity_id as id_a,
        b.entity_id as id_b
    from wanted_entities as a
    inner join wanted_entities as b
        on a.canonical = b.canonical
        and a.entity_id < b.entity_id
),

-- Pruning, exact: a pair is in at most as many articles as the rarer of its entities. The top_n-th best
-- pair among the most frequent entities (the seeds) is a floor for the top_n-th best pair overall, so
-- only entities in at least that many articles can be in the answer, and only they are paired below.
entity_counts as (
    select
        article_rows.entity_id,
        count(*) as articles
    from article_rows
    cross join params
    where params.label is null
       or article_rows.entity_id in (select entity_id from entities where entities.label = params.label)
    group by article_rows.entity_id
),

seed_rows as (
    select article_rows.*
    from article_rows
    where article_rows.entity_id in (
        select entity_id from entity_counts order by articles desc limit (select 3 * top_n + 10 from params)
    )
),

seed_pairs as (
    select count(*) as articles
    from seed_rows as a
    inner join seed_rows as b
        on a.article_id = b.article_id
        and a.entity_id < b.entity_id
    anti join same_name on same_name.id_a = a.entity_id and same_name.id_b = b.entity_id
    group by a.entity_id, b.entity_id
),

pair_floor as (
    select case when count(*) < (select top_n from params) then 1 else min(articles) end as articles
    from (select articles from seed_pairs order by articles desc limit (select top_n from params))
),

eligible_rows as (
    select article_rows.*
    from article_rows
    where article_rows.entity_id in (
        select entity_id from entity_counts where articles >= (select articles from pair_floor)
    )
),

pair_articles as (
    select
        a.article_id,
        a.published_day,
        a.entity_id as id_a,
        b.entity_id as id_b
    from eligible_rows as a
    inner join eligible_rows as b
        on a.article_id = b.article_id
        and a.entity_id < b.entity_id
),

pair_counts as (
    select
        grouped.*
    from (
        select
            pair_articles.id_a,
            pair_articles.id_b,
            count(*) as articles
        from pair_articles
        group by pair_articles.id_a, pair_articles.id_b
    ) as grouped
    anti join same_name using (id_a, id_b)
),

-- Pairs rank by articles first, so only pairs with at least as many articles as the top_n-th best can be
-- in the answer: outlets and days are worked out for those alone.
threshold as (
    select coalesce(min(articles), 0) as articles
    from (select articles from pair_counts order by articles desc limit (select top_n from params))
),

candidates as (
    select pair_counts.*
    from pair_counts
    where pair_counts.articles >= (select articles from threshold)
),

details as (
    select
        candidates.id_a,
        candidates.id_b,
        candidates.articles,
        count(distinct articles.outlet) as outlets,
        min(pair_articles.published_day) as first_day,
        max(pair_articles.published_day) as last_day
    from candidates
    inner join pair_articles using (id_a, id_b)
    inner join articles using (article_id)
    group by candidates.id_a, candidates.id_b, candidates.articles
),

named as (
    select
        case when a.canonical < b.canonical then a.canonical else b.canonical end as entity_a,
        case when a.canonical < b.canonical then a.label else b.label end as label_a,
        case when a.canonical < b.canonical then b.canonical else a.canonical end as entity_b,
        case when a.canonical < b.canonical then b.label else a.label end as label_b,
        details.articles,
        details.outlets,
        details.first_day,
        details.last_day
    from details
    inner join wanted_entities as a on a.entity_id = details.id_a
    inner join wanted_entities as b on b.entity_id = details.id_b
),

ranked as (
    select
        *,
        row_number() over (order by articles desc, outlets desc, entity_a, entity_b, label_a, label_b) as rank
    from named
)

select
    ranked.rank,
    ranked.entity_a,
    ranked.label_a,
    ranked.entity_b,
    ranked.label_b,
    ranked.articles,
    ranked.outlets,
    ranked.first_day,
    ranked.last_day
from ranked
cross join params
where ranked.rank <= params.top_n
order by ranked.rank;
