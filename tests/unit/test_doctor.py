"""Doctor's decisions over small in-memory fakes of the stores it is given (seconds, not minutes).

The same checks run against real PostgreSQL, S3 and vector stores in tests/reliability/test_doctor.py
and tests/oneprocess/test_crash_recovery.py; these pin the logic: what is drift, what the grace
period protects, what a repair does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from visualsearch.services.doctor import Doctor
from visualsearch.storage.catalog import ImageRef, ProductRecord
from visualsearch.storage.vectors.base import VectorPayload

NOW = 1_000_000.0


def record(pid: str, stock: int = 1) -> ProductRecord:
    return ProductRecord(pid, f"n {pid}", "Acme", Decimal("9.99"), "shoes", "", None, stock, "",
                         f"products/{pid}.jpg", f"sha-{pid}")  # fmt: skip


@dataclass
class Catalog:
    rows: dict[str, ProductRecord]
    version: int = 0

    async def all_galleries(self) -> dict[str, list[ImageRef]]:
        return {p: list(r.images) for p, r in self.rows.items()}

    async def get_many(self, ids: list[str]) -> dict[str, ProductRecord]:
        return {p: self.rows[p] for p in ids if p in self.rows}

    async def bump_version(self) -> None:
        self.version += 1


@dataclass
class Vectors:
    hashes: dict[str, str]  # the main images' vectors
    stored: dict[str, VectorPayload | None]
    extra: dict[tuple[str, int], str] = field(default_factory=dict)  # other gallery images

    async def images(self) -> dict[str, dict[int, str]]:
        found = {pid: {0: sha} for pid, sha in self.hashes.items()}
        for (pid, n), sha in self.extra.items():
            found.setdefault(pid, {})[n] = sha
        return found

    async def delete_images(self, keys: list[tuple[str, int]]) -> None:
        for key in keys:
            self.extra.pop(key, None)

    async def payloads(self) -> dict[str, VectorPayload | None]:
        return dict(self.stored)

    async def set_payloads(self, payloads: dict[str, VectorPayload]) -> None:
        self.stored.update(payloads)

    async def delete(self, ids: list[str]) -> None:
        for pid in ids:
            self.hashes.pop(pid, None)
            self.stored.pop(pid, None)


@dataclass
class Objects:
    mtimes: dict[str, float]

    async def listing(self, prefix: str) -> dict[str, float]:
        return {k: t for k, t in self.mtimes.items() if k.startswith(prefix)}

    async def delete_if_older(self, key: str, cutoff: float) -> bool:
        if self.mtimes.get(key, cutoff) < cutoff:
            del self.mtimes[key]
            return True
        return False


@dataclass
class Queue:
    queued: list[str] = field(default_factory=list)

    async def enqueue(self, pid: str) -> Any:
        self.queued.append(pid)

    async def pending(self) -> int:
        return len(self.queued)


def shop() -> tuple[Doctor, Catalog, Vectors, Objects, Queue]:
    rows = {p: record(p) for p in ("a", "b", "c")}
    catalog = Catalog(rows)
    vectors = Vectors(
        {"a": "sha-a", "b": "old-sha", "ghost": "sha-ghost"},  # c has none, b is stale
        {"a": VectorPayload.of(rows["a"]), "b": None, "ghost": None},  # b's payload predates
    )
    objects = Objects({
        "products/a.jpg": NOW - 10_000, "products/b.jpg": NOW - 10_000,
        "products/old-orphan.jpg": NOW - 10_000,  # a crash left it long ago
        "products/uploading.jpg": NOW - 5,  # its row may be being written right now
    })  # fmt: skip
    queue = Queue()
    return Doctor(catalog, vectors, objects, queue, 300), catalog, vectors, objects, queue  # type: ignore[arg-type]


async def test_examine_names_every_kind_of_drift_and_spares_young_images(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("visualsearch.services.doctor.time.time", lambda: NOW)
    doctor, *_ = shop()
    report = await doctor.examine()
    assert report.rows_without_vector == ["c"]
    assert report.stale_vectors == ["b"]
    assert report.vectors_without_row == ["ghost"]
    assert report.rows_without_image == ["c"]
    assert report.orphan_objects == ["products/old-orphan.jpg"]
    assert report.young_objects == ["products/uploading.jpg"]  # reported, not drift
    assert report.stale_payloads == ["b"]
    assert not report.clean


async def test_repair_requeues_deletes_and_backfills_but_keeps_young_images(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("visualsearch.services.doctor.time.time", lambda: NOW)
    doctor, catalog, vectors, objects, queue = shop()
    await doctor.repair(await doctor.examine())
    assert queue.queued == ["b"]  # c has no image to embed: only the shop can fix it
    assert "ghost" not in vectors.hashes
    assert set(objects.mtimes) == {"products/a.jpg", "products/b.jpg", "products/uploading.jpg"}
    assert vectors.stored["b"] == VectorPayload.of(catalog.rows["b"])
    assert catalog.version >= 1  # cached results that named the ghost are unreachable


async def test_requeue_waits_while_jobs_are_pending() -> None:
    doctor, _, _, _, queue = shop()
    queue.queued.append("x")
    assert await doctor.requeue_missing_vectors() == 0
    queue.queued.clear()
    assert await doctor.requeue_missing_vectors() == 2 and sorted(queue.queued) == ["b", "c"]


async def test_each_gallery_image_is_checked_and_a_removed_images_vector_is_deleted(
    monkeypatch,  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setattr("visualsearch.services.doctor.time.time", lambda: NOW)
    doctor, catalog, vectors, objects, queue = shop()
    a = catalog.rows["a"]
    second = ImageRef("products/a-2.jpg", "sha-a2")
    catalog.rows["a"] = ProductRecord(*a.values(), gallery=(*a.images, second))
    objects.mtimes["products/a-2.jpg"] = NOW - 10_000
    vectors.extra[("a", 1)] = "an-older-second-image"  # stale: re-embed a
    vectors.extra[("b", 1)] = "sha-b2"  # b's gallery has one image now
    report = await doctor.examine()
    assert "a" in report.stale_vectors and report.vectors_without_image == ["b#1"]
    assert "products/a-2.jpg" not in report.orphan_objects  # a gallery image is referenced
    await doctor.repair(report)
    assert sorted(queue.queued) == ["a", "b"] and ("b", 1) not in vectors.extra
