"""The search result cache: Redis, or an in-process TTL map for the one-machine mode.

Keys include the index version, so any write (which bumps the version) makes every cached
result unreachable at once; entries then expire by TTL.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections import OrderedDict

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from visualsearch.exceptions import StoreUnavailableError

PREFIX = "visualsearch:cache:"


class ResultCache(ABC):
    @abstractmethod
    async def get(self, key: str) -> bytes | None: ...

    @abstractmethod
    async def set(self, key: str, value: bytes, ttl: int) -> None: ...

    @abstractmethod
    async def ping(self) -> None: ...


class RedisResultCache(ResultCache):
    """Cache in Redis. A cache outage degrades to misses (search keeps working)."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._redis = client

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self._redis.get(PREFIX + key)
            return value.encode() if isinstance(value, str) else value
        except RedisError:
            return None

    async def set(self, key: str, value: bytes, ttl: int) -> None:
        try:
            await self._redis.set(PREFIX + key, value, ex=ttl)
        except RedisError:
            return

    async def ping(self) -> None:
        try:
            await self._redis.ping()
        except RedisError as exc:
            raise StoreUnavailableError("cache", str(exc)) from exc


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
