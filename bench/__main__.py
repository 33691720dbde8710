"""``python -m bench [--quick] [--only embedding,indexing,search,...] [--output FILE]``.

Runs the benchmarks (embedding, indexing, search, vectors, filtered, similar; all by default),
prints each table as it is measured, and writes the Markdown report (``bench/RESULTS.md`` for a
full run) ending with the issues' targets against what was measured.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime
from pathlib import Path

from bench import embedding, filtered, indexing, machine, search, similar, vectors
from bench.report import Report

ALL = ("embedding", "indexing", "search", "vectors", "filtered", "similar")
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="Fewer images, queries and rounds.")
    parser.add_argument("--only", default=",".join(ALL), help="Comma-separated benchmarks.")
    parser.add_argument(
        "--output", type=Path, help="Report file (default: bench/RESULTS.md, none for --quick)."
    )
    return parser.parse_args()


def verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def targets(report: Report, figures: dict[str, dict]) -> None:
    rows: list[list[object]] = []
    for model, fig in figures.get("embedding", {}).items():
        for key, value in fig.items():
            if key.startswith("speedup_t"):
                threads = key.removeprefix("speedup_t")
                rows.append(
                    [
                        f"embedding {model}, {threads} threads: ≥ 3x seed",
                        f"{value:.1f}x ({fig[f'ours_rate_t{threads}']:.1f} vs "
                        f"{fig[f'seed_rate_t{threads}']:.1f} images/s)",
                        verdict(value >= 3),
                    ]
                )
    s = figures.get("search")
    if s:
        rows.append(
            [
                "search p50, c=1 ≤ 1.2x one image's embedding (EfficientNet-Lite0)",
                f"{s['ratio_to_embed']:.2f}x ({s['c1_miss_p50']:.1f} ms vs "
                f"{s['embed_one_ms']:.1f} ms)",
                verdict(s["ratio_to_embed"] <= 1.2),
            ]
        )
        rows.append(
            [
                "cache hit ≤ 5 ms (p50, c=1)",
                f"{s['c1_hit_p50']:.1f} ms",
                verdict(s["c1_hit_p50"] <= 5),
            ]
        )
    c = figures.get("search_clip")
    if c:
        rows.append(
            [
                "search p50, c=1 ≤ 1.2x one image's embedding (CLIP-sized, random weights)",
                f"{c['ratio_to_embed']:.2f}x ({c['c1_miss_p50']:.1f} ms vs "
                f"{c['embed_one_ms']:.1f} ms)",
                verdict(c["ratio_to_embed"] <= 1.2),
            ]
        )
    i = figures.get("indexing")
    if i and "auto_speedup_low" in i:
        rows.append(
            [
                "demo catalogue cold ≥ 8x faster than the seed's 2-3 min",
                f"{i['auto_speedup_low']:.1f}x vs 2 min, "
                f"{1.5 * i['auto_speedup_low']:.1f}x vs 3 min",
                verdict(i["auto_speedup_low"] >= 8),
            ]
        )
    v = figures.get("vectors", {})
    for store in ("QdrantLocal", "QdrantEdge", "PgVector"):
        for scope in ("all", "cat"):
            key = f"{store}_100000_{scope}"
            if f"{key}_p50" in v:
                p50, recall = v[f"{key}_p50"], v[f"{key}_recall"]
                rows.append(
                    [
                        f"100k points, {store}, "
                        f"{'category filter' if scope == 'cat' else 'no filter'}: "
                        "p50 ≤ 20 ms, recall@12 ≥ 0.95",
                        f"{p50:.1f} ms, recall {recall:.3f}",
                        verdict(p50 <= 20 and recall >= 0.95),
                    ]
                )
    f = figures.get("filtered", {})
    for key in sorted(k for k in f if k.startswith("QdrantEdge_") and k.endswith("_ratio")):
        stem = key.removesuffix("_ratio")
        if stem.endswith("_none"):
            continue
        _, size, label = stem.split("_", 2)
        rows.append(
            [
                f"filtered search, Qdrant Edge, {int(size):,} points, filter keeping {label}: "
                "≤ 1.5x unfiltered, recall@12 ≥ 0.95 (issue 15)",
                f"{f[key]:.2f}x, recall {f[stem + '_recall']:.3f}",
                verdict(f[key] <= 1.5 and f[stem + "_recall"] >= 0.95),
            ]
        )
    rows += similar.target_rows(figures.get("similar", {}))
    report.section("Targets (issues 8, 15 and 17) against this run")
    report.table(["target", "measured", "verdict"], rows)


NOTES = [
    "**Noise.** This machine is shared: its load average is printed above and below. Eager "
    "PyTorch suffers most from oversubscribed cores (its OpenMP threads wait for each other at "
    "every layer), so ratios against the seed's way swing with the load: EfficientNet-Lite0's "
    "was 3.0x at a quiet moment and 14.5x under a load average of 10. Compare figures within one "
    "table; they were taken side by side.",
    "**int8 for EfficientNet-Lite0 was measured and rejected.** ONNX Runtime static QDQ int8 "
    "(per-channel weights, calibrated on 54 demo images with MinMax, Percentile or Entropy, "
    "first and last convolution kept in fp32): min cosine 0.980-0.982 and recall@12 0.94 against "
    "fp32 on 108 other demo images; dynamic (ConvInteger): min cosine 0.82. Neither passes the "
    "gate (cosine >= 0.99), so `auto` runs it in ONNX Runtime fp32, near the fp32 roofline "
    "already. bfloat16 autocast in PyTorch (AVX512-BF16) was 5x slower than ONNX Runtime fp32.",
    "**CLIP int8** (dynamic, Linear layers) is checked at every start on real product images "
    "against the loaded weights (random here, real where CLIP is installed) and used only when "
    "every probe image agrees at cosine >= 0.99; otherwise ONNX Runtime fp32.",
    "**Search overhead at concurrency 1** beyond embedding: the ANN stage (the pgvector store "
    "makes several round trips per query: two pool checkouts, each with a health check, the "
    "live-table lookup, BEGIN, two SET LOCAL, the SELECT, COMMIT), HTTP + multipart + JSON, "
    "the catalogue-version query and two thread hops "
    "(decode pool, model thread). What would close it: one round trip per vector query "
    "(`set_config` inside the statement, the live table cached until a re-index), an "
    "in-process HNSW for the embedded store (Qdrant Edge answers in ~0.1-3 ms at 10k here), "
    "decode and forward on one thread when the model is idle.",
    "**Cold indexing** is start-up plus indexing: imports, embedded PostgreSQL initdb, model "
    "load and, on an empty cache, the ONNX export. Shipping the exported model in the image (or "
    "exporting during `visualsearch migrate`) takes the export out of the first start.",
    "**Vector search at 100k**: qdrant-client's local mode is brute force in Python (the "
    "product's Qdrant adapter in embedded mode); Qdrant Edge (HNSW, Rust, embedded) meets the "
    "target with and without the filter. The pgvector store's unfiltered HNSW query is near the "
    "target; with the category filter the planner takes the category index and ranks that "
    "category's rows exactly, slower at 100k (to confirm with EXPLAIN: iterative HNSW scans, or "
    "a partial index per large category).",
]


def clip_search(report: Report) -> dict[str, float]:
    """Search latency with a ViT-B/32-sized CLIP (random weights) served from a local directory."""
    import shutil
    import tempfile

    from bench.serve import Server

    directory = Path(tempfile.mkdtemp(prefix="bench-clip-"))
    try:
        model = str(search.full_size_clip(directory))
        server = Server({"VISUALSEARCH_MODEL": model})
        try:
            server.start(timeout=600)
            server.wait_indexed(indexing.demo_size(), vectors=indexing.demo_images())
            return search.run(
                report,
                server,
                False,
                "auto",
                model=model,
                label="CLIP ViT-B/32 size, RANDOM weights",
            )
        finally:
            server.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def notes(report: Report) -> None:
    report.section("Reading these figures")
    for note in NOTES:
        report.note(note)


def main() -> None:
    args = parse()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(chosen) - set(ALL)
    if unknown:
        raise SystemExit(f"unknown benchmarks: {', '.join(sorted(unknown))}")
    report = Report("visual-search benchmarks" + (" (quick run)" if args.quick else ""))
    started = time.perf_counter()
    command = "python -m bench" + (" --quick" if args.quick else "")
    report.note(f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `{command}`.")
    report.emit(*(f"- {line}" for line in machine.describe()), "")
    figures: dict[str, dict] = {}
    if "embedding" in chosen:
        figures["embedding"] = embedding.run(report, args.quick)
    if "indexing" in chosen or "search" in chosen:
        backends = ["auto"] if args.quick else ["auto", "torch"]
        runs = []
        server, first = indexing.cold_index(backends[0])
        runs.append(first)
        try:
            if "search" in chosen:
                figures["search"] = search.run(report, server, args.quick, backends[0])
        finally:
            server.stop()
        if "search" in chosen and not args.quick:
            figures["search_clip"] = clip_search(report)
        if "indexing" in chosen:
            for backend in backends[1:]:
                other, result = indexing.cold_index(backend)
                other.stop()
                runs.append(result)
            figures["indexing"] = indexing.report_rows(report, runs)
    if "vectors" in chosen:
        figures["vectors"] = vectors.run(report, args.quick)
    if "filtered" in chosen:
        figures["filtered"] = filtered.run(report, args.quick)
    if "similar" in chosen:
        figures["similar"] = similar.run(report, args.quick)
    targets(report, figures)
    notes(report)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    report.note(
        f"Whole run: {time.perf_counter() - started:.0f} s; load average at the end: {load:.1f} "
        f"on {machine.cores()} cores (other work shares this machine: figures taken at "
        "different moments differ by more than the variants compared side by side do)."
    )
    output = args.output or (None if args.quick else RESULTS)
    if output is not None:
        report.write(output)
        print(f"written to {output}")


if __name__ == "__main__":
    main()
