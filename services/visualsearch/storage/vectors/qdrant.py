"""The vector index in Qdrant: a server by URL, or embedded (local mode) under a directory.

Point ids are derived from product ids and image indexes (UUID v5; a main image's id is the
product's, as before galleries), so re-indexing a product is an upsert, never a duplicate.
Searches group the images by ``product_id`` in Qdrant (``query_points_groups``, one best image
per product). Category, brand, price and stock are payload fields with payload indexes on the
server (keyword, keyword, float, integer), so every filter is applied inside the vector search.
The collection name is an alias of a generation (``products__g1``...), which a re-index replaces
in one alias switch.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client import AsyncQdrantClient, models
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

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
    generation_name,
    generation_number,
)

HNSW_EF_FILTERED = 512  # the beam of a filtered search (see qdrant_edge.HNSW_EF_FILTERED)
NAMESPACE = uuid.UUID("6f1c0a52-5b1e-4d0e-9c3a-7a1e1f0c2b11")
PAYLOAD_INDEXES = {
    "category": models.PayloadSchemaType.KEYWORD,
    "brand": models.PayloadSchemaType.KEYWORD,
    "price": models.PayloadSchemaType.FLOAT,
    "stock": models.PayloadSchemaType.INTEGER,
    "product_id": models.PayloadSchemaType.KEYWORD,  # search groups by it; galleries read by it
}


@dataclass(frozen=True)
class QdrantLayout:
    """How new generations are laid out on a Qdrant server (sharding, replicas, quantisation)."""

    shards: int = 1
    replication_factor: int = 1
    quantization: str = "none"
    on_disk: bool = False


def quantization_config(kind: str) -> models.QuantizationConfig | None:
    """Compressed vectors kept in RAM for the scan; originals rescore the candidates."""
    if kind == "scalar":
        return models.ScalarQuantization(
            scalar=models.ScalarQuantizationConfig(type=models.ScalarType.INT8, always_ram=True)
        )
    if kind == "product":
        return models.ProductQuantization(
            product=models.ProductQuantizationConfig(
                compression=models.CompressionRatio.X16, always_ram=True
            )
        )
    if kind == "binary":
        return models.BinaryQuantization(binary=models.BinaryQuantizationConfig(always_ram=True))
    return None


def point_id(product_id: str, image_index: int = 0) -> str:
    """The stable Qdrant point id of a product's image ('#' never occurs in a product id)."""
    name = product_id if image_index == 0 else f"{product_id}#{image_index}"
    return str(uuid.uuid5(NAMESPACE, name))


def image_of(payload: Mapping[str, Any]) -> int:
    """A stored point's image index (0 for points written before galleries)."""
    return int(payload.get("image_index") or 0)


def product_ids_filter(product_ids: Sequence[str] | None) -> models.Filter | None:
    if product_ids is None:
        return None
    match = models.MatchAny(any=list(product_ids))
    return models.Filter(must=[models.FieldCondition(key="product_id", match=match)])


def qdrant_filter(product_filter: ProductFilter) -> models.Filter | None:
    """A :class:`ProductFilter` as a Qdrant payload filter (a conjunction)."""
    must: list[models.Condition] = []
    if product_filter.categories:
        match = models.MatchAny(any=list(product_filter.categories))
        must.append(models.FieldCondition(key="category", match=match))
    if product_filter.brands:
        match = models.MatchAny(any=list(product_filter.brands))
        must.append(models.FieldCondition(key="brand", match=match))
    low, high = product_filter.price_min, product_filter.price_max
    if low is not None or high is not None:
        price = models.Range(
            gte=None if low is None else float(low), lte=None if high is None else float(high)
        )
        must.append(models.FieldCondition(key="price", range=price))
    if product_filter.in_stock:
        must.append(models.FieldCondition(key="stock", range=models.Range(gt=0)))
    return models.Filter(must=must) if must else None


