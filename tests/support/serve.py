"""Run ``visualsearch serve`` as a user would: a subprocess on a free port with its own data dir.

The one runner of the tests, the soak (``tests/reliability/soak.py``) and the benchmarks
(``bench/serve.py`` adds the bench's defaults).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.servers import free_port

STAGE = re.compile(r'^visualsearch_stage_seconds_(sum|count)\{stage="([a-z_]+)"\} ([0-9.e+-]+)$')


class ServeProcess:
    """``visualsearch serve --data-dir data_dir`` on 127.0.0.1.

    The environment is the caller's without its ``VISUALSEARCH_*`` settings (the server gets its
    own embedded stores), with ``HF_HUB_OFFLINE=1``, then ``env`` on top. Output goes to a log
    file beside ``data_dir``.
    """

    start_timeout = 120.0  # seconds start() waits for /ready unless told
    index_timeout = 240.0  # seconds wait_indexed() waits unless told

    def __init__(
        self,
        data_dir: Path,
        env: dict[str, str] | None = None,
        port: int | None = None,
        *,
        seed: bool = True,
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = data_dir.parent / f"serve-{data_dir.name}.log"
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("VISUALSEARCH_")}
        self.env = {**inherited, "HF_HUB_OFFLINE": "1", **(env or {})}
        self.argv = [sys.executable, "-m", "visualsearch", "serve"]
        self.argv += ["--port", str(self.port), "--data-dir", str(data_dir)]
        if not seed:
            self.argv.append("--no-seed")
        self.proc: subprocess.Popen[bytes] | None = None
        self.started = 0.0

    def start(self, timeout: float | None = None) -> float:
        """Start and wait until ``/ready`` answers 200; return the seconds it took."""
        timeout = self.start_timeout if timeout is None else timeout
        self.started = time.perf_counter()
        with self.log.open("ab") as handle:
            self.proc = subprocess.Popen(
                self.argv, stdout=handle, stderr=subprocess.STDOUT, env=self.env
            )
        while time.perf_counter() - self.started < timeout:
            self._check_alive()
            try:
                if httpx.get(f"{self.url}/ready", timeout=2).status_code == 200:
                    return time.perf_counter() - self.started
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"serve not ready after {timeout} s:\n{self.tail()}")

    def wait_indexed(
        self, minimum: int, timeout: float | None = None
    ) -> tuple[float, dict[str, object]]:
        """Wait until ``minimum`` products have rows and vectors: (seconds since start, /info)."""
        timeout = self.index_timeout if timeout is None else timeout
        deadline = time.perf_counter() + timeout
        while True:
            self._check_alive()
            info = httpx.get(f"{self.url}/info", timeout=10).json()
            if info["products"] >= minimum and info["vectors"] >= minimum:
                return time.perf_counter() - self.started, info
            if time.perf_counter() > deadline:
                raise RuntimeError(f"only {info} after {timeout} s:\n{self.tail()}")
            time.sleep(0.1)

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

    @property
    def pid(self) -> int:
        if self.proc is None:
            raise RuntimeError("serve is not running")
        return self.proc.pid

    def api_key(self) -> str:
        return (self.data_dir / "api-key").read_text().strip()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, chars: int = 4000) -> str:
        return self.output()[-chars:]

    def _check_alive(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"serve exited with {self.proc.returncode}:\n{self.tail()}")

    def stop(self) -> None:
        """SIGTERM, then kill after 30 s."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None
