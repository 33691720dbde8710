"""Decoding of uploaded images: format checks, limits, orientation and colour normalisation.

Everything here is CPU work: callers run it on a thread (``asyncio.to_thread``), never on the
event loop.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from visualsearch.exceptions import (
    ImageTooLargeError,
    InvalidImageError,
    UnsupportedMediaError,
    ValidationError,
)

SUPPORTED_FORMATS = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "BMP": "image/bmp",
}
BACKGROUND = (255, 255, 255)


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int
    max_pixels: int
    max_images: int = 10  # per product (its gallery)


CROP_SLACK = 1e-6
"""How far past the edge a box may reach from float rounding (a client's 0.1 + 0.9)."""


@dataclass(frozen=True)
class Crop:
    """A region of the (upright) image as fractions of its width and height, all in [0, 1]."""

    x: float
    y: float
    w: float
    h: float

    def __str__(self) -> str:
        return ",".join(f"{v:g}" for v in (self.x, self.y, self.w, self.h))

    def box(self, width: int, height: int) -> tuple[int, int, int, int]:
        """The pixel box (left, top, right, bottom) in a ``width`` x ``height`` image, at least
        one pixel each way."""
        left = min(round(self.x * width), width - 1)
        top = min(round(self.y * height), height - 1)
        right = max(min(round((self.x + self.w) * width), width), left + 1)
        bottom = max(min(round((self.y + self.h) * height), height), top + 1)
        return left, top, right, bottom


def parse_crop(raw: str | None) -> Crop | None:
    """``x,y,w,h`` (fractions of the image) → a :class:`Crop`; a :class:`ValidationError` (422)
    says what is wrong. ``None`` or an empty value: the whole image."""
    if raw is None or not raw.strip():
        return None
    parts = [p.strip() for p in raw.split(",")]
    usage = "crop: expected x,y,w,h — four numbers, fractions of the image between 0 and 1"
    if len(parts) != 4:
        raise ValidationError(f"{usage} (got {len(parts)} value(s): {raw[:80]!r}).")
    try:
        x, y, w, h = (float(p) for p in parts)
    except ValueError:
        raise ValidationError(f"{usage} (got {raw[:80]!r}).") from None
    if not all(math.isfinite(v) for v in (x, y, w, h)):
        raise ValidationError(f"{usage}; NaN and infinity are not allowed (got {raw[:80]!r}).")
    if min(x, y, w, h) < 0 or max(x, y, w, h) > 1:
        raise ValidationError(f"{usage}; no value may be negative or above 1 (got {raw[:80]!r}).")
    if w == 0 or h == 0:
        raise ValidationError(f"crop: the box has zero size (w={w:g}, h={h:g}).")
    if x + w > 1 + CROP_SLACK or y + h > 1 + CROP_SLACK:
        raise ValidationError(
            f"crop: the box reaches outside the image (x+w={x + w:g}, y+h={y + h:g}; "
            "each must be at most 1)."
        )
    return Crop(x, y, min(w, 1 - x), min(h, 1 - y))


def sniff_format(data: bytes) -> str | None:
    """The PIL format name of ``data`` from its header, or None when PIL cannot tell."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return str(img.format)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None


OTHER_SIGNATURES = (
    (b"%PDF", "PDF"),
    (b"<svg", "SVG"),
    (b"<?xml", "SVG/XML"),
    (b"<!doctype html", "HTML"),
    (b"<html", "HTML"),
    (b"8BPS", "Photoshop"),
)


def unsupported_format(data: bytes) -> str | None:
    """Name a well-known non-supported format PIL cannot open (vector, document, HEIF...)."""
    head = data[:512].lstrip().lower()
    for signature, name in OTHER_SIGNATURES:
        if head.startswith(signature.lower()):
            return name
    if data[4:8] == b"ftyp":
        brand = data[8:12].decode("latin-1")
        if brand.startswith("avi"):
            return "AVIF"
        return "HEIC/HEIF" if brand.startswith(("he", "mif")) else "Video"
    return None


def decode_image(
    data: bytes, limits: ImageLimits, draft_size: int | None = None, crop: Crop | None = None
) -> Image.Image:
    """Decode an upload into an upright RGB image, or raise the error the user should see.

    Alpha is flattened onto white on purpose (product shots are often transparent), EXIF
    rotation is applied, only a GIF's first frame is used, and CMYK / 16-bit / palette images
    are converted. ``draft_size`` lets JPEG decode at a reduced scale when only a small image is
    needed (much faster than a full decode followed by a resize). ``crop`` keeps only that
    region of the upright image (cropped after the EXIF rotation, as the shopper saw it).
    """
    if not data:
        raise InvalidImageError("The uploaded file is empty.")
    if len(data) > limits.max_bytes:
        raise ImageTooLargeError(
            f"The image is {len(data) / 1048576:.1f} MiB; the limit is "
            f"{limits.max_bytes / 1048576:.0f} MiB."
        )
    try:
        img = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError("The image has too many pixels to be processed safely.") from exc
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        other = unsupported_format(data)
        if other:
            raise UnsupportedMediaError(
                f"{other} files are not supported. Use JPEG, PNG, WebP, GIF or BMP."
            ) from exc
        raise InvalidImageError(
            "This file is not an image, or it is damaged. Use JPEG, PNG, WebP, GIF or BMP."
        ) from exc
    if img.format not in SUPPORTED_FORMATS:
        raise UnsupportedMediaError(
            f"{img.format} images are not supported. Use JPEG, PNG, WebP, GIF or BMP."
        )
    width, height = img.size
    if width * height > limits.max_pixels:
        raise ImageTooLargeError(
            f"The image is {width}x{height} pixels; at most {limits.max_pixels:,} are accepted."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            if draft_size and img.format == "JPEG":
                if crop is not None:  # the region, not the whole image, needs draft_size pixels
                    draft_size = math.ceil(draft_size / max(min(crop.w, crop.h), 1e-3))
                img.draft("RGB", (draft_size, draft_size))
            img.seek(0)
            img.load()
            upright = ImageOps.exif_transpose(img) or img
            if crop is not None:
                upright = upright.crop(crop.box(*upright.size))
            return to_rgb(upright)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageTooLargeError("The image has too many pixels to be processed safely.") from exc
    except (OSError, ValueError, SyntaxError, EOFError) as exc:
        raise InvalidImageError(f"The image is corrupt or truncated ({exc}).") from exc


def to_rgb(img: Image.Image) -> Image.Image:
    """Convert any PIL mode to RGB, flattening transparency onto a white background."""
    if img.mode == "RGB":
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        img = img.point(lambda v: v * (1 / 256)).convert("L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA"):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return img.convert("RGB")


def content_type_of(data: bytes) -> str:
    """The MIME type to store and serve an accepted image with."""
    fmt = sniff_format(data)
    return SUPPORTED_FORMATS.get(fmt or "", "application/octet-stream")
