"""Request and response models of the HTTP API (pydantic), shared by handlers and services."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from visualsearch.storage.catalog import ProductRecord


def image_url(record: ProductRecord, index: int | None = 0) -> str | None:
    """The public URL of one of the product's images (``None``: no such image)."""
    images = record.images
    if index is None or not 0 <= index < len(images):
        return None
    return f"/images/{images[index].key}"


PRODUCT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$"
SortKey = Literal["name", "price_asc", "price_desc", "rating"]


class ProductInput(BaseModel):
    """A product's metadata as a shop sends it (the image travels beside it)."""

    product_id: str = Field(
        pattern=PRODUCT_ID_PATTERN,
        description="Letters, digits, '.', '_', ':' and '-'; at most 128 characters.",
    )
    name: str = Field(min_length=1, max_length=300)
    price: Decimal = Field(ge=0, le=Decimal("9999999999.99"), decimal_places=2)
    category: str = Field(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f/\\]+$")
    brand: str = Field("", max_length=200)
    stock: int = Field(0, ge=0, le=10_000_000)
    rating: float | None = Field(None, ge=0, le=5)
    description: str = Field("", max_length=5000)
    warranty: str = Field("", max_length=300)

    @field_validator("name", "category", "brand", "description", "warranty", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("rating", mode="after")
    @classmethod
    def _round_rating(cls, value: float | None) -> float | None:
        # two decimals are all a rating shows; a denormal double (1e-313) would underflow
        # PostgreSQL's real column
        return None if value is None else round(value, 2)

    @field_validator("price", mode="before")
    @classmethod
    def _round_price(cls, value: object) -> object:
        if isinstance(value, float | int | str) and str(value).strip():
            try:
                return Decimal(str(value).strip()).quantize(Decimal("0.01"))
            except ArithmeticError:
                return value
        return value


NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold a NUL byte


def _only_rating_nullable(schema: dict[str, Any]) -> None:
    """An absent field is left as it is; null is refused for all but ``rating`` (null clears
    it): the published schema says so, instead of pydantic's "any field may be null"."""
    for name, prop in schema.get("properties", {}).items():
        options = prop.get("anyOf")
        if name != "rating" and options:
            # JSON carries prices as numbers: the patch refuses a string for one
            kept = [
                o
                for o in options
                if o.get("type") != "null" and not (name == "price" and o.get("type") == "string")
            ]
            if len(kept) == 1:
                prop.pop("anyOf")
                prop.update(kept[0])
            else:
                prop["anyOf"] = kept
            prop.pop("default", None)
    schema["minProperties"] = 1  # a patch changes something


class ProductPatch(BaseModel):
    """Fields of a product to change (``PATCH /products/{id}``); the image and id stay."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_only_rating_nullable)

    name: str | None = Field(None, min_length=1, max_length=300, pattern=NO_NUL)
    brand: str | None = Field(None, max_length=200, pattern=NO_NUL)
    price: Decimal | None = Field(None, ge=0, le=Decimal("9999999999.99"), decimal_places=2)
    category: str | None = Field(None, min_length=1, max_length=100, pattern=r"^[^\x00-\x1f/\\]+$")
    stock: int | None = Field(None, ge=0, le=10_000_000)
    rating: float | None = Field(None, ge=0, le=5, description="null clears the rating.")
    description: str | None = Field(None, max_length=5000, pattern=NO_NUL)
    warranty: str | None = Field(None, max_length=300, pattern=NO_NUL)

    @field_validator("name", "category", "brand", "description", "warranty", mode="before")
    @classmethod
    def _strip(cls, value: object) -> object:
        return value.strip() if isinstance(value, str) else value

    @field_validator("stock", "rating", mode="before")
    @classmethod
    def _no_booleans(cls, value: object) -> object:
        if isinstance(value, bool):  # JSON true/false is not a number (Python says it is)
            raise ValueError("must be a number, not true or false")
        return value

    @field_validator("price", mode="before")
    @classmethod
    def _round_price(cls, value: object) -> object:
        if isinstance(value, str):
            raise ValueError("price is a JSON number, e.g. 19.99")
        return ProductInput._round_price(value)

    @field_validator("rating", mode="after")
    @classmethod
    def _round_rating(cls, value: float | None) -> float | None:
        return ProductInput._round_rating(value)

    @model_validator(mode="after")
    def _something_to_change(self) -> ProductPatch:
        if not self.model_fields_set:
            raise ValueError(f"send at least one of {', '.join(type(self).model_fields)}")
        nulls = [f for f in self.model_fields_set if f != "rating" and getattr(self, f) is None]
        if nulls:
            raise ValueError(f"{', '.join(sorted(nulls))} may not be null")
        return self

    def changes(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in type(self).model_fields if f in self.model_fields_set}


class Product(BaseModel):
    product_id: str
    name: str
    brand: str
    price: float
    category: str
    description: str
    rating: float | None
    stock: int
    warranty: str
    image_url: str = Field(description="The main image.")
    images: list[str] = Field(
        default_factory=list, description="Every image's URL, the main image first (its gallery)."
    )

    @classmethod
    def from_record(cls, record: ProductRecord) -> Product:
        return cls(
            product_id=record.product_id,
            name=record.name,
            brand=record.brand,
            price=float(record.price),
            category=record.category,
            description=record.description,
            rating=record.rating,
            stock=record.stock,
            warranty=record.warranty,
            image_url=f"/images/{record.image_key}",
            images=[f"/images/{i.key}" for i in record.images],
        )


class Category(BaseModel):
    name: str
    count: int


class Categories(BaseModel):
    categories: list[Category]


class Readiness(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: dict[str, Literal["ok", "timeout", "unavailable"]] = Field(
        description="Each store's answer: catalogue, vectors, objects, queue, cache."
    )


class PriceRange(BaseModel):
    min: float | None = Field(description="Lowest price among the counted products.")
    max: float | None = Field(description="Highest price among the counted products.")


class Facets(BaseModel):
    """Counts over the products that pass the filters, each field without its own filter."""

    category: dict[str, int] | None = None
    brand: dict[str, int] | None = None
    price: PriceRange | None = None
    in_stock: int | None = Field(None, description="How many of them have stock > 0.")


class ProductPage(BaseModel):
    items: list[Product]
    total: int = Field(description="How many products pass the filters.")
    skip: int
    limit: int
    facets: Facets | None = Field(
        default=None, description="Present with `facets=true` (or a list of facet names)."
    )


class SearchHit(Product):
    score: float = Field(
        description="In [0, 1]. An image match: the dot product of the query's and the "
        "product's best-matching image's vectors, which with a colour weight w "
        "(VISUALSEARCH_COLOUR_WEIGHT, 0.25) is (1 - w) x the model features' cosine similarity "
        "+ w x the colours' agreement (1 = the same colours). Other retrievers and fused "
        "answers: see `retrievers`."
    )
    matched_image_url: str | None = Field(
        None,
        description="The gallery image that matched best (the product is listed once, at that "
        "image's score); absent where no image vector ranked it (a keyword match).",
    )


def new_search_id() -> str:
    """A fresh random id for one search answer (what events refer to)."""
    return uuid.uuid4().hex


SEARCH_ID_PATTERN = r"^[0-9a-f]{32}$"


class CropBox(BaseModel):
    """A region of the query image as fractions of its (upright) width and height: what
    ``crop=x,y,w,h`` takes, so a client can send it back unchanged."""

    x: float = Field(ge=0, le=1, description="Left edge, fraction of the width.")
    y: float = Field(ge=0, le=1, description="Top edge, fraction of the height.")
    w: float = Field(gt=0, le=1, description="Width, fraction of the width.")
    h: float = Field(gt=0, le=1, description="Height, fraction of the height.")


class SearchResponse(BaseModel):
    results: list[SearchHit]
    cache: bool = Field(description="Answered from the result cache.")
    count: int = Field(description="Results in this page.")
    offset: int = Field(0, description="Rank of the first result (0-based).")
    has_more: bool = Field(False, description="Another page follows this one.")
    facets: Facets | None = Field(
        None,
        description="With facets=...: counts over the best-ranked candidates that pass the "
        "filters (up to VISUALSEARCH_FACET_DEPTH, 200 by default), each field counted "
        "without its own filter.",
    )
    search_id: str = Field(
        default_factory=new_search_id,
        pattern=SEARCH_ID_PATTERN,
        description="This answer's id (new for every answer, a cached one too): send it "
        "back with POST /events when the shopper clicks or buys a result.",
    )
    retrievers: list[str] = Field(
        default_factory=list,
        description="The retrievers that ranked this answer (visual, clip_text, keyword, "
        "semantic). One: score is its own (the vectors' dot product, for image vectors with "
        "their colours; the keyword score). More: score "
        "is the normalised reciprocal rank fusion score (1 = first in every one of them).",
    )
    did_you_mean: str | None = Field(
        default=None,
        description="A text search that found nothing: the query with its words replaced by "
        "the closest catalogue words (pg_trgm), when there are such words; search that instead.",
    )
    suggested_crop: CropBox | None = Field(
        default=None,
        description="An image query: the box of the one object the picture shows on a "
        "transparent or plain background or inside a page's chrome (found from the alpha "
        "channel or the border colour, no model), as x,y,w,h fractions of the whole picture; "
        "null when there is no single clear object (a photograph's scene, two products, an "
        "object filling the picture). A suggestion: the search embedded the whole picture or "
        "the crop that was sent (unless the shop set VISUALSEARCH_AUTO_CROP_BELOW and no crop "
        "was sent); send it as crop=x,y,w,h to search the box.",
    )


class JobOut(BaseModel):
    job_id: str
    product_id: str
    status: Literal["queued", "running", "done", "failed"]
    attempts: int
    error: str | None = None
    created_at: float
    updated_at: float


class IndexAccepted(BaseModel):
    job_id: str
    product_id: str
    status: str = "queued"


class DeadLetters(BaseModel):
    jobs: list[JobOut]


class Rejected(BaseModel):
    row: int
    product_id: str | None
    reason: str


class DuplicatePair(BaseModel):
    """Two products whose main images are near-duplicates (a double listing, most often)."""

    product_id: str = Field(description="The pair's first product id (ids in sorted order).")
    other_id: str = Field(description="The pair's second product id.")
    score: float = Field(description="Cosine similarity of the two main images' vectors.")


class Duplicates(BaseModel):
    threshold: float = Field(
        description="The cosine at or above which two main images count as near-duplicates."
    )
    total: int = Field(description="How many pairs there are in all pages.")
    offset: int = Field(description="The position of this page's first pair.")
    limit: int = Field(description="The most pairs a page holds.")
    pairs: list[DuplicatePair] = Field(
        description="This page of the pairs: each pair once, the most similar first (then by "
        "product id), so pages do not overlap."
    )


class IngestSummary(BaseModel):
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejected] = Field(default_factory=list)
    duplicates: list[DuplicatePair] = Field(
        default_factory=list,
        description="Near-duplicate pairs (main images, cosine >= 0.98) with at least one "
        "product this load indexed, each pair once.",
    )

    @property
    def total(self) -> int:
        return self.added + self.updated + self.unchanged + len(self.rejected)


class Info(BaseModel):
    model: str
    dim: int
    text_search: bool
    products: int
    vectors: int
    index_version: int
    vector_store: str = Field(
        description="The vector index in use: qdrant, pgvector or qdrant-edge."
    )
    embed_backend: str = Field(
        description="Image-tower runtime: torch, onnx, int8, or remote (a separate embedder)."
    )
    warning: str | None = None
    retrievers: list[str] = Field(
        default_factory=list,
        description="Retrievers text and image searches fuse: visual, clip_text, keyword, "
        "semantic (text search always works: keyword at least).",
    )


class Synonyms(BaseModel):
    synonyms: str = Field(
        description="The rules, Solr/Elasticsearch format: one a line, 'couch, sofa' (equivalent "
        "terms) or 'sneakers => running shoes' (searched as the right side); '#' comments."
    )
    version: int = Field(description="Goes up with every change (0: never set).")
    rules: int = Field(description="Rules (lines that are not blank or comments).")
    file: str | None = Field(
        description="VISUALSEARCH_SYNONYMS_FILE, when set: imported at start and when it "
        "changes; PUT rewrites it where it is writable."
    )


class SynonymsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    synonyms: str = Field(
        max_length=256 * 1024, description=Synonyms.model_fields["synonyms"].description
    )


class Suggestion(BaseModel):
    text: str = Field(description="What to put in the search box.")
    kind: Literal["product", "brand", "category"]
    product_id: str | None = Field(None, description="For kind=product: the product.")


class Suggestions(BaseModel):
    query: str
    suggestions: list[Suggestion] = Field(
        description="Best first: names, brands and categories that start with the typed words "
        "(the last one as a prefix), then close ones by trigram similarity (typos)."
    )


class ErrorBody(BaseModel):
    detail: str
    code: str
