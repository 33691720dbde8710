"""Query views (``VISUALSEARCH_QUERY_VIEWS``) judged on the harness: quality and cost, issue 18.

Indexes the demo catalogue once, runs ``visualsearch eval`` (the service's own search path) with
the query searched as its whole picture only (``whole``) and as the whole picture and its 3x3
grid of windows (``grid``) on the same queries, then times both on the same searches, one at a
time and interleaved (whole, grid, fine, whole, ...) so that the machine's load drifts alike
for all.
Prints the section that bench/RESULTS.md keeps ("Search quality: query views").

    python -m bench.query_views --seed 1 [--limit N] [--variants 2] [--timed 120]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from pathlib import Path

from bench import machine
from visualsearch.embedding.views import QUERY_VIEWS, QueryViews
from visualsearch.services.evaluation import KindScore

TITLE = "Search quality: query views (VISUALSEARCH_QUERY_VIEWS)"


async def timed(data_dir: Path, rounds: int, seed: int) -> dict[QueryViews, list[float]]:
    """Milliseconds of ``SearchService.search`` per setting over the same queries, interleaved."""
    from visualsearch.config import Settings
    from visualsearch.factory import Context
    from visualsearch.query_images import Inputs, decode, generate, load_photos, query_rng
    from visualsearch.seeding import DEMO_CATALOG
    from visualsearch.services.catalog_files import read_catalog
    from visualsearch.services.search import SearchService

    entries = [e for e in read_catalog(DEMO_CATALOG) if not e.error and e.image]
    images = [(DEMO_CATALOG.parent / str(e.image)).read_bytes() for e in entries]
    inputs = Inputs(load_photos(), [decode(i) for i in images[:24]])
    kinds = ("self", "photo", "screenshot", "phone")
    queries = [
        generate(kinds[n % 4], images[n % len(images)], query_rng(seed, str(n), "t", 0), inputs)
        for n in range(rounds)
    ]
    settings = Settings(data_dir=data_dir, redis_cache_ttl=0)
    times: dict[QueryViews, list[float]] = {v: [] for v in QUERY_VIEWS}
    async with Context.open(settings) as context:
        services = {
            views: SearchService(
                context.embedding,  # type: ignore[arg-type]
                context.vectors,
                context.catalog,
                context.cache,
                0,
                query_views=views,
            )
            for views in QUERY_VIEWS
        }
        for query in queries[:8]:  # warm both paths (sessions, caches) before timing
            for service in services.values():
                await service.search(image=query.data, top_k=12, mode="visual")
        for query in queries:
            for views, service in services.items():
                start = time.perf_counter()
                await service.search(image=query.data, top_k=12, mode="visual")
                times[views].append((time.perf_counter() - start) * 1000)
    return times


def cells(row: KindScore) -> str:
    return f"{row.recall[1]:.3f} / {row.recall[10]:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, help="Query a seeded sample of N products.")
    parser.add_argument("--variants", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timed", type=int, default=120, help="Searches timed per setting.")
    parser.add_argument(
        "--views", default=",".join(QUERY_VIEWS), help="Settings to evaluate (all are timed)."
    )
    args = parser.parse_args()

    from visualsearch.config import Settings
    from visualsearch.quality import evaluate_catalog, fresh_data_dir
    from visualsearch.seeding import DEMO_CATALOG
    from visualsearch.services.evaluation import QuerySet

    queries = QuerySet(seed=args.seed, variants=args.variants, limit=args.limit)
    started = time.gmtime()
    reports = {}
    with fresh_data_dir() as data:
        for views in args.views.split(","):
            settings = Settings(data_dir=data, query_views=views)
            reports[views] = asyncio.run(evaluate_catalog(settings, DEMO_CATALOG, queries))
        ms = asyncio.run(timed(data, args.timed, args.seed))
    load = os.getloadavg()[0]
    first = next(iter(reports.values()))
    names = list(reports)
    lines = [
        f"## {TITLE}",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M', started)} UTC with `python -m bench.query_views "
        f"--seed {args.seed} --variants {args.variants}"
        + (f" --limit {args.limit}" if args.limit else "")
        + "`: `visualsearch eval` on the same queries with each setting.",
        "",
        *(f"- {line}" for line in machine.describe()),
        f"- Load average at the end: {load:.1f}",
        "",
        f"{first.markdown().splitlines()[0]}",
        "",
        "| kind | queries | "
        + " | ".join(f"{n} R@1 / R@10" for n in names)
        + " | "
        + " | ".join(f"{n} MRR" for n in names)
        + " |",
        "|---|---|" + "---|" * 2 * len(names),
        *(
            f"| {rows[0].kind} | {rows[0].queries} | "
            + " | ".join(cells(r) for r in rows)
            + " | "
            + " | ".join(f"{r.mrr:.3f}" for r in rows)
            + " |"
            for rows in zip(*(reports[n].rows for n in names), strict=True)
        ),
        "",
        f"Cost, {args.timed} searches per setting interleaved (self, photo, screenshot, phone "
        "queries in turn; `SearchService.search`, mode=visual, top_k=12, result cache off, one "
        "at a time): "
        + "; ".join(
            f"`{views}` p50 {statistics.median(t):.1f} ms, p95 "
            f"{statistics.quantiles(t, n=20)[-1]:.1f} ms"
            for views, t in ms.items()
        )
        + ". `grid` embeds 10 images a query and runs 10 vector searches, `fine` 26 and 26; the "
        "index is the same (one vector per catalogue image), so its size does not change.",
    ]
    print("\n".join(lines))
    print("\n---\n\n" + "\n\n".join(report.markdown() for report in reports.values()))


if __name__ == "__main__":
    main()
