"""Embedded stores for the one-machine mode: PostgreSQL from the ``pgserver`` package.

(Qdrant runs embedded through qdrant-client's local mode, objects live in a directory, and the
queue and cache use PostgreSQL and process memory: see ``factory``.)
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from visualsearch.exceptions import StoreUnavailableError

log = logging.getLogger(__name__)

USERS_FILE = ".handle_pids.json"  # pgserver's list of the processes using a server


def prune_dead_users(pgdata: Path) -> list[int]:
    """Drop the processes that are gone from pgserver's list of a server's users.

    pgserver stops the server when the last process in that list releases it, and a process
    killed with SIGKILL never removes itself: without this, its pid would keep the server
    running after every later command exits. A pid is gone when no such process exists, when
    it is a zombie, or when the process started after the list was last written (the pid was
    reused). Returns the pids removed.
    """
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import DiskList

    path = pgdata.expanduser().resolve() / USERS_FILE
    with PostgresServer._lock:  # the lock pgserver itself takes around the list
        if not path.exists():
            return []
        users = DiskList(path)
        try:
            pids = users.get()
        except ValueError:  # a list torn by a crash: only the living can be in it
            pids = []
        written = path.stat().st_mtime
        dead = [pid for pid in pids if pid != os.getpid() and not _alive(pid, written)]
        if dead:
            users.put([pid for pid in pids if pid not in dead])
            log.info("embedded PostgreSQL: dropped users that are gone", extra={"pids": dead})
        return dead


def _alive(pid: int, written: float) -> bool:
    import psutil

    try:
        process = psutil.Process(pid)
        return process.status() != psutil.STATUS_ZOMBIE and process.create_time() <= written + 1
    except psutil.Error:  # no such process, or not ours to look at
        return False


class EmbeddedPostgres:
    """A private PostgreSQL server under ``data_dir`` (initialised on first use), on a socket.

    pgserver runs the server as an unprivileged user when started as root, so it works in
    containers and CI as well as on a laptop.
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self._server: Any = None

    def start(self) -> str:
        import pgserver

        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            prune_dead_users(self.data_dir)
            self._server = pgserver.get_server(self.data_dir, cleanup_mode="stop")
        except Exception as exc:  # initdb/pg_ctl failures come as several exception types
            raise StoreUnavailableError("embedded PostgreSQL", str(exc)) from exc
        uri: str = self._server.get_uri()
        log.info("embedded PostgreSQL ready", extra={"data_dir": str(self.data_dir)})
        return uri

    def stop(self) -> None:
        """Release the server; the last of its users (living ones) stops it."""
        if self._server is not None:
            try:
                prune_dead_users(self.data_dir)
                self._server.cleanup()
            except Exception:  # already stopped: nothing to do
                log.debug("embedded PostgreSQL cleanup failed", exc_info=True)
            self._server = None
