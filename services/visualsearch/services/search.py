"""The search path: embed → nearest vectors (filtered in Qdrant) → metadata in one query, cached."""

from __future__ import annotations

import hashlib
import json

import numpy as np

from visualsearch import metrics
from visualsearch.embedding.service import EmbeddingService
from visualsearch.exceptions import InputError
from visualsearch.schemas import Product, SearchHit, SearchResponse
from visualsearch.storage.cache.base import ResultCache
from visualsearch.storage.catalog import CatalogStore
from visualsearch.storage.vectors import VectorStore


class SearchService:
    def __init__(
        self,
        embedding: EmbeddingService,
        vectors: VectorStore,
        catalog: CatalogStore,
        cache: ResultCache,
        cache_ttl: int,
    ) -> None:
        self._embedding = embedding
        self._vectors = vectors
        self._catalog = catalog
        self._cache = cache
        self._ttl = cache_ttl

    async def search(
        self,
        image: bytes | None = None,
        text: str | None = None,
        top_k: int = 12,
        category: str | None = None,
    ) -> SearchResponse:
        """Rank products by cosine similarity to the image, the text, or both combined."""
        text = (text or "").strip() or None
        if image is None and text is None:
            raise InputError("Send an image (field 'file') or a text query ('q').")
        kind = "both" if image is not None and text else ("image" if image is not None else "text")
        scope = await self._catalog.cache_scope()
        key = self._cache_key(image, text, top_k, category, scope)
        if self._ttl:
            with metrics.stage("cache"):
                cached = await self._cache.get(key)
            if cached is not None:
                metrics.SEARCHES.labels(kind, "hit").inc()
                response = SearchResponse.model_validate_json(cached)
                response.cache = True
                return response

        vector = await self._query_vector(image, text)
        with metrics.stage("ann"):
            hits = await self._vectors.search(vector, top_k, category)
        with metrics.stage("metadata"):
            records = await self._catalog.get_many([h.product_id for h in hits])
        results = [
            SearchHit(
                **Product.from_record(records[h.product_id]).model_dump(),
                score=round(min(max(h.score, 0.0), 1.0), 6),
            )
            for h in hits
            if h.product_id in records
        ]
        response = SearchResponse(results=results, cache=False, count=len(results))
        if self._ttl:
            with metrics.stage("cache"):
                await self._cache.set(key, response.model_dump_json().encode(), self._ttl)
        metrics.SEARCHES.labels(kind, "miss").inc()
        return response

    async def _query_vector(self, image: bytes | None, text: str | None) -> np.ndarray:
        parts = []
        if image is not None:
            parts.append(await self._embedding.embed_image(image))
        if text:
            parts.append(await self._embedding.embed_text(text))
        vector = np.mean(parts, axis=0)
        return (vector / (np.linalg.norm(vector) or 1.0)).astype(np.float32)

    @staticmethod
    def _cache_key(
        image: bytes | None, text: str | None, top_k: int, category: str | None, scope: str
    ) -> str:
        digest = hashlib.sha256(image).hexdigest() if image is not None else ""
        params = json.dumps([digest, text, top_k, category, scope])
        return hashlib.sha256(params.encode()).hexdigest()
