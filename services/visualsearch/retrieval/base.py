"""What every retriever takes and gives."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from visualsearch.filters import ProductFilter
from visualsearch.imaging import Crop


@dataclass(frozen=True)
class Query:
    """A shopper's query: an image, a text, or both."""

    image: bytes | None = None
    text: str | None = None
    crop: Crop | None = None  # the region of the image to search, when the shopper drew one


@dataclass(frozen=True)
class Candidate:
    """One product a retriever found, with the retriever's own score in [0, 1]
    (``image_index``: which of its images matched, for an image-vector retriever)."""

    product_id: str
    score: float
    image_index: int | None = None


class Retriever(ABC):
    """Ranks products for one kind of evidence."""

    name: str
    """``visual``, ``clip_text``, ``keyword`` or ``semantic`` (weights and ``mode`` use it)."""

    @abstractmethod
    def applies(self, query: Query) -> bool:
        """Whether this retriever has anything to work with in ``query``."""

    @abstractmethod
    async def retrieve(
        self,
        query: Query,
        depth: int,
        filter: ProductFilter,
        *,
        offset: int = 0,
        min_score: float | None = None,
    ) -> list[Candidate]:
        """Ranks ``offset`` .. ``offset + depth`` of the products passing ``filter``, best first."""
