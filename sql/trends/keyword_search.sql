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

-- IN, not a join, and before the other filters: the few hits are the hash table and the articles stream
-- past it (a join built its table from every article: 0.6 s instead of 0.04 s at a million articles).
hit_articles as (
    select
        articles.article_id,
        articles.published,
        -- The UTC day, as article_days computes it (the view would compute it for every article first).
        date '1970-01-01' + cast(floor(epoch_us(coalesce(articles.published, articles.fetched_at)) / 86400000000.0) as integer)
            as published_day,
        articles.outlet,
        articles.title,
        articles.canonical_url
    from articles
    where articles.article_id in (select article_id from hits)
),

found as (
    select hit_articles.*
    from hit_articles
    cross join params
    where hit_articles.published_day between params.since and params.until
      and (params.outlet is null or hit_articles.outlet = params.outlet)
      and (
          params.topic is null
          or hit_articles.article_id in (
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
