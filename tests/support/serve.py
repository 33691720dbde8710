"""Run ``visualsearch serve`` as a user would: a subprocess on a free port with its own data dir."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.servers import free_port


class ServeProcess:
    def __init__(
        self, data_dir: Path, env: dict[str, str] | None = None, port: int | None = None
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"serve-{data_dir.name}.log"
        self.env = {**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})}
        for name in list(self.env):  # the test's own stores are not the user's
            if name.startswith("VISUALSEARCH_") and name not in (env or {}):
                del self.env[name]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120) -> float:
        """Start and wait until ready; return the seconds it took."""
        started = time.monotonic()
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "visualsearch",
                "serve",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
            ],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=self.env,
        )
        while time.monotonic() - started < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"serve exited with {self.proc.returncode}:\n{self.output()[-4000:]}"
                )
            try:
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"serve not ready after {timeout} s:\n{self.output()[-4000:]}")

    def wait_for_products(self, minimum: int, timeout: float = 240) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while True:
            info = httpx.get(f"{self.url}/info", timeout=10).json()
            if info["products"] >= minimum and info["vectors"] >= minimum:
                return info  # type: ignore[no-any-return]
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {info} after {timeout} s:\n{self.output()[-3000:]}")
            time.sleep(0.5)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def api_key(self) -> str:
        return (self.data_dir / "api-key").read_text().strip()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
