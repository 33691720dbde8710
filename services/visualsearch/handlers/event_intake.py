"""``POST /events`` answered before FastAPI's routing: the cheap path of a valid event.

A storefront sends an event per click, a flood sends hundreds a second, and every one shares the
search's process (its event loop and its cores). Through FastAPI an event pays for the route
table, the dependency solver, a ``Request`` object, the response model's validation and
serialisation; here a valid event costs one ``json.loads``, the same ``EventIn`` validation
FastAPI would run, the recorder's append, and a prebuilt answer. Anything else (another
method, another content type, a body that is not a valid event, an app not started yet) goes on
to the FastAPI route unchanged, with its body replayed, so every error is the route's own
(``422`` with ``ErrorBody``) and the route stays the contract's description in the OpenAPI.

It sits inside the rate limiter, CORS and the body limit: those apply to every event as before.
"""

from __future__ import annotations

import json

from pydantic import ValidationError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from visualsearch.insight_schemas import EventIn

PATH = "/events"
MAX_BYTES = 4096
"""A valid event is a few hundred bytes; a larger body takes the FastAPI route (it refuses it)."""
ACCEPTED_BODY = b'{"status":"accepted"}'
"""``EventAccepted()`` as FastAPI's JSONResponse writes it."""
ACCEPTED_HEADERS = (
    (b"content-length", str(len(ACCEPTED_BODY)).encode()),
    (b"content-type", b"application/json"),
)


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.split(b";", 1)[0].strip().lower() == b"application/json"
    return False


class EventIntakeMiddleware:
    """Record a valid ``POST /events`` at once; hand everything else to ``app`` untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != PATH
            or scope["method"] != "POST"
            or not _is_json(scope)
        ):
            await self.app(scope, receive, send)
            return
        read: list[Message] = []
        body = b""
        while True:
            message = await receive()
            read.append(message)
            if message["type"] != "http.request":
                break  # the client went away: the route sees it as it would have
            body += message.get("body", b"")
            if len(body) > MAX_BYTES or not message.get("more_body", False):
                break
        state = getattr(scope.get("app"), "state", None)
        context = getattr(state, "context", None)
        event = None
        last = read[-1]
        if context is not None and last["type"] == "http.request" and not last.get("more_body"):
            try:
                event = EventIn.model_validate(json.loads(body))
            except (ValueError, RecursionError, ValidationError):  # JSONDecodeError too
                event = None
        if event is None or context is None:
            await self.app(scope, _replay(read, receive), send)
            return
        context.recorder.event(
            event.search_id, event.type, event.product_id, event.position, event.tab_id
        )
        # fresh messages: a middleware outside (CORS) adds its headers to the list in place
        await send(
            {"type": "http.response.start", "status": 202, "headers": list(ACCEPTED_HEADERS)}
        )
        await send({"type": "http.response.body", "body": ACCEPTED_BODY})


def _replay(read: list[Message], receive: Receive) -> Receive:
    """``receive`` that first gives back the messages already read."""
    pending = list(read)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed
