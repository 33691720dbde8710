"""One contract for every vector store, run against all three adapters on real engines."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

import numpy as np
import pytest

from visualsearch.exceptions import ModelMismatchError
from visualsearch.filters import FACET_FIELDS, ProductFilter
from visualsearch.storage.vectors.base import VectorItem, VectorPayload, VectorStore

DIM = 32


def unit_vectors(count: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    vectors = rng.standard_normal((count, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def category_of(i: int) -> str:
    return "rare" if i % 20 == 0 else f"c{i % 3}"  # "rare" keeps 5 % of the catalogue


def payload_of(i: int) -> VectorPayload:
    """Product ``p{i}``: 7 brands, prices 0.0 .. 99.9, a quarter out of stock."""
    return VectorPayload(category_of(i), f"b{i % 7}", ((i * 37) % 1000) / 10, i % 4)


def item(i: int, vector: np.ndarray, payload: VectorPayload | None = None) -> VectorItem:
    p = payload or payload_of(i)
    return VectorItem(f"p{i}", vector, p.category, p.brand, p.price, p.stock, f"h{i}")


def passing(count: int, product_filter: ProductFilter) -> list[int]:
    """The reference semantics: which products pass, by ``ProductFilter.matches``."""
    return [
        i
        for i in range(count)
        if product_filter.matches(
            payload_of(i).category,
            payload_of(i).brand,
            Decimal(str(payload_of(i).price)),
            payload_of(i).stock,
        )
    ]


async def fill(store: VectorStore, vectors: np.ndarray) -> None:
    await store.ensure_collection(vectors.shape[1])
    items = [item(i, v) for i, v in enumerate(vectors)]
    for start in range(0, len(items), 500):
        await store.upsert(items[start : start + 500])


def only(*categories: str) -> ProductFilter:
    return ProductFilter(categories=categories or ("rare",))


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
        hits = await store.search(query, 12, only())
        assert len(hits) == 12
        assert all(category_of(int(h.product_id[1:])) == "rare" for h in hits)
        assert [h.product_id for h in hits] == exact(vectors, query, 12, rare)
    assert await store.search(unit_vectors(1)[0], 12, only("nothing-here")) == []


async def test_upsert_replaces_and_delete_takes_effect(store: VectorStore) -> None:
    vectors = unit_vectors(50)
    await fill(store, vectors)
    moved = VectorItem("p3", vectors[10], "moved", "b", 1.0, 1, "new")
    await store.upsert([moved])
    assert await store.count() == 50
    assert (await store.existing(["p3", "p4", "nope"])) == {"p3": "new", "p4": "h4"}
    hits = await store.search(vectors[10], 2)
    assert {h.product_id for h in hits} == {"p3", "p10"}
    assert [h.product_id for h in await store.search(vectors[10], 5, only("moved"))] == ["p3"]
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
    await builder.upsert([item(i, v) for i, v in enumerate(new[:20])])
    # while the new generation fills, searches still answer from the old one
    assert (await store.search(old[5], 1))[0].product_id == "p5"
    assert await store.count() == 40
    await builder.upsert([item(i, v) for i, v in enumerate(new[20:], 20)])
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


FILTERS = {
    "category": ProductFilter(categories=("rare",)),
    "categories": ProductFilter(categories=("c1", "rare")),
    "brand": ProductFilter(brands=("b2",)),
    "brands": ProductFilter(brands=("b1", "b5")),
    "price_min": ProductFilter(price_min=Decimal("80")),
    "price_max": ProductFilter(price_max=Decimal("12.5")),
    "price_range": ProductFilter(price_min=Decimal("10"), price_max=Decimal("30.1")),
    "in_stock": ProductFilter(in_stock=True),
    "combined": ProductFilter(
        categories=("c0", "c2"),
        brands=("b1", "b3", "b4"),
        price_min=Decimal("20"),
        price_max=Decimal("70"),
        in_stock=True,
    ),
    "nothing": ProductFilter(brands=("b1",), categories=("nowhere",)),
}


async def test_every_filter_alone_and_combined_is_exact_and_never_leaks(
    store: VectorStore,
) -> None:
    vectors = unit_vectors(2000, seed=3)
    await fill(store, vectors)
    for name, product_filter in FILTERS.items():
        allowed = passing(2000, product_filter)
        for q in range(3):
            query = unit_vectors(1, seed=400 + q)[0]
            hits = await store.search(query, 12, product_filter)
            want = exact(vectors, query, 12, allowed) if allowed else []
            assert [h.product_id for h in hits] == want, name
            for hit in hits:  # the payload that comes back is the one stored, and passes
                assert hit.payload == payload_of(int(hit.product_id[1:]))
                assert hit.payload.matches(product_filter), name
    # the price bounds are inclusive, on the exact stored value
    on_the_bound = ProductFilter(price_min=Decimal("3.7"), price_max=Decimal("3.7"))
    hits = await store.search(vectors[1], 50, on_the_bound)
    assert sorted(h.product_id for h in hits) == sorted(
        f"p{i}" for i in passing(2000, on_the_bound)
    )
    assert hits  # p1 costs 3.7


async def test_top_k_is_filled_under_a_filter_keeping_two_percent(store: VectorStore) -> None:
    data = clustered_vectors(4_020, dim=128, clusters=60, seed=11)
    vectors, queries = data[:4000], data[4000:]
    await fill(store, vectors)
    two_percent = ProductFilter(brands=("b3",), price_max=Decimal("20"), in_stock=True)
    allowed = passing(4000, two_percent)
    assert 0.015 < len(allowed) / 4000 < 0.025
    recalls = []
    for query in queries:
        hits = await store.search(query, 12, two_percent)
        assert len(hits) == 12
        assert all(int(h.product_id[1:]) in allowed for h in hits)
        want = set(exact(vectors, query, 12, allowed))
        recalls.append(len({h.product_id for h in hits} & want) / 12)
    assert sum(recalls) / len(recalls) >= 0.95


async def test_facets_equal_counts_over_the_same_ranked_candidates(store: VectorStore) -> None:
    vectors = unit_vectors(400, seed=4)
    await fill(store, vectors)
    product_filter = ProductFilter(brands=("b1", "b2"), price_max=Decimal("60"), in_stock=True)
    for q, depth in ((0, 40), (1, 400)):
        query = unit_vectors(1, seed=500 + q)[0]
        facets = await store.facets(query, product_filter, FACET_FIELDS, depth)
        expected: dict[str, object] = {}
        for field in FACET_FIELDS:
            ranked = exact(vectors, query, depth, passing(400, product_filter.without(field)))
            payloads = [payload_of(int(p[1:])) for p in ranked]
            if field == "category":
                expected[field] = dict(Counter(p.category for p in payloads))
            elif field == "brand":
                expected[field] = dict(Counter(p.brand for p in payloads))
            elif field == "price":
                expected[field] = (min(p.price for p in payloads), max(p.price for p in payloads))
            else:
                expected[field] = sum(1 for p in payloads if p.stock > 0)
        assert facets.category == expected["category"]
        assert facets.brand == expected["brand"]  # other brands counted despite the filter
        assert len(facets.brand or {}) > 2
        assert facets.price == expected["price"]
        assert facets.in_stock == expected["in_stock"]
    only = await store.facets(unit_vectors(1)[0], product_filter, ("brand",), 10)
    assert only.category is None and only.price is None and only.brand


async def test_pages_tile_and_min_score_cuts(store: VectorStore) -> None:
    vectors = unit_vectors(2000, seed=6)
    await fill(store, vectors)
    query = unit_vectors(1, seed=600)[0]
    for product_filter in (ProductFilter(), FILTERS["in_stock"], FILTERS["combined"]):
        whole = await store.search(query, 36, product_filter)
        pages = []
        for offset in (0, 12, 24):
            pages += await store.search(query, 12, product_filter, offset=offset)
        assert [h.product_id for h in pages] == [h.product_id for h in whole]
        beyond = len(passing(2000, product_filter)) + 5
        assert await store.search(query, 10, product_filter, offset=beyond) == []
    ranked = await store.search(query, 50)
    cut = (ranked[20].score + ranked[21].score) / 2  # clear of float rounding at the boundary
    kept = await store.search(query, 50, min_score=cut)
    assert [h.product_id for h in kept] == [h.product_id for h in ranked[:21]]
    assert all(h.score >= cut for h in kept)
    assert await store.search(query, 12, min_score=0.999) == []


async def test_set_payload_is_seen_by_the_next_search(store: VectorStore) -> None:
    vectors = unit_vectors(300, seed=8)
    await fill(store, vectors)
    query = vectors[5]
    assert (await store.search(query, 1, ProductFilter(in_stock=True)))[0].product_id == "p5"
    await store.set_payload("p5", VectorPayload("moved", "newbrand", 1234.5, 0))
    assert (await store.search(query, 1))[0].product_id == "p5"  # the vector is untouched
    assert all(
        h.product_id != "p5" for h in await store.search(query, 20, ProductFilter(in_stock=True))
    )
    found = await store.search(query, 5, ProductFilter(brands=("newbrand",)))
    assert [h.product_id for h in found] == ["p5"]
    assert found[0].payload == VectorPayload("moved", "newbrand", 1234.5, 0)
    pricey = ProductFilter(categories=("moved",), price_min=Decimal("1234.5"))
    assert [h.product_id for h in await store.search(query, 5, pricey)] == ["p5"]
    await store.set_payloads(
        {"p6": VectorPayload("c0", "b0", 1.0, 3), "missing": VectorPayload("x", "y", 1.0, 1)}
    )
    payloads = await store.payloads()
    assert len(payloads) == 300 and "missing" not in payloads
    assert payloads["p6"] == VectorPayload("c0", "b0", 1.0, 3)
    assert payloads["p7"] == payload_of(7)
    assert await store.existing(["p5"]) == {"p5": "h5"}  # the image hash stays


async def test_an_embedded_edge_index_has_one_owner(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from visualsearch.exceptions import StoreUnavailableError
    from visualsearch.storage.vectors.qdrant_edge import QdrantEdgeVectorStore

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


async def test_vector_of_reads_back_the_stored_vector(store: VectorStore) -> None:
    vectors = unit_vectors(40)
    await fill(store, vectors)
    for i in (0, 7, 39):
        stored = await store.vector_of(f"p{i}")
        assert stored is not None and stored.dtype == np.float32
        assert np.allclose(stored, vectors[i], atol=1e-3)
    assert await store.vector_of("nope") is None
    await store.delete(["p7"])
    assert await store.vector_of("p7") is None
    assert await store.similar("p7", 5) is None  # no vector: nothing to rank by
    assert await store.similar("nope", 5) is None


async def test_similar_is_a_search_by_the_stored_vector_minus_the_product(
    store: VectorStore,
) -> None:
    from visualsearch.services.similar import similar_hits

    vectors = unit_vectors(300)
    vectors[5] = vectors[4]  # an exact duplicate ties with the product itself
    await fill(store, vectors)
    for product, product_filter in [
        (4, ProductFilter()),
        (10, ProductFilter(in_stock=True)),  # p10 passes: stock 2
        (12, ProductFilter(in_stock=True)),  # p12 is sold out: not in its own ranking at all
        (20, only("c0", "rare")),
    ]:
        pid = f"p{product}"
        stored = await store.vector_of(pid)
        assert stored is not None
        reference = [
            h.product_id
            for h in await store.search(stored, 31, product_filter)
            if h.product_id != pid
        ][:30]
        assert len(reference) == 30
        pages = []
        for offset in (0, 10, 20):
            hits = await similar_hits(store, pid, stored, 10, product_filter, offset=offset)
            assert len(hits) == 10  # top_k still filled without the product
            pages += [h.product_id for h in hits]
            # the store's one-call form (one hop on Qdrant Edge) answers the same
            answer = await store.similar(pid, 10, product_filter, offset=offset)
            assert answer is not None and np.array_equal(answer[0], stored)
            assert [(h.product_id, h.image_index) for h in answer[1]] == [
                (h.product_id, h.image_index) for h in hits
            ]
            assert [h.score for h in answer[1]] == pytest.approx([h.score for h in hits])
        assert pid not in pages
        assert pages == reference  # pages tile: no repeat, no gap
        assert all(product_filter.matches(*attrs(int(p[1:]))) for p in pages)


def attrs(i: int) -> tuple[str, str, Decimal, int]:
    p = payload_of(i)
    return p.category, p.brand, Decimal(str(p.price)), p.stock


def gallery_items(products: int, per_product: int, seed: int = 7) -> tuple[list[VectorItem], dict]:
    """``products`` products of ``per_product`` images each: a product's images are close to
    one another (views of one object), so an image-level ranking repeats products."""
    rng = np.random.default_rng(seed)
    centres = unit_vectors(products, seed=seed)
    items, vectors = [], {}
    for i, centre in enumerate(centres):
        for n in range(per_product):
            v = centre + 0.15 * rng.standard_normal(DIM).astype(np.float32)
            v /= np.linalg.norm(v)
            p = payload_of(i)
            items.append(
                VectorItem(f"p{i}", v, p.category, p.brand, p.price, p.stock, f"h{i}.{n}", n)
            )
            vectors[(f"p{i}", n)] = v
    return items, vectors


def best_per_product(vectors: dict, query: np.ndarray, allowed: set[str] | None = None) -> list:
    """The reference for one query vector: the products by their best image's score."""
    return list(best_over_views(vectors, np.atleast_2d(query), allowed))


