"""Fixtures of the reliability tests: servers of the test's own, which it may stop and freeze."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import ManagedProcess, free_port


class QdrantStandin(ManagedProcess):
    """The Qdrant REST stand-in (see ``qdrant_standin``) as a process: kill, freeze, thaw."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def freeze(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)


@pytest.fixture
def qdrant_standin(tmp_path: Path) -> Iterator[QdrantStandin]:
    port = free_port()
    argv = [
        sys.executable,
        str(Path(__file__).with_name("qdrant_standin.py")),
        "--port",
        str(port),
        "--path",
        str(tmp_path / "qdrant-standin"),
    ]
    server = QdrantStandin(argv, port, tmp_path / "qdrant-standin.log")
    server.start()
    yield server
    if server.proc is not None:
        server.thaw()
    server.stop(kill=True)
