"""Bad input and failing stores: clear errors with the right status, and nothing half-written."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.api.helpers import index, product_form, search
from tests.conftest import Api, SettingsFactory, start_api
from tests.support.images import encode, jpeg
from tests.support.servers import ManagedProcess


async def post_search(
    api: Api, data: bytes, name: str = "q.bin", ctype: str = "application/octet-stream"
):  # type: ignore[no-untyped-def]
    return await api.client.post("/search", files={"file": (name, data, ctype)})


async def test_non_image_is_415(api: Api) -> None:
    response = await post_search(
        api, b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "x.svg", "image/svg+xml"
    )
    assert response.status_code == 415
    assert "JPEG, PNG, WebP, GIF or BMP" in response.json()["detail"]
    tiff = encode(Image.new("RGB", (10, 10)), "TIFF")
    assert (await post_search(api, tiff)).status_code == 415
    html = await post_search(
        api, b"<!DOCTYPE html><html><script>alert(1)</script>", "x.png", "image/png"
    )
    assert html.status_code == 415 and "HTML" in html.json()["detail"]


async def test_bytes_that_are_no_image_are_400(api: Api) -> None:
    response = await post_search(api, b"just some text, named like a picture", "x.png", "image/png")
    assert response.status_code == 400
    assert "not an image" in response.json()["detail"]
    png = encode(Image.new("RGB", (64, 64), (1, 2, 3)), "PNG")
    assert (await post_search(api, png[:40], "cut.png", "image/png")).status_code == 400


async def test_truncated_image_is_400(api: Api) -> None:
    data = jpeg(seed=1, size=(256, 256))
    response = await post_search(api, data[: len(data) // 2])
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_image"
    assert (await post_search(api, b"")).status_code == 400


async def test_oversized_upload_is_413(make_settings: SettingsFactory) -> None:
    running, lifespan = await start_api(make_settings(max_upload_bytes=64 * 1024), worker=False)
    try:
        big = encode(Image.effect_noise((400, 400), 100).convert("RGB"), "PNG")
        assert len(big) > 64 * 1024
        response = await post_search(running, big)
        assert response.status_code == 413
        assert response.json()["code"] == "payload_too_large"
    finally:
        await running.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_decompression_bomb_is_refused(api: Api) -> None:
    bomb = encode(Image.new("1", (20_000, 20_000)), "PNG")  # 400 Mpx in a few KiB
    assert len(bomb) < 200_000
    response = await post_search(api, bomb)
    assert response.status_code == 413
    assert "pixels" in response.json()["detail"]


async def test_writes_need_the_api_key(api: Api) -> None:
    files = {"file": ("a.jpg", jpeg(seed=2), "image/jpeg")}
    missing = await api.client.post("/index", data=product_form("k1"), files=files)
    wrong = await api.client.post(
        "/index", data=product_form("k1"), files=files, headers={"X-API-Key": "nope"}
    )
    assert missing.status_code == wrong.status_code == 401
    assert await api.context.catalog.get("k1") is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("product_id", "../etc/passwd"),
        ("product_id", "a/b"),
        ("price", "-1"),
        ("rating", "7"),
        ("product_id", "x' OR 1=1 --"),
        ("category", ""),
    ],
)
async def test_invalid_product_fields_are_422(api: Api, field: str, value: str) -> None:
    form = product_form("valid-id")
    form[field] = value
    response = await api.client.post(
        "/index",
        data=form,
        files={"file": ("a.jpg", jpeg(seed=3), "image/jpeg")},
        headers=api.headers,
    )
    assert response.status_code == 422, response.text
    assert field in response.json()["detail"]
    assert await api.context.catalog.count() == 0


async def test_image_paths_cannot_escape_the_store(api: Api) -> None:
    for path in (
        "/images/../../etc/passwd",
        "/images/products/..%2F..%2Fetc%2Fpasswd",
        "/images/%2e%2e/x",
    ):
        response = await api.client.get(path)
        assert response.status_code in (400, 404), (path, response.status_code)
        assert b"root:" not in response.content


async def test_text_search_without_text_tower_is_400(api: Api) -> None:
    response = await api.client.get("/search", params={"q": "red shoes"})
    assert response.status_code == 400
    assert response.json()["code"] == "text_search_unavailable"
    info = (await api.client.get("/info")).json()
    assert (
        info["model"] == "efficientnet-lite0"
        and info["dim"] == 1280
        and info["text_search"] is False
    )


async def test_redis_down_is_503_then_recovers_without_restart(
    api: Api, redis_proc: ManagedProcess
) -> None:
    await index(api, "before", jpeg(seed=40))
    redis_proc.stop()
    try:
        response = await api.client.post(
            "/index",
            data=product_form("during"),
            headers=api.headers,
            files={"file": ("a.jpg", jpeg(seed=41), "image/jpeg")},
        )
        assert response.status_code == 503
        assert "job queue" in response.json()["detail"]
        assert response.headers["retry-after"]
        # nothing half-written: no row, no image for the refused product
        assert await api.context.catalog.get("during") is None
        assert await api.context.objects.keys("products/during/") == []
        # search still answers (the cache degrades to misses)
        assert (await search(api, jpeg(seed=40)))["results"][0]["product_id"] == "before"
        ready = await api.client.get("/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["queue"] != "ok"
    finally:
        redis_proc.start()
    # the stream and its consumer group are gone with the restart: both recover by themselves
    await index(api, "after", jpeg(seed=42))
    assert (await api.client.get("/ready")).status_code == 200


async def test_s3_down_during_index_writes_nothing(api: Api, s3_proc: ManagedProcess) -> None:
    s3_proc.stop()
    try:
        response = await api.client.post(
            "/index",
            data=product_form("s3-down"),
            headers=api.headers,
            files={"file": ("a.jpg", jpeg(seed=50), "image/jpeg")},
        )
        assert response.status_code == 503
        assert "object store" in response.json()["detail"]
        assert await api.context.catalog.get("s3-down") is None
        assert await api.context.queue.pending() == 0
    finally:
        s3_proc.start()
    await index(api, "s3-down", jpeg(seed=50))
    assert (await api.client.get("/products/s3-down")).status_code == 200


async def test_exif_rotation_and_transparency_are_handled(api: Api) -> None:
    base = Image.open(io.BytesIO(jpeg(seed=60, size=(120, 80))))
    await index(api, "oriented", encode(base, "JPEG"))
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": the stored pixels are the rotated-back image
    rotated = encode(base.rotate(90, expand=True), "JPEG", exif=exif.tobytes(), quality=95)
    assert (await search(api, rotated))["results"][0]["product_id"] == "oriented"
    rgba = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    rgba.paste((200, 10, 10, 255), (16, 16, 48, 48))
    assert (await post_search(api, encode(rgba, "PNG"), "t.png", "image/png")).status_code == 200
    cmyk = encode(Image.new("CMYK", (40, 40), (0, 255, 255, 0)), "JPEG")
    assert (await post_search(api, cmyk, "c.jpg", "image/jpeg")).status_code == 200
    sixteen = encode(Image.new("I;16", (40, 40), 30000), "PNG")
    assert (await post_search(api, sixteen, "s.png", "image/png")).status_code == 200
    frames = [Image.new("P", (30, 30), i) for i in (10, 200)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])
    assert (await post_search(api, gif.getvalue(), "a.gif", "image/gif")).status_code == 200
