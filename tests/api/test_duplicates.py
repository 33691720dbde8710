"""Near-duplicate products: POST /index/bulk and `visualsearch seed` report the pairs whose main
images match (cosine >= 0.98) for what they indexed, GET /index/duplicates lists every pair once;
a gallery image that matches does not make a pair, nor does a different photo."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.conftest import Api, SettingsFactory, start_api
from tests.support.images import encode, jpeg, photo
from visualsearch.seeding import print_summary, seed_local
from visualsearch.services.duplicates import NEAR_DUPLICATE_COSINE, DuplicateFinder


def recoded(image: Image.Image) -> bytes:
    """The same photo as a shop's second listing might carry it: resized and re-compressed."""
    w, h = image.size
    return encode(image.resize((w * 9 // 10, h * 9 // 10)), "JPEG", quality=70)


def row(product_id: str, image: str, *gallery: str) -> dict[str, Any]:
    return {
        "product_id": product_id,
        "name": f"Product {product_id}",
        "price": 10,
        "category": "cats",
        "image": image,
        "images": list(gallery),
    }


async def bulk(api: Api, rows: list[dict[str, Any]], images: dict[str, bytes]) -> dict[str, Any]:
    catalogue = "\n".join(json.dumps(r) for r in rows).encode()
    response = await api.client.post(
        "/index/bulk",
        headers=api.headers,
        files=[
            ("catalogue", ("c.jsonl", catalogue, "application/x-ndjson")),
            *(("images", (name, data, "image/jpeg")) for name, data in images.items()),
        ],
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def pairs(listed: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(p["product_id"], p["other_id"]) for p in listed]


@pytest.fixture(params=["qdrant", "qdrant-edge", "pgvector"])
async def store_api(
    request: pytest.FixtureRequest, make_settings: SettingsFactory
) -> AsyncIterator[Api]:
    """The API on each of the three vector stores."""
    overrides: dict[str, Any] = {"vector_store": request.param}
    if request.param != "qdrant":
        overrides["qdrant_path"] = None
    if request.param == "pgvector":
        overrides["pgvector_url"] = request.getfixturevalue("pgvector_url")
        overrides["vector_collection"] = f"dup{uuid.uuid4().hex[:8]}"
    api, lifespan = await start_api(make_settings(**overrides))
    assert api.context.vectors.kind == request.param
    try:
        yield api
    finally:
        if request.param == "pgvector":
            await api.context.vectors.drop_collection()
        await api.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_bulk_reports_a_double_listing_and_the_index_lists_each_pair_once(
    store_api: Api,
) -> None:
    api = store_api
    cat, coffee, rocket = photo("chelsea.png"), photo("coffee.png"), photo("rocket.jpg")
    images = {
        "cat.jpg": jpeg(cat),
        "cat-again.jpg": recoded(cat),
        "coffee.jpg": jpeg(coffee),
        "rocket.jpg": jpeg(rocket),
    }
    rows = [
        row("cat-1", "cat.jpg"),
        row("cat-2", "cat-again.jpg"),  # the same photo, lightly re-encoded
        row("coffee", "coffee.jpg"),
        # the cat photo as a second gallery image: its main image differs, so it is no pair
        row("rocket", "rocket.jpg", "cat.jpg"),
    ]
    body = await bulk(api, rows, images)
    assert body["added"] == 4
    assert pairs(body["duplicates"]) == [("cat-1", "cat-2")]
    assert 0.98 <= body["duplicates"][0]["score"] <= 1.0 + 1e-6

    listed = await api.client.get("/index/duplicates")  # a read: no key needed
    assert listed.status_code == 200, listed.text
    assert listed.json()["threshold"] == NEAR_DUPLICATE_COSINE == 0.98
    assert pairs(listed.json()["pairs"]) == [("cat-1", "cat-2")]

    # a second run indexes nothing, so it reports nothing; a new double listing is reported
    assert pairs((await bulk(api, rows, images))["duplicates"]) == []
    body = await bulk(api, [row("coffee-2", "coffee.jpg")], {"coffee.jpg": images["coffee.jpg"]})
    assert pairs(body["duplicates"]) == [("coffee", "coffee-2")]
    listed = (await api.client.get("/index/duplicates")).json()
    assert sorted(pairs(listed["pairs"])) == [("cat-1", "cat-2"), ("coffee", "coffee-2")]
    scores = [p["score"] for p in listed["pairs"]]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > 0.999  # the identical file


async def test_the_threshold_is_inclusive_and_decides_on_the_main_images(api: Api) -> None:
    cat = photo("chelsea.png")
    body = await bulk(
        api,
        [row("cat-1", "cat.jpg"), row("cat-2", "again.jpg"), row("noise", "noise.jpg")],
        {"cat.jpg": jpeg(cat), "again.jpg": recoded(cat), "noise.jpg": jpeg(seed=3)},
    )
    score = body["duplicates"][0]["score"]
    assert score < 0.9999  # not identical: the boundary below is a real one
    vectors = api.context.vectors
    assert [p.score for p in await DuplicateFinder(vectors, score).pairs()] == [score]
    assert await DuplicateFinder(vectors, score + 1e-6).pairs() == []
    assert await DuplicateFinder(vectors).pairs(["noise"]) == []
    assert await DuplicateFinder(vectors).pairs(["missing"]) == []


async def test_seed_prints_the_pairs_it_found(api: Api, tmp_path: Path) -> None:
    cat = photo("chelsea.png")
    (tmp_path / "a.jpg").write_bytes(jpeg(cat))
    (tmp_path / "b.jpg").write_bytes(recoded(cat))
    (tmp_path / "c.jpg").write_bytes(jpeg(photo("coffee.png")))
    catalogue = tmp_path / "catalogue.json"
    catalogue.write_text(
        json.dumps([row("one", "a.jpg"), row("two", "b.jpg"), row("three", "c.jpg")])
    )
    summary = await seed_local(api.context, catalogue, show_progress=False)
    lines: list[str] = []
    print_summary(summary, lines.append)
    assert lines[0] == "3 rows: 3 added, 0 updated, 0 unchanged, 0 rejected."
    assert lines[1] == "1 near-duplicate pairs (main images at cosine >= 0.98):"
    assert lines[2].startswith("  one ~ two: 0.9") and len(lines) == 3


async def test_the_listing_pages_with_limit_and_offset(api: Api) -> None:
    """Pages of `limit` from `offset` (most similar first) join up to the whole list, each pair
    once; `total` counts every pair; a page past the end is empty."""
    images, rows = {}, []
    for name in ("chelsea.png", "coffee.png", "rocket.jpg"):
        shot = photo(name)
        images[f"{name}-a.jpg"], images[f"{name}-b.jpg"] = jpeg(shot), encode(shot, quality=80)
        rows += [row(f"{name[:4]}-1", f"{name}-a.jpg"), row(f"{name[:4]}-2", f"{name}-b.jpg")]
    await bulk(api, rows, images)
    whole = (await api.client.get("/index/duplicates")).json()
    assert (whole["total"], whole["offset"], whole["limit"]) == (3, 0, 100)
    assert len(whole["pairs"]) == 3

    pages = []
    for offset in (0, 2, 4):
        page = await api.client.get("/index/duplicates", params={"limit": 2, "offset": offset})
        assert page.status_code == 200, page.text
        body = page.json()
        assert (body["total"], body["offset"], body["limit"]) == (3, offset, 2)
        pages.append(body["pairs"])
    assert [len(p) for p in pages] == [2, 1, 0]
    assert pages[0] + pages[1] == whole["pairs"]


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 1_000_001}, "offset"),
        ({"offset": "1.5"}, "offset"),
    ],
)
async def test_bad_paging_values_are_a_422_that_names_them(
    api: Api, params: dict[str, Any], named: str
) -> None:
    answer = await api.client.get("/index/duplicates", params=params)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["code"] == "validation_error" and named in body["detail"]


async def test_openapi_documents_the_paging_and_the_real_shapes(api: Api) -> None:
    schema = (await api.client.get("/openapi.json")).json()
    operation = schema["paths"]["/index/duplicates"]["get"]
    params = {p["name"]: p for p in operation["parameters"]}
    limit = {"minimum": 1, "maximum": 1000, "default": 100, "type": "integer"}
    assert params["limit"]["schema"].items() >= limit.items()
    assert params["offset"]["schema"].items() >= {"minimum": 0, "default": 0}.items()
    assert params["limit"]["in"] == params["offset"]["in"] == "query"

    def ref(status: str) -> str:
        return str(operation["responses"][status]["content"]["application/json"]["schema"]["$ref"])

    assert ref("200").endswith("/Duplicates") and ref("422").endswith("/ErrorBody")
    page = schema["components"]["schemas"]["Duplicates"]
    assert set(page["required"]) == {"threshold", "total", "offset", "limit", "pairs"}
    assert page["properties"]["pairs"]["items"]["$ref"].endswith("/DuplicatePair")
