"""The search path: the retrievers that apply to the query (the image's vector neighbours, CLIP's
text tower, keywords in the catalogue, the sentence encoder's text vectors), each with every
filter inside its own store, fused by reciprocal rank fusion (:mod:`visualsearch.retrieval.fusion`)
→ metadata in one query, paged, optionally with facets, cached under every parameter and the
index version.

``score`` is in [0, 1]. With one retriever it is that retriever's own score: cosine similarity
for the vector retrievers (an image vector's colour part included: ``embedding.colour``), the
keyword score (``storage.catalog.KEYWORD_SQL``) for keywords.
Fused, it is the normalised RRF score: 1 when every retriever that ran ranked the product first
(``fusion`` says more). ``min_score`` cuts on that same score.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np

from visualsearch import metrics
from visualsearch.embedding.service import EmbeddingService
from visualsearch.embedding.views import WHOLE, QueryViews
from visualsearch.exceptions import InputError, TextSearchUnavailableError, ValidationError
from visualsearch.filters import FacetField, ProductFilter
from visualsearch.imaging import Crop
from visualsearch.locating import suggest_crop
from visualsearch.retrieval import Candidate, Query, Retriever
from visualsearch.retrieval.fusion import fuse
from visualsearch.retrieval.keyword import KeywordRetriever
from visualsearch.retrieval.visual import VisualRetriever
from visualsearch.schemas import CropBox, Facets, PriceRange, SearchResponse
from visualsearch.services.answers import (
    AnswerCache,
    answer_scope,
    results_for,
    vector_facets,
)
from visualsearch.storage.cache.base import ResultCache
from visualsearch.storage.catalog import CatalogStore
from visualsearch.storage.vectors.base import NO_FILTER, VectorStore

MAX_TOP_K = 50
"""Most results in one page."""
MAX_WINDOW = 500
"""``offset + top_k`` may not pass this: deeper pages are not a shopper's search any more."""
DEFAULT_FACET_DEPTH = 200
FUSION_DEPTH = 100
"""Each retriever hands this many candidates (or the page's window, if deeper) to the fusion,
so pages within it come from one fused ranking."""
Mode = Literal["hybrid", "keyword", "semantic", "visual"]
MODES: tuple[Mode, ...] = ("hybrid", "keyword", "semantic", "visual")
MODE_RETRIEVERS: dict[str, tuple[str, ...]] = {
    "hybrid": ("visual", "clip_text", "keyword", "semantic"),
    "visual": ("visual", "clip_text"),
    "keyword": ("keyword",),
    "semantic": ("semantic",),
}


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


def query_kind(has_image: bool, text: str | None) -> str:
    """``image``, ``text`` or ``both``: how a search is counted (metrics, insights)."""
    text = (text or "").replace("\x00", " ").strip()
    return "both" if has_image and text else ("image" if has_image else "text")


