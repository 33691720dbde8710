"""Product images in any S3 server (MinIO in Kubernetes) through ``minio``."""

from __future__ import annotations

import asyncio
import io
import re
import time

import urllib3
from minio import Minio
from minio.error import InvalidResponseError, S3Error

from visualsearch.exceptions import NotFoundError, StoreUnavailableError
from visualsearch.storage.objects.base import STORE, ObjectStore, validate_key


class S3ObjectStore(ObjectStore):
    """S3 / MinIO through the ``minio`` client (blocking calls run on threads)."""

    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        secure: bool = False,
        region: str | None = None,
    ) -> None:
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=3, read=20),
            retries=urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=[502, 503, 504]),
            maxsize=16,
        )
        self._client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=http,
        )
        self.bucket = bucket

    async def _run(self, fn, *args, **kwargs):
        try:
            return await asyncio.to_thread(fn, *args, **kwargs)
        except (S3Error, InvalidResponseError) as exc:
            code = error_code(exc)
            if code in ("NoSuchKey", "NoSuchObject"):
                raise NotFoundError("No such image.") from exc
            if code == "NoSuchBucket":
                raise _NoSuchBucket(str(exc)) from exc
            raise StoreUnavailableError(STORE, f"{code}: {exc}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StoreUnavailableError(STORE, str(exc) or type(exc).__name__) from exc

    async def open(self) -> None:
        try:
            exists = await self._run(self._client.bucket_exists, self.bucket)
        except _NoSuchBucket:
            exists = False
        if not exists:
            try:
                await self._run(self._client.make_bucket, self.bucket)
            except StoreUnavailableError as exc:  # another replica made it first
                if "BucketAlreadyOwnedByYou" not in str(exc):
                    raise

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await self._run(
            self._client.put_object,
            self.bucket,
            validate_key(key),
            io.BytesIO(data),
            len(data),
            content_type=content_type,
        )

    async def get(self, key: str) -> tuple[bytes, str]:
        def fetch() -> tuple[bytes, str]:
            response = self._client.get_object(self.bucket, validate_key(key))
            try:
                return response.read(), response.headers.get(
                    "Content-Type", "application/octet-stream"
                )
            finally:
                response.close()
                response.release_conn()

        return await self._run(fetch)

    async def exists(self, key: str) -> bool:
        try:
            await self._run(self._client.stat_object, self.bucket, validate_key(key))
        except NotFoundError:
            return False
        return True

    async def delete(self, key: str) -> None:
        await self._run(self._client.remove_object, self.bucket, validate_key(key))

    async def keys(self, prefix: str = "") -> list[str]:
        def listing() -> list[str]:
            objects = self._client.list_objects(self.bucket, prefix=prefix, recursive=True)
            return [o.object_name for o in objects if o.object_name]

        return await self._run(listing)

    async def ping(self) -> None:
        await self._run(self._client.bucket_exists, self.bucket)

    async def listing(self, prefix: str = "") -> dict[str, float]:
        def listing() -> dict[str, float]:
            objects = self._client.list_objects(self.bucket, prefix=prefix, recursive=True)
            return {
                o.object_name: o.last_modified.timestamp() if o.last_modified else time.time()
                for o in objects
                if o.object_name
            }

        return await self._run(listing)

    async def refresh(self, key: str) -> bool:
        # S3 has no touch that every server supports (a copy onto itself is refused or mangled
        # by some), so the caller writes the same bytes again: that sets a new Last-Modified.
        return False

    async def delete_if_older(self, key: str, cutoff: float) -> bool:
        try:
            stat = await self._run(self._client.stat_object, self.bucket, validate_key(key))
        except NotFoundError:
            return False
        if stat.last_modified is None or stat.last_modified.timestamp() >= cutoff:
            return False
        await self.delete(key)
        return True


class _NoSuchBucket(StoreUnavailableError):
    def __init__(self, detail: str) -> None:
        super().__init__(STORE, f"the bucket does not exist ({detail})")


def error_code(exc: S3Error | InvalidResponseError) -> str:
    """The S3 error code, also from servers whose XML errors minio does not parse (text/xml)."""
    if isinstance(exc, S3Error):
        return str(exc.code)
    match = re.search(r"<Code>([^<]+)</Code>", str(exc))
    return match.group(1) if match else "InvalidResponse"
