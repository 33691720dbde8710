"""Run ``visualsearch serve`` as a user would: a subprocess on a free port with its own data dir.

The one runner of the tests, the soak (``tests/reliability/soak.py``) and the benchmarks
(``bench/serve.py`` adds the bench's defaults).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from tests.support.servers import free_port

if TYPE_CHECKING:
    import psutil

STAGE = re.compile(r'^visualsearch_stage_seconds_(sum|count)\{stage="([a-z_]+)"\} ([0-9.e+-]+)$')


class ServeProcess:
    """``visualsearch serve --data-dir data_dir`` on 127.0.0.1.

    The environment is the caller's without its ``VISUALSEARCH_*`` settings (the server gets its
    own embedded stores), with ``HF_HUB_OFFLINE=1``, then ``env`` on top. Output goes to a log
    file beside ``data_dir``. With ``session=True`` it runs in a session (and process group) of
    its own, as from a terminal of its own, so a test can signal or kill it as a whole.
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
        session: bool = False,
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
        self.session = session

    def start(self, timeout: float | None = None) -> float:
        """Start and wait until ``/ready`` answers 200; return the seconds it took."""
        timeout = self.start_timeout if timeout is None else timeout
        self.started = time.perf_counter()
        with self.log.open("ab") as handle:
            self.proc = subprocess.Popen(
                self.argv,
                stdout=handle,
                stderr=subprocess.STDOUT,
                env=self.env,
                start_new_session=self.session,
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
        self, minimum: int, timeout: float | None = None, vectors: int | None = None
    ) -> tuple[float, dict[str, object]]:
        """Wait until ``minimum`` products have rows and the index holds ``vectors`` image
        vectors (default ``minimum``; a gallery has one per image, and rows are written before
        their vectors, so a catalogue with galleries must say how many): (seconds since start,
        /info)."""
        timeout = self.index_timeout if timeout is None else timeout
        vectors = minimum if vectors is None else vectors
        deadline = time.perf_counter() + timeout
        while True:
            self._check_alive()
            info = httpx.get(f"{self.url}/info", timeout=10).json()
            if info["products"] >= minimum and info["vectors"] >= vectors:
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

    def interrupt(self, timeout: float = 60) -> int:
        """Ctrl+C: SIGINT to its process group (as a terminal sends it); wait for the exit."""
        assert self.proc is not None and self.session, "interrupt() needs session=True"
        os.killpg(self.proc.pid, signal.SIGINT)
        code = self.proc.wait(timeout)
        self.proc = None
        return code

    def kill_all(self) -> None:
        """SIGKILL its process group and every process working on its data directory (the
        embedded PostgreSQL runs in a session of its own): a power cut, as near as one gets."""
        assert self.proc is not None and self.session, "kill_all() needs session=True"
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None
        kill_processes_of(self.data_dir)

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


def processes_of(data_dir: Path) -> list[psutil.Process]:
    """The processes whose command line names ``data_dir`` (serve, doctor, the embedded
    PostgreSQL's postmaster), this one excepted."""
    import psutil

    needle = str(data_dir.resolve())
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if proc.pid != os.getpid() and any(needle in arg for arg in cmdline):
            found.append(proc)
    return found


def kill_processes_of(data_dir: Path) -> None:
    """SIGKILL what works on ``data_dir`` and wait until it is gone."""
    import psutil

    procs = processes_of(data_dir)
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(procs, timeout=10)
