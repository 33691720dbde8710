"""From ranked hits to the API's answer, shared by search and similar products: the catalogue's
metadata for every hit in one query, facets counted by the vector store, and the result cache."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from visualsearch import metrics
from visualsearch.filters import FacetField, ProductFilter
from visualsearch.schemas import (
    Facets,
    PriceRange,
    Product,
    SearchHit,
    SearchResponse,
    image_url,
    new_search_id,
)
from visualsearch.storage.cache.base import ResultCache
from visualsearch.storage.catalog import CatalogStore
from visualsearch.storage.vectors.base import VectorStore


class Ranked(Protocol):
    """A ranked product: a vector hit or a retriever's candidate."""

    @property
    def product_id(self) -> str: ...

    @property
    def score(self) -> float: ...

    @property
    def image_index(self) -> int | None: ...


async def results_for(
    catalog: CatalogStore, hits: Sequence[Ranked], product_filter: ProductFilter
) -> list[SearchHit]:
    """The hits with their products' metadata (ONE query), best first, scores in [0, 1].

    The catalogue is the truth: a hit whose row is gone, or whose row no longer passes the
    filter (a payload not yet repaired), is dropped rather than shown.
    """
    with metrics.stage("metadata"):
        records = await catalog.get_many([h.product_id for h in hits])
    return [
        SearchHit(
            **Product.from_record(record).model_dump(),
            score=round(min(max(h.score, 0.0), 1.0), 6),
            matched_image_url=image_url(record, h.image_index),
        )
        for h in hits
        if (record := records.get(h.product_id)) is not None
        and product_filter.matches(record.category, record.brand, record.price, record.stock)
    ]


async def vector_facets(
    vectors: VectorStore,
    vector: np.ndarray,
    product_filter: ProductFilter,
    fields: Sequence[FacetField],
    depth: int,
    min_score: float | None,
) -> Facets:
    """Facet counts over the ``depth`` best candidates of a search by ``vector`` (each field
    counted without its own filter)."""
    with metrics.stage("ann"):
        counts = await vectors.facets(vector, product_filter, fields, depth, min_score=min_score)
    return Facets(
        category=counts.category,
        brand=counts.brand,
        price=None
        if counts.price is None
        else PriceRange(min=counts.price[0], max=counts.price[1]),
        in_stock=counts.in_stock,
    )


async def answer_scope(catalog: CatalogStore, collection: str) -> str:
    """The index scope in an answer's cache key: the catalogue's ``<index id>:<version>`` (every
    write changes it) and the vector collection answered from (pods of two models, a switch
    rolling, never share an answer)."""
    return f"{await catalog.cache_scope()}:{collection}"


class AnswerCache:
    """Answers in the result cache for ``ttl`` seconds (0: off), under a key made of every
    parameter and the index scope, so no write ever lets a stale answer through."""

    def __init__(self, cache: ResultCache, ttl: int) -> None:
        self._cache = cache
        self._ttl = ttl

    @staticmethod
    def key(parts: list[object]) -> str:
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()

    async def get(self, key: str) -> SearchResponse | None:
        if not self._ttl:
            return None
        with metrics.stage("cache"):
            cached = await self._cache.get(key)
        if cached is None:
            return None
        response = SearchResponse.model_validate_json(cached)
        response.cache = True
        response.search_id = new_search_id()  # every answer is a search of its own
        return response

    async def put(self, key: str, response: SearchResponse) -> None:
        if self._ttl:
            with metrics.stage("cache"):
                await self._cache.set(key, response.model_dump_json().encode(), self._ttl)
