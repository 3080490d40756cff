-- name: run_outcomes
-- description: Per flow, how its runs of the last days ended: runs per status, articles loaded, errors, the last start and the last clean finish.
-- params: days (int, default 7)
with params as (
    select coalesce(getvariable('days')::int, 7) as days
)

select
    runs.flow,
    count(*) as runs,
    count(*) filter (where runs.status = 'completed') as completed,
    count(*) filter (where runs.status = 'completed_with_errors') as with_errors,
    count(*) filter (where runs.status = 'failed') as failed,
    count(*) filter (where runs.status = 'running') as running,
    coalesce(sum((runs.counts ->> 'articles_loaded')::int), 0) as articles_loaded,
    coalesce(sum(json_array_length(runs.errors)), 0) as errors,
    max(runs.started_at) as last_started_at,
    max(runs.finished_at) filter (where runs.status like 'completed%') as last_completed_at
from runs
cross join params
where runs.started_at >= now() - to_days(params.days)
group by runs.flow
order by runs.flow;
