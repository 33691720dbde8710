"""Product images in an object store: any S3 server through ``minio``, or a local directory.

Keys are content-addressed (``products/<id>/<sha256>.<ext>``) so a retried upload writes the
same object, and the store is never public: the API serves images itself.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import tempfile
import time
from abc import ABC, abstractmethod
from pathlib import Path

import urllib3
from minio import Minio
from minio.error import InvalidResponseError, S3Error

from visualsearch.exceptions import InputError, NotFoundError, StoreUnavailableError

STORE = "object store"
KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]*(/[A-Za-z0-9][A-Za-z0-9._\-]*)*$")


def validate_key(key: str) -> str:
    """Refuse keys that could escape the store (``..``, absolute paths, odd characters)."""
    if len(key) > 512 or not KEY_PATTERN.match(key) or ".." in key.split("/"):
        raise InputError("Invalid image key.")
    return key


class ObjectStore(ABC):
    """put / get / delete / list of bytes by key.

    Every object has a modification time, which the orphan sweep reads: an image that no row
    refers to is removed only once it is older than a grace period, because indexing writes
    the image first and its row second. ``refresh`` makes an object that is about to be
    referenced again count as new, so the sweep never takes an image whose row is being written.
    """

    @abstractmethod
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    @abstractmethod
    async def get(self, key: str) -> tuple[bytes, str]: ...

    @abstractmethod
    async def exists(self, key: str) -> bool: ...

    @abstractmethod
    async def delete(self, key: str) -> None: ...

    @abstractmethod
    async def keys(self, prefix: str = "") -> list[str]: ...

    @abstractmethod
    async def ping(self) -> None: ...

    @abstractmethod
    async def listing(self, prefix: str = "") -> dict[str, float]:
        """Every key under ``prefix`` with its modification time (seconds since the epoch)."""

    @abstractmethod
    async def refresh(self, key: str) -> bool:
        """Set the object's modification time to now; False when there is no such object (or
        the store cannot: then the caller writes it again, which refreshes it as well)."""

    @abstractmethod
    async def delete_if_older(self, key: str, cutoff: float) -> bool:
        """Delete the object if it was last modified before ``cutoff``; True if deleted."""

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None


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
            code = _error_code(exc)
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


class LocalObjectStore(ObjectStore):
    """Objects as files under a directory (the one-machine mode); writes are atomic renames."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / validate_key(key)).resolve()
        if self.root not in path.parents:
            raise InputError("Invalid image key.")
        return path

    async def open(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)

        await asyncio.to_thread(write)

    async def get(self, key: str) -> tuple[bytes, str]:
        path = self._path(key)
        try:
            data = await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError as exc:
            raise NotFoundError("No such image.") from exc
        return data, _content_type(key)

    async def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def keys(self, prefix: str = "") -> list[str]:
        def walk() -> list[str]:
            return sorted(
                str(p.relative_to(self.root))
                for p in self.root.rglob("*")
                if p.is_file() and not p.name.startswith(".tmp-")
            )

        return [k for k in await asyncio.to_thread(walk) if k.startswith(prefix)]

    async def ping(self) -> None:
        if not self.root.is_dir():
            raise StoreUnavailableError(STORE, f"{self.root} is missing")

    async def listing(self, prefix: str = "") -> dict[str, float]:
        def walk() -> dict[str, float]:
            found = {}
            for path in self.root.rglob("*"):
                if path.name.startswith(".tmp-"):
                    continue
                key = str(path.relative_to(self.root))
                if not key.startswith(prefix):
                    continue
                try:
                    stat = path.stat()
                except FileNotFoundError:  # deleted while listing
                    continue
                if path.is_file():
                    found[key] = stat.st_mtime
            return found

        return await asyncio.to_thread(walk)

    async def refresh(self, key: str) -> bool:
        try:
            os.utime(self._path(key))
        except FileNotFoundError:
            return False
        return True

    async def delete_if_older(self, key: str, cutoff: float) -> bool:
        """Race-free against ``refresh``: the file is first renamed aside (atomic), so a refresh
        either happened before (the renamed file is new: it is put back) or finds nothing and
        the caller writes the image again."""
        path = self._path(key)
        aside = path.with_name(f".tmp-sweep-{path.name}")
        try:
            os.replace(path, aside)
        except FileNotFoundError:
            return False
        if aside.stat().st_mtime >= cutoff:
            os.replace(aside, path)  # refreshed meanwhile: keep it
            return False
        aside.unlink(missing_ok=True)
        return True


class _NoSuchBucket(StoreUnavailableError):
    def __init__(self, detail: str) -> None:
        super().__init__(STORE, f"the bucket does not exist ({detail})")


def _error_code(exc: S3Error | InvalidResponseError) -> str:
    """The S3 error code, also from servers whose XML errors minio does not parse (text/xml)."""
    if isinstance(exc, S3Error):
        return str(exc.code)
    match = re.search(r"<Code>([^<]+)</Code>", str(exc))
    return match.group(1) if match else "InvalidResponse"


def _content_type(key: str) -> str:
    ext = key.rsplit(".", 1)[-1].lower()
    return {
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "png": "image/png",
        "webp": "image/webp",
        "gif": "image/gif",
        "bmp": "image/bmp",
    }.get(ext, "application/octet-stream")