async def test_a_gallery_is_one_product_once_at_its_best_image_and_top_k_is_filled(
    store: VectorStore,
) -> None:
    items, vectors = gallery_items(60, 4)
    await store.ensure_collection(DIM)
    await store.replace_galleries(items)
    assert await store.count() == 240  # a vector per image
    for q in range(4):
        query = unit_vectors(1, seed=300 + q)[0]
        hits = await store.search(query, 12)
        ids = [h.product_id for h in hits]
        assert len(ids) == 12 and len(set(ids)) == 12  # never twice, still filled
        assert ids == best_per_product(vectors, query)[:12]
        for hit in hits:  # the product's score is its best image's, and says which image
            expected = max(float(vectors[(hit.product_id, n)] @ query) for n in range(4))
            assert hit.score == pytest.approx(expected, abs=1e-3)
            assert float(vectors[(hit.product_id, hit.image_index)] @ query) == pytest.approx(
                expected, abs=1e-3
            )
        pages = [
            h.product_id for off in (0, 12, 24) for h in await store.search(query, 12, offset=off)
        ]
        assert pages == best_per_product(vectors, query)[:36]  # pages tile over products
        rare = only("c1")
        allowed = {f"p{i}" for i in range(60) if category_of(i) == "c1"}
        filtered = [h.product_id for h in await store.search(query, 10, rare)]
        assert filtered == best_per_product(vectors, query, allowed)[:10]


