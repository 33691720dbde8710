"""The query generators: seeded (same seed, same bytes) and the product really is in the query."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from visualsearch import query_images as qi
from visualsearch.seeding import DEMO_CATALOG

DEMO_IMAGES = sorted((DEMO_CATALOG.parent / "images").glob("demo-????.jpg"))  # main images


def image_bytes(path: Path) -> bytes:
    return path.read_bytes()


@pytest.fixture(scope="module")
def inputs() -> qi.Inputs:
    others = [qi.decode(p.read_bytes()) for p in DEMO_IMAGES[100:106]]
    return qi.Inputs(qi.load_photos(), others)


def decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32)


def studio_shot() -> Image.Image:
    """A red disc on a pale, softly graded background (a product with a known shape)."""
    ramp = np.linspace(235, 250, 320, dtype=np.float32)
    background = np.stack([np.tile(ramp, (320, 1))] * 3, axis=2).astype(np.uint8)
    image = Image.fromarray(background)
    ImageDraw.Draw(image).ellipse((100, 80, 220, 200), fill=(200, 30, 40))
    return image


@pytest.mark.parametrize("kind", qi.GENERATED_KINDS)
def test_same_seed_same_bytes_other_seed_other_bytes(kind: str, inputs: qi.Inputs) -> None:
    data = image_bytes(DEMO_IMAGES[0])
    first = qi.generate(kind, data, qi.query_rng(7, "demo-0001", kind, 0), inputs)
    again = qi.generate(kind, data, qi.query_rng(7, "demo-0001", kind, 0), inputs)
    assert first == again
    Image.open(io.BytesIO(first.data)).verify()  # an image the API accepts
    if kind != "self":
        # other seeds give other queries (a mirror is one of them, so some may coincide)
        variants = {
            qi.generate(kind, data, qi.query_rng(seed, "demo-0001", kind, 0), inputs).data
            for seed in range(8, 14)
        }
        assert len(variants | {first.data}) >= 3


def test_self_is_the_catalogue_file(inputs: qi.Inputs) -> None:
    data = image_bytes(DEMO_IMAGES[3])
    assert qi.generate("self", data, qi.query_rng(0, "x", "self", 0), inputs).data == data


def test_the_mask_finds_the_product_on_a_graded_background() -> None:
    mask = np.asarray(qi.product_mask(studio_shot())) > 127
    assert mask[140, 160] and not mask[20, 20] and not mask[300, 300]
    left, top, right, bottom = qi.product_box(qi.product_mask(studio_shot()))
    assert abs(left - 100) <= 3 and abs(top - 80) <= 3
    assert abs(right - 221) <= 3 and abs(bottom - 201) <= 3


def test_screenshot_shows_the_product_image_in_its_box(inputs: qi.Inputs) -> None:
    for path in DEMO_IMAGES[:3]:
        data = image_bytes(path)
        made = qi.generate("screenshot", data, qi.query_rng(1, path.stem, "screenshot", 0), inputs)
        assert made.box is not None
        left, top, right, bottom = made.box
        page = decoded(made.data)
        product = np.asarray(
            qi.decode(data).resize((right - left, bottom - top), Image.Resampling.LANCZOS),
            dtype=np.float32,
        )
        assert np.abs(page[top:bottom, left:right] - product).mean() < 6
        # and it is a page: the product fills well under half of it
        assert (right - left) * (bottom - top) < 0.4 * page.shape[0] * page.shape[1]


def test_photo_query_has_the_products_pixels_on_a_real_photograph(inputs: qi.Inputs) -> None:
    for path in DEMO_IMAGES[:3]:
        data = image_bytes(path)
        made = qi.generate("photo", data, qi.query_rng(2, path.stem, "photo", 0), inputs)
        assert made.box is not None
        left, top, right, bottom = made.box
        product, mask = qi.cut_out(qi.decode(data))
        size = (right - left, bottom - top)
        expected = np.asarray(product.resize(size, Image.Resampling.LANCZOS), dtype=np.float32)
        solid = np.asarray(mask.resize(size, Image.Resampling.BILINEAR)) > 250
        region = decoded(made.data)[top:bottom, left:right]
        assert solid.mean() > 0.2  # the product covers much of its box
        assert np.abs(region[solid] - expected[solid]).mean() < 10
        # outside the box it is the photograph, not the studio background
        whole = decoded(made.data)
        outside = np.ones(whole.shape[:2], bool)
        outside[top:bottom, left:right] = False
        studio = np.array(qi.border_colour(qi.decode(data)), dtype=np.float32)
        assert np.abs(whole[outside] - studio).mean() > 20


def test_background_keeps_the_product_and_changes_the_rest(inputs: qi.Inputs) -> None:
    image = studio_shot()
    data = qi.encode(image, 95)
    made = qi.generate("background", data, qi.query_rng(3, "disc", "background", 0), inputs)
    pixels = decoded(made.data)
    assert np.abs(pixels[140, 160] - np.array([200, 30, 40])).max() < 20  # the disc
    assert np.linalg.norm(pixels[10, 10] - np.array([235, 235, 235])) > 60  # new background


def test_thumbnail_and_crop_keep_the_size_and_lose_detail_or_field(inputs: qi.Inputs) -> None:
    data = image_bytes(DEMO_IMAGES[5])
    original = decoded(data)
    for kind in ("thumbnail", "crop"):
        made = qi.generate(kind, data, qi.query_rng(4, "p", kind, 0), inputs)
        query = decoded(made.data)
        assert query.shape == original.shape
        assert np.abs(query - original).mean() > 2  # not the same picture


@pytest.mark.parametrize("kind", ["selfie", *qi.CATALOGUE_KINDS])
def test_a_kind_without_a_generator_is_refused(kind: str, inputs: qi.Inputs) -> None:
    """An unknown kind, and 'view' (its queries are catalogue images, not generated)."""
    with pytest.raises(ValueError, match=f"no generator for query kind '{kind}'"):
        qi.generate(kind, b"", qi.query_rng(0, "p", kind, 0), inputs)
