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

-- Each entity and the entity it counts as: itself, or with fold_demonyms a demonym's country.
counted_as as (
    select
        entities.entity_id,
        case when params.fold_demonyms then coalesce(entities.country_entity_id, entities.entity_id)
            else entities.entity_id end as counted_id
    from entities
    cross join params
),

-- Counted on ids (the mentions table is the big one); names come in for the totals only.
totals as (
    select
        counted_as.counted_id as entity_id,
        count(distinct mentions.article_id) as articles,
        count(*) as mentions,
        count(distinct relevant_articles.outlet) as outlets,
        min(relevant_articles.published_day) as first_day,
        max(relevant_articles.published_day) as last_day
    from mentions
    inner join relevant_articles using (article_id)
    inner join counted_as using (entity_id)
    group by counted_as.counted_id
),

ranked as (
    select
        totals.*,
        entities.canonical,
        entities.label,
        row_number() over (
            order by totals.articles desc, totals.mentions desc, entities.canonical, entities.label
        ) as rank
    from totals
    inner join entities using (entity_id)
    cross join params
    where params.label is null or entities.label = params.label
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
