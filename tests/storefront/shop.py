"""Starts and stops the real product for the browser tests: `visualsearch serve` in a subprocess.

One server per test session (seeding the demo catalogue takes a minute or two); a second, small one
for the rate-limit test. Failures say why, with the tail of the server's log.
"""

from __future__ import annotations

import contextlib
import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass

from tests.support.demo import DEMO_IMAGES, DEMO_PRODUCTS
from tests.support.serve import ServeProcess
from tests.support.servers import shared_tmpdir


def http_get(url: str, timeout: float = 10.0) -> tuple[int, bytes, dict[str, str]]:
    """GET `url`; returns (status, body, headers), also for 4xx/5xx answers."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def get_json(url: str) -> object:
    """GET `url` and parse its JSON body; raises on a non-200 answer."""
    status, body, _ = http_get(url)
    if status != 200:
        raise AssertionError(f"GET {url} answered {status}: {body[:300]!r}")
    return json.loads(body)


@dataclass
class Shop:
    """A running shop: one this session started (``server``), or one at an external URL."""

    base_url: str
    server: ServeProcess | None = None

    def url(self, path: str) -> str:
        """Absolute URL of `path` on this shop."""
        return f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the server's log, for failure messages."""
        return self.server.tail(chars) if self.server is not None else "(no log: external shop)"

    def wait_ready(self, min_products: int, timeout: float) -> None:
        """Waits for `GET /ready` == 200 and `GET /info` to report at least `min_products`."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            try:
                status, body, _ = http_get(self.url("/ready"), timeout=5)
                if status == 200:
                    info = get_json(self.url("/info"))
                    products = int(info.get("products", 0)) if isinstance(info, dict) else 0
                    if products >= min_products:
                        return
                    last = f"/ready 200, /info products={products}"
                else:
                    last = f"/ready {status}: {body[:200]!r}"
            except (OSError, ValueError) as error:
                last = f"{type(error).__name__}: {error}"
            time.sleep(1.0)
        raise RuntimeError(
            f"the shop at {self.base_url} was not ready within {timeout:.0f} s (last: {last})"
        )


ADMIN_KEY = "storefront-admin-key"
"""The shop's write key: the admin view's tests sign in with it."""


@contextlib.contextmanager
def running_shop(
    *,
    model: str = "efficientnet-lite0",
    rate_limit_per_minute: int = 0,
    seed: bool = True,
    min_products: int = DEMO_PRODUCTS,
    min_vectors: int = DEMO_IMAGES,  # the demo's galleries: one vector per image
    timeout: float = 420.0,
) -> Iterator[Shop]:
    """`visualsearch serve` (the suite's one launcher, tests/support/serve.py) with its data in a
    fresh directory outside pytest's root-only tree; stopped and removed afterwards."""
    with shared_tmpdir("visualsearch-storefront-") as root:
        server = ServeProcess(
            root / "data",
            env={
                "VISUALSEARCH_MODEL": model,
                "VISUALSEARCH_RATE_LIMIT_PER_MINUTE": str(rate_limit_per_minute),
                "VISUALSEARCH_LOG_FORMAT": "text",
                "VISUALSEARCH_API_KEY": ADMIN_KEY,
                "VISUALSEARCH_EVENTS_FLUSH_SECONDS": "0.2",
            },
            seed=seed,
        )
        try:
            server.start(timeout=timeout)
            if min_products:
                server.wait_indexed(min_products, timeout=timeout, vectors=min_vectors)
            yield Shop(server.url, server)
        finally:
            server.stop()
