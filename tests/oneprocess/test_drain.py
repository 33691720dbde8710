"""Draining before a stop, as the chart's preStop hook does it: SIGUSR1, then SIGTERM later.

Until the signal, a keep-alive connection stays open between requests; after it, the server still
answers every request but closes the connection after each answer, so a client (Traefik, an API
pod calling its embedder) opens its next connection to a pod that is not going away.
"""

from __future__ import annotations

import os
import signal
import socket
import time

import httpx

from tests.security.live import read_response
from tests.support.serve import ServeProcess
from tests.support.servers import shared_tmpdir

REQUEST = b"GET /health HTTP/1.1\r\nHost: shop\r\nConnection: keep-alive\r\n\r\n"


def _head(sock: socket.socket) -> bytes:
    """The head of the next answer on ``sock`` (read whole, by its Content-Length)."""
    return read_response(sock, 10).partition(b"\r\n\r\n")[0]


def _still_open(sock: socket.socket, wait: float) -> bool:
    """True when the server neither sent anything more nor closed within ``wait`` seconds."""
    sock.settimeout(wait)
    try:
        sock.recv(1)  # b"" at EOF; any byte would be an answer nobody asked for
    except TimeoutError:
        return True
    finally:
        sock.settimeout(10)
    return False


def test_sigusr1_makes_every_answer_close_its_connection_and_serving_goes_on() -> None:
    with shared_tmpdir("vs-drain-") as root:
        server = ServeProcess(root / "data", seed=False)
        server.start()
        try:
            host, port = "127.0.0.1", server.port
            with socket.create_connection((host, port), timeout=10) as sock:
                for _ in range(2):  # one connection, two answers: keep-alive before the drain
                    sock.sendall(REQUEST)
                    head = _head(sock)
                    assert head.startswith(b"HTTP/1.1 200") and b"connection: close" not in head
                assert _still_open(sock, 1.0)

                os.kill(server.pid, signal.SIGUSR1)
                deadline = time.monotonic() + 10
                while b"draining" not in server.output().encode() and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert "draining" in server.output(), server.tail()

                # the connection opened before the signal: answered, then closed by the server
                sock.sendall(REQUEST)
                head = _head(sock)
                assert head.startswith(b"HTTP/1.1 200"), head
                assert b"connection: close" in head.lower(), head
                assert not _still_open(sock, 5.0)  # EOF: the server closed it

            # a new connection is served too (the pod keeps serving its drainSeconds)
            with httpx.Client(base_url=server.url) as client:
                ready = client.get("/ready")
                assert ready.status_code == 200 and ready.headers["connection"] == "close"
                info = client.get("/info")
                assert info.status_code == 200 and info.json()["products"] == 0
            proc = server.proc
            assert proc is not None and proc.poll() is None  # SIGUSR1 stops nothing
        finally:
            server.stop()
        # and the SIGTERM after it stops the server cleanly (uvicorn re-raises it once done)
        assert proc.returncode in (0, -signal.SIGTERM), server.tail()
        assert "Application shutdown complete" in server.output(), server.tail()
