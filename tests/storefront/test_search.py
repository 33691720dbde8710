"""Searching by image in a real browser: paste anywhere, drop anywhere and the file picker all open
the drawer and show scored results with the query's own product first; the category chosen in
the drawer narrows the results; "find similar" searches with a product's image."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .actions import (
    ImageFile,
    api,
    drag_over,
    drop,
    expect_query,
    open_shop,
    paste,
    pick_file,
    product_image,
    screenshot,
    wait_for_results,
)
from .shop import Shop

GREEN = "rgb(6, 118, 71)"  # --score-high in frontend/css/base.css


@pytest.fixture(scope="module")
def query_product(shop: Shop) -> dict[str, Any]:
    """A demo product whose image the shopper uses as the query."""
    items = api(shop, "/products/?skip=0&limit=40&sort=rating")["items"]
    return items[7]


@pytest.fixture(scope="module")
def query_image(shop: Shop, query_product: dict[str, Any]) -> ImageFile:
    """The bytes of that product's image, as served at its image_url."""
    return product_image(shop, query_product)


def _assert_found_first(page: Page, product: dict[str, Any]) -> list[dict[str, Any]]:
    expect(page.locator("#search-drawer")).to_have_attribute("open", "")
    expect(page.locator("#query-preview")).to_be_visible()
    found = wait_for_results(page)
    assert found[0]["id"] == product["product_id"], [r["id"] for r in found[:5]]
    assert found[0]["score"] >= 0.99
    assert found[0]["badge"] == f"{round(found[0]['score'] * 100)}% match"
    assert found[0]["confidence"] == "high"
    assert found[0]["badgeColor"] == GREEN
    assert found[0]["name"] == product["name"]
    assert found[0]["brand"] == product["brand"]
    assert found[0]["price"] == f"${product['price']:,.2f}"
    assert found[0]["imageAlt"] == product["name"]
    scores = [r["score"] for r in found]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert len(found) > 1
    return found


def test_paste_anywhere_opens_drawer_with_pasted_product_first(
    page: Page, shop: Shop, query_product: dict[str, Any], query_image: ImageFile, artifacts: Path
) -> None:
    open_shop(page, shop)
    expect(page.locator("#search-drawer")).not_to_have_attribute("open", "")

    paste(page, query_image)

    found = _assert_found_first(page, query_product)
    # every result has a colour-coded percentage badge
    assert all(r["badge"].endswith("% match") for r in found)
    assert {r["confidence"] for r in found} <= {"high", "medium", "low"}
    expect(page.locator("#results-meta")).to_contain_text(f"{len(found)} matches")
    screenshot(page, artifacts, "desktop-paste-results")


def test_drop_anywhere_searches(
    page: Page, shop: Shop, query_product: dict[str, Any], query_image: ImageFile
) -> None:
    open_shop(page, shop)
    # dragging a file over the page shows the drop target
    drag_over(page, query_image, "#catalogue-grid")
    expect(page.locator("#drop-overlay")).to_be_visible()
    expect(page.locator("#drop-overlay")).to_contain_text("Drop your image")

    drop(page, query_image, "#catalogue-grid")
    expect(page.locator("#drop-overlay")).to_be_hidden()
    _assert_found_first(page, query_product)

    # dropping on the drawer's own drop zone works too
    other = api(shop, "/products/?skip=0&limit=40&sort=price_desc")["items"][3]
    drop(page, product_image(shop, other), "#dropzone")
    expect(page.locator("#results-grid .card").first).to_have_attribute(
        "data-product-id", other["product_id"]
    )


def test_file_picker_searches(
    page: Page, shop: Shop, query_product: dict[str, Any], query_image: ImageFile, artifacts: Path
) -> None:
    open_shop(page, shop)
    page.click("#open-drawer")
    expect(page.locator("#search-drawer")).to_have_attribute("open", "")
    screenshot(page, artifacts, "desktop-drawer-empty")

    pick_file(page, query_image)
    _assert_found_first(page, query_product)
    expect(page.locator("#query-meta")).to_contain_text(query_image.name)


def test_category_chosen_before_searching_narrows_results(
    page: Page, shop: Shop, query_product: dict[str, Any], query_image: ImageFile
) -> None:
    categories = api(shop, "/products/categories")["categories"]
    other = next(c for c in categories if c["name"] != query_product["category"])
    open_shop(page, shop)
    page.click("#open-drawer")
    page.select_option("#search-category", other["name"])

    pick_file(page, query_image)
    found = wait_for_results(page)
    label = other["name"].replace("-", " ").replace("_", " ")
    assert {r["category"].lower() for r in found} == {label.lower()}
    assert query_product["product_id"] not in [r["id"] for r in found]
    assert len(found) <= other["count"]

    # switching the filter to the product's own category re-runs the search and finds it first
    page.select_option("#search-category", query_product["category"])
    expect(page.locator("#results-grid .card").first).to_have_attribute(
        "data-product-id", query_product["product_id"]
    )
    found = wait_for_results(page)
    own = query_product["category"].replace("-", " ").replace("_", " ").lower()
    assert {r["category"].lower() for r in found} == {own}


def test_find_similar_from_modal_and_shared_link(
    page: Page, shop: Shop, query_product: dict[str, Any]
) -> None:
    open_shop(page, shop, f"?product={query_product['product_id']}")
    expect(page.locator("#product-modal")).to_have_attribute("open", "")
    expect(page.locator("#modal-title")).to_have_text(query_product["name"])

    page.click("#find-similar")
    expect(page.locator("#product-modal")).not_to_have_attribute("open", "")
    _assert_found_first(page, query_product)
    expect(page.locator("#query-meta")).to_contain_text(f"Similar to {query_product['name']}")
    expect_query(page, {"similar": query_product["product_id"]})

    # the similar search is in the URL: a reload runs it again
    page.reload()
    _assert_found_first(page, query_product)

    # closing the drawer with Escape leaves the catalogue, and the URL forgets the search
    page.keyboard.press("Escape")
    expect(page.locator("#search-drawer")).not_to_have_attribute("open", "")
    expect_query(page, {})


def test_opening_a_result_shows_its_modal(
    page: Page, shop: Shop, query_product: dict[str, Any], query_image: ImageFile
) -> None:
    open_shop(page, shop)
    paste(page, query_image)
    found = wait_for_results(page)
    second = found[1]
    page.click(f'#results-grid .card[data-product-id="{second["id"]}"] .card__link')
    expect(page.locator("#product-modal")).to_have_attribute("open", "")
    expect(page.locator("#modal-title")).to_have_text(second["name"])
    # the modal closes first; the drawer with its results stays
    page.keyboard.press("Escape")
    expect(page.locator("#product-modal")).not_to_have_attribute("open", "")
    expect(page.locator("#search-drawer")).to_have_attribute("open", "")
    expect(page.locator(f'#results-grid .card[data-product-id="{second["id"]}"]')).to_be_visible()
