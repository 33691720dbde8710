"""The vector index interface every backend implements (Qdrant, pgvector).

A store serves one logical collection (``collection``), an alias of a physical generation.
A re-index builds the next generation beside the live one (``begin_rebuild``), fills it, and
switches the alias in one step (``commit_rebuild``): searches never see a half-built index.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

STORE = "vector index"

VectorItem = tuple[str, np.ndarray, dict[str, Any]]


@dataclass(frozen=True)
class VectorHit:
    product_id: str
    score: float


def generation_name(collection: str, number: int) -> str:
    return f"{collection}__g{number}"


def generation_number(physical: str) -> int:
    _, _, suffix = physical.rpartition("__g")
    return int(suffix) if suffix.isdigit() else 0


class VectorStore(ABC):
    """Product vectors with a ``category`` payload filtered inside the index scan.

    Payloads carry ``category`` and ``image_sha256`` (the hash of the image a vector was made
    from, so consistency checks can tell a stale vector from a current one).
    """

    collection: str
    kind: str

    async def open(self) -> None:
        return None

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    async def ping(self) -> None: ...

    @abstractmethod
    async def ensure_collection(self, dim: int) -> None:
        """Create the live generation for ``dim``-sized vectors; refuse one of another size."""

    @abstractmethod
    async def drop_collection(self) -> None:
        """Remove the live generation and the alias (a re-index then starts from nothing)."""

    @abstractmethod
    async def upsert(self, items: Sequence[VectorItem]) -> None:
        """Store (product_id, unit vector, payload), replacing any earlier vector."""

    @abstractmethod
    async def search(
        self, vector: np.ndarray, top_k: int, category: str | None = None
    ) -> list[VectorHit]:
        """The ``top_k`` nearest by cosine similarity, best first, within ``category``."""

    @abstractmethod
    async def delete(self, product_ids: Sequence[str]) -> None: ...

    @abstractmethod
    async def existing(self, product_ids: Sequence[str]) -> dict[str, str]:
        """Which of ``product_ids`` have a vector, with the image hash it was made from."""

    @abstractmethod
    async def count(self) -> int: ...

    @abstractmethod
    async def all_ids(self) -> dict[str, str]:
        """Every product id with a vector and its image hash."""

    # -- zero-downtime re-index ----------------------------------------------------------------

    @abstractmethod
    async def begin_rebuild(self, dim: int) -> VectorStore:
        """A store writing to a new, empty generation beside the live one."""

    @abstractmethod
    async def commit_rebuild(self, builder: VectorStore) -> None:
        """Point the collection at the builder's generation, then drop the previous one."""

    @abstractmethod
    async def abort_rebuild(self, builder: VectorStore) -> None:
        """Drop a generation that will not be used."""
