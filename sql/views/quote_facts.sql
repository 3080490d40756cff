-- name: quote_facts
-- description: One row per quote, with the article's outlet and publication day (UTC; see
--   article_facts), the speaker as written and canonical, and the speaker's entity when known.
-- Builds on article_days (file names sort in creation order).
create or replace view quote_facts as
with source_quotes as (
    select
        quote_id,
        article_id,
        quote,
        speaker,
        speaker_canonical,
        speaker_entity_id,
        cue,
        kind,
        via,
        confidence
    from quotes
),

dated_articles as (
    select
        article_id,
        outlet,
        published_day,
        title,
        canonical_url
    from article_days
)

select
    source_quotes.quote_id,
    source_quotes.article_id,
    dated_articles.outlet,
    dated_articles.published_day,
    dated_articles.title,
    dated_articles.canonical_url,
    source_quotes.speaker,
    source_quotes.speaker_canonical,
    source_quotes.speaker_entity_id,
    source_quotes.kind,
    source_quotes.cue,
    source_quotes.quote,
    source_quotes.via,
    source_quotes.confidence
from source_quotes
inner join dated_articles using (article_id);
