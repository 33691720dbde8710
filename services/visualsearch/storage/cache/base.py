"""The search result cache: the interface (backends: ``redis``, ``memory`` for one machine).

Keys include the index version, so any write (which bumps the version) makes every cached
result unreachable at once; entries then expire by TTL.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

PREFIX = "visualsearch:cache:"


class ResultCache(ABC):
    @abstractmethod
    async def get(self, key: str) -> bytes | None: ...

    @abstractmethod
    async def set(self, key: str, value: bytes, ttl: int) -> None: ...

    @abstractmethod
    async def ping(self) -> None: ...
