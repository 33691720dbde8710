"""Vector retrieval over the product images: the query image's neighbours (``visual``) or, where
the model has a text tower (CLIP), the text's neighbours among the images (``clip_text``).

An image query is searched as the views ``views`` names (``embedding.views``): the whole picture
only, or the whole picture and a grid of windows, each product at its best score over them."""

from __future__ import annotations

from typing import Literal

import numpy as np

from visualsearch.embedding.colour import text_score_scale
from visualsearch.embedding.service import EmbeddingService
from visualsearch.embedding.views import WHOLE, QueryViews
from visualsearch.filters import ProductFilter
from visualsearch.retrieval.base import Candidate, Query, Retriever
from visualsearch.storage.vectors.base import VectorStore


class VisualRetriever(Retriever):
    """Cosine similarity to the image vectors, every filter inside the ANN scan."""

    def __init__(
        self,
        embedding: EmbeddingService,
        vectors: VectorStore,
        source: Literal["image", "text"] = "image",
        views: QueryViews = WHOLE,
    ) -> None:
        self._embedding = embedding
        self.vectors = vectors
        self.source = source
        self.views: QueryViews = views if source == "image" else WHOLE
        self.name = "visual" if source == "image" else "clip_text"
        # a text's vector has no colour part: its cosine with an image vector is the towers'
        # cosine scaled down (embedding.colour), scaled back so the score and min_score mean
        # the text tower's cosine whatever the colour weight
        self._score_scale = text_score_scale(embedding.info.name) if source == "text" else 1.0

    def applies(self, query: Query) -> bool:
        if self.source == "image":
            return query.image is not None
        return bool(query.text) and self._embedding.info.text_search

    async def vector(self, query: Query) -> np.ndarray:
        """The query's vector, or its views' vectors (one row each) for an image query."""
        if self.source == "image":
            assert query.image is not None
            if self.views != WHOLE:
                return await self._embedding.embed_image_views(query.image, query.crop, self.views)
            return await self._embedding.embed_image(query.image, query.crop)
        assert query.text is not None
        return await self._embedding.embed_text(query.text)

    async def retrieve(
        self,
        query: Query,
        depth: int,
        filter: ProductFilter,
        *,
        offset: int = 0,
        min_score: float | None = None,
    ) -> list[Candidate]:
        scale = self._score_scale
        hits = await self.vectors.search_views(
            await self.vector(query),
            depth,
            filter,
            offset=offset,
            min_score=None if min_score is None else min_score / scale,
        )
        return [
            Candidate(h.product_id, min(max(h.score * scale, 0.0), 1.0), h.image_index)
            for h in hits
        ]
