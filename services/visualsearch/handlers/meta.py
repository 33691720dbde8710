"""Operations: liveness, readiness, Prometheus metrics and what the index runs (``/info``)."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from visualsearch import metrics
from visualsearch.exceptions import VisualSearchError
from visualsearch.handlers.dependencies import ContextDep
from visualsearch.schemas import Info, Readiness

log = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get(
    "/ready",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A store does not answer."}},
)
async def ready(context: ContextDep) -> JSONResponse:
    """Readiness: every store answers (PostgreSQL, the vector index, objects, queue, cache)."""
    checks = {
        "catalogue": context.catalog.ping(),
        "vectors": context.vectors.ping(),
        "objects": context.objects.ping(),
        "queue": context.queue.ping(),
        "cache": context.cache.ping(),
    }
    results = await asyncio.gather(
        *(asyncio.wait_for(c, timeout=3) for c in checks.values()), return_exceptions=True
    )
    status = {}
    for name, r in zip(checks, results, strict=True):
        if not isinstance(r, BaseException):
            status[name] = "ok"
            continue
        # /ready is reachable from outside: the reason (hosts, ports) goes to the log only
        detail = r.message if isinstance(r, VisualSearchError) else f"{type(r).__name__}: {r}"
        log.warning("readiness check failed", extra={"check": name, "error": detail})
        status[name] = "timeout" if isinstance(r, TimeoutError) else "unavailable"
    ok = all(v == "ok" for v in status.values())
    return JSONResponse(
        {"status": "ready" if ok else "unavailable", "checks": status},
        status_code=200 if ok else 503,
    )


QUEUE_DEPTH_TIMEOUT = 0.5  # seconds; a slow queue must not make the scrape time out


async def prometheus_metrics() -> Response:
    """The process's metrics in Prometheus' text format (the embedder serves this one)."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


@router.get("/metrics", include_in_schema=False)
async def platform_metrics(context: ContextDep) -> Response:
    """The metrics, with the gauges read from the stores at scrape time (queue depth). A store
    that does not answer leaves its gauge at the last value read."""
    try:
        depth = await asyncio.wait_for(context.queue.pending(), QUEUE_DEPTH_TIMEOUT)
    except (VisualSearchError, TimeoutError) as exc:
        log.debug("queue depth not read for /metrics", extra={"error": str(exc)})
    else:
        metrics.QUEUE_DEPTH.set(depth)
    return await prometheus_metrics()


@router.get("/info", response_model=Info)
async def info(context: ContextDep) -> Info:
    """The index's model, vector size, whether text search works, and counts."""
    embedding = context.embedding
    assert embedding is not None
    products, vectors, version = await asyncio.gather(
        context.catalog.count(), context.vectors.count(), context.catalog.index_version()
    )
    metrics.PRODUCTS.set(products)
    return Info(
        model=embedding.info.name,
        dim=embedding.info.dim,
        text_search=embedding.info.text_search,
        products=products,
        vectors=vectors,
        index_version=version,
        vector_store=context.vectors.kind,
        embed_backend=embedding.backend,
        warning=embedding.warning,
        retrievers=context.search_service().available(),
    )
