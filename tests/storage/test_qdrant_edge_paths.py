"""Qdrant Edge's two filtered-search plans (an exact scan of the points a selective filter keeps,
HNSW with a wide beam for a broad one) both agree with an exact numpy ranking, and the plan is
chosen from the payload indexes' estimate of how many points the filter keeps."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from tests.storage.test_vector_stores import exact, fill, passing, unit_vectors
from visualsearch.filters import ProductFilter
from visualsearch.storage.vectors import qdrant_edge
from visualsearch.storage.vectors.qdrant_edge import QdrantEdgeVectorStore

FILTER = ProductFilter(brands=("b1", "b2"), price_max=Decimal("60"), in_stock=True)


@pytest.mark.parametrize("exact_up_to", [0, 1_000_000], ids=["hnsw", "exact"])
async def test_filtered_plans_agree_with_numpy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, exact_up_to: int
) -> None:
    monkeypatch.setattr(qdrant_edge, "EXACT_SCAN_POINTS", exact_up_to)
    store = QdrantEdgeVectorStore("paths", tmp_path / "edge")
    await store.open()
    try:
        vectors = unit_vectors(3000, seed=9)
        await fill(store, vectors)
        allowed = passing(3000, FILTER)
        plans = []
        for q in range(4):
            query = unit_vectors(1, seed=300 + q)[0]
            hits = await store.search(query, 12, FILTER)
            assert [h.product_id for h in hits] == exact(vectors, query, 12, allowed)
            plans.append(store._plan(store._shard_now(), store._filter(FILTER), 12))
        assert all(plan.exact == (exact_up_to > 0) for plan in plans)
    finally:
        await store.drop_collection()
        await store.close()


async def test_the_estimate_picks_the_plan(tmp_path: Path) -> None:
    """Broad filters keep the graph; one keeping fewer than EXACT_SCAN_POINTS is scanned."""
    store = QdrantEdgeVectorStore("plan", tmp_path / "edge")
    await store.open()
    try:
        await fill(store, unit_vectors(3000, seed=9))
        shard = store._shard_now()
        assert not store._plan(shard, None, 12).exact  # unfiltered: HNSW
        assert store._plan(shard, store._filter(FILTER), 12).exact
        low = qdrant_edge.EXACT_SCAN_POINTS
        try:
            qdrant_edge.EXACT_SCAN_POINTS = len(passing(3000, FILTER)) // 2
            plan = store._plan(shard, store._filter(FILTER), 40)
            assert not plan.exact and plan.hnsw_ef == qdrant_edge.HNSW_EF_FILTERED
        finally:
            qdrant_edge.EXACT_SCAN_POINTS = low
    finally:
        await store.drop_collection()
        await store.close()
