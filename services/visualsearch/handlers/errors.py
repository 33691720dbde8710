"""One place that turns our exceptions (and FastAPI's validation errors) into JSON answers."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from visualsearch.exceptions import RateLimitedError, StoreUnavailableError, VisualSearchError

log = logging.getLogger(__name__)


def error_response(
    status: int, detail: str, code: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"detail": detail, "code": code}, status_code=status, headers=headers)


def allowed_methods(schema: dict[str, Any], path: str) -> list[str]:
    """The methods of the documented path ``path`` falls under (a literal segment wins)."""
    best: tuple[int, list[str]] | None = None
    for template, item in schema.get("paths", {}).items():
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        if template.endswith("{key}"):  # the images route takes a path
            pattern = pattern[: -len("[^/]+")] + ".+"
        if re.fullmatch(pattern, path):
            params = template.count("{")
            if best is None or params < best[0]:
                best = (params, [m.upper() for m in item])
    return best[1] if best else []


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(VisualSearchError)
    async def _ours(request: Request, exc: VisualSearchError) -> JSONResponse:
        headers = None
        if isinstance(exc, RateLimitedError):
            headers = {"Retry-After": str(exc.retry_after)}
        message = exc.message
        if isinstance(exc, StoreUnavailableError):
            headers = {"Retry-After": "5"}
            log.warning("store unavailable", extra={"path": request.url.path, "error": exc.message})
            # the driver's detail names internal hosts and ports: the log has it, clients do not
            message = f"The {exc.store} is unavailable right now; try again shortly."
        elif exc.status_code >= 500:
            log.error("request failed", extra={"path": request.url.path, "error": exc.message})
        return error_response(exc.status_code, message, exc.code, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for error in exc.errors():
            where = ".".join(
                str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")
            )
            problems.append(f"{where}: {error.get('msg')}" if where else str(error.get("msg")))
        return error_response(422, "; ".join(problems) or "Invalid request.", "validation_error")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Starlette names only the first route's methods; a path served by several routes
            # (GET and POST /search) allows them all: the documented path it matches says which
            allowed = allowed_methods(request.app.openapi(), request.url.path)
            if allowed:
                headers["Allow"] = ", ".join(allowed)
        return error_response(exc.status_code, str(exc.detail), code, headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return error_response(
            500, "Something went wrong on our side; it has been logged.", "internal_error"
        )
