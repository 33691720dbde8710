"""Both vector-store adapters on real engines: Qdrant's local mode and PostgreSQL with pgvector."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from visualsearch.storage.vectors.base import VectorStore
from visualsearch.storage.vectors.pgvector import PgVectorStore
from visualsearch.storage.vectors.qdrant import QdrantVectorStore
from visualsearch.storage.vectors.qdrant_edge import QdrantEdgeVectorStore


@pytest.fixture(params=["qdrant", "pgvector", "qdrant-edge"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[VectorStore]:
    name = f"t{uuid.uuid4().hex[:10]}"
    vectors: VectorStore
    if request.param == "qdrant":
        vectors = QdrantVectorStore(name, path=tmp_path / "qdrant")
    elif request.param == "qdrant-edge":
        vectors = QdrantEdgeVectorStore(name, tmp_path / "edge")
    else:
        vectors = PgVectorStore(name, request.getfixturevalue("pgvector_url"))
    await vectors.open()
    yield vectors
    await vectors.drop_collection()
    await vectors.close()
