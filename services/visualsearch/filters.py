"""What a shop narrows a search or a catalogue page by: one value type, shared by every layer.

Handlers build a :class:`ProductFilter` from the request (``parse_filter``), services pass it
through, and every store applies it inside its own query: the vector stores inside the ANN scan
(payload indexes), the catalogue in SQL. Facets count each field without that field's own
filter (:meth:`ProductFilter.without`), as e-commerce facets do.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Literal

from visualsearch.exceptions import ValidationError

FacetField = Literal["category", "brand", "price", "in_stock"]
FACET_FIELDS: tuple[FacetField, ...] = ("category", "brand", "price", "in_stock")

FACETS_PATTERN = (
    r"^(true|false|1|0|yes|no|on|off|"
    r"(category|brand|price|in_stock)(,(category|brand|price|in_stock))*)$"
)
"""What ``facets=`` accepts, exactly (the published schema declares the same pattern)."""

MAX_VALUES = 100
"""The most values one list filter (``category``, ``brand``) may name."""
MAX_VALUE_LENGTH = 200
MAX_PRICE = Decimal("9999999999.99")


@dataclass(frozen=True)
class ProductFilter:
    """A conjunction: a product passes when it matches every field that is set.

    ``categories`` / ``brands`` match any of their values (exact, case-sensitive, as stored);
    ``price_min`` / ``price_max`` are inclusive; ``in_stock`` keeps products with stock > 0.
    """

    categories: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    in_stock: bool = False

    @property
    def is_empty(self) -> bool:
        return self == ProductFilter()

    def without(self, field: FacetField) -> ProductFilter:
        """This filter less the one facet field (for that field's counts)."""
        if field == "category":
            return replace(self, categories=())
        if field == "brand":
            return replace(self, brands=())
        if field == "price":
            return replace(self, price_min=None, price_max=None)
        return replace(self, in_stock=False)

    def matches(self, category: str, brand: str, price: Decimal | float, stock: int) -> bool:
        """The reference semantics, in Python (tests and small in-memory checks use it)."""
        if self.categories and category not in self.categories:
            return False
        if self.brands and brand not in self.brands:
            return False
        value = Decimal(str(price))
        if self.price_min is not None and value < self.price_min:
            return False
        if self.price_max is not None and value > self.price_max:
            return False
        return not (self.in_stock and stock <= 0)

    def cache_key(self) -> list[object]:
        """A JSON-able, order-independent form for result-cache keys."""
        return [
            sorted(self.categories),
            sorted(self.brands),
            None if self.price_min is None else str(self.price_min),
            None if self.price_max is None else str(self.price_max),
            self.in_stock,
        ]


def split_values(name: str, raw: Iterable[str] | str | None) -> tuple[str, ...]:
    """``a,b`` or the parameter repeated (or both) → distinct values in first-seen order."""
    if raw is None:
        return ()
    chunks = [raw] if isinstance(raw, str) else list(raw)
    values: list[str] = []
    for chunk in chunks:
        for part in chunk.split(","):
            value = part.strip()
            if not value:
                continue
            if len(value) > MAX_VALUE_LENGTH:
                raise ValidationError(
                    f"{name}: a value is longer than {MAX_VALUE_LENGTH} characters."
                )
            if value not in values:
                values.append(value)
            if len(values) > MAX_VALUES:
                raise ValidationError(f"{name}: at most {MAX_VALUES} values may be given.")
    return tuple(values)


def parse_price(name: str, raw: str | float | Decimal | None) -> Decimal | None:
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ValidationError(f"{name}: '{raw}' is not a number.") from None
    if not value.is_finite():
        raise ValidationError(f"{name}: must be a finite number.")
    if value < 0:
        raise ValidationError(f"{name}: must not be negative.")
    if value > MAX_PRICE:
        raise ValidationError(f"{name}: must be at most {MAX_PRICE}.")
    return value


def parse_filter(
    category: Iterable[str] | str | None = None,
    brand: Iterable[str] | str | None = None,
    price_min: str | float | Decimal | None = None,
    price_max: str | float | Decimal | None = None,
    in_stock: bool | None = None,
) -> ProductFilter:
    """Validate request parameters into a filter; a :class:`ValidationError` (422) says why."""
    low = parse_price("price_min", price_min)
    high = parse_price("price_max", price_max)
    if low is not None and high is not None and low > high:
        raise ValidationError(f"price_min ({low}) is greater than price_max ({high}).")
    return ProductFilter(
        categories=split_values("category", category),
        brands=split_values("brand", brand),
        price_min=low,
        price_max=high,
        in_stock=bool(in_stock),
    )


def parse_facets(raw: bool | str | None) -> tuple[FacetField, ...]:
    """``facets=true`` → every facet; ``facets=brand,price`` → those; anything else is a 422."""
    if raw is None or raw is False:
        return ()
    if raw is True:
        return FACET_FIELDS
    if not re.fullmatch(FACETS_PATTERN, raw):
        unknown = [n for n in raw.split(",") if n not in FACET_FIELDS]
        raise ValidationError(
            f"facets: unknown facet {', '.join(repr(n) for n in unknown)}; "
            f"use true, false or a comma list of {', '.join(FACET_FIELDS)}."
        )
    if raw in ("false", "0", "no", "off"):
        return ()
    if raw in ("true", "1", "yes", "on"):
        return FACET_FIELDS
    names = raw.split(",")
    return tuple(f for f in FACET_FIELDS if f in names)
