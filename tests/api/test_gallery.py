"""A gallery per product over HTTP: several images on POST /index, one vector each, search
listing the product once with the image that matched, limits and a corrupt image refused."""

from __future__ import annotations

from tests.api.helpers import product_form, search, wait_job
from tests.conftest import Api
from tests.support.images import jpeg, photo


async def index_gallery(api: Api, product_id: str, images: list[bytes], **extra: str) -> int:
    response = await api.client.post(
        "/index",
        headers=api.headers,
        data=product_form(product_id, **extra),
        files=[
            ("file", (f"{product_id}-{n}.jpg", data, "image/jpeg")) for n, data in enumerate(images)
        ],
    )
    if response.status_code == 202:
        await wait_job(api, response.json()["job_id"])
    return response.status_code


async def test_every_image_is_searchable_and_the_product_is_listed_once(api: Api) -> None:
    cat, coffee, rocket = (
        jpeg(photo("chelsea.png")),
        jpeg(photo("coffee.png")),
        jpeg(photo("rocket.jpg")),
    )
    assert await index_gallery(api, "mixed", [cat, coffee]) == 202
    assert await index_gallery(api, "other", [rocket]) == 202

    product = (await api.client.get("/products/mixed")).json()
    assert len(product["images"]) == 2 and product["images"][0] == product["image_url"]
    for query, matched in ((cat, 0), (coffee, 1)):  # the second image finds the product too
        body = await search(api, query)
        ids = [r["product_id"] for r in body["results"]]
        assert ids.count("mixed") == 1 and ids[0] == "mixed"
        assert body["results"][0]["matched_image_url"] == product["images"][matched]
        assert body["results"][0]["score"] > 0.99
    info = (await api.client.get("/info")).json()
    assert info["vectors"] == 3  # a vector per image

    # re-indexing with the main image only: the coffee image and its vector go
    assert await index_gallery(api, "mixed", [cat]) == 202
    product = (await api.client.get("/products/mixed")).json()
    assert len(product["images"]) == 1
    assert (
        await api.client.get(f"/images/{product['images'][0][len('/images/') :]}")
    ).status_code == 200
    assert (await api.client.get("/info")).json()["vectors"] == 2
    top = (await search(api, coffee))["results"][0]
    assert top["product_id"] != "mixed" or top["score"] < 0.99

    # deleting removes every image
    assert await index_gallery(api, "mixed", [cat, coffee]) == 202
    assert (await api.client.delete("/index/mixed", headers=api.headers)).status_code == 204
    assert (await api.client.get("/info")).json()["vectors"] == 1


async def test_eleven_images_and_a_corrupt_one_are_refused_and_nothing_is_stored(api: Api) -> None:
    images = [jpeg(seed=n) for n in range(11)]
    assert await index_gallery(api, "too-many", images) == 422
    assert await index_gallery(api, "too-many", images[:10]) == 202  # the default limit
    assert len((await api.client.get("/products/too-many")).json()["images"]) == 10

    response = await api.client.post(
        "/index",
        headers=api.headers,
        data=product_form("corrupt"),
        files=[
            ("file", ("a.jpg", jpeg(seed=1), "image/jpeg")),
            ("file", ("b.jpg", jpeg(seed=2)[:200], "image/jpeg")),  # truncated
        ],
    )
    assert response.status_code == 400, response.text
    assert "Image 2 of 2" in response.json()["detail"]
    assert (await api.client.get("/products/corrupt")).status_code == 404
    objects = await api.context.objects.listing("products/corrupt/")
    assert objects == {}
