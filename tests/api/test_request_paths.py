"""Request paths no other test walked: a search with nothing to search by, image and text in one
search, the cache's expiry, the bulk route's refusals, images while S3 is down, route subsets."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import httpx

from tests.api.helpers import index, search
from tests.conftest import Api, SettingsFactory, start_api
from tests.support.images import jpeg, photo
from tests.support.servers import s3_server
from visualsearch.app import create_app


async def test_a_search_with_neither_image_nor_text_names_what_is_missing(api: Api) -> None:
    response = await api.client.post("/search", data={"top_k": "3"})
    assert response.status_code == 400, response.text
    assert response.json() == {
        "detail": "Send an image (field 'file') or a text query ('q').",
        "code": "invalid_input",
    }


async def test_image_and_text_in_one_search_both_count(api: Api) -> None:
    cat, coffee = jpeg(photo("chelsea.png")), jpeg(photo("coffee.png"))
    await index(api, "cat", cat, name="Tabby cat", category="pets")
    await index(api, "mug", coffee, name="Espresso mug", category="kitchen")
    by_image = await search(api, cat)
    assert [r["product_id"] for r in by_image["results"]][:1] == ["cat"]
    steered = await api.client.post(
        "/search",
        data={"q": "espresso mug", "top_k": "2"},
        files={"file": ("cat.jpg", cat, "image/jpeg")},
    )
    assert steered.status_code == 200, steered.text
    scores = {r["product_id"]: r["score"] for r in steered.json()["results"]}
    image_scores = {r["product_id"]: r["score"] for r in by_image["results"]}
    # the text lifts the mug against the image-only ranking
    assert scores["mug"] - scores["cat"] > image_scores["mug"] - image_scores["cat"]


async def test_a_cached_answer_expires_after_its_ttl(make_settings: SettingsFactory) -> None:
    api, lifespan = await start_api(make_settings(redis_cache_ttl=1))
    try:
        cat = jpeg(photo("chelsea.png"))
        await index(api, "cat", cat)
        assert (await search(api, cat))["cache"] is False
        assert (await search(api, cat))["cache"] is True
        deadline = asyncio.get_running_loop().time() + 15
        while (await search(api, cat))["cache"] is True:  # Redis expires the key after 1 s
            assert asyncio.get_running_loop().time() < deadline, "the cached answer never expired"
            await asyncio.sleep(0.2)
    finally:
        await api.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_bulk_refuses_url_images_and_images_it_was_not_sent(api: Api) -> None:
    rows = [
        {"product_id": "ok", "name": "Fine", "price": 1, "category": "c", "image": "ok.jpg"},
        {
            "product_id": "url",
            "name": "URL",
            "price": 1,
            "category": "c",
            "image": "http://x/a.jpg",
        },
        {"product_id": "lost", "name": "Lost", "price": 1, "category": "c", "image": "lost.jpg"},
    ]
    catalogue = "\n".join(json.dumps(r) for r in rows).encode()
    response = await api.client.post(
        "/index/bulk",
        headers=api.headers,
        files=[
            ("catalogue", ("c.jsonl", catalogue, "application/x-ndjson")),
            ("images", ("ok.jpg", jpeg(seed=1), "image/jpeg")),
        ],
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["added"] == 1
    reasons = {r["product_id"]: r["reason"] for r in body["rejected"]}
    assert set(reasons) == {"url", "lost"}
    assert "URLs are fetched by `seed`" in reasons["url"]
    assert "was not uploaded" in reasons["lost"]
    assert (await api.client.get("/products/url")).status_code == 404


async def test_images_answer_503_while_s3_is_down(
    make_settings: SettingsFactory, tmp_path: Path
) -> None:
    s3 = s3_server(tmp_path / "own-s3")
    s3.start()
    api, lifespan = await start_api(make_settings(s3_endpoint=f"127.0.0.1:{s3.port}"))
    try:
        await index(api, "cat", jpeg(photo("chelsea.png")))
        key = (await api.client.get("/products/cat")).json()["image_url"].rsplit("/images/", 1)[1]
        assert (await api.client.get(f"/images/{key}")).status_code == 200
        s3.stop(kill=True)
        down = await api.client.get(f"/images/{key}")
        assert down.status_code == 503, down.text
        assert down.json()["code"] == "store_unavailable"
        s3.start()
        assert (await api.client.get(f"/images/{key}")).status_code == 200
    finally:
        await api.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]
        s3.stop()


async def test_an_api_serves_only_its_route_groups(make_settings: SettingsFactory) -> None:
    # the chart's per-role Deployments: a search-only API and an indexing-only one
    settings = make_settings()
    for routes, served, absent in (
        (["search", "info"], {"/search?q=cat": 200, "/info": 200}, ["/products/", "/index/jobs/x"]),
        (
            ["index"],
            {"/index/jobs/" + "0" * 32: 404, "/ready": 200},
            ["/search?q=cat", "/products/"],
        ),
    ):
        app = create_app(settings, routes=routes)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://t"
            ) as client,
        ):
            for path, status in served.items():
                answer = await client.get(path)
                assert answer.status_code == status, (routes, path, answer.text)
                if status == 404:  # the route's own answer (no such job), not "no such route"
                    assert answer.json()["detail"] != "Not Found", answer.text
            for path in absent:
                answer = await client.get(path)
                assert (answer.status_code, answer.json()["detail"]) == (404, "Not Found"), path


def test_an_unknown_route_group_is_refused_by_name() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "visualsearch", "api", "--routes", "search,serach"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    assert "unknown route groups ['serach']" in run.stderr


async def test_metrics_report_the_queue_depth_read_at_scrape_time(
    make_settings: SettingsFactory,
) -> None:
    """`visualsearch_queue_depth` (the platform dashboard's queue panel) is what the queue holds
    when Prometheus scrapes, here three jobs that no worker takes."""
    api, lifespan = await start_api(make_settings(), worker=False)
    try:
        for product_id in ("q1", "q2", "q3"):
            await api.context.queue.enqueue(product_id)
        text = (await api.client.get("/metrics")).text
        (line,) = [x for x in text.splitlines() if x.startswith("visualsearch_queue_depth ")]
        assert float(line.split()[1]) == await api.context.queue.pending() == 3
    finally:
        await api.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]
