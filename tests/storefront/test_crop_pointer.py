"""The query preview's crop box by mouse and by finger (pointer events: a corner handle resizes
it, the box itself moves), and the suggested crop the answer offers, in a real browser."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import parse_qs, urlsplit

from PIL import Image, ImageDraw
from playwright.sync_api import Page, Request, expect

from .a11y import assert_accessible
from .actions import ImageFile, api, open_shop, pick_file, product_image, wait_for_results
from .shop import Shop
from .test_similar_and_crop import side_by_side


def is_search(request: Request) -> bool:
    return request.method == "POST" and request.url.split("?")[0].endswith("/search")


def sent_crop(request: Request) -> list[float] | None:
    """The crop=x,y,w,h a search request carried, as numbers (None: the whole picture)."""
    values = parse_qs(urlsplit(request.url).query).get("crop")
    return [float(v) for v in values[0].split(",")] if values else None


def first_result(page: Page) -> Any:
    return page.locator("#results-grid .card[data-product-id]").first


def centre(page: Page, selector: str) -> tuple[float, float]:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=12)
    page.mouse.up()


def test_a_mouse_crop_resizes_and_moves_the_box_and_the_results_follow(
    page: Page, shop: Shop
) -> None:
    items: list[dict[str, Any]] = api(shop, "/products/?skip=0&limit=60&sort=name")["items"]
    left = items[3]
    right = next(p for p in items[10:] if p["category"] != left["category"])
    open_shop(page, shop)
    pick_file(page, side_by_side(product_image(shop, left), product_image(shop, right)))
    before = [r["id"] for r in wait_for_results(page)]
    frame = page.locator("#crop-frame").bounding_box()
    assert frame is not None

    # the bottom-right corner handle, dragged to the middle: the box is the left half
    handle = centre(page, ".crop__handle--se")
    with page.expect_request(lambda r: is_search(r) and sent_crop(r) is not None) as sent:
        drag(page, handle, (frame["x"] + frame["width"] / 2 - 6, handle[1]))
    x, y, w, h = sent_crop(sent.value) or []
    assert x == 0 and y == 0 and abs(w - 0.5) < 0.03 and h == 1, sent.value.url
    expect(first_result(page)).to_have_attribute("data-product-id", left["product_id"])
    after = [r["id"] for r in wait_for_results(page)]
    assert after != before and after[0] == left["product_id"], (before[:4], after[:4])
    expect(page.locator("#crop-reset")).to_be_visible()

    # the box itself, dragged right by half the picture: the other product
    with page.expect_request(lambda r: is_search(r) and (sent_crop(r) or [0])[0] > 0.4) as moved:
        grab = centre(page, "#crop-box")
        drag(page, grab, (grab[0] + frame["width"] / 2, grab[1]))
    x, y, w, h = sent_crop(moved.value) or []
    assert abs(x - 0.5) < 0.03 and abs(w - 0.5) < 0.03 and y == 0 and h == 1, moved.value.url
    expect(first_result(page)).to_have_attribute("data-product-id", right["product_id"])
    expect(page.locator("#crop-status")).to_contain_text("50% from the left")

    # the whole picture again
    with page.expect_request(lambda r: is_search(r) and sent_crop(r) is None):
        page.click("#crop-reset")
    expect(page.locator("#crop-reset")).to_be_hidden()


def finger_drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    """One finger on the touch screen, moved from ``start`` to ``end`` and lifted: real touch
    input through the DevTools protocol (Chromium makes the pointer events from it)."""
    cdp = page.context.new_cdp_session(page)
    steps = 12

    def touch(kind: str, x: float, y: float) -> None:
        points = [] if kind == "touchEnd" else [{"x": x, "y": y, "id": 1}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch("touchStart", *start)
    for i in range(1, steps + 1):
        touch(
            "touchMove",
            start[0] + (end[0] - start[0]) * i / steps,
            start[1] + (end[1] - start[1]) * i / steps,
        )
    touch("touchEnd", *end)
    cdp.detach()


def test_a_finger_resizes_the_crop_box_and_the_results_follow(touch_page: Page, shop: Shop) -> None:
    page = touch_page
    items: list[dict[str, Any]] = api(shop, "/products/?skip=0&limit=60&sort=name")["items"]
    left = items[5]
    right = next(p for p in items[12:] if p["category"] != left["category"])
    open_shop(page, shop)
    pick_file(page, side_by_side(product_image(shop, left), product_image(shop, right)))
    wait_for_results(page)
    frame = page.locator("#crop-frame").bounding_box()
    assert frame is not None
    # the bottom-left handle, dragged by a finger to the middle: the box is the right half
    handle = centre(page, ".crop__handle--sw")
    with page.expect_request(lambda r: is_search(r) and sent_crop(r) is not None) as sent:
        finger_drag(page, handle, (frame["x"] + frame["width"] / 2 + 6, handle[1]))
    x, y, w, h = sent_crop(sent.value) or []
    assert abs(x - 0.5) < 0.03 and abs(w - 0.5) < 0.03 and y == 0 and h == 1, sent.value.url
    expect(first_result(page)).to_have_attribute("data-product-id", right["product_id"])


def on_a_page(product: ImageFile) -> ImageFile:
    """The product's picture on a white web page with a dark header bar (page chrome)."""
    page = Image.new("RGB", (720, 480), (255, 255, 255))
    draw = ImageDraw.Draw(page)
    draw.rectangle((0, 0, 720, 56), fill=(32, 48, 80))
    for line in range(6):  # a few lines of "text" left of the picture
        draw.rectangle((40, 120 + line * 16, 300, 126 + line * 16), fill=(120, 120, 128))
    shot = Image.open(io.BytesIO(product.data)).convert("RGB").resize((220, 220))
    page.paste(shot, (440, 180))
    out = io.BytesIO()
    page.save(out, "JPEG", quality=90)
    return ImageFile("page.jpg", "image/jpeg", out.getvalue())


