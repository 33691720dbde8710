"""Search latency end to end over HTTP: ``POST /search`` with an image, at concurrency 1 and 8,
cache misses and cache hits separately, with each stage's share from the server's histograms.

Every miss sends a JPEG no earlier request sent (a demo product photo re-encoded with a unique
comment, so the pixels are a real product's and the cache key is new); hits resend bodies that
were already answered. Clients run in this process (httpx, one connection per client thread) on
the same cores as the server, as a shopper's browser would not: the figures include their cost.
"""

from __future__ import annotations

import io
import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from PIL import Image

from bench.machine import cores
from bench.report import Report
from bench.serve import Server
from bench.timing import percentiles

DEMO_IMAGES = Path(__file__).resolve().parents[1] / "services" / "visualsearch" / "demo" / "images"
STAGES = ("decode", "embed", "ann", "metadata", "cache")


def unique_bodies(count: int, offset: int = 0) -> list[bytes]:
    """``count`` distinct JPEG uploads made from the demo photos."""
    files = sorted(DEMO_IMAGES.glob("demo-????.jpg"))  # main images, not the -2 views
    bodies = []
    for i in range(count):
        with Image.open(files[(offset + i) % len(files)]) as img:
            buffer = io.BytesIO()
            img.convert("RGB").save(buffer, "JPEG", quality=92, comment=f"bench {offset + i}")
            bodies.append(buffer.getvalue())
    return bodies


def one_search(client: httpx.Client, body: bytes) -> tuple[float, bool]:
    start = time.perf_counter()
    response = client.post(
        "/search", files={"file": ("query.jpg", body, "image/jpeg")}, data={"top_k": "12"}
    )
    elapsed = time.perf_counter() - start
    if response.status_code != 200:
        raise RuntimeError(f"search answered {response.status_code}: {response.text[:300]}")
    payload = response.json()
    if payload["count"] == 0:
        raise RuntimeError("search returned no results")
    return elapsed, bool(payload["cache"])


def run_load(url: str, bodies: list[bytes], concurrency: int) -> tuple[list[float], int, float]:
    """Send every body once with ``concurrency`` clients; (latencies, cache hits, wall seconds)."""
    work = iter(bodies)
    lock = threading.Lock()
    latencies: list[float] = []
    hits = 0

    def client_loop() -> None:
        nonlocal hits
        with httpx.Client(base_url=url, timeout=60) as client:
            while True:
                with lock:
                    body = next(work, None)
                if body is None:
                    return
                elapsed, cached = one_search(client, body)
                with lock:
                    latencies.append(elapsed)
                    hits += cached

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        for future in [pool.submit(client_loop) for _ in range(concurrency)]:
            future.result()
    return latencies, hits, time.perf_counter() - start


def stage_delta(
    before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]]
) -> dict[str, tuple[float, float]]:
    """Seconds and observations per stage between two scrapes."""
    out = {}
    for stage, (total, count) in after.items():
        old_total, old_count = before.get(stage, (0.0, 0.0))
        out[stage] = (total - old_total, count - old_count)
    return out


def local_embedding_ms(bodies: list[bytes], backend: str, model: str) -> dict[str, float]:
    """Percentiles of embedding one upload in this process (draft decode, preprocessing, one
    forward pass) with the server's model and backend: the yardstick of the latency target."""
    import torch

    from visualsearch.embedding.loader import load_embedder
    from visualsearch.imaging import ImageLimits, decode_image

    limits = ImageLimits(max_bytes=10 * 1024 * 1024, max_pixels=40_000_000)
    embedder, _ = load_embedder(model, "cpu", backend=backend)
    torch.set_num_threads(cores())

    def one(body: bytes) -> None:
        image = decode_image(body, limits, draft_size=embedder.input_size)
        embedder.embed_images(embedder.preprocess(image)[None])

    one(bodies[0])
    times = []
    for body in bodies:
        start = time.perf_counter()
        one(body)
        times.append(time.perf_counter() - start)
    return percentiles(times)


