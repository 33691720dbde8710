"""The one-machine mode as a user runs it: ``visualsearch serve`` with embedded stores and the demo.

One server (module scope) is seeded once; the tests then check the demo catalogue's quality
through the real HTTP API, seeding through the CLI, restarts and the rate limit.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.demo import DEMO_IMAGES, DEMO_PRODUCTS, demo_rows
from tests.support.images import jpeg
from tests.support.serve import ServeProcess
from tests.support.servers import shared_tmpdir
from visualsearch.seeding import DEMO_CATALOG

# Every product and image the demo catalogue ships must load (tests.support.demo), so a rejected
# demo row or a lost gallery image fails the tests instead of passing unnoticed.
DEMO_MIN_CATEGORIES = 24


@pytest.fixture(scope="module")
def served() -> Iterator[ServeProcess]:
    with shared_tmpdir("vs-serve-") as root:
        server = ServeProcess(root / "data", env={"VISUALSEARCH_RATE_LIMIT_PER_MINUTE": "0"})
        server.start()
        try:
            server.wait_indexed(DEMO_PRODUCTS, vectors=DEMO_IMAGES)
            yield server
        finally:
            server.stop()


def all_products(url: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    while True:
        page = httpx.get(f"{url}/products/", params={"skip": len(items), "limit": 100}).json()
        items += page["items"]
        if len(items) >= page["total"]:
            return items


def test_first_start_generates_a_key_and_seeds_the_demo(served: ServeProcess) -> None:
    assert httpx.get(f"{served.url}/health").json() == {"status": "ok"}
    output = served.output()
    key = served.api_key()
    assert len(key) >= 32 and key in output  # printed once, with how to use it
    assert "X-API-Key" in output and "open http://localhost" in output
    info = httpx.get(f"{served.url}/info").json()
    assert DEMO_PRODUCTS >= 194
    assert info["products"] == DEMO_PRODUCTS and info["vectors"] == DEMO_IMAGES
    assert DEMO_IMAGES > DEMO_PRODUCTS  # every second view is indexed as a gallery image
    # CLIP is not available here: EfficientNet-Lite0, colours joined (the default weight)
    assert info["model"] == "efficientnet-lite0+colour0.25" and info["warning"]
    categories = httpx.get(f"{served.url}/products/categories").json()["categories"]
    assert len(categories) >= DEMO_MIN_CATEGORIES
    product = all_products(served.url)[0]
    for field in (
        "name",
        "brand",
        "price",
        "category",
        "description",
        "rating",
        "stock",
        "warranty",
    ):
        assert product[field] not in (None, ""), field
    storefront = httpx.get(f"{served.url}/")
    assert storefront.status_code == 200 and "<html" in storefront.text.lower()
    # the shop's admin view at /admin itself; its API beside it wants the key
    admin = httpx.get(f"{served.url}/admin")
    assert admin.status_code == 200 and 'id="api-key"' in admin.text
    # "/admin/" is the page too, by a relative redirect (its links are relative to /admin)
    slash = httpx.get(f"{served.url}/admin/")
    assert (slash.status_code, slash.headers["location"]) == (308, "/admin")
    assert httpx.get(f"{served.url}/admin/", follow_redirects=True).text == admin.text
    assert httpx.get(f"{served.url}/admin/status").status_code == 401
    status = httpx.get(f"{served.url}/admin/status", headers={"X-API-Key": key})
    assert status.status_code == 200 and status.json()["dead_letters"] == []


def test_every_demo_product_finds_itself_first_and_its_category_around_it(
    served: ServeProcess,
) -> None:
    products = all_products(served.url)
    category = {p["product_id"]: p["category"] for p in products}
    self_first = 0
    precision = []
    with httpx.Client(base_url=served.url, timeout=30) as client:
        for product in products:
            image = client.get(str(product["image_url"])).content
            results = client.post(
                "/search", files={"file": ("q.jpg", image, "image/jpeg")}, data={"top_k": "6"}
            ).json()["results"]
            ids = [r["product_id"] for r in results]
            self_first += ids[0] == product["product_id"]
            others = [i for i in ids if i != product["product_id"]][:5]
            precision.append(sum(category[i] == product["category"] for i in others) / 5)
    assert self_first == len(products)
    mean = sum(precision) / len(precision)
    assert mean >= 0.8, f"same-category precision@5 is {mean:.3f}"


def test_the_demo_second_views_are_indexed_as_gallery_images(served: ServeProcess) -> None:
    """Every second view shipped is a gallery image: listed on its product, and searched by its
    own bytes it finds the product through that image (``matched_image_url``)."""
    galleries = {r["product_id"]: r["images"] for r in demo_rows() if len(r["images"]) > 1}
    assert len(galleries) == DEMO_IMAGES - DEMO_PRODUCTS >= DEMO_PRODUCTS // 3
    listed = {p["product_id"]: p["images"] for p in all_products(served.url)}
    with httpx.Client(base_url=served.url, timeout=30) as client:
        for product_id in sorted(galleries)[::12]:  # six of them, across the categories
            images = listed[product_id]
            assert (
                len(images) == 2
                and images[0] == client.get(f"/products/{product_id}").json()["image_url"]
            )
            view = client.get(str(images[1])).content
            assert view == (DEMO_CATALOG.parent / galleries[product_id][1]).read_bytes()
            hit = client.post(
                "/search", files={"file": ("v.jpg", view, "image/jpeg")}, data={"top_k": "3"}
            ).json()["results"][0]
            assert (hit["product_id"], hit["matched_image_url"]) == (product_id, images[1])


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "visualsearch", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def test_seeding_the_demo_twice_changes_nothing(served: ServeProcess) -> None:
    before = httpx.get(f"{served.url}/info").json()
    result = run_cli(
        "seed", "--demo", "--api", served.url, "--api-key", served.api_key(), "--no-progress"
    )
    assert result.returncode == 0, result.stderr
    assert f"{before['products']} unchanged" in result.stdout
    after = httpx.get(f"{served.url}/info").json()
    assert (after["products"], after["vectors"]) == (before["products"], before["vectors"])
    assert after["index_version"] == before["index_version"]


def test_csv_with_a_broken_row_loads_the_rest_and_reports_it(
    served: ServeProcess, tmp_path: Path
) -> None:
    for i in range(3):
        (tmp_path / f"own-{i}.jpg").write_bytes(jpeg(seed=5000 + i))
    with (tmp_path / "shop.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["product_id", "name", "price", "category", "brand", "image"])
        writer.writerow(["own-0", "Own zero", "5.00", "own", "Shop", "own-0.jpg"])
        writer.writerow(["own-1", "Own one", "free", "own", "Shop", "own-1.jpg"])
        writer.writerow(["own-2", "Own two", "7.00", "own", "Shop", "own-2.jpg"])
    wrong = run_cli(
        "seed",
        "--file",
        str(tmp_path / "shop.csv"),
        "--api",
        served.url,
        "--api-key",
        "wrong",
        "--no-progress",
    )
    assert wrong.returncode != 0 and "401" in wrong.stderr
    result = run_cli(
        "seed",
        "--file",
        str(tmp_path / "shop.csv"),
        "--api",
        served.url,
        "--api-key",
        served.api_key(),
        "--no-progress",
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "2 added" in result.stdout and "1 rejected" in result.stdout
    assert "row 2 (own-1): price" in result.stdout
    assert httpx.get(f"{served.url}/products/own-2").status_code == 200
    assert httpx.get(f"{served.url}/products/own-1").status_code == 404


def test_restart_keeps_data_and_does_not_reindex(served: ServeProcess) -> None:
    before = httpx.get(f"{served.url}/info").json()
    served.stop()
    served.start()
    after = httpx.get(f"{served.url}/info").json()
    assert (after["products"], after["vectors"]) == (before["products"], before["vectors"])
    assert after["index_version"] == before["index_version"]  # nothing was re-indexed
    assert after["model"] == before["model"] and after["warning"] == before["warning"]
    assert served.output().count("loading the demo catalogue") == 1


def test_rate_limit_answers_429_after_the_limit() -> None:
    with shared_tmpdir("vs-serve-") as root:
        server = ServeProcess(root / "data", env={"VISUALSEARCH_RATE_LIMIT_PER_MINUTE": "5"})
        check_rate_limit(server)


def check_rate_limit(server: ServeProcess) -> None:
    server.start()
    try:
        with httpx.Client(base_url=server.url) as client:
            codes = [client.get("/products/categories").status_code for _ in range(7)]
            assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
            limited = client.get("/products/")
            assert limited.status_code == 429
            assert int(limited.headers["retry-after"]) >= 1
            assert "per minute" in limited.json()["detail"]
            # No proxy is trusted (the default), so a forged X-Forwarded-For from this loopback
            # client is not a new client: uvicorn's own proxy handling would have believed it.
            forged = [
                client.get("/products/", headers={"X-Forwarded-For": f"203.0.113.{i}"})
                for i in range(3)
            ]
            assert [r.status_code for r in forged] == [429] * 3
            for free in ("/health", "/ready", "/metrics", "/"):
                assert client.get(free).status_code == 200, free
    finally:
        server.stop()
