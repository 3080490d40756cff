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

relevant as (
    select article_topics.article_id
    from article_topics
    cross join params
    where article_topics.topic = params.topic
      and article_topics.relevant
),

wanted_entities as (
    select
        entities.entity_id,
        entities.canonical
    from entities
    cross join params
    where params.label is null or entities.label = params.label
),

-- With entity set, the ids that carry that name.
focus as (
    select wanted_entities.entity_id
    from wanted_entities
    cross join params
    where lower(wanted_entities.canonical) = params.entity
),

-- Pairs are formed and counted on ids; names come in at the end. article_entities has one row per
-- article and entity. With entity set, only the articles that mention it.
article_rows as (
    select
        cast(date_trunc((select period from params), article_entities.published_day) as date) as period_start,
        article_entities.article_id,
        article_entities.entity_id
    from article_entities
    cross join params
    where article_entities.published_day between params.since and params.until
      and article_entities.article_id in (select article_id from relevant)
      and (
          params.entity is null
          or article_entities.article_id in (
              select article_id from article_entities where entity_id in (select entity_id from focus)
          )
      )
),

entity_counts as (
    select
        article_rows.period_start,
        article_rows.entity_id,
        count(*) as articles
    from article_rows
    where article_rows.entity_id in (select entity_id from wanted_entities)
    group by article_rows.period_start, article_rows.entity_id
),

-- Pruning, exact (as in entity_comentions, per period): a pair is in at most as many articles as the
-- rarer of its entities, and the top_n-th best pair among each period's most frequent entities is a
-- floor for that period's top_n-th best pair; only entities reaching the floor are paired. Without an
-- entity to focus on, that is; with one, its articles are few enough to pair them all.
seed_cutoffs as (
    select
        period_start,
        list_min(max(articles, 3 * (select top_n from params) + 10)) as articles
    from entity_counts
    group by period_start
),

seed_rows as (
    select article_rows.*
    from article_rows
    inner join entity_counts using (period_start, entity_id)
    inner join seed_cutoffs using (period_start)
    where entity_counts.articles >= seed_cutoffs.articles
),

seed_pairs as (
    select
        a.period_start,
        count(*) as articles
    from seed_rows as a
    inner join seed_rows as b
        on a.article_id = b.article_id
        and a.entity_id < b.entity_id
    inner join wanted_entities as name_a on name_a.entity_id = a.entity_id
    inner join wanted_entities as name_b on name_b.entity_id = b.entity_id
    where name_a.canonical <> name_b.canonical
    group by a.period_start, a.entity_id, b.entity_id
),

floors as (
    select
        seed_pairs.period_start,
        case
            when params.entity is not null or count(*) < params.top_n then 1
            else list_min(max(seed_pairs.articles, params.top_n))
        end as articles
    from seed_pairs
    cross join params
    group by seed_pairs.period_start, params.entity, params.top_n
),

eligible_rows as (
    select article_rows.*
    from article_rows
    inner join entity_counts using (period_start, entity_id)
    left join floors using (period_start)
    where entity_counts.articles >= coalesce(floors.articles, 1)
),

pair_counts as (
    select
        a.period_start,
        a.entity_id as id_a,
        b.entity_id as id_b,
        count(*) as articles
    from eligible_rows as a
    inner join eligible_rows as b
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
