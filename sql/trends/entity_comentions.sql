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

relevant_articles as (
    select
        article_facts.article_id,
        article_facts.outlet,
        article_facts.published_day
    from article_facts
    inner join article_topics using (article_id)
    cross join params
    where article_topics.topic = params.topic
      and article_topics.relevant
      and article_facts.published_day between params.since and params.until
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

-- Pairs are formed and counted on ids (the mentions table is the big one); names come in at the end.
article_entities as (
    select distinct
        mentions.article_id,
        mentions.entity_id
    from mentions
    inner join relevant_articles using (article_id)
    where mentions.entity_id in (select entity_id from wanted_entities)
),

pair_articles as (
    select
        a.article_id,
        a.entity_id as id_a,
        b.entity_id as id_b
    from article_entities as a
    inner join article_entities as b
        on a.article_id = b.article_id
        and a.entity_id < b.entity_id
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

pair_counts as (
    select
        pair_articles.id_a,
        pair_articles.id_b,
        count(*) as articles
    from pair_articles
    anti join same_name using (id_a, id_b)
    group by pair_articles.id_a, pair_articles.id_b
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
        count(distinct relevant_articles.outlet) as outlets,
        min(relevant_articles.published_day) as first_day,
        max(relevant_articles.published_day) as last_day
    from candidates
    inner join pair_articles using (id_a, id_b)
    inner join relevant_articles using (article_id)
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
