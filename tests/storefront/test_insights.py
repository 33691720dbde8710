"""Shopper insights from a real browser session: a text search, a click on the third result and
a demo "Add to cart" end in the shop's figures (the MRR of clicks moves exactly as computed by
hand); a click in the product modal's "Similar products" row counts for the "similar" kind; the
admin view (/admin) asks for the write key, keeps it in session storage only, refuses a wrong
one, shows the same figures, and meets WCAG 2.1 AA."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from playwright.sync_api import Page, expect

from .a11y import assert_accessible
from .actions import open_shop, wait_for_results
from .conftest import ConsoleLog
from .shop import ADMIN_KEY, Shop


def insights(shop: Shop) -> dict[str, Any]:
    request = urllib.request.Request(
        shop.url("/admin/insights?days=1"), headers={"X-API-Key": ADMIN_KEY}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def kind_figures(report: dict[str, Any], kind: str = "text") -> dict[str, Any]:
    return next(
        (k for k in report["by_kind"] if k["kind"] == kind),
        {"clicks": 0, "mean_reciprocal_rank": None, "searches": 0},
    )


def wait_for_clicks(shop: Shop, kind: str, clicks: int) -> dict[str, Any]:
    """The figures of ``kind`` once they count more than ``clicks`` (the recorder batches)."""
    deadline = time.monotonic() + 10
    while (figures := kind_figures(insights(shop), kind))["clicks"] == clicks:
        assert time.monotonic() < deadline, f"the {kind} click never reached the figures"
        time.sleep(0.2)
    return figures


def test_a_click_at_position_3_moves_mrr_as_computed_by_hand(page: Page, shop: Shop) -> None:
    before = kind_figures(insights(shop))
    clicks, mrr = before["clicks"], before["mean_reciprocal_rank"] or 0.0
    expected = round((mrr * clicks + 1 / 3) / (clicks + 1), 6)  # one more click, at rank 3

    open_shop(page, shop)
    page.fill("#text-search-input", "red running shoes")
    page.press("#text-search-input", "Enter")
    found = wait_for_results(page)
    assert len(found) >= 3
    third = page.locator('#results-grid .card[data-rank="3"]')
    assert len(third.get_attribute("data-search-id") or "") == 32
    with page.expect_request(lambda r: r.url.endswith("/events") and r.method == "POST") as sent:
        third.locator(".card__link").click()
    event = json.loads(sent.value.post_data or "{}")
    assert event["type"] == "click" and event["position"] == 3
    assert event["product_id"] == found[2]["id"] and len(event["tab_id"]) >= 8
    with page.expect_request(lambda r: r.url.endswith("/events")) as cart:
        page.get_by_role("button", name="Add to cart (demo)").click()
    assert json.loads(cart.value.post_data or "{}")["type"] == "add_to_cart"

    after = wait_for_clicks(shop, "text", clicks)
    assert after["clicks"] == clicks + 1
    assert after["mean_reciprocal_rank"] == expected
    assert after["searches"] > before["searches"]

    # the admin view shows the same figure, with the key kept in session storage only
    page.goto(shop.url("/admin"))
    expect(page.locator("html")).to_have_attribute("data-ready", "true")
    page.fill("#api-key", ADMIN_KEY)
    page.get_by_role("button", name="Show the index").click()
    expect(page.locator("html")).to_have_attribute("data-loaded", "true")
    totals = insights(shop)["totals"]["mean_reciprocal_rank"]
    expect(page.locator('[data-fact="mrr"]')).to_have_text(f"{totals:.3f}")
    expect(page.locator('[data-fact="products"]')).not_to_have_text("0")
    assert page.locator("#chart-kinds svg rect").count() >= 4
    assert page.evaluate("() => localStorage.length") == 0
    assert page.evaluate("() => sessionStorage.getItem('visualsearch.admin-key')") == ADMIN_KEY
    assert_accessible(page, "the admin view with figures")


def test_a_click_in_the_similar_row_is_a_similar_searchs_click(page: Page, shop: Shop) -> None:
    before = kind_figures(insights(shop), "similar")
    open_shop(page, shop)
    product = page.locator("#catalogue-grid .card[data-product-id]").first
    with page.expect_response(lambda r: "/similar?" in r.url) as answered:
        product.locator(".card__link").click()
    similar = answered.value.json()
    second = page.locator('#similar-products .card[data-rank="2"]')
    expect(second).to_have_attribute("data-search-id", similar["search_id"])
    with page.expect_request(lambda r: r.url.endswith("/events") and r.method == "POST") as sent:
        second.locator(".card__link").click()
    event = json.loads(sent.value.post_data or "{}")
    assert (event["search_id"], event["type"], event["position"]) == (
        similar["search_id"],
        "click",
        2,
    )
    assert event["product_id"] == similar["results"][1]["product_id"]
    after = wait_for_clicks(shop, "similar", before["clicks"])
    assert after["clicks"] == before["clicks"] + 1
    assert after["searches"] > before["searches"]


def test_the_admin_view_refuses_a_wrong_key(page: Page, shop: Shop, console: ConsoleLog) -> None:
    console.allow("401")
    page.goto(shop.url("/admin"))
    expect(page.locator("html")).to_have_attribute("data-ready", "true")
    assert_accessible(page, "the admin view's key form")
    page.fill("#api-key", "wrong-key")
    page.get_by_role("button", name="Show the index").click()
    expect(page.locator("#admin-error")).to_contain_text("refused")
    expect(page.locator("#admin-content")).to_be_hidden()
