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

article_entities as (
    select distinct
        mention_facts.article_id,
        mention_facts.outlet,
        mention_facts.published_day,
        mention_facts.entity_id,
        mention_facts.canonical,
        mention_facts.label
    from mention_facts
    inner join relevant using (article_id)
    cross join params
    where mention_facts.published_day between params.since and params.until
      and (params.label is null or mention_facts.label = params.label)
),

pairs as (
    select
        a.canonical as entity_a,
        a.label as label_a,
        b.canonical as entity_b,
        b.label as label_b,
        count(distinct a.article_id) as articles,
        count(distinct a.outlet) as outlets,
        min(a.published_day) as first_day,
        max(a.published_day) as last_day
    from article_entities as a
    inner join article_entities as b
        on a.article_id = b.article_id
        and a.canonical < b.canonical
    group by a.canonical, a.label, b.canonical, b.label
),

ranked as (
    select
        *,
        row_number() over (order by articles desc, outlets desc, entity_a, entity_b, label_a, label_b) as rank
    from pairs
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
