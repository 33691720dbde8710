"""Product images in a local directory (the one-machine mode): atomic writes, mtimes for the
orphan sweep's grace period."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

from visualsearch.exceptions import InputError, NotFoundError, StoreUnavailableError
from visualsearch.storage.objects.base import STORE, ObjectStore, content_type, validate_key


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
        return data, content_type(key)

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
