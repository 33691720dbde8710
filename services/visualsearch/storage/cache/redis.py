"""The result cache in Redis (shared by every API pod)."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from visualsearch.exceptions import StoreUnavailableError
from visualsearch.storage.cache.base import PREFIX, ResultCache


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
