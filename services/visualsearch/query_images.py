"""Query images for the search-quality harness: what shoppers send, made from catalogue images.

Each kind of query has one generator: a pure function of the product's image, a seeded random
generator and a few shared inputs (real photographs, other catalogue images). The same seed gives
the same bytes, so a run can be repeated and two variants of the model compared on identical
queries. Generators return the encoded JPEG (what is uploaded) and, where the product was placed
in a larger picture, the box it occupies (tests check the product is really there).

Kinds (see docs/search-quality.md):

- ``self``: the catalogue's own file, unchanged (the sanity row: it must come first).
- ``photo``: the product cut out of its studio background and pasted on a real photograph
  (scikit-image's sample photos), at 30-55 % of the picture's shorter side, anywhere.
- ``screenshot``: the product image (with its background, as shops show it) inside a web page:
  header bar, navigation, text lines, price, and 3-6 other catalogue images around it.
- ``phone``: a phone photo of the product image: perspective, a surround, blur, a glare spot,
  a colour cast, sensor noise and JPEG at quality 25-50.
- ``thumbnail``: the image shrunk to 28-56 px, enlarged again to its size (an upscaled thumbnail).
- ``crop``: a window of 50-75 % of the image's side that covers part of the product.
- ``rotated``: mirrored, turned by 90/180/270 degrees, or rotated by 8-30 degrees (the corners
  filled with the background colour).
- ``background``: the product cut out and put on a different, plain or two-tone background.
- ``view``: not generated: the catalogue's own further images of the product (its gallery's
  second views), each one query (``CATALOGUE_KINDS``; the harness indexes main images only, so
  the view is not in the index it searches).

The cut-out (``product_mask``) takes the background to be the colour of the image's border (the
demo's images, like most shop images, are studio shots on a plain or softly graded background):
pixels far from the border colour of their row and column are the product.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

GENERATED_KINDS = (
    "self",
    "photo",
    "screenshot",
    "phone",
    "thumbnail",
    "crop",
    "rotated",
    "background",
)
# kinds whose queries are catalogue images themselves, not made by a generator
CATALOGUE_KINDS = ("view",)
KINDS = GENERATED_KINDS + CATALOGUE_KINDS

# scikit-image's colour photographs of real scenes (files of its data folder)
PHOTO_FILES = (
    "astronaut.png",
    "chelsea.png",
    "coffee.png",
    "rocket.jpg",
    "motorcycle_left.png",
    "hubble_deep_field.jpg",
    "retina.jpg",
    "color.png",
    "brick.png",
    "grass.png",
    "gravel.png",
)
Box = tuple[int, int, int, int]  # left, top, right, bottom in the query image's pixels


@dataclass(frozen=True)
class Generated:
    data: bytes  # the encoded query (JPEG), exactly what is uploaded
    box: Box | None = None  # where the product image sits in it, where it was placed


@dataclass(frozen=True)
class Inputs:
    """What generators share: real photographs and other catalogue images (for pages)."""

    photos: Sequence[Image.Image]
    others: Sequence[Image.Image]


Generator = Callable[[bytes, np.random.Generator, Inputs], Generated]


def query_rng(seed: int, product_id: str, kind: str, variant: int) -> np.random.Generator:
    """The generator of one query: fixed by the seed, the product, the kind and the variant
    alone, so a query does not change when others are added (``--limit``, ``--kinds``)."""
    words = [seed, zlib.crc32(product_id.encode()), zlib.crc32(kind.encode()), variant]
    return np.random.default_rng(words)


@lru_cache(maxsize=1)
def load_photos() -> tuple[Image.Image, ...]:
    """scikit-image's sample photographs as RGB images (scikit-image is a dev dependency)."""
    try:
        import skimage
    except ImportError as exc:  # pragma: no cover - the dev extras install it
        raise RuntimeError(
            "the 'photo' and 'phone' queries need scikit-image's sample photographs: "
            "pip install 'visualsearch[dev]' (or scikit-image)"
        ) from exc
    folder = Path(skimage.__file__).parent / "data"
    return tuple(Image.open(folder / name).convert("RGB") for name in PHOTO_FILES)


def generate(kind: str, data: bytes, rng: np.random.Generator, inputs: Inputs) -> Generated:
    if kind not in GENERATORS:
        raise ValueError(
            f"no generator for query kind {kind!r}; choose from {', '.join(GENERATED_KINDS)}"
        )
    return GENERATORS[kind](data, rng, inputs)


