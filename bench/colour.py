"""Colour in the image vector (``VISUALSEARCH_COLOUR_WEIGHT``, issue 18): what it costs.

One EfficientNet-Lite0 (the service's own loading: ``EMBED_BACKEND=auto``), served twice through
``LocalEmbeddingService``: its features alone, and joined to the colour signatures
(``ColourEmbedder``, the default weight). Both take turns on the same work, so the machine's load
drifts alike for both:

- a query as search embeds it (``embed_image_views``: the whole picture and its 3x3 grid of
  windows, ``QUERY_VIEWS=grid``), over photo, screenshot and phone queries of the harness;
- a catalogue batch as the bulk path embeds it (32 demo images, one forward pass).

Quality is not measured here: ``visualsearch eval`` with ``VISUALSEARCH_COLOUR_WEIGHT=0`` and
the default on the same seed gives it (docs/search-quality.md).

    python -m bench.colour [--queries 60] [--batches 10]
"""

from __future__ import annotations

import argparse
import asyncio
import time
from functools import partial

import numpy as np

from bench import machine
from bench.timing import interleaved_rates, percentiles


async def measure(queries: int, batches: int) -> None:
    from visualsearch.config import Settings
    from visualsearch.embedding.colour import ColourEmbedder
    from visualsearch.embedding.loader import load_embedder
    from visualsearch.embedding.service import LocalEmbeddingService
    from visualsearch.embedding.views import GRID
    from visualsearch.factory import image_limits
    from visualsearch.query_images import Inputs, decode, generate, load_photos, query_rng
    from visualsearch.seeding import DEMO_CATALOG
    from visualsearch.services.catalog_files import read_catalog

    settings = Settings()
    model, _ = load_embedder("efficientnet-lite0", "cpu", settings.model_cache_dir, "auto")
    joined = ColourEmbedder(model, settings.colour_weight)
    services = {
        "features alone": LocalEmbeddingService(model, image_limits(settings)),
        f"with colour (w={settings.colour_weight:g})": LocalEmbeddingService(
            joined, image_limits(settings)
        ),
    }
    entries = [e for e in read_catalog(DEMO_CATALOG) if not e.error and e.image]
    images = [(DEMO_CATALOG.parent / str(e.image)).read_bytes() for e in entries]
    inputs = Inputs(load_photos(), [decode(i) for i in images[:24]])
    kinds = ("photo", "screenshot", "phone")
    made = [
        generate(kinds[n % 3], images[n % len(images)], query_rng(1, str(n), "c", 0), inputs).data
        for n in range(queries)
    ]
    batch = np.stack([model.preprocess(decode(i).convert("RGB")) for i in images[:32]])

    query_ms: dict[str, list[float]] = {name: [] for name in services}
    for data in made[:6]:  # warm both (ONNX sessions, thread pools)
        for service in services.values():
            await service.embed_image_views(data, None, GRID)
    for data in made:
        for name, service in services.items():
            started = time.perf_counter()
            await service.embed_image_views(data, None, GRID)
            query_ms[name].append((time.perf_counter() - started) * 1000)
    rates = interleaved_rates(
        {name: (partial(s.embedder.embed_images, batch), 1) for name, s in services.items()},
        batches,
        warmup=False,  # the queries above warmed both
    )
    batch_ms = {name: [1000 / rate for rate in rates[name]] for name in services}
    for service in services.values():
        await service.close()

    print("\n".join(f"- {line}" for line in machine.describe()))
    print(
        f"\n{queries} queries (photo, screenshot, phone in turn), each embedded as 10 views; "
        f"{batches} batches of 32 catalogue images; the two take turns.\n"
    )
    print(
        "| embedding | dim | query (10 views) p50 ms | p95 ms | batch of 32 p50 ms | per image ms |"
    )
    print("|---|---|---|---|---|---|")
    for name, service in services.items():
        q = percentiles([t / 1000 for t in query_ms[name]])
        b = percentiles([t / 1000 for t in batch_ms[name]])
        print(
            f"| {name} | {service.info.dim} | {q['p50']:.1f} | {q['p95']:.1f} | "
            f"{b['p50']:.1f} | {b['p50'] / 32:.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.colour", description=__doc__)
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--batches", type=int, default=10)
    args = parser.parse_args()
    asyncio.run(measure(args.queries, args.batches))


if __name__ == "__main__":
    main()
