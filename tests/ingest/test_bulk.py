"""Bulk ingestion: files (JSON, JSON Lines, CSV, DummyJSON over HTTP), idempotence, bad rows."""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import Api
from tests.support.images import jpeg
from visualsearch.exceptions import InputError
from visualsearch.seeding import seed_local
from visualsearch.services.catalog_files import parse_catalog


def write_images(directory: Path, count: int, start: int = 0) -> list[str]:
    names = []
    for i in range(start, start + count):
        (directory / f"img-{i}.jpg").write_bytes(jpeg(seed=900 + i))
        names.append(f"img-{i}.jpg")
    return names


def rows(count: int) -> list[dict[str, object]]:
    return [
        {
            "product_id": f"b-{i}",
            "name": f"Bulk {i}",
            "price": 10 + i,
            "category": f"cat-{i % 3}",
            "brand": "Bulkco",
            "stock": i,
            "rating": 4.0,
            "description": "d",
            "warranty": "2 years",
            "image": f"img-{i}.jpg",
        }
        for i in range(count)
    ]


async def test_csv_with_a_broken_row_loads_the_others_and_is_idempotent(
    api: Api, tmp_path: Path
) -> None:
    write_images(tmp_path, 6)
    data = rows(6)
    data[2]["price"] = "not-a-price"
    data[4]["image"] = "missing.jpg"
    (tmp_path / "catalogue.csv").write_text("")
    with (tmp_path / "catalogue.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(data[0]))
        writer.writeheader()
        writer.writerows(data)

    summary = await seed_local(
        api.context, tmp_path / "catalogue.csv", batch_size=4, show_progress=False
    )
    assert (summary.added, summary.updated, summary.unchanged) == (4, 0, 0)
    reasons = {r.row: r.reason for r in summary.rejected}
    assert set(reasons) == {3, 5}
    assert "price" in reasons[3] and "missing.jpg" in reasons[5]
    assert await api.context.catalog.count() == 4 and await api.context.vectors.count() == 4

    again = await seed_local(
        api.context, tmp_path / "catalogue.csv", batch_size=4, show_progress=False
    )
    assert (again.added, again.updated, again.unchanged) == (0, 0, 4)
    assert await api.context.catalog.count() == 4 and await api.context.vectors.count() == 4
    assert len(await api.context.objects.keys("products/")) == 4

    found = await api.client.post(
        "/search", files={"file": ("q.jpg", jpeg(seed=903), "image/jpeg")}
    )
    assert found.json()["results"][0]["product_id"] == "b-3"


async def test_changed_rows_are_updated_and_resume_after_interruption(
    api: Api, tmp_path: Path
) -> None:
    write_images(tmp_path, 5)
    path = tmp_path / "catalogue.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows(3)))  # an interrupted first run: 3 of 5
    await seed_local(api.context, path, show_progress=False)
    data = rows(5)
    data[0]["price"] = 99
    path.write_text("\n".join(json.dumps(r) for r in data))
    summary = await seed_local(api.context, path, show_progress=False)
    assert (summary.added, summary.updated, summary.unchanged) == (2, 1, 2)
    assert (await api.client.get("/products/b-0")).json()["price"] == 99.0


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def http_dir(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    root = tmp_path / "www"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


async def test_dummyjson_shaped_catalogue_with_image_urls(
    api: Api, http_dir: tuple[Path, str]
) -> None:
    root, base = http_dir
    write_images(root, 2)
    products = [
        {
            "id": 1,
            "title": "Essence Mascara",
            "description": "Volume.",
            "category": "beauty",
            "price": 9.99,
            "rating": 4.94,
            "stock": 5,
            "brand": "Essence",
            "warrantyInformation": "1 month warranty",
            "thumbnail": f"{base}/img-0.jpg",
            "images": [f"{base}/img-0.jpg"],
        },
        {
            "id": 2,
            "title": "Eyeshadow",
            "description": "Palette.",
            "category": "beauty",
            "price": 19.99,
            "rating": 3.28,
            "stock": 44,
            "brand": "Glamour",
            "warrantyInformation": "None",
            "images": [f"{base}/img-1.jpg"],
        },
        {
            "id": 3,
            "title": "Gone",
            "category": "beauty",
            "price": 1,
            "thumbnail": f"{base}/nope.jpg",
        },
    ]
    path = root / "products.json"
    path.write_text(json.dumps({"products": products, "total": 3}))
    summary = await seed_local(api.context, path, show_progress=False)
    assert summary.added == 2 and [r.row for r in summary.rejected] == [3]
    assert "404" in summary.rejected[0].reason
    product = (await api.client.get("/products/1")).json()
    assert product["name"] == "Essence Mascara" and product["warranty"] == "1 month warranty"


def test_parser_reports_malformed_lines_and_rejects_unknown_formats() -> None:
    entries = list(parse_catalog('{"product_id": "a", "image": "x.jpg"}\n{oops\n[1]\n', ".jsonl"))
    assert [e.error is None for e in entries] == [True, False, False]
    with pytest.raises(Exception, match="Unknown catalogue format"):
        list(parse_catalog("", ".xml"))


async def test_bulk_api_endpoint_through_the_remote_seeder(api: Api, tmp_path: Path) -> None:
    """The endpoint behind ``seed --api`` (the CLI itself runs against a real server in tests/oneprocess)."""
    write_images(tmp_path, 3)
    path = tmp_path / "c.json"
    path.write_text(json.dumps(rows(3)))
    files = [
        (
            "catalogue",
            ("c.jsonl", "\n".join(json.dumps(r) for r in rows(3)).encode(), "application/x-ndjson"),
        )
    ]
    files += [
        ("images", (f"img-{i}.jpg", (tmp_path / f"img-{i}.jpg").read_bytes(), "image/jpeg"))
        for i in range(3)
    ]
    response = await api.client.post("/index/bulk", files=files)
    assert response.status_code == 401
    response = await api.client.post("/index/bulk", files=files, headers=api.headers)
    assert response.status_code == 200, response.text
    assert response.json()["added"] == 3
    response = await api.client.post("/index/bulk", files=files, headers=api.headers)
    assert response.json()["unchanged"] == 3


async def test_galleries_load_from_a_file_and_replace_the_set_idempotently(
    api: Api, tmp_path: Path
) -> None:
    write_images(tmp_path, 14)
    (tmp_path / "broken.jpg").write_bytes(jpeg(seed=1)[:150])
    data = rows(3)
    data[0]["images"] = ["img-10.jpg", "img-11.jpg"]  # a gallery of three
    data[1]["images"] = [f"img-{i}.jpg" for i in range(3, 14)]  # twelve with its image
    data[2]["images"] = ["img-12.jpg", "broken.jpg"]  # one corrupt: the product is rejected
    path = tmp_path / "c.json"
    path.write_text(json.dumps(data))
    summary = await seed_local(api.context, path, show_progress=False)
    assert summary.added == 1
    reasons = {r.product_id: r.reason for r in summary.rejected}
    assert "at most 10 images" in reasons["b-1"] and "Image 3 of 3" in reasons["b-2"]
    assert (await api.client.get("/products/b-2")).status_code == 404
    assert await api.context.objects.listing("products/b-2/") == {}
    product = (await api.client.get("/products/b-0")).json()
    assert len(product["images"]) == 3
    assert await api.context.vectors.images(["b-0"]) != {}
    assert len((await api.context.vectors.images(["b-0"]))["b-0"]) == 3

    again = await seed_local(api.context, path, show_progress=False)
    assert again.unchanged == 1 and again.added == 0  # same gallery: nothing re-embedded

    data[0]["images"] = ["img-10.jpg"]  # an image taken out of the gallery
    path.write_text(json.dumps(data))
    changed = await seed_local(api.context, path, show_progress=False)
    assert changed.updated == 1
    assert len((await api.context.vectors.images(["b-0"]))["b-0"]) == 2
    assert len((await api.client.get("/products/b-0")).json()["images"]) == 2


def test_dummyjson_images_are_the_gallery_after_the_thumbnail() -> None:
    text = json.dumps(
        [
            {"id": 1, "thumbnail": "t.webp", "images": ["1.webp", "2.webp", "t.webp"]},
            {"id": 2, "images": ["a.webp", "b.webp"]},
            {"id": 3, "image": "x.jpg", "images": "y.jpg|z.jpg"},
        ]
    )
    first, second, third = parse_catalog(text, ".json")
    assert first.images == ["t.webp", "1.webp", "2.webp"]
    assert second.images == ["a.webp", "b.webp"]
    assert third.images == ["x.jpg", "y.jpg", "z.jpg"]


async def test_text_vectors_are_written_for_the_loaded_products_only(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the text vectors are encoded while the galleries embed: a gallery the model refuses
    # must not leave a text vector for a product that has no row
    text = api.context.text_vector_writer()
    assert text is not None, "semantic retrieval is off in the test settings"
    write_images(tmp_path, 4)
    refused = (tmp_path / "img-2.jpg").read_bytes()
    embedding = api.context.embedding
    assert embedding is not None
    embed = embedding.embed_image

    async def picky(data: bytes) -> object:
        if data == refused:
            raise InputError("the model cannot read this image")
        return await embed(data)

    monkeypatch.setattr(embedding, "embed_image", picky)
    (tmp_path / "catalogue.json").write_text(json.dumps(rows(4)))
    summary = await seed_local(api.context, tmp_path / "catalogue.json", show_progress=False)
    assert summary.added == 3 and [r.product_id for r in summary.rejected] == ["b-2"]
    loaded = {"b-0", "b-1", "b-3"}
    assert set(await api.context.catalog.all_ids_and_images()) == loaded
    assert set(await text.vectors.all_ids()) == loaded
