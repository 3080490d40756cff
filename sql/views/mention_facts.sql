-- name: mention_facts
-- description: One row per entity mention, with the entity's canonical name, label and Wikidata QID and the
--   article's outlet, publication day and week (weeks start on Monday, UTC; see article_facts).
--   counts_as_entity_id / counts_as fold a demonym into its country ("Russian" -> Russia) for queries
--   that want "Russian meddling" to count toward Russia; for every other entity they are the entity itself.
-- Builds on article_days (file names sort in creation order).
create or replace view mention_facts as
with source_mentions as (
    select
        mention_id,
        article_id,
        entity_id,
        text as mention_text,
        start_char,
        end_char,
        annotation_version
    from mentions
),

source_entities as (
    select
        entity_id,
        canonical,
        label,
        qid,
        country_entity_id
    from entities
),

countries as (
    select
        entity_id as country_entity_id,
        canonical as country
    from entities
),

dated_articles as (
    select
        article_id,
        outlet,
        published_day
    from article_days
)

select
    source_mentions.mention_id,
    source_mentions.article_id,
    source_mentions.entity_id,
    source_entities.canonical,
    source_entities.label,
    source_entities.qid,
    coalesce(source_entities.country_entity_id, source_mentions.entity_id) as counts_as_entity_id,
    coalesce(countries.country, source_entities.canonical) as counts_as,
    source_mentions.mention_text,
    source_mentions.start_char,
    source_mentions.end_char,
    dated_articles.outlet,
    dated_articles.published_day,
    cast(date_trunc('week', dated_articles.published_day) as date) as published_week,
    source_mentions.annotation_version
from source_mentions
inner join source_entities using (entity_id)
left join countries using (country_entity_id)
inner join dated_articles using (article_id);
