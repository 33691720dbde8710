"""Vector search in the embedded stores at 10k and 100k points against exact numpy brute force.

Data: synthetic 512-dim unit vectors with the structure of product embeddings (clusters of near
duplicates around a shared direction, so neighbours are much closer than random pairs), each
with one of 24 categories. Queries are perturbed copies of stored points (a new photo of a
catalogued product). Recall@12 compares each store's top 12 with the exact top 12.

Stores: exact numpy (normalised float32, one matrix-vector product), Qdrant local mode (what
``qdrant-client`` embeds; brute force in Python), Qdrant Edge (``qdrant-edge-py``, the Rust
engine with HNSW, embedded) and the product's pgvector store (HNSW) on an embedded PostgreSQL
when it is present in this checkout.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.report import Report
from bench.timing import percentiles

DIM = 512
TOP_K = 12
CATEGORIES = 24
Search = Callable[[np.ndarray, str | None], list[int]]


def dataset(count: int, queries: int, seed: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points, categories as ints, queries): clustered unit vectors and perturbed copies."""
    rng = np.random.default_rng(seed)
    clusters = max(1, count // 20)
    shared = rng.standard_normal(DIM).astype(np.float32)
    shared /= np.linalg.norm(shared)
    centres = rng.standard_normal((clusters, DIM)).astype(np.float32) / np.sqrt(DIM)
    owner = rng.integers(0, clusters, count)
    noise = rng.standard_normal((count, DIM)).astype(np.float32) / np.sqrt(DIM)
    points = 0.6 * shared + centres[owner] + 0.5 * noise
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    categories = (owner % CATEGORIES).astype(np.int64)
    picks = rng.integers(0, count, queries)
    jitter = rng.standard_normal((queries, DIM)).astype(np.float32) / np.sqrt(DIM)
    query = points[picks] + 0.3 * jitter
    query /= np.linalg.norm(query, axis=1, keepdims=True)
    return points.astype(np.float32), categories, query.astype(np.float32)


def category_name(index: int) -> str:
    return f"cat{index:02d}"


class Exact:
    """Brute force on a normalised float32 matrix: one matrix-vector product and a partition."""

    name = "exact numpy (float32 brute force)"

    def __init__(self, points: np.ndarray, categories: np.ndarray) -> None:
        self.points = points
        self.by_category = {
            category_name(c): np.flatnonzero(categories == c) for c in range(CATEGORIES)
        }
        self.subsets = {name: points[idx] for name, idx in self.by_category.items()}

    def search(self, query: np.ndarray, category: str | None) -> list[int]:
        if category is None:
            scores, ids = self.points @ query, None
        else:
            scores, ids = self.subsets[category] @ query, self.by_category[category]
        top = np.argpartition(-scores, TOP_K)[:TOP_K]
        top = top[np.argsort(-scores[top])]
        return (ids[top] if ids is not None else top).tolist()


class QdrantLocal:
    """``qdrant-client`` local mode, as the product embeds it (in memory; search is the same)."""

    name = "Qdrant local mode (qdrant-client)"

    def __init__(self, points: np.ndarray, categories: np.ndarray) -> None:
        from qdrant_client import QdrantClient, models

        self.models = models
        self.client = QdrantClient(location=":memory:")
        self.client.create_collection(
            "bench", vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE)
        )
        for start in range(0, len(points), 5000):
            chunk = range(start, min(start + 5000, len(points)))
            self.client.upsert(
                "bench",
                points=models.Batch(
                    ids=list(chunk),
                    vectors=points[start : chunk.stop].tolist(),
                    payloads=[{"category": category_name(int(categories[i]))} for i in chunk],
                ),
            )

    def search(self, query: np.ndarray, category: str | None) -> list[int]:
        m = self.models
        flt = (
            m.Filter(must=[m.FieldCondition(key="category", match=m.MatchValue(value=category))])
            if category
            else None
        )
        result = self.client.query_points(
            "bench", query=query.tolist(), limit=TOP_K, query_filter=flt
        )
        return [int(p.id) for p in result.points]

    def close(self) -> None:
        self.client.close()


