"""The result cache as an in-process TTL map, for the one-machine mode."""

from __future__ import annotations

import time
from collections import OrderedDict

from visualsearch.storage.cache.base import ResultCache


class MemoryResultCache(ResultCache):
    """A bounded LRU with per-entry expiry, for a single process."""

    def __init__(self, max_entries: int = 2048) -> None:
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._max = max_entries

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires < time.monotonic():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        self._entries[key] = (time.monotonic() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def ping(self) -> None:
        return None
