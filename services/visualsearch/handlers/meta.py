"""Liveness, readiness, metrics, model information and product images."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated

from fastapi import APIRouter, Path, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from visualsearch import metrics
from visualsearch.exceptions import VisualSearchError
from visualsearch.handlers.dependencies import ContextDep
from visualsearch.schemas import ErrorBody, Info, Readiness
from visualsearch.storage.objects import KEY_PATTERN, validate_key

log = logging.getLogger(__name__)
router = APIRouter(tags=["operations"])
images = APIRouter(tags=["images"])


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


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


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


IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp")
BINARY = {"schema": {"type": "string", "format": "binary"}}


@images.get(
    "/images/{key:path}",
    response_class=Response,
    responses={
        200: {
            "description": "The image's bytes, typed by its extension.",
            "content": {
                **{t: BINARY for t in IMAGE_TYPES},
                "application/octet-stream": BINARY,
            },
        },
        400: {"model": ErrorBody, "description": "The key is not a valid image key."},
        404: {"model": ErrorBody, "description": "No image under this key."},
    },
)
async def image(
    context: ContextDep, key: Annotated[str, Path(max_length=512, pattern=KEY_PATTERN.pattern)]
) -> Response:
    """A product image from the object store (keys are content-addressed: cache forever)."""
    data, content_type = await context.objects.get(validate_key(key))
    return Response(
        data,
        media_type=content_type,
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )
