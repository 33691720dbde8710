"""Catalogue browsing in a real browser: the grid, category filter, sort, pagination, the total
count and the state kept in the URL."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from .actions import api, expect_query, grid_ids, open_shop, screenshot, wait_for_grid
from .shop import Shop

PAGE_SIZE = 24  # frontend/js/config.js
DASH = "\u2013"  # the en dash of the "Showing 1-24" line


def test_catalogue_renders_first_page_with_total(page: Page, shop: Shop, artifacts: Path) -> None:
    expected = api(shop, f"/products/?skip=0&limit={PAGE_SIZE}&sort=name")
    open_shop(page, shop)

    assert grid_ids(page) == [p["product_id"] for p in expected["items"]]
    expect(page.locator("#catalogue-count")).to_have_text(
        f"Showing 1{DASH}{PAGE_SIZE} of {expected['total']} products"
    )
    first = expected["items"][0]
    card = page.locator(f'#catalogue-grid .card[data-product-id="{first["product_id"]}"]')
    expect(card.locator(".card__link")).to_have_text(first["name"])
    expect(card.locator(".card__brand")).to_have_text(first["brand"])
    expect(card.locator(".card__price")).to_have_text(f"${first['price']:,.2f}")
    expect(card.locator("img")).to_have_attribute("alt", first["name"])
    # the images really load from the object store through /images/
    loaded = card.locator("img").evaluate(
        "img => img.decode().then(() => img.naturalWidth).catch(() => 0)"
    )
    assert loaded > 0

    categories = api(shop, "/products/categories")["categories"]
    assert page.locator("#category-chips .chip").count() == len(categories) + 1
    expect(page.locator('#category-chips .chip[aria-current="page"]')).to_contain_text("All")
    screenshot(page, artifacts, "desktop-catalogue")


def test_category_filter_changes_grid_count_and_url(page: Page, shop: Shop) -> None:
    categories = api(shop, "/products/categories")["categories"]
    chosen = categories[len(categories) // 2]
    open_shop(page, shop)
    before = grid_ids(page)

    page.click(f'#category-chips .chip[data-category="{chosen["name"]}"]')
    expect(page.locator("#catalogue-count")).to_contain_text(f"of {chosen['count']} product")
    wait_for_grid(page)

    expected = api(shop, f"/products/?skip=0&limit={PAGE_SIZE}&category={chosen['name']}")
    assert grid_ids(page) == [p["product_id"] for p in expected["items"]]
    assert grid_ids(page) != before
    expect_query(page, {"category": chosen["name"]})
    expect(page.locator(f'.chip[data-category="{chosen["name"]}"]')).to_have_attribute(
        "aria-current", "page"
    )


def _grid_prices(page: Page) -> list[float]:
    texts = page.locator("#catalogue-grid .card__price").all_text_contents()
    return [float(t.replace("$", "").replace(",", "")) for t in texts]


def test_sort_changes_grid_order(page: Page, shop: Shop) -> None:
    open_shop(page, shop)
    by_name = grid_ids(page)

    page.select_option("#sort-select", "price_asc")
    expect(page).to_have_url(re.compile(r"[?&]sort=price_asc"))
    expected = api(shop, f"/products/?skip=0&limit={PAGE_SIZE}&sort=price_asc")
    expect(page.locator("#catalogue-grid .card").first).to_have_attribute(
        "data-product-id", expected["items"][0]["product_id"]
    )
    ascending = _grid_prices(page)
    assert ascending == sorted(ascending)
    assert grid_ids(page) != by_name

    page.select_option("#sort-select", "price_desc")
    expected = api(shop, f"/products/?skip=0&limit={PAGE_SIZE}&sort=price_desc")
    expect(page.locator("#catalogue-grid .card").first).to_have_attribute(
        "data-product-id", expected["items"][0]["product_id"]
    )
    descending = _grid_prices(page)
    assert descending == sorted(descending, reverse=True)
    assert descending[0] > ascending[0]

    page.select_option("#sort-select", "rating")
    expected = api(shop, f"/products/?skip=0&limit={PAGE_SIZE}&sort=rating")
    expect(page.locator("#catalogue-grid .card").first).to_have_attribute(
        "data-product-id", expected["items"][0]["product_id"]
    )
    assert grid_ids(page) == [p["product_id"] for p in expected["items"]]
    ratings = [
        float(t) for t in page.locator("#catalogue-grid .card__rating-value").all_text_contents()
    ]
    assert ratings == sorted(ratings, reverse=True)
    expect(page.locator("#sort-select")).to_have_value("rating")


def test_pagination_reload_and_back(page: Page, shop: Shop) -> None:
    total = api(shop, "/products/?skip=0&limit=1")["total"]
    pages = -(-total // PAGE_SIZE)
    open_shop(page, shop)
    first_page = grid_ids(page)

    page.click("#pagination [data-nav=next]")
    expect(page.locator("#catalogue-count")).to_contain_text(f"Showing {PAGE_SIZE + 1}{DASH}")
    wait_for_grid(page)
    second = api(shop, f"/products/?skip={PAGE_SIZE}&limit={PAGE_SIZE}&sort=name")
    assert grid_ids(page) == [p["product_id"] for p in second["items"]]
    expect_query(page, {"page": "2"})
    expect(page.locator('#pagination [aria-current="page"]')).to_have_text("2")

    # the state lives in the URL: a reload shows the same page
    page.reload()
    wait_for_grid(page)
    assert grid_ids(page) == [p["product_id"] for p in second["items"]]

    # the last page holds the remainder
    page.click(f'#pagination [data-page="{pages}"]')
    remainder = total - (pages - 1) * PAGE_SIZE
    expect(page.locator("#catalogue-count")).to_have_text(
        f"Showing {(pages - 1) * PAGE_SIZE + 1}{DASH}{total} of {total} products"
    )
    expect(page.locator("#catalogue-grid .card[data-product-id]")).to_have_count(remainder)
    expect(page.locator("#pagination [data-nav=next]")).to_have_count(0)

    # Back returns to page 2, then to page 1
    page.go_back()
    expect(page.locator('#pagination [aria-current="page"]')).to_have_text("2")
    page.go_back()
    expect(page.locator('#pagination [aria-current="page"]')).to_have_text("1")
    wait_for_grid(page)
    assert grid_ids(page) == first_page


def test_shared_url_restores_category_sort_and_page(page: Page, shop: Shop) -> None:
    categories = api(shop, "/products/categories")["categories"]
    big = max(categories, key=lambda c: c["count"])
    open_shop(page, shop, f"?category={big['name']}&sort=price_desc")

    expect(page.locator("#sort-select")).to_have_value("price_desc")
    expect(page.locator(f'.chip[data-category="{big["name"]}"]')).to_have_attribute(
        "aria-current", "page"
    )
    expected = api(shop, f"/products/?limit={PAGE_SIZE}&category={big['name']}&sort=price_desc")
    assert grid_ids(page) == [p["product_id"] for p in expected["items"]]
    expect(page.locator("#catalogue-count")).to_contain_text(f"of {big['count']} product")
