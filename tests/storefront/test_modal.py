"""The product modal in a real browser: every detail field, Escape, a click outside, the close
button, keyboard-only use, and the open product kept in the URL."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from .actions import api, expect_query, open_shop, screenshot
from .shop import Shop


def _stock_text(stock: int) -> str:
    if stock <= 0:
        return "Out of stock"
    if stock <= 10:  # LOW_STOCK in frontend/js/config.js
        return f"Only {stock} left"
    return f"In stock ({stock})"


def test_modal_shows_details_and_closes_with_escape(
    page: Page, shop: Shop, artifacts: Path
) -> None:
    open_shop(page, shop)
    product = api(shop, "/products/?skip=0&limit=24&sort=name")["items"][2]
    page.click(f'#catalogue-grid .card[data-product-id="{product["product_id"]}"] .card__link')

    modal = page.locator("#product-modal")
    expect(modal).to_have_attribute("open", "")
    expect(modal.locator("#modal-title")).to_have_text(product["name"])
    expect(modal.locator(".modal__brand")).to_have_text(f"by {product['brand']}")
    expect(modal.locator(".modal__price")).to_have_text(f"${product['price']:,.2f}")
    expect(modal.locator(".modal__description")).to_have_text(product["description"])
    expect(modal.locator(".modal__rating")).to_have_attribute(
        "aria-label", f"Rated {product['rating']:.1f} out of 5"
    )
    expect(modal.locator('[data-field="stock"]')).to_have_text(_stock_text(product["stock"]))
    expect(modal.locator('[data-field="warranty"]')).to_have_text(product["warranty"])
    expect(modal.locator(".modal__image")).to_have_attribute("alt", product["name"])
    expect(modal.locator("#find-similar")).to_be_visible()
    expect_query(page, {"product": product["product_id"]})
    screenshot(page, artifacts, "desktop-modal")

    page.keyboard.press("Escape")
    expect(modal).not_to_have_attribute("open", "")
    expect_query(page, {})
    # focus goes back to the card that opened the modal
    focused = page.evaluate("document.activeElement.closest('.card')?.dataset.productId")
    assert focused == product["product_id"]


def test_modal_closes_with_click_outside_and_close_button(page: Page, shop: Shop) -> None:
    open_shop(page, shop)
    modal = page.locator("#product-modal")

    page.locator("#catalogue-grid .card__link").nth(0).click()
    expect(modal).to_have_attribute("open", "")
    page.mouse.click(8, 8)  # the backdrop, outside the panel
    expect(modal).not_to_have_attribute("open", "")

    page.locator("#catalogue-grid .card__link").nth(1).click()
    expect(modal).to_have_attribute("open", "")
    box = page.locator("#modal-content").bounding_box()
    assert box
    page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + 20)  # inside the panel: stays open
    expect(modal).to_have_attribute("open", "")
    page.click(".modal__close")
    expect(modal).not_to_have_attribute("open", "")


def test_keyboard_only_browsing(page: Page, shop: Shop) -> None:
    """Tab reaches the cards, Enter opens the modal, Escape closes it."""
    open_shop(page, shop)
    first_id = page.locator("#catalogue-grid .card").first.get_attribute("data-product-id")
    page.locator("#sort-select").focus()
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.closest('.card')?.dataset.productId")
    assert focused == first_id
    page.keyboard.press("Enter")
    expect(page.locator("#product-modal")).to_have_attribute("open", "")
    expect(page.locator("#modal-content")).to_have_attribute("data-product-id", first_id or "")
    page.keyboard.press("Escape")
    expect(page.locator("#product-modal")).not_to_have_attribute("open", "")
    # Focus goes back to the card that opened it. Chromium itself restores focus when the dialog
    # closes, before our close handler (a queued task) runs and focuses the card again: wait for
    # that handler, which clears `product` from the URL, or focus moved now would be taken back.
    expect_query(page, {})
    page.wait_for_function(
        "id => document.activeElement.closest('.card')?.dataset.productId === id", arg=first_id
    )

    # the search drawer opens from the keyboard too
    page.locator("#open-drawer").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#search-drawer")).to_have_attribute("open", "")
    page.keyboard.press("Escape")
    expect(page.locator("#search-drawer")).not_to_have_attribute("open", "")


def test_unknown_product_in_url_says_so(page: Page, shop: Shop, console) -> None:
    console.allow(r"Failed to load resource: the server responded with a status of 404")
    open_shop(page, shop, "?product=no-such-product-xyz")
    expect(page.locator("#product-modal")).to_have_attribute("open", "")
    expect(page.locator("#modal-title")).to_have_text("Product not found")
    expect(page.locator(".modal__description")).to_contain_text("no longer in the catalogue")
