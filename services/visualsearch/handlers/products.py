"""The catalogue API: pages, categories, batches, single products and their removal."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from visualsearch.handlers.dependencies import CatalogDep, WriteAccess
from visualsearch.schemas import (
    PRODUCT_ID_PATTERN,
    Categories,
    ErrorBody,
    Product,
    ProductPage,
    ProductPatch,
    SortKey,
)

router = APIRouter(prefix="/products", tags=["products"])
ProductId = Annotated[str, Path(pattern=PRODUCT_ID_PATTERN, description="The product's id.")]


@router.get("/", response_model=ProductPage)
async def list_products(
    service: CatalogDep,
    skip: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 40,
    category: Annotated[str | None, Query(max_length=100)] = None,
    sort: SortKey = "name",
) -> ProductPage:
    """One page of the catalogue with the total count."""
    return await service.page(skip, limit, category or None, sort)


@router.get("/categories", response_model=Categories)
async def list_categories(service: CatalogDep) -> Categories:
    """Every category with its number of products."""
    return await service.categories()


@router.get("/batch", response_model=list[Product])
async def get_batch(
    service: CatalogDep,
    ids: Annotated[str, Query(max_length=10_000, description="Comma-separated product ids.")],
) -> list[Product]:
    """Several products in one call, in the order asked (unknown ids are left out)."""
    wanted = [i.strip() for i in ids.split(",") if i.strip()][:200]
    return await service.batch(wanted)


@router.get("/{product_id}", response_model=Product, responses={404: {"model": ErrorBody}})
async def get_product(service: CatalogDep, product_id: ProductId) -> Product:
    return await service.get(product_id)


@router.patch(
    "/{product_id}",
    response_model=Product,
    dependencies=[WriteAccess],
    responses={401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}},
)
async def update_product(
    service: CatalogDep, product_id: ProductId, patch: ProductPatch
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
async def delete_product(service: CatalogDep, product_id: ProductId) -> Response:
    """Remove the product from the catalogue, and so from results (its vector and image too)."""
    await service.remove(product_id)
    return Response(status_code=204)
