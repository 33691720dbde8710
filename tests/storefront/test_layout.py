"""The layout from phone to desktop, and a whole shopping session without a console error.
Saves screenshots of the main states at phone width under artifacts/storefront/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page, expect

from .actions import api, open_shop, paste, product_image, screenshot, wait_for_results
from .conftest import ConsoleLog
from .shop import Shop


def _no_horizontal_overflow(page: Page) -> None:
    widths: dict[str, Any] = page.evaluate(
        "({doc: document.documentElement.scrollWidth, view: window.innerWidth})"
    )
    assert widths["doc"] <= widths["view"], widths


def test_phone_layout(phone_page: Page, shop: Shop, artifacts: Path) -> None:
    page = phone_page
    open_shop(page, shop)
    _no_horizontal_overflow(page)
    # two columns of cards on a phone
    boxes = [page.locator("#catalogue-grid .card").nth(i).bounding_box() for i in range(3)]
    assert boxes[0] and boxes[1] and boxes[2]
    assert boxes[0]["y"] == boxes[1]["y"] and boxes[2]["y"] > boxes[0]["y"]
    assert boxes[0]["width"] < 200
    screenshot(page, artifacts, "phone-catalogue")
    screenshot(page, artifacts, "phone-catalogue-full", full_page=True)

    product = api(shop, "/products/?skip=0&limit=40&sort=price_asc")["items"][5]
    paste(page, product_image(shop, product))
    found = wait_for_results(page)
    assert found[0]["id"] == product["product_id"]
    drawer = page.locator("#search-drawer").bounding_box()
    assert drawer and round(drawer["width"]) == 390  # the drawer takes the whole phone screen
    screenshot(page, artifacts, "phone-search-results")

    page.click(f'#results-grid .card[data-product-id="{found[1]["id"]}"] .card__link')
    expect(page.locator("#product-modal")).to_have_attribute("open", "")
    modal = page.locator("#product-modal").bounding_box()
    assert modal and modal["width"] <= 390
    screenshot(page, artifacts, "phone-modal")
    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    expect(page.locator("dialog[open]")).to_have_count(0)
    _no_horizontal_overflow(page)


def test_desktop_grid_uses_the_width(page: Page, shop: Shop) -> None:
    open_shop(page, shop)
    _no_horizontal_overflow(page)
    tops = page.locator("#catalogue-grid .card").evaluate_all(
        "cards => cards.slice(0, 8).map(c => Math.round(c.getBoundingClientRect().top))"
    )
    assert tops.count(tops[0]) >= 4  # at least four cards a row at 1366 px


def test_whole_session_without_console_errors(page: Page, shop: Shop, console: ConsoleLog) -> None:
    """Browse, filter, sort, page, open a product, find similar, paste: no console error at all."""
    categories = api(shop, "/products/categories")["categories"]
    open_shop(page, shop)
    page.click(f'.chip[data-category="{categories[0]["name"]}"]')
    expect(page.locator("#catalogue-count")).to_contain_text(f"of {categories[0]['count']}")
    page.select_option("#sort-select", "price_desc")
    page.click('.chip[data-category=""]')
    page.click("#pagination [data-nav=next]")
    expect(page.locator('#pagination [aria-current="page"]')).to_have_text("2")
    page.locator("#catalogue-grid .card__link").first.click()
    page.click("#find-similar")
    wait_for_results(page)
    product = api(shop, "/products/?skip=0&limit=1&sort=name")["items"][0]
    paste(page, product_image(shop, product))
    expect(page.locator("#results-grid .card").first).to_have_attribute(
        "data-product-id", product["product_id"]
    )
    page.keyboard.press("Escape")
    page.go_back()
    page.wait_for_load_state("networkidle")
    assert console.errors == []
