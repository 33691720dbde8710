"""``visualsearch serve`` for the benchmarks: the tests' runner (``tests/support/serve.py``) with
a temp root, an empty model-export cache (cold starts), EfficientNet-Lite0, the rate limit off and
quiet logs."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from tests.support.serve import ServeProcess


class Server(ServeProcess):
    start_timeout = 300.0
    index_timeout = 900.0

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="bench-serve-"))
        defaults = {
            "XDG_CACHE_HOME": str(self.root / "cache"),  # cold: no exported model yet
            "VISUALSEARCH_MODEL": "efficientnet-lite0",
            "VISUALSEARCH_RATE_LIMIT_PER_MINUTE": "0",
            "VISUALSEARCH_LOG_LEVEL": "WARNING",
        }
        super().__init__(self.root / "data", {**defaults, **(env or {})})

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.root, ignore_errors=True)
