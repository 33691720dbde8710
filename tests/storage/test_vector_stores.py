"""One contract for every vector store, run against both adapters on real engines."""

from __future__ import annotations

import numpy as np
import pytest

from visualsearch.exceptions import ModelMismatchError
from visualsearch.storage.vectors import VectorStore

DIM = 32


def unit_vectors(count: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def category_of(i: int) -> str:
    return "rare" if i % 20 == 0 else f"c{i % 3}"  # "rare" keeps 5 % of the catalogue


async def fill(store: VectorStore, vectors: np.ndarray) -> None:
    await store.ensure_collection(vectors.shape[1])
    items = [(f"p{i}", v, {"category": category_of(i), "image_sha256": f"h{i}"})
             for i, v in enumerate(vectors)]  # fmt: skip
    for start in range(0, len(items), 500):
        await store.upsert(items[start : start + 500])


def exact(
    vectors: np.ndarray, query: np.ndarray, k: int, allowed: list[int] | None = None
) -> list[str]:
    ids = np.array(allowed if allowed is not None else range(len(vectors)))
    scores = vectors[ids] @ query
    return [f"p{ids[i]}" for i in np.argsort(-scores)[:k]]


async def test_small_sets_give_exact_results_with_cosine_scores(store: VectorStore) -> None:
    vectors = unit_vectors(300)
    await fill(store, vectors)
    assert await store.count() == 300
    for q in range(5):
        query = unit_vectors(1, seed=100 + q)[0]
        hits = await store.search(query, 12)
        assert [h.product_id for h in hits] == exact(vectors, query, 12)
        for hit in hits:
            expected = float(vectors[int(hit.product_id[1:])] @ query)
            assert hit.score == pytest.approx(expected, abs=1e-3)
    own = await store.search(vectors[7], 1)
    assert own[0].product_id == "p7" and own[0].score == pytest.approx(1.0, abs=1e-3)


async def test_category_filter_never_leaks_and_still_fills_top_k(store: VectorStore) -> None:
    vectors = unit_vectors(2000)
    await fill(store, vectors)
    rare = [i for i in range(2000) if category_of(i) == "rare"]
    for q in range(5):
        query = unit_vectors(1, seed=200 + q)[0]
        hits = await store.search(query, 12, category="rare")
        assert len(hits) == 12
        assert all(category_of(int(h.product_id[1:])) == "rare" for h in hits)
        assert [h.product_id for h in hits] == exact(vectors, query, 12, rare)
    assert await store.search(unit_vectors(1)[0], 12, category="nothing-here") == []


async def test_upsert_replaces_and_delete_takes_effect(store: VectorStore) -> None:
    vectors = unit_vectors(50)
    await fill(store, vectors)
    await store.upsert([("p3", vectors[10], {"category": "moved", "image_sha256": "new"})])
    assert await store.count() == 50
    assert (await store.existing(["p3", "p4", "nope"])) == {"p3": "new", "p4": "h4"}
    hits = await store.search(vectors[10], 2)
    assert {h.product_id for h in hits} == {"p3", "p10"}
    assert [h.product_id for h in await store.search(vectors[10], 5, category="moved")] == ["p3"]
    await store.delete(["p3", "p10"])
    assert await store.count() == 48
    assert "p3" not in await store.all_ids()
    assert all(h.product_id not in ("p3", "p10") for h in await store.search(vectors[10], 10))
    await store.delete([])  # nothing to do is not an error


async def test_a_different_dimension_is_refused(store: VectorStore) -> None:
    await store.ensure_collection(DIM)
    await store.ensure_collection(DIM)  # idempotent
    with pytest.raises(ModelMismatchError, match="Re-index"):
        await store.ensure_collection(DIM * 2)


async def test_rebuild_switches_without_a_gap(store: VectorStore) -> None:
    old = unit_vectors(40, seed=1)
    await fill(store, old)
    builder = await store.begin_rebuild(DIM * 2)
    new = unit_vectors(40, dim=DIM * 2, seed=2)
    await builder.upsert(
        [(f"p{i}", v, {"category": "c", "image_sha256": "n"}) for i, v in enumerate(new[:20])]
    )
    # while the new generation fills, searches still answer from the old one
    assert (await store.search(old[5], 1))[0].product_id == "p5"
    assert await store.count() == 40
    await builder.upsert(
        [(f"p{i}", v, {"category": "c", "image_sha256": "n"}) for i, v in enumerate(new[20:], 20)]
    )
    await store.commit_rebuild(builder)
    assert await store.count() == 40
    assert (await store.search(new[33], 1))[0].product_id == "p33"
    await store.ensure_collection(DIM * 2)  # the live generation now has the new size
    with pytest.raises(ModelMismatchError):
        await store.ensure_collection(DIM)
    abandoned = await store.begin_rebuild(DIM)
    await store.abort_rebuild(abandoned)
    assert (await store.search(new[3], 1))[0].product_id == "p3"


def clustered_vectors(count: int, dim: int, clusters: int, seed: int) -> np.ndarray:
    """Embedding-like data: points around cluster centres (products of a kind look alike)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim))
    points = centres[rng.integers(0, clusters, count)] + 0.6 * rng.standard_normal((count, dim))
    points = points.astype(np.float32)
    return points / np.linalg.norm(points, axis=1, keepdims=True)


async def test_recall_on_a_larger_set(store: VectorStore) -> None:
    data = clustered_vectors(4_030, dim=128, clusters=60, seed=5)
    vectors, queries = data[:4000], data[4000:]
    await fill(store, vectors)
    recalls = []
    for query in queries:
        got = {h.product_id for h in await store.search(query, 12)}
        recalls.append(len(got & set(exact(vectors, query, 12))) / 12)
    assert sum(recalls) / len(recalls) >= 0.95


async def test_an_embedded_edge_index_has_one_owner(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from visualsearch.exceptions import StoreUnavailableError
    from visualsearch.storage.qdrant_edge import QdrantEdgeVectorStore

    first = QdrantEdgeVectorStore("owned", tmp_path)
    await first.open()
    second = QdrantEdgeVectorStore("owned", tmp_path)
    try:
        with pytest.raises(StoreUnavailableError, match="in use by another process"):
            await second.open()
    finally:
        await first.close()
    await second.open()  # free again once the owner closed it
    await second.close()
