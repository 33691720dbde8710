"""What a shopper does on the storefront, as functions over a Playwright page: open the shop,
paste or drop an image, pick a file, read the grid and the results. The tests read as stories."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import FilePayload, Page, expect

from .shop import Shop, get_json, http_get

#: Dispatches a synthetic ClipboardEvent / DragEvent sequence carrying one file, as a browser does
#: for a real Ctrl+V of a copied image or a drop of a file from the desktop.
_DISPATCH_FILE = """
([kind, b64, name, type, selector]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const file = new File([bytes], name, { type });
  const transfer = new DataTransfer();
  transfer.items.add(file);
  const target = selector ? document.querySelector(selector) : document.body;
  if (kind === 'paste') {
    const init = { clipboardData: transfer, bubbles: true, cancelable: true };
    target.dispatchEvent(new ClipboardEvent('paste', init));
    return;
  }
  const steps = kind === 'drag' ? ['dragenter', 'dragover'] : ['dragenter', 'dragover', 'drop'];
  for (const type of steps) {
    const init = { dataTransfer: transfer, bubbles: true, cancelable: true };
    target.dispatchEvent(new DragEvent(type, init));
  }
}
"""


@dataclass(frozen=True)
class ImageFile:
    """A file as the shopper would hand it to the page."""

    name: str
    mime_type: str
    data: bytes

    def payload(self) -> FilePayload:
        """The form Playwright's set_files() takes."""
        return {"name": self.name, "mimeType": self.mime_type, "buffer": self.data}


def product_image(shop: Shop, product: dict[str, Any]) -> ImageFile:
    """Downloads a product's image (its image_url) the way a shopper would save it."""
    status, body, headers = http_get(shop.url(product["image_url"]))
    assert status == 200, f"GET {product['image_url']} answered {status}"
    mime = headers.get("Content-Type", headers.get("content-type", "image/jpeg")).split(";")[0]
    extension = {"image/png": "png", "image/webp": "webp", "image/gif": "gif"}.get(mime, "jpg")
    return ImageFile(f"{product['product_id']}.{extension}", mime, body)


def api(shop: Shop, path: str) -> Any:
    """GET a JSON document from the shop's API."""
    return get_json(shop.url(path))


def open_shop(page: Page, shop: Shop, query: str = "") -> None:
    """Opens the storefront (with an optional `?query`) and waits for it to be ready."""
    page.goto(shop.url("/") + query)
    expect(page.locator("html")).to_have_attribute("data-ready", "true")
    wait_for_grid(page)


def wait_for_grid(page: Page) -> None:
    """Waits until the catalogue grid shows products (not skeletons) and is not busy."""
    expect(page.locator("#catalogue-grid")).to_have_attribute("aria-busy", "false")
    expect(page.locator("#catalogue-grid .card[data-product-id]").first).to_be_visible()


def grid_ids(page: Page) -> list[str]:
    """Product ids in the catalogue grid, in order."""
    return page.locator("#catalogue-grid .card[data-product-id]").evaluate_all(
        "cards => cards.map(c => c.dataset.productId)"
    )


def paste(page: Page, image: ImageFile) -> None:
    """Pastes a file with Ctrl+V on the page (a ClipboardEvent carrying the file)."""
    _dispatch(page, "paste", image, None)


def drop(page: Page, image: ImageFile, selector: str = "#catalogue-grid") -> None:
    """Drags a file onto `selector` and drops it there."""
    _dispatch(page, "drop", image, selector)


def drag_over(page: Page, image: ImageFile, selector: str = "#catalogue-grid") -> None:
    """Drags a file over `selector` without dropping it."""
    _dispatch(page, "drag", image, selector)


def _dispatch(page: Page, kind: str, image: ImageFile, selector: str | None) -> None:
    encoded = base64.b64encode(image.data).decode("ascii")
    page.evaluate(_DISPATCH_FILE, [kind, encoded, image.name, image.mime_type, selector])


def pick_file(page: Page, image: ImageFile) -> None:
    """Chooses a file through the drawer's file picker ("Choose file")."""
    if not page.locator("#search-drawer").evaluate("d => d.open"):
        page.click("#open-drawer")
    with page.expect_file_chooser() as chooser:
        page.click("#choose-file")
    chooser.value.set_files(image.payload())


def wait_for_results(page: Page) -> list[dict[str, Any]]:
    """Waits for search results in the drawer; returns them as [{id, score, confidence, ...}]."""
    grid = page.locator("#results-grid")
    expect(grid).to_have_attribute("aria-busy", "false")
    expect(page.locator("#results-grid .card[data-product-id]").first).to_be_visible()
    return results(page)


def results(page: Page) -> list[dict[str, Any]]:
    """The results now shown in the drawer."""
    return page.locator("#results-grid .card[data-product-id]").evaluate_all(
        """cards => cards.map(c => {
            const badge = c.querySelector('.score');
            return {
              id: c.dataset.productId,
              rank: Number(c.dataset.rank),
              score: badge ? Number(badge.dataset.score) : null,
              confidence: badge ? badge.dataset.confidence : null,
              badge: badge ? badge.textContent : null,
              badgeColor: badge ? getComputedStyle(badge).color : null,
              category: c.querySelector('.card__category').textContent,
              name: c.querySelector('.card__link').textContent,
              brand: c.querySelector('.card__brand')?.textContent ?? '',
              price: c.querySelector('.card__price').textContent,
              imageAlt: c.querySelector('img').alt,
            };
        })"""
    )


def screenshot(page: Page, directory: Path, name: str, *, full_page: bool = False) -> Path:
    """Saves a screenshot of the page's current state under artifacts/storefront/."""
    path = directory / f"{name}.png"
    page.wait_for_timeout(350)  # let the drawer / modal opening animation finish
    page.screenshot(path=str(path), full_page=full_page)
    return path


def expect_query(page: Page, expected: dict[str, str], timeout: float = 5_000) -> None:
    """Waits until the page URL's query parameters are exactly `expected`."""
    page.wait_for_function(
        """(expected) => {
            const sorted = (o) => JSON.stringify(Object.entries(o).sort());
            const now = Object.fromEntries(new URLSearchParams(location.search));
            return sorted(now) === sorted(expected);
        }""",
        arg=expected,
        timeout=timeout,
    )
