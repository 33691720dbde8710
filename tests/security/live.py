"""The API on a real socket: uvicorn in a thread of the test process, on a free loopback port.

Some properties only exist on the wire (what happens to a body that is still being sent, what
the server writes to its log); the ASGI test transport cannot show them.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

from tests.support.servers import free_port
from visualsearch.app import create_app
from visualsearch.config import Settings


@contextmanager
def live_server(settings: Settings, app: ASGIApp | None = None) -> Iterator[int]:
    """Serve ``app`` (default ``create_app(settings)``) on 127.0.0.1; yield the port."""
    port = free_port()
    config = uvicorn.Config(
        app or create_app(settings), host="127.0.0.1", port=port, log_config=None, lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 120
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the API did not start")
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(30)


def read_response(sock: socket.socket, timeout: float) -> bytes:
    """Whatever the server answers within ``timeout`` (until it closes or the head+body came)."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:") and len(body) >= int(line[15:]):
                return data
    return data
