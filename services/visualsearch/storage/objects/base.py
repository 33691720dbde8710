"""Product images in an object store: the interface (backends: ``s3`` for any S3 server through
``minio``, ``local`` for a directory on one machine).

Keys are content-addressed (``products/<id>/<sha256>.<ext>``) so a retried upload writes the
same object, and the store is never public: the API serves images itself.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod

from visualsearch.exceptions import InputError

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


def content_type(key: str) -> str:
    ext = key.rsplit(".", 1)[-1].lower()
    return {
        "jpg": "image/jpeg",
        "jpeg": "image/jpeg",
        "png": "image/png",
        "webp": "image/webp",
        "gif": "image/gif",
        "bmp": "image/bmp",
    }.get(ext, "application/octet-stream")
