"""The product images table: migrated in place (an existing row's one image becomes position 0)
and rewritten with every upsert, on a real PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support.servers import postgres_database
from visualsearch.storage import catalog as catalog_module
from visualsearch.storage.catalog import MIGRATIONS, CatalogStore, ImageRef, ProductRecord


def row(pid: str, gallery: tuple[ImageRef, ...] = ()) -> ProductRecord:
    return ProductRecord(pid, "n", "b", Decimal("1.00"), "c", "", None, 1, "",
                         f"products/{pid}/main.jpg", f"sha-{pid}", gallery)  # fmt: skip


async def test_existing_rows_get_their_image_as_position_0(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gallery_migration = next(i for i, m in enumerate(MIGRATIONS) if "product_images" in m)
    with postgres_database() as url:
        monkeypatch.setattr(catalog_module, "MIGRATIONS", MIGRATIONS[:gallery_migration])
        store = CatalogStore(url, pool_size=2)
        await store.open()  # the schema before galleries
        async with store.transaction() as conn:
            await conn.execute(
                f"INSERT INTO products ({catalog_module.COLUMNS}) VALUES "
                "('old', 'n', 'b', 1, 'c', '', NULL, 1, '', 'products/old/a.jpg', 'sha-old')"
            )
        monkeypatch.setattr(catalog_module, "MIGRATIONS", MIGRATIONS)
        await store.migrate()
        old = await store.get("old")
        assert old is not None and old.gallery == (ImageRef("products/old/a.jpg", "sha-old"),)

        two = (ImageRef("products/new/main.jpg", "sha-new"), ImageRef("products/new/b.jpg", "b"))
        await store.upsert([row("new", two)])
        assert (await store.get("new")).gallery == two  # type: ignore[union-attr]
        await store.upsert([row("new", two[:1])])  # a smaller gallery replaces the set
        assert (await store.get("new")).gallery == two[:1]  # type: ignore[union-attr]
        page = await store.browse(catalog_module.ProductFilter(), "name", 0, 10)
        assert {r.product_id: len(r.images) for r in page.records} == {"new": 1, "old": 1}
        assert await store.delete("new")
        assert "new" not in await store.all_galleries()  # cascades
        await store.close()
