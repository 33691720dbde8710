"""The storefront's pure modules (URL state, formatting, confidence bands, pagination window,
Retry-After parsing, file checks), imported as ES modules in the real browser and exercised
directly: the edge cases the page-level tests do not reach."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

from .actions import open_shop
from .shop import Shop


def _run(page: Page, script: str) -> Any:
    return page.evaluate(f"async () => {{ {script} }}")


def test_url_state_round_trips_and_ignores_garbage(page: Page, shop: Shop) -> None:
    open_shop(page, shop)
    out = _run(
        page,
        """
        const url = await import('./js/state/url.js');
        const full = { ...url.defaultState(), category: 'womens-bags', sort: 'price_desc', page: 3,
                       q: 'red shoes', similar: '', scat: 'tops', product: 'demo-0001' };
        const filtered = { ...url.defaultState(), brand: ['Acme & Co', 'Zest'], price_min: '5',
                           price_max: '80.5', in_stock: true, sbrand: ['Quill'],
                           sprice_max: '20', sin_stock: true };
        return {
          text: url.serializeState(full),
          back: url.parseState(url.serializeState(full)),
          empty: url.serializeState(url.defaultState()),
          garbage: url.parseState('?sort=cheapest&page=-4&page=x&category=%20beauty%20'),
          filtered: url.serializeState(filtered),
          filteredBack: url.parseState(url.serializeState(filtered)),
          badFilters: url.parseState(
            '?brand=A,B&brand=A&price_min=-3&price_max=abc&in_stock=yes&sprice_min=50&sprice_max=10'),
          catalogueFilter: url.filterOf(filtered, 'catalogue'),
          searchFilter: url.filterOf({ ...filtered, scat: 'tops' }, 'search'),
          prices: ['', ' 7 ', '7.', '.5', '1e3', '-1', '12.345', 'x'].map(url.normalizePrice),
        };
        """,
    )
    assert out["text"] == (
        "?category=womens-bags&sort=price_desc&page=3&q=red+shoes&scat=tops&product=demo-0001"
    )
    assert out["back"] == {
        "category": "womens-bags",
        "sort": "price_desc",
        "page": 3,
        "q": "red shoes",
        "similar": "",
        "scat": "tops",
        "product": "demo-0001",
        "brand": [],
        "price_min": "",
        "price_max": "",
        "in_stock": False,
        "sbrand": [],
        "sprice_min": "",
        "sprice_max": "",
        "sin_stock": False,
    }
    assert out["filtered"] == (
        "?brand=Acme+%26+Co&brand=Zest&price_min=5&price_max=80.5&in_stock=true"
        "&sbrand=Quill&sprice_max=20&sin_stock=true"
    )
    back = out["filteredBack"]
    assert back["brand"] == ["Acme & Co", "Zest"] and back["sbrand"] == ["Quill"]
    assert (back["price_min"], back["price_max"], back["in_stock"]) == ("5", "80.5", True)
    assert (back["sprice_min"], back["sprice_max"], back["sin_stock"]) == ("", "20", True)
    bad = out["badFilters"]
    assert bad["brand"] == ["A", "B"]
    assert (bad["price_min"], bad["price_max"], bad["in_stock"]) == ("", "", False)
    assert (bad["sprice_min"], bad["sprice_max"]) == ("10", "50")  # a reversed range is swapped
    assert out["catalogueFilter"] == {
        "category": "",
        "brands": ["Acme & Co", "Zest"],
        "priceMin": "5",
        "priceMax": "80.5",
        "inStock": True,
    }
    assert out["searchFilter"]["category"] == "tops"
    assert out["searchFilter"]["brands"] == ["Quill"]
    assert out["prices"] == ["", "7", "7", "0.5", None, None, "12.35", None]
    assert out["empty"] == ""
    assert out["garbage"]["sort"] == "name"
    assert out["garbage"]["page"] == 1
    assert out["garbage"]["category"] == "beauty"


def test_confidence_bands_and_formatting(page: Page, shop: Shop) -> None:
    open_shop(page, shop)
    out = _run(
        page,
        """
        const f = await import('./js/format.js');
        const { CONFIDENCE_THRESHOLDS: t } = await import('./js/config.js');
        return {
          t,
          image: [t.image.high, t.image.high - 0.001, t.image.medium, t.image.medium - 0.001, 0]
            .map((s) => f.confidence(s, 'image')),
          text: [t.text.high, t.text.medium, t.text.medium - 0.001]
            .map((s) => f.confidence(s, 'text')),
          scores: [0, 0.004, 0.875, 1, 1.2, -0.3].map(f.formatScore),
          prices: [19.5, 2339.99, 'x'].map(f.formatPrice),
          stock: [0, 3, 10, 11].map((n) => f.stockLevel(n).text),
          labels: ['mens-shirts', 'home_decoration', ''].map(f.categoryLabel),
          bytes: [512, 2048, 1572864, 11 * 1048576].map(f.formatBytes),
        };
        """,
    )
    assert out["t"]["image"]["high"] > out["t"]["image"]["medium"]
    assert out["t"]["text"]["high"] > out["t"]["text"]["medium"]
    assert out["image"] == ["high", "medium", "medium", "low", "low"]
    assert out["text"] == ["high", "medium", "low"]
    assert out["scores"] == ["0%", "0%", "88%", "100%", "100%", "0%"]
    assert out["prices"] == ["$19.50", "$2,339.99", ""]
    assert out["stock"] == ["Out of stock", "Only 3 left", "Only 10 left", "In stock (11)"]
    assert out["labels"] == ["Mens shirts", "Home decoration", "All products"]
    assert out["bytes"] == ["512 B", "2 KB", "1.5 MB", "11 MB"]


def test_fused_scores_take_the_bands_of_their_documented_meaning(page: Page, shop: Shop) -> None:
    # the normalised RRF score (retrieval/fusion.py, K=60) of a product ranked r1 and r2 by two
    # equally weighted retrievers (None: not found by that one)
    def rrf(*ranks: int | None) -> float:
        return sum(1 / (60 + r) for r in ranks if r) / (len(ranks) / 61)

    cases = {
        "first in both": (rrf(1, 1), "high"),
        "10th in both": (rrf(10, 10), "high"),
        "first in one only": (rrf(1, None), "medium"),
        "25th in both": (rrf(25, 25), "medium"),
        "40th in one only": (rrf(40, None), "low"),
    }
    open_shop(page, shop)
    out = page.evaluate(
        """async (scores) => {
          const f = await import('./js/format.js');
          return {
            bands: scores.map((s) => f.confidence(s, f.scoreKind(['keyword', 'semantic'], 'text'))),
            kinds: [[], ['visual'], ['clip_text'], ['keyword'], ['semantic'], ['visual', 'keyword']]
              .map((r) => f.scoreKind(r, 'text')),
          };
        }""",
        [score for score, _ in cases.values()],
    )
    assert dict(zip(cases, out["bands"], strict=True)) == {k: b for k, (_, b) in cases.items()}
    assert out["kinds"] == ["text", "image", "text", "keyword", "semantic", "fused"]


def test_page_window_and_retry_after(page: Page, shop: Shop) -> None:
    open_shop(page, shop)
    out = _run(
        page,
        """
        const { pageWindow } = await import('./js/catalogue.js');
        const { parseRetryAfter } = await import('./js/api.js');
        const soon = new Date(Date.now() + 30000).toUTCString();
        return {
          one: pageWindow(1, 1), start: pageWindow(1, 9), middle: pageWindow(5, 9),
          end: pageWindow(9, 9),
          retry: [parseRetryAfter('12'), parseRetryAfter(null), parseRetryAfter('soon'),
                  parseRetryAfter('0.2')],
          date: parseRetryAfter(soon),
        };
        """,
    )
    assert out["one"] == [1]
    assert out["start"] == [1, 2, None, 9]
    assert out["middle"] == [1, None, 4, 5, 6, None, 9]
    assert out["end"] == [1, None, 8, 9]
    assert out["retry"] == [12, None, None, 1]
    assert 28 <= out["date"] <= 31


def test_file_checks(page: Page, shop: Shop) -> None:
    open_shop(page, shop)
    out = _run(
        page,
        """
        const files = await import('./js/files.js');
        const check = (file) => {
          try { files.validateImage(file); return 'ok'; } catch (e) { return e.message; }
        };
        return [
          check(new File(['x'], 'a.png', { type: 'image/png' })),
          check(new File(['x'], 'photo.JPG', { type: '' })),
          check(new File(['x'], 'a.svg', { type: 'image/svg+xml' })),
          check(new File([], 'empty.png', { type: 'image/png' })),
          check(null),
          files.named(new File(['x'], '', { type: 'image/jpeg' })).name,
        ];
        """,
    )
    assert out[0] == "ok"
    assert out[1] == "ok"  # no MIME type from the OS: judged by the extension
    assert out[2].startswith("“a.svg” is not a supported image (image/svg+xml)")
    assert out[3] == "“empty.png” is empty."
    assert out[4].startswith("No image found")
    assert out[5] == "pasted-image.jpg"
