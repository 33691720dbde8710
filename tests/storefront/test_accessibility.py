"""WCAG 2.1 AA in a real browser: axe-core runs over the catalogue (with its filter panel open and
filters set), the search drawer with results and its filter panel, and the product modal, at
desktop and phone width. No serious or critical finding is allowed; all findings are printed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from .a11y import assert_accessible
from .actions import api, open_shop, paste, product_image, screenshot, wait_for_results
from .shop import Shop


def _product(shop: Shop, index: int = 5) -> dict[str, Any]:
    items: list[dict[str, Any]] = api(shop, "/products/?skip=0&limit=40&sort=rating")["items"]
    return items[index]


def test_catalogue_is_accessible(page: Page, shop: Shop) -> None:
    open_shop(page, shop)
    expect(page.locator("#catalogue-filters details")).to_have_attribute("open", "")
    assert_accessible(page, "the catalogue")


def test_catalogue_with_filters_and_errors_is_accessible(
    page: Page, shop: Shop, artifacts: Path
) -> None:
    product = _product(shop)
    open_shop(page, shop, f"?brand={product['brand']}&in_stock=true&sort=price_desc&page=1")
    page.fill("#catalogue-filters input[name=price_min]", "90")
    page.fill("#catalogue-filters input[name=price_max]", "10")
    page.press("#catalogue-filters input[name=price_max]", "Enter")
    expect(page.locator("#catalogue-filters .field__error")).to_be_visible()
    assert_accessible(page, "the filter panel (filters set, a price error shown)")
    screenshot(page, artifacts, "desktop-filters-price-error")


def test_search_drawer_with_results_is_accessible(page: Page, shop: Shop) -> None:
    open_shop(page, shop)
    paste(page, product_image(shop, _product(shop)))
    wait_for_results(page)
    expect(page.locator("#search-filters details")).to_have_attribute("open", "")
    assert_accessible(page, "the search drawer with results", include="#search-drawer")


def test_product_modal_is_accessible(page: Page, shop: Shop) -> None:
    product = _product(shop)
    open_shop(page, shop, f"?product={product['product_id']}")
    expect(page.locator("#product-modal")).to_have_attribute("open", "")
    expect(page.locator("#modal-title")).to_have_text(product["name"])
    page.wait_for_timeout(300)  # the opening animation
    assert_accessible(page, "the product modal", include="#product-modal")


def test_phone_views_are_accessible(phone_page: Page, shop: Shop, artifacts: Path) -> None:
    page = phone_page
    open_shop(page, shop)
    # on a phone the filter panel starts folded; open it as a shopper would
    page.click("#catalogue-filters summary")
    assert_accessible(page, "the catalogue on a phone")
    screenshot(page, artifacts, "phone-catalogue-filters-open", full_page=True)
    paste(page, product_image(shop, _product(shop, 9)))
    wait_for_results(page)
    assert_accessible(page, "the search drawer on a phone", include="#search-drawer")
