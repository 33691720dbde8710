"""pgvector's two filtered-search paths (HNSW iterative scan, exact scan of a small category)
agree with an exact numpy ranking."""

from __future__ import annotations

import uuid

import pytest

from tests.storage.test_vector_stores import category_of, exact, fill, unit_vectors
from visualsearch.filters import ProductFilter
from visualsearch.storage.pgvector import PgVectorStore


@pytest.mark.parametrize("exact_below", [0, 1_000_000], ids=["hnsw", "exact"])
async def test_filtered_paths_agree_with_numpy(pgvector_url: str, exact_below: int) -> None:
    store = PgVectorStore(f"t{uuid.uuid4().hex[:10]}", pgvector_url, exact_below=exact_below)
    await store.open()
    try:
        vectors = unit_vectors(3000, seed=9)
        await fill(store, vectors)
        for category in ("rare", "c1"):
            allowed = [i for i in range(3000) if category_of(i) == category]
            for q in range(4):
                query = unit_vectors(1, seed=300 + q)[0]
                hits = await store.search(query, 12, ProductFilter(categories=(category,)))
                assert [h.product_id for h in hits] == exact(vectors, query, 12, allowed)
                best = float(max(vectors[allowed] @ query))
                assert hits[0].score == pytest.approx(best, abs=1e-3)
    finally:
        await store.drop_collection()
        await store.close()
