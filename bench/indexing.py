"""Indexing throughput: the demo catalogue loaded cold by ``visualsearch serve``.

Cold means a fresh data directory (embedded PostgreSQL initialised, empty vector index) and an
empty model-export cache: the time runs from starting the process to every product having its
row and its vector, model loading (and ONNX export) included. The seed took 2-3 minutes for 194
products (its README); we compare per 194 products against both ends of that range.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench.report import Report
from bench.serve import Server

DEMO = Path(__file__).resolve().parents[1] / "services" / "visualsearch" / "demo" / "catalogue.json"
SEED_SECONDS = (120.0, 180.0)
SEED_PRODUCTS = 194


def demo_rows() -> list[dict[str, Any]]:
    body = json.loads(DEMO.read_text())
    return list(body["products"] if isinstance(body, dict) else body)


def demo_size() -> int:
    return len(demo_rows())


def demo_images() -> int:
    """Images in the demo catalogue (main images and second views): one vector each."""
    return sum(len(row.get("images") or [row["image"]]) for row in demo_rows())


def cold_index(backend: str) -> tuple[Server, dict[str, object]]:
    """Start a cold server on ``backend`` and wait for the whole demo catalogue; keep it running."""
    server = Server({"VISUALSEARCH_EMBED_BACKEND": backend})
    ready = server.start()
    total, info = server.wait_indexed(demo_size(), vectors=demo_images())
    return server, {"backend": backend, "ready_s": ready, "total_s": total, "info": info}


def report_rows(report: Report, runs: list[dict[str, object]]) -> dict[str, float]:
    report.section("Indexing throughput: the demo catalogue, cold")
    count = demo_size()
    report.note(
        f"`visualsearch serve` on a fresh data dir and an empty export cache, {count} products "
        f"with {demo_images()} images (second views included) "
        "(EfficientNet-Lite0, the model that works offline). Seed: 2-3 min for 194 products."
    )
    rows = []
    headline: dict[str, float] = {}
    for run in runs:
        total = float(run["total_s"])  # type: ignore[arg-type]
        ready = float(run["ready_s"])  # type: ignore[arg-type]
        per_seed = total * SEED_PRODUCTS / count
        rows.append(
            [
                f"EMBED_BACKEND={run['backend']}",
                ready,
                total - ready,
                total,
                count / (total - ready),
                per_seed,
                f"{SEED_SECONDS[0] / per_seed:.1f}-{SEED_SECONDS[1] / per_seed:.1f}x",
            ]
        )
        headline[f"{run['backend']}_total_s"] = total
        headline[f"{run['backend']}_speedup_low"] = SEED_SECONDS[0] / per_seed
    report.table(
        [
            "server",
            "start → ready s",
            "ready → all indexed s",
            "cold total s",
            "products/s (indexing)",
            "s per 194 products (cold)",
            "vs seed 2-3 min",
        ],
        rows,
    )
    return headline
