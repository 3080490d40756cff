-- name: keyword_search
-- description: Articles whose title or text contains every given word, newest first, from the article_terms index (no fts extension needed).
-- params: words (text), since (date), until (date), outlet (text, optional), topic (text, optional), limit (int, default 50)
--
-- words are split and lower-cased as the index was built (runs of letters and digits, 2 to 40
-- characters); stop words ('the', 'said', ...: search_stopwords) are ignored. No words, or only stop
-- words, find nothing. Whole words only: 'hack' does not find 'hackers'. topic, when set, keeps only the
-- articles relevant to it.
with params as (
    select
        lower(coalesce(getvariable('words')::varchar, '')) as words,
        coalesce(getvariable('since')::date, date '1900-01-01') as since,
        coalesce(getvariable('until')::date, date '9999-12-31') as until,
        getvariable('outlet')::varchar as outlet,
        getvariable('topic')::varchar as topic,
        coalesce(getvariable('limit')::int, 50) as top_n
),

wanted as (
    select distinct term
    from (select unnest(regexp_extract_all(params.words, '[\p{L}\p{N}]+')) as term from params) as split
    where length(term) between 2 and 40
      and term not in (select term from search_stopwords)
),

hits as (
    select article_terms.article_id
    from article_terms
    where article_terms.term in (select term from wanted)
    group by article_terms.article_id
    having count(*) = (select count(*) from wanted)
),

found as (
    select
        article_days.article_id,
        article_days.published,
        article_days.published_day,
        article_days.outlet,
        article_days.title,
        article_days.canonical_url
    from hits
    inner join article_days using (article_id)
    cross join params
    where article_days.published_day between params.since and params.until
      and (params.outlet is null or article_days.outlet = params.outlet)
      and (
          params.topic is null
          or article_days.article_id in (
              select article_topics.article_id
              from article_topics
              where article_topics.topic = params.topic and article_topics.relevant
          )
      )
)

select
    found.published_day,
    found.outlet,
    found.title,
    found.canonical_url,
    found.article_id
from found
cross join params
order by found.published desc nulls last, found.article_id
limit (select top_n from params);
