"""Draining before a stop: after SIGUSR1, every answer closes its connection.

A pod that Kubernetes stops is first taken out of its Service's endpoints, but the keep-alive
connections clients (Traefik, another pod, a script) already hold to it stay open and keep
carrying requests until the process closes them at SIGTERM, when a request already on its way is
lost ("server disconnected", a reset). The chart's preStop hook therefore sends SIGUSR1 and waits
``drainSeconds`` before the SIGTERM: from the signal on, each answer says ``Connection: close``,
so every client finishes its request and opens its next connection elsewhere, through endpoints
that no longer list this pod.
"""

from __future__ import annotations

import logging
import signal
from types import FrameType

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

DRAIN_SIGNAL = signal.SIGUSR1


class Drain:
    """Whether this process is draining; ``begin`` is idempotent and safe in a signal handler."""

    def __init__(self) -> None:
        self.active = False

    def begin(self) -> None:
        if not self.active:
            self.active = True
            log.info("draining: every answer now closes its connection, until the process stops")

    def install_signal(self) -> None:
        """Begin draining on SIGUSR1 (the chart's preStop hook sends it); main thread only."""

        def handle(signum: int, frame: FrameType | None) -> None:
            self.begin()

        signal.signal(DRAIN_SIGNAL, handle)


class DrainMiddleware:
    """Adds ``Connection: close`` to every HTTP answer once ``drain`` is active."""

    def __init__(self, app: ASGIApp, drain: Drain) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def closing_send(message: Message) -> None:
            if message["type"] == "http.response.start" and self.drain.active:
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower() != b"connection"
                ]
                message = {**message, "headers": [*headers, (b"connection", b"close")]}
            await send(message)

        await self.app(scope, receive, closing_send)