def test_the_suggested_crop_is_offered_as_a_suggestion_and_applied_on_request(
    page: Page, shop: Shop
) -> None:
    items: list[dict[str, Any]] = api(shop, "/products/?skip=0&limit=40&sort=name")["items"]
    product = items[7]
    open_shop(page, shop)
    with page.expect_response(lambda r: is_search(r.request)) as answered:
        pick_file(page, on_a_page(product_image(shop, product)))
    assert sent_crop(answered.value.request) is None  # the whole picture was searched
    suggested = answered.value.json()["suggested_crop"]
    assert suggested is not None
    # around the product's picture (x 440-660 of 720, y 180-400 of 480), not the page
    assert 0.55 < suggested["x"] < 0.66 and 0.3 < suggested["y"] < 0.42, suggested
    assert suggested["w"] < 0.4 and suggested["h"] < 0.55, suggested
    wait_for_results(page)

    offer = page.locator("#crop-suggest")
    expect(offer).to_be_visible()
    expect(offer).to_contain_text("suggestion")
    expect(page.locator("#crop-suggestion")).to_be_visible()
    expect(page.locator("#crop-status")).to_contain_text("suggested crop")
    expect(page.locator("#crop-reset")).to_be_hidden()  # not applied: the whole picture
    outline = page.locator("#crop-suggestion").bounding_box()
    frame = page.locator("#crop-frame").bounding_box()
    assert outline is not None and frame is not None
    assert abs((outline["x"] - frame["x"]) / frame["width"] - suggested["x"]) < 0.02
    assert abs(outline["width"] / frame["width"] - suggested["w"]) < 0.02
    assert_accessible(page, "the search drawer offering a suggested crop", "#search-drawer")

    with page.expect_request(lambda r: is_search(r) and sent_crop(r) is not None) as sent:
        page.get_by_role("button", name="Use suggested crop").click()
    want = [suggested[k] for k in ("x", "y", "w", "h")]
    got = sent_crop(sent.value) or []
    assert all(abs(a - b) < 1e-3 for a, b in zip(got, want, strict=True)), (got, want)
    expect(offer).to_be_hidden()
    expect(page.locator("#crop-suggestion")).to_be_hidden()
    expect(page.locator("#crop-box")).to_be_focused()
    expect(first_result(page)).to_have_attribute("data-product-id", product["product_id"])

    page.click("#crop-reset")  # back to the whole picture: the suggestion is offered again
    expect(offer).to_be_visible()
