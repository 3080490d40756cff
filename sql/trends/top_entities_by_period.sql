-- name: top_entities_by_period
-- description: Per period, the top entities by the number of distinct topic-relevant articles that mention them, with mentions and outlets.
-- params: period (text, default week), since (date), until (date), topic (text, default russian_interference), limit (int, default 10), label (text, optional), outlet (text, optional)
--
-- period is day, week (Monday, UTC), month, quarter or year; limit is per period. label filters on the
-- entity label (PERSON, ORG, GPE, ...); outlet on the article's outlet. Ties are broken by mention count,
-- then by name. top_entities_weekly is this query for weeks, with demonym folding.
with params as (
    select
        coalesce(getvariable('period')::varchar, 'week') as period,
        coalesce(getvariable('since')::date, date '1900-01-01') as since,
        coalesce(getvariable('until')::date, date '9999-12-31') as until,
        coalesce(getvariable('topic')::varchar, 'russian_interference') as topic,
        coalesce(getvariable('limit')::int, 10) as top_n,
        upper(getvariable('label')::varchar) as label,
        getvariable('outlet')::varchar as outlet
),

relevant_articles as (
    select
        article_facts.article_id,
        article_facts.outlet,
        cast(date_trunc(params.period, article_facts.published_day) as date) as period_start
    from article_facts
    inner join article_topics using (article_id)
    cross join params
    where article_topics.topic = params.topic
      and article_topics.relevant
      and article_facts.published_day between params.since and params.until
      and (params.outlet is null or article_facts.outlet = params.outlet)
),

-- Aggregate on ids first and name the entities last: the mentions table is the big one.
per_period as (
    select
        relevant_articles.period_start,
        mentions.entity_id,
        count(distinct mentions.article_id) as articles,
        count(*) as mentions,
        count(distinct relevant_articles.outlet) as outlets
    from mentions
    inner join relevant_articles using (article_id)
    group by relevant_articles.period_start, mentions.entity_id
),

ranked as (
    select
        per_period.*,
        entities.canonical,
        entities.label,
        row_number() over (
            partition by per_period.period_start
            order by per_period.articles desc, per_period.mentions desc, entities.canonical, entities.label
        ) as rank
    from per_period
    inner join entities using (entity_id)
    cross join params
    where params.label is null or entities.label = params.label
)

select
    ranked.period_start,
    ranked.rank,
    ranked.canonical,
    ranked.label,
    ranked.articles,
    ranked.mentions,
    ranked.outlets
from ranked
cross join params
where ranked.rank <= params.top_n
order by ranked.period_start, ranked.rank;
