"""The vector index interface every backend implements (Qdrant, pgvector, Qdrant Edge).

A store serves one logical collection (``collection``), an alias of a physical generation.
A re-index builds the next generation beside the live one (``begin_rebuild``), fills it, and
switches the alias in one step (``commit_rebuild``): searches never see a half-built index.

What a vector carries beside itself is typed (:class:`VectorItem`, :class:`VectorPayload`) and
made from a catalogue row in one place (:meth:`VectorItem.of`), so every writer (the worker,
bulk loads, re-index, ``PATCH /products``, ``doctor``) writes the same payload.

A product has a gallery: one vector per image (``image_index`` 0 is the main image), all with
the product's payload. Searches rank products, not images: each product once, at its
best-matching image's score (:func:`group_best`), and the hit says which image matched.

A query may also be several vectors (the views of one query image: the whole picture and a grid
of windows, ``embedding.views``): :meth:`VectorStore.search_views` ranks products by their best
score over every view and every gallery image, on any store, through ``search`` itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np

from visualsearch.filters import FacetField, ProductFilter

if TYPE_CHECKING:
    from visualsearch.storage.catalog import ProductRecord

STORE = "vector index"
NO_FILTER = ProductFilter()
PAYLOAD_FIELDS = ("category", "brand", "price", "stock")
"""The payload fields filters read; each has a payload index where the store has them."""


@dataclass(frozen=True)
class VectorPayload:
    """What the filters need of a product, as the vector store keeps it."""

    category: str
    brand: str = ""
    price: float = 0.0
    stock: int = 0

    @classmethod
    def of(cls, record: ProductRecord) -> VectorPayload:
        return cls(record.category, record.brand, float(record.price), int(record.stock))

    @classmethod
    def read(cls, payload: Mapping[str, Any] | None) -> VectorPayload | None:
        """From a stored payload; ``None`` when a field is missing (an older collection)."""
        if not payload or any(payload.get(f) is None for f in PAYLOAD_FIELDS):
            return None
        return cls(
            str(payload["category"]),
            str(payload["brand"]),
            float(payload["price"]),
            int(payload["stock"]),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "brand": self.brand,
            "price": self.price,
            "stock": self.stock,
        }

    def matches(self, product_filter: ProductFilter) -> bool:
        return product_filter.matches(
            self.category, self.brand, Decimal(str(self.price)), self.stock
        )


@dataclass(frozen=True, eq=False)
class VectorItem:
    """One image's vector with its product's payload (``image_sha256``: the image it was made
    from; ``image_index``: its place in the product's gallery, 0 the main image)."""

    product_id: str
    vector: np.ndarray
    category: str
    brand: str = ""
    price: float = 0.0
    stock: int = 0
    image_sha256: str = ""
    image_index: int = 0

    @classmethod
    def of(cls, record: ProductRecord, vector: np.ndarray, image_index: int = 0) -> VectorItem:
        """THE place a vector's payload is made from a catalogue row (and one of its images)."""
        p = VectorPayload.of(record)
        sha = record.images[image_index].sha256
        return cls(record.product_id, vector, p.category, p.brand, p.price, p.stock, sha,
                   image_index)  # fmt: skip

    @property
    def payload(self) -> VectorPayload:
        return VectorPayload(self.category, self.brand, self.price, self.stock)

    def payload_dict(self) -> dict[str, Any]:
        """The stored payload of the Qdrant stores."""
        return {
            **self.payload.to_dict(),
            "image_sha256": self.image_sha256,
            "product_id": self.product_id,
            "image_index": self.image_index,
        }


@dataclass(frozen=True)
class VectorHit:
    """A ranked product: its best-matching image's score and index."""

    product_id: str
    score: float
    payload: VectorPayload | None = None
    image_index: int = 0


ImageKey = tuple[str, int]
"""One stored image vector: (product id, image index)."""

OVERFETCH = 2
"""Without a store-side group-by, a search first asks for ``OVERFETCH`` x the products it needs
(see :func:`group_best`)."""


def first_fetch(need: int) -> int:
    """The images :func:`group_best` asks for first when it needs ``need`` products."""
    return need * OVERFETCH


def leave_out(
    ranked: Sequence[VectorHit], product_id: str, offset: int, top_k: int
) -> list[VectorHit]:
    """Ranks ``offset`` .. ``offset + top_k`` of ``ranked`` once ``product_id`` is taken out."""
    return [h for h in ranked if h.product_id != product_id][offset : offset + top_k]


async def group_best(
    fetch: Callable[[int], Awaitable[list[VectorHit]]], offset: int, top_k: int
) -> list[VectorHit]:
    """Products ``offset .. offset + top_k`` of an image-level ranking, each product once at its
    best image, for stores without a group-by.

    ``fetch(limit)`` returns the ``limit`` best images (best first). It is asked for
    ``OVERFETCH x (offset + top_k)`` images, and for twice as many again while they hold fewer
    distinct products than needed and the store has more: ``n`` x the largest gallery (at most
    ``VISUALSEARCH_MAX_IMAGES_PER_PRODUCT``) images always hold ``n`` products, so a page is
    filled after at most log2(that maximum) further fetches (four at the default of 10).
    """
    need = offset + top_k
    if top_k <= 0:
        return []
    limit = first_fetch(need)
    while True:
        images = await fetch(limit)
        best: dict[str, VectorHit] = {}
        for hit in images:
            best.setdefault(hit.product_id, hit)
        if len(best) >= need or len(images) < limit:
            return list(best.values())[offset:need]
        limit *= 2


def merge_views(answers: Sequence[Sequence[VectorHit]]) -> list[VectorHit]:
    """Several rankings of products merged: each product once, at its best score, best first
    (ties keep the order of the first answer that holds them)."""
    best: dict[str, VectorHit] = {}
    for answer in answers:
        for hit in answer:
            kept = best.get(hit.product_id)
            if kept is None or hit.score > kept.score:
                best[hit.product_id] = hit
    return sorted(best.values(), key=lambda hit: -hit.score)


@dataclass(frozen=True)
class FacetCounts:
    """Counts over ranked candidates (see :meth:`VectorStore.facets`)."""

    category: dict[str, int] | None = None
    brand: dict[str, int] | None = None
    price: tuple[float | None, float | None] | None = None
    in_stock: int | None = None


COLLECTION_NAME_LIMIT = 41
"""The longest collection name every store takes (a pgvector table: ``[a-z][a-z0-9_]{0,40}``)."""


def model_collection(collection: str, model: str) -> str:
    """The collection of one model's vectors: ``<collection>_<model>`` as every store spells it.

    ``products`` and ``efficientnet-lite0+colour0.25`` give
    ``products_efficientnet_lite0_colour0_25``; a name too long for a pgvector table keeps its
    start and ends in a digest of the model, so two models never share one.
    """
    slug = re.sub(r"[^a-z0-9]+", "_", model.lower()).strip("_")
    name = f"{collection}_{slug}"
    if len(name) > COLLECTION_NAME_LIMIT:
        digest = hashlib.sha256(model.encode()).hexdigest()[:8]
        name = f"{name[: COLLECTION_NAME_LIMIT - 9].rstrip('_')}_{digest}"
    return name


def generation_name(collection: str, number: int) -> str:
    return f"{collection}__g{number}"


def generation_number(physical: str) -> int:
    _, _, suffix = physical.rpartition("__g")
    return int(suffix) if suffix.isdigit() else 0


class VectorStore(ABC):
    """Product vectors with a typed payload (category, brand, price, stock, image hash), every
    :class:`ProductFilter` field applied inside the index scan.

    ``image_sha256`` is the hash of the image a vector was made from, so consistency checks can
    tell a stale vector from a current one.
    """

    collection: str
    kind: str

    async def open(self) -> None:
        return None

    # A store that keeps one vector per product (the text vectors) never sees image_index > 0.

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def ping(self) -> None: ...

    @abstractmethod
    async def ensure_collection(self, dim: int) -> None:
        """Create the live generation for ``dim``-sized vectors; refuse one of another size.

        An existing generation gets what later versions added (payload indexes, columns); the
        payload values an older collection lacks are backfilled by ``Doctor.sync_payloads``.
        """

    @abstractmethod
    async def drop_collection(self) -> None:
        """Remove the live generation and the alias (a re-index then starts from nothing)."""

    @abstractmethod
    async def upsert(self, items: Sequence[VectorItem]) -> None:
        """Store each item's vector and payload, replacing any earlier vector of that image
        (product id and image index)."""

    async def replace_galleries(self, items: Sequence[VectorItem]) -> None:
        """The items are their products' whole galleries: store them, and remove any image
        vector of those products beyond them (an image taken out of the gallery)."""
        sizes: dict[str, int] = {}
        for item in items:
            sizes[item.product_id] = max(sizes.get(item.product_id, 0), item.image_index + 1)
        await self.upsert(items)
        stored = await self.images(list(sizes))
        gone = [(pid, i) for pid, have in stored.items() for i in have if i >= sizes[pid]]
        await self.delete_images(gone)

    @abstractmethod
    async def search(
        self,
        vector: np.ndarray,
        top_k: int,
        filter: ProductFilter = NO_FILTER,
        *,
        offset: int = 0,
        min_score: float | None = None,
    ) -> list[VectorHit]:
        """Ranks ``offset`` .. ``offset + top_k`` by cosine similarity, best first, among the
        vectors that pass ``filter`` (applied inside the scan, so a selective filter still
        fills the page) and score at least ``min_score``. Each product appears once, at its
        best-matching image (the hit's ``image_index``). Hits carry their payload."""

    async def search_views(
        self,
        views: np.ndarray,
        top_k: int,
        filter: ProductFilter = NO_FILTER,
        *,
        offset: int = 0,
        min_score: float | None = None,
    ) -> list[VectorHit]:
        """``search`` for a query of several vectors (rows of ``views``; one row, or a 1-D
        vector, is a plain ``search``): each product at its best score over every view, the
        hit's ``image_index`` that of the image giving it.

        Exact, paging and ``min_score`` included: a product among the fused first ``offset +
        top_k`` is among the first ``offset + top_k`` of the view that gives its best score, so
        each view is asked for that many (at ``min_score``) and the answers are merged.
        """
        views = np.atleast_2d(views)
        if len(views) == 1:
            return await self.search(views[0], top_k, filter, offset=offset, min_score=min_score)
        need = offset + top_k
        answers = await asyncio.gather(
            *(self.search(view, need, filter, min_score=min_score) for view in views)
        )
        return merge_views(answers)[offset:need]

    @abstractmethod
    async def vector_of(self, product_id: str) -> np.ndarray | None:
        """The product's main image's stored vector (float32, as searched), or ``None`` when it
        has none.

        Read back as stored, never re-embedded: item-to-item ranking ("similar products")
        searches with it."""

    async def similar(
        self,
        product_id: str,
        top_k: int,
        filter: ProductFilter = NO_FILTER,
        *,
        offset: int = 0,
        min_score: float | None = None,
    ) -> tuple[np.ndarray, list[VectorHit]] | None:
        """The product's main stored vector and ranks ``offset`` .. ``offset + top_k`` of a
        search by it with the product left out (``None`` when it has no vector): exactly
        ``search(vector_of(product_id))`` minus the product, so pages tile and top_k stays
        filled ("similar products").

        The product may rank anywhere before the page (its own vector scores 1, but an exact
        duplicate ties with it), so the ranking is read from the top: one more than the window.
        One call so that a store can answer it in one round trip; this one makes two.
        """
        vector = await self.vector_of(product_id)
        if vector is None:
            return None
        ranked = await self.search(vector, offset + top_k + 1, filter, min_score=min_score)
        return vector, leave_out(ranked, product_id, offset, top_k)

    @abstractmethod
    async def set_payloads(self, payloads: Mapping[str, VectorPayload]) -> None:
        """Replace the filter payload of these products' vectors without touching the vectors
        (ids without a vector are skipped)."""

    async def set_payload(self, product_id: str, payload: VectorPayload) -> None:
        await self.set_payloads({product_id: payload})

    @abstractmethod
    async def payloads(self) -> dict[str, VectorPayload | None]:
        """Every vector's payload (``None`` where it lacks a field), for consistency checks."""

    async def facets(
        self,
        vector: np.ndarray,
        filter: ProductFilter,
        fields: Sequence[FacetField],
        depth: int,
        *,
        min_score: float | None = None,
    ) -> FacetCounts:
        """Counts over the ``depth`` best candidates that pass the filter, each field counted
        without its own filter (selecting a brand still shows the other brands). ``vector`` may
        be several views of the query, ranked as :meth:`search_views` ranks them."""
        ranked: dict[ProductFilter, list[VectorHit]] = {}

        async def candidates(field: FacetField) -> list[VectorHit]:
            own = filter.without(field)
            if own not in ranked:
                ranked[own] = await self.search_views(vector, depth, own, min_score=min_score)
            return ranked[own]

        counts: dict[str, Any] = {}
        for field in fields:
            payloads = [h.payload for h in await candidates(field) if h.payload is not None]
            if field == "category":
                counts["category"] = dict(Counter(p.category for p in payloads).most_common())
            elif field == "brand":
                counts["brand"] = dict(Counter(p.brand for p in payloads).most_common())
            elif field == "price":
                prices = [p.price for p in payloads]
                counts["price"] = (min(prices), max(prices)) if prices else (None, None)
            else:
                counts["in_stock"] = sum(1 for p in payloads if p.stock > 0)
        return FacetCounts(**counts)

    async def delete(self, product_ids: Sequence[str]) -> None:
        """Remove every image vector of these products."""
        stored = await self.images(list(product_ids)) if product_ids else {}
        await self.delete_images([(pid, i) for pid, have in stored.items() for i in have])

    @abstractmethod
    async def delete_images(self, keys: Sequence[ImageKey]) -> None:
        """Remove these image vectors (absent ones are skipped)."""

    @abstractmethod
    async def images(self, product_ids: Sequence[str] | None = None) -> dict[str, dict[int, str]]:
        """Per product (these, or every one with a vector): image index -> the hash of the
        image that vector was made from."""

    async def existing(self, product_ids: Sequence[str]) -> dict[str, str]:
        """Which of ``product_ids`` have a vector, with their main image's hash."""
        if not product_ids:
            return {}
        stored = await self.images(product_ids)
        return {pid: have.get(0, "") for pid, have in stored.items()}

    @abstractmethod
    async def count(self) -> int:
        """How many vectors (images, not products) the collection holds."""

    async def all_ids(self) -> dict[str, str]:
        """Every product id with a vector and its main image's hash."""
        return {pid: have.get(0, "") for pid, have in (await self.images()).items()}

    # -- zero-downtime re-index ----------------------------------------------------------------

    @abstractmethod
    async def begin_rebuild(self, dim: int) -> VectorStore:
        """A store writing to a new, empty generation beside the live one."""

    @abstractmethod
    async def commit_rebuild(self, builder: VectorStore) -> None:
        """Point the collection at the builder's generation, then drop the previous one."""

    @abstractmethod
    async def abort_rebuild(self, builder: VectorStore) -> None:
        """Drop a generation that will not be used."""
