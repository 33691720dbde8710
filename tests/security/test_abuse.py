"""Abuse: the write key (constant-time, never logged), client IPs behind proxies, body limits on
the wire, CORS closed by default, and no stack traces to clients."""

from __future__ import annotations

import hmac
import logging
import socket

import httpx
import psycopg
import pytest

from tests.api.helpers import product_form
from tests.conftest import API_KEY, SettingsFactory, start_api
from tests.security.live import live_server, read_response
from tests.support.images import jpeg
from visualsearch.handlers import dependencies


async def test_api_key_is_compared_in_constant_time(api, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Every presented key goes through ``hmac.compare_digest`` with the whole expected key."""
    seen: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(dependencies.hmac, "compare_digest", spy)
    for presented in ("x", API_KEY[:-1], API_KEY + "x", "y" * len(API_KEY)):
        response = await api.client.delete("/products/nothing", headers={"X-API-Key": presented})
        assert response.status_code == 401
    assert seen == [
        (p.encode(), API_KEY.encode()) for p in ("x", API_KEY[:-1], API_KEY + "x", "y" * 19)
    ]
    ok = await api.client.delete("/products/nothing", headers=api.headers)
    assert ok.status_code == 404 and len(seen) == 5


def test_api_key_is_never_logged(
    make_settings: SettingsFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Right and wrong keys, accepted and refused writes, errors: the key appears in no log line."""
    wrong = "wrong-key-that-is-someone-elses-0000"
    caplog.set_level(logging.DEBUG)
    with live_server(make_settings()) as port:
        url = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=url, timeout=60) as client:
            for key in (API_KEY, wrong):
                client.post(
                    "/index",
                    data=product_form("log-1"),
                    files={"file": ("a.jpg", jpeg(seed=1), "image/jpeg")},
                    headers={"X-API-Key": key},
                )
                client.post(
                    "/index",
                    data=product_form("../bad"),
                    files={"file": ("a.jpg", b"not an image", "image/jpeg")},
                    headers={"X-API-Key": key},
                )
                client.delete("/products/absent", headers={"X-API-Key": key})
                client.get("/products/", headers={"X-API-Key": key})
    records = caplog.records
    assert any("POST /index" in r.getMessage() for r in records)  # the access log was captured
    for record in records:
        text = record.getMessage() + repr(record.__dict__)
        assert API_KEY not in text and wrong not in text, text


async def test_forwarded_for_is_believed_only_from_trusted_proxies(
    make_settings: SettingsFactory,
) -> None:
    """The ASGI peer is 127.0.0.1: a client there cannot pick its identity; a proxy there can."""
    untrusted, lifespan = await start_api(make_settings(rate_limit_per_minute=3), worker=False)
    try:
        statuses = [
            (
                await untrusted.client.get("/products/", headers={"X-Forwarded-For": f"10.0.0.{i}"})
            ).status_code
            for i in range(5)
        ]
        assert statuses == [200, 200, 200, 429, 429]  # one client, whatever it claims
        assert (await untrusted.client.get("/health")).status_code == 200  # probes never limited
    finally:
        await untrusted.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]

    proxied, lifespan = await start_api(
        make_settings(rate_limit_per_minute=3, trusted_proxies=["127.0.0.1"]), worker=False
    )
    try:

        async def get(forwarded: str) -> httpx.Response:
            return await proxied.client.get("/products/", headers={"X-Forwarded-For": forwarded})

        assert [(await get("203.0.113.5")).status_code for _ in range(3)] == [200] * 3
        limited = await get("203.0.113.5")
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
        assert limited.json()["code"] == "rate_limited"
        # a client cannot escape by prepending a made-up hop: the proxy appends the real one
        assert (await get("198.51.100.77, 203.0.113.5")).status_code == 429
        assert (await get("203.0.113.6")).status_code == 200  # another client has its own bucket
    finally:
        await proxied.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


def raw_request(port: int, head: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(head.encode())
    return sock


def test_body_limits_apply_before_the_body_is_read(make_settings: SettingsFactory) -> None:
    """A huge announced body is refused at once; a chunked stream is cut at the limit.

    Neither body is ever completed by the client, so a server that read the whole body before
    deciding could never answer: the 413s prove the decision comes first.
    """
    settings = make_settings(max_upload_bytes=64 * 1024)
    limit = settings.max_upload_bytes + 256 * 1024
    with live_server(settings) as port:
        sock = raw_request(
            port,
            "POST /search HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=b\r\n"
            f"Content-Length: {50 * 1024**3}\r\n\r\n",
        )
        answer = read_response(sock, timeout=30)  # a bound on a hang, not a speed claim
        sock.close()
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b'"code":"payload_too_large"' in answer.replace(b" ", b"")

        sock = raw_request(
            port,
            "POST /index HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
            f"X-API-Key: {API_KEY}\r\nContent-Type: multipart/form-data; boundary=b\r\n\r\n",
        )
        part = (
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="x.jpg"\r\n'
            b"Content-Type: image/jpeg\r\n\r\n"
        )
        sent = 0
        chunk = b"\xff" * 16384
        sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
        while sent < limit + 128 * 1024:  # past the limit, and then the stream just stalls
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
        answer = read_response(sock, timeout=10)
        sock.close()
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            assert client.get("/health").status_code == 200  # the server is fine afterwards


async def test_cors_is_closed_by_default(make_settings: SettingsFactory) -> None:
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    closed, lifespan = await start_api(make_settings(), worker=False)
    try:
        answer = await closed.client.options("/search", headers=preflight)
        assert "access-control-allow-origin" not in answer.headers
        simple = await closed.client.get("/products/", headers={"Origin": "https://evil.example"})
        assert simple.status_code == 200 and "access-control-allow-origin" not in simple.headers
    finally:
        await closed.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]

    opened, lifespan = await start_api(
        make_settings(cors_origins=["https://shop.example"]), worker=False
    )
    try:  # configured origins only
        mine = {**preflight, "Origin": "https://shop.example"}
        allowed = await opened.client.options("/search", headers=mine)
        assert allowed.headers["access-control-allow-origin"] == "https://shop.example"
        refused = await opened.client.options("/search", headers=preflight)
        assert "access-control-allow-origin" not in refused.headers
    finally:
        await opened.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_internal_errors_show_no_stack_trace(
    make_settings: SettingsFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """A real internal fault (the schema changed under the service): a plain 500 for the client,
    the traceback in the server's log."""
    settings = make_settings()
    api, lifespan = await start_api(settings, worker=False)
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app, raise_app_exceptions=False),  # type: ignore[arg-type]
        base_url="http://test",
    )
    try:
        assert settings.database_url is not None
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute("ALTER TABLE products RENAME COLUMN warranty TO warranty_moved")
        caplog.set_level(logging.ERROR)
        response = await client.get("/products/")
        assert response.status_code == 500
        assert response.json() == {
            "detail": "Something went wrong on our side; it has been logged.",
            "code": "internal_error",
        }
        for leak in ("Traceback", "psycopg", "warranty", "SELECT", 'File "', ".py"):
            assert leak not in response.text
        assert any(r.exc_info and "warranty" in str(r.exc_info[1]) for r in caplog.records)
    finally:
        await client.aclose()
        await api.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]