class SearchService:
    def __init__(
        self,
        embedding: EmbeddingService,
        vectors: VectorStore,
        catalog: CatalogStore,
        cache: ResultCache,
        cache_ttl: int,
        facet_depth: int = DEFAULT_FACET_DEPTH,
        *,
        retrievers: Sequence[Retriever] | None = None,
        weights: Mapping[str, float] | None = None,
        cache_tag: str | None = None,
        did_you_mean: Callable[[str], Awaitable[str | None]] | None = None,
        query_views: QueryViews = WHOLE,
        auto_crop_below: float = 0.0,
    ) -> None:
        self._embedding = embedding
        self._vectors = vectors
        self._collection = vectors.collection if vectors is not None else ""  # in cache keys
        self._catalog = catalog
        self._answers = AnswerCache(cache, cache_ttl)
        self.facet_depth = facet_depth
        self.retrievers: list[Retriever] = list(
            retrievers
            if retrievers is not None
            else (
                VisualRetriever(embedding, vectors, "image", query_views),
                VisualRetriever(embedding, vectors, "text"),
                KeywordRetriever(catalog),
            )
        )
        self.weights = dict(weights or {})
        self.cache_tag = cache_tag
        """Set for an experiment's variant: its answers are cached apart from the others'."""
        image_retrievers = [r for r in self.retrievers if isinstance(r, VisualRetriever)]
        self.query_views: QueryViews = next(
            (r.views for r in image_retrievers if r.source == "image"), WHOLE
        )
        """How an image query is searched (its retriever's ``views``): part of the cache key."""
        self._did_you_mean = did_you_mean
        self.auto_crop_below = auto_crop_below
        """A suggested crop covering less than this share of the picture is searched instead of
        the whole picture when no crop was sent (0: never; ``VISUALSEARCH_AUTO_CROP_BELOW``)."""

    def available(self) -> list[str]:
        """The retrievers this service can run (``clip_text`` only with a text tower)."""
        return [
            r.name
            for r in self.retrievers
            if r.name != "clip_text" or self._embedding.info.text_search
        ]

    def _pick(self, query: Query, mode: str) -> list[Retriever]:
        if mode not in MODE_RETRIEVERS:
            raise ValidationError(f"mode: must be one of {', '.join(MODES)} (got {mode!r}).")
        wanted = MODE_RETRIEVERS[mode]
        chosen = [r for r in self.retrievers if r.name in wanted and r.applies(query)]
        if chosen:
            return chosen
        if mode == "visual" and query.text and not self._embedding.info.text_search:
            raise TextSearchUnavailableError(
                f"This index's model ({self._embedding.info.name}) has no text tower, so "
                "mode=visual cannot search by text; use mode=hybrid or keyword."
            )
        if mode == "semantic" and not any(r.name == "semantic" for r in self.retrievers):
            raise InputError("Semantic retrieval is off on this index; use mode=hybrid.")
        return []

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
        mode: str = "hybrid",
        crop: Crop | None = None,
    ) -> SearchResponse:
        """Rank products for the image (its ``crop`` region only, when given), the text, or
        both, by the retrievers ``mode`` allows.

        Ranks ``offset`` .. ``offset + top_k`` of the products that pass ``filter`` and score at
        least ``min_score``; ``facets`` adds counts over the ``facet_depth`` best candidates.
        """
        check_page(top_k, offset, min_score)
        text = (text or "").replace("\x00", " ").strip() or None
        if image is None and text is None:
            raise InputError("Send an image (field 'file') or a text query ('q').")
        if crop is not None and image is None:
            raise ValidationError("crop: a region of the query image needs an image ('file').")
        retrievers = self._pick(Query(image, text, crop), mode)
        suggested: CropBox | None = None
        located = self.auto_crop_below > 0 and crop is None
        if located:  # the box decides what is searched: found before the cache lookup
            suggested = await self._suggested_crop(image, retrievers)
            if suggested is not None and suggested.w * suggested.h < self.auto_crop_below:
                crop = Crop(suggested.x, suggested.y, suggested.w, suggested.h)
        query = Query(image, text, crop)
        kind = query_kind(image is not None, text)
        scope = await answer_scope(self._catalog, self._collection)
        views = self.query_views if image is not None else WHOLE
        key = self._cache_key(
            image, text, top_k, filter, offset, min_score, facets, scope, mode, crop,
            self.cache_tag, views, self.auto_crop_below,
        )  # fmt: skip
        cached = await self._answers.get(key)
        if cached is not None:
            metrics.SEARCHES.labels(kind, "hit").inc()
            return cached

        # the offered box is found on its own thread while the search runs, not after it
        locating = (
            None if located else asyncio.ensure_future(self._suggested_crop(image, retrievers))
        )
        try:
            response = await self._rank(retrievers, query, top_k, filter, offset, min_score, facets)
            response.suggested_crop = suggested if locating is None else await locating
        finally:
            if locating is not None:
                locating.cancel()  # a failed search stops looking for a box
        if not response.results and text and offset == 0 and self._did_you_mean is not None:
            response.did_you_mean = await self._did_you_mean(text)
        await self._answers.put(key, response)
        metrics.SEARCHES.labels(kind, "miss").inc()
        return response

    async def _rank(
        self,
        retrievers: Sequence[Retriever],
        query: Query,
        top_k: int,
        filter: ProductFilter,
        offset: int,
        min_score: float | None,
        facets: Sequence[FacetField],
    ) -> SearchResponse:
        """The page of results (and facets) the retrievers give for the query."""
        facet_counts: Facets | None = None
        vector: np.ndarray | None = None
        if len(retrievers) == 1 and isinstance(retrievers[0], VisualRetriever):
            # one vector retriever: pages, min_score and facets inside the vector store
            vector = await retrievers[0].vector(query)
            with metrics.stage("ann"):
                vector_hits = await self._vectors.search_views(
                    vector, top_k + 1, filter, offset=offset, min_score=min_score
                )
            hits = [Candidate(h.product_id, h.score, h.image_index) for h in vector_hits]
        elif len(retrievers) == 1:
            with metrics.stage("retrieve"):
                hits = await retrievers[0].retrieve(
                    query, top_k + 1, filter, offset=offset, min_score=min_score
                )
        else:
            depth = max(FUSION_DEPTH, offset + top_k + 1)
            ranked = await self._fused(retrievers, query, filter, depth, min_score)
            hits = ranked[offset : offset + top_k + 1]
        # one more than the page says whether another page follows
        has_more, hits = len(hits) > top_k, hits[:top_k]
        results = await results_for(self._catalog, hits, filter)
        if facets and vector is not None:
            facet_counts = await vector_facets(
                self._vectors, vector, filter, facets, self.facet_depth, min_score
            )
        elif facets:
            facet_counts = await self._candidate_facets(
                retrievers, query, filter, facets, min_score
            )
        response = SearchResponse(
            results=results,
            cache=False,
            count=len(results),
            offset=offset,
            has_more=has_more,
            facets=facet_counts,
            retrievers=[r.name for r in retrievers],
        )
        return response

    @staticmethod
    async def _suggested_crop(
        image: bytes | None, retrievers: Sequence[Retriever]
    ) -> CropBox | None:
        """The box of the one object in the whole picture (``visualsearch.locating``), offered
        to the shopper (and searched instead of the whole picture only with
        ``auto_crop_below``). Only where an image retriever runs: it decodes the upload under
        the service's limits (the locator has its own pixel guard for the auto-crop path, which
        runs before that decode)."""
        if image is None or not any(
            isinstance(r, VisualRetriever) and r.source == "image" for r in retrievers
        ):
            return None
        with metrics.stage("locate"):
            box = await asyncio.to_thread(suggest_crop, image)
        return None if box is None else CropBox(x=box.x, y=box.y, w=box.w, h=box.h)

    async def _fused(
        self,
        retrievers: Sequence[Retriever],
        query: Query,
        product_filter: ProductFilter,
        depth: int,
        min_score: float | None,
    ) -> list[Candidate]:
        """Every retriever's ``depth`` best (concurrently), fused, cut at ``min_score``."""
        if len(retrievers) == 1:
            return await retrievers[0].retrieve(query, depth, product_filter, min_score=min_score)
        with metrics.stage("retrieve"):
            rankings = await asyncio.gather(
                *(r.retrieve(query, depth, product_filter) for r in retrievers)
            )
        fused = fuse(
            {r.name: ranking for r, ranking in zip(retrievers, rankings, strict=True)},
            self.weights,
        )
        return [c for c in fused if min_score is None or c.score >= min_score]

    async def _candidate_facets(
        self,
        retrievers: Sequence[Retriever],
        query: Query,
        product_filter: ProductFilter,
        fields: Sequence[FacetField],
        min_score: float | None,
    ) -> Facets:
        """Facets over the ``facet_depth`` best fused candidates, each field counted without
        its own filter (as :meth:`VectorStore.facets` does for one vector retriever)."""
        ranked: dict[ProductFilter, list[Candidate]] = {}
        for field in fields:
            own = product_filter.without(field)
            if own not in ranked:
                ranked[own] = await self._fused(retrievers, query, own, self.facet_depth, min_score)
        ids = {c.product_id for candidates in ranked.values() for c in candidates}
        records = await self._catalog.get_many(sorted(ids))
        counts: dict[str, Any] = {}
        for field in fields:
            own = product_filter.without(field)
            rows = [
                r
                for c in ranked[own]
                if (r := records.get(c.product_id)) is not None
                and own.matches(r.category, r.brand, r.price, r.stock)
            ]
            if field == "category":
                counts["category"] = dict(Counter(r.category for r in rows).most_common())
            elif field == "brand":
                counts["brand"] = dict(Counter(r.brand for r in rows).most_common())
            elif field == "price":
                prices = [float(r.price) for r in rows]
                counts["price"] = (
                    PriceRange(min=min(prices), max=max(prices))
                    if prices
                    else PriceRange(min=None, max=None)
                )
            else:
                counts["in_stock"] = sum(1 for r in rows if r.stock > 0)
        return Facets(**counts)

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
        mode: str = "hybrid",
        crop: Crop | None = None,
        tag: str | None = None,
        views: QueryViews = WHOLE,
        auto_crop_below: float = 0.0,
    ) -> str:
        digest = hashlib.sha256(image).hexdigest() if image is not None else ""
        return AnswerCache.key(
            [
                digest,
                text,
                top_k,
                offset,
                product_filter.cache_key(),
                min_score,
                list(facets),
                scope,
                mode,
                *([str(crop)] if crop is not None else []),  # keys without a crop unchanged
                *([f"variant={tag}"] if tag is not None else []),
                *([f"views={views}"] if views != WHOLE else []),  # keys of whole-image unchanged
                *([f"auto_crop<{auto_crop_below:g}"] if auto_crop_below > 0 else []),
            ]
        )
