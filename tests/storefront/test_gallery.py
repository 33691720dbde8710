"""The product modal's gallery in a real browser: thumbnails for every image, picked by mouse
or keyboard, the one shown marked pressed.

The demo catalogue has no galleries yet (issue 17's second views are still to come), so the
product's answer is given two images here: a demo product's and another's."""

from __future__ import annotations

from playwright.sync_api import Page, Route, expect

from .actions import api, open_shop
from .shop import Shop


def test_the_modal_shows_the_gallery_and_the_keyboard_picks_an_image(
    page: Page, shop: Shop
) -> None:
    items = api(shop, "/products/?skip=0&limit=24&sort=name")["items"]
    product, other = items[1], items[5]
    gallery = [product["image_url"], other["image_url"]]

    def with_gallery(route: Route) -> None:
        body = route.fetch().json()
        route.fulfill(json={**body, "images": gallery})

    page.route(f"**/products/{product['product_id']}", with_gallery)
    open_shop(page, shop, f"?product={product['product_id']}")  # the modal asks for it
    modal = page.locator("#product-modal")
    expect(modal).to_have_attribute("open", "")
    thumbs = modal.locator(".modal__gallery .modal__thumb")
    expect(thumbs).to_have_count(2)
    expect(thumbs.nth(0)).to_have_attribute("aria-pressed", "true")
    expect(thumbs.nth(1)).to_have_attribute("aria-label", "Show image 2 of 2")

    thumbs.nth(1).focus()
    page.keyboard.press("Enter")
    expect(modal.locator(".modal__image")).to_have_attribute("src", other["image_url"])
    expect(thumbs.nth(1)).to_have_attribute("aria-pressed", "true")
    expect(thumbs.nth(0)).to_have_attribute("aria-pressed", "false")
    thumbs.nth(0).click()  # and by mouse
    expect(modal.locator(".modal__image")).to_have_attribute("src", product["image_url"])
