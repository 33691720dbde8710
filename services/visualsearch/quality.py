"""``visualsearch eval``: index a catalogue through the bulk path, then measure search quality.

The catalogue goes into the configured stores (by default the embedded ones under a fresh,
temporary data directory) through the bulk path, as ``visualsearch seed`` loads it, but with
each product's **main image only**: its further images (a gallery's second views) are the
``view`` queries, and a query must not find itself in the index. Every kind is so measured
against one vector per product. The queries then go through the process's own ``SearchService``
(``Context.search_service()``), with the result cache off so that every query is embedded and
searched.
"""

from __future__ import annotations

import platform
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from tqdm import tqdm

from visualsearch.config import Settings
from visualsearch.embedding.service import EmbeddingService
from visualsearch.factory import Context
from visualsearch.query_images import load_photos
from visualsearch.seeding import seed_entries
from visualsearch.services.catalog_files import CatalogEntry, ImageFetcher, read_catalog
from visualsearch.services.evaluation import (
    Evaluator,
    KindScore,
    Outcome,
    Product,
    QuerySet,
    markdown_table,
    score,
)


@dataclass
class EvalReport:
    model: str
    runtime: str
    catalogue: Path
    indexed: int  # products, each by its main image only
    vectors: int  # what the index held when the queries ran: one per product
    queried: int
    queries: QuerySet
    outcomes: list[Outcome]
    rows: list[KindScore]
    seconds: float

    def markdown(self) -> str:
        sample = (
            f"{self.queried} of the {self.indexed} products queried (seeded sample)"
            if self.queried < self.indexed
            else f"all {self.indexed} products queried"
        )
        return "\n".join(
            [
                f"Model {self.model} ({self.runtime}); catalogue {self.catalogue.name}: "
                f"{self.indexed} products indexed by their main images ({self.vectors} vectors), "
                f"{sample}; seed {self.queries.seed}, "
                f"{self.queries.variants} {'query' if self.queries.variants == 1 else 'queries'}"
                " per product and kind ('self': 1; 'view': one per further image); "
                f"{len(self.outcomes)} queries in {self.seconds:.0f} s on "
                f"{platform.machine()} ({_cores()} cores).",
                "",
                markdown_table(self.rows),
            ]
        )


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextmanager
def fresh_data_dir() -> Iterator[Path]:
    """A temporary data directory (the embedded PostgreSQL's user can read it), removed after."""
    path = Path(tempfile.mkdtemp(prefix="visualsearch-eval-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


async def evaluate_catalog(
    settings: Settings, catalogue: Path, queries: QuerySet, show_progress: bool = True
) -> EvalReport:
    """Index ``catalogue`` into the stores of ``settings`` and run ``queries`` against them."""
    started = time.perf_counter()
    settings = settings.model_copy(update={"redis_cache_ttl": 0})  # every query is searched
    async with Context.open(settings) as context:
        read = list(read_catalog(catalogue))
        main_only = [replace(e, extra_images=[]) for e in read]
        summary = await seed_entries(context, main_only, catalogue, show_progress=show_progress)
        vectors = await context.vectors.count()
        rejected = {r.row for r in summary.rejected}
        entries = [e for e in read if not e.error and e.row not in rejected]
        fetcher = ImageFetcher(catalogue.parent, settings.max_upload_bytes)
        try:
            gallery = [await _product(e, fetcher) for e in entries]
        finally:
            await fetcher.close()
        sampled = queries.sample(gallery)
        photos = load_photos()
        evaluator = Evaluator(context.search_service())
        with tqdm(
            total=queries.count(sampled),
            unit="query",
            desc="Searching",
            disable=not show_progress,
        ) as bar:
            outcomes = await evaluator.run(gallery, queries, photos, bar.update)
        embedding = context.embedding
        assert embedding is not None
        return EvalReport(
            model=embedding.info.name,
            runtime=_runtime(settings, embedding),
            catalogue=catalogue,
            indexed=len(gallery),
            vectors=vectors,
            queried=len(sampled),
            queries=queries,
            outcomes=outcomes,
            rows=score(outcomes, queries.kinds),
            seconds=time.perf_counter() - started,
        )


async def _product(entry: CatalogEntry, fetcher: ImageFetcher) -> Product:
    """A catalogue row as the harness uses it: its main image, and its further images as the
    'view' queries."""
    views = tuple([await fetcher(ref) for ref in entry.extra_images])
    return Product(str(entry.product_id), await fetcher(entry.image or ""), views)


def _runtime(settings: Settings, embedding: EmbeddingService) -> str:
    if settings.embedder_url:
        return f"remote embedder {settings.embedder_url}; QUERY_VIEWS={settings.query_views}"
    embedder = getattr(embedding, "embedder", None)
    inner = getattr(embedder, "inner", embedder)  # a ColourEmbedder's model
    chosen = f": {type(inner).__name__}" if inner is not None else ""
    return f"EMBED_BACKEND={settings.embed_backend}{chosen}; QUERY_VIEWS={settings.query_views}"
