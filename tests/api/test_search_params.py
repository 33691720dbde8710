"""The search API a shop steers: parameters from the query string or the form (the seed's own
calls byte for byte), filters, pages, facets, min_score, live PATCH, and bad input refused."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from typing import Any

import httpx

from tests.api.helpers import index, wait_job
from tests.conftest import Api
from tests.support.images import jpeg
from visualsearch.filters import ProductFilter

BRANDS = ("Acme", "Zen", "Orb")


def attributes(i: int) -> dict[str, Any]:
    """Product ``p{i}``: six laptops then six phones, three brands, prices 10..120."""
    return {
        "category": "laptops" if i < 6 else "phones",
        "brand": BRANDS[i % 3],
        "price": f"{10 * (i + 1)}.00",
        "stock": i % 3,  # every Acme product is out of stock
    }


async def catalogue(api: Api, count: int = 12) -> None:
    jobs = [
        await index(api, f"p{i}", jpeg(seed=i), wait=False, **attributes(i)) for i in range(count)
    ]
    for job in jobs:
        await wait_job(api, job["job_id"])


def passing(product_filter: ProductFilter, count: int = 12) -> list[str]:
    return [
        f"p{i}"
        for i in range(count)
        if product_filter.matches(
            attributes(i)["category"],
            attributes(i)["brand"],
            Decimal(attributes(i)["price"]),
            attributes(i)["stock"],
        )
    ]


async def post(
    api: Api, url: str = "/search", image: bytes | None = None, **form: Any
) -> httpx.Response:
    return await api.client.post(
        url,
        files={"file": ("q.jpg", image or jpeg(seed=1), "image/jpeg")},
        data={k: v if isinstance(v, list) else str(v) for k, v in form.items()},
    )


def ids(body: dict[str, Any]) -> list[str]:
    return [r["product_id"] for r in body["results"]]


async def test_the_seed_readme_calls_work_byte_for_byte(api: Api) -> None:
    await catalogue(api)
    image = jpeg(seed=7)
    # curl -X POST 'http://localhost/search?top_k=5&category=laptops' -F file=@product.jpg
    boundary = "------------------------3f5c2d7e9a1b4c60"
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="product.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + image
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = await api.client.post(
        "http://localhost/search?top_k=5&category=laptops",
        content=body,
        headers={
            "Host": "localhost",
            "User-Agent": "curl/8.5.0",
            "Accept": "*/*",
            "Content-Length": str(len(body)),
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    assert response.status_code == 200, response.text
    found = response.json()
    assert found["count"] == 5 and len(found["results"]) == 5
    assert all(r["category"] == "laptops" for r in found["results"])
    assert found["offset"] == 0 and found["has_more"] is True  # a sixth laptop exists

    # const formData = new FormData(); formData.append('file', fileInput.files[0]);
    # fetch('/search?top_k=5', {method: 'POST', body: formData})
    boundary = "----WebKitFormBoundaryq3b7ZxW1dKp9TfQe"
    body = (
        (
            f"--{boundary}\r\n"
            'Content-Disposition: form-data; name="file"; filename="product.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + image
        + f"\r\n--{boundary}--\r\n".encode()
    )
    response = await api.client.post(
        "/search?top_k=5",
        content=body,
        headers={
            "Accept": "*/*",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Origin": "http://test",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["count"] == 5
    assert ids(response.json())[0] == "p7"  # the same picture ranks first, any category


async def test_parameters_from_the_query_or_the_form_and_conflicts(api: Api) -> None:
    await catalogue(api)
    by_query = (await post(api, "/search?top_k=3&brand=Zen,Orb&in_stock=true")).json()
    by_form = (await post(api, top_k=3, brand=["Zen", "Orb"], in_stock="true")).json()
    assert ids(by_query) == ids(by_form) and len(ids(by_query)) == 3
    assert all(r["brand"] in ("Zen", "Orb") and r["stock"] > 0 for r in by_query["results"])
    repeated = await post(api, "/search?category=laptops&category=phones&top_k=12")
    assert repeated.json()["count"] == 12
    same_both_ways = await post(api, "/search?top_k=4&category=phones", top_k=4, category="phones")
    assert same_both_ways.status_code == 200 and same_both_ways.json()["count"] == 4
    for query, form in (
        ("top_k=3", {"top_k": 4}),
        ("category=laptops", {"category": "phones"}),
        ("in_stock=true", {"in_stock": "false"}),
        ("price_max=50", {"price_max": "60"}),
        ("min_score=0.1", {"min_score": "0.2"}),
    ):
        conflict = await post(api, f"/search?{query}", **form)
        assert conflict.status_code == 422, (query, conflict.text)
        detail = conflict.json()["detail"]
        assert "query string" in detail and "form" in detail, detail
        assert conflict.json()["code"] == "validation_error"
    # each filter alone and combined, through the API, never leaks
    for params, product_filter in (
        ("price_min=40&price_max=80", ProductFilter(price_min=Decimal(40), price_max=Decimal(80))),
        ("brand=Acme", ProductFilter(brands=("Acme",))),
        ("in_stock=1&category=phones", ProductFilter(categories=("phones",), in_stock=True)),
        (
            "category=laptops&brand=Zen&brand=Acme&price_max=50&in_stock=true",
            ProductFilter(
                categories=("laptops",),
                brands=("Zen", "Acme"),
                price_max=Decimal(50),
                in_stock=True,
            ),
        ),
    ):
        body = (await post(api, f"/search?top_k=12&{params}")).json()
        assert sorted(ids(body)) == sorted(passing(product_filter)), params


async def test_pages_tile_facets_count_and_min_score_cuts(api: Api) -> None:
    await catalogue(api)
    whole = (await post(api, "/search?top_k=8&in_stock=true")).json()
    first = (await post(api, "/search?top_k=4&in_stock=true")).json()
    second = (await post(api, "/search?top_k=4&offset=4", in_stock="true")).json()
    assert ids(first) + ids(second) == ids(whole) and len(ids(whole)) == 8
    assert first["has_more"] is True and second["offset"] == 4 and second["has_more"] is False
    past = (await post(api, "/search?top_k=5&offset=20")).json()
    assert past["results"] == [] and past["has_more"] is False and past["offset"] == 20

    product_filter = ProductFilter(brands=("Zen",), price_max=Decimal(100))
    faceted = (await post(api, "/search?brand=Zen&price_max=100&facets=true")).json()
    facets = faceted["facets"]
    for field in ("category", "brand"):
        others = passing(product_filter.without(field))  # the depth (200) covers them all
        key = "category" if field == "category" else "brand"
        assert facets[field] == dict(Counter(attributes(int(p[1:]))[key] for p in others)), field
    assert set(facets["brand"]) == set(BRANDS)  # the other brands still show their counts
    priced = passing(product_filter.without("price"))
    prices = [float(attributes(int(p[1:]))["price"]) for p in priced]
    assert facets["price"] == {"min": min(prices), "max": max(prices)}
    assert facets["in_stock"] == len(passing(product_filter))  # Zen products are all in stock
    only_brand = (await post(api, "/search?facets=brand")).json()["facets"]
    assert only_brand["brand"] and only_brand["category"] is None
    assert (await post(api)).json()["facets"] is None

    ranked = (await post(api, "/search?top_k=12")).json()["results"]
    cut = (ranked[5]["score"] + ranked[6]["score"]) / 2  # scores come rounded to 6 places
    assert ranked[5]["score"] - ranked[6]["score"] > 1e-5
    kept = (await post(api, f"/search?top_k=12&min_score={cut}")).json()
    assert ids(kept) == [r["product_id"] for r in ranked[:6]]
    assert all(r["score"] >= cut for r in kept["results"]) and kept["has_more"] is False


async def test_patch_changes_price_and_stock_for_the_very_next_search(api: Api) -> None:
    await catalogue(api, 6)
    cheap = "/search?top_k=12&price_max=15&in_stock=true"
    before = (await post(api, cheap)).json()
    assert ids(before) == []  # p0 costs 10 but is out of stock
    assert (await post(api, cheap)).json()["cache"] is True
    changed = await api.client.patch(
        "/products/p4", json={"price": 9.5, "stock": 2}, headers=api.headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["price"] == 9.5 and changed.json()["stock"] == 2
    after = (await post(api, cheap)).json()
    assert after["cache"] is False and ids(after) == ["p4"]
    assert after["results"][0]["price"] == 9.5
    sold_out = await api.client.patch("/products/p4", json={"stock": 0}, headers=api.headers)
    assert sold_out.status_code == 200
    assert ids((await post(api, cheap)).json()) == []
    moved = await api.client.patch(
        "/products/p1",
        json={"category": "tablets", "brand": "Neo", "name": "Tab"},
        headers=api.headers,
    )
    assert moved.status_code == 200
    tablets = (await post(api, "/search?category=tablets&brand=Neo")).json()
    assert ids(tablets) == ["p1"] and tablets["results"][0]["name"] == "Tab"
    assert (await api.client.get("/products/p1")).json()["category"] == "tablets"

    version = (await api.client.get("/info")).json()["index_version"]
    assert (await api.client.patch("/products/p1", json={"price": 1})).status_code == 401
    missing = await api.client.patch("/products/nope", json={"price": 1}, headers=api.headers)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    for bad in ({}, {"price": -1}, {"stock": 1.5}, {"colour": "red"}, {"price": None},
                {"name": ""}, {"rating": 7}):  # fmt: skip
        refused = await api.client.patch("/products/p1", json=bad, headers=api.headers)
        assert refused.status_code == 422, (bad, refused.text)
        assert refused.json()["detail"]
    assert (await api.client.get("/info")).json()["index_version"] == version  # nothing changed


async def test_bad_input_is_a_422_with_a_message_and_changes_nothing(api: Api) -> None:
    await catalogue(api, 3)
    info = (await api.client.get("/info")).json()
    assert info["vector_store"] == "qdrant" and info["embed_backend"] in ("torch", "onnx", "int8")
    many = ",".join(f"b{i}" for i in range(10_000))
    cases = [
        ("/search?price_min=-1", {}, "greater than or equal to 0"),
        ("/search", {"price_max": "-0.5"}, "greater than or equal to 0"),
        ("/search?price_min=50&price_max=10", {}, "greater than price_max"),
        ("/search?min_score=1.5", {}, "min_score"),
        ("/search", {"min_score": "-0.1"}, "min_score"),
        ("/search?offset=490&top_k=20", {}, "offset + top_k"),
        ("/search?offset=501", {}, "offset"),
        ("/search?top_k=51", {}, "top_k"),
        ("/search?facets=colour", {}, "unknown facet"),
        ("/search", {"brand": many}, "at most 100"),
        (f"/search?brand={many}", {}, "at most 100"),
        # repeated 2 000 times (10 000 repetitions pass the client's own URL limit)
        ("/search?" + "&".join(f"brand=b{i}" for i in range(2_000)), {}, "at most 100"),
        ("/search?top_k=2", {"top_k": "3"}, "different values"),
    ]
    for url, form, words in cases:
        response = await post(api, url, **form)
        assert response.status_code == 422, (url[:80], response.text[:200])
        assert words in response.json()["detail"], (url[:80], response.json()["detail"])
    for url in ("/search?q=shoes&price_min=-3", "/search?q=shoes&offset=499&top_k=2"):
        response = await api.client.get(url)
        assert response.status_code == 422 and response.json()["detail"]
    assert (await api.client.get("/info")).json()["index_version"] == info["index_version"]
    assert (await post(api, "/search?top_k=3")).json()["count"] == 3  # still serving
