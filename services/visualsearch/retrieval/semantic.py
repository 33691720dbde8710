"""Semantic retrieval: the query text's sentence vector against the products' text vectors
(a second collection in the same vector store kind, the same payload and filters)."""

from __future__ import annotations

import asyncio

from visualsearch.embedding.text import TextEncoder
from visualsearch.filters import ProductFilter
from visualsearch.retrieval.base import Candidate, Query, Retriever
from visualsearch.storage.vectors.base import VectorStore

MIN_SIMILARITY = 0.25
"""Text vectors less similar than this to the query are not candidates (noise, not meaning)."""


class SemanticRetriever(Retriever):
    name = "semantic"

    def __init__(
        self, encoder: TextEncoder, vectors: VectorStore, min_similarity: float = MIN_SIMILARITY
    ) -> None:
        self._encoder = encoder
        self.vectors = vectors
        self.min_similarity = min_similarity

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
        vector = (await asyncio.to_thread(self._encoder.encode, [query.text]))[0]
        floor = max(self.min_similarity, min_score or 0.0)
        hits = await self.vectors.search(vector, depth, filter, offset=offset, min_score=floor)
        return [Candidate(h.product_id, min(max(h.score, 0.0), 1.0)) for h in hits]
