"""POST /search answers a suggested crop (the one object's box, found from the picture) beside
the results, and never applies it: the search is of what the shopper sent."""

from __future__ import annotations

from PIL import Image, ImageDraw

from tests.api.helpers import index
from tests.conftest import Api, SettingsFactory, start_api
from tests.support.images import encode, photo


def on_white() -> bytes:
    """A product (a real photograph's texture in an ellipse) on a white page, lower right."""
    canvas = Image.new("RGB", (480, 360), (255, 255, 255))
    texture = photo("chelsea.png").resize((200, 160))
    mask = Image.new("L", texture.size, 0)
    ImageDraw.Draw(mask).ellipse((0, 0, 199, 159), fill=255)
    canvas.paste(texture, (240, 160), mask)
    return encode(canvas, "JPEG", quality=85)


def cut_out() -> bytes:
    """A transparent PNG: an opaque object in the upper left quarter."""
    image = Image.new("RGBA", (300, 300), (0, 0, 0, 0))
    ImageDraw.Draw(image).rectangle((30, 30, 119, 149), fill=(20, 120, 60, 255))
    return encode(image, "PNG")


async def post(api: Api, image: bytes, kind: str, **params: str) -> dict:
    response = await api.client.post("/search", params=params, files={"file": ("q", image, kind)})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_search_suggests_the_object_box_and_null_for_a_photo(api: Api) -> None:
    await index(api, "cat", encode(photo("chelsea.png").resize((160, 160)), "JPEG"))
    await index(api, "coffee", encode(photo("coffee.png").resize((160, 160)), "JPEG"))

    white = await post(api, on_white(), "image/jpeg")
    box = white["suggested_crop"]
    assert box is not None and set(box) == {"x", "y", "w", "h"}
    # the ellipse spans x 240-440 of 480, y 160-320 of 360
    assert abs(box["x"] - 0.5) < 0.04 and abs(box["y"] - 0.444) < 0.04, box
    assert abs(box["w"] - 0.417) < 0.05 and abs(box["h"] - 0.444) < 0.05, box

    alpha = (await post(api, cut_out(), "image/png"))["suggested_crop"]
    assert alpha is not None and alpha["x"] < 0.11 and alpha["y"] < 0.11, alpha
    assert 0.29 < alpha["w"] < 0.34 and 0.39 < alpha["h"] < 0.44, alpha

    scene = await post(api, encode(photo("astronaut.png"), "JPEG"), "image/jpeg")
    assert "suggested_crop" in scene and scene["suggested_crop"] is None

    # a suggestion, not applied: the answer is the whole picture's, and sending the box as
    # crop= searches the box (the same suggestion comes back: it is the whole picture's)
    suggested = ",".join(str(box[k]) for k in ("x", "y", "w", "h"))
    cropped = await post(api, on_white(), "image/jpeg", crop=suggested)
    assert cropped["suggested_crop"] == box
    assert [r["score"] for r in cropped["results"]] != [r["score"] for r in white["results"]]
    again = await post(api, on_white(), "image/jpeg")
    assert again["cache"] is True and again["suggested_crop"] == box


async def test_a_text_search_has_no_suggested_crop(api: Api) -> None:
    response = await api.client.get("/search", params={"q": "cat"})
    assert response.status_code == 200, response.text
    assert response.json()["suggested_crop"] is None


async def test_auto_crop_searches_a_small_suggested_box_instead_of_the_whole_picture(
    make_settings: SettingsFactory,
) -> None:
    """VISUALSEARCH_AUTO_CROP_BELOW=0.5: a suggestion covering less than half the picture is
    what is searched when no crop was sent; a crop the shopper sent wins."""
    both = make_settings(auto_crop_below=0.5)
    api, lifespan = await start_api(both)
    try:
        await index(api, "cat", encode(photo("chelsea.png").resize((160, 160)), "JPEG"))
        await index(api, "coffee", encode(photo("coffee.png").resize((160, 160)), "JPEG"))
        query = on_white()
        auto = await post(api, query, "image/jpeg")
        box = auto["suggested_crop"]
        assert box is not None and box["w"] * box["h"] < 0.5
        crop = ",".join(str(box[k]) for k in ("x", "y", "w", "h"))
        explicit = await post(api, query, "image/jpeg", crop=crop)
        assert [r["score"] for r in auto["results"]] == [r["score"] for r in explicit["results"]]
        whole = await post(api, query, "image/jpeg", crop="0,0,1,1")  # the shopper's own box
        assert [r["score"] for r in whole["results"]] != [r["score"] for r in auto["results"]]
    finally:
        await api.client.aclose()
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]
