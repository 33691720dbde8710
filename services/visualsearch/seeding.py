"""Loading catalogues through the bulk path: into this process's stores, or into a running
deployment over its API (``POST /index/bulk``), with a progress bar either way."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from tqdm import tqdm

from visualsearch.schemas import IngestSummary, Rejected
from visualsearch.services.catalog_files import CatalogEntry, ImageFetcher, read_catalog
from visualsearch.services.duplicates import NEAR_DUPLICATE_COSINE, merge

if TYPE_CHECKING:
    from visualsearch.factory import Context

DEMO_CATALOG = Path(__file__).parent / "demo" / "catalogue.json"


async def seed_local(
    context: Context, path: Path, batch_size: int = 32, show_progress: bool = True
) -> IngestSummary:
    """Ingest the catalogue at ``path`` into the stores of ``context``."""
    return await seed_entries(context, list(read_catalog(path)), path, batch_size, show_progress)


async def seed_entries(
    context: Context,
    entries: list[CatalogEntry],
    path: Path,
    batch_size: int = 32,
    show_progress: bool = True,
) -> IngestSummary:
    """Ingest ``entries`` read from the catalogue at ``path`` (its folder resolves relative image
    references) into the stores of ``context``."""
    fetcher = ImageFetcher(path.parent, context.settings.max_upload_bytes)
    bar = tqdm(
        total=len(entries), unit="product", desc=f"Indexing {path.name}", disable=not show_progress
    )
    try:
        return await context.bulk_ingester(batch_size).ingest(entries, fetcher, bar.update)
    finally:
        bar.close()
        await fetcher.close()


def seed_remote(
    api_url: str, api_key: str, path: Path, batch_size: int = 32, show_progress: bool = True
) -> IngestSummary:
    """Ingest the catalogue at ``path`` into a running deployment, batch by batch."""
    entries = list(read_catalog(path))
    total = IngestSummary()
    with (
        httpx.Client(
            base_url=api_url.rstrip("/"), timeout=300, headers={"X-API-Key": api_key}
        ) as client,
        tqdm(
            total=len(entries),
            unit="product",
            desc=f"Indexing {path.name}",
            disable=not show_progress,
        ) as bar,
    ):
        for batch in _batches(entries, batch_size):
            sendable = [e for e in batch if not e.error]
            total.rejected += [
                Rejected(row=e.row, product_id=e.product_id, reason=e.error or "")
                for e in batch
                if e.error
            ]
            files = _files(path.parent, sendable)
            response = client.post("/index/bulk", files=files)
            if response.status_code >= 400:
                raise RuntimeError(f"{api_url} answered {response.status_code}: {response.text}")
            part = IngestSummary.model_validate(response.json())
            offset = {i + 1: e.row for i, e in enumerate(sendable)}
            total.added += part.added
            total.updated += part.updated
            total.unchanged += part.unchanged
            total.rejected += [
                r.model_copy(update={"row": offset.get(r.row, r.row)}) for r in part.rejected
            ]
            total.duplicates = merge([*total.duplicates, *part.duplicates])
            bar.update(len(batch))
    return total


def _batches(entries: list[CatalogEntry], size: int) -> Iterator[list[CatalogEntry]]:
    for start in range(0, len(entries), size):
        yield entries[start : start + size]


def _files(base: Path, entries: list[CatalogEntry]) -> list[tuple[str, tuple[str, bytes, str]]]:
    rows = []
    files: list[tuple[str, tuple[str, bytes, str]]] = []
    for entry in entries:
        row = dict(entry.fields)
        names = []
        for ref in entry.images:
            path = Path(ref) if Path(ref).is_absolute() else base / ref
            name = f"{len(files)}-{Path(ref.split('?')[0]).name or 'image'}"
            names.append(name)
            data = _read(ref, path)
            files.append(("images", (name, data, mimetypes.guess_type(name)[0] or "image/jpeg")))
        row["image"], row["images"] = names[0], names[1:]
        rows.append(row)
    catalogue = "\n".join(json.dumps(r, default=str) for r in rows).encode()
    return [("catalogue", ("batch.jsonl", catalogue, "application/x-ndjson")), *files]


def _read(ref: str, path: Path) -> bytes:
    """The image bytes, or b'' (which the server rejects with a reason) when unreadable."""
    try:
        if ref.startswith(("http://", "https://")):
            response = httpx.get(ref, timeout=20, follow_redirects=True)
            return response.content if response.status_code == 200 else b""
        return path.read_bytes()
    except (OSError, httpx.HTTPError):
        return b""


def print_summary(summary: IngestSummary, echo=print) -> None:
    echo(
        f"{summary.total} rows: {summary.added} added, {summary.updated} updated, "
        f"{summary.unchanged} unchanged, {len(summary.rejected)} rejected."
    )
    for rejected in summary.rejected:
        who = f" ({rejected.product_id})" if rejected.product_id else ""
        echo(f"  row {rejected.row}{who}: {rejected.reason}")
    if summary.duplicates:
        echo(
            f"{len(summary.duplicates)} near-duplicate pairs "
            f"(main images at cosine >= {NEAR_DUPLICATE_COSINE}):"
        )
    for pair in summary.duplicates:
        echo(f"  {pair.product_id} ~ {pair.other_id}: {pair.score:.3f}")
