"""``GET /products/`` filters, sorts, pages and facets against a reference computed in Python.

The catalogue rows are written straight into PostgreSQL (no images or vectors are needed to
browse), then every filter alone and combined is compared with ``ProductFilter.matches`` over
the same rows: the page, the total and each facet (counted without its own field's filter).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest

from tests.conftest import Api
from visualsearch.filters import FACET_FIELDS, ProductFilter, parse_filter
from visualsearch.storage.catalog import ProductRecord

CATEGORIES = ["beauty", "laptops", "shoes", "tops"]
BRANDS = ["acme", "globex", "initech", "umbrella", "", "hooli"]


def catalogue(n: int = 60, seed: int = 15) -> list[ProductRecord]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        rows.append(
            ProductRecord(
                product_id=f"p{i:03d}",
                # lowercase letters and digits sort alike in Python and in any PostgreSQL collation;
                # every fifth name repeats, so ties fall back to the product id
                name=f"item{(i * 37 % n) // (5 if i % 5 == 0 else 1):03d}",
                brand=rng.choice(BRANDS),
                price=Decimal(rng.randrange(100, 20000)) / 100,
                category=rng.choice(CATEGORIES),
                description="",
                rating=None if i % 7 == 0 else round(rng.uniform(0, 5), 1),
                stock=0 if rng.random() < 0.3 else rng.randrange(1, 50),
                warranty="",
                image_key=f"ab/{i:064d}.jpg",
                image_sha256=f"{i:064d}",
            )
        )
    return rows


def matches(flt: ProductFilter, r: ProductRecord) -> bool:
    return flt.matches(r.category, r.brand, r.price, r.stock)


def reference_ids(rows: list[ProductRecord], flt: ProductFilter, sort: str) -> list[str]:
    kept = [r for r in rows if matches(flt, r)]
    keys = {
        "name": lambda r: (r.name, r.product_id),
        "price_asc": lambda r: (r.price, r.product_id),
        "price_desc": lambda r: (-r.price, r.product_id),
        "rating": lambda r: (r.rating is None, -(r.rating or 0), r.product_id),
    }
    return [r.product_id for r in sorted(kept, key=keys[sort])]


def reference_facets(rows: list[ProductRecord], flt: ProductFilter) -> dict[str, Any]:
    by_category = Counter(r.category for r in rows if matches(flt.without("category"), r))
    by_brand = Counter(r.brand for r in rows if matches(flt.without("brand"), r) and r.brand)
    prices = [r.price for r in rows if matches(flt.without("price"), r)]
    return {
        "category": dict(sorted(by_category.items())),
        "brand": dict(sorted(by_brand.items())),
        "price": {
            "min": float(min(prices)) if prices else None,
            "max": float(max(prices)) if prices else None,
        },
        "in_stock": sum(1 for r in rows if matches(flt.without("in_stock"), r) and r.stock > 0),
    }


@pytest.fixture
async def browsing(api: Api) -> tuple[Api, list[ProductRecord]]:
    rows = catalogue()
    await api.context.catalog.upsert(rows)
    return api, rows


FILTERS: list[dict[str, Any]] = [
    {},
    {"category": "shoes"},
    {"category": "shoes,tops"},
    {"category": ["beauty", "laptops"]},
    {"brand": "acme"},
    {"brand": "acme,globex"},
    {"brand": ["initech", "hooli"]},
    {"price_min": "25"},
    {"price_max": "80.5"},
    {"price_min": "20", "price_max": "120"},
    {"in_stock": "true"},
    {"category": "shoes", "brand": "acme,umbrella"},
    {"category": "tops,beauty", "price_min": "10", "price_max": "150", "in_stock": "true"},
    {"brand": "globex", "in_stock": "true", "price_max": "199.99"},
    {"category": "laptops", "brand": "acme", "price_min": "50", "in_stock": "true"},
    {"category": "nothing-here"},
    {"price_min": "150", "price_max": "150"},
]


def as_filter(params: dict[str, Any]) -> ProductFilter:
    return parse_filter(
        params.get("category"),
        params.get("brand"),
        params.get("price_min"),
        params.get("price_max"),
        params.get("in_stock") == "true",
    )


def query(params: dict[str, Any], **extra: Any) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for key, value in {**params, **extra}.items():
        for v in value if isinstance(value, list) else [value]:
            pairs.append((key, str(v)))
    return pairs


async def test_every_filter_alone_and_combined_no_leak_and_facets_match_python(
    browsing: tuple[Api, list[ProductRecord]],
) -> None:
    api, rows = browsing
    for params in FILTERS:
        flt = as_filter(params)
        expected = reference_ids(rows, flt, "name")
        response = await api.client.get(
            "/products/", params=query(params, limit=200, facets="true")
        )
        assert response.status_code == 200, (params, response.text)
        body = response.json()
        got = [p["product_id"] for p in body["items"]]
        assert got == expected, params
        assert body["total"] == len(expected), params
        for item in body["items"]:  # no leak: every item passes the filter
            assert flt.matches(item["category"], item["brand"], item["price"], item["stock"])
        assert body["facets"] == reference_facets(rows, flt), params


async def test_sort_and_pages_under_filters_tile_the_filtered_catalogue(
    browsing: tuple[Api, list[ProductRecord]],
) -> None:
    api, rows = browsing
    for params in (FILTERS[0], FILTERS[3], FILTERS[9], FILTERS[12], FILTERS[14]):
        flt = as_filter(params)
        for sort in ("name", "price_asc", "price_desc", "rating"):
            expected = reference_ids(rows, flt, sort)
            seen: list[str] = []
            for skip in range(0, len(expected) + 7, 7):
                page = (
                    await api.client.get(
                        "/products/", params=query(params, skip=skip, limit=7, sort=sort)
                    )
                ).json()
                assert page["total"] == len(expected) and page["skip"] == skip
                assert page["limit"] == 7 and "facets" not in page
                assert len(page["items"]) == min(7, max(0, len(expected) - skip))
                seen += [p["product_id"] for p in page["items"]]
            assert seen == expected, (params, sort)


async def test_selecting_a_brand_still_counts_the_other_brands(
    browsing: tuple[Api, list[ProductRecord]],
) -> None:
    api, _ = browsing
    body = (await api.client.get("/products/", params={"brand": "acme", "facets": "true"})).json()
    assert set(body["facets"]["brand"]) == {b for b in BRANDS if b}
    assert {p["brand"] for p in body["items"]} == {"acme"}
    # an empty page past the end still has its total and facets
    empty = await api.client.get(
        "/products/", params={"brand": "acme", "facets": "true", "skip": 10_000}
    )
    assert empty.json()["items"] == [] and empty.json()["total"] == body["total"]
    assert empty.json()["facets"] == body["facets"]


async def test_facets_can_be_named_one_by_one(browsing: tuple[Api, list[ProductRecord]]) -> None:
    api, rows = browsing
    for name in FACET_FIELDS:
        body = (await api.client.get("/products/", params={"facets": name})).json()
        assert list(body["facets"]) == [name]
        assert body["facets"][name] == reference_facets(rows, ProductFilter())[name]
    both = (await api.client.get("/products/", params={"facets": "price,brand"})).json()
    assert set(both["facets"]) == {"price", "brand"}
    off = (await api.client.get("/products/", params={"facets": "false"})).json()
    assert "facets" not in off


async def test_the_seeds_call_byte_for_byte(browsing: tuple[Api, list[ProductRecord]]) -> None:
    api, rows = browsing
    await api.context.catalog.upsert(
        [
            ProductRecord(
                product_id=f"b{i}",
                name=name,
                brand="glow",
                price=Decimal("12.50") + i,
                category="beauty",
                description="A lipstick.",
                rating=4.5 if i else None,
                stock=i,
                warranty="none",
                image_key=f"cd/{i:064d}.png",
                image_sha256=f"{i:064d}",
            )
            for i, name in enumerate(["mascara", "lipstick", "eyeliner"])
        ]
    )
    response = await api.client.get("/products/?skip=0&limit=40&category=beauty&sort=name")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    page = response.json()
    assert list(page) == ["items", "total", "skip", "limit"]
    expected = sorted(
        (p for p in page["items"]), key=lambda p: (p["name"], p["product_id"])
    )  # already in order
    assert page["items"] == expected and page["total"] == len(expected)
    assert all(p["category"] == "beauty" for p in page["items"])
    beauty = {r.product_id for r in rows if r.category == "beauty"} | {"b0", "b1", "b2"}
    assert {p["product_id"] for p in page["items"]} == beauty
    first = next(p for p in page["items"] if p["product_id"] == "b0")
    assert list(first) == [
        "product_id",
        "name",
        "brand",
        "price",
        "category",
        "description",
        "rating",
        "stock",
        "warranty",
        "image_url",
        "images",  # the gallery (issue 17), added after the seeds' fields
    ]
    assert first["rating"] is None and first["image_url"] == f"/images/cd/{0:064d}.png"
    assert first["images"] == [first["image_url"]]
    assert (
        response.content
        == json.dumps(page, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    )


@pytest.mark.parametrize(
    ("params", "needle"),
    [
        ({"price_min": "-1"}, "price_min"),
        ({"price_max": "-0.01"}, "price_max"),
        ({"price_min": "abc"}, "price_min"),
        ({"price_min": "100", "price_max": "5"}, "greater than price_max"),
        ({"facets": "colour"}, "facets"),
        ({"facets": "brand,colour"}, "facets"),
        ({"brand": "b"}, None),  # stands for the 10 000-value list, sent raw below
        ({"brand": [f"b{i}" for i in range(101)]}, "at most 100"),
        ({"category": "x" * 201}, "longer than"),
        ({"sort": "colour"}, "sort"),
        ({"limit": "0"}, "limit"),
        ({"skip": "-1"}, "skip"),
        ({"in_stock": "maybe"}, "in_stock"),
    ],
)
async def test_bad_input_is_a_422_with_a_message(
    api: Api, params: dict[str, Any], needle: str | None
) -> None:
    if needle is None:  # a brand list of 10 000 values, commas unescaped (under httpx's URL limit)
        brands = ",".join(str(i) for i in range(10_000))
        response = await api.client.get(f"/products/?brand={brands}&facets=true")
        needle = "brand"
    else:
        response = await api.client.get("/products/", params=query(params))
    assert response.status_code == 422, response.text
    body = response.json()
    assert set(body) == {"detail", "code"} and body["code"] == "validation_error"
    assert needle in body["detail"], body


async def test_an_empty_catalogue_has_empty_facets(api: Api) -> None:
    body = (await api.client.get("/products/", params={"facets": "true", "brand": "x"})).json()
    assert body == {
        "items": [],
        "total": 0,
        "skip": 0,
        "limit": 40,
        "facets": {"category": {}, "brand": {}, "price": {"min": None, "max": None}, "in_stock": 0},
    }
