"""ASGI middleware: request body limits (before the body is read) and per-client rate limiting."""

from __future__ import annotations

import ipaddress
import json
import math
import time
from collections import OrderedDict

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from visualsearch import metrics

UNLIMITED_PREFIXES = (
    "/health",
    "/ready",
    "/metrics",
    "/images/",
    "/docs",
    "/openapi.json",
    "/redoc",
)
API_PREFIXES = ("/search", "/products", "/index", "/info", "/embed", "/events", "/admin/")


async def _send_error(
    send: Send,
    status: int,
    detail: str,
    code: str,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    body = json.dumps({"detail": detail, "code": code}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """Refuse bodies over ``max_bytes``: by Content-Length at once, or as a stream passes it."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, overrides: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.overrides = overrides or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.overrides.get(scope.get("path", ""), self.max_bytes)
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        message = f"The request is larger than the {limit / 1048576:.0f} MiB limit."
        if length is not None and length.isdigit() and int(length) > limit:
            await _send_error(send, 413, message, "payload_too_large", [(b"connection", b"close")])
            return
        received = 0
        started = False
        exceeded = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _TooLarge()
            return msg

        async def tracking_send(msg: Message) -> None:
            nonlocal started
            if exceeded:
                # The app caught our error (form parsing turns any failure into a 400): the
                # answer is still 413, sent once, and the app's own answer is dropped.
                if not started:
                    started = True
                    await _send_error(send, 413, message, "payload_too_large")
                return
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _send_error(send, 413, message, "payload_too_large")


class _TooLarge(Exception):
    pass


class RateLimitMiddleware:
    """A token bucket per client IP over the API paths: ``per_minute`` requests, then 429.

    ``X-Forwarded-For`` is believed only when the direct peer is a trusted proxy; the client is
    then the right-most address that is not itself a trusted proxy.
    """

    def __init__(
        self, app: ASGIApp, per_minute: int, trusted_proxies: list[str], max_clients: int = 100_000
    ) -> None:
        self.app = app
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.trusted = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies]
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self.max_clients = max_clients

    def _is_trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in net for net in self.trusted)

    def client_ip(self, scope: Scope) -> str:
        peer = (scope.get("client") or ("unknown", 0))[0]
        if not self._is_trusted(peer):
            return str(peer)
        forwarded = dict(scope["headers"]).get(b"x-forwarded-for", b"").decode("latin-1")
        for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
            if not self._is_trusted(hop):
                return hop
        return str(peer)

    def take(self, client: str, now: float) -> float:
        """Spend a token; 0 when allowed, else the seconds until one is available."""
        tokens, last = self.buckets.pop(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self.buckets[client] = (tokens - 1, now)
            wait = 0.0
        else:
            self.buckets[client] = (tokens, now)
            wait = (1 - tokens) / self.rate
        while len(self.buckets) > self.max_clients:
            self.buckets.popitem(last=False)
        return wait

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or self.capacity <= 0
            or path.startswith(UNLIMITED_PREFIXES)
            or not path.startswith(API_PREFIXES)
        ):
            await self.app(scope, receive, send)
            return
        wait = self.take(self.client_ip(scope), time.monotonic())
        if wait > 0:
            metrics.RATE_LIMITED.inc()
            retry = max(1, math.ceil(wait))
            await _send_error(
                send,
                429,
                f"Too many requests: the limit is {int(self.capacity)} per minute. "
                f"Try again in {retry} s.",
                "rate_limited",
                [(b"retry-after", str(retry).encode())],
            )
            return
        await self.app(scope, receive, send)
