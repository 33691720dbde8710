"""Starts and stops the real product for the browser tests: `visualsearch serve` in a subprocess.

One server per test session (seeding the demo catalogue takes a minute or two); a second, small one
for the rate-limit test. Failures say why, with the tail of the server's log.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.ports import free_port

#: Products the demo catalogue seeds at least (SPEC §5: a catalogue of the seed's size, 194).
DEMO_PRODUCTS = 194


def visualsearch_command() -> list[str]:
    """The `visualsearch` console script of the running interpreter's environment."""
    beside = Path(sys.executable).with_name("visualsearch")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("visualsearch")
    if found:
        return [found]
    raise RuntimeError(
        "the `visualsearch` command is not installed in this environment: "
        "install the project (pip install -e .) before running the storefront tests"
    )


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
    """A running `visualsearch serve` process."""

    base_url: str
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        """Absolute URL of `path` on this shop."""
        return f"{self.base_url.rstrip('/')}/{path.lstrip('/')}"

    def log_tail(self, chars: int = 4000) -> str:
        """The start and the end of the server's log, for failure messages."""
        if not self.log_path or not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace")
        if len(text) <= 2 * chars:
            return text
        return f"{text[:chars]}\n[...]\n{text[-chars:]}"

    def wait_ready(self, min_products: int, timeout: float) -> None:
        """Waits for `GET /ready` == 200 and `GET /info` to report at least `min_products`."""
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"`visualsearch serve` exited with {self.process.returncode} before it was "
                    f"ready; its log ends with:\n{self.log_tail()}"
                )
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
            f"the shop at {self.base_url} was not ready within {timeout:.0f} s (last: {last}); "
            f"its log ends with:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """Stops the server process (SIGTERM, then SIGKILL after 20 s)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@contextlib.contextmanager
def running_shop(
    *,
    model: str = "efficientnet-lite0",
    rate_limit_per_minute: int = 0,
    seed: bool = True,
    min_products: int = DEMO_PRODUCTS,
) -> Iterator[Shop]:
    """A shop with its data in a fresh directory of its own; stopped and removed afterwards.

    The directory is not under pytest's basetemp on purpose: the embedded PostgreSQL runs as an
    unprivileged user when the tests run as root, and every pytest session that starts resets
    `pytest-of-<user>` to mode 0700, which would cut a running server off from its data.
    """
    root = Path(tempfile.mkdtemp(prefix="visualsearch-storefront-"))
    try:
        shop = start_shop(
            root / "data",
            model=model,
            rate_limit_per_minute=rate_limit_per_minute,
            seed=seed,
            min_products=min_products,
        )
        try:
            yield shop
        finally:
            shop.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def start_shop(
    data_dir: Path,
    *,
    model: str = "efficientnet-lite0",
    rate_limit_per_minute: int = 0,
    seed: bool = True,
    min_products: int = DEMO_PRODUCTS,
    timeout: float = 420.0,
) -> Shop:
    """Starts `visualsearch serve` on a free port with its data in `data_dir` and waits for it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # the shop gets its own embedded stores: none of the caller's VISUALSEARCH_* settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISUALSEARCH_")}
    env |= {
        "HF_HUB_OFFLINE": "1",
        "VISUALSEARCH_MODEL": model,
        "VISUALSEARCH_RATE_LIMIT_PER_MINUTE": str(rate_limit_per_minute),
        "VISUALSEARCH_LOG_FORMAT": "text",
    }
    command = [
        *visualsearch_command(),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]
    if not seed:
        command.append("--no-seed")
    log_path = data_dir.parent / f"{data_dir.name}-serve.log"
    log = log_path.open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    shop = Shop(f"http://127.0.0.1:{port}", process, log_path, env)
    try:
        shop.wait_ready(min_products, timeout)
    except BaseException:
        shop.stop()
        raise
    return shop
