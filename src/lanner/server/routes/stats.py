"""Execution statistics: the dashboard's one route, and Kestra's `POST /stats/executions/daily`
(its StatsController), both aggregated in SQL by `storage.execution_stats`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Body, Depends, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from lanner.server import params
from lanner.server.problems import ApiProblem
from lanner.server.routes.executions import execution_filter, services
from lanner.server.services import Services
from lanner.storage.execution_queries import ExecutionFilter
from lanner.storage.execution_stats import GROUPS, MAX_BUCKETS, ExecutionStats, auto_group

router = APIRouter(tags=["Stats"])
DEFAULT_RANGE = dt.timedelta(days=30)  # Kestra's statistics default to the last month
MAX_OFFSET = 14 * 60  # UTC+14:00, the farthest wall clock from UTC


class StatisticRequest(BaseModel):
    """Kestra's StatisticRequest: every field optional."""

    q: str | None = Field(default=None, max_length=200)
    namespace: str | None = Field(default=None, max_length=150)
    flowId: str | None = Field(default=None, max_length=100)
    startDate: str | None = Field(default=None, max_length=60)
    endDate: str | None = Field(default=None, max_length=60)


def _ranged(f: ExecutionFilter, group_by: str | None) -> str:
    """Fill the range's defaults (the last 30 days up to now), check it, and choose the bucket."""
    f.end_date = f.end_date or dt.datetime.now(dt.UTC)
    f.start_date = f.start_date or f.end_date - DEFAULT_RANGE
    if f.start_date > f.end_date:
        raise ApiProblem(400, "startDate is after endDate", hint="give a startDate before the endDate")
    chosen = group_by or auto_group(f.start_date, f.end_date)
    if chosen not in GROUPS:
        raise ApiProblem(400, f"groupBy=`{chosen[:20]}` is not one of " + ", ".join(GROUPS),
                         hint="leave it out to let the range choose")
    return chosen


def _figures(svc: Services, f: ExecutionFilter, group_by: str, offset: int = 0) -> Any:
    try:
        return ExecutionStats(svc.engine).dashboard(f, group_by, offset)
    except ValueError:
        raise ApiProblem(400, f"the range holds more than {MAX_BUCKETS} {group_by}s",
                         hint="choose a shorter range or a larger groupBy (hour, day, month)") from None


@router.get("/stats/executions/dashboard", summary="The dashboard's figures over a range (aggregated in SQL)")
async def dashboard(groupBy: str | None = Query(None, max_length=20),
                    utcOffset: int = Query(0, ge=-MAX_OFFSET, le=MAX_OFFSET,
                                           description="minutes east of UTC of the wall clock the buckets follow"),
                    f: ExecutionFilter = Depends(execution_filter),
                    svc: Services = Depends(services)) -> dict[str, Any]:
    """Counts by state and duration percentiles (seconds) per hour/day/month bucket, counts
    by state over the range, the ten flows with the most FAILED executions, and the ten latest
    FAILED executions with their first ERROR log line. The filters are the execution search's;
    `utcOffset` (the browser's) makes the buckets local hours, days and months."""
    group_by = _ranged(f, groupBy)
    d = await run_in_threadpool(_figures, svc, f, group_by, utcOffset)
    assert f.start_date is not None and f.end_date is not None
    return {"startDate": f.start_date.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            "endDate": f.end_date.astimezone(dt.UTC).isoformat().replace("+00:00", "Z"),
            "groupBy": d.group_by, "utcOffset": utcOffset, "results": d.buckets, "counts": d.counts,
            "total": sum(d.counts.values()),
            "topFailingFlows": d.top_failing, "latestFailures": d.latest_failures}


@router.post("/stats/executions/daily", summary="Daily statistics of executions (Kestra's StatsController)")
async def daily(body: StatisticRequest | None = Body(None), svc: Services = Depends(services)) -> list[dict[str, Any]]:
    """Read-only, though a POST as in Kestra: a list of buckets (one per day, or per hour over two
    days or less), each with `executionCounts` by state and `duration` in seconds."""
    request = body or StatisticRequest()
    f = ExecutionFilter(q=request.q, namespace=request.namespace, flow_id=request.flowId,
                        start_date=params.instant("startDate", request.startDate),
                        end_date=params.instant("endDate", request.endDate))
    group_by = _ranged(f, None)
    d = await run_in_threadpool(_figures, svc, f, "day" if group_by == "month" else group_by)
    return d.buckets
