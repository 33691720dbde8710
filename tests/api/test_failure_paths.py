"""Bad input and failing stores: clear errors with the right status, and nothing half-written."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.api.helpers import index, product_form, search
from tests.conftest import Api, SettingsFactory, start_api
from tests.support.images import encode, jpeg
from tests.support.servers import ManagedProcess
from visualsearch.embedding.colour import BINS
from visualsearch.imaging import ImageLimits, decode_image


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
        # 404 when the path never reaches the route; 422 when the key breaks the key pattern
        assert response.status_code in (404, 422), (path, response.status_code)
        assert b"root:" not in response.content
        assert set(response.json()) == {"detail", "code"}


async def test_text_search_works_without_text_tower(api: Api) -> None:
    # keyword (and semantic) retrieval answer text on every model; only CLIP's tower is missing
    response = await api.client.get("/search", params={"q": "red shoes"})
    assert response.status_code == 200, response.text
    visual = await api.client.get("/search", params={"q": "red shoes", "mode": "visual"})
    assert visual.status_code == 400
    assert visual.json()["code"] == "text_search_unavailable"
    for bad in ("&|!:*", "\x00", "😀 حاسوب", '"unbalanced', " "):
        answer = await api.client.get("/search", params={"q": bad})
        assert answer.status_code in (200, 400, 422), (bad, answer.text)
    assert (await api.client.get("/search", params={"q": "x" * 501})).status_code == 422
    assert (await api.client.get("/search", params={"q": "a", "mode": "nope"})).status_code == 422
    info = (await api.client.get("/info")).json()
    assert "keyword" in info["retrievers"] and "clip_text" not in info["retrievers"]
    assert (
        info["model"] == "efficientnet-lite0+colour0.25"
        and info["dim"] == 1280 + BINS
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


async def test_exif_rotation_is_applied_before_embedding(api: Api) -> None:
    """The catalogue holds the upright photo AND its sideways twin: only EXIF tells them apart."""
    base = Image.open(io.BytesIO(jpeg(seed=60, size=(120, 80))))
    await index(api, "upright", encode(base, "JPEG", quality=95))
    stored = base.rotate(-90, expand=True)  # the pixels as a phone held sideways stores them
    await index(api, "sideways", encode(stored, "JPEG", quality=95))
    exif = Image.Exif()
    exif[0x0112] = 8  # "rotate 90 CCW to display"
    tagged = encode(stored, "JPEG", exif=exif.tobytes(), quality=95)
    ranked = [r["product_id"] for r in (await search(api, tagged))["results"]]
    assert ranked[0] == "upright", ranked  # ignoring the tag would find "sideways" first


async def test_transparency_is_flattened_onto_white(api: Api) -> None:
    """A cut-out product shot matches the same product on white, not the same shape on black."""

    def square(background: tuple[int, ...], mode: str = "RGB") -> Image.Image:
        image = Image.new(mode, (96, 96), background)
        image.paste((200, 10, 10) + ((255,) if mode == "RGBA" else ()), (24, 24, 72, 72))
        return image

    await index(api, "on-white", encode(square((255, 255, 255)), "JPEG", quality=95))
    await index(api, "on-black", encode(square((0, 0, 0)), "JPEG", quality=95))
    cut_out = encode(square((0, 0, 0, 0), "RGBA"), "PNG")  # transparent black around it
    response = await post_search(api, cut_out, "t.png", "image/png")
    assert response.status_code == 200
    assert response.json()["results"][0]["product_id"] == "on-white"


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("cmyk", (255, 0, 0)), ("sixteen-bit", (117, 117, 117)), ("gif", (10, 10, 10))],
)
def test_unusual_modes_decode_to_the_right_rgb(kind: str, expected: tuple[int, int, int]) -> None:
    """CMYK, 16-bit grey and an animated GIF (first frame only) decode to the colours shown."""
    if kind == "cmyk":
        data = encode(Image.new("CMYK", (40, 40), (0, 255, 255, 0)), "TIFF")
        data = encode(Image.open(io.BytesIO(data)), "JPEG", quality=100)
    elif kind == "sixteen-bit":
        data = encode(Image.new("I;16", (40, 40), 30000), "PNG")
    else:
        frames = [Image.new("L", (30, 30), level).convert("P") for level in (10, 200)]
        buffer = io.BytesIO()
        frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
        data = buffer.getvalue()
    decoded = decode_image(data, ImageLimits(max_bytes=1 << 20, max_pixels=1 << 20))
    assert decoded.mode == "RGB"
    pixel = decoded.getpixel((decoded.width // 2, decoded.height // 2))
    assert all(abs(a - b) <= 6 for a, b in zip(pixel, expected, strict=True)), pixel


async def test_unusual_modes_are_searchable(api: Api) -> None:
    await index(api, "any", jpeg(seed=61))
    cmyk = encode(Image.new("CMYK", (40, 40), (0, 255, 255, 0)), "JPEG")
    sixteen = encode(Image.new("I;16", (40, 40), 30000), "PNG")
    frames = [Image.new("P", (30, 30), i) for i in (10, 200)]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:])
    for data, name, ctype in (
        (cmyk, "c.jpg", "image/jpeg"),
        (sixteen, "s.png", "image/png"),
        (gif.getvalue(), "a.gif", "image/gif"),
    ):
        response = await post_search(api, data, name, ctype)
        assert response.status_code == 200, (name, response.text)
        assert [r["product_id"] for r in response.json()["results"]] == ["any"]