def run(
    report: Report,
    server: Server,
    quick: bool,
    backend: str,
    model: str = "efficientnet-lite0",
    label: str = "EfficientNet-Lite0",
) -> dict[str, float]:
    """Latency table for one running server (already indexed) on embedding ``backend``."""
    sizes = {1: 20 if quick else 60, 8: 48 if quick else 160}
    warm = unique_bodies(8, offset=10_000)
    run_load(server.url, warm, 2)  # first requests pay one-off costs (pools, lazy imports)
    rows = []
    shares = []
    headline: dict[str, float] = {}
    offset = itertools.count(0, 1000)
    for concurrency, count in sizes.items():
        bodies = unique_bodies(count, offset=next(offset))
        for kind in ("miss", "hit"):
            before = server.stages()
            latencies, hits, wall = run_load(server.url, bodies, concurrency)
            deltas = stage_delta(before, server.stages())
            expected = count if kind == "hit" else 0
            if hits != expected:
                raise RuntimeError(f"{kind} run saw {hits} cache hits of {count}")
            p = percentiles(latencies)
            rows.append(
                [concurrency, kind, count, p["p50"], p["p95"], p["p99"], p["mean"], count / wall]
            )
            client_total = sum(latencies)
            parts = []
            for stage in STAGES:
                seconds, observed = deltas.get(stage, (0.0, 0.0))
                if observed:
                    parts.append(
                        f"{stage} {100 * seconds / client_total:.0f} % "
                        f"({1000 * seconds / observed:.1f} ms)"
                    )
            known = sum(deltas.get(s, (0.0, 0.0))[0] for s in STAGES)
            parts.append(
                f"rest (HTTP, upload, catalogue version) {100 * (1 - known / client_total):.0f} %"
            )
            shares.append([concurrency, kind, "; ".join(parts)])
            headline[f"c{concurrency}_{kind}_p50"] = p["p50"]
            if concurrency == 1 and kind == "miss":
                decode = deltas.get("decode", (0.0, 1.0))
                embed = deltas.get("embed", (0.0, 1.0))
                stages_ms = 1000 * (decode[0] / max(decode[1], 1) + embed[0] / max(embed[1], 1))
                headline["server_embed_mean_ms"] = stages_ms
                headline["c1_miss_mean"] = p["mean"]
                local = local_embedding_ms(bodies, backend, model)
                headline["embed_one_ms"] = local["p50"]
    report.section(f"Search latency over HTTP: {label}, EMBED_BACKEND={backend}")
    report.note(
        "`POST /search` (multipart JPEG, top_k=12) against `visualsearch serve` with the demo "
        "catalogue; latencies in ms as the client sees them; hit = answered from the result "
        "cache (the memory cache of the one-machine mode)."
    )
    report.table(
        ["concurrency", "cache", "requests", "p50 ms", "p95 ms", "p99 ms", "mean ms", "req/s"], rows
    )
    report.note("Share of the client-seen time per stage (mean time per observation in brackets):")
    report.table(["concurrency", "cache", "stage shares"], shares)
    ratio = headline["c1_miss_p50"] / headline["embed_one_ms"]
    headline["ratio_to_embed"] = ratio
    headline["label"] = label  # type: ignore[assignment]
    mean_ratio = headline["c1_miss_mean"] / headline["server_embed_mean_ms"]
    report.note(
        f"Embedding one of the same uploads in this process (draft decode, preprocessing, one "
        f"forward pass; same model and backend, server idle): p50 {headline['embed_one_ms']:.1f}"
        f" ms. Search p50 at concurrency 1 is **{ratio:.2f}x** that. By the server's own stage "
        f"histograms (means): decode+embed {headline['server_embed_mean_ms']:.1f} ms against a "
        f"mean search of {headline['c1_miss_mean']:.1f} ms ({mean_ratio:.2f}x)."
    )
    return headline


def full_size_clip(directory: Path) -> Path:
    """A CLIP with a ViT-B/32-sized image tower and random weights, saved in the Hugging Face
    layout (with the tiny tokenizer of the tests: only image search is timed) for ``serve``."""
    import torch
    from tests.support.tiny_clip import build_tiny_clip
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPVisionConfig

    build_tiny_clip(directory)
    config = CLIPConfig.from_pretrained(directory)
    config.vision_config = CLIPVisionConfig()  # ViT-B/32: 224 px, patch 32, 12 layers, 768 wide
    config.projection_dim = 512
    torch.manual_seed(0)
    CLIPModel(config).eval().save_pretrained(directory)
    CLIPImageProcessor().save_pretrained(directory)  # CLIP's own 224 px recipe
    return directory
