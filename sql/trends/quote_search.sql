-- name: quote_search
-- description: Quotes by speaker, words and date range, newest first, with outlet, title and URL.
-- params: speaker (text, optional), words (text, optional), since (date), until (date), kind (text, optional), limit (int, default 50)
--
-- speaker matches the canonical speaker or the speaker as written, case-insensitively, as a substring
-- ("putin" finds "Vladimir Putin"). words matches the quoted text case-insensitively; every
-- space-separated word must occur. kind is direct, indirect or mixed; unset means all.
with params as (
    select
        lower(getvariable('speaker')::varchar) as speaker,
        string_split(lower(trim(coalesce(getvariable('words')::varchar, ''))), ' ') as words,
        coalesce(getvariable('since')::date, date '1900-01-01') as since,
        coalesce(getvariable('until')::date, date '9999-12-31') as until,
        lower(getvariable('kind')::varchar) as kind,
        coalesce(getvariable('limit')::int, 50) as top_n
),

matching_quotes as (
    select quote_facts.*
    from quote_facts
    cross join params
    where quote_facts.published_day between params.since and params.until
      and (params.kind is null or quote_facts.kind = params.kind)
      and (
          params.speaker is null
          or contains(lower(coalesce(quote_facts.speaker_canonical, '')), params.speaker)
          or contains(lower(coalesce(quote_facts.speaker, '')), params.speaker)
      )
      and list_bool_and(list_transform(params.words, w -> contains(lower(quote_facts.quote), w)))
)

select
    matching_quotes.published_day,
    matching_quotes.outlet,
    matching_quotes.speaker_canonical,
    matching_quotes.speaker,
    matching_quotes.kind,
    matching_quotes.cue,
    matching_quotes.quote,
    matching_quotes.title,
    matching_quotes.canonical_url
from matching_quotes
cross join params
order by matching_quotes.published_day desc nulls last, matching_quotes.quote_id
limit (select top_n from params);
