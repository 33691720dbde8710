"""The demo catalogue's rows in a fresh PostgreSQL database, shared by a module's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.retrieval.demo import demo_records
from tests.support.servers import postgres_database
from visualsearch.storage.catalog import CatalogStore


@pytest.fixture(scope="module")
async def catalog() -> AsyncIterator[CatalogStore]:
    with postgres_database() as url:
        store = CatalogStore(url, 2)
        await store.open()
        await store.upsert(demo_records())
        yield store
        await store.close()
