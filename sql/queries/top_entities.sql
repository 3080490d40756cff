-- name: top_entities
-- description: The top entities over the whole window by the number of distinct topic-relevant articles that mention them.
-- params: since (date), until (date), topic (text, default russian_interference), limit (int, default 20), label (text, optional)
--
-- top_entities_weekly without the weeks. label filters on the entity label (PERSON, ORG, GPE, ...).
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

relevant_mentions as (
    select
        mention_facts.entity_id,
        mention_facts.canonical,
        mention_facts.label,
        mention_facts.article_id,
        mention_facts.outlet,
        mention_facts.published_day
    from mention_facts
    inner join relevant using (article_id)
    cross join params
    where mention_facts.published_day between params.since and params.until
      and (params.label is null or mention_facts.label = params.label)
),

totals as (
    select
        entity_id,
        canonical,
        label,
        count(distinct article_id) as articles,
        count(*) as mentions,
        count(distinct outlet) as outlets,
        min(published_day) as first_day,
        max(published_day) as last_day
    from relevant_mentions
    group by entity_id, canonical, label
),

ranked as (
    select
        *,
        row_number() over (order by articles desc, mentions desc, canonical, label) as rank
    from totals
)

select
    ranked.rank,
    ranked.canonical,
    ranked.label,
    ranked.articles,
    ranked.mentions,
    ranked.outlets,
    ranked.first_day,
    ranked.last_day
from ranked
cross join params
where ranked.rank <= params.top_n
order by ranked.rank;
