-- name: top_entities_weekly
-- description: Per week (Monday, UTC), the top entities by the number of distinct topic-relevant articles that mention them.
-- params: since (date), until (date), topic (text, default russian_interference), limit (int, default 20), label (text, optional), fold_demonyms (bool, default false)
--
-- limit is per week. label filters on the entity label (PERSON, ORG, GPE, ...); unset means all labels.
-- fold_demonyms counts a demonym toward its country ("Russian hackers" toward Russia).
-- Ties are broken by mention count, then by name, so the ranking is stable.
with params as (
    select
        coalesce(getvariable('since')::date, date '1900-01-01') as since,
        coalesce(getvariable('until')::date, date '9999-12-31') as until,
        coalesce(getvariable('topic')::varchar, 'russian_interference') as topic,
        coalesce(getvariable('limit')::int, 20) as top_n,
        upper(getvariable('label')::varchar) as label,
        coalesce(getvariable('fold_demonyms')::boolean, false) as fold_demonyms
),

relevant as (
    select article_topics.article_id
    from article_topics
    cross join params
    where article_topics.topic = params.topic
      and article_topics.relevant
),

folded_mentions as (
    select
        mention_facts.published_week,
        mention_facts.published_day,
        mention_facts.article_id,
        case when params.fold_demonyms then mention_facts.counts_as_entity_id else mention_facts.entity_id end
            as entity_id
    from mention_facts
    cross join params
),

relevant_mentions as (
    select
        folded_mentions.published_week,
        folded_mentions.entity_id,
        entities.canonical,
        entities.label,
        folded_mentions.article_id
    from folded_mentions
    inner join relevant using (article_id)
    inner join entities using (entity_id)
    cross join params
    where folded_mentions.published_day between params.since and params.until
      and (params.label is null or entities.label = params.label)
),

weekly as (
    select
        published_week as week,
        entity_id,
        canonical,
        label,
        count(distinct article_id) as articles,
        count(*) as mentions
    from relevant_mentions
    group by published_week, entity_id, canonical, label
),

ranked as (
    select
        *,
        row_number() over (
            partition by week
            order by articles desc, mentions desc, canonical, label
        ) as rank
    from weekly
)

select
    ranked.week,
    ranked.rank,
    ranked.canonical,
    ranked.label,
    ranked.articles,
    ranked.mentions
from ranked
cross join params
where ranked.rank <= params.top_n
order by ranked.week, ranked.rank;
