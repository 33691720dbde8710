"""What the shopper is told when something is wrong: a file that is not an image, one that is too
large, a corrupt image the server refuses (its `detail` is shown), a rate limit (when to retry),
and a model without a text tower (text search off, with the reason)."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from .actions import ImageFile, api, open_shop, paste, pick_file, screenshot
from .conftest import ConsoleLog
from .shop import Shop, running_shop


def _png(size: int = 64, colour: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def test_non_image_file_is_refused_with_a_clear_message(
    page: Page, shop: Shop, artifacts: Path
) -> None:
    open_shop(page, shop)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/search" in r.url else None)

    pick_file(page, ImageFile("notes.txt", "text/plain", b"shopping list: shoes, a lamp\n"))

    error = page.locator("#search-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("“notes.txt” is not a supported image")
    expect(error).to_contain_text("JPEG, PNG, WebP, GIF or BMP")
    expect(page.locator("#results-grid .card")).to_have_count(0)
    assert requests == []  # refused before any upload
    screenshot(page, artifacts, "desktop-error-not-an-image")

    # pasting a PDF says the same
    paste(page, ImageFile("invoice.pdf", "application/pdf", b"%PDF-1.4\n%%EOF\n"))
    expect(error).to_contain_text("“invoice.pdf” is not a supported image (application/pdf)")


def test_oversized_image_is_refused_before_upload(page: Page, shop: Shop) -> None:
    open_shop(page, shop)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if "/search" in r.url else None)
    big = _png() + b"\0" * (10 * 1024 * 1024)  # over the 10 MiB limit
    pick_file(page, ImageFile("huge.png", "image/png", big))
    error = page.locator("#search-error")
    expect(error).to_contain_text("“huge.png” is too large (10 MB)")
    expect(error).to_contain_text("The limit is 10 MB")
    assert requests == []


def _noisy_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((256, 256), 80).convert("RGB").save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "status"),
    [
        ("truncated.jpg", _noisy_jpeg()[:3000], 400),  # a real JPEG cut short
        ("fake.png", b"these bytes only claim to be a PNG" * 20, None),  # not an image at all
    ],
    ids=["truncated-jpeg", "text-named-png"],
)
def test_bad_image_shows_the_servers_detail(
    page: Page, shop: Shop, console: ConsoleLog, name: str, data: bytes, status: int | None
) -> None:
    console.allow(r"Failed to load resource: the server responded with a status of 4\d\d")
    mime = "image/jpeg" if name.endswith(".jpg") else "image/png"
    answer = httpx.post(shop.url("/search"), files={"file": (name, data, mime)}, timeout=30)
    assert 400 <= answer.status_code < 500, answer.text
    if status is not None:
        assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    assert detail

    open_shop(page, shop)
    pick_file(page, ImageFile(name, mime, data))
    error = page.locator("#search-error")
    expect(error).to_contain_text(detail)
    expect(page.locator("#results-grid .card")).to_have_count(0)


def test_text_search_is_on_for_an_image_only_model_and_the_warning_is_not_shown(
    page: Page, shop: Shop
) -> None:
    info = api(shop, "/info")
    assert info["text_search"] is False, "these tests run the shop on efficientnet-lite0"
    assert "keyword" in info["retrievers"]
    open_shop(page, shop)
    box = page.locator("#text-search-input")
    expect(box).to_be_enabled()
    expect(page.locator("#info-banner")).to_be_hidden()  # an operator's concern: /info, the log
    page.click("#open-drawer")
    expect(page.locator("#search-text")).to_be_visible()


@pytest.fixture
def limited_shop() -> Iterator[Shop]:
    """A second, empty shop allowing 3 requests a minute per client."""
    with running_shop(rate_limit_per_minute=3, seed=False, min_products=0) as started:
        yield started


def test_rate_limit_says_when_to_retry(
    page: Page, limited_shop: Shop, console: ConsoleLog, artifacts: Path
) -> None:
    console.allow(r"status of 429")
    page.goto(limited_shop.url("/"))
    expect(page.locator("html")).to_have_attribute("data-ready", "true")

    # use up this client's allowance
    image = _png()
    retry_after = None
    for _ in range(30):
        answer = httpx.post(
            limited_shop.url("/search"), files={"file": ("q.png", image, "image/png")}, timeout=30
        )
        if answer.status_code == 429:
            retry_after = answer.headers.get("Retry-After")
            break
        assert answer.status_code == 200, answer.text
    assert retry_after is not None, "the shop never answered 429 with a 3/minute limit"
    assert int(retry_after) > 0

    pick_file(page, ImageFile("again.png", "image/png", image))
    error = page.locator("#search-error")
    expect(error).to_contain_text("Too many searches in a short time")
    expect(error).to_have_text(re.compile(r"Please try again in \d+ seconds?\."))
    seconds = int(re.search(r"in (\d+) second", error.text_content() or "").group(1))  # type: ignore[union-attr]
    assert 0 < seconds <= int(retry_after) + 1
    expect(page.locator("#search-submit")).to_be_disabled()
    screenshot(page, artifacts, "desktop-error-rate-limited")
