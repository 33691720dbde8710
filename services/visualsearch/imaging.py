"""Decoding of uploaded images: format checks, limits, orientation and colour normalisation.

Everything here is CPU work: callers run it on a thread (``asyncio.to_thread``), never on the
event loop.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from visualsearch.exceptions import (
    ImageTooLargeError,
    InvalidImageError,
    UnsupportedMediaError,
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


def decode_image(data: bytes, limits: ImageLimits, draft_size: int | None = None) -> Image.Image:
    """Decode an upload into an upright RGB image, or raise the error the user should see.

    Alpha is flattened onto white on purpose (product shots are often transparent), EXIF
    rotation is applied, only a GIF's first frame is used, and CMYK / 16-bit / palette images
    are converted. ``draft_size`` lets JPEG decode at a reduced scale when only a small image is
    needed (much faster than a full decode followed by a resize).
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
                img.draft("RGB", (draft_size, draft_size))
            img.seek(0)
            img.load()
            upright = ImageOps.exif_transpose(img) or img
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
