"""The product modal's "Similar products" row (in-stock alternatives for a sold-out product) and
the query preview's crop box, driven by the keyboard, in a real browser."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Page, Request, expect

from .a11y import assert_accessible
from .actions import ImageFile, api, open_shop, pick_file, product_image, wait_for_results
from .shop import Shop


def similar_ids(page: Page) -> list[str]:
    cards = page.locator("#similar-products .card[data-product-id]")
    expect(cards.first).to_be_visible()
    return cards.evaluate_all("cs => cs.map(c => c.dataset.productId)")


def test_the_modal_shows_similar_products_other_than_the_open_one(page: Page, shop: Shop) -> None:
    open_shop(page, shop)
    items = api(shop, "/products/?skip=0&limit=24&sort=name")["items"]
    product = next(p for p in items if p["stock"] > 0)
    page.click(f'#catalogue-grid .card[data-product-id="{product["product_id"]}"] .card__link')
    expect(page.locator("#similar-title")).to_have_text("Similar products")
    shown = similar_ids(page)
    expected = api(shop, f"/products/{product['product_id']}/similar?top_k=6")
    assert shown == [r["product_id"] for r in expected["results"]]
    assert product["product_id"] not in shown and len(shown) == 6
    assert_accessible(page, "the product modal with similar products", "#product-modal")
    # a similar product opens in the same modal
    page.click(f'#similar-products .card[data-product-id="{shown[0]}"] .card__link')
    expect(page.locator("#modal-content")).to_have_attribute("data-product-id", shown[0])


def test_a_sold_out_product_leads_with_in_stock_alternatives(page: Page, shop: Shop) -> None:
    items = api(shop, "/products/?skip=0&limit=200&sort=name")["items"]
    sold_out = [p for p in items if p["stock"] <= 0]
    if not sold_out:
        pytest.skip("the demo catalogue has no sold-out product in its first 200")
    product = sold_out[0]
    open_shop(page, shop, f"?product={product['product_id']}")
    expect(page.locator("#similar-title")).to_have_text("In stock alternatives")
    shown = similar_ids(page)
    stock = {p["product_id"]: p["stock"] for p in items}
    assert shown and product["product_id"] not in shown
    assert all(stock.get(pid, 1) > 0 for pid in shown), shown


def side_by_side(left: ImageFile, right: ImageFile) -> ImageFile:
    a = Image.open(io.BytesIO(left.data)).convert("RGB").resize((256, 256))
    b = Image.open(io.BytesIO(right.data)).convert("RGB").resize((256, 256))
    both = Image.new("RGB", (512, 256))
    both.paste(a, (0, 0))
    both.paste(b, (256, 0))
    out = io.BytesIO()
    both.save(out, "PNG")
    return ImageFile("two-products.png", "image/png", out.getvalue())


def test_a_keyboard_crop_re_runs_the_search_with_the_crop(page: Page, shop: Shop) -> None:
    items: list[dict[str, Any]] = api(shop, "/products/?skip=0&limit=60&sort=name")["items"]
    left = items[3]
    right = next(p for p in items[10:] if p["category"] != left["category"])
    open_shop(page, shop)
    pick_file(page, side_by_side(product_image(shop, left), product_image(shop, right)))
    before = [r["id"] for r in wait_for_results(page)]

    def cropped(request: Request) -> bool:
        return (
            request.method == "POST"
            and request.url.split("?")[0].endswith("/search")
            and "crop=" in request.url
        )

    box = page.locator("#crop-box")
    box.focus()
    with page.expect_request(cropped) as sent:
        for _ in range(25):  # Shift+Left: the box narrows to the left half
            page.keyboard.press("Shift+ArrowLeft")
    assert "crop=0%2C0%2C0.5%2C1" in sent.value.url, sent.value.url
    expect(page.locator("#crop-status")).to_contain_text("50% wide")
    expect(page.locator("#results-grid .card[data-product-id]").first).to_have_attribute(
        "data-product-id", left["product_id"]
    )
    after = [r["id"] for r in wait_for_results(page)]
    assert after != before and after[0] == left["product_id"], (before[:4], after[:4])

    for _ in range(25):  # then it moves right: the other product
        page.keyboard.press("ArrowRight")
    expect(page.locator("#results-grid .card[data-product-id]").first).to_have_attribute(
        "data-product-id", right["product_id"]
    )
    assert_accessible(page, "the search drawer with a crop box", "#search-drawer")
