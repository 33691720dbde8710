"""Accessibility checks in the real page: axe-core (Deque's engine, the one browsers' own audit
tools build on) injected into the page and run over the WCAG 2.0/2.1 A and AA rules.

axe comes from the `axe-playwright-python` wheel (dev extras), which bundles axe.min.js: it installs
offline from PyPI with `make install`, with no npm step and nothing fetched at run time.
"""

from __future__ import annotations

import json
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

#: The rule sets run: WCAG 2.0 and 2.1, levels A and AA, and axe's best practices (reported,
#: and failing only when serious or critical, like everything else).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
#: Impacts that fail a test.
BLOCKING = frozenset({"serious", "critical"})

_AXE = Axe()


def axe_violations(page: Page, include: str | None = None) -> list[dict[str, Any]]:
    """axe's violations on the page as it is now (within `include`, a CSS selector, if given)."""
    options = {"runOnly": {"type": "tag", "values": TAGS}, "resultTypes": ["violations"]}
    context = {"include": [[include]]} if include else None
    page.evaluate(_AXE.axe_script)
    results: dict[str, Any] = page.evaluate(
        "([context, options]) => axe.run(context ?? document, options)", [context, options]
    )
    violations: list[dict[str, Any]] = results["violations"]
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    """One line a violation, its elements below it: what a failing test prints."""
    lines = []
    for violation in violations:
        lines.append(
            f"{violation['id']} ({violation['impact']}): {violation['help']} "
            f"[{len(violation['nodes'])} element(s)] {violation['helpUrl']}"
        )
        for node in violation["nodes"][:12]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"    {json.dumps(node['target'])}: {summary[:300]}")
    return "\n".join(lines)


def assert_accessible(page: Page, where: str, include: str | None = None) -> list[dict[str, Any]]:
    """Fails on any serious or critical axe finding; prints every finding. Returns them all."""
    violations = axe_violations(page, include)
    if violations:
        print(f"axe findings on {where}:\n{describe(violations)}")
    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, f"axe: serious or critical findings on {where}:\n{describe(blocking)}"
    return violations
