"""``visualsearch serve`` in a subprocess, as a user runs it: a temp data dir, a free port, the
rate limit off, no hub, and (for cold starts) an empty model-export cache."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

STAGE = re.compile(r'^visualsearch_stage_seconds_(sum|count)\{stage="([a-z_]+)"\} ([0-9.e+-]+)$')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="bench-serve-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("VISUALSEARCH_")}
        self.env.update(
            {
                "HF_HUB_OFFLINE": "1",
                "XDG_CACHE_HOME": str(self.root / "cache"),  # cold: no exported model yet
                "VISUALSEARCH_MODEL": "efficientnet-lite0",
                "VISUALSEARCH_RATE_LIMIT_PER_MINUTE": "0",
                "VISUALSEARCH_LOG_LEVEL": "WARNING",
                **(env or {}),
            }
        )
        self.log = self.root / "serve.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0

    def start(self, timeout: float = 300) -> float:
        """Start; return seconds until /ready answers 200."""
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "visualsearch", "serve", "--port", str(self.port),
             "--data-dir", str(self.root / "data")],
            stdout=self.log.open("ab"), stderr=subprocess.STDOUT, env=self.env,
        )  # fmt: skip
        while time.perf_counter() - self.started < timeout:
            self._check_alive()
            try:
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return time.perf_counter() - self.started
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"serve not ready after {timeout} s:\n{self.tail()}")

    def wait_indexed(self, minimum: int, timeout: float = 900) -> tuple[float, dict[str, object]]:
        """Seconds since start until ``minimum`` products have rows and vectors, and /info."""
        while time.perf_counter() - self.started < timeout:
            self._check_alive()
            info = httpx.get(f"{self.url}/info", timeout=10).json()
            if info["products"] >= minimum and info["vectors"] >= minimum:
                return time.perf_counter() - self.started, info
            time.sleep(0.1)
        raise RuntimeError(f"not indexed after {timeout} s:\n{self.tail()}")

    def stages(self) -> dict[str, tuple[float, float]]:
        """Per stage: (seconds summed, observations) from the Prometheus histograms."""
        text = httpx.get(f"{self.url}/metrics", timeout=10).text
        out: dict[str, list[float]] = {}
        for line in text.splitlines():
            match = STAGE.match(line)
            if match:
                kind, stage, value = match.groups()
                out.setdefault(stage, [0.0, 0.0])[0 if kind == "sum" else 1] = float(value)
        return {stage: (v[0], v[1]) for stage, v in out.items()}

    def _check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"serve exited with {self.proc.returncode}:\n{self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
        shutil.rmtree(self.root, ignore_errors=True)
