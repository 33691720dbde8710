"""Turn one transparent emoji render into an opaque, studio-style product photo.

A product photo here is: a light background (plain, linear or radial gradient), a soft drop
shadow, and the object recoloured (hue rotation), scaled, placed, slightly rotated and possibly
mirrored. Alpha is flattened onto the background on purpose, never dropped, so edges stay clean.
Every choice comes from a ``Look`` drawn by the caller from a seeded RNG, so output is
deterministic.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps

SIZE = 320


@dataclass(frozen=True)
class Look:
    """Every visual choice for one product image."""

    hue_degrees: float
    saturation: float
    background: str  # "plain" | "vertical" | "diagonal" | "radial"
    colour_a: tuple[int, int, int]
    colour_b: tuple[int, int, int]
    scale: float  # longest side of the object, as a fraction of the canvas
    offset: tuple[float, float]  # centre offset, fraction of the free margin (-1..1)
    rotation: float  # degrees, counter-clockwise
    mirror: bool
    shadow: float  # shadow opacity 0..1


def load_emoji(path: Path, crop: tuple[int, int, int, int] | None) -> Image.Image:
    """Open a render as RGBA, optionally keep only ``crop``, and trim to the visible pixels."""
    with Image.open(path) as src:
        image = src.convert("RGBA")
    if crop is not None:
        image = image.crop(crop)
    bbox = image.getchannel("A").point(lambda a: 255 if a > 8 else 0).getbbox()
    return image.crop(bbox) if bbox else image


def with_accent(obj: Image.Image, accent: Image.Image, share: float = 0.45) -> Image.Image:
    """``obj`` with ``accent`` (scaled to ``share`` of its longest side) at its lower right."""
    factor = share * max(obj.size) / max(accent.size)
    accent = accent.resize(
        (max(1, round(accent.width * factor)), max(1, round(accent.height * factor))),
        Image.Resampling.LANCZOS,
    )
    width = obj.width + accent.width // 2
    height = obj.height + accent.height // 3
    canvas = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    canvas.alpha_composite(obj, (0, 0))
    canvas.alpha_composite(accent, (width - accent.width, height - accent.height))
    return canvas


def recolour(image: Image.Image, hue_degrees: float, saturation: float) -> Image.Image:
    """Rotate the hue and scale the saturation of an RGBA image, keeping its alpha."""
    alpha = image.getchannel("A")
    hsv = np.asarray(image.convert("RGB").convert("HSV")).astype(np.int32)
    hsv[..., 0] = (hsv[..., 0] + round(hue_degrees / 360 * 256)) % 256
    hsv[..., 1] = np.clip(hsv[..., 1] * saturation, 0, 255)
    rgb = Image.fromarray(hsv.astype(np.uint8), "HSV").convert("RGB")
    out = rgb.convert("RGBA")
    out.putalpha(alpha)
    return out


def background(look: Look, size: int = SIZE) -> Image.Image:
    """Paint the opaque background: a plain colour or a gradient between two light colours."""
    a = np.array(look.colour_a, dtype=np.float32)
    b = np.array(look.colour_b, dtype=np.float32)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32) / (size - 1)
    if look.background == "plain":
        t = np.zeros_like(xs)
    elif look.background == "vertical":
        t = ys
    elif look.background == "diagonal":
        t = (xs + ys) / 2
    else:  # radial: light centre, the second colour towards the corners
        t = np.clip(np.hypot(xs - 0.5, ys - 0.45) / 0.75, 0, 1)
    pixels = a[None, None, :] * (1 - t[..., None]) + b[None, None, :] * t[..., None]
    return Image.fromarray(np.round(pixels).astype(np.uint8), "RGB").convert("RGBA")


def place(obj: Image.Image, look: Look, size: int = SIZE) -> tuple[Image.Image, tuple[int, int]]:
    """Mirror, rotate and scale the object; return it with its top-left corner on the canvas."""
    if look.mirror:
        obj = ImageOps.mirror(obj)
    obj = obj.rotate(look.rotation, resample=Image.Resampling.BICUBIC, expand=True)
    side = max(obj.size)
    factor = look.scale * size / side
    scaled = (max(1, round(obj.width * factor)), max(1, round(obj.height * factor)))
    obj = obj.resize(scaled, Image.Resampling.LANCZOS)
    free_x, free_y = size - obj.width, size - obj.height
    x = round(free_x / 2 * (1 + look.offset[0]))
    y = round(free_y / 2 * (1 + look.offset[1]))
    return obj, (x, y)


def shadow(obj: Image.Image, opacity: float) -> Image.Image:
    """A soft grey shadow with the object's silhouette, to sit under and behind it."""
    alpha = obj.getchannel("A").point(lambda a: round(a * opacity))
    layer = Image.new("RGBA", obj.size, (40, 40, 50, 0))
    layer.putalpha(alpha)
    return layer.filter(ImageFilter.GaussianBlur(radius=max(2, obj.width // 40)))


def compose(
    source: Image.Image, look: Look, size: int = SIZE
) -> tuple[Image.Image, tuple[int, int, int, int]]:
    """The opaque ``size`` x ``size`` photo (RGBA) and the object's box on it."""
    coloured = recolour(source, look.hue_degrees, look.saturation)
    obj, (x, y) = place(coloured, look, size)
    canvas = background(look, size)
    dx, dy = max(2, obj.width // 35), max(3, obj.height // 25)
    canvas.alpha_composite(shadow(obj, look.shadow), (min(x + dx, size - 1), min(y + dy, size - 1)))
    canvas.alpha_composite(obj, (x, y))
    return canvas, (x, y, x + obj.width, y + obj.height)


def render(source: Image.Image, look: Look) -> Image.Image:
    """Compose the final opaque RGB product photo of ``SIZE`` x ``SIZE`` pixels."""
    return compose(source, look)[0].convert("RGB")


def close_up(
    source: Image.Image, look: Look, zoom: float, shift: tuple[float, float]
) -> Image.Image:
    """The same photo seen closer: ``look`` drawn ``zoom`` times larger, then the ``SIZE`` x
    ``SIZE`` window around the object's centre (moved by ``shift``, fractions of ``SIZE``) kept.

    Drawn large rather than enlarged from the photo, so the close-up is as sharp as the source
    render allows; the window stays inside the canvas, so the edges of a large object are cut.
    """
    size = round(SIZE * zoom)
    canvas, (left, top, right, bottom) = compose(source, look, size)
    x = round((left + right) / 2 + shift[0] * SIZE - SIZE / 2)
    y = round((top + bottom) / 2 + shift[1] * SIZE - SIZE / 2)
    x, y = min(max(x, 0), size - SIZE), min(max(y, 0), size - SIZE)
    return canvas.crop((x, y, x + SIZE, y + SIZE)).convert("RGB")


def pastel(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    """An RGB colour from HSV fractions (used for the light backgrounds)."""
    r, g, b = colorsys.hsv_to_rgb(hue % 1.0, saturation, value)
    return round(r * 255), round(g * 255), round(b * 255)


def dominant_colour(image: Image.Image) -> tuple[float, float, float]:
    """Mean hue (0..1, circular), saturation and value of the object's coloured pixels.

    Used to name the colourway after what the image actually shows.
    """
    alpha = np.asarray(image.getchannel("A")) > 128
    hsv = np.asarray(image.convert("RGB").convert("HSV")).astype(np.float32) / 255.0
    pixels = hsv[alpha]
    if pixels.size == 0:
        return 0.0, 0.0, 1.0
    coloured = pixels[pixels[:, 1] > 0.25]
    value = float(pixels[:, 2].mean())
    if len(coloured) < 0.15 * len(pixels):
        return 0.0, float(pixels[:, 1].mean()), value
    angles = coloured[:, 0] * 2 * np.pi
    weights = coloured[:, 1]
    hue = float(np.arctan2((np.sin(angles) * weights).sum(), (np.cos(angles) * weights).sum()))
    return (hue / (2 * np.pi)) % 1.0, float(coloured[:, 1].mean()), value
