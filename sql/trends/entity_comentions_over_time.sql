-- name: entity_comentions_over_time
-- description: Per period, the pairs of entities most often mentioned in the same topic-relevant article; with entity set, only the pairs that include it (who appears with Putin, month by month).
-- params: period (text, default month), since (date), until (date), topic (text, default russian_interference), entity (text, optional), label (text, optional), limit (int, default 10)
--
-- entity matches a canonical name case-insensitively and exactly ("vladimir putin"); label applies to
-- both entities of a pair. Each pair is listed once, entity_a < entity_b by name; limit is per period.
with params as (
    select
        coalesce(getvariable('period')::varchar, 'month') as period,
        coalesce(getvariable('since')::date, date '1900-01-01') as since,
        coalesce(getvariable('until')::date, date '9999-12-31') as until,
        coalesce(getvariable('topic')::varchar, 'russian_interference') as topic,
        lower(getvariable('entity')::varchar) as entity,
        upper(getvariable('label')::varchar) as label,
        coalesce(getvariable('limit')::int, 10) as top_n
),

relevant_articles as (
    select
        article_facts.article_id,
        cast(date_trunc(params.period, article_facts.published_day) as date) as period_start
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
        entities.canonical
    from entities
    cross join params
    where params.label is null or entities.label = params.label
),

-- Pairs are formed and counted on ids (the mentions table is the big one); names come in at the end.
article_entities as (
    select distinct
        relevant_articles.period_start,
        mentions.article_id,
        mentions.entity_id
    from mentions
    inner join relevant_articles using (article_id)
    where mentions.entity_id in (select entity_id from wanted_entities)
),

-- With entity set, the ids that carry that name.
focus as (
    select wanted_entities.entity_id
    from wanted_entities
    cross join params
    where lower(wanted_entities.canonical) = params.entity
),

pair_counts as (
    select
        a.period_start,
        a.entity_id as id_a,
        b.entity_id as id_b,
        count(*) as articles
    from article_entities as a
    inner join article_entities as b
        on a.article_id = b.article_id
        and a.entity_id < b.entity_id
    cross join params
    where params.entity is null
       or a.entity_id in (select entity_id from focus)
       or b.entity_id in (select entity_id from focus)
    group by a.period_start, a.entity_id, b.entity_id
),

named as (
    select
        pair_counts.period_start,
        least(a.canonical, b.canonical) as entity_a,
        greatest(a.canonical, b.canonical) as entity_b,
        pair_counts.articles
    from pair_counts
    inner join wanted_entities as a on a.entity_id = pair_counts.id_a
    inner join wanted_entities as b on b.entity_id = pair_counts.id_b
    where a.canonical <> b.canonical
),

ranked as (
    select
        *,
        row_number() over (partition by period_start order by articles desc, entity_a, entity_b) as rank
    from named
)

select
    ranked.period_start,
    ranked.rank,
    ranked.entity_a,
    ranked.entity_b,
    ranked.articles
from ranked
cross join params
where ranked.rank <= params.top_n
order by ranked.period_start, ranked.rank;
