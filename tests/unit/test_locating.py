"""The suggested crop (visualsearch.locating): the one object's box from alpha or a plain border,
and no box where there is no single clear object."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.support.images import encode, photo
from visualsearch.imaging import Crop
from visualsearch.locating import suggest_crop
from visualsearch.query_images import PHOTO_FILES, Inputs, make_screenshot, query_rng

Box = tuple[float, float, float, float]  # left, top, right, bottom in pixels


def pixels(crop: Crop, size: tuple[int, int]) -> Box:
    w, h = size
    return (crop.x * w, crop.y * h, (crop.x + crop.w) * w, (crop.y + crop.h) * h)


def iou(a: Box, b: Box) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / area


def test_a_transparent_png_gives_the_box_of_its_opaque_pixels() -> None:
    image = Image.new("RGBA", (400, 200), (255, 255, 255, 0))
    ImageDraw.Draw(image).ellipse((240, 40, 360, 160), fill=(250, 250, 250, 255))  # white object
    crop = suggest_crop(encode(image, "PNG"))
    assert crop is not None
    assert iou(pixels(crop, image.size), (240, 40, 361, 161)) > 0.85, crop
    # the box holds the whole object and stays in the picture
    left, top, right, bottom = pixels(crop, image.size)
    assert left <= 240 and top <= 40 and right >= 360 and bottom >= 160
    assert crop.x + crop.w <= 1 and crop.y + crop.h <= 1


def test_a_palette_png_with_a_transparent_colour_counts_as_alpha() -> None:
    image = Image.new("P", (200, 200), 0)
    image.putpalette([0, 0, 0, 200, 30, 30] + [0] * 762)
    ImageDraw.Draw(image).rectangle((20, 100, 79, 179), fill=1)
    crop = suggest_crop(encode(image, "PNG", transparency=0))
    assert crop is not None
    assert iou(pixels(crop, image.size), (20, 100, 80, 180)) > 0.85, crop


def product_on(background: tuple[int, int, int], size: tuple[int, int] = (480, 360)) -> Image.Image:
    """A product shot: a textured object (a crop of a real photograph, in an ellipse) on a plain
    background with a little sensor noise, as a JPEG would carry it."""
    canvas = Image.new("RGB", size, background)
    texture = photo("coffee.png").resize((200, 160))
    mask = Image.new("L", texture.size, 0)
    ImageDraw.Draw(mask).ellipse((0, 0, 199, 159), fill=255)
    canvas.paste(texture, (220, 120), mask)
    noisy = np.asarray(canvas, dtype=np.float32) + np.random.default_rng(0).normal(
        0, 3, (360, 480, 3)
    )
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


@pytest.mark.parametrize("background", [(255, 255, 255), (236, 232, 226), (40, 60, 90)])
def test_a_product_on_a_plain_background_gives_its_box(background: tuple[int, int, int]) -> None:
    shot = product_on(background)
    crop = suggest_crop(encode(shot, "JPEG", quality=70))
    assert crop is not None, background
    assert iou(pixels(crop, shot.size), (220, 120, 420, 280)) > 0.8, crop


def test_a_screenshot_gives_the_product_picture_inside_the_page_chrome() -> None:
    """The harness's screenshot generator: header bar, navigation, text lines, price, button and
    a row of smaller thumbnails around the product's picture (a real photograph here)."""
    others = [photo(name).resize((200, 200)) for name in ("astronaut.png", "rocket.jpg")]
    inputs = Inputs(photos=(), others=others)
    for variant, name in enumerate(("chelsea.png", "coffee.png", "motorcycle_left.png")):
        query = make_screenshot(
            encode(photo(name), "JPEG"), query_rng(0, name, "screenshot", variant), inputs
        )
        assert query.box is not None
        size = Image.open(__import__("io").BytesIO(query.data)).size
        crop = suggest_crop(query.data)
        assert crop is not None, name
        assert iou(pixels(crop, size), query.box) > 0.8, (name, crop, query.box)
        assert crop.w * crop.h < 0.3  # far smaller than the page


@pytest.mark.parametrize("name", PHOTO_FILES)
def test_a_real_photograph_gets_no_suggestion(name: str) -> None:
    assert suggest_crop(encode(photo(name), "JPEG", quality=85)) is None


def test_two_products_side_by_side_get_no_suggestion() -> None:
    canvas = Image.new("RGB", (600, 300), (255, 255, 255))
    draw = ImageDraw.Draw(canvas)
    draw.ellipse((40, 60, 240, 240), fill=(200, 40, 40))
    draw.rectangle((360, 60, 560, 240), fill=(30, 90, 200))
    assert suggest_crop(encode(canvas, "PNG")) is None


def test_an_object_filling_the_picture_gets_no_suggestion() -> None:
    canvas = Image.new("RGB", (300, 300), (255, 255, 255))
    ImageDraw.Draw(canvas).rectangle((4, 4, 295, 295), fill=(30, 90, 200))
    assert suggest_crop(encode(canvas, "PNG")) is None
    opaque = Image.new("RGBA", (300, 300), (30, 90, 200, 255))  # alpha channel, all opaque
    assert suggest_crop(encode(opaque, "PNG")) is None


@pytest.mark.parametrize(
    "image",
    [
        Image.new("RGB", (8, 8), (200, 0, 0)),  # tiny
        Image.new("RGB", (1, 400), (0, 0, 0)),  # a line
        Image.new("RGB", (300, 200), (255, 255, 255)),  # blank: nothing in it
        Image.new("RGBA", (300, 200), (0, 0, 0, 0)),  # fully transparent
    ],
    ids=["tiny", "one-pixel-wide", "blank", "transparent"],
)
def test_degenerate_pictures_get_no_suggestion(image: Image.Image) -> None:
    assert suggest_crop(encode(image, "PNG")) is None


def test_a_speck_is_not_an_object() -> None:
    canvas = Image.new("RGB", (400, 400), (255, 255, 255))
    ImageDraw.Draw(canvas).rectangle((200, 200, 210, 210), fill=(0, 0, 0))
    assert suggest_crop(encode(canvas, "PNG")) is None


def test_bytes_that_are_no_picture_get_no_suggestion() -> None:
    assert suggest_crop(b"not an image at all") is None
    assert suggest_crop(encode(product_on((255, 255, 255)), "JPEG")[:200]) is None  # truncated


def test_the_box_is_in_the_upright_picture_as_the_shopper_sees_it() -> None:
    """A phone JPEG stored sideways with EXIF orientation 6 (turn 90° clockwise to view)."""
    upright = product_on((255, 255, 255))  # the object sits right of centre, low
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # as the sensor wrote it
    exif = Image.Exif()
    exif[0x0112] = 6
    crop = suggest_crop(encode(stored, "JPEG", quality=90, exif=exif.tobytes()))
    assert crop is not None
    assert iou(pixels(crop, upright.size), (220, 120, 420, 280)) > 0.8, crop
