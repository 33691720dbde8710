"""The index spec's Qdrant layout (shards, replicas, quantisation, on-disk) reaches new collections.

Qdrant's local mode accepts these parameters but does not record them (only a server shards or
quantises), so the first tests check what our side decides: the layout built from settings,
carried to every generation, turned into the right Qdrant configuration. The last ones create
collections over HTTP on the Qdrant stand-in (``tests/reliability/qdrant_standin.py``) and read
back what the server reports (its collection info): vector size, distance, on-disk storage, the
payload indexes of the filtered fields; what it cannot honour (shards, replicas, quantisation)
it refuses, so a layout that is dropped on the way cannot pass.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from qdrant_client import QdrantClient, models

from tests.support.servers import QdrantStandin
from visualsearch.config import Settings
from visualsearch.exceptions import StoreUnavailableError
from visualsearch.factory import create_vector_store
from visualsearch.storage.vectors.base import VectorItem, generation_name
from visualsearch.storage.vectors.qdrant import (
    PAYLOAD_INDEXES,
    QdrantLayout,
    QdrantVectorStore,
    quantization_config,
)


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


async def test_the_server_reports_the_collection_it_was_asked_for(
    qdrant_standin: QdrantStandin,
) -> None:
    store = QdrantVectorStore("layout", url=qdrant_standin.url, layout=QdrantLayout(on_disk=True))
    try:
        await store.ensure_collection(8)
        await store.upsert([VectorItem("p1", np.eye(8, dtype=np.float32)[0], "shoes")])
    finally:
        await store.close()
    server = QdrantClient(url=qdrant_standin.url)
    try:
        (alias,) = server.get_aliases().aliases
        assert (alias.alias_name, alias.collection_name) == ("layout", generation_name("layout", 1))
        info = server.get_collection(alias.collection_name)
    finally:
        server.close()
    vectors = info.config.params.vectors
    assert isinstance(vectors, models.VectorParams)
    assert (vectors.size, vectors.distance, vectors.on_disk) == (8, models.Distance.COSINE, True)
    assert (info.config.params.shard_number, info.config.params.replication_factor) == (1, 1)
    assert {field: schema.data_type for field, schema in info.payload_schema.items()} == (
        PAYLOAD_INDEXES
    )
    assert info.points_count == 1


@pytest.mark.parametrize(
    ("layout", "refusal"),
    [
        (QdrantLayout(shards=2), "one shard"),
        (QdrantLayout(replication_factor=2), "one copy"),
        (QdrantLayout(quantization="scalar"), "quantise"),
    ],
)
async def test_a_layout_the_server_cannot_honour_is_refused_not_dropped(
    qdrant_standin: QdrantStandin, layout: QdrantLayout, refusal: str
) -> None:
    store = QdrantVectorStore("layout", url=qdrant_standin.url, layout=layout)
    try:
        with pytest.raises(StoreUnavailableError, match=refusal):
            await store.ensure_collection(8)
    finally:
        await store.close()