class QdrantEdge:
    """``qdrant-edge-py``: Qdrant's Rust engine embedded, HNSW (m=16, ef_construct=64)."""

    name = "Qdrant Edge (qdrant-edge-py, HNSW)"

    def __init__(self, points: np.ndarray, categories: np.ndarray, ef: int = 128) -> None:
        import qdrant_edge as qe

        self.qe = qe
        self.ef = ef
        self.dir = Path(tempfile.mkdtemp(prefix="bench-edge-"))
        config = qe.EdgeConfig(
            vectors=qe.EdgeVectorParams(size=DIM, distance=qe.Distance.Cosine),
            hnsw_config=qe.HnswIndexConfig(m=16, ef_construct=64, full_scan_threshold=1000),
            optimizers=qe.EdgeOptimizersConfig(indexing_threshold=1000),
        )
        self.shard = qe.EdgeShard.create(str(self.dir), config)
        self.shard.update(
            qe.UpdateOperation.create_field_index("category", qe.PayloadSchemaType.Keyword)
        )
        for start in range(0, len(points), 5000):
            batch = [
                qe.Point(i, points[i].tolist(), {"category": category_name(int(categories[i]))})
                for i in range(start, min(start + 5000, len(points)))
            ]
            self.shard.update(qe.UpdateOperation.upsert_points(batch))
        self.shard.optimize()  # build the HNSW graph now, not during the timed searches

    def search(self, query: np.ndarray, category: str | None) -> list[int]:
        qe = self.qe
        flt = (
            qe.Filter(must=[qe.FieldCondition(key="category", match=qe.MatchValue(category))])
            if category
            else None
        )
        hits = self.shard.query(
            qe.QueryRequest(
                limit=TOP_K,
                query=qe.Query.Nearest(query.tolist()),
                filter=flt,
                params=qe.SearchParams(hnsw_ef=self.ef),
                with_payload=False,
            )
        )
        return [int(h.id) for h in hits]

    def close(self) -> None:
        self.shard.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class PgVector:
    """The product's pgvector store (its table, its HNSW index, its search) on an embedded
    PostgreSQL, bulk-loaded."""

    name = "pgvector store (product adapter, HNSW), embedded PostgreSQL"

    def __init__(self, points: np.ndarray, categories: np.ndarray) -> None:
        from visualsearch.storage.embedded_postgres import EmbeddedPostgres
        from visualsearch.storage.vectors.pgvector import PgVectorStore

        self.dir = Path(tempfile.mkdtemp(prefix="bench-pg-"))
        self.postgres = EmbeddedPostgres(self.dir / "pg")
        url = self.postgres.start()
        self.loop = asyncio.new_event_loop()
        self.store = PgVectorStore("bench", url)
        self.loop.run_until_complete(self.store.open())
        self.loop.run_until_complete(self.store.ensure_collection(DIM))
        self._bulk_load(url, points, categories)

    @staticmethod
    def _bulk_load(url: str, points: np.ndarray, categories: np.ndarray) -> None:
        """COPY the rows into the store's table, then build its HNSW index once (as a bulk
        re-index would): inserting row by row into a live HNSW index takes many minutes here."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT physical FROM vector_collections WHERE alias = 'bench'"
            ).fetchone()
            assert row is not None
            table = str(row[0])
            index = conn.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
                "AND indexdef ILIKE '%%hnsw%%'",
                [table],
            ).fetchone()
            assert index is not None, "the pgvector store made no HNSW index"
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(index[0])))
            columns = sql.SQL("COPY {} (product_id, category, embedding) FROM STDIN").format(
                sql.Identifier(table)
            )
            with conn.cursor().copy(columns) as copy:
                for i in range(len(points)):
                    vector = "[" + ",".join(f"{x:.7g}" for x in points[i].tolist()) + "]"
                    copy.write_row((str(i), category_name(int(categories[i])), vector))
            conn.execute("SET maintenance_work_mem = '1GB'")
            conn.execute("SET max_parallel_maintenance_workers = 2")
            conn.execute(index[1])  # the store's own CREATE INDEX statement
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(table)))

    def search(self, query: np.ndarray, category: str | None) -> list[int]:
        from visualsearch.filters import ProductFilter

        only = ProductFilter(categories=(category,) if category else ())
        hits = self.loop.run_until_complete(self.store.search(query, TOP_K, only))
        return [int(h.product_id) for h in hits]

    def close(self) -> None:
        self.loop.run_until_complete(self.store.close())
        self.loop.close()
        self.postgres.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def pgvector_available() -> str | None:
    """None when the product's pgvector store is in this checkout, else why not."""
    try:
        import visualsearch.storage.vectors.pgvector  # noqa: F401
    except ImportError as exc:
        return f"the product's pgvector store is not in this checkout ({exc})"
    return None


