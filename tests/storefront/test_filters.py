"""The filter panel (brand, price range, in stock, category counts) beside the catalogue and above
the search results, and "Show more" through the results, in a real browser against the real API.

What the shopper sees is checked against the API's own answers: a filter really narrows the grid
(every card passes it, the ids are the API's filtered page), the counts shown are the API's
`facets`, and "Show more" appends the next page with no duplicate, equal to one bigger request.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from .actions import (
    ImageFile,
    api,
    expect_query,
    grid_ids,
    open_shop,
    paste,
    product_image,
    results,
    screenshot,
    wait_for_grid,
    wait_for_results,
)
from .shop import Shop

PAGE_SIZE = 24  # frontend/js/config.js PAGE_SIZE
TOP_K = 24  # frontend/js/config.js SEARCH_TOP_K
CATALOGUE = "#catalogue-filters"
SEARCH = "#search-filters"


def _products(shop: Shop, **params: Any) -> dict[str, Any]:
    query = urlencode({"skip": 0, "limit": PAGE_SIZE, "sort": "name", **params}, doseq=True)
    body: dict[str, Any] = api(shop, f"/products/?{query}")
    return body


def _search(shop: Shop, image: ImageFile, **params: Any) -> dict[str, Any]:
    """`POST /search` with the image and `params` in the query string, as the page sends them."""
    response = httpx.post(
        shop.url("/search"),
        params=params,
        files={"file": (image.name, image.data, image.mime_type)},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _facet_counts(page: Page, panel: str) -> dict[str, int]:
    """The brand counts a panel shows, by brand."""
    items = page.locator(f"{panel} .facet[data-facet=brand] .facet__item").evaluate_all(
        "items => items.map(i => [i.dataset.value, i.dataset.count])"
    )
    return {name: int(count) for name, count in items if count != ""}


def _show_all_brands(page: Page, panel: str) -> None:
    more = page.locator(f"{panel} .facet-more")
    if more.is_visible() and more.get_attribute("aria-expanded") == "false":
        more.click()


def _brand_box(page: Page, panel: str, brand: str) -> Locator:
    return page.locator(f'{panel} .facet__item[data-value="{brand}"] input')


@pytest.fixture(scope="module")
def facets(shop: Shop) -> dict[str, Any]:
    """The whole catalogue's facets, from the API."""
    body = _products(shop, limit=1, facets="true")
    assert "facets" in body, "GET /products/?facets=true answers no facets (SPEC §3)"
    found: dict[str, Any] = body["facets"]
    return found


def test_catalogue_brand_filter_narrows_with_the_apis_counts(
    page: Page, shop: Shop, facets: dict[str, Any], artifacts: Path
) -> None:
    brands = facets["brand"]
    brand = max(sorted(brands), key=lambda b: brands[b])
    open_shop(page, shop)
    _show_all_brands(page, CATALOGUE)
    # every brand the API counts is listed with its count
    assert _facet_counts(page, CATALOGUE) == brands
    expect(page.locator(f"{CATALOGUE} .facet--stock")).to_have_attribute(
        "data-count", str(facets["in_stock"])
    )

    _brand_box(page, CATALOGUE, brand).check()
    expect_query(page, {"brand": brand})
    expect(page.locator("#catalogue-count")).to_contain_text(
        f"of {brands[brand]} product", use_inner_text=True
    )
    wait_for_grid(page)
    expected = _products(shop, brand=brand)
    assert grid_ids(page) == [p["product_id"] for p in expected["items"]]
    shown = page.locator("#catalogue-grid .card__brand").all_text_contents()
    assert shown and set(shown) == {brand}
    # the other brands still show their own counts (a field is counted without its own filter)
    _show_all_brands(page, CATALOGUE)
    assert (
        _facet_counts(page, CATALOGUE)
        == _products(shop, brand=brand, facets="true")["facets"]["brand"]
    )
    # the category chips count what passes the brand filter
    category_counts = (
        expected.get("facets", {}).get("category")
        or _products(shop, brand=brand, facets="true")["facets"]["category"]
    )
    for name, count in category_counts.items():
        expect(page.locator(f'.chip[data-category="{name}"] .chip__count')).to_have_text(str(count))
    screenshot(page, artifacts, "desktop-catalogue-filtered")


