"""The index spec's Qdrant layout (shards, replicas, quantisation, on-disk) reaches new collections.

Qdrant's local mode accepts these parameters but does not record them (only a server shards or
quantises), so this checks what our side decides: the layout built from settings, carried to
every generation, turned into the right Qdrant configuration, and accepted on creation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from qdrant_client import models

from visualsearch.config import Settings
from visualsearch.factory import create_vector_store
from visualsearch.storage.vectors.base import VectorItem
from visualsearch.storage.vectors.qdrant import QdrantLayout, QdrantVectorStore, quantization_config


async def test_layout_from_settings_is_carried_to_each_generation(tmp_path: Path) -> None:
    settings = Settings(
        qdrant_path=tmp_path / "q",
        qdrant_shards=2,
        qdrant_replication_factor=2,
        qdrant_quantization="scalar",
        qdrant_on_disk=True,
        data_dir=tmp_path,
    )
    store = await create_vector_store(settings, database_url="postgresql://unused")
    assert isinstance(store, QdrantVectorStore)
    try:
        assert store.layout == QdrantLayout(2, 2, "scalar", True)
        await store.ensure_collection(8)
        vectors = np.eye(8, dtype=np.float32)
        await store.upsert([VectorItem(f"p{i}", v, "c") for i, v in enumerate(vectors)])
        assert [h.product_id for h in await store.search(vectors[3], 1)] == ["p3"]
        builder = await store.begin_rebuild(8)
        assert isinstance(builder, QdrantVectorStore) and builder.layout == store.layout
        await store.commit_rebuild(builder)
    finally:
        await store.close()


def test_quantisation_kinds_map_to_qdrant_configurations() -> None:
    scalar = quantization_config("scalar")
    assert isinstance(scalar, models.ScalarQuantization)
    assert scalar.scalar.type == models.ScalarType.INT8 and scalar.scalar.always_ram
    assert isinstance(quantization_config("product"), models.ProductQuantization)
    assert isinstance(quantization_config("binary"), models.BinaryQuantization)
    assert quantization_config("none") is None
