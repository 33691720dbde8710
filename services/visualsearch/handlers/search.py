"""``POST /search`` (image, text or both) and ``GET /search?q=`` (text)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile

from visualsearch.handlers.dependencies import ContextDep, SearchDep, read_upload
from visualsearch.schemas import ErrorBody, SearchResponse

router = APIRouter(tags=["search"])
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Not an image, truncated, or no text tower."},
    413: {"model": ErrorBody, "description": "Image over the size or pixel limit."},
    415: {"model": ErrorBody, "description": "Unsupported file type."},
    429: {"model": ErrorBody, "description": "Rate limited; see Retry-After."},
    503: {"model": ErrorBody, "description": "A store is unavailable."},
}


@router.post("/search", response_model=SearchResponse, responses=ERRORS)
async def search_by_image(
    service: SearchDep,
    context: ContextDep,
    file: Annotated[
        UploadFile | None, File(description="Query image (JPEG, PNG, WebP, GIF, BMP).")
    ] = None,
    q: Annotated[
        str | None, Form(max_length=500, description="Optional text, combined with the image.")
    ] = None,
    top_k: Annotated[int, Form(ge=1, le=50, description="Results to return (1-50).")] = 12,
    category: Annotated[str | None, Form(max_length=100, description="Only this category.")] = None,
) -> SearchResponse:
    """Products visually closest to the uploaded image (optionally steered by text)."""
    image = await read_upload(file, context.settings.max_upload_bytes) if file is not None else None
    return await service.search(image=image, text=q, top_k=top_k, category=category or None)


@router.get("/search", response_model=SearchResponse, responses=ERRORS)
async def search_by_text(
    service: SearchDep,
    q: Annotated[str, Query(min_length=1, max_length=500, description="What to look for.")],
    top_k: Annotated[int, Query(ge=1, le=50)] = 12,
    category: Annotated[str | None, Query(max_length=100)] = None,
) -> SearchResponse:
    """Products closest to a text description (needs a CLIP model)."""
    return await service.search(text=q, top_k=top_k, category=category or None)
