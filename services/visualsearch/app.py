"""FastAPI applications: the API (optionally with storefront and worker) and the embedder."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Collection, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from visualsearch import __version__
from visualsearch.config import Settings
from visualsearch.factory import Context, create_embedding
from visualsearch.handlers import (
    embed,
    images,
    indexing,
    insights,
    meta,
    products,
    search,
    suggest,
    synonyms,
)
from visualsearch.handlers.draining import Drain, DrainMiddleware
from visualsearch.handlers.errors import install_error_handlers
from visualsearch.handlers.event_intake import EventIntakeMiddleware
from visualsearch.handlers.middleware import BodyLimitMiddleware, RateLimitMiddleware
from visualsearch.handlers.openapi import install_openapi
from visualsearch.worker import run_worker

log = logging.getLogger(__name__)

BULK_MAX_BYTES = 256 * 1024 * 1024
ROUTES: dict[str, tuple[APIRouter, ...]] = {
    "search": (search.router, suggest.router, synonyms.router),
    "products": (products.router,),
    "index": (indexing.router,),
    "images": (images.router,),
    "info": (meta.router,),
    "insights": (insights.router,),
}
DESCRIPTION = """Visual product search: find the catalogue's closest products to a photo or a text.

Reads and `POST /events` are public; writes (`/index`, deletes, `PUT /synonyms`) and `/admin`
need the `X-API-Key` header. Errors answer `{"detail": "...", "code": "..."}` with the matching
status code."""


def create_app(
    settings: Settings,
    *,
    routes: Collection[str] = tuple(ROUTES),
    frontend_dir: Path | None = None,
    run_worker_inside: bool = False,
    on_ready: Callable[[Context], Coroutine[Any, Any, None]] | None = None,
) -> FastAPI:
    """The API application; ``serve`` adds the storefront and the worker to the same process."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with Context.open(settings) as context:
            app.state.context = context
            app.state.embedding = context.embedding
            stop = asyncio.Event()
            tasks = [asyncio.create_task(context.recorder.run(stop), name="insights")]
            if run_worker_inside:
                tasks.append(asyncio.create_task(run_worker(context, stop), name="worker"))
            if settings.synonyms_file is not None:
                watch = context.synonym_service().watch_file(stop, settings.synonyms_poll_seconds)
                tasks.append(asyncio.create_task(watch, name="synonyms-file"))
            if on_ready is not None:
                tasks.append(asyncio.create_task(on_ready(context), name="on-ready"))
            try:
                yield
            finally:
                stop.set()
                for task in tasks:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    app = _base_app(settings, lifespan, events="insights" in routes)
    app.include_router(meta.router)  # health, readiness, metrics and info are always there
    for name in routes:
        if name != "info":
            for router in ROUTES[name]:
                app.include_router(router)
    if frontend_dir is not None:
        admin_page = frontend_dir / "admin.html"

        @app.get("/admin", include_in_schema=False)
        async def admin() -> FileResponse:
            """The shop's admin view (it asks for the write key itself)."""
            return FileResponse(admin_page)

        @app.get("/admin/", include_in_schema=False)
        async def admin_with_slash() -> RedirectResponse:
            """``/admin/`` is the admin page too, by a redirect rather than a second copy: the
            page's links are relative (``css/admin.css``), which under ``/admin/`` would point
            into the admin API's path. A relative Location keeps any host and port in front."""
            return RedirectResponse("/admin", status_code=308)

        app.mount("/", StaticFiles(directory=frontend_dir, html=True), name="storefront")
    return app


def create_embedder_app(settings: Settings) -> FastAPI:
    """The embedding service alone: the model, no stores (scaled by the HPA in Kubernetes)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings_local = settings.model_copy(update={"embedder_url": None})
        embedding = await create_embedding(settings_local)
        app.state.embedding = embedding
        try:
            yield
        finally:
            await embedding.close()

    app = _base_app(settings, lifespan)
    app.include_router(embed.router)

    @app.get("/health", tags=["operations"])
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", tags=["operations"])
    async def ready() -> dict[str, str]:
        return {"status": "ready"}

    app.add_api_route("/metrics", meta.prometheus_metrics, include_in_schema=False)
    return app


def _base_app(settings: Settings, lifespan, *, events: bool = False) -> FastAPI:
    app = FastAPI(
        title="visual-search",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    install_openapi(app, rate_limited=settings.rate_limit_per_minute > 0)
    # Added innermost first: the body limit (added last) applies before anything reads the
    # body, the rate limiter and CORS before the event intake answers an event.
    if events:
        app.add_middleware(EventIntakeMiddleware)
    if settings.rate_limit_per_minute:
        app.add_middleware(
            RateLimitMiddleware,
            per_minute=settings.rate_limit_per_minute,
            trusted_proxies=settings.trusted_proxies,
        )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["X-API-Key", "X-Tab-Id", "Content-Type"],
        )
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.max_upload_bytes + 256 * 1024,
        overrides={"/index/bulk": BULK_MAX_BYTES},
    )
    return app


def serve_http(app: Any, host: str, port: int) -> None:
    """Run ``app`` under uvicorn: the one way every command (api, serve, embedder) serves HTTP.

    uvicorn's own proxy-header handling is off: it would believe ``X-Forwarded-For`` from any
    loopback peer. Whose forwarded address counts is decided in one place,
    ``VISUALSEARCH_TRUSTED_PROXIES`` (the rate limiter's client address). SIGUSR1 starts the
    drain before a stop (handlers/draining.py): answers then close their connections.
    """
    import uvicorn

    drain = Drain()
    drain.install_signal()
    served = DrainMiddleware(app, drain)
    uvicorn.run(served, host=host, port=port, log_config=None, proxy_headers=False)
