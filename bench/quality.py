"""Search quality into bench/RESULTS.md: ``visualsearch eval`` over the demo catalogue, its table
written as the section "Search quality (visualsearch eval)" (replaced in place; the other
benchmarks' ``python -m bench`` keeps it). Run with ``make eval-results`` or
``python -m bench.quality [--limit N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from pathlib import Path

from bench import machine
from bench.report import KEPT_SECTIONS, replace_section

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
TITLE = KEPT_SECTIONS[0]

READING = (
    "How to read it: every query is a transformed picture of one demo product (`view`: one of "
    "the product's own second views, the demo's close-ups and other backgrounds), and that "
    "product is its only right answer. The index holds each product's main image only (one "
    "vector per product), so a `view` query is never in it. R@K is the share of queries that "
    "find it among the first K "
    "results; MRR is the mean of 1/rank (0 beyond the 50 results asked for); nDCG@10 is "
    "1/log2(rank + 1) within the first 10. `self` (the catalogue's own file) must stay 1.000; "
    "the other kinds are what shoppers send, each made by a seeded generator "
    "([docs/search-quality.md](../docs/search-quality.md)). Latency is one "
    "`SearchService.search` call (decode, embed, vector search, metadata; result cache off, "
    "top_k=50), one query at a time, on this shared machine. Issue 18's target: R@1 >= 0.90 "
    "and R@10 >= 0.98 for every kind."
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, help="Query a seeded sample of N products.")
    parser.add_argument("--variants", type=int, default=2, help="Queries per product and kind.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=RESULTS, help="The results file.")
    args = parser.parse_args()

    from visualsearch.config import Settings
    from visualsearch.quality import evaluate_catalog, fresh_data_dir
    from visualsearch.seeding import DEMO_CATALOG
    from visualsearch.services.evaluation import QuerySet

    queries = QuerySet(seed=args.seed, variants=args.variants, limit=args.limit)
    command = f"visualsearch eval --variants {args.variants} --seed {args.seed}" + (
        f" --limit {args.limit}" if args.limit else ""
    )
    started = time.gmtime()
    with fresh_data_dir() as data:
        report = asyncio.run(evaluate_catalog(Settings(data_dir=data), DEMO_CATALOG, queries))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [
        f"## {TITLE}",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M', started)} UTC with `python -m bench.quality` "
        f"(`make eval-results`; the same as `{command}`).",
        "",
        *(f"- {line}" for line in machine.describe()),
        f"- Load average at the end: {load:.1f}",
        "",
        report.markdown(),
        "",
        READING,
    ]
    print("\n".join(lines))
    args.output.write_text(replace_section(args.output.read_text(), TITLE, lines))
    print(f"written to {args.output}")


if __name__ == "__main__":
    main()
