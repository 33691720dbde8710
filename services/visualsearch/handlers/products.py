"""The catalogue API: pages, categories, batches, single products and their removal."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import StringConstraints

from visualsearch.filters import (
    FACETS_PATTERN,
    MAX_PRICE,
    MAX_VALUE_LENGTH,
    MAX_VALUES,
    parse_facets,
    parse_filter,
)
from visualsearch.handlers.dependencies import (
    ContextDep,
    ProductsDep,
    ShopperDep,
    SimilarDep,
    WriteAccess,
)
from visualsearch.handlers.params import ResultParamsDep
from visualsearch.schemas import (
    PRODUCT_ID_PATTERN,
    Categories,
    ErrorBody,
    Product,
    ProductPage,
    ProductPatch,
    SearchResponse,
    SortKey,
)

router = APIRouter(prefix="/products", tags=["products"])
ProductId = Annotated[str, Path(pattern=PRODUCT_ID_PATTERN, description="The product's id.")]


PRICE = {"ge": 0, "le": float(MAX_PRICE)}
LIST_HELP = (
    "One value, a comma-separated list, or the parameter repeated (any of them matches); "
    f"at most {MAX_VALUES} values of at most {MAX_VALUE_LENGTH} characters."
)
NO_NUL = r"^[^\x00]*$"
RAW_LENGTH = MAX_VALUES * (MAX_VALUE_LENGTH + 1)  # one parameter may carry a whole comma list
Values = list[Annotated[str, StringConstraints(max_length=RAW_LENGTH, pattern=NO_NUL)]]


@router.get("/", response_model=ProductPage, response_model_exclude_unset=True)
async def list_products(
    service: ProductsDep,
    skip: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 40,
    category: Annotated[Values, Query(max_length=MAX_VALUES, description=LIST_HELP)] = [],  # noqa: B006
    brand: Annotated[Values, Query(max_length=MAX_VALUES, description=LIST_HELP)] = [],  # noqa: B006
    price_min: Annotated[float | None, Query(**PRICE, description="Lowest price, inclusive.")] = (
        None
    ),
    price_max: Annotated[
        float | None, Query(**PRICE, description="Highest price, inclusive.")
    ] = None,
    in_stock: Annotated[bool, Query(description="Only products with stock > 0.")] = False,
    sort: SortKey = "name",
    facets: Annotated[
        str | None,
        Query(
            pattern=FACETS_PATTERN,
            description="`true` for every facet, or a comma list of "
            "`category`, `brand`, `price`, `in_stock`.",
        ),
    ] = None,
) -> ProductPage:
    """One page of the filtered catalogue with the total count, and its facets when asked.

    Each facet counts the products that pass every filter but its own field's, so selecting
    a brand still shows the other brands' counts.
    """
    flt = parse_filter(category, brand, price_min, price_max, in_stock)
    return await service.page(skip, limit, flt, sort, parse_facets(facets))


@router.get("/categories", response_model=Categories)
async def list_categories(service: ProductsDep) -> Categories:
    """Every category with its number of products."""
    return await service.categories()


@router.get("/batch", response_model=list[Product])
async def get_batch(
    service: ProductsDep,
    ids: Annotated[
        str, Query(max_length=10_000, pattern=NO_NUL, description="Comma-separated product ids.")
    ],
) -> list[Product]:
    """Several products in one call, in the order asked (unknown ids are left out)."""
    wanted = [i.strip() for i in ids.split(",") if i.strip()][:200]
    return await service.batch(wanted)


@router.get("/{product_id}", response_model=Product, responses={404: {"model": ErrorBody}})
async def get_product(service: ProductsDep, product_id: ProductId) -> Product:
    return await service.get(product_id)


@router.get(
    "/{product_id}/similar",
    response_model=SearchResponse,
    responses={404: {"model": ErrorBody}, 422: {"model": ErrorBody}, 503: {"model": ErrorBody}},
)
async def similar_products(
    service: SimilarDep,
    context: ContextDep,
    shopper: ShopperDep,
    product_id: ProductId,
    params: ResultParamsDep,
) -> SearchResponse:
    """Products closest to this one, ranked by its stored vector (nothing is decoded or
    embedded), the product itself left out, with the filters, pages and facets of search:
    ``in_stock=true`` gives in-stock alternatives to a sold-out product. A 404 says whether
    the product is unknown or its image is not indexed yet."""
    response = await service.similar(
        product_id,
        top_k=params.top_k or context.settings.default_top_k,
        filter=params.filter,
        offset=params.offset,
        min_score=params.min_score,
        facets=params.facets,
    )
    context.recorder.search(
        response,
        kind="similar",
        query=product_id,
        started=shopper.started,
        variant=shopper.variant,
        tab_id=shopper.tab_id,
    )
    return response


@router.patch(
    "/{product_id}",
    response_model=Product,
    dependencies=[WriteAccess],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
async def update_product(
    service: ProductsDep, product_id: ProductId, patch: ProductPatch
) -> Product:
    """Change price, stock, category, brand or text without re-embedding: the vector payload
    and the result cache follow at once, so the next filtered search sees the change."""
    return await service.update(product_id, patch)


@router.delete(
    "/{product_id}",
    status_code=204,
    dependencies=[WriteAccess],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}},
)
async def delete_product(service: ProductsDep, product_id: ProductId) -> Response:
    """Remove the product from the catalogue, and so from results (its vector and image too)."""
    await service.remove(product_id)
    return Response(status_code=204)