# -- helpers ---------------------------------------------------------------------------------


def decode(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as image:
        return ImageOps.exif_transpose(image).convert("RGB")


def encode(image: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def border_colour(image: Image.Image) -> tuple[int, int, int]:
    """The median colour of the image's outer 3-pixel frame."""
    pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    frame = np.concatenate(
        [
            pixels[:3].reshape(-1, 3),
            pixels[-3:].reshape(-1, 3),
            pixels[:, :3].reshape(-1, 3),
            pixels[:, -3:].reshape(-1, 3),
        ]
    )
    r, g, b = (int(v) for v in np.median(frame, axis=0))
    return r, g, b


def product_mask(image: Image.Image, threshold: float = 30.0) -> Image.Image:
    """An 8-bit mask of the product: 255 where a pixel differs from the background.

    The background is estimated per row and per column from the border (a soft gradient
    stays background); small specks are removed and the edge is softened by one pixel.
    """
    pixels = np.asarray(image.convert("RGB"), dtype=np.float32)
    left, right = pixels[:, :3].mean(axis=1), pixels[:, -3:].mean(axis=1)
    top, bottom = pixels[:3].mean(axis=0), pixels[-3:].mean(axis=0)
    h, w = pixels.shape[:2]
    fx = np.linspace(0.0, 1.0, w)[None, :, None]
    fy = np.linspace(0.0, 1.0, h)[:, None, None]
    rows = left[:, None, :] * (1 - fx) + right[:, None, :] * fx
    cols = top[None, :, :] * (1 - fy) + bottom[None, :, :] * fy
    background = (rows + cols) / 2
    distance = np.sqrt(((pixels - background) ** 2).sum(axis=2))
    mask = Image.fromarray(np.where(distance > threshold, 255, 0).astype(np.uint8))
    mask = mask.filter(ImageFilter.MinFilter(3)).filter(ImageFilter.MaxFilter(3))
    return mask.filter(ImageFilter.GaussianBlur(1))


def product_box(mask: Image.Image) -> Box:
    box = mask.point(lambda v: 255 if v > 127 else 0).getbbox()
    return box or (0, 0, mask.width, mask.height)


def cut_out(image: Image.Image) -> tuple[Image.Image, Image.Image]:
    """The product's bounding-box crop and its mask (same size)."""
    mask = product_mask(image)
    box = product_box(mask)
    return image.crop(box), mask.crop(box)


def random_crop(photo: Image.Image, size: tuple[int, int], rng: np.random.Generator) -> Image.Image:
    """A region of ``photo`` with the aspect of ``size``, covering 50-100 % of its side."""
    w, h = size
    scale = min(photo.width / w, photo.height / h) * float(rng.uniform(0.5, 1.0))
    cw, ch = max(1, int(w * scale)), max(1, int(h * scale))
    x = int(rng.integers(0, photo.width - cw + 1))
    y = int(rng.integers(0, photo.height - ch + 1))
    return photo.crop((x, y, x + cw, y + ch)).resize(size, Image.Resampling.BILINEAR)


def pick(items: Sequence[Image.Image], rng: np.random.Generator) -> Image.Image:
    return items[int(rng.integers(0, len(items)))]


# -- generators ------------------------------------------------------------------------------


def make_self(data: bytes, rng: np.random.Generator, inputs: Inputs) -> Generated:
    return Generated(data)


def make_photo(data: bytes, rng: np.random.Generator, inputs: Inputs) -> Generated:
    image = decode(data)
    product, mask = cut_out(image)
    size = (640, 480) if rng.random() < 0.5 else (480, 640)
    canvas = random_crop(pick(inputs.photos, rng), size, rng)
    target = float(rng.uniform(0.30, 0.55)) * min(size)
    scale = target / max(product.width, product.height)
    pw, ph = max(1, round(product.width * scale)), max(1, round(product.height * scale))
    product = product.resize((pw, ph), Image.Resampling.LANCZOS)
    mask = mask.resize((pw, ph), Image.Resampling.BILINEAR)
    x = int(rng.integers(0, size[0] - pw + 1))
    y = int(rng.integers(0, size[1] - ph + 1))
    canvas.paste(product, (x, y), mask)
    return Generated(encode(canvas, int(rng.integers(75, 92))), (x, y, x + pw, y + ph))


PAGE_INK = (40, 40, 48)


def _text_lines(
    draw: ImageDraw.ImageDraw, box: Box, rng: np.random.Generator, words: bool = True
) -> None:
    """Lines of grey 'words' (short bars, as a page's text looks at screenshot scale)."""
    left, top, right, bottom = box
    y = top
    while y + 8 <= bottom:
        x = left
        end = right - int(rng.integers(0, max(1, (right - left) // 3)))
        while x < end:
            length = int(rng.integers(12, 48)) if words else end - x
            shade = int(rng.integers(90, 150))
            draw.rectangle((x, y, min(x + length, end), y + 6), fill=(shade, shade, shade + 6))
            x += length + 6
        y += 14


def make_screenshot(data: bytes, rng: np.random.Generator, inputs: Inputs) -> Generated:
    width = 900
    side = int(rng.integers(280, 401))  # the product's picture, left or right of its text
    header = int(rng.integers(48, 72))
    py = header + int(rng.integers(40, 80))
    count = min(len(inputs.others), int(rng.integers(3, 7)))  # "you may also like" below
    thumb = min(160, (width - 60 - (count - 1) * 16) // max(count, 1))
    ty = py + side + 50
    height = ty + thumb + 50 if count else py + side + 40
    page = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(page)
    hue = tuple(int(v) for v in rng.integers(20, 200, 3))
    draw.rectangle((0, 0, width, header), fill=hue)
    draw.rectangle((16, 12, 130, header - 12), fill=(250, 250, 250))  # logo
    for i in range(int(rng.integers(3, 6))):  # navigation
        x = 180 + i * 90
        draw.rectangle((x, header // 2 - 4, x + 60, header // 2 + 4), fill=(235, 235, 235))
    draw.rectangle((620, 14, width - 20, header - 14), outline=(240, 240, 240), width=2)  # search

    left = bool(rng.random() < 0.6)
    px = 30 if left else width - 30 - side
    product = decode(data).resize((side, side), Image.Resampling.LANCZOS)
    page.paste(product, (px, py))
    text_left = px + side + 30 if left else 30
    text_right = width - 30 if left else px - 30
    draw.rectangle((text_left, py, text_left + 260, py + 16), fill=PAGE_INK)  # title
    draw.rectangle((text_left, py + 34, text_left + 90, py + 52), fill=(200, 40, 40))  # price
    _text_lines(draw, (text_left, py + 74, text_right, py + side - 60), rng)
    draw.rectangle((text_left, py + side - 40, text_left + 160, py + side), fill=hue)  # button

    draw.rectangle((30, ty - 30, 230, ty - 16), fill=PAGE_INK)
    for i in range(count):
        other = inputs.others[int(rng.integers(0, len(inputs.others)))]
        tx = 30 + i * (thumb + 16)
        page.paste(other.resize((thumb, thumb), Image.Resampling.BILINEAR), (tx, ty))
        _text_lines(draw, (tx, ty + thumb + 8, tx + thumb, ty + thumb + 30), rng)
    return Generated(encode(page, int(rng.integers(80, 95))), (px, py, px + side, py + side))


def make_phone(data: bytes, rng: np.random.Generator, inputs: Inputs) -> Generated:
    image = decode(data)
    size = 480
    surround = random_crop(pick(inputs.photos, rng), (size, size), rng)
    surround = surround.filter(ImageFilter.GaussianBlur(3))
    # the product image occupies 60-85 % of the frame, seen at an angle
    side = int(size * float(rng.uniform(0.60, 0.85)))
    x0 = int(rng.integers(0, size - side + 1))
    y0 = int(rng.integers(0, size - side + 1))
    jitter = side * 0.12
    corners = np.array(
        [[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side]], dtype=np.float64
    ) + rng.uniform(-jitter, jitter, (4, 2))
    coeffs = _perspective_coefficients(
        corners, [(0, 0), (image.width, 0), (image.width, image.height), (0, image.height)]
    )
    warped = image.transform(
        (size, size), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BICUBIC
    )
    inside = Image.new("L", image.size, 255).transform(
        (size, size), Image.Transform.PERSPECTIVE, coeffs, Image.Resampling.BILINEAR
    )
    surround.paste(warped, (0, 0), inside)
    shot = surround.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.8, 2.2))))

    pixels: np.ndarray = np.asarray(shot, dtype=np.float32)
    pixels = pixels * rng.uniform(0.85, 1.15, 3)[None, None, :]  # colour cast / white balance
    pixels = pixels * float(rng.uniform(0.8, 1.1))  # exposure
    gy, gx = np.mgrid[0:size, 0:size].astype(np.float32)
    cx, cy = rng.uniform(0.2, 0.8, 2) * size
    radius = float(rng.uniform(0.10, 0.25)) * size
    glare = np.exp(-((gx - cx) ** 2 + (gy - cy) ** 2) / (2 * radius**2))
    pixels = pixels + float(rng.uniform(90, 170)) * glare[:, :, None]
    pixels = pixels + rng.normal(0.0, float(rng.uniform(3, 8)), pixels.shape)
    shot = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
    return Generated(encode(shot, int(rng.integers(25, 51))))


def _perspective_coefficients(
    destination: np.ndarray, source: Sequence[tuple[float, float]]
) -> tuple[float, ...]:
    """PIL's PERSPECTIVE data mapping output pixels (``destination`` corners) to the input's."""
    rows = []
    for (x, y), (u, v) in zip(destination, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    a = np.array(rows, dtype=np.float64)
    b = np.array([c for point in source for c in point], dtype=np.float64)
    return tuple(float(c) for c in np.linalg.solve(a, b))


def make_thumbnail(data: bytes, rng: np.random.Generator, inputs: Inputs) -> Generated:
    image = decode(data)
    small = int(rng.integers(28, 57))
    thumb = image.resize((small, small), Image.Resampling.BILINEAR)
    thumb = decode(encode(thumb, int(rng.integers(60, 85))))  # thumbnails are JPEGs too
    return Generated(encode(thumb.resize(image.size, Image.Resampling.BILINEAR), 90))


def make_crop(data: bytes, rng: np.random.Generator, inputs: Inputs) -> Generated:
    image = decode(data)
    left, top, right, bottom = product_box(product_mask(image))
    side = int(min(image.size) * float(rng.uniform(0.50, 0.75)))
    # the window's centre lies inside the product's box, so the crop shows part of it
    cx = float(rng.uniform(left, right))
    cy = float(rng.uniform(top, bottom))
    x = int(np.clip(cx - side / 2, 0, image.width - side))
    y = int(np.clip(cy - side / 2, 0, image.height - side))
    crop = image.crop((x, y, x + side, y + side)).resize(image.size, Image.Resampling.BICUBIC)
    return Generated(encode(crop, 90))


def make_rotated(data: bytes, rng: np.random.Generator, inputs: Inputs) -> Generated:
    image = decode(data)
    choice = int(rng.integers(0, 3))
    if choice == 0:
        turned = ImageOps.mirror(image)
    elif choice == 1:
        turned = image.rotate(int(rng.choice([90, 180, 270])), expand=True)
    else:
        angle = float(rng.uniform(8, 30)) * (1 if rng.random() < 0.5 else -1)
        turned = image.rotate(
            angle, Image.Resampling.BICUBIC, expand=False, fillcolor=border_colour(image)
        )
    return Generated(encode(turned, 90))


def make_background(data: bytes, rng: np.random.Generator, inputs: Inputs) -> Generated:
    image = decode(data)
    mask = product_mask(image)
    old = np.array(border_colour(image), dtype=np.float64)
    # a colour at least 120 away (RGB distance) from the old background
    for _ in range(50):
        colour = rng.integers(0, 256, 3)
        if np.linalg.norm(colour - old) >= 120:
            break
    top = tuple(int(c) for c in colour)
    canvas = Image.new("RGB", image.size, top)
    if rng.random() < 0.4:  # two-tone: a floor of a darker shade
        floor = tuple(int(c * 0.75) for c in colour)
        horizon = int(image.height * float(rng.uniform(0.55, 0.8)))
        ImageDraw.Draw(canvas).rectangle((0, horizon, image.width, image.height), fill=floor)
    canvas.paste(image, (0, 0), mask)
    return Generated(encode(canvas, 90), (0, 0, image.width, image.height))


GENERATORS: dict[str, Generator] = {
    "self": make_self,
    "photo": make_photo,
    "screenshot": make_screenshot,
    "phone": make_phone,
    "thumbnail": make_thumbnail,
    "crop": make_crop,
    "rotated": make_rotated,
    "background": make_background,
}
