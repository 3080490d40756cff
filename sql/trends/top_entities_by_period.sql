-- name: top_entities_by_period
-- description: Per period, the top entities by the number of distinct topic-relevant articles that mention them, with their mentions.
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

relevant as (
    select article_topics.article_id
    from article_topics
    cross join params
    where article_topics.topic = params.topic
      and article_topics.relevant
      and (
          params.outlet is null
          or article_topics.article_id in (select article_id from articles where articles.outlet = params.outlet)
      )
),

-- article_entities has one row per article and entity: distinct articles are rows.
per_period as (
    select
        cast(date_trunc((select period from params), article_entities.published_day) as date) as period_start,
        article_entities.entity_id,
        count(*) as articles,
        sum(article_entities.mentions) as mentions
    from article_entities
    cross join params
    where article_entities.published_day between params.since and params.until
      and article_entities.article_id in (select article_id from relevant)
      and (
          params.label is null
          or article_entities.entity_id in (select entity_id from entities where entities.label = params.label)
      )
    group by all
),

-- Articles and mentions decide the ranks except for ties: each period's top_n-th (articles, mentions)
-- is found first (a top-n aggregate, no sort), and only the rows reaching it are named and ranked.
scored as (
    select
        per_period.*,
        per_period.articles * 4294967296 + per_period.mentions as score
    from per_period
),

cutoffs as (
    select
        scored.period_start,
        list_min(max(scored.score, params.top_n)) as cutoff
    from scored
    cross join params
    group by scored.period_start
),

ranked as (
    select
        scored.period_start,
        scored.entity_id,
        scored.articles,
        scored.mentions,
        entities.canonical,
        entities.label,
        row_number() over (
            partition by scored.period_start
            order by scored.articles desc, scored.mentions desc, entities.canonical, entities.label
        ) as rank
    from scored
    inner join cutoffs using (period_start)
    inner join entities using (entity_id)
    where scored.score >= cutoffs.cutoff
),

shown as (
    select ranked.*
    from ranked
    cross join params
    where ranked.rank <= params.top_n
)

select
    shown.period_start,
    shown.rank,
    shown.canonical,
    shown.label,
    shown.articles,
    shown.mentions
from shown
order by shown.period_start, shown.rank;
