"""Similar products: rank the catalogue by a product's STORED vector (no decoding, no embedding),
the product itself left out, with every filter of search inside the vector search, paged,
optionally with facets, cached under every parameter and the index version.

A shop shows in-stock alternatives to a sold-out product with ``in_stock=true``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from visualsearch import metrics
from visualsearch.exceptions import NotFoundError
from visualsearch.filters import FacetField, ProductFilter
from visualsearch.schemas import SearchResponse
from visualsearch.services.answers import (
    AnswerCache,
    answer_scope,
    results_for,
    vector_facets,
)
from visualsearch.services.search import DEFAULT_FACET_DEPTH, check_page
from visualsearch.storage.cache.base import ResultCache
from visualsearch.storage.catalog import CatalogStore
from visualsearch.storage.vectors.base import NO_FILTER, VectorHit, VectorStore, leave_out


async def similar_hits(
    vectors: VectorStore,
    product_id: str,
    vector: np.ndarray,
    top_k: int,
    product_filter: ProductFilter = NO_FILTER,
    *,
    offset: int = 0,
    min_score: float | None = None,
) -> list[VectorHit]:
    """Ranks ``offset`` .. ``offset + top_k`` of a search by ``vector`` with ``product_id`` left
    out, through ``search`` itself: the reference :meth:`VectorStore.similar` answers as (the
    contract suite holds every store to it).
    """
    raw = await vectors.search(
        vector, offset + top_k + 1, product_filter, offset=0, min_score=min_score
    )
    return leave_out(raw, product_id, offset, top_k)


class SimilarService:
    def __init__(
        self,
        vectors: VectorStore,
        catalog: CatalogStore,
        cache: ResultCache,
        cache_ttl: int,
        facet_depth: int = DEFAULT_FACET_DEPTH,
    ) -> None:
        self._vectors = vectors
        self._catalog = catalog
        self._answers = AnswerCache(cache, cache_ttl)
        self.facet_depth = facet_depth

    async def similar(
        self,
        product_id: str,
        top_k: int = 12,
        filter: ProductFilter = NO_FILTER,
        *,
        offset: int = 0,
        min_score: float | None = None,
        facets: Sequence[FacetField] = (),
    ) -> SearchResponse:
        """Products closest to ``product_id``'s stored vector; 404 for an unknown product or
        one whose image is not indexed yet (the message says which)."""
        check_page(top_k, offset, min_score)
        scope = await answer_scope(self._catalog, self._vectors.collection)
        key = self._cache_key(product_id, top_k, filter, offset, min_score, facets, scope)
        cached = await self._answers.get(key)
        if cached is not None:
            metrics.SEARCHES.labels("similar", "hit").inc()
            return cached

        with metrics.stage("ann"):
            # the stored vector and the ranking in one call (one hop to Qdrant Edge's thread);
            # one more than the page says whether another page follows
            answer = await self._vectors.similar(
                product_id, top_k + 1, filter, offset=offset, min_score=min_score
            )
        if answer is None:
            if await self._catalog.get(product_id) is None:
                raise NotFoundError(f"No product with id '{product_id}'.")
            raise NotFoundError(
                f"Product '{product_id}' has no vector yet: its image is still being indexed "
                "(or failed to index); try again shortly."
            )
        vector, hits = answer
        has_more, hits = len(hits) > top_k, hits[:top_k]
        results = await results_for(self._catalog, hits, filter)
        response = SearchResponse(
            results=results,
            cache=False,
            count=len(results),
            offset=offset,
            has_more=has_more,
            facets=await vector_facets(
                self._vectors, vector, filter, facets, self.facet_depth, min_score
            )
            if facets
            else None,
        )
        await self._answers.put(key, response)
        metrics.SEARCHES.labels("similar", "miss").inc()
        return response

    @staticmethod
    def _cache_key(
        product_id: str,
        top_k: int,
        product_filter: ProductFilter,
        offset: int,
        min_score: float | None,
        facets: Sequence[FacetField],
        scope: str,
    ) -> str:
        return AnswerCache.key(
            [
                "similar",
                product_id,
                top_k,
                offset,
                product_filter.cache_key(),
                min_score,
                list(facets),
                scope,
            ]
        )
