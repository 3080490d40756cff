-- name: mention_facts
-- description: One row per entity mention, with the entity's canonical name and label and the
--   article's outlet, publication day and week (weeks start on Monday, UTC; see article_facts).
-- Builds on article_facts (file names sort in creation order).
create or replace view mention_facts as
with source_mentions as (
    select
        mention_id,
        article_id,
        entity_id,
        text as mention_text,
        start_char,
        end_char
    from mentions
),

source_entities as (
    select
        entity_id,
        canonical,
        label
    from entities
),

dated_articles as (
    select
        article_id,
        outlet,
        published_day
    from article_facts
)

select
    source_mentions.mention_id,
    source_mentions.article_id,
    source_mentions.entity_id,
    source_entities.canonical,
    source_entities.label,
    source_mentions.mention_text,
    source_mentions.start_char,
    source_mentions.end_char,
    dated_articles.outlet,
    dated_articles.published_day,
    cast(date_trunc('week', dated_articles.published_day) as date) as published_week
from source_mentions
inner join source_entities using (entity_id)
inner join dated_articles using (article_id);
