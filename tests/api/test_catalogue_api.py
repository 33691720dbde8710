"""The catalogue API: pages, sorting, filtering, categories, batches and /info."""

from __future__ import annotations

from tests.api.helpers import index
from tests.conftest import Api
from tests.support.images import jpeg


async def test_pages_sorts_filters_and_counts(api: Api) -> None:
    rows = [
        ("b-1", "Boots", "49.00", "shoes", "4.1"),
        ("a-1", "Apron", "9.50", "kitchen", "3.0"),
        ("c-1", "Cap", "15.00", "hats", "4.9"),
        ("d-1", "Derby", "89.99", "shoes", "2.5"),
    ]
    for i, (pid, name, price, category, rating) in enumerate(rows):
        await index(
            api,
            pid,
            jpeg(seed=100 + i),
            wait=False,
            name=name,
            price=price,
            category=category,
            rating=rating,
        )

    async def ids(**params: object) -> list[str]:
        response = await api.client.get("/products/", params=params)
        assert response.status_code == 200, response.text
        return [p["product_id"] for p in response.json()["items"]]

    assert await ids(sort="name") == ["a-1", "b-1", "c-1", "d-1"]
    assert await ids(sort="price_asc") == ["a-1", "c-1", "b-1", "d-1"]
    assert await ids(sort="price_desc") == ["d-1", "b-1", "c-1", "a-1"]
    assert await ids(sort="rating") == ["c-1", "b-1", "a-1", "d-1"]
    assert await ids(category="shoes", sort="price_asc") == ["b-1", "d-1"]
    page = (await api.client.get("/products/", params={"skip": 1, "limit": 2})).json()
    assert page["total"] == 4 and page["skip"] == 1 and page["limit"] == 2
    assert [p["product_id"] for p in page["items"]] == ["b-1", "c-1"]
    beyond = (await api.client.get("/products/", params={"skip": 10})).json()
    assert beyond["items"] == [] and beyond["total"] == 4
    assert (await api.client.get("/products/", params={"sort": "colour"})).status_code == 422
    assert (await api.client.get("/products/", params={"limit": 0})).status_code == 422

    categories = (await api.client.get("/products/categories")).json()["categories"]
    assert categories == [
        {"name": "hats", "count": 1},
        {"name": "kitchen", "count": 1},
        {"name": "shoes", "count": 2},
    ]
    batch = (await api.client.get("/products/batch", params={"ids": "d-1,missing,a-1"})).json()
    assert [p["product_id"] for p in batch] == ["d-1", "a-1"]
    one = (await api.client.get("/products/c-1")).json()
    assert one["name"] == "Cap" and one["warranty"] == "1 year" and one["stock"] == 5
    missing = await api.client.get("/products/nope")
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]


async def test_info_reports_model_and_counts(api: Api) -> None:
    await index(api, "i-1", jpeg(seed=200))
    info = (await api.client.get("/info")).json()
    assert info["products"] == 1 and info["vectors"] == 1
    assert info["index_version"] >= 2
    assert info["warning"] is None


async def test_openapi_documents_every_endpoint(api: Api) -> None:
    paths = (await api.client.get("/openapi.json")).json()["paths"]
    for path in (
        "/search",
        "/index",
        "/index/jobs/{job_id}",
        "/index/dead-letters",
        "/index/duplicates",
        "/index/{product_id}",
        "/index/bulk",
        "/products/",
        "/products/categories",
        "/products/batch",
        "/products/{product_id}",
        "/info",
        "/health",
        "/ready",
        "/images/{key}",
    ):
        assert path in paths, path