def measure(
    store: object, exact: Exact, queries: np.ndarray, category: bool, budget_s: float = 12.0
) -> list[object]:
    """p50, p95 (ms) and mean recall@12; a slow store stops after ``budget_s`` (10 queries min)."""
    search: Search = store.search  # type: ignore[attr-defined]
    times: list[float] = []
    recalls: list[float] = []
    deadline = time.perf_counter() + budget_s
    for i, query in enumerate(queries):
        if i >= 10 and time.perf_counter() > deadline:
            break
        cat = category_name(i % CATEGORIES) if category else None
        start = time.perf_counter()
        got = search(query, cat)
        times.append(time.perf_counter() - start)
        want = exact.search(query, cat)
        recalls.append(len(set(got) & set(want)) / len(want))
    p = percentiles(times)
    return [p["p50"], p["p95"], float(np.mean(recalls)), len(times)]


def run(report: Report, quick: bool) -> dict[str, float]:
    sizes = [10_000, 100_000]
    queries_n = 40 if quick else 100
    report.section("Vector search in the embedded stores (cosine, top-12)")
    report.note(
        "Synthetic clustered 512-dim unit vectors (the shape of product embeddings: near-"
        "duplicate clusters around a shared direction), 24 categories; queries are perturbed "
        f"stored points; {queries_n} queries per cell. One query at a time, single client. "
        "Build = inserting all points and building the index, before any search is timed."
    )
    missing = pgvector_available()
    if missing:
        report.note(f"pgvector: not benchmarked: {missing}.")
    headline: dict[str, float] = {}
    rows = []
    for size in sizes:
        points, categories, queries = dataset(size, queries_n)
        exact = Exact(points, categories)
        kinds: list[type] = [QdrantLocal, QdrantEdge]
        if not missing and not (quick and size > 10_000):
            kinds.append(PgVector)  # 100k only in a full run: its index build takes minutes
        for kind in [None, *kinds]:
            start = time.perf_counter()
            store = exact if kind is None else kind(points, categories)
            built = time.perf_counter() - start
            for filtered in (False, True):
                p50, p95, recall, n = measure(store, exact, queries, filtered)
                name = getattr(store, "name", type(store).__name__)
                rows.append(
                    [
                        f"{size:,}",
                        name,
                        "category" if filtered else "none",
                        p50,
                        p95,
                        f"{recall:.3f}",
                        n,
                        built,
                    ]
                )
                key = f"{type(store).__name__}_{size}_{'cat' if filtered else 'all'}"
                headline[f"{key}_p50"] = float(p50)  # type: ignore[arg-type]
                headline[f"{key}_recall"] = float(recall)  # type: ignore[arg-type]
            if hasattr(store, "close"):
                store.close()
    report.table(
        ["points", "store", "filter", "p50 ms", "p95 ms", "recall@12", "queries", "build s"],
        rows,
        digits=2,
    )
    return headline