async def test_similar_over_galleries_ranks_by_the_main_image_each_product_once(
    store: VectorStore,
) -> None:
    """Galleries make the image-level ranking repeat products, so a page needs more than the
    first fetch (Qdrant Edge prefetches that one beside the stored vector): still every product
    once, never the product itself, top_k filled, pages tiling."""
    items, vectors = gallery_items(60, 4)
    await store.ensure_collection(DIM)
    await store.replace_galleries(items)
    for product in (3, 17):
        pid = f"p{product}"
        main = vectors[(pid, 0)]
        reference = [p for p in best_per_product(vectors, main) if p != pid][:30]
        pages = []
        for offset in (0, 10, 20):
            answer = await store.similar(pid, 10, offset=offset)
            assert answer is not None and np.allclose(answer[0], main, atol=1e-3)
            assert len(answer[1]) == 10
            pages += [h.product_id for h in answer[1]]
        assert pages == reference


async def test_per_image_delete_and_a_smaller_gallery_replaces_the_set(store: VectorStore) -> None:
    items, vectors = gallery_items(10, 3)
    await store.ensure_collection(DIM)
    await store.replace_galleries(items)
    assert (await store.images(["p1"]))["p1"] == {0: "h1.0", 1: "h1.1", 2: "h1.2"}
    await store.delete_images([("p1", 2)])
    assert (await store.images(["p1"]))["p1"] == {0: "h1.0", 1: "h1.1"}
    query = vectors[("p1", 2)]  # the deleted image no longer matches
    hit = next(h for h in await store.search(query, 10) if h.product_id == "p1")
    assert hit.image_index != 2
    # re-indexing p2 with its main image only removes its other two vectors
    await store.replace_galleries([i for i in items if i.product_id == "p2" and i.image_index == 0])
    assert (await store.images(["p2"]))["p2"] == {0: "h2.0"}
    assert await store.count() == 30 - 1 - 2
    await store.delete(["p3"])  # every image of the product
    assert "p3" not in await store.images()
    assert await store.count() == 30 - 1 - 2 - 3
    stored = await store.vector_of("p4")  # the main image's vector
    assert stored is not None and np.allclose(stored, vectors[("p4", 0)], atol=1e-3)
    await store.set_payload("p5", VectorPayload("moved", "b", 1.0, 1))
    assert {h.product_id for h in await store.search(query, 10, only("moved"))} == {"p5"}
    assert (await store.payloads())["p5"] == VectorPayload("moved", "b", 1.0, 1)


