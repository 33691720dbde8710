"""Fixtures for the storefront's browser tests: the real shop, Debian's Chromium, and pages that
record console errors (any unexpected one fails the test)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)

from .shop import Shop, running_shop

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP: ViewportSize = {"width": 1366, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "storefront"


@pytest.fixture(scope="session")
def shop() -> Iterator[Shop]:
    """The product as a user starts it: `visualsearch serve` with the demo catalogue seeded.

    STOREFRONT_BASE_URL points the tests at a shop that already runs (a cluster's ingress, say)
    instead of starting one.
    """
    external = os.environ.get("STOREFRONT_BASE_URL")
    if external:
        running = Shop(external)
        running.wait_ready(min_products=194, timeout=60)
        yield running
        return
    with running_shop() as started:
        yield started


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    """Playwright's driver (sync API)."""
    with sync_playwright() as instance:
        yield instance


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    """Debian's Chromium (Playwright never downloads a browser here)."""
    if not CHROMIUM.exists():
        raise RuntimeError(
            f"{CHROMIUM} is missing: install Debian's chromium (make test-deps, or tools/test-deps/chromium.sh)"
        )
    instance = playwright_instance.chromium.launch(
        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
    )
    yield instance
    instance.close()


@dataclass
class ConsoleLog:
    """Console errors and uncaught exceptions of one page; `allow` marks expected ones."""

    errors: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """Expects console errors matching `pattern` (e.g. 'Failed to load resource' of a 415)."""
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        """Errors not matched by any allowed pattern."""
        return [e for e in self.errors if not any(p.search(e) for p in self.allowed)]

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            location = message.location.get("url", "") if message.location else ""
            self.errors.append(f"console.error: {message.text} ({location})")

    def on_page_error(self, error: Exception) -> None:
        self.errors.append(f"uncaught: {error}")


@pytest.fixture
def console() -> ConsoleLog:
    """The console log of the test's page."""
    return ConsoleLog()


def _new_page(
    browser: Browser, console: ConsoleLog, viewport: ViewportSize, has_touch: bool = False
) -> Page:
    context = browser.new_context(viewport=viewport, device_scale_factor=1, has_touch=has_touch)
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.on("console", console.on_console)
    page.on("pageerror", console.on_page_error)
    return page


@pytest.fixture
def page(browser: Browser, console: ConsoleLog) -> Iterator[Page]:
    """A desktop-sized page; the test fails if the page logged an unexpected console error."""
    new = _new_page(browser, console, DESKTOP)
    yield new
    new.context.close()
    assert not console.unexpected(), "console errors:\n" + "\n".join(console.unexpected())


@pytest.fixture
def phone_page(browser: Browser, console: ConsoleLog) -> Iterator[Page]:
    """A phone-sized page (390 x 844); fails on unexpected console errors too."""
    new = _new_page(browser, console, PHONE)
    yield new
    new.context.close()
    assert not console.unexpected(), "console errors:\n" + "\n".join(console.unexpected())


@pytest.fixture
def touch_page(browser: Browser, console: ConsoleLog) -> Iterator[Page]:
    """A desktop-sized page with a touch screen (touch events dispatched through CDP)."""
    new = _new_page(browser, console, DESKTOP, has_touch=True)
    yield new
    new.context.close()
    assert not console.unexpected(), "console errors:\n" + "\n".join(console.unexpected())


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where screenshots go (artifacts/storefront/, ignored by git)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
