"""``POST /search`` (image, text or both) and ``GET /search`` (text).

Every parameter of ``POST /search`` may come in the query string (as the seed's README and its
JavaScript example send them: ``POST /search?top_k=5&category=laptops`` with only the file in the
form) or as a form field; the same parameter sent both ways with different values is a 422.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile

from visualsearch.filters import FACETS_PATTERN, parse_facets, parse_filter
from visualsearch.handlers.dependencies import (
    ContextDep,
    SearchDep,
    ShopperDep,
    read_upload,
)
from visualsearch.handlers.params import (
    BRAND,
    CATEGORY,
    FACETS,
    IN_STOCK,
    MIN_SCORE,
    OFFSET,
    PRICE_MAX,
    PRICE_MIN,
    PRICE_RANGE,
    TOP_K,
    ResultParamsDep,
    pick,
    pick_list,
)
from visualsearch.imaging import parse_crop
from visualsearch.schemas import ErrorBody, SearchResponse
from visualsearch.services.search import MAX_TOP_K, MAX_WINDOW, Mode, query_kind

router = APIRouter(tags=["search"])
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody, "description": "Not an image, truncated, or no text tower."},
    413: {"model": ErrorBody, "description": "Image over the size or pixel limit."},
    415: {"model": ErrorBody, "description": "Unsupported file type."},
    422: {
        "model": ErrorBody,
        "description": "An invalid parameter, or one sent twice differently.",
    },
    429: {"model": ErrorBody, "description": "Rate limited; see Retry-After."},
    503: {"model": ErrorBody, "description": "A store is unavailable."},
}
TEXT = "Text, alone (GET) or combined with the image (POST)."
MODE = (
    "hybrid (default: every retriever that applies, fused by reciprocal rank fusion), or one "
    "retriever for debugging: keyword, semantic, visual (image vectors; CLIP's text tower)."
)
QMode = Annotated[Mode | None, Query(description=MODE)]
CROP = "Search only this region of the image: x,y,w,h as fractions of it (0-1), e.g. 0.5,0,0.5,1."


@router.post("/search", response_model=SearchResponse, responses=ERRORS)
async def search_by_image(
    service: SearchDep,
    context: ContextDep,
    shopper: ShopperDep,
    file: Annotated[
        UploadFile | None, File(description="Query image (JPEG, PNG, WebP, GIF, BMP).")
    ] = None,
    q: Annotated[str | None, Form(max_length=500, description=TEXT)] = None,
    top_k: Annotated[int | None, Form(ge=1, le=MAX_TOP_K, description=TOP_K)] = None,
    offset: Annotated[int | None, Form(ge=0, le=MAX_WINDOW, description=OFFSET)] = None,
    category: Annotated[list[str] | None, Form(description=CATEGORY)] = None,
    brand: Annotated[list[str] | None, Form(description=BRAND)] = None,
    price_min: Annotated[float | None, Form(**PRICE_RANGE, description=PRICE_MIN)] = None,
    price_max: Annotated[float | None, Form(**PRICE_RANGE, description=PRICE_MAX)] = None,
    in_stock: Annotated[bool | None, Form(description=IN_STOCK)] = None,
    min_score: Annotated[float | None, Form(ge=0, le=1, description=MIN_SCORE)] = None,
    facets: Annotated[
        str | None, Form(max_length=100, pattern=FACETS_PATTERN, description=FACETS)
    ] = None,
    crop: Annotated[str | None, Form(max_length=200, description=CROP)] = None,
    q_query: Annotated[str | None, Query(alias="q", max_length=500, description=TEXT)] = None,
    top_k_query: Annotated[int | None, Query(alias="top_k", ge=1, le=MAX_TOP_K)] = None,
    offset_query: Annotated[int | None, Query(alias="offset", ge=0, le=MAX_WINDOW)] = None,
    category_query: Annotated[list[str] | None, Query(alias="category")] = None,
    brand_query: Annotated[list[str] | None, Query(alias="brand")] = None,
    price_min_query: Annotated[float | None, Query(alias="price_min", **PRICE_RANGE)] = None,
    price_max_query: Annotated[float | None, Query(alias="price_max", **PRICE_RANGE)] = None,
    in_stock_query: Annotated[bool | None, Query(alias="in_stock")] = None,
    min_score_query: Annotated[float | None, Query(alias="min_score", ge=0, le=1)] = None,
    facets_query: Annotated[str | None, Query(alias="facets", max_length=100)] = None,
    mode: Annotated[Mode | None, Form(description=MODE)] = None,
    mode_query: Annotated[Mode | None, Query(alias="mode", description=MODE)] = None,
    crop_query: Annotated[str | None, Query(alias="crop", max_length=200)] = None,
) -> SearchResponse:
    """Products visually closest to the uploaded image (optionally steered by text), filtered
    inside the vector search, paged, with facets on request.

    Each parameter may be sent in the query string or as a form field (not both, differently).
    """
    # every parameter is checked before the upload is read: a bad request changes nothing
    product_filter = parse_filter(
        pick_list("category", category_query, category),
        pick_list("brand", brand_query, brand),
        pick("price_min", price_min_query, price_min),
        pick("price_max", price_max_query, price_max),
        pick("in_stock", in_stock_query, in_stock),
    )
    wanted_facets = parse_facets(pick("facets", facets_query, facets))
    text = pick("q", q_query, q)
    k = pick("top_k", top_k_query, top_k) or context.settings.default_top_k
    start = pick("offset", offset_query, offset) or 0
    cut = pick("min_score", min_score_query, min_score)
    region = pick("crop", parse_crop(crop_query), parse_crop(crop))
    image = await read_upload(file, context.settings.max_upload_bytes) if file is not None else None
    response = await service.search(
        image=image,
        text=text,
        top_k=k,
        filter=product_filter,
        offset=start,
        min_score=shopper.min_score(cut),
        facets=wanted_facets,
        mode=pick("mode", mode_query, mode) or "hybrid",
        crop=region,
    )
    context.recorder.search(
        response,
        kind=query_kind(image is not None, text),
        query=text,
        started=shopper.started,
        variant=shopper.variant,
        tab_id=shopper.tab_id,
    )
    return response


@router.get("/search", response_model=SearchResponse, responses=ERRORS)
async def search_by_text(
    service: SearchDep,
    context: ContextDep,
    shopper: ShopperDep,
    q: Annotated[str, Query(min_length=1, max_length=500, description="What to look for.")],
    params: ResultParamsDep,
    mode: QMode = None,
) -> SearchResponse:
    """Products matching a text: keywords and product-text meaning on every model (plus CLIP's
    text tower where the model has one), fused, with the same filters, pages and facets as
    ``POST /search``."""
    response = await service.search(
        text=q,
        top_k=params.top_k or context.settings.default_top_k,
        filter=params.filter,
        offset=params.offset,
        min_score=shopper.min_score(params.min_score),
        facets=params.facets,
        mode=mode or "hybrid",
    )
    context.recorder.search(
        response,
        kind="text",
        query=q,
        started=shopper.started,
        variant=shopper.variant,
        tab_id=shopper.tab_id,
    )
    return response
