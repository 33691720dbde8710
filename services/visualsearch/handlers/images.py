"""``GET /images/{key}``: product images from the object store, cached forever by key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response

from visualsearch.handlers.dependencies import ContextDep
from visualsearch.schemas import ErrorBody
from visualsearch.storage.objects.base import KEY_PATTERN, validate_key

router = APIRouter(tags=["images"])

IMAGE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp")
BINARY = {"schema": {"type": "string", "format": "binary"}}


@router.get(
    "/images/{key:path}",
    response_class=Response,
    responses={
        200: {
            "description": "The image's bytes, typed by its extension.",
            "content": {
                **{t: BINARY for t in IMAGE_TYPES},
                "application/octet-stream": BINARY,
            },
        },
        400: {"model": ErrorBody, "description": "The key is not a valid image key."},
        404: {"model": ErrorBody, "description": "No image under this key."},
    },
)
async def image(
    context: ContextDep, key: Annotated[str, Path(max_length=512, pattern=KEY_PATTERN.pattern)]
) -> Response:
    """A product image from the object store (keys are content-addressed: cache forever)."""
    data, content_type = await context.objects.get(validate_key(key))
    return Response(
        data,
        media_type=content_type,
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )
