"""End to end over HTTP with real PostgreSQL, Redis, S3 and embedded Qdrant: index, search, delete."""

from __future__ import annotations

from tests.api.helpers import index, search
from tests.conftest import Api, SettingsFactory, start_api
from tests.support.images import jpeg, photo


async def test_indexed_product_is_found_first_with_metadata(api: Api) -> None:
    cat = jpeg(photo("chelsea.png"))
    await index(api, "cat-1", cat, category="pets", price="12.50")
    await index(api, "coffee-1", jpeg(photo("coffee.png")), category="kitchen")
    await index(api, "rocket-1", jpeg(photo("rocket.jpg")), category="toys")

    body = await search(api, cat)
    assert body["cache"] is False
    assert body["count"] == 3
    first = body["results"][0]
    assert first["product_id"] == "cat-1"
    assert first["score"] > 0.99
    assert first["price"] == 12.5 and first["category"] == "pets" and first["brand"] == "Acme"
    assert first["image_url"].startswith("/images/products/cat-1/")
    scores = [r["score"] for r in body["results"]]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)

    image = await api.client.get(first["image_url"])
    assert image.status_code == 200 and image.content == cat
    assert image.headers["content-type"] == "image/jpeg"


async def test_category_filter_and_top_k(api: Api) -> None:
    for i in range(4):
        await index(api, f"p{i}", jpeg(seed=i), category="a" if i % 2 else "b")
    body = await search(api, jpeg(seed=1), category="b")
    assert {r["product_id"] for r in body["results"]} == {"p0", "p2"}
    body = await search(api, jpeg(seed=1), top_k=1)
    assert body["count"] == 1 and body["results"][0]["product_id"] == "p1"
    too_many = await api.client.post(
        "/search", files={"file": ("q.jpg", jpeg(seed=1), "image/jpeg")}, data={"top_k": "51"}
    )
    assert too_many.status_code == 422
    assert "top_k" in too_many.json()["detail"]


async def test_cache_hits_and_is_invalidated_by_writes(api: Api) -> None:
    await index(api, "c1", jpeg(seed=10))
    query = jpeg(seed=10)
    assert (await search(api, query))["cache"] is False
    assert (await search(api, query))["cache"] is True
    assert (await search(api, query, top_k=5))["cache"] is False  # other parameters, other key
    await index(api, "c2", jpeg(seed=11))
    fresh = await search(api, query)
    assert fresh["cache"] is False
    assert {r["product_id"] for r in fresh["results"]} == {"c1", "c2"}
    metrics = (await api.client.get("/metrics")).text
    for stage in ("decode", "embed", "ann", "metadata", "cache"):
        assert f'visualsearch_stage_seconds_count{{stage="{stage}"}}' in metrics
    assert 'visualsearch_jobs_total{outcome="done"}' in metrics


async def test_reindexing_is_an_upsert_everywhere(api: Api) -> None:
    await index(api, "dup", jpeg(seed=20), name="First name")
    await index(api, "dup", jpeg(seed=20), name="Second name")
    await index(api, "dup", jpeg(seed=21), name="Third name")
    ctx = api.context
    assert await ctx.catalog.count() == 1
    assert await ctx.vectors.count() == 1
    keys = await ctx.objects.keys("products/dup/")
    assert len(keys) == 1, keys  # the replaced image was removed
    product = (await api.client.get("/products/dup")).json()
    assert product["name"] == "Third name"
    assert product["image_url"] == f"/images/{keys[0]}"
    assert (await search(api, jpeg(seed=21)))["results"][0]["product_id"] == "dup"


async def test_delete_removes_product_from_every_store(api: Api) -> None:
    await index(api, "gone", jpeg(seed=30))
    await index(api, "kept", jpeg(seed=31))
    unauthorised = await api.client.delete("/index/gone")
    assert unauthorised.status_code == 401
    response = await api.client.delete("/index/gone", headers=api.headers)
    assert response.status_code == 204
    ctx = api.context
    assert await ctx.catalog.get("gone") is None
    assert await ctx.vectors.existing(["gone"]) == {}
    assert await ctx.objects.keys("products/gone/") == []
    body = await search(api, jpeg(seed=30))
    assert [r["product_id"] for r in body["results"]] == ["kept"]
    assert (await api.client.delete("/index/gone", headers=api.headers)).status_code == 404
    response = await api.client.delete("/products/kept", headers=api.headers)
    assert response.status_code == 204
    assert (await api.client.get("/products/kept")).status_code == 404
    assert "kept" not in await ctx.vectors.all_ids()


async def test_indexes_sharing_a_redis_never_share_cached_results(
    api: Api, make_settings: SettingsFactory
) -> None:
    other, lifespan = await start_api(make_settings())
    try:
        image = jpeg(seed=77)
        await index(api, "mine", image)
        await index(other, "theirs", image)
        assert (await search(api, image))["results"][0]["product_id"] == "mine"
        assert (await search(api, image))["cache"] is True
        theirs = await search(other, image)  # same bytes, same parameters, same version number
        assert theirs["cache"] is False and theirs["results"][0]["product_id"] == "theirs"
    finally:
        await other.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]
