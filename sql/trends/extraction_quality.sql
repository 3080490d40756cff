-- name: extraction_quality
-- description: Data quality: per outlet, how many articles carry each extraction quality flag (short text, boilerplate, missing title, language mismatch, ...), and the share of the outlet's articles; 'none' counts the clean ones.
-- params: since (date), until (date), outlet (text, optional)
--
-- Flags are articles.quality_flags as etl/extract.py and etl/clean.py set them; an article with several
-- flags counts once under each.
with params as (
    select
        coalesce(getvariable('since')::date, date '1900-01-01') as since,
        coalesce(getvariable('until')::date, date '9999-12-31') as until,
        getvariable('outlet')::varchar as outlet
),

window_articles as (
    select
        article_days.article_id,
        article_days.outlet,
        article_days.quality_flags
    from article_days
    cross join params
    where article_days.published_day between params.since and params.until
      and (params.outlet is null or article_days.outlet = params.outlet)
),

outlet_totals as (
    select
        outlet,
        count(*) as outlet_articles
    from window_articles
    group by outlet
),

flags as (
    select
        outlet,
        unnest(
            case when len(coalesce(quality_flags, [])) = 0 then ['none'] else list_distinct(quality_flags) end
        ) as flag
    from window_articles
),

per_flag as (
    select
        outlet,
        flag,
        count(*) as articles
    from flags
    group by outlet, flag
)

select
    per_flag.outlet,
    per_flag.flag,
    per_flag.articles,
    outlet_totals.outlet_articles,
    round(per_flag.articles / outlet_totals.outlet_articles, 3) as share_of_outlet
from per_flag
inner join outlet_totals using (outlet)
order by per_flag.outlet, per_flag.flag = 'none', per_flag.articles desc, per_flag.flag;
