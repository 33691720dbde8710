"""Near-duplicate products: pairs whose MAIN images (image index 0) have vectors at cosine
``NEAR_DUPLICATE_COSINE`` or more. Shops use it to find double listings.

Read from the stored vectors, never re-embedded: each product's main vector
(:meth:`VectorStore.vector_of`) is searched with a cut-off just below the threshold, which
narrows the candidates to products whose best image comes close (a product's main image never
scores above its best one, so none is missed); each candidate's own main vector then decides,
compared here at the threshold. One search per product asked about.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

import numpy as np

from visualsearch.schemas import DuplicatePair
from visualsearch.storage.vectors.base import VectorStore

NEAR_DUPLICATE_COSINE = 0.98
"""Main images at this cosine or above are near-duplicates (the same photo re-encoded, resized
or lightly retouched scores above 0.99; different photos of one kind of product score lower)."""
_SLACK = 1e-4
"""The store's cut-off sits this far below the threshold, so its rounding never drops a pair
that the exact comparison here would keep."""
_FIRST_PAGE = 16
_CONCURRENCY = 8


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b)) / norms if norms else 0.0


class DuplicateFinder:
    def __init__(self, vectors: VectorStore, threshold: float = NEAR_DUPLICATE_COSINE) -> None:
        self._vectors = vectors
        self.threshold = threshold

    async def pairs(self, product_ids: Sequence[str] | None = None) -> list[DuplicatePair]:
        """Near-duplicate pairs with at least one of ``product_ids`` (every product with a
        vector when ``None``), each pair once, the most similar first."""
        ids = list((await self._vectors.all_ids()) if product_ids is None else product_ids)
        gate = asyncio.Semaphore(_CONCURRENCY)

        async def one(product_id: str) -> list[DuplicatePair]:
            async with gate:
                return await self._of(product_id)

        found = await asyncio.gather(*(one(pid) for pid in dict.fromkeys(ids)))
        return merge(p for part in found for p in part)

    async def _of(self, product_id: str) -> list[DuplicatePair]:
        vector = await self._vectors.vector_of(product_id)
        if vector is None:
            return []
        limit = _FIRST_PAGE
        while True:  # every product scoring near the threshold, however many
            hits = await self._vectors.search(vector, limit, min_score=self.threshold - _SLACK)
            if len(hits) < limit:
                break
            limit *= 2
        pairs = []
        for hit in hits:
            if hit.product_id == product_id:
                continue
            main = await self._vectors.vector_of(hit.product_id)
            if main is None:
                continue
            score = cosine(vector, main)
            if score >= self.threshold:
                first, second = sorted((product_id, hit.product_id))
                pairs.append(DuplicatePair(product_id=first, other_id=second, score=score))
        return pairs


def merge(pairs: Iterable[DuplicatePair]) -> list[DuplicatePair]:
    """Each pair once (found from either side), the most similar first, then by ids."""
    unique: dict[tuple[str, str], DuplicatePair] = {}
    for pair in pairs:
        unique.setdefault((pair.product_id, pair.other_id), pair)
    return sorted(unique.values(), key=lambda p: (-p.score, p.product_id, p.other_id))
