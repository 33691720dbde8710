"""GET /products/{id}/similar: ranked by the product's stored vector, itself left out, with every
filter of search, pages that tile, cached, and a 404 that says why."""

from __future__ import annotations

from tests.api.test_search_params import attributes, catalogue
from tests.conftest import Api


def ids(body: dict) -> list[str]:
    return [r["product_id"] for r in body["results"]]


async def test_similar_leaves_the_product_out_fills_the_page_and_pages_tile(api: Api) -> None:
    await catalogue(api)
    whole = await api.client.get("/products/p0/similar", params={"top_k": 11})
    assert whole.status_code == 200, whole.text
    body = whole.json()
    assert body["count"] == 11 and body["has_more"] is False and body["cache"] is False
    assert sorted(ids(body)) == sorted(f"p{i}" for i in range(1, 12))
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)
    assert set(body) >= {"results", "cache", "count", "offset", "has_more"}

    pages = []
    for offset in (0, 4, 8):
        page = (await api.client.get("/products/p0/similar?top_k=4&offset=" + str(offset))).json()
        assert page["offset"] == offset and page["has_more"] is (offset < 8)
        pages += ids(page)
    assert pages == ids(body)


async def test_in_stock_gives_only_in_stock_alternatives_and_filters_apply(api: Api) -> None:
    await catalogue(api)
    # p0 (Acme) is sold out: its alternatives in stock
    body = (await api.client.get("/products/p0/similar", params={"in_stock": "true"})).json()
    assert body["count"] == 8  # 12 products, 4 Acme sold out (p0 among them)
    assert all(r["stock"] > 0 for r in body["results"])
    assert all(attributes(int(p[1:]))["stock"] > 0 for p in ids(body))
    body = (
        await api.client.get(
            "/products/p1/similar",
            params={
                "category": "phones",
                "brand": ["Zen", "Orb"],
                "price_max": "110",
                "facets": "true",
            },
        )
    ).json()
    assert ids(body) and all(r["category"] == "phones" for r in body["results"])
    assert all(r["brand"] in ("Zen", "Orb") and float(r["price"]) <= 110 for r in body["results"])
    assert body["facets"]["category"]


async def test_unknown_product_and_one_without_a_vector_are_404_saying_which(api: Api) -> None:
    await catalogue(api, count=3)
    unknown = await api.client.get("/products/nope/similar")
    assert unknown.status_code == 404
    assert "No product with id 'nope'" in unknown.json()["detail"]
    await api.context.vectors.delete(["p2"])
    missing = await api.client.get("/products/p2/similar")
    assert missing.status_code == 404
    assert "no vector yet" in missing.json()["detail"]
    assert (await api.client.get("/products/p0/similar?top_k=0")).status_code == 422
    assert (await api.client.get("/products/p0/similar?top_k=5&offset=499")).status_code == 422
    bad = await api.client.get("/products/p0/similar?price_min=9&price_max=1")
    assert bad.status_code == 422


async def test_repeat_is_a_cache_hit_until_the_catalogue_changes(api: Api) -> None:
    await catalogue(api, count=6)
    first = (await api.client.get("/products/p1/similar?top_k=3")).json()
    again = (await api.client.get("/products/p1/similar?top_k=3")).json()
    assert first["cache"] is False and again["cache"] is True
    assert ids(again) == ids(first)
    other = (await api.client.get("/products/p1/similar?top_k=3&in_stock=true")).json()
    assert other["cache"] is False  # the parameters are part of the key
    assert (await api.client.get("/products/p2/similar?top_k=3")).json()["cache"] is False
    patched = await api.client.patch("/products/p2", headers=api.headers, json={"stock": 0})
    assert patched.status_code == 200, patched.text
    after = (await api.client.get("/products/p1/similar?top_k=3&in_stock=true")).json()
    assert after["cache"] is False and "p2" not in ids(after)
