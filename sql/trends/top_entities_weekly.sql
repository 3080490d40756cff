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

-- With fold_demonyms, a demonym ("Russian") counts as its country.
folds as (
    select
        entities.entity_id,
        entities.country_entity_id as counted_id
    from entities
    cross join params
    where params.fold_demonyms
      and entities.country_entity_id is not null
),

-- article_entities has one row per article and entity, so distinct articles are rows; only folding can
-- put two rows of one article under one entity (Russian and Russia), and only then are they merged.
relevant_rows as (
    select
        cast(date_trunc('week', article_entities.published_day) as date) as week,
        coalesce(folds.counted_id, article_entities.entity_id) as entity_id,
        article_entities.article_id,
        article_entities.mentions
    from article_entities
    left join folds using (entity_id)
    cross join params
    where article_entities.published_day between params.since and params.until
      and article_entities.article_id in (select article_id from relevant)
),

per_article as (
    select relevant_rows.*
    from relevant_rows
    cross join params
    where not params.fold_demonyms
    union all
    select
        relevant_rows.week,
        relevant_rows.entity_id,
        relevant_rows.article_id,
        sum(relevant_rows.mentions) as mentions
    from relevant_rows
    cross join params
    where params.fold_demonyms
    group by relevant_rows.week, relevant_rows.entity_id, relevant_rows.article_id
),

weekly as (
    select
        per_article.week,
        per_article.entity_id,
        count(*) as articles,
        sum(per_article.mentions) as mentions
    from per_article
    cross join params
    where params.label is null
       or per_article.entity_id in (select entity_id from entities where entities.label = params.label)
    group by per_article.week, per_article.entity_id
),

-- Ranking hundreds of thousands of (week, entity) rows by name is the slow part; articles and mentions
-- decide the ranks except for ties, so each week's top_n-th (articles, mentions) is found first (a
-- top-n aggregate, no sort) and only the rows reaching it are named and ranked.
scored as (
    select
        weekly.*,
        weekly.articles * 4294967296 + weekly.mentions as score
    from weekly
),

cutoffs as (
    select
        scored.week,
        list_min(max(scored.score, params.top_n)) as cutoff
    from scored
    cross join params
    group by scored.week
),

ranked as (
    select
        scored.week,
        scored.articles,
        scored.mentions,
        entities.canonical,
        entities.label,
        row_number() over (
            partition by scored.week
            order by scored.articles desc, scored.mentions desc, entities.canonical, entities.label
        ) as rank
    from scored
    inner join cutoffs using (week)
    inner join entities using (entity_id)
    where scored.score >= cutoffs.cutoff
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
