"""Browsing and removing products."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from visualsearch.exceptions import NotFoundError, StoreUnavailableError
from visualsearch.filters import FacetField, ProductFilter
from visualsearch.schemas import (
    Categories,
    Category,
    Facets,
    PriceRange,
    Product,
    ProductPage,
    ProductPatch,
    SortKey,
)
from visualsearch.storage.catalog import CatalogStore
from visualsearch.storage.objects.base import ObjectStore
from visualsearch.storage.vectors.base import PAYLOAD_FIELDS, VectorPayload, VectorStore

if TYPE_CHECKING:
    from visualsearch.services.text_vectors import TextVectors

log = logging.getLogger(__name__)
TEXT_FIELDS = ("name", "brand", "category", "description")
"""What the product's text vector is made from."""


class ProductService:
    """What the catalogue API does with products: pages, facets, one, a batch, PATCH, delete."""

    def __init__(
        self,
        catalog: CatalogStore,
        vectors: VectorStore,
        objects: ObjectStore,
        text: TextVectors | None = None,
    ) -> None:
        self._text = text
        self._catalog = catalog
        self._vectors = vectors
        self._objects = objects

    async def page(
        self,
        skip: int,
        limit: int,
        flt: ProductFilter,
        sort: SortKey,
        facets: tuple[FacetField, ...] = (),
    ) -> ProductPage:
        """A page of the filtered catalogue; ``facets`` names the facets to count (one query)."""
        result = await self._catalog.browse(flt, sort, skip, limit, facets=bool(facets))
        items = [Product.from_record(r) for r in result.records]
        page = ProductPage(items=items, total=result.total, skip=skip, limit=limit)
        if result.facets is not None:
            counts = result.facets
            wanted: dict[str, object] = {}
            if "category" in facets:
                wanted["category"] = counts.category
            if "brand" in facets:
                wanted["brand"] = counts.brand
            if "price" in facets:
                wanted["price"] = PriceRange(
                    min=None if counts.price_min is None else float(counts.price_min),
                    max=None if counts.price_max is None else float(counts.price_max),
                )
            if "in_stock" in facets:
                wanted["in_stock"] = counts.in_stock
            # set only when asked, so a page without facets keeps the seed's exact shape
            page = ProductPage(
                items=items,
                total=result.total,
                skip=skip,
                limit=limit,
                facets=Facets.model_validate(wanted),
            )
        return page

    async def categories(self) -> Categories:
        rows = await self._catalog.categories()
        return Categories(categories=[Category(name=n, count=c) for n, c in rows])

    async def get(self, product_id: str) -> Product:
        record = await self._catalog.get(product_id)
        if record is None:
            raise NotFoundError(f"No product with id {product_id!r}.")
        return Product.from_record(record)

    async def batch(self, product_ids: list[str]) -> list[Product]:
        records = await self._catalog.get_many(product_ids)
        return [Product.from_record(records[p]) for p in product_ids if p in records]

    async def update(self, product_id: str, patch: ProductPatch) -> Product:
        """Change the row, then the vector's payload (no re-embedding), then bump the version.

        The version is bumped by the row update and again once the payload follows, so a
        search answered between the two is never served from the cache afterwards. Should the
        vector store fail in between, ``visualsearch doctor`` finds and repairs the payload.
        """
        changes = patch.changes()
        record = await self._catalog.update(product_id, changes)
        if record is None:
            raise NotFoundError(f"No product with id {product_id!r}.")
        if any(f in changes for f in PAYLOAD_FIELDS):
            latest = await self._catalog.get(product_id) or record  # the newest of racing PATCHes
            await self._vectors.set_payload(product_id, VectorPayload.of(latest))
        if self._text is not None and any(f in changes for f in TEXT_FIELDS + PAYLOAD_FIELDS):
            latest = await self._catalog.get(product_id) or record
            await self._text.upsert([latest])  # new text (or payload): a new text vector
        if any(f in changes for f in TEXT_FIELDS + PAYLOAD_FIELDS):
            await self._catalog.bump_version()
        return Product.from_record(record)

    async def remove(self, product_id: str) -> None:
        """Remove a product everywhere: vector first, then the row, then its image.

        In this order a failure leaves at worst a row without a vector (invisible to search, and
        repaired by retrying the delete or by ``visualsearch doctor``), never a result without
        its metadata.
        """
        record = await self._catalog.get(product_id)
        if record is None:
            raise NotFoundError(f"No product with id {product_id!r}.")
        await self._vectors.delete([product_id])
        if self._text is not None:
            await self._text.delete([product_id])
        await self._catalog.delete(product_id)
        for image in record.images:
            try:
                await self._objects.delete(image.key)
            except StoreUnavailableError:
                log.warning("image left behind", extra={"key": image.key})
