"""Semantic retrieval: the query text's sentence vector against the products' text vectors
(a second collection in the same vector store kind, the same payload and filters)."""

from __future__ import annotations

import asyncio
from collections import OrderedDict

import numpy as np

from visualsearch.embedding.text import TextEncoder
from visualsearch.filters import ProductFilter
from visualsearch.retrieval.base import Candidate, Query, Retriever
from visualsearch.storage.vectors.base import VectorStore

MIN_SIMILARITY = 0.25
"""Text vectors less similar than this to the query are not candidates (noise, not meaning)."""
QUERY_VECTORS = 1024
"""Query texts whose vectors are kept (least recently used out): the next page, another filter
or facet of a search, and a popular query, skip the encoder (1.5 kB a vector)."""


class SemanticRetriever(Retriever):
    name = "semantic"

    def __init__(
        self, encoder: TextEncoder, vectors: VectorStore, min_similarity: float = MIN_SIMILARITY
    ) -> None:
        self._encoder = encoder
        self.vectors = vectors
        self.min_similarity = min_similarity
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()

    def applies(self, query: Query) -> bool:
        return bool(query.text and query.text.strip())

    async def retrieve(
        self,
        query: Query,
        depth: int,
        filter: ProductFilter,
        *,
        offset: int = 0,
        min_score: float | None = None,
    ) -> list[Candidate]:
        assert query.text is not None
        vector = await self.vector(query.text)
        floor = max(self.min_similarity, min_score or 0.0)
        hits = await self.vectors.search(vector, depth, filter, offset=offset, min_score=floor)
        return [Candidate(h.product_id, min(max(h.score, 0.0), 1.0)) for h in hits]

    async def vector(self, text: str) -> np.ndarray:
        """The query's sentence vector, from the recent ones when it was asked lately."""
        vector = self._recent.get(text)
        if vector is None:
            vector = (await asyncio.to_thread(self._encoder.encode, [text]))[0]
            self._recent[text] = vector
            if len(self._recent) > QUERY_VECTORS:
                self._recent.popitem(last=False)
        else:
            self._recent.move_to_end(text)
        return vector