def test_catalogue_price_and_stock_filters_combine(
    page: Page, shop: Shop, facets: dict[str, Any]
) -> None:
    low = float(facets["price"]["min"])
    high = float(facets["price"]["max"])
    ceiling = round(low + (high - low) / 50, 2)  # a cheap slice of the catalogue
    open_shop(page, shop)

    page.fill(f"{CATALOGUE} input[name=price_max]", str(ceiling))
    page.press(f"{CATALOGUE} input[name=price_max]", "Enter")
    expect_query(page, {"price_max": str(ceiling)})
    page.check(f"{CATALOGUE} .switch__input")
    expect_query(page, {"price_max": str(ceiling), "in_stock": "true"})
    wait_for_grid(page)

    expected = _products(shop, price_max=ceiling, in_stock="true", facets="true")
    assert expected["total"] < 216
    assert grid_ids(page) == [p["product_id"] for p in expected["items"]]
    assert all(p["price"] <= ceiling and p["stock"] > 0 for p in expected["items"])
    expect(page.locator("#catalogue-count")).to_contain_text(f"of {expected['total']} product")
    expect(page.locator(f"{CATALOGUE} .facet--stock")).to_have_attribute(
        "data-count", str(expected["facets"]["in_stock"])
    )


def test_catalogue_filters_live_in_the_url(page: Page, shop: Shop) -> None:
    """Reload, Back and Forward restore the filters (their controls and the request sent)."""
    product = _products(shop)["items"][3]
    brand = product["brand"]
    open_shop(page, shop, f"?brand={brand}&price_min=1&in_stock=true")

    expect(_brand_box(page, CATALOGUE, brand)).to_be_checked()
    expect(page.locator(f"{CATALOGUE} input[name=price_min]")).to_have_value("1")
    expect(page.locator(f"{CATALOGUE} .switch__input")).to_be_checked()
    expect(page.locator(f"{CATALOGUE} .filters__active")).to_have_text("3 active")
    # the chips and the cards link to views that keep the filters
    href = page.locator(".chip").nth(1).get_attribute("href") or ""
    assert f"brand={brand}" in href.replace("+", " ").replace("%20", " ")

    page.uncheck(f"{CATALOGUE} .switch__input")
    expect_query(page, {"brand": brand, "price_min": "1"})
    page.reload()
    expect(page.locator("html")).to_have_attribute("data-ready", "true")
    expect(page.locator(f"{CATALOGUE} .switch__input")).not_to_be_checked()
    expect(_brand_box(page, CATALOGUE, brand)).to_be_checked()

    page.go_back()
    expect_query(page, {"brand": brand, "price_min": "1", "in_stock": "true"})
    expect(page.locator(f"{CATALOGUE} .switch__input")).to_be_checked()
    page.go_forward()
    expect(page.locator(f"{CATALOGUE} .switch__input")).not_to_be_checked()

    page.click(f"{CATALOGUE} .filters__clear")
    expect_query(page, {})
    expect(page.locator(f"{CATALOGUE} .filters__active")).to_have_text("")


def test_price_range_is_validated(page: Page, shop: Shop) -> None:
    open_shop(page, shop)
    minimum = page.locator(f"{CATALOGUE} input[name=price_min]")
    maximum = page.locator(f"{CATALOGUE} input[name=price_max]")
    error = page.locator(f"{CATALOGUE} .field__error")

    minimum.fill("50")
    maximum.fill("10")
    maximum.press("Enter")
    expect(error).to_have_text("The minimum price is above the maximum.")
    expect(minimum).to_have_attribute("aria-invalid", "true")
    expect(minimum).to_be_focused()
    expect_query(page, {})

    minimum.fill("-5")
    maximum.fill("")
    minimum.press("Enter")
    expect(error).to_contain_text("0 or more")
    expect_query(page, {})

    minimum.fill("5")
    maximum.fill("80.5")
    page.click(f"{CATALOGUE} .price-range button[type=submit]")
    expect_query(page, {"price_min": "5", "price_max": "80.5"})
    expect(error).to_be_hidden()
    expect(minimum).not_to_have_attribute("aria-invalid", "true")


@pytest.fixture(scope="module")
def query_image(shop: Shop) -> ImageFile:
    """A product's image: the shopper's query."""
    return product_image(shop, _products(shop, sort="rating")["items"][5])


