-- name: date_provenance
-- description: Data quality: where each outlet's publication dates came from (feed entry, HTML metadata, URL, text search, or none, dated by the fetch), with the share of the outlet's articles and the mean confidence.
-- params: since (date), until (date), outlet (text, optional)
--
-- published_source is what etl/extract.py recorded; 'none' marks articles without a publication date,
-- which the trends date by the day they were fetched.
with params as (
    select
        coalesce(getvariable('since')::date, date '1900-01-01') as since,
        coalesce(getvariable('until')::date, date '9999-12-31') as until,
        getvariable('outlet')::varchar as outlet
),

dated as (
    select
        article_days.outlet,
        case when article_days.published is null then 'none' else coalesce(article_days.published_source, 'unknown') end
            as date_source,
        article_days.published_confidence
    from article_days
    cross join params
    where article_days.published_day between params.since and params.until
      and (params.outlet is null or article_days.outlet = params.outlet)
),

per_source as (
    select
        outlet,
        date_source,
        count(*) as articles,
        round(avg(published_confidence), 2) as mean_confidence
    from dated
    group by outlet, date_source
)

select
    outlet,
    date_source,
    articles,
    round(articles / sum(articles) over (partition by outlet), 3) as share_of_outlet,
    mean_confidence
from per_source
order by outlet, articles desc, date_source;
