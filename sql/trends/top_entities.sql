-- name: top_entities
-- description: The top entities over the whole window by the number of distinct topic-relevant articles that mention them.
-- params: since (date), until (date), topic (text, default russian_interference), limit (int, default 20), label (text, optional), fold_demonyms (bool, default false)
--
-- top_entities_weekly without the weeks. label filters on the entity label (PERSON, ORG, GPE, ...).
-- fold_demonyms counts a demonym toward its country ("Russian hackers" toward Russia); the label filter
-- then applies to the country's label.
with params as (
    select
        coalesce(getvariable('since')::date, date '1900-01-01') as since,
        coalesce(getvariable('until')::date, date '9999-12-31') as until,
        coalesce(getvariable('topic')::varchar, 'russian_interference') as topic,
        coalesce(getvariable('limit')::int, 20) as top_n,
        upper(getvariable('label')::varchar) as label,
        coalesce(getvariable('fold_demonyms')::boolean, false) as fold_demonyms
),

folded_mentions as (
    select
        mention_facts.article_id,
        mention_facts.outlet,
        mention_facts.published_day,
        case when params.fold_demonyms then mention_facts.counts_as_entity_id else mention_facts.entity_id end
            as entity_id
    from mention_facts
    cross join params
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
        folded_mentions.entity_id,
        entities.canonical,
        entities.label,
        folded_mentions.article_id,
        folded_mentions.outlet,
        folded_mentions.published_day
    from folded_mentions
    inner join relevant using (article_id)
    inner join entities using (entity_id)
    cross join params
    where folded_mentions.published_day between params.since and params.until
      and (params.label is null or entities.label = params.label)
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
