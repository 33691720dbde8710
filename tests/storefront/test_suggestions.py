"""Suggestions under the header's search box in a real browser (Chromium), on the offline model:
the WAI-ARIA combobox (listbox, aria-activedescendant, arrows, Enter, Escape) by keyboard and
mouse, axe over the open list, and the empty state's "did you mean" link."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .a11y import assert_accessible
from .actions import api, open_shop, wait_for_results
from .shop import Shop

BOX = "#text-search-input"
LIST = "#text-search-suggestions"


def test_suggestions_by_keyboard(page: Page, shop: Shop) -> None:
    open_shop(page, shop)
    box = page.locator(BOX)
    expect(box).to_have_attribute("role", "combobox")
    expect(box).to_have_attribute("aria-expanded", "false")
    box.focus()
    page.keyboard.type("lap")
    options = page.locator(f"{LIST} [role=option]")
    expect(options.first).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    expected = [s["text"] for s in api(shop, "/suggest?q=lap&limit=8")["suggestions"]]
    expect(options).to_have_count(len(expected))
    expect(options.first).to_contain_text(expected[0])
    expect(page.locator("#text-search-status")).to_contain_text(f"{len(expected)} suggestion")
    assert_accessible(page, "the search box with suggestions open")

    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    second = options.nth(1)
    expect(second).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", second.get_attribute("id") or "")
    page.keyboard.press("ArrowUp")
    expect(options.first).to_have_attribute("aria-selected", "true")
    page.keyboard.press("ArrowUp")  # wraps to the last
    expect(options.last).to_have_attribute("aria-selected", "true")
    expect(box).to_be_focused()

    page.keyboard.press("Escape")
    expect(page.locator(LIST)).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    expect(box).not_to_have_attribute("aria-activedescendant", r".+")
    expect(box).to_have_value("lap")

    page.keyboard.type("t")  # "lapt": the list comes back
    expect(options.first).to_be_visible()
    page.keyboard.press("ArrowDown")
    chosen = options.first.locator(".suggestions__text").text_content() or ""
    page.keyboard.press("Enter")
    expect(box).to_have_value(chosen)
    expect(page.locator(LIST)).to_be_hidden()
    expect(page.locator("#search-drawer")).to_have_attribute("open", "")
    found = wait_for_results(page)
    # keyword and semantic ran: the badges take the fused score's bands (js/config.js)
    answer = api(shop, f"/search?q={chosen}&top_k=24")
    assert len(answer["retrievers"]) > 1
    for shown in found:
        score = shown["score"]
        band = "high" if score >= 0.8 else "medium" if score >= 0.5 else "low"
        assert shown["confidence"] == band, shown


def test_a_suggestion_by_mouse(page: Page, shop: Shop) -> None:
    open_shop(page, shop)
    page.locator(BOX).focus()
    page.keyboard.type("quil")
    option = page.locator(f"{LIST} [role=option]").first
    expect(option).to_contain_text("Quill")
    option.click()
    expect(page.locator(BOX)).to_have_value("Quill")
    assert wait_for_results(page)


def test_nothing_found_offers_did_you_mean(page: Page, shop: Shop) -> None:
    body = api(shop, "/search?q=qqzzx+labtop&mode=keyword")
    assert body["results"] == [] and body["did_you_mean"] == "laptop"
    # semantic retrieval finds laptops for "labtop" on its own, so the shop's searches are sent
    # with mode=keyword here: the real API's answer of nothing found, as the page must show it
    page.route(
        "**/search?*",
        lambda route: route.continue_(url=f"{route.request.url}&mode=keyword"),
    )
    open_shop(page, shop)
    page.fill(BOX, "qqzzx labtop")
    page.press(BOX, "Enter")
    link = page.locator("#results-grid .empty button")
    expect(link).to_have_text("Search for “laptop”")
    expect(page.locator("#results-grid .empty")).to_contain_text("Did you mean “laptop”?")
    assert_accessible(page, "the empty state with did you mean")
    link.click()
    expect(page.locator(BOX)).to_have_value("laptop")
    assert wait_for_results(page)
