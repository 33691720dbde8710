"""The demo catalogue as catalogue rows (no images: text retrieval reads the rows only)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from visualsearch.storage.catalog import ProductRecord

CATALOGUE = Path(__file__).parents[2] / "services/visualsearch/demo/catalogue.json"


def demo_products() -> list[dict[str, Any]]:
    return json.loads(CATALOGUE.read_text())["products"]  # type: ignore[no-any-return]


def demo_records() -> list[ProductRecord]:
    return [
        ProductRecord(
            p["product_id"],
            p["name"],
            p["brand"],
            Decimal(str(p["price"])),
            p["category"],
            p["description"],
            p["rating"],
            p["stock"],
            p["warranty"],
            f"k/{p['product_id']}",
            "0" * 64,
        )
        for p in demo_products()
    ]
