"""The search path: embed → nearest vectors (every filter inside the vector search) → metadata in
one query, paged, optionally with facets, cached under every parameter and the index version."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import numpy as np

from visualsearch import metrics
from visualsearch.embedding.service import EmbeddingService
from visualsearch.exceptions import InputError, ValidationError
from visualsearch.filters import FacetField, ProductFilter
from visualsearch.imaging import Crop
from visualsearch.schemas import Facets, PriceRange, Product, SearchHit, SearchResponse
from visualsearch.storage.cache.base import ResultCache
from visualsearch.storage.catalog import CatalogStore
from visualsearch.storage.vectors import NO_FILTER, VectorStore

MAX_TOP_K = 50
"""Most results in one page."""
MAX_WINDOW = 500
"""``offset + top_k`` may not pass this: deeper pages are not a shopper's search any more."""
DEFAULT_FACET_DEPTH = 200


def check_page(top_k: int, offset: int, min_score: float | None) -> None:
    """The page and cut-off limits (a :class:`ValidationError`, 422, says which)."""
    if not 1 <= top_k <= MAX_TOP_K:
        raise ValidationError(f"top_k: must be between 1 and {MAX_TOP_K} (got {top_k}).")
    if offset < 0:
        raise ValidationError(f"offset: must not be negative (got {offset}).")
    if offset + top_k > MAX_WINDOW:
        raise ValidationError(
            f"offset + top_k may be at most {MAX_WINDOW} (got {offset} + {top_k}); "
            "narrow the search with filters instead of paging deeper."
        )
    if min_score is not None and not 0.0 <= min_score <= 1.0:
        raise ValidationError(f"min_score: must be between 0 and 1 (got {min_score}).")


class SearchService:
    def __init__(
        self,
        embedding: EmbeddingService,
        vectors: VectorStore,
        catalog: CatalogStore,
        cache: ResultCache,
        cache_ttl: int,
        facet_depth: int = DEFAULT_FACET_DEPTH,
    ) -> None:
        self._embedding = embedding
        self._vectors = vectors
        self._catalog = catalog
        self._cache = cache
        self._ttl = cache_ttl
        self.facet_depth = facet_depth

    async def search(
        self,
        image: bytes | None = None,
        text: str | None = None,
        top_k: int = 12,
        filter: ProductFilter = NO_FILTER,
        *,
        offset: int = 0,
        min_score: float | None = None,
        facets: Sequence[FacetField] = (),
        crop: Crop | None = None,
    ) -> SearchResponse:
        """Rank products by cosine similarity to the image (its ``crop`` region only, when
        given), the text, or both combined.

        Ranks ``offset`` .. ``offset + top_k`` of the products that pass ``filter`` and score at
        least ``min_score``; ``facets`` adds counts over the ``facet_depth`` best candidates.
        """
        check_page(top_k, offset, min_score)
        text = (text or "").strip() or None
        if image is None and text is None:
            raise InputError("Send an image (field 'file') or a text query ('q').")
        if crop is not None and image is None:
            raise ValidationError("crop: a region of the query image needs an image ('file').")
        kind = "both" if image is not None and text else ("image" if image is not None else "text")
        scope = await self._catalog.cache_scope()
        key = self._cache_key(image, text, top_k, filter, offset, min_score, facets, scope, crop)
        if self._ttl:
            with metrics.stage("cache"):
                cached = await self._cache.get(key)
            if cached is not None:
                metrics.SEARCHES.labels(kind, "hit").inc()
                response = SearchResponse.model_validate_json(cached)
                response.cache = True
                return response

        vector = await self._query_vector(image, text, crop)
        with metrics.stage("ann"):
            # one more than the page says whether another page follows
            hits = await self._vectors.search(
                vector, top_k + 1, filter, offset=offset, min_score=min_score
            )
        has_more, hits = len(hits) > top_k, hits[:top_k]
        with metrics.stage("metadata"):
            records = await self._catalog.get_many([h.product_id for h in hits])
        results = [
            SearchHit(
                **Product.from_record(record).model_dump(),
                score=round(min(max(h.score, 0.0), 1.0), 6),
            )
            for h in hits
            if (record := records.get(h.product_id)) is not None
            # the catalogue is the truth: a payload not yet repaired never leaks a product
            and filter.matches(record.category, record.brand, record.price, record.stock)
        ]
        response = SearchResponse(
            results=results,
            cache=False,
            count=len(results),
            offset=offset,
            has_more=has_more,
            facets=await self._facets(vector, filter, facets, min_score) if facets else None,
        )
        if self._ttl:
            with metrics.stage("cache"):
                await self._cache.set(key, response.model_dump_json().encode(), self._ttl)
        metrics.SEARCHES.labels(kind, "miss").inc()
        return response

    async def _facets(
        self,
        vector: np.ndarray,
        product_filter: ProductFilter,
        fields: Sequence[FacetField],
        min_score: float | None,
    ) -> Facets:
        with metrics.stage("ann"):
            counts = await self._vectors.facets(
                vector, product_filter, fields, self.facet_depth, min_score=min_score
            )
        return Facets(
            category=counts.category,
            brand=counts.brand,
            price=None
            if counts.price is None
            else PriceRange(min=counts.price[0], max=counts.price[1]),
            in_stock=counts.in_stock,
        )

    async def _query_vector(
        self, image: bytes | None, text: str | None, crop: Crop | None = None
    ) -> np.ndarray:
        parts = []
        if image is not None:
            parts.append(await self._embedding.embed_image(image, crop))
        if text:
            parts.append(await self._embedding.embed_text(text))
        vector = np.mean(parts, axis=0)
        return (vector / (np.linalg.norm(vector) or 1.0)).astype(np.float32)

    @staticmethod
    def _cache_key(
        image: bytes | None,
        text: str | None,
        top_k: int,
        product_filter: ProductFilter,
        offset: int,
        min_score: float | None,
        facets: Sequence[FacetField],
        scope: str,
        crop: Crop | None = None,
    ) -> str:
        digest = hashlib.sha256(image).hexdigest() if image is not None else ""
        params = json.dumps(
            [
                digest,
                text,
                top_k,
                offset,
                product_filter.cache_key(),
                min_score,
                list(facets),
                scope,
                *([str(crop)] if crop is not None else []),  # keys without a crop unchanged
            ]
        )
        return hashlib.sha256(params.encode()).hexdigest()
