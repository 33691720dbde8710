"""What the shipped demo catalogue holds, counted from its file: the tests that seed it wait for,
and check, exactly these numbers (a rejected row or a lost gallery image fails them)."""

from __future__ import annotations

import json
from typing import Any

from visualsearch.seeding import DEMO_CATALOG


def demo_rows() -> list[dict[str, Any]]:
    """The catalogue's product records, as shipped."""
    return list(json.loads(DEMO_CATALOG.read_text())["products"])


#: Products in the demo catalogue (at least the seed's 194, SPEC §5).
DEMO_PRODUCTS = len(demo_rows())
#: Images in it, main images and second views together: one vector each once seeded.
DEMO_IMAGES = sum(len(row.get("images") or [row["image"]]) for row in demo_rows())
