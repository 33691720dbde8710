"""The vector index embedded in-process with Qdrant Edge (``qdrant-edge-py``): Qdrant's Rust
engine with HNSW, for the one-machine mode.

Each generation is a shard directory under ``root``; ``<collection>.json`` names the live one
and its vector size, and is replaced atomically by a re-index. Calls run on a worker thread,
one at a time per store (the shard is not shared across threads concurrently). Edge has no
group-by: a search over-fetches images and keeps each product's best (``base.group_best``).
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np

from visualsearch.exceptions import ModelMismatchError, StoreUnavailableError
from visualsearch.filters import ProductFilter
from visualsearch.storage.vectors.base import (
    NO_FILTER,
    STORE,
    ImageKey,
    VectorHit,
    VectorItem,
    VectorPayload,
    VectorStore,
    first_fetch,
    generation_name,
    generation_number,
    group_best,
    leave_out,
)

# the same point ids as the server adapter
from visualsearch.storage.vectors.qdrant import image_of, point_id

T = TypeVar("T")
OPTIMISE_EVERY = 1000  # points written before the HNSW graph is rebuilt
FLUSH_EVERY_SECONDS = 5.0
"""How stale the segment files may get behind the write-ahead log. Every write is in Edge's
WAL before ``update`` returns, so a killed process loses nothing (replayed on the next load:
``tests/storage/test_qdrant_edge_durability.py``); a flush writes the segments themselves and
costs 40-340 ms on a busy disk, which a flush per write paid on every job and bulk batch.
Qdrant's server flushes on the same kind of interval (``flush_interval_sec``, 5 s); ``close``
and a re-index's switch always flush."""
HNSW_EF = 128
# A filter that keeps a few % of the points cuts the HNSW graph into islands, and Qdrant's
# planner (which judges an AND by its least selective condition) keeps searching the graph:
# recall falls (0.85 at a 5 % filter over 100k points with ef 128) and a wider beam costs more
# than the search it filters (2.3x unfiltered at ef 512). The payload indexes estimate how many
# points a filter keeps in ~0.06 ms (4,766 estimated for 4,772 kept), and scoring that few
# exactly is cheaper than any beam: a filter estimated to keep at most EXACT_SCAN_POINTS is
# answered by an exact scan of the points it keeps (recall 1.0, 2.8 ms at 5 % of 100k);
# broader filters search the graph with the wider beam (the plain one loses recall even under a
# filter keeping 28 %: 0.912 against 0.992, bench/RESULTS.md).
EXACT_SCAN_POINTS = 20_000
HNSW_EF_FILTERED = 512
INDEXED = {
    "category": "Keyword",
    "brand": "Keyword",
    "price": "Float",
    "stock": "Integer",
    "product_id": "Keyword",  # galleries are read by it
}


