"""Helpers of the reliability tests: run the ``visualsearch`` command on a test's stores."""

from __future__ import annotations

import os
import subprocess
import sys

from visualsearch.config import Settings


def store_env(settings: Settings) -> dict[str, str]:
    """The environment that points a ``visualsearch`` process at ``settings``' stores."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VISUALSEARCH_")}
    values = {
        "DATABASE_URL": settings.database_url,
        "QDRANT_PATH": settings.qdrant_path,
        "QDRANT_URL": settings.qdrant_url,
        "S3_ENDPOINT": settings.s3_endpoint,
        "S3_ACCESS_KEY": settings.s3_access_key,
        "S3_SECRET_KEY": settings.s3_secret_key.get_secret_value(),
        "S3_BUCKET": settings.s3_bucket,
        "REDIS_URL": settings.redis_url,
        "QUEUE_STREAM": settings.queue_stream,
        "MODEL": settings.model,
        "DATA_DIR": settings.data_dir,
        "ORPHAN_GRACE_SECONDS": settings.orphan_grace_seconds,
    }
    env.update({f"VISUALSEARCH_{k}": str(v) for k, v in values.items() if v is not None})
    env["HF_HUB_OFFLINE"] = "1"
    return env


def run_cli(
    settings: Settings, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``visualsearch ARGS`` as an operator runs it, against the test's real stores."""
    return subprocess.run(
        [sys.executable, "-m", "visualsearch", *args],
        env=store_env(settings),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
