"""The parameters that narrow and page a ranked answer (search, similar products): one
vocabulary, documented once, and the rule for a parameter sent in both the query string and the
form (``pick``: the same value twice is one value; different values are a 422)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Query

from visualsearch.exceptions import ValidationError
from visualsearch.filters import (
    FACETS_PATTERN,
    MAX_PRICE,
    FacetField,
    ProductFilter,
    parse_facets,
    parse_filter,
    split_values,
)
from visualsearch.services.search import MAX_TOP_K, MAX_WINDOW

T = TypeVar("T")

TOP_K = f"Results per page (1-{MAX_TOP_K}; default 12)."
OFFSET = f"Rank of the first result, for pages (offset + top_k <= {MAX_WINDOW})."
CATEGORY = "Only these categories: a value, a comma list, or the parameter repeated."
BRAND = "Only these brands: a value, a comma list, or the parameter repeated."
PRICE_MIN = "Lowest price, inclusive."
PRICE_MAX = "Highest price, inclusive."
IN_STOCK = "Only products with stock > 0."
MIN_SCORE = "Drop results scoring below this (0-1); fewer than top_k results is then normal."
FACETS = "true (every facet) or a comma list of category, brand, price, in_stock."
QTopK = Annotated[int | None, Query(ge=1, le=MAX_TOP_K, description=TOP_K)]
QOffset = Annotated[int | None, Query(ge=0, le=MAX_WINDOW, description=OFFSET)]
QCategory = Annotated[list[str] | None, Query(description=CATEGORY)]
QBrand = Annotated[list[str] | None, Query(description=BRAND)]
# numbers in the schema (a Decimal would publish "number or string", and an empty string passes)
PRICE_RANGE = {"ge": 0, "le": float(MAX_PRICE)}
QPriceMin = Annotated[float | None, Query(ge=0, le=float(MAX_PRICE), description=PRICE_MIN)]
QPriceMax = Annotated[float | None, Query(ge=0, le=float(MAX_PRICE), description=PRICE_MAX)]
QInStock = Annotated[bool | None, Query(description=IN_STOCK)]
QMinScore = Annotated[float | None, Query(ge=0, le=1, description=MIN_SCORE)]
QFacets = Annotated[str | None, Query(max_length=100, pattern=FACETS_PATTERN, description=FACETS)]


def pick(name: str, in_query: T | None, in_form: T | None) -> T | None:
    """The one value of a parameter that may come in the query string or the form."""
    if in_query is not None and in_form is not None and in_query != in_form:
        raise ValidationError(
            f"{name} was sent both in the query string ({in_query}) and as a form field "
            f"({in_form}) with different values; send it once."
        )
    return in_query if in_query is not None else in_form


def pick_list(
    name: str, in_query: Sequence[str] | None, in_form: Sequence[str] | None
) -> tuple[str, ...] | None:
    query = split_values(name, in_query) if in_query else None
    form = split_values(name, in_form) if in_form else None
    if query is not None and form is not None and set(query) != set(form):
        raise ValidationError(
            f"{name} was sent both in the query string ({','.join(query)}) and as a form field "
            f"({','.join(form)}) with different values; send it once."
        )
    return query if query is not None else form


@dataclass(frozen=True)
class ResultParams:
    """What a query-string-only route (``GET /search``, similar products) was asked for."""

    top_k: int | None
    offset: int
    filter: ProductFilter
    min_score: float | None
    facets: tuple[FacetField, ...]


async def result_params(
    top_k: QTopK = None,
    offset: QOffset = None,
    category: QCategory = None,
    brand: QBrand = None,
    price_min: QPriceMin = None,
    price_max: QPriceMax = None,
    in_stock: QInStock = None,
    min_score: QMinScore = None,
    facets: QFacets = None,
) -> ResultParams:
    """``async``: it does no I/O, and a plain ``def`` would cost a thread-pool hop a request."""
    return ResultParams(
        top_k,
        offset or 0,
        parse_filter(category, brand, price_min, price_max, in_stock),
        min_score,
        parse_facets(facets),
    )


ResultParamsDep = Annotated[ResultParams, Depends(result_params)]
