"""Embedded stores for the one-machine mode: PostgreSQL from the ``pgserver`` package.

(Qdrant runs embedded through qdrant-client's local mode, objects live in a directory, and the
queue and cache use PostgreSQL and process memory: see ``factory``.)
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from visualsearch.exceptions import StoreUnavailableError

log = logging.getLogger(__name__)


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
            self._server = pgserver.get_server(self.data_dir, cleanup_mode="stop")
        except Exception as exc:  # initdb/pg_ctl failures come as several exception types
            raise StoreUnavailableError("embedded PostgreSQL", str(exc)) from exc
        uri: str = self._server.get_uri()
        log.info("embedded PostgreSQL ready", extra={"data_dir": str(self.data_dir)})
        return uri

    def stop(self) -> None:
        if self._server is not None:
            try:
                self._server.cleanup()
            except Exception:  # already stopped: nothing to do
                log.debug("embedded PostgreSQL cleanup failed", exc_info=True)
            self._server = None
