"""POST /search with crop=x,y,w,h: only that region of the (upright) query image is embedded."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from tests.api.helpers import index
from tests.conftest import Api
from tests.support.images import encode, photo
from visualsearch.exceptions import ValidationError
from visualsearch.imaging import Crop, ImageLimits, decode_image, parse_crop

PRODUCTS = ("coffee.png", "chelsea.png", "astronaut.png", "rocket.jpg", "horse.png", "brick.png")
SIDE = (160, 160)


def shot(name: str) -> Image.Image:
    return photo(name).resize(SIDE)


def composite(left: str, right: str) -> bytes:
    """Two products side by side in one photo."""
    both = Image.new("RGB", (SIDE[0] * 2, SIDE[1]))
    both.paste(shot(left), (0, 0))
    both.paste(shot(right), (SIDE[0], 0))
    return encode(both, "JPEG", quality=92)


async def shop(api: Api) -> None:
    for name in PRODUCTS:
        await index(api, name.split(".")[0], encode(shot(name), "JPEG", quality=92))


async def post(api: Api, image: bytes, params: dict | None = None, **form: str) -> dict:
    response = await api.client.post(
        "/search", params=params, files={"file": ("q.jpg", image, "image/jpeg")}, data=form
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def first(body: dict) -> str:
    return str(body["results"][0]["product_id"])


async def test_a_crop_of_a_composite_finds_the_product_in_the_crop_first(api: Api) -> None:
    await shop(api)
    both = composite("coffee.png", "chelsea.png")
    assert first(await post(api, both, crop="0,0,0.5,1")) == "coffee"
    assert first(await post(api, both, params={"crop": "0.5,0,0.5,1"})) == "chelsea"
    # a loose box (a little of the neighbour, a margin cut) still finds the product in it
    assert first(await post(api, both, crop="0.45,0.05,0.55,0.9")) == "chelsea"
    swapped = composite("rocket.jpg", "astronaut.png")
    assert first(await post(api, swapped, crop="0.5,0,0.5,1")) == "astronaut"
    assert first(await post(api, swapped, crop="0,0,0.5,1")) == "rocket"


@pytest.mark.parametrize(
    ("crop", "says"),
    [
        ("0.1,0.2,0.3", "four numbers"),
        ("0.1,0.2,0.3,0.4,0.5", "four numbers"),
        ("a,b,c,d", "four numbers"),
        ("nan,0,0.5,0.5", "NaN"),
        ("0,0,inf,0.5", "NaN"),
        ("-0.1,0,0.5,0.5", "negative"),
        ("0,0,1.5,0.5", "above 1"),
        ("0,0,0,0.5", "zero size"),
        ("0.2,0.2,0.5,0", "zero size"),
        ("0.6,0,0.5,1", "outside the image"),
        ("0,0.5,1,0.6", "outside the image"),
    ],
)
def test_bad_crops_are_refused_saying_why(crop: str, says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        parse_crop(crop)


async def test_bad_crops_are_422_before_anything_is_embedded(api: Api) -> None:
    image = composite("coffee.png", "chelsea.png")
    files = {"file": ("q.jpg", image, "image/jpeg")}
    refused = (
        ("1,2,3", "four numbers"),
        ("a,b,c,d", "four numbers"),
        ("0.1;0.2;0.3;0.4", "four numbers"),
        ("nan,0,1,1", "NaN"),
        ("0,0,inf,1", "NaN"),
        ("-1,0,0.5,0.5", "negative"),
        ("0,0,320,160", "above 1"),  # pixels, not fractions: larger than the image
        ("0,0,0,1", "zero size"),
        ("0.5,0,0.6,1", "outside the image"),
        ("0," * 200 + "1", "at most 200 characters"),
    )
    for crop, says in refused:
        for where in ("params", "data"):
            response = await api.client.post("/search", files=files, **{where: {"crop": crop}})  # type: ignore[arg-type]
            assert response.status_code == 422, (crop, where, response.text)
            body = response.json()
            assert body["detail"].startswith("crop") and says in body["detail"], (crop, body)
            assert body["code"] == "validation_error"
    both = await api.client.post(
        "/search", params={"crop": "0,0,0.5,1"}, data={"crop": "0.5,0,0.5,1"}, files=files
    )
    assert both.status_code == 422 and "both in the query string" in both.json()["detail"]
    same = await api.client.post(
        "/search", params={"crop": "0,0,0.5,1"}, data={"crop": "0.0,0,.5,1.0"}, files=files
    )
    assert same.status_code == 200, same.text  # the same box written two ways is one box
    text_only = await api.client.post("/search", data={"q": "cat", "crop": "0,0,0.5,1"})
    assert text_only.status_code == 422


async def test_the_cache_key_includes_the_crop(api: Api) -> None:
    await shop(api)
    both = composite("coffee.png", "chelsea.png")
    left = await post(api, both, crop="0,0,0.5,1")
    assert left["cache"] is False
    assert (await post(api, both, crop="0,0,0.5,1"))["cache"] is True
    right = await post(api, both, crop="0.5,0,0.5,1")
    assert right["cache"] is False and first(right) == "chelsea"
    assert (await post(api, both))["cache"] is False


def test_the_crop_is_taken_after_the_exif_rotation() -> None:
    """The box is where the shopper saw it: on the upright image, not the stored pixels."""
    upright = shot("coffee.png").resize((120, 80))
    stored = upright.rotate(-90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 8  # "rotate 90 CCW to display"
    tagged = encode(stored, "PNG", exif=exif.tobytes())
    box = Crop(0.5, 0.0, 0.5, 0.5)
    got = decode_image(tagged, ImageLimits(10_000_000, 10_000_000), crop=box)
    want = upright.crop(box.box(*upright.size))
    assert got.size == want.size == (60, 40)
    assert got.tobytes() == want.tobytes()
    assert Image.open(io.BytesIO(tagged)).size == (80, 120)
