"""Product vectors in Qdrant: a server by URL, or embedded (local mode) under a directory.

Point ids are derived from product ids (UUID v5), so re-indexing a product is an upsert, never a
duplicate. The category is a payload field with a keyword index, so the filter is applied inside
the vector search.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client import AsyncQdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from visualsearch.exceptions import ModelMismatchError, StoreUnavailableError

NAMESPACE = uuid.UUID("6f1c0a52-5b1e-4d0e-9c3a-7a1e1f0c2b11")
STORE = "vector index"


def point_id(product_id: str) -> str:
    """The stable Qdrant point id of a product."""
    return str(uuid.uuid5(NAMESPACE, product_id))


@dataclass(frozen=True)
class VectorHit:
    product_id: str
    score: float


class VectorStore:
    """Qdrant adapter: one collection of cosine vectors with a ``category`` payload index."""

    def __init__(
        self,
        collection: str,
        url: str | None = None,
        path: Path | None = None,
        api_key: str | None = None,
    ) -> None:
        self.collection = collection
        self.embedded = not url
        if url:
            self._client = AsyncQdrantClient(url=url, api_key=api_key, timeout=10)
        else:
            if path is None:
                raise ValueError("VectorStore needs a Qdrant URL or an embedded path")
            path.mkdir(parents=True, exist_ok=True)
            self._client = AsyncQdrantClient(path=str(path))

    async def close(self) -> None:
        await self._client.close()

    async def _call(self, coro: Any) -> Any:
        try:
            return await coro
        except (ResponseHandlingException, UnexpectedResponse, ConnectionError, OSError) as exc:
            raise StoreUnavailableError(STORE, str(exc) or type(exc).__name__) from exc

    async def ensure_collection(self, dim: int) -> None:
        """Create the collection for ``dim``-sized vectors; refuse one of another size."""
        exists = await self._call(self._client.collection_exists(self.collection))
        if exists:
            info = await self._call(self._client.get_collection(self.collection))
            params = info.config.params.vectors
            size = params.size if isinstance(params, models.VectorParams) else None
            if size is not None and size != dim:
                raise ModelMismatchError(
                    f"The vector collection holds {size}-dim vectors but the model makes {dim}-dim "
                    "ones. Re-index with `visualsearch reindex` to switch models."
                )
            return
        await self._call(
            self._client.create_collection(
                self.collection,
                vectors_config=models.VectorParams(size=dim, distance=models.Distance.COSINE),
            )
        )
        if not self.embedded:  # local mode filters by scanning; the server uses the index
            await self._call(
                self._client.create_payload_index(
                    self.collection, "category", field_schema=models.PayloadSchemaType.KEYWORD
                )
            )

    async def drop_collection(self) -> None:
        await self._call(self._client.delete_collection(self.collection))

    async def ping(self) -> None:
        await self._call(self._client.get_collections())

    async def upsert(self, items: Sequence[tuple[str, np.ndarray, dict[str, Any]]]) -> None:
        """Store (product_id, vector, payload) triples, replacing any earlier vector."""
        points = [
            models.PointStruct(
                id=point_id(pid), vector=vec.tolist(), payload={**payload, "product_id": pid}
            )
            for pid, vec, payload in items
        ]
        if points:
            await self._call(self._client.upsert(self.collection, points=points, wait=True))

    async def search(
        self, vector: np.ndarray, top_k: int, category: str | None = None
    ) -> list[VectorHit]:
        query_filter = (
            models.Filter(
                must=[
                    models.FieldCondition(key="category", match=models.MatchValue(value=category))
                ]
            )
            if category
            else None
        )
        response = await self._call(
            self._client.query_points(
                self.collection,
                query=vector.tolist(),
                limit=top_k,
                query_filter=query_filter,
                with_payload=["product_id"],
            )
        )
        return [
            VectorHit(str(p.payload["product_id"]), float(p.score))
            for p in response.points
            if p.payload
        ]

    async def delete(self, product_ids: Sequence[str]) -> None:
        if product_ids:
            await self._call(
                self._client.delete(
                    self.collection,
                    points_selector=models.PointIdsList(points=[point_id(p) for p in product_ids]),
                    wait=True,
                )
            )

    async def existing(self, product_ids: Sequence[str]) -> dict[str, str]:
        """Which of ``product_ids`` have a vector, with the image hash it was made from."""
        if not product_ids:
            return {}
        points = await self._call(
            self._client.retrieve(
                self.collection, ids=[point_id(p) for p in product_ids], with_payload=True
            )
        )
        return {
            str(p.payload["product_id"]): str(p.payload.get("image_sha256", ""))
            for p in points
            if p.payload
        }

    async def count(self) -> int:
        result = await self._call(self._client.count(self.collection, exact=True))
        return int(result.count)

    async def all_ids(self) -> dict[str, str]:
        """Every product id with a vector, and its image hash (for consistency checks)."""
        ids: dict[str, str] = {}
        offset = None
        while True:
            points, offset = await self._call(
                self._client.scroll(
                    self.collection,
                    limit=512,
                    offset=offset,
                    with_payload=["product_id", "image_sha256"],
                )
            )
            for p in points:
                if p.payload:
                    ids[str(p.payload["product_id"])] = str(p.payload.get("image_sha256", ""))
            if offset is None:
                return ids
