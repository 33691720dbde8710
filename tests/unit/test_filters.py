"""ProductFilter and its parsing: pure logic, milliseconds (the stores' tests apply it for real)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from visualsearch.exceptions import ValidationError
from visualsearch.filters import (
    FACET_FIELDS,
    MAX_VALUES,
    ProductFilter,
    parse_facets,
    parse_filter,
    split_values,
)


def test_lists_come_as_commas_or_repeats_and_lose_duplicates_and_blanks() -> None:
    assert split_values("brand", "Acme, Zed,,Acme") == ("Acme", "Zed")
    assert split_values("brand", ["Acme", "Zed,Yak", " "]) == ("Acme", "Zed", "Yak")
    assert split_values("brand", None) == ()


def test_a_list_longer_than_the_limit_is_refused() -> None:
    assert len(split_values("brand", [f"b{i}" for i in range(MAX_VALUES)])) == MAX_VALUES
    with pytest.raises(ValidationError, match="at most"):
        split_values("brand", ",".join(f"b{i}" for i in range(10_000)))
    with pytest.raises(ValidationError, match="longer than"):
        split_values("category", "x" * 201)


@pytest.mark.parametrize(
    ("low", "high", "message"),
    [
        ("-1", None, "negative"),
        (None, "abc", "not a number"),
        ("NaN", None, "finite"),
        ("Infinity", None, "finite"),
        ("10", "5", "greater than"),
        ("99999999999", None, "at most"),
    ],
)
def test_bad_prices_are_refused_with_a_reason(
    low: str | None, high: str | None, message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        parse_filter(price_min=low, price_max=high)


def test_a_parsed_filter_matches_as_documented() -> None:
    flt = parse_filter(category="shoes,bags", brand=["Acme"], price_min="10", price_max="20",
                       in_stock=True)  # fmt: skip
    assert flt == ProductFilter(("shoes", "bags"), ("Acme",), Decimal(10), Decimal(20), True)
    assert flt.matches("shoes", "Acme", 10, 1) and flt.matches("bags", "Acme", 20.0, 3)
    assert not flt.matches("hats", "Acme", 15, 1)  # category
    assert not flt.matches("shoes", "Zed", 15, 1)  # brand
    assert not flt.matches("shoes", "Acme", 9.99, 1)  # below the range
    assert not flt.matches("shoes", "Acme", 20.01, 1)  # above it
    assert not flt.matches("shoes", "Acme", 15, 0)  # sold out
    assert ProductFilter().matches("anything", "", 0, 0) and ProductFilter().is_empty


def test_each_facet_drops_only_its_own_field() -> None:
    flt = parse_filter(category="shoes", brand="Acme", price_min="1", in_stock=True)
    assert flt.without("brand") == ProductFilter(("shoes",), (), Decimal(1), None, True)
    assert flt.without("category").categories == () and flt.without("category").brands
    assert flt.without("price").price_min is None and flt.without("price").in_stock
    assert flt.without("in_stock").in_stock is False and flt.without("in_stock").price_min


def test_cache_keys_ignore_the_order_of_list_values() -> None:
    assert parse_filter(brand="a,b").cache_key() == parse_filter(brand="b,a").cache_key()
    assert parse_filter(brand="a").cache_key() != parse_filter(category="a").cache_key()


def test_facet_names() -> None:
    assert parse_facets("true") == FACET_FIELDS and parse_facets(True) == FACET_FIELDS
    assert parse_facets(None) == () and parse_facets("false") == ()
    assert parse_facets("price,brand") == ("brand", "price")  # canonical order
    with pytest.raises(ValidationError, match="unknown facet 'colour'"):
        parse_facets("brand,colour")
