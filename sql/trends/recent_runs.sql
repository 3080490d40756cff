-- name: recent_runs
-- description: The latest flow runs, newest first: flow, outcome, start, duration, feeds polled, articles loaded or re-tagged, errors.
-- params: flow (text, optional), limit (int, default 10)
--
-- `status` is 'running' (or a run that died), 'completed', 'completed_with_errors' or 'failed'.
select
    run_id,
    flow,
    status,
    started_at,
    finished_at,
    round(date_diff('millisecond', started_at, finished_at) / 1000.0, 1) as seconds,
    coalesce((counts ->> 'feeds_polled')::int, 0) as feeds_polled,
    coalesce((counts ->> 'articles_loaded')::int, 0) as articles_loaded,
    coalesce((counts ->> 'duplicates')::int, 0) as duplicates,
    case when flow = 'retag' then coalesce((counts ->> 'articles')::int, 0) else 0 end as retagged,
    coalesce(json_array_length(errors), 0) as errors
from runs
where getvariable('flow') is null or flow = getvariable('flow')
order by started_at desc nulls last, run_id
limit coalesce(getvariable('limit')::int, 10);
