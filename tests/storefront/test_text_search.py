"""Text search in a real browser, on a shop whose model has a text tower: a tiny randomly
initialised CLIP saved in the Hugging Face layout (no CLIP weights can be downloaded here), loaded
by the product's real code. Random weights make the ranking meaningless but keep every path real:
the header's search box, the words field beside the image, `?q=` in the URL, and self-matches."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.support.tiny_clip import build_tiny_clip

from .actions import (
    api,
    expect_query,
    open_shop,
    paste,
    product_image,
    screenshot,
    wait_for_results,
)
from .shop import Shop, running_shop


@pytest.fixture(scope="module")
def clip_shop() -> Iterator[Shop]:
    """A shop running a tiny CLIP, with the demo catalogue."""
    model_dir = Path(tempfile.mkdtemp(prefix="visualsearch-tiny-clip-"))
    try:
        build_tiny_clip(model_dir)
        with running_shop(model=str(model_dir)) as shop:
            yield shop
    finally:
        shutil.rmtree(model_dir, ignore_errors=True)


def test_header_text_search_opens_drawer_with_scored_results(
    page: Page, clip_shop: Shop, artifacts: Path
) -> None:
    info = api(clip_shop, "/info")
    assert info["text_search"] is True
    open_shop(page, clip_shop)
    expect(page.locator("#text-search-input")).to_be_enabled()
    expect(page.locator("#info-banner")).not_to_contain_text("Text search is off")

    page.fill("#text-search-input", "red running shoes")
    page.press("#text-search-input", "Enter")

    expect(page.locator("#search-drawer")).to_have_attribute("open", "")
    found = wait_for_results(page)
    expected = api(clip_shop, "/search?q=red+running+shoes&top_k=24")["results"]
    assert [r["id"] for r in found] == [r["product_id"] for r in expected]
    assert all(r["badge"].endswith("% match") for r in found)
    expect(page.locator("#search-text")).to_have_value("red running shoes")
    expect(page.locator("#query-preview")).to_be_hidden()
    expect_query(page, {"q": "red running shoes"})
    screenshot(page, artifacts, "desktop-text-search")

    # a shared link to the text search runs it again
    page.reload()
    again = wait_for_results(page)
    assert [r["id"] for r in again] == [r["id"] for r in found]


def test_image_and_words_together(page: Page, clip_shop: Shop) -> None:
    product: dict[str, Any] = api(clip_shop, "/products/?skip=0&limit=40&sort=name")["items"][9]
    image = product_image(clip_shop, product)
    # record the form fields of each POST (Chromium does not expose multipart bodies with files)
    page.add_init_script(
        """
        window.__posted = [];
        const original = window.fetch;
        window.fetch = (input, init = {}) => {
          if (init.body instanceof FormData) {
            window.__posted.push(Object.fromEntries(
              [...init.body.entries()].map(([k, v]) => [k, typeof v === 'string' ? v : v.name])));
          }
          return original(input, init);
        };
        """
    )
    open_shop(page, clip_shop)

    paste(page, image)
    found = wait_for_results(page)
    assert found[0]["id"] == product["product_id"]  # identical image, identical vector

    page.fill("#search-text", "blue bag")
    page.click("#search-submit")
    expect(page.locator("#results-meta")).to_contain_text("matches")
    wait_for_results(page)
    posted = page.evaluate("window.__posted")
    assert posted[0]["file"] == image.name and "q" not in posted[0]
    assert posted[-1]["file"] == image.name and posted[-1]["q"] == "blue bag"
    expect(page.locator("#query-preview")).to_be_visible()
