"""Text search on the demo catalogue, stage by stage: ``python -m bench.text [--rounds N]``.

Where a hybrid text search's time goes (the MiniLM tokeniser, its ONNX forward pass at 1 and 2
threads, the keyword SQL, the synonyms version read, the semantic ANN, the fusion), the whole
search (no result cache), and ``GET /suggest``'s query. Each query of the labelled set once per
round, so the figures are first-time queries, not a cache's. Prints Markdown.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from tests.retrieval.demo import demo_records
from tests.retrieval.test_text_search_quality import CASES, NoTextTower
from tests.support.servers import postgres_database

from bench.timing import percentiles
from visualsearch.embedding.text import DOCUMENT_TOKENS, MAX_TOKENS, MiniLMEncoder, product_text
from visualsearch.filters import ProductFilter
from visualsearch.retrieval import Query
from visualsearch.retrieval.fusion import fuse
from visualsearch.retrieval.keyword import KeywordRetriever
from visualsearch.retrieval.semantic import SemanticRetriever
from visualsearch.services.search import SearchService
from visualsearch.services.suggest import SuggestService
from visualsearch.services.synonyms import SynonymService
from visualsearch.services.text_vectors import TextVectors
from visualsearch.storage.cache.memory import MemoryResultCache
from visualsearch.storage.catalog import CatalogStore
from visualsearch.storage.suggestions import SuggestionStore
from visualsearch.storage.synonyms import SynonymStore
from visualsearch.storage.vectors.qdrant_edge import QdrantEdgeVectorStore

QUERIES = [c.query for c in CASES]


async def _time(fn: Callable[[str], Awaitable[object]], rounds: int) -> dict[str, float]:
    seconds = []
    for _ in range(rounds):
        for q in QUERIES:
            start = time.perf_counter()
            await fn(q)
            seconds.append(time.perf_counter() - start)
    return percentiles(seconds)


async def run(rounds: int) -> list[tuple[str, dict[str, float]]]:
    rows: list[tuple[str, dict[str, float]]] = []
    records = demo_records()
    with postgres_database() as url, tempfile.TemporaryDirectory() as tmp:
        catalog = CatalogStore(url, 4)
        await catalog.open()
        await catalog.upsert(records)
        store = QdrantEdgeVectorStore("bench_text", Path(tmp))
        await store.open()
        encoders = {1: MiniLMEncoder(threads=1), 2: MiniLMEncoder(threads=2)}
        encoder = encoders[1]
        await store.ensure_collection(encoder.dim)
        await TextVectors(encoder, store).upsert(records)
        synonyms = SynonymService(SynonymStore(catalog))
        await synonyms.put("couch, sofa\nsneakers, trainers => running shoes")
        keyword = KeywordRetriever(catalog, synonyms.rules)
        flt = ProductFilter()

        for threads, enc in encoders.items():
            enc.load()
            tok = enc._tokenizer  # the bench looks inside on purpose

            async def tokenise(q: str, tok=tok) -> object:
                return tok.encode_batch([q])

            async def encode(q: str, enc=enc) -> object:
                return enc.encode([q])

            if threads == 1:
                rows.append(("MiniLM tokeniser", await _time(tokenise, rounds)))
            label = f"MiniLM encode (tokens + ONNX), {threads} thread(s)"
            rows.append((label, await _time(encode, rounds)))

        async def keyword_sql(q: str) -> object:
            return await keyword.retrieve(Query(text=q), 100, flt)

        async def version(q: str) -> object:
            return await synonyms.rules()

        vectors = {q: encoder.encode([q])[0] for q in QUERIES}

        async def ann(q: str) -> object:
            return await store.search(vectors[q], 100, flt, min_score=0.25)

        semantic = SemanticRetriever(encoder, store)
        rankings = {
            q: {
                "keyword": await keyword.retrieve(Query(text=q), 100, flt),
                "semantic": await semantic.retrieve(Query(text=q), 100, flt),
            }
            for q in QUERIES
        }

        async def fusion(q: str) -> object:
            return fuse(rankings[q])

        rows.append(("synonyms version read", await _time(version, rounds)))
        rows.append(("keyword retrieval (SQL, 100 deep)", await _time(keyword_sql, rounds)))
        rows.append(("semantic ANN (Qdrant Edge, 100 deep)", await _time(ann, rounds)))
        rows.append(("RRF fusion", await _time(fusion, rounds)))

        for threads, enc in encoders.items():
            semantic_retriever = SemanticRetriever(enc, store)
            retrievers = [KeywordRetriever(catalog, synonyms.rules), semantic_retriever]
            service = SearchService(
                NoTextTower(), store, catalog, MemoryResultCache(), 0, retrievers=retrievers
            )

            async def search(q: str, service=service, sr=semantic_retriever) -> object:
                sr._recent.clear()  # a first-time query: its vector is not cached
                return await service.search(text=q, top_k=12)

            async def again(q: str, service=service) -> object:
                return await service.search(text=q, top_k=12, offset=12)

            label = f"**hybrid text search**, MiniLM {threads} thread(s)"
            rows.append((label, await _time(search, rounds)))
            if threads == 1:
                label = "hybrid text search, its next page (query vector cached)"
                rows.append((label, await _time(again, rounds)))

        suggest = SuggestService(SuggestionStore(catalog))

        async def complete(q: str) -> object:
            return await suggest.suggest(q[:3], 8)

        rows.append(("GET /suggest query (first 3 letters)", await _time(complete, rounds)))
        await store.close()
        await catalog.close()
    return rows


def _encode_as_before(encoder: MiniLMEncoder, texts: list[str]) -> None:
    """The first text path: batches of 64 in catalogue order, each padded to its longest
    text, every text read up to ``MAX_TOKENS``."""
    for s in range(0, len(texts), 64):
        encoder._forward(encoder.tokens(texts[s : s + 64], MAX_TOKENS))


def embedding_only(rounds: int) -> None:
    """The demo catalogue's embedding work alone: its images through EfficientNet-Lite0
    (batches of 32, as the bulk path), then its product texts through MiniLM, the first way
    and the shipped way (``DOCUMENT_TOKENS``, shortest first in slices of ``SLICE``)."""
    import numpy as np
    from PIL import Image
    from tests.retrieval.demo import CATALOGUE, demo_products

    from visualsearch.embedding.loader import load_embedder

    products = demo_products()
    embedder, _ = load_embedder("efficientnet-lite0", "cpu", None, "auto")
    embedder.load()
    encoder = MiniLMEncoder()
    texts = [product_text(p["name"], p["brand"], p["category"], p["description"]) for p in products]

    def images() -> None:
        for s in range(0, len(products), 32):
            batch = [
                embedder.preprocess(Image.open(CATALOGUE.parent / p["image"]).convert("RGB"))
                for p in products[s : s + 32]
            ]
            embedder.embed_images(np.stack(batch))

    paths = {
        "before": lambda: _encode_as_before(encoder, texts),
        "after": lambda: encoder.encode(texts, DOCUMENT_TOKENS),
    }
    images()
    for path in paths.values():
        path()
    print(
        "| round | images/s, images only | with text, before | drop | with text, after | drop |\n"
        "|---|---|---|---|---|---|"
    )
    for r in range(rounds):
        start = time.perf_counter()
        images()
        alone = time.perf_counter() - start
        cells = [f"{len(products) / alone:.0f}"]
        for path in paths.values():
            start = time.perf_counter()
            path()
            both = alone + time.perf_counter() - start
            cells += [f"{len(products) / both:.0f}", f"{(1 - alone / both) * 100:.0f} %"]
        print(f"| {r + 1} | {' | '.join(cells)} |")


async def _bulk_load(semantic: bool, flush_every: float) -> float:
    """Seconds to load the demo catalogue through the bulk path into fresh stores (embedded
    objects and vectors, the machine's PostgreSQL), models loaded before the clock starts.
    ``flush_every``: Qdrant Edge's segment flush interval (0: a flush per write, the old way)."""
    from visualsearch.config import Settings
    from visualsearch.factory import Context
    from visualsearch.seeding import DEMO_CATALOG, seed_local
    from visualsearch.storage.vectors import qdrant_edge

    qdrant_edge.FLUSH_EVERY_SECONDS = flush_every

    with postgres_database() as url, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(  # type: ignore[call-arg]
            database_url=url,
            data_dir=Path(tmp),
            model="efficientnet-lite0",
            vector_store="qdrant-edge",
            semantic_search=semantic,
        )
        context = await Context.create(settings)
        try:
            if context.text_encoder is not None:
                context.text_encoder.encode(["warm up"])  # the model loads off the clock
            start = time.perf_counter()
            summary = await seed_local(context, DEMO_CATALOG, show_progress=False)
            seconds = time.perf_counter() - start
            assert summary.added == len(demo_records()), summary
            return seconds
        finally:
            await context.aclose()


def indexing(rounds: int) -> None:
    """Indexing with and without product text vectors: the embedding work alone, then the
    whole bulk load of the demo catalogue (images stored, rows written, vectors upserted), with
    Qdrant Edge flushing its segments on every write (before) and on its interval (after)."""
    from visualsearch.storage.vectors.qdrant_edge import FLUSH_EVERY_SECONDS

    embedding_only(rounds)
    count = len(demo_records())
    print(
        "\n| round | flush | products/s, images only | with text vectors | drop |"
        "\n|---|---|---|---|---|"
    )
    for r in range(rounds):
        for label, every in (
            ("every write", 0.0),
            (f"every {FLUSH_EVERY_SECONDS:g} s", FLUSH_EVERY_SECONDS),
        ):
            alone = asyncio.run(_bulk_load(False, every))
            both = asyncio.run(_bulk_load(True, every))
            drop = (1 - alone / both) * 100
            print(
                f"| {r + 1} | {label} | {count / alone:.1f} | {count / both:.1f} | {drop:.0f} % |"
            )


SCALED_CATALOGUE = """
INSERT INTO products (product_id, name, brand, price, category, description, stock,
                      image_key, image_sha256)
SELECT p.product_id || '-' || g, p.name || ' ' || g, p.brand || ' ' || (g %% 400), p.price,
       p.category || '-' || (g %% 50), p.description, p.stock, p.image_key, p.image_sha256
FROM products p, generate_series(1, %(copies)s) AS g
"""
"""The demo catalogue copied into ``copies`` variants of each product (distinct names, 400 brand
and 50 category variants of each)."""


async def suggest_at_scale(products: int) -> None:
    """``GET /suggest``'s query over a catalogue of ``products`` rows: its plan (EXPLAIN ANALYZE)
    and p50 over the labelled queries' first 3 letters, and 5 letters."""
    from visualsearch.storage.suggestions import COMPLETE_SQL

    records = demo_records()
    with postgres_database() as url:
        catalog = CatalogStore(url, 2)
        await catalog.open()
        await catalog.upsert(records)
        async with catalog.transaction() as conn:
            await conn.execute(SCALED_CATALOGUE, {"copies": products // len(records) - 1})
            await conn.execute("ANALYZE products")
        print(f"{await catalog.count()} products")
        suggest = SuggestService(SuggestionStore(catalog))
        for letters in (3, 5):

            async def complete(q: str, n: int = letters) -> object:
                return await suggest.suggest(q[:n], 8)

            p = await _time(complete, 2)
            print(f"| {letters} letters | {p['p50']:.2f} | {p['p95']:.2f} |")
        async with catalog.transaction() as conn:
            await conn.execute(
                "SELECT set_config('pg_trgm.word_similarity_threshold', '0.45', true)"
            )
            params = {"anywhere": "%lapt%", "start": "lapt%", "inside": "% lapt%", "typed": "lapt",
                      "typo": 0.45, "limit": 8}  # fmt: skip
            cur = await conn.execute(f"EXPLAIN (ANALYZE, COSTS OFF) {COMPLETE_SQL}", params)
            print("\n".join(r["QUERY PLAN"] for r in await cur.fetchall()))
        await catalog.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.text", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--indexing", action="store_true", help="Indexing with/without text.")
    parser.add_argument("--suggest-products", type=int, help="/suggest over this many products.")
    args = parser.parse_args()
    if args.suggest_products:
        asyncio.run(suggest_at_scale(args.suggest_products))
        return
    if args.indexing:
        indexing(args.rounds)
        return
    rows = asyncio.run(run(args.rounds))
    print("| stage | p50 ms | p95 ms | mean ms |\n|---|---|---|---|")
    for name, p in rows:
        print(f"| {name} | {p['p50']:.2f} | {p['p95']:.2f} | {p['mean']:.2f} |")


if __name__ == "__main__":
    main()