class QdrantEdgeVectorStore(VectorStore):
    kind = "qdrant-edge"

    def __init__(
        self, collection: str, root: Path, *, generation: str | None = None, dim: int | None = None
    ) -> None:
        import qdrant_edge

        self._qe = qdrant_edge
        self.collection = collection
        self.root = root
        self._generation = generation  # set for a re-index builder
        self._dim = dim
        self._shard: Any = None
        self._lock = threading.Lock()
        self._written = 0
        self._flushed_at = time.monotonic()
        self._lock_file: IO[str] | None = None

    # -- plumbing ------------------------------------------------------------------------------

    async def _run(self, fn: Callable[[], T]) -> T:
        def locked() -> T:
            with self._lock:
                return fn()

        try:
            return await asyncio.to_thread(locked)
        except (OSError, RuntimeError, ValueError) as exc:
            raise StoreUnavailableError(STORE, str(exc) or type(exc).__name__) from exc

    def _flush_if_due(self, shard: Any) -> None:
        """Flush the segments if the last flush is ``FLUSH_EVERY_SECONDS`` old (lock held)."""
        now = time.monotonic()
        if now - self._flushed_at >= FLUSH_EVERY_SECONDS:
            shard.flush()
            self._flushed_at = now

    @property
    def _pointer(self) -> Path:
        return self.root / f"{self.collection}.json"

    def _read_pointer(self) -> dict[str, Any] | None:
        try:
            return json.loads(self._pointer.read_text())
        except FileNotFoundError:
            return None

    def _write_pointer(self, generation: str, dim: int) -> None:
        tmp = self._pointer.with_suffix(".tmp")
        tmp.write_text(json.dumps({"generation": generation, "dim": dim}))
        os.replace(tmp, self._pointer)

    def _config(self, dim: int) -> Any:
        qe = self._qe
        return qe.EdgeConfig(
            vectors=qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine),
            hnsw_config=qe.HnswIndexConfig(m=16, ef_construct=100, full_scan_threshold=1000),
            optimizers=qe.EdgeOptimizersConfig(indexing_threshold=OPTIMISE_EVERY),
        )

    def _create_shard(self, generation: str, dim: int) -> Any:
        path = self.root / generation
        shutil.rmtree(path, ignore_errors=True)  # an aborted earlier attempt
        path.mkdir(parents=True)
        shard = self._qe.EdgeShard.create(str(path), self._config(dim))
        self._index_fields(shard)
        return shard

    def _index_fields(self, shard: Any) -> None:
        """Payload indexes of every filtered field (re-creating one that exists is a no-op)."""
        for field, schema in INDEXED.items():
            kind = getattr(self._qe.PayloadSchemaType, schema)
            shard.update(self._qe.UpdateOperation.create_field_index(field, kind))

    def _filter(self, product_filter: ProductFilter) -> Any:
        qe = self._qe
        must: list[Any] = []
        if product_filter.categories:
            match = qe.MatchAny(list(product_filter.categories))
            must.append(qe.FieldCondition(key="category", match=match))
        if product_filter.brands:
            must.append(
                qe.FieldCondition(key="brand", match=qe.MatchAny(list(product_filter.brands)))
            )
        low, high = product_filter.price_min, product_filter.price_max
        if low is not None or high is not None:
            price = qe.RangeFloat(
                gte=None if low is None else float(low), lte=None if high is None else float(high)
            )
            must.append(qe.FieldCondition(key="price", range=price))
        if product_filter.in_stock:
            must.append(qe.FieldCondition(key="stock", range=qe.RangeFloat(gt=0)))
        return qe.Filter(must=must) if must else None

    def _shard_now(self) -> Any:
        if self._shard is None:
            pointer = self._read_pointer()
            if pointer is None:
                raise StoreUnavailableError(STORE, f"collection {self.collection!r} does not exist")
            self._shard = self._qe.EdgeShard.load(str(self.root / pointer["generation"]))
        return self._shard

    # -- lifecycle -----------------------------------------------------------------------------

    async def open(self) -> None:
        """Take the directory for this process: an embedded engine has one owner at a time."""
        self.root.mkdir(parents=True, exist_ok=True)
        handle = (self.root / ".lock").open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.close()
            raise StoreUnavailableError(
                STORE,
                f"{self.root} is in use by another process (is `visualsearch serve` running? "
                "seed it with --api instead)",
            ) from exc
        self._lock_file = handle

    async def close(self) -> None:
        def close() -> None:
            if self._shard is not None:
                self._shard.flush()
                self._shard.close()
                self._shard = None

        await self._run(close)
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    async def ping(self) -> None:
        await self._run(lambda: self._shard_now().info())

    async def ensure_collection(self, dim: int) -> None:
        def ensure() -> None:
            pointer = self._read_pointer()
            if pointer is None:
                generation = generation_name(self.collection, 1)
                self._shard = self._create_shard(generation, dim)
                self._write_pointer(generation, dim)
            elif pointer["dim"] != dim:
                raise ModelMismatchError(
                    f"The vector collection holds {pointer['dim']}-dim vectors but the model "
                    f"makes {dim}-dim ones. Re-index with `visualsearch reindex` to switch models."
                )
            else:  # an older generation gets the payload indexes added since
                self._index_fields(self._shard_now())

        await self._run(ensure)

    async def drop_collection(self) -> None:
        def drop() -> None:
            pointer = self._read_pointer()
            if self._shard is not None:
                self._shard.close()
                self._shard = None
            if pointer is not None:
                self._pointer.unlink()
                shutil.rmtree(self.root / pointer["generation"], ignore_errors=True)

        await self._run(drop)

    # -- data ----------------------------------------------------------------------------------

    async def upsert(self, items: Sequence[VectorItem]) -> None:
        if not items:
            return
        points = [
            self._qe.Point(
                point_id(item.product_id, item.image_index),
                item.vector.astype(np.float32).tolist(),
                item.payload_dict(),
            )
            for item in items
        ]

        def write() -> None:
            shard = self._shard_now()
            shard.update(self._qe.UpdateOperation.upsert_points(points))
            self._written += len(points)
            if self._written >= OPTIMISE_EVERY:  # fold new points into the HNSW graph
                shard.optimize()
                self._written = 0
            self._flush_if_due(shard)

        await self._run(write)

    async def search(
        self,
        vector: np.ndarray,
        top_k: int,
        filter: ProductFilter = NO_FILTER,
        *,
        offset: int = 0,
        min_score: float | None = None,
    ) -> list[VectorHit]:
        condition = self._filter(filter)
        return await group_best(
            lambda limit: self._run(lambda: self._images(vector, condition, limit, min_score)),
            offset,
            top_k,
        )

    async def similar(
        self,
        product_id: str,
        top_k: int,
        filter: ProductFilter = NO_FILTER,
        *,
        offset: int = 0,
        min_score: float | None = None,
    ) -> tuple[np.ndarray, list[VectorHit]] | None:
        """The stored vector and the first images of its ranking in ONE hop to the shard's
        thread (two in the generic way); further fetches only where galleries need them."""
        condition = self._filter(filter)
        need = offset + top_k + 1
        first = first_fetch(need)

        def both() -> tuple[np.ndarray | None, list[VectorHit]]:
            vector = self._stored_vector(product_id)
            if vector is None:
                return None, []
            return vector, self._images(vector, condition, first, min_score)

        vector, images = await self._run(both)
        if vector is None:
            return None
        found = vector
        prefetched = {first: images}

        async def fetch(limit: int) -> list[VectorHit]:
            ready = prefetched.pop(limit, None)
            if ready is not None:
                return ready
            return await self._run(lambda: self._images(found, condition, limit, min_score))

        ranked = await group_best(fetch, 0, need)
        return vector, leave_out(ranked, product_id, offset, top_k)

    def _images(
        self, vector: np.ndarray, condition: Any, limit: int, min_score: float | None
    ) -> list[VectorHit]:
        """The ``limit`` best images (best first), on the shard's thread."""
        qe = self._qe
        shard = self._shard_now()
        request = qe.QueryRequest(
            limit=limit,
            query=qe.Query.Nearest(vector.astype(np.float32).tolist()),
            filter=condition,
            score_threshold=min_score,
            params=self._plan(shard, condition, limit),
            with_payload=True,
        )
        return [
            VectorHit(
                str(h.payload["product_id"]),
                float(h.score),
                VectorPayload.read(h.payload),
                image_of(h.payload),
            )
            for h in shard.query(request)
            if h.payload
        ]

    def _plan(self, shard: Any, flt: Any, depth: int) -> Any:
        """Search parameters for one query: an exact scan under a selective filter, else HNSW."""
        qe = self._qe
        if flt is None:
            return qe.SearchParams(hnsw_ef=max(HNSW_EF, depth))
        kept = shard.count(qe.CountRequest(filter=flt, exact=False))  # payload-index estimate
        if kept <= EXACT_SCAN_POINTS:
            return qe.SearchParams(exact=True)
        return qe.SearchParams(hnsw_ef=max(HNSW_EF_FILTERED, depth))

    async def set_payloads(self, payloads: Mapping[str, VectorPayload]) -> None:
        if not payloads:
            return
        present = await self.images(list(payloads))
        operations = [
            self._qe.UpdateOperation.set_payload(
                [point_id(pid, i) for i in have], payloads[pid].to_dict()
            )
            for pid, have in present.items()
        ]

        def write() -> None:
            shard = self._shard_now()
            for operation in operations:
                shard.update(operation)
            self._flush_if_due(shard)

        await self._run(write)

    async def payloads(self) -> dict[str, VectorPayload | None]:
        def scroll() -> dict[str, VectorPayload | None]:
            found: dict[str, VectorPayload | None] = {}
            offset = None
            while True:
                request = self._qe.ScrollRequest(limit=512, offset=offset, with_payload=True)
                records, offset = self._shard_now().scroll(request)
                for r in records:
                    if r.payload:
                        found[str(r.payload["product_id"])] = VectorPayload.read(r.payload)
                if offset is None:
                    return found

        return await self._run(scroll)

    async def delete_images(self, keys: Sequence[ImageKey]) -> None:
        if not keys:
            return
        ids = [point_id(p, i) for p, i in keys]

        def delete() -> None:
            shard = self._shard_now()
            shard.update(self._qe.UpdateOperation.delete_points(ids))
            self._flush_if_due(shard)

        await self._run(delete)

    async def images(self, product_ids: Sequence[str] | None = None) -> dict[str, dict[int, str]]:
        if product_ids is not None and not product_ids:
            return {}
        qe = self._qe
        only = (
            None
            if product_ids is None
            else qe.Filter(
                must=[qe.FieldCondition(key="product_id", match=qe.MatchAny(list(product_ids)))]
            )
        )

        def scroll() -> dict[str, dict[int, str]]:
            found: dict[str, dict[int, str]] = {}
            offset = None
            while True:
                request = qe.ScrollRequest(limit=512, offset=offset, filter=only, with_payload=True)
                records, offset = self._shard_now().scroll(request)
                for r in records:
                    if r.payload:
                        have = found.setdefault(str(r.payload["product_id"]), {})
                        have[image_of(r.payload)] = str(r.payload.get("image_sha256", ""))
                if offset is None:
                    return found

        return await self._run(scroll)

    async def vector_of(self, product_id: str) -> np.ndarray | None:
        return await self._run(lambda: self._stored_vector(product_id))

    def _stored_vector(self, product_id: str) -> np.ndarray | None:
        """The main image's stored vector, on the shard's thread."""
        records = self._shard_now().retrieve(
            [point_id(product_id)], with_payload=False, with_vector=True
        )
        vector = records[0].vector if records else None
        if isinstance(vector, dict):  # a named-vector layout: the default (unnamed) vector
            vector = vector.get("", next(iter(vector.values()), None))
        return None if vector is None else np.asarray(vector, dtype=np.float32)

    async def count(self) -> int:
        return int(
            await self._run(lambda: self._shard_now().count(self._qe.CountRequest(exact=True)))
        )

    # -- zero-downtime re-index ----------------------------------------------------------------

    async def begin_rebuild(self, dim: int) -> VectorStore:
        def begin() -> VectorStore:
            pointer = self._read_pointer()
            generation = generation_name(
                self.collection, generation_number(pointer["generation"] if pointer else "") + 1
            )
            builder = QdrantEdgeVectorStore(
                self.collection, self.root, generation=generation, dim=dim
            )
            builder._shard = self._create_shard(generation, dim)
            return builder

        return await self._run(begin)

    async def commit_rebuild(self, builder: VectorStore) -> None:
        assert isinstance(builder, QdrantEdgeVectorStore) and builder._generation and builder._dim
        new_shard, generation, dim = builder._shard, builder._generation, builder._dim

        def seal() -> None:  # the new generation is whole on disk before it is named live
            new_shard.optimize()
            new_shard.flush()

        await builder._run(seal)

        def switch() -> None:
            pointer = self._read_pointer()
            self._write_pointer(generation, dim)
            old, self._shard = self._shard, new_shard
            builder._shard = None
            if old is not None:
                old.close()
            if pointer is not None and pointer["generation"] != generation:
                shutil.rmtree(self.root / pointer["generation"], ignore_errors=True)

        await self._run(switch)

    async def abort_rebuild(self, builder: VectorStore) -> None:
        assert isinstance(builder, QdrantEdgeVectorStore) and builder._generation

        def abort() -> None:
            if builder._shard is not None:
                builder._shard.close()
                builder._shard = None
            shutil.rmtree(self.root / str(builder._generation), ignore_errors=True)

        await builder._run(abort)
