"""The embedding service's API (``visualsearch embedder``): bytes or text in, a vector out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from visualsearch.embedding.service import EmbeddingService
from visualsearch.embedding.views import WHOLE, QueryViews
from visualsearch.exceptions import ImageTooLargeError
from visualsearch.imaging import parse_crop

router = APIRouter(prefix="/embed", tags=["embedding"])


def _embedding(request: Request) -> EmbeddingService:
    return request.app.state.embedding


def _max_bytes(request: Request) -> int:
    return request.app.state.settings.max_upload_bytes


class TextIn(BaseModel):
    text: str = Field(min_length=1, max_length=500)


class VectorOut(BaseModel):
    model: str = Field(
        description="The model that made the vectors: a client checks it is its own, so a "
        "model switch rolling through the embedding pods never mixes two models' vectors."
    )
    vector: list[float]
    views: list[list[float]] | None = Field(
        default=None, description="With views=grid or fine: every view's vector, the whole first."
    )


@router.get("/info")
async def embed_info(request: Request) -> dict[str, object]:
    embedding = _embedding(request)
    info = embedding.info
    return {
        "model": info.name,
        "dim": info.dim,
        "text_search": info.text_search,
        "warning": embedding.warning,
    }


@router.post("/image", response_model=VectorOut)
async def embed_image(
    request: Request,
    crop: Annotated[str | None, Query(max_length=200, description="x,y,w,h fractions.")] = None,
    views: Annotated[
        QueryViews, Query(description="'grid'/'fine' also embed the query's windows.")
    ] = WHOLE,
) -> VectorOut:
    """The unit vector of the image in the request body (or of its ``crop`` region), and with
    ``views=grid`` its views' vectors too (``embedding.views``)."""
    region = parse_crop(crop)
    data = await request.body()
    if len(data) > _max_bytes(request):
        raise ImageTooLargeError("The image is over the upload limit.")
    embedding = _embedding(request)
    if views == WHOLE:
        vector = await embedding.embed_image(data, region)
        return VectorOut(model=embedding.info.name, vector=vector.tolist())
    rows = await embedding.embed_image_views(data, region, views)
    return VectorOut(model=embedding.info.name, vector=rows[0].tolist(), views=rows.tolist())


@router.post("/text", response_model=VectorOut)
async def embed_text(body: TextIn, request: Request) -> VectorOut:
    embedding = _embedding(request)
    vector = await embedding.embed_text(body.text)
    return VectorOut(model=embedding.info.name, vector=vector.tolist())
