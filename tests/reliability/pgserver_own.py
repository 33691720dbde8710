"""A PostgreSQL server of the test's own (Debian's binaries), so a test can stop and restart it.

The machine's shared PostgreSQL is never touched. ``initdb`` refuses to run as root, so as root
the cluster is owned and run by ``nobody`` in a directory it owns.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from tests.support.servers import free_port

BIN_DIRS = [Path("/usr/lib/postgresql/15/bin"), Path("/usr/lib/postgresql/16/bin")]


def _bin(name: str, folders: list[Path] = BIN_DIRS) -> str:
    for folder in folders:
        if (folder / name).is_file():
            return str(folder / name)
    raise RuntimeError(
        f"PostgreSQL's {name} is required by the reliability tests and missing: "
        "apt-get install postgresql-15"
    )


class OwnPostgres:
    """initdb + pg_ctl on a private data directory and a free loopback port.

    ``bin_dir`` picks other binaries than Debian's: pgserver's, whose PostgreSQL has pgvector.
    """

    def __init__(self, bin_dir: Path | None = None) -> None:
        self.bin_dirs = [bin_dir] if bin_dir is not None else BIN_DIRS
        self.root = Path(tempfile.mkdtemp(prefix="vs-own-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            os.chmod(self.root, 0o755)
            shutil.chown(self.root, "nobody", "nogroup")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _tool(self, name: str) -> str:
        return _bin(name, self.bin_dirs)

    def _run(self, *argv: str) -> None:
        prefix = ["runuser", "-u", "nobody", "--"] if self.as_root else []
        result = subprocess.run(
            [*prefix, *argv], capture_output=True, text=True, timeout=60, cwd=self.root
        )
        if result.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed: {result.stdout}{result.stderr}")

    def init(self) -> None:
        self._run(
            self._tool("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync"
        )

    def start(self) -> None:
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port} "
            f"-c unix_socket_directories={self.root} -c fsync=off"
        )
        self._run(
            self._tool("pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "start",
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                psycopg.connect(self.url, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self, mode: str = "fast") -> None:
        """``fast`` is an orderly shutdown; ``immediate`` is what a crash looks like to clients."""
        self._run(self._tool("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def destroy(self) -> None:
        with contextlib.suppress(RuntimeError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def running_postgres(bin_dir: Path | None = None) -> Iterator[OwnPostgres]:
    """An :class:`OwnPostgres`, initialised and started; destroyed on exit."""
    server = OwnPostgres(bin_dir)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.destroy()
