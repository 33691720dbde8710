"""Qdrant Edge keeps what it acknowledged when the process is killed before any flush.

The store flushes its segments at most every ``FLUSH_EVERY_SECONDS``; what protects a write in
between is Edge's write-ahead log, replayed when the shard is loaded again. These tests kill a
real child process with ``os._exit`` (no ``close``, no flush, no atexit) right after the writes
and open the directory again.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

from visualsearch.storage.vectors import qdrant_edge
from visualsearch.storage.vectors.base import VectorItem, VectorPayload
from visualsearch.storage.vectors.qdrant_edge import QdrantEdgeVectorStore

CHILD = textwrap.dedent(
    """
    import asyncio, os, sys
    import numpy as np
    from pathlib import Path
    from visualsearch.storage.vectors import qdrant_edge
    from visualsearch.storage.vectors.base import VectorItem, VectorPayload
    from visualsearch.storage.vectors.qdrant_edge import QdrantEdgeVectorStore

    qdrant_edge.FLUSH_EVERY_SECONDS = 3600.0  # nothing is flushed after the first write

    async def main() -> None:
        store = QdrantEdgeVectorStore("products", Path(sys.argv[1]))
        await store.open()
        await store.ensure_collection(8)
        for batch in range(5):
            await store.upsert([
                VectorItem(f"p{batch * 10 + i}", np.eye(8, dtype=np.float32)[i % 8], "shoes")
                for i in range(10)
            ])
        await store.delete(["p0", "p1"])
        await store.set_payloads({"p2": VectorPayload("bags", "Acme", 9.5, 3)})
        os._exit(0)  # killed: no close, no flush

    asyncio.run(main())
    """
)


async def test_writes_survive_a_kill_before_any_flush(tmp_path: Path) -> None:
    env_path = json.dumps(sys.path)
    result = subprocess.run(
        [sys.executable, "-c", f"import sys; sys.path[:0] = {env_path}\n{CHILD}", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    store = QdrantEdgeVectorStore("products", tmp_path)
    await store.open()
    try:
        await store.ensure_collection(8)
        ids = set(await store.all_ids())
        assert ids == {f"p{i}" for i in range(2, 50)}
        payloads = await store.payloads()
        assert payloads["p2"] == VectorPayload("bags", "Acme", 9.5, 3)
        hits = await store.search(np.eye(8, dtype=np.float32)[3], 5)
        assert hits and all(h.product_id in ids for h in hits)
    finally:
        await store.close()


async def test_writes_flush_only_when_the_interval_has_passed(tmp_path: Path) -> None:
    store = QdrantEdgeVectorStore("products", tmp_path)
    await store.open()
    await store.ensure_collection(8)
    flushes: list[float] = []
    shard = store._shard_now()
    real_flush = shard.flush

    class Counting:
        def __getattr__(self, name: str) -> object:
            return getattr(shard, name)

        def flush(self) -> None:
            flushes.append(1.0)
            real_flush()

    store._shard = Counting()
    item = VectorItem("a", np.ones(8, dtype=np.float32), "shoes")
    try:
        for _ in range(20):
            await store.upsert([item])
        assert flushes == []  # twenty writes inside one interval: no flush
        store._flushed_at -= qdrant_edge.FLUSH_EVERY_SECONDS
        await store.upsert([item])
        assert len(flushes) == 1  # the interval passed: the next write flushes
    finally:
        store._shard = shard
        await store.close()
