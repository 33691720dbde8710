"""The demo catalogue as catalogue rows (no images: text retrieval reads the rows only)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.support.servers import postgres_database
from visualsearch.storage.catalog import CatalogStore, ProductRecord

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


@pytest.fixture(scope="module")
async def catalog() -> AsyncIterator[CatalogStore]:
    """The demo catalogue's rows in a fresh PostgreSQL database, shared by a module's tests
    (import it where a module needs it: tests/retrieval/conftest.py does)."""
    with postgres_database() as url:
        store = CatalogStore(url, 2)
        await store.open()
        await store.upsert(demo_records())
        yield store
        await store.close()
