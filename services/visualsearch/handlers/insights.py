"""What shoppers do and the shop's view of it: ``POST /events`` (public, rate limited) and the
admin API under ``/admin`` (write key): the figures, the index's state, dead-letter retries."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from visualsearch.handlers.dependencies import ContextDep, IndexingDep, InsightsDep, WriteAccess
from visualsearch.insight_schemas import AdminStatus, EventAccepted, EventIn, Insights
from visualsearch.schemas import ErrorBody, JobOut

router = APIRouter()
ADMIN_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "A missing or wrong X-API-Key."},
    429: {"model": ErrorBody, "description": "Rate limited; see Retry-After."},
    503: {"model": ErrorBody, "description": "A store is unavailable."},
}


@router.post(
    "/events",
    status_code=202,
    response_model=EventAccepted,
    tags=["insights"],
    responses={
        422: {"model": ErrorBody, "description": "A malformed event (it is stored nowhere)."},
        429: {"model": ErrorBody, "description": "Rate limited; see Retry-After."},
    },
)
async def record_event(context: ContextDep, event: EventIn) -> EventAccepted:
    """Record what a shopper did with a search's result: ``click``, ``add_to_cart`` or
    ``purchase``, the ``search_id`` of the answer and the result's 1-based ``position``.

    Events are buffered and written in batches: the answer never waits for the database, and
    an event that finds the buffer full is dropped and counted
    (``visualsearch_insights_dropped_total``)."""
    context.recorder.event(
        event.search_id, event.type, event.product_id, event.position, event.tab_id
    )
    return EventAccepted()


@router.get(
    "/admin/insights",
    response_model=Insights,
    dependencies=[WriteAccess],
    tags=["admin"],
    responses=ADMIN_ERRORS,
)
async def insights(
    service: InsightsDep,
    days: Annotated[int, Query(ge=1, le=3650, description="How many days back.")] = 7,
) -> Insights:
    """Searches, click-through rate, MRR of clicks, zero-result and low-score rates per day,
    query kind and experiment variant; the slowest searches; the top queries with no click."""
    return await service.report(days)


@router.get(
    "/admin/status",
    response_model=AdminStatus,
    dependencies=[WriteAccess],
    tags=["admin"],
    responses=ADMIN_ERRORS,
)
async def admin_status(service: InsightsDep) -> AdminStatus:
    """The indexing queue's depth, the dead letters with their errors, ``doctor``'s last
    report, and how many searches and events are stored (the rest of the index: ``/info``)."""
    return await service.status()


@router.post(
    "/admin/dead-letters/{job_id}/retry",
    status_code=202,
    response_model=JobOut,
    dependencies=[WriteAccess],
    tags=["admin"],
    responses={**ADMIN_ERRORS, 404: {"model": ErrorBody, "description": "No such dead letter."}},
)
async def retry_dead_letter(
    indexing: IndexingDep, job_id: Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
) -> JobOut:
    """Queue a dead-lettered indexing job again, with fresh attempts."""
    return JobOut(**(await indexing.retry(job_id)).public())
