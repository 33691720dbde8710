"""Reading a shop's catalogue file (JSON, JSON Lines or CSV) and fetching the images it names.

Field names follow our API (``product_id``, ``name``, ``image``...) and DummyJSON's (``id``,
``title``, ``thumbnail``, ``warrantyInformation``...), so either shape loads. Rows that cannot
be parsed are yielded with an error instead of stopping the run.

A row's gallery is its ``image`` followed by its ``images`` list (DummyJSON's ``thumbnail`` and
then all of its ``images``); without ``image``, the list's first entry is the main image. In a
CSV, ``images`` is one column of references separated by ``|``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from visualsearch.exceptions import ImageTooLargeError, InputError

ALIASES = {
    "id": "product_id",
    "sku": "product_id",
    "title": "name",
    "warrantyInformation": "warranty",
    "warranty_information": "warranty",
    "image_url": "image",
    "thumbnail": "image",
}
FIELDS = (
    "product_id",
    "name",
    "price",
    "category",
    "brand",
    "stock",
    "rating",
    "description",
    "warranty",
)


@dataclass
class CatalogEntry:
    row: int
    fields: dict[str, Any] = field(default_factory=dict)
    image: str | None = None
    error: str | None = None
    extra_images: list[str] = field(default_factory=list)

    @property
    def images(self) -> list[str]:
        """The gallery's references, the main image first."""
        return ([self.image] if self.image else []) + self.extra_images

    @property
    def product_id(self) -> str | None:
        value = self.fields.get("product_id")
        return None if value in (None, "") else str(value)


def normalise(row: int, raw: Any) -> CatalogEntry:
    """Map one raw record onto our field names."""
    if not isinstance(raw, dict):
        return CatalogEntry(row, error="The row is not an object with named fields.")
    fields: dict[str, Any] = {}
    image: str | None = None
    listed: list[str] = []
    for key, value in raw.items():
        name = ALIASES.get(key, key)
        if name == "image":
            image = image or (str(value).strip() if value not in (None, "") else None)
        elif name == "images":
            listed = _references(value)
        elif name in FIELDS and value not in (None, ""):
            fields[name] = value
    if "product_id" in fields:
        fields["product_id"] = str(fields["product_id"])
    if image is None and listed:
        image, listed = listed[0], listed[1:]
    if image is None:
        return CatalogEntry(row, fields, error="The row names no image ('image' field).")
    return CatalogEntry(row, fields, image, extra_images=[r for r in listed if r != image])


def _references(value: Any) -> list[str]:
    """An ``images`` value: a JSON list, or a CSV cell of ``|``-separated references."""
    items = value if isinstance(value, list) else str(value or "").split("|")
    return [str(i).strip() for i in items if i not in (None, "") and str(i).strip()]


def read_catalog(path: Path) -> Iterator[CatalogEntry]:
    """Entries of a .json, .jsonl/.ndjson or .csv file, in order, numbered from 1."""
    text = path.read_text(encoding="utf-8-sig")
    yield from parse_catalog(text, path.suffix.lower())


def parse_catalog(text: str, suffix: str) -> Iterator[CatalogEntry]:
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(f"The catalogue is not valid JSON: {exc}") from exc
        records = data.get("products") if isinstance(data, dict) else data
        if not isinstance(records, list):
            raise InputError('A JSON catalogue is a list of products or {"products": [...]}.')
        for number, raw in enumerate(records, start=1):
            yield normalise(number, raw)
    elif suffix in (".jsonl", ".ndjson"):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield normalise(number, json.loads(line))
            except json.JSONDecodeError as exc:
                yield CatalogEntry(number, error=f"Invalid JSON: {exc.msg}")
    elif suffix == ".csv":
        # newline="" lets csv handle every line ending (a lone \r included) itself
        reader = csv.DictReader(io.StringIO(text, newline=""))
        try:
            for number, raw in enumerate(reader, start=1):
                if None in raw:
                    yield CatalogEntry(number, error="The row has more columns than the header.")
                    continue
                yield normalise(number, raw)
        except csv.Error as exc:  # e.g. a NUL byte or a field over csv's size limit
            raise InputError(f"The CSV catalogue cannot be read: {exc}.") from exc
    else:
        raise InputError(f"Unknown catalogue format {suffix!r}: use .json, .jsonl or .csv.")


class ImageFetcher:
    """Loads an entry's image from a path (relative to the catalogue) or an http(s) URL."""

    def __init__(self, base_dir: Path, max_bytes: int, timeout: float = 20.0) -> None:
        self._base = base_dir.resolve()
        self._max = max_bytes
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=True)

    async def __call__(self, ref: str) -> bytes:
        if urlparse(ref).scheme in ("http", "https"):
            return await self._download(ref)
        path = Path(ref) if Path(ref).is_absolute() else self._base / ref
        try:
            if path.stat().st_size > self._max:
                raise ImageTooLargeError(f"The image {ref} is larger than the upload limit.")
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise InputError(f"The image file {ref} does not exist.") from exc
        except OSError as exc:
            raise InputError(f"The image file {ref} cannot be read: {exc.strerror}.") from exc

    async def _download(self, url: str) -> bytes:
        try:
            async with self._client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise InputError(f"Fetching {url} answered HTTP {response.status_code}.")
                chunks, size = [], 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > self._max:
                        raise ImageTooLargeError(f"The image at {url} is over the upload limit.")
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.HTTPError as exc:
            raise InputError(f"Fetching {url} failed: {exc}") from exc

    async def close(self) -> None:
        await self._client.aclose()
