"""The rate limiter's token bucket and whose address it believes: pure logic, no server."""

from __future__ import annotations

from typing import Any

from visualsearch.handlers.middleware import RateLimitMiddleware


async def _app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - never called
    raise AssertionError


def limiter(per_minute: int = 60, trusted: list[str] | None = None) -> RateLimitMiddleware:
    return RateLimitMiddleware(_app, per_minute=per_minute, trusted_proxies=trusted or [])


def scope(peer: str, forwarded: str | None = None) -> dict[str, Any]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return {"type": "http", "client": (peer, 1234), "headers": headers}


def test_the_sixty_first_request_in_a_minute_waits_a_second() -> None:
    bucket = limiter(60)
    assert [bucket.take("c", 100.0) for _ in range(60)] == [0.0] * 60
    assert bucket.take("c", 100.0) == 1.0  # one token a second
    assert bucket.take("c", 101.0) == 0.0  # refilled
    assert bucket.take("other", 101.0) == 0.0  # buckets are per client


def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy() -> None:
    untrusting = limiter()
    assert untrusting.client_ip(scope("127.0.0.1", "203.0.113.9")) == "127.0.0.1"
    proxied = limiter(trusted=["10.0.0.0/8"])
    assert proxied.client_ip(scope("10.1.2.3", "203.0.113.9")) == "203.0.113.9"
    # the right-most address that is not itself a proxy: a client cannot prepend a fake one
    assert proxied.client_ip(scope("10.1.2.3", "1.1.1.1, 203.0.113.9, 10.9.9.9")) == "203.0.113.9"
    assert proxied.client_ip(scope("192.0.2.1", "203.0.113.9")) == "192.0.2.1"


def test_the_client_table_is_bounded() -> None:
    bucket = RateLimitMiddleware(_app, per_minute=60, trusted_proxies=[], max_clients=100)
    for i in range(1000):
        bucket.take(f"c{i}", 0.0)
    assert len(bucket.buckets) == 100
