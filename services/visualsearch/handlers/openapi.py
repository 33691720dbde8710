"""The published OpenAPI document, made to say what the service really answers.

FastAPI documents a 422 with its own list-shaped ``HTTPValidationError``; our error handlers
(``handlers.errors``) and middleware answer every error as ``ErrorBody``
(``{"detail": "...", "code": "..."}``), and some statuses come from layers no route declares
(the body limit's 413, the rate limit's 429, a store outage's 503, the catch-all 500). This
module rewrites the generated document once, from what each operation takes:

- every operation with parameters or a body: 422 and 400 ``ErrorBody``;
- every operation with a body: 413; every operation behind the write key: 401;
- every operation that reaches a store: 503 with ``Retry-After``; rate-limited paths: 429 with
  ``Retry-After`` when the limit is on; every operation: 500;

and drops FastAPI's validation-error components, which nothing answers.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from visualsearch.handlers.middleware import API_PREFIXES, UNLIMITED_PREFIXES
from visualsearch.schemas import ErrorBody

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
STORELESS = {"/health", "/ready"}
"""Paths that never answer the generic 503 (``/ready`` answers its own 503 body)."""
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": ERROR_REF}},
    }
    if headers:
        response["headers"] = headers
    return response


def _declare(responses: dict[str, Any], status: int, description: str, **kw: Any) -> None:
    """Declare ``status`` as an ``ErrorBody``, keeping a route's own description."""
    existing = responses.get(str(status), {})
    declared = _error(existing.get("description") or description, **kw)
    if "headers" in existing:
        declared["headers"] = {**existing["headers"], **declared.get("headers", {})}
    responses[str(status)] = declared


def truthful(schema: dict[str, Any], *, rate_limited: bool) -> dict[str, Any]:
    """Rewrite a generated OpenAPI document in place (and return it)."""
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            if method not in METHODS:
                continue
            responses = operation.setdefault("responses", {})
            if operation.get("parameters") or operation.get("requestBody"):
                _declare(responses, 422, "A parameter or field is invalid; `detail` says which.")
                # a value no store can hold (a NUL byte), an upload that is not what it claims;
                # a request the HTTP server cannot even parse (a request line beyond its
                # limits) is refused before the app, in plain text
                _declare(responses, 400, "The request cannot be served as sent.")
                responses["400"]["content"]["text/plain"] = {"schema": {"type": "string"}}
            elif "422" in responses:
                del responses["422"]
            if operation.get("requestBody"):
                _declare(responses, 413, "The request body is over the size limit.")
            if operation.get("security"):
                _declare(responses, 401, "The X-API-Key header is missing or wrong.")
            if path not in STORELESS:
                _declare(responses, 503, "A store is unavailable; try again.", headers=RETRY_AFTER)
            if (
                rate_limited
                and path.startswith(API_PREFIXES)
                and not path.startswith(UNLIMITED_PREFIXES)
            ):
                _declare(responses, 429, "Too many requests from this client.", headers=RETRY_AFTER)
            _declare(responses, 500, "An unexpected error (it is logged).")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    components.setdefault("ErrorBody", ErrorBody.model_json_schema())
    return schema


def install_openapi(app: FastAPI, *, rate_limited: bool) -> None:
    """Serve the rewritten document at ``/openapi.json`` (built once, on first request)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = truthful(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    openapi_version=app.openapi_version,
                    description=app.description,
                    routes=app.routes,
                    tags=app.openapi_tags,
                    servers=app.servers,
                ),
                rate_limited=rate_limited,
            )
        return app.openapi_schema

    setattr(app, "openapi", openapi)  # noqa: B010  (FastAPI's documented override)