class QdrantVectorStore(VectorStore):
    kind = "qdrant"

    def __init__(
        self,
        collection: str,
        url: str | None = None,
        path: Path | None = None,
        api_key: str | None = None,
        *,
        client: AsyncQdrantClient | None = None,
        physical: str | None = None,
        embedded: bool | None = None,
        layout: QdrantLayout | None = None,
    ) -> None:
        self.collection = collection
        self.layout = layout or QdrantLayout()
        self.embedded = (not url) if embedded is None else embedded
        self._physical = physical  # set for a re-index builder: it writes to its generation
        self._owns_client = client is None
        if client is not None:
            self._client = client
        elif url:
            self._client = AsyncQdrantClient(url=url, api_key=api_key, timeout=10)
        else:
            if path is None:  # pragma: no cover - configuration guarantees one of them
                raise ValueError("QdrantVectorStore needs a URL or an embedded path")
            path.mkdir(parents=True, exist_ok=True)
            self._client = AsyncQdrantClient(path=str(path))

    def sibling(self, collection: str) -> QdrantVectorStore:
        """Another collection on this store's client (one embedded Qdrant directory has one)."""
        return QdrantVectorStore(
            collection, client=self._client, embedded=self.embedded, layout=self.layout
        )

    @property
    def _name(self) -> str:
        return self._physical or self.collection

    async def close(self) -> None:
        if self._owns_client:
            await self._client.close()

    async def _call(self, coro: Any) -> Any:
        try:
            return await coro
        except (ResponseHandlingException, UnexpectedResponse, ConnectionError, OSError) as exc:
            raise StoreUnavailableError(STORE, str(exc) or type(exc).__name__) from exc

    async def _live_generation(self) -> str | None:
        aliases = await self._call(self._client.get_aliases())
        for alias in aliases.aliases:
            if alias.alias_name == self.collection:
                return str(alias.collection_name)
        return None

    async def _create(self, name: str, dim: int) -> None:
        layout = self.layout
        vectors = models.VectorParams(
            size=dim, distance=models.Distance.COSINE, on_disk=layout.on_disk or None
        )
        await self._call(
            self._client.create_collection(
                name,
                vectors_config=vectors,
                shard_number=layout.shards,
                replication_factor=layout.replication_factor,
                quantization_config=quantization_config(layout.quantization),
            )
        )
        await self._ensure_indexes(name, {})

    async def _ensure_indexes(self, name: str, present: Mapping[str, Any]) -> None:
        """Payload indexes of the filtered fields (an older collection gets the missing ones)."""
        if self.embedded:  # local mode filters by scanning; the server uses the indexes
            return
        for field, schema in PAYLOAD_INDEXES.items():
            if field not in present:
                await self._call(
                    self._client.create_payload_index(name, field, field_schema=schema, wait=True)
                )

    async def _point_alias(self, target: str, previous: str | None) -> None:
        operations: list[Any] = []
        if previous is not None:
            operations.append(
                models.DeleteAliasOperation(
                    delete_alias=models.DeleteAlias(alias_name=self.collection)
                )
            )
        operations.append(
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=target, alias_name=self.collection)
            )
        )
        await self._call(
            self._client.update_collection_aliases(change_aliases_operations=operations)
        )

    async def ensure_collection(self, dim: int) -> None:
        live = await self._live_generation()
        if live is None:
            first = generation_name(self.collection, 1)
            if not await self._call(self._client.collection_exists(first)):
                await self._create(first, dim)
            await self._point_alias(first, None)
            return
        info = await self._call(self._client.get_collection(live))
        params = info.config.params.vectors
        size = params.size if isinstance(params, models.VectorParams) else None
        if size is not None and size != dim:
            raise ModelMismatchError(
                f"The vector collection holds {size}-dim vectors but the model makes {dim}-dim "
                "ones. Re-index with `visualsearch reindex` to switch models."
            )
        await self._ensure_indexes(live, info.payload_schema or {})

    async def drop_collection(self) -> None:
        live = await self._live_generation()
        if live is not None:
            await self._call(
                self._client.update_collection_aliases(
                    change_aliases_operations=[
                        models.DeleteAliasOperation(
                            delete_alias=models.DeleteAlias(alias_name=self.collection)
                        )
                    ]
                )
            )
            await self._call(self._client.delete_collection(live))

    async def ping(self) -> None:
        await self._call(self._client.get_collections())

    async def upsert(self, items: Sequence[VectorItem]) -> None:
        points = [
            models.PointStruct(
                id=point_id(item.product_id, item.image_index),
                vector=item.vector.tolist(),
                payload=item.payload_dict(),
            )
            for item in items
        ]
        if points:
            await self._call(self._client.upsert(self._name, points=points, wait=True))

    async def search(
        self,
        vector: np.ndarray,
        top_k: int,
        filter: ProductFilter = NO_FILTER,
        *,
        offset: int = 0,
        min_score: float | None = None,
    ) -> list[VectorHit]:
        response = await self._call(
            self._client.query_points_groups(
                self._name,
                group_by="product_id",
                query=vector.tolist(),
                limit=offset + top_k,  # groups have no offset: the page is cut from the top
                group_size=1,
                query_filter=qdrant_filter(filter),
                score_threshold=min_score,
                # a selective filter splits the HNSW graph: a wider beam keeps recall (as Edge)
                search_params=None
                if filter.is_empty
                else models.SearchParams(hnsw_ef=max(HNSW_EF_FILTERED, offset + top_k)),
                with_payload=["product_id", "image_index", "category", "brand", "price", "stock"],
            )
        )
        best = [group.hits[0] for group in response.groups if group.hits]
        return [
            VectorHit(
                str(p.payload["product_id"]),
                float(p.score),
                VectorPayload.read(p.payload),
                image_of(p.payload),
            )
            for p in best[offset:]
            if p.payload
        ]

    async def set_payloads(self, payloads: Mapping[str, VectorPayload]) -> None:
        present = await self.images(list(payloads))  # setting a missing point is an error
        operations = [
            models.SetPayloadOperation(
                set_payload=models.SetPayload(
                    payload=payloads[pid].to_dict(), points=[point_id(pid, i) for i in have]
                )
            )
            for pid, have in present.items()
        ]
        for start in range(0, len(operations), 256):
            await self._call(
                self._client.batch_update_points(
                    self._name, update_operations=operations[start : start + 256], wait=True
                )
            )

    async def payloads(self) -> dict[str, VectorPayload | None]:
        found: dict[str, VectorPayload | None] = {}
        offset = None
        while True:
            points, offset = await self._call(
                self._client.scroll(self._name, limit=512, offset=offset, with_payload=True)
            )
            for p in points:
                if p.payload:
                    found[str(p.payload["product_id"])] = VectorPayload.read(p.payload)
            if offset is None:
                return found

    async def delete_images(self, keys: Sequence[ImageKey]) -> None:
        if keys:
            selector = models.PointIdsList(points=[point_id(p, i) for p, i in keys])
            await self._call(self._client.delete(self._name, points_selector=selector, wait=True))

    async def images(self, product_ids: Sequence[str] | None = None) -> dict[str, dict[int, str]]:
        found: dict[str, dict[int, str]] = {}
        if product_ids is not None and not product_ids:
            return found
        offset = None
        while True:
            points, offset = await self._call(
                self._client.scroll(
                    self._name,
                    scroll_filter=product_ids_filter(product_ids),
                    limit=512,
                    offset=offset,
                    with_payload=["product_id", "image_index", "image_sha256"],
                )
            )
            for p in points:
                if p.payload:
                    have = found.setdefault(str(p.payload["product_id"]), {})
                    have[image_of(p.payload)] = str(p.payload.get("image_sha256", ""))
            if offset is None:
                return found

    async def vector_of(self, product_id: str) -> np.ndarray | None:
        points = await self._call(
            self._client.retrieve(
                self._name, ids=[point_id(product_id)], with_payload=False, with_vectors=True
            )
        )
        if not points or points[0].vector is None:
            return None
        return np.asarray(points[0].vector, dtype=np.float32)

    async def count(self) -> int:
        result = await self._call(self._client.count(self._name, exact=True))
        return int(result.count)

    async def begin_rebuild(self, dim: int) -> VectorStore:
        live = await self._live_generation()
        name = generation_name(self.collection, generation_number(live or "") + 1)
        if await self._call(self._client.collection_exists(name)):
            await self._call(self._client.delete_collection(name))  # an aborted earlier attempt
        await self._create(name, dim)
        return QdrantVectorStore(
            self.collection,
            client=self._client,
            physical=name,
            embedded=self.embedded,
            layout=self.layout,
        )

    async def commit_rebuild(self, builder: VectorStore) -> None:
        assert isinstance(builder, QdrantVectorStore) and builder._physical
        live = await self._live_generation()
        await self._point_alias(builder._physical, live)
        if live is not None and live != builder._physical:
            await self._call(self._client.delete_collection(live))

    async def abort_rebuild(self, builder: VectorStore) -> None:
        assert isinstance(builder, QdrantVectorStore) and builder._physical
        await self._call(self._client.delete_collection(builder._physical))
