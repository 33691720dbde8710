"""pgvector filtered search at 100k points: the store's query path before and after, side by side.

``python -m bench.pgvector_filtered [--points 100000] [--queries 100] [--rounds 2] [--data DIR]``

The same points, brands, prices, stocks, filters and queries as ``bench.filtered`` (512-dim
clustered unit vectors; filters keeping ~5 %, ~0.5 % and ~28 %), in one embedded PostgreSQL:

- **before**: the store as it was at ``BASELINE`` (its source read from git): a ``vector``
  column with pgvector's default storage (TOAST), HNSW on ``vector``, eight round trips a
  search;
- **after**: this checkout's ``PgVectorStore``;
- **after, graph only** / **after, exact only**: this checkout's store with the exact-scan
  bound at 0 and at all rows, which is how the bound was chosen.

Each table is loaded as the 19:42 run was: the adapter's ``upsert`` into its table without its
HNSW index, then the adapter's own index definition, then ``ANALYZE``. The "after" table gets
the same rows by ``INSERT ... SELECT`` from the "before" one instead
of a second upsert, to halve the load time; what a search reads is the same. Recall@12 is
against numpy's exact top 12 over the rows the filter keeps (``bench.filtered.measure``). The
variants take turns, ``--rounds`` times. Then one ``EXPLAIN (ANALYZE, BUFFERS)`` per variant and
filter says where the server's share of the time goes, and a ``SELECT 1`` loop gives the cost
of one round trip.

``--data DIR`` keeps the embedded server's data directory, so that a second run skips loading.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import subprocess
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import psycopg

from bench import machine
from bench.filtered import FILTERS, attributes, load, measure
from bench.timing import percentiles
from bench.vectors import DIM, TOP_K, dataset
from visualsearch.storage.embedded_postgres import EmbeddedPostgres
from visualsearch.storage.vectors.base import VectorStore
from visualsearch.storage.vectors.pgvector import PgVectorStore, _literal, _where

BASELINE = "24d5950"
"""The commit whose pgvector store is "before" (main before issue 21's pgvector change)."""
SOURCE = "services/visualsearch/storage/vectors/pgvector.py"
ROOT = Path(__file__).resolve().parent.parent


def baseline_module(ref: str) -> ModuleType:
    """The pgvector store module as it was at ``ref``."""
    text = subprocess.run(
        ["git", "show", f"{ref}:{SOURCE}"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    path = Path(tempfile.mkdtemp(prefix="bench-pgvector-")) / "pgvector_baseline.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("pgvector_baseline", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def hnsw_definitions(conn: psycopg.AsyncConnection[Any], table: str) -> list[str]:
    cur = await conn.execute(
        "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexdef LIKE '%%USING hnsw%%'",
        [table],
    )
    return [row[0] for row in await cur.fetchall()]


async def table_of(conn: psycopg.AsyncConnection[Any], alias: str) -> str | None:
    cur = await conn.execute("SELECT physical FROM vector_collections WHERE alias = %s", [alias])
    row = await cur.fetchone()
    return None if row is None else str(row[0])


async def bulk_load(
    url: str, store: VectorStore, alias: str, fill: Any, log: list[str]
) -> None:  # fmt: skip
    """``store``'s table holding the bench's rows, its HNSW indexes built after the rows."""
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        if await table_of(conn, alias) is not None:
            log.append(f"{alias}: reused the loaded table")
            return
        await store.ensure_collection(DIM)
        table = await table_of(conn, alias)
        assert table is not None
        definitions = await hnsw_definitions(conn, table)
        for definition in definitions:
            name = definition.split(" ON ")[0].split()[-1]
            await conn.execute(f"DROP INDEX {name}")
        start = time.perf_counter()
        await fill(conn, table)
        loaded = time.perf_counter() - start
        start = time.perf_counter()
        await conn.execute("SET maintenance_work_mem = '1GB'")
        for definition in definitions:
            await conn.execute(definition)
        await conn.execute(f'ANALYZE "{table}"')
        log.append(
            f"{alias}: rows loaded in {loaded:.0f} s, HNSW index built in "
            f"{time.perf_counter() - start:.0f} s"
        )


async def explain(
    url: str, table: str, half: bool, flt: Any, query: np.ndarray, exact: bool, ef: int
) -> dict[str, Any]:
    """Server-side time and buffers of one search's main statement."""
    where, params = _where(flt)
    params.update(q=_literal(query), k=TOP_K * 2)
    distance = "embedding <=> %(q)s::vector"
    graph = f"embedding::halfvec({DIM}) <=> %(q)s::halfvec({DIM})" if half else distance
    order = f"({distance}) + 0" if exact else graph
    statement = (
        f'SELECT product_id, image_index, {distance} AS d FROM "{table}" '
        + where.as_string(None)
        + f" ORDER BY {order} LIMIT %(k)s"
    )
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute(f"SET hnsw.ef_search = {ef}")
        await conn.execute("SET hnsw.iterative_scan = relaxed_order")
        cur = await conn.execute(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + statement, params
        )  # fmt: skip
        row = await cur.fetchone()
    assert row is not None
    plan = row[0][0] if isinstance(row[0], list) else json.loads(row[0])[0]
    top = plan["Plan"]
    nodes = []

    def walk(node: dict[str, Any]) -> None:
        index = f" ({node['Index Name']})" if "Index Name" in node else ""
        nodes.append(node["Node Type"] + index)
        for child in node.get("Plans", []):
            walk(child)

    walk(top)
    return {
        "ms": plan["Execution Time"] + plan["Planning Time"],
        "hit": top.get("Shared Hit Blocks", 0),
        "read": top.get("Shared Read Blocks", 0),
        "plan": " > ".join(nodes[:4]),
    }


async def round_trip_ms(url: str) -> float:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        times = []
        for _ in range(300):
            start = time.perf_counter()
            await conn.execute("SELECT 1")
            times.append(time.perf_counter() - start)
    return percentiles(times)["p50"]


async def storage(url: str, table: str) -> str:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT pg_size_pretty(pg_table_size(%(t)s::regclass)) AS heap, "
            "pg_size_pretty(pg_total_relation_size(reltoastrelid)) AS toast, "
            "(SELECT pg_size_pretty(sum(pg_relation_size(indexrelid))) FROM pg_index i "
            " JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_am am ON am.oid = ic.relam "
            " WHERE i.indrelid = %(t)s::regclass AND am.amname = 'hnsw') AS hnsw "
            "FROM pg_class WHERE oid = %(t)s::regclass",
            {"t": f'"{table}"'},
        )
        row = await cur.fetchone()
    assert row is not None
    return f"heap+toast {row[0]} (toast {row[1]}), HNSW {row[2]}"


async def main(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    for line in machine.describe():
        print(line)
    directory = args.data or Path(tempfile.mkdtemp(prefix="bench-pgvector-"))
    postgres = EmbeddedPostgres(directory / "pg")
    url = postgres.start()
    points, _, queries = dataset(args.points, args.queries)
    attrs = attributes(args.points)
    old = baseline_module(args.baseline)
    before: VectorStore = old.PgVectorStore("before", url)
    after = PgVectorStore("after", url)
    graph_only = PgVectorStore("after", url, exact_below=0)
    exact_only = PgVectorStore("after", url, exact_below=args.points)
    stores = {
        "before": before,
        "after": after,
        "after, graph only": graph_only,
        "after, exact only": exact_only,
    }
    log: list[str] = []
    try:
        for store in stores.values():
            await store.open()

        async def upsert(conn: Any, table: str) -> None:
            await load(before, points, attrs)

        async def copy(conn: Any, table: str) -> None:
            source = await table_of(conn, "before")
            await conn.execute(
                f'INSERT INTO "{table}" (product_id, image_index, category, brand, price, stock, '
                f"image_sha256, embedding) SELECT product_id, image_index, category, brand, price, "
                f'stock, image_sha256, embedding FROM "{source}"'
            )

        await bulk_load(url, before, "before", upsert, log)
        await bulk_load(url, after, "after", copy, log)
        print(*log, sep="\n")
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            tables = {alias: await table_of(conn, alias) for alias in ("before", "after")}
        for alias, table in tables.items():
            print(f"{alias}: {await storage(url, str(table))}")
        results: dict[str, list[list[list[object]]]] = {name: [] for name in stores}
        for _ in range(args.rounds):
            for name, store in stores.items():
                results[name].append(await measure(store, points, attrs, queries))
        rtt = await round_trip_ms(url)
        print(f"\nround trip (SELECT 1 on one connection) p50: {rtt:.3f} ms\n")
        print("| round | variant | filter | kept | p50 ms | p95 ms | recall@12 |")
        print("|---|---|---|---|---|---|---|")
        for index in range(args.rounds):
            for name in stores:
                for row in results[name][index]:
                    label, kept, p50, p95, recall, _ = row
                    print(f"| {index + 1} | {name} | {label} | {kept} | {p50:.2f} | {p95:.2f} "
                          f"| {recall} |")  # fmt: skip
        print("\nEXPLAIN (ANALYZE, BUFFERS) of the main statement, first query, ef as the store")
        print("| table | path | filter | server ms | shared hit | shared read | plan |")
        print("|---|---|---|---|---|---|---|")
        for alias, half in (("before", False), ("after", True)):
            for label, flt in FILTERS.items():
                for exact in (False, True) if not flt.is_empty else (False,):
                    ef = 100 if alias == "before" or flt.is_empty else after._filtered_ef
                    e = await explain(url, str(tables[alias]), half, flt, queries[0], exact, ef)
                    path = "exact" if exact else f"HNSW ef={ef}"
                    print(f"| {alias} | {path} | {label} | {e['ms']:.2f} | {e['hit']} | "
                          f"{e['read']} | {e['plan']} |")  # fmt: skip
    finally:
        for store in stores.values():
            await store.close()
        postgres.stop()
    print(f"\nwhole run: {time.perf_counter() - started:.0f} s")
    for line in machine.describe():
        print(line)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.pgvector_filtered", description=__doc__)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--data", type=Path, help="Keep (and reuse) the server's data here.")
    parser.add_argument("--baseline", default=BASELINE, help="Git ref of the 'before' store.")
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
