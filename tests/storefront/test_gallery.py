"""The product modal's gallery in a real browser, against the real API: a demo product whose
second view was indexed for real (the demo catalogue gives every third product one) shows a
thumbnail per image, each served by the shop; the keyboard and the mouse pick the image shown,
and a search by the second view opens the modal on that image."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from .actions import ImageFile, api, open_shop, pick_file, wait_for_results
from .shop import Shop, http_get


def product_with_a_gallery(shop: Shop) -> dict[str, Any]:
    """The first demo product (by id) whose answer lists several images."""
    skip = 0
    while True:
        page = api(shop, f"/products/?skip={skip}&limit=200&sort=name")
        galleries = [p for p in page["items"] if len(p["images"]) > 1]
        if galleries:
            return min(galleries, key=lambda p: str(p["product_id"]))
        skip += len(page["items"])
        assert page["items"] and skip < page["total"], "no demo product has a gallery"


def test_the_modal_shows_the_gallery_and_the_keyboard_picks_an_image(
    page: Page, shop: Shop
) -> None:
    product = product_with_a_gallery(shop)
    images = product["images"]
    assert len(images) == 2 and images[0] == product["image_url"]
    open_shop(page, shop, f"?product={product['product_id']}")  # the modal asks the API for it
    modal = page.locator("#product-modal")
    expect(modal).to_have_attribute("open", "")
    expect(modal.locator("#modal-title")).to_have_text(product["name"])
    thumbs = modal.locator(".modal__gallery .modal__thumb")
    expect(thumbs).to_have_count(2)
    for n, url in enumerate(images):  # each thumbnail is the shop's stored image, loaded
        expect(thumbs.nth(n).locator("img")).to_have_attribute("src", url)
    loaded = thumbs.locator("img").evaluate_all(
        "imgs => imgs.map(i => i.complete && i.naturalWidth)"
    )
    assert all(width and width > 0 for width in loaded), loaded
    main = modal.locator(".modal__image")
    expect(main).to_have_attribute("src", images[0])
    expect(thumbs.nth(0)).to_have_attribute("aria-pressed", "true")
    expect(thumbs.nth(1)).to_have_attribute("aria-label", "Show image 2 of 2")

    thumbs.nth(1).focus()
    page.keyboard.press("Enter")
    expect(main).to_have_attribute("src", images[1])
    expect(main).to_have_attribute("alt", f"{product['name']}, image 2 of 2")
    expect(thumbs.nth(1)).to_have_attribute("aria-pressed", "true")
    expect(thumbs.nth(0)).to_have_attribute("aria-pressed", "false")
    thumbs.nth(0).click()  # and by mouse
    expect(main).to_have_attribute("src", images[0])
    expect(thumbs.nth(0)).to_have_attribute("aria-pressed", "true")


def test_a_search_by_the_second_view_opens_the_modal_on_that_image(page: Page, shop: Shop) -> None:
    product = product_with_a_gallery(shop)
    view_url = product["images"][1]
    status, data, _ = http_get(shop.url(view_url))
    assert status == 200
    open_shop(page, shop)
    pick_file(page, ImageFile("second-view.jpg", "image/jpeg", data))
    found = wait_for_results(page)
    assert found[0]["id"] == product["product_id"]

    card = page.locator(f'#results-grid .card[data-product-id="{product["product_id"]}"]')
    card.locator(".card__link").click()
    modal = page.locator("#product-modal")
    expect(modal).to_have_attribute("open", "")
    expect(modal.locator(".modal__image")).to_have_attribute("src", view_url)
    thumbs = modal.locator(".modal__gallery .modal__thumb")
    expect(thumbs).to_have_count(2)
    expect(thumbs.nth(1)).to_have_attribute("aria-pressed", "true")
    expect(thumbs.nth(0)).to_have_attribute("aria-pressed", "false")
