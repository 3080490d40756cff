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
        coalesce(folds.counted_id, article_entities.entity_id) as entity_id,
        article_entities.article_id,
        article_entities.mentions,
        article_entities.published_day
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
        relevant_rows.entity_id,
        relevant_rows.article_id,
        sum(relevant_rows.mentions) as mentions,
        any_value(relevant_rows.published_day) as published_day
    from relevant_rows
    cross join params
    where params.fold_demonyms
    group by relevant_rows.entity_id, relevant_rows.article_id
),

totals as (
    select
        per_article.entity_id,
        count(*) as articles,
        sum(per_article.mentions) as mentions,
        min(per_article.published_day) as first_day,
        max(per_article.published_day) as last_day
    from per_article
    cross join params
    where params.label is null
       or per_article.entity_id in (select entity_id from entities where entities.label = params.label)
    group by per_article.entity_id
),

-- Entities rank by articles first, so only those with at least as many articles as the top_n-th can be in
-- the answer: their outlets are counted, nobody else's.
threshold as (
    select coalesce(min(articles), 0) as articles
    from (select articles from totals order by articles desc limit (select top_n from params))
),

candidates as (
    select
        totals.*,
        entities.canonical,
        entities.label
    from totals
    inner join entities using (entity_id)
    where totals.articles >= (select articles from threshold)
),

outlets as (
    select
        per_article.entity_id,
        count(distinct articles.outlet) as outlets
    from per_article
    inner join articles using (article_id)
    where per_article.entity_id in (select entity_id from candidates)
    group by per_article.entity_id
),

ranked as (
    select
        candidates.*,
        outlets.outlets,
        row_number() over (
            order by candidates.articles desc, candidates.mentions desc, candidates.canonical, candidates.label
        ) as rank
    from candidates
    inner join outlets using (entity_id)
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
