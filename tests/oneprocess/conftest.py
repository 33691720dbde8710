"""The one-machine server's tests: a data directory per test, and nothing left running."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.serve import kill_processes_of
from tests.support.servers import shared_tmpdir


@pytest.fixture
def data_dir(request: pytest.FixtureRequest) -> Iterator[Path]:
    """A data directory of its own for the test, under a folder named after its module."""
    prefix = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_").replace("_", "-")
    with shared_tmpdir(f"vs-{prefix}-") as root:
        data = root / "data"
        try:
            yield data
        finally:
            kill_processes_of(data)  # whatever a failed test left running