def test_search_filter_panel_narrows_results_with_the_apis_counts(
    page: Page, shop: Shop, query_image: ImageFile, artifacts: Path
) -> None:
    reference = _search(shop, query_image, top_k=TOP_K, facets="true")
    assert "facets" in reference, "POST /search?facets=true answers no facets (SPEC §1.5)"
    brands: dict[str, int] = reference["facets"]["brand"]
    brand = max(sorted(brands), key=lambda b: brands[b])

    open_shop(page, shop)
    paste(page, query_image)
    first = wait_for_results(page)
    assert [r["id"] for r in first] == [r["product_id"] for r in reference["results"]]
    _show_all_brands(page, SEARCH)
    assert _facet_counts(page, SEARCH) == brands
    # the drawer's category list carries the facet counts too
    for name, count in reference["facets"]["category"].items():
        expect(page.locator(f'#search-category option[value="{name}"]')).to_contain_text(
            f"({count})"
        )

    _brand_box(page, SEARCH, brand).check()
    expect_query(page, {"sbrand": brand})
    expect(page.locator("#results-meta")).to_contain_text("match", timeout=15_000)
    filtered = _search(shop, query_image, top_k=TOP_K, brand=brand, facets="true")
    expect(page.locator("#results-grid .card[data-product-id]")).to_have_count(
        len(filtered["results"])
    )
    found = wait_for_results(page)
    assert [r["id"] for r in found] == [r["product_id"] for r in filtered["results"]]
    assert {r["brand"] for r in found} == {brand}
    assert len(found) == min(brands[brand], TOP_K)
    # the brand's own facet is counted without the brand filter: the other brands stay
    _show_all_brands(page, SEARCH)
    assert _facet_counts(page, SEARCH) == filtered["facets"]["brand"]
    screenshot(page, artifacts, "desktop-search-filtered")

    # in stock on top: every result has stock
    page.check(f"{SEARCH} .switch__input")
    expect_query(page, {"sbrand": brand, "sin_stock": "true"})
    both = _search(shop, query_image, top_k=TOP_K, brand=brand, in_stock="true")
    expect(page.locator("#results-grid .card[data-product-id]")).to_have_count(len(both["results"]))
    assert all(r["stock"] > 0 for r in both["results"])

    # closing the drawer drops the search's filters from the URL
    page.keyboard.press("Escape")
    expect_query(page, {})


def test_show_more_appends_the_next_page_without_duplicates(
    page: Page, shop: Shop, query_image: ImageFile, artifacts: Path
) -> None:
    reference = _search(shop, query_image, top_k=2 * TOP_K)
    assert len(reference["results"]) == 2 * TOP_K
    open_shop(page, shop)
    paste(page, query_image)
    first = wait_for_results(page)
    assert len(first) == TOP_K
    more = page.locator("#results-more")
    expect(more).to_be_visible()

    more.focus()
    page.keyboard.press("Enter")
    cards = page.locator("#results-grid .card[data-product-id]")
    expect(cards).to_have_count(2 * TOP_K)
    shown = results(page)
    ids = [r["id"] for r in shown]
    assert len(set(ids)) == len(ids)
    # page 1 + page 2 == the first 2 x top_k of one request
    assert ids == [r["product_id"] for r in reference["results"]]
    assert [r["rank"] for r in shown] == list(range(1, 2 * TOP_K + 1))
    # the keyboard focus lands on the first new match
    expect(cards.nth(TOP_K).locator(".card__link")).to_be_focused()
    expect(page.locator("#results-meta")).to_contain_text(f"{2 * TOP_K} matches")
    screenshot(page, artifacts, "desktop-search-show-more")


def test_show_more_is_hidden_without_more(page: Page, shop: Shop) -> None:
    """A shared "find similar" link with a brand filter: fewer than a page, no "Show more"."""
    product = _products(shop, sort="rating")["items"][5]
    open_shop(page, shop, f"?similar={product['product_id']}&sbrand={product['brand']}")
    found = wait_for_results(page)
    expect(_brand_box(page, SEARCH, product["brand"])).to_be_checked()
    assert {r["brand"] for r in found} == {product["brand"]}
    assert len(found) < TOP_K
    expect(page.locator("#results-more")).to_be_hidden()