def best_over_views(vectors: dict, views: np.ndarray, allowed: set[str] | None = None) -> dict:
    """The reference: each product's best score over every gallery image and every view."""
    best: dict[str, float] = {}
    for (pid, _), v in vectors.items():
        if allowed is None or pid in allowed:
            best[pid] = max(best.get(pid, -2.0), float((views @ v).max()))
    return dict(sorted(best.items(), key=lambda kv: -kv[1]))


async def test_a_query_of_several_views_ranks_each_product_at_its_best_view(
    store: VectorStore,
) -> None:
    items, vectors = gallery_items(60, 3)
    await store.ensure_collection(DIM)
    await store.replace_galleries(items)
    views = unit_vectors(5, seed=900)
    want = best_over_views(vectors, views)
    hits = await store.search_views(views, 20)
    assert [h.product_id for h in hits] == list(want)[:20]  # each product once, best view
    for hit in hits:
        assert hit.score == pytest.approx(want[hit.product_id], abs=1e-3)
        assert hit.payload == payload_of(int(hit.product_id[1:]))
        image = vectors[(hit.product_id, hit.image_index)]  # the image that gave the score
        assert float((views @ image).max()) == pytest.approx(hit.score, abs=1e-3)
    pages = [
        h.product_id for off in (0, 10, 20) for h in await store.search_views(views, 10, offset=off)
    ]
    assert pages == list(want)[:30]  # pages tile over the fused ranking
    cut = (list(want.values())[14] + list(want.values())[15]) / 2
    kept = await store.search_views(views, 40, min_score=cut)
    assert [h.product_id for h in kept] == list(want)[:15]
    c1 = {f"p{i}" for i in range(60) if category_of(i) == "c1"}
    filtered = await store.search_views(views, 8, only("c1"))
    assert [h.product_id for h in filtered] == list(best_over_views(vectors, views, c1))[:8]
    one = await store.search_views(views[:1], 12)  # one view is a plain search
    assert [h.product_id for h in one] == [h.product_id for h in await store.search(views[0], 12)]
    counts = await store.facets(views, ProductFilter(), ("category",), 30)  # over the same ranking
    assert counts.category == Counter(category_of(int(p[1:])) for p in list(want)[:30])
