"""Embedding throughput: our path against the seed's way, and against the machine's matmul peak.

The seed's way is the plain fp32 model called once per image (CLIP with ``CLIPImageProcessor``,
which is what ``CLIPProcessor`` runs on images). Our path is draft JPEG decode, our own
preprocessing and batched forward passes on the configured backend. CLIP runs with randomly
initialised full-size weights (``CLIPModel(CLIPConfig())``, ViT-B/32 sized): no CLIP weights can
be had here, and speed does not depend on the weights' values. EfficientNet-Lite0 runs with its
real ImageNet weights.
"""

from __future__ import annotations

import io
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from bench.machine import cores
from bench.report import Report
from bench.timing import interleaved_rates, median_ms
from visualsearch.embedding.base import Embedder
from visualsearch.embedding.clip import ClipEmbedder
from visualsearch.embedding.efficientnet import EfficientNetLiteEmbedder
from visualsearch.embedding.optimised import OnnxEmbedder, cosine_rows, optimise
from visualsearch.imaging import ImageLimits, decode_image

DEMO_IMAGES = Path(__file__).resolve().parents[1] / "services" / "visualsearch" / "demo" / "images"
LIMITS = ImageLimits(max_bytes=10 * 1024 * 1024, max_pixels=40_000_000)
BATCH = 16
SEED_IMAGES = 8


class RandomFullSizeClip(ClipEmbedder):
    """CLIP ViT-B/32-sized with random weights, through our CLIP adapter (speed only)."""

    def __init__(self) -> None:
        super().__init__("random CLIPModel(CLIPConfig())", device="cpu")

    def _load(self) -> None:
        from transformers import CLIPConfig, CLIPModel

        torch.manual_seed(0)
        self._model = CLIPModel(CLIPConfig()).eval()
        self._dim = int(self._model.config.projection_dim)


def demo_jpegs(count: int) -> list[bytes]:
    """Real product images (the demo catalogue's JPEGs), spread over the categories."""
    files = sorted(DEMO_IMAGES.glob("demo-????.jpg"))  # main images, not the -2 views
    step = max(1, len(files) // count)
    return [f.read_bytes() for f in files[::step][:count]]


def thread_counts() -> list[int]:
    """2 threads and all cores (one entry when they are the same)."""
    return sorted({min(2, cores()), cores()})


MATMUL_N = 2048


def matmul_call() -> Callable[[], object]:
    """One fp32 2048² matmul (2·n³ FLOP); its best rate is this machine's roofline for a ViT."""
    a, b = torch.randn(MATMUL_N, MATMUL_N), torch.randn(MATMUL_N, MATMUL_N)
    return lambda: [torch.mm(a, b) for _ in range(2)]


def gflop_per_image(embedder: Embedder) -> float:
    """FLOPs (2 per multiply-add) of one image through the fp32 model, counted by torch."""
    from torch.utils.flop_counter import FlopCounterMode

    pixels = torch.zeros(1, 3, embedder.input_size, embedder.input_size)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        embedder._forward_images(pixels)
    return counter.get_total_flops() / 1e9


@dataclass
class Variant:
    name: str
    call: Callable[[], np.ndarray]
    images: int


def seed_clip_way(model: Any, jpegs: list[bytes]) -> Callable[[], np.ndarray]:
    """The seed: PIL decode, ``CLIPImageProcessor``, ``CLIPModel`` fp32, one image per call."""
    from transformers import CLIPImageProcessor

    processor = CLIPImageProcessor()

    def run() -> np.ndarray:
        out = []
        for data in jpegs:
            image = Image.open(io.BytesIO(data)).convert("RGB")
            pixels = processor(images=image, return_tensors="pt")["pixel_values"]
            with torch.no_grad():
                features = model.get_image_features(pixel_values=pixels)
            features = features if isinstance(features, torch.Tensor) else features.pooler_output
            out.append(torch.nn.functional.normalize(features, dim=-1)[0].numpy())
        return np.stack(out)

    return run


def seed_plain_way(embedder: Embedder, jpegs: list[bytes]) -> Callable[[], np.ndarray]:
    """The plain fp32 model, full decode, one image per call (EfficientNet's seed-style path)."""

    def run() -> np.ndarray:
        out = []
        for data in jpegs:
            image = Image.open(io.BytesIO(data)).convert("RGB")
            out.append(embedder.embed_images(embedder.preprocess(image)[None])[0])
        return np.stack(out)

    return run


def our_way(embedder: Embedder, jpegs: list[bytes], batch: int) -> Callable[[], np.ndarray]:
    """Our path: draft decode, our preprocessing, forward passes of ``batch`` images."""

    def run() -> np.ndarray:
        out = []
        for start in range(0, len(jpegs), batch):
            pixels = np.stack(
                [
                    embedder.preprocess(decode_image(d, LIMITS, draft_size=embedder.input_size))
                    for d in jpegs[start : start + batch]
                ]
            )
            out.append(embedder.embed_images(pixels))
        return np.concatenate(out)

    return run


def bench_model(
    report: Report,
    title: str,
    base: Embedder,
    seed: Callable[[list[bytes]], Callable[[], np.ndarray]],
    jpegs: list[bytes],
    rounds: int,
) -> dict[str, float]:
    """One model: every variant at every thread count; returns headline figures."""
    base.load()
    gflop = gflop_per_image(base)
    auto = optimise(base, "auto")
    chosen = auto.backend if isinstance(auto, OnnxEmbedder) else "torch"
    report.section(f"Embedding throughput: {title}")
    report.note(
        f"{gflop:.2f} GFLOP per image (fp32, counted by torch's FlopCounterMode; 2 FLOP per "
        f"multiply-add). Default backend chosen by `auto` here: **{chosen}**. Inputs: "
        f"{len(jpegs)} real product JPEGs from the demo catalogue, decoded in the timed loop."
    )
    headline: dict[str, float] = {}
    rows = []
    for threads in thread_counts():
        torch.set_num_threads(threads)
        backends: dict[str, Embedder] = {"torch fp32": base}
        # EfficientNet's int8 is static and made ahead of time (bench.int8 compares the two)
        has_int8 = isinstance(base, ClipEmbedder) or chosen == "int8"
        precisions = ["fp32", "int8"] if has_int8 else ["fp32"]
        for precision in precisions:
            fast = OnnxEmbedder(base, precision, threads=threads)  # exports are cached
            fast.load()
            backends["onnx fp32" if precision == "fp32" else "int8"] = fast
        best = backends["int8" if chosen == "int8" else "onnx fp32"]
        few = jpegs[:SEED_IMAGES]  # the slow baseline: fewer images per round, same rate
        variants = [Variant("seed's way: fp32, 1 image per call", seed(few), len(few))]
        for name, embedder in backends.items():
            variants.append(
                Variant(f"ours: {name}, batch {BATCH}", our_way(embedder, jpegs, BATCH), len(jpegs))
            )
        variants.append(
            Variant(f"ours: {chosen}, 1 image per call", our_way(best, jpegs, 1), len(jpegs))
        )
        reference = seed(jpegs)()
        agreement = {
            v.name: float(cosine_rows(reference[: v.images], v.call()).min()) for v in variants
        }
        timed_calls: dict[str, tuple[Callable[[], object], int]] = {
            v.name: (v.call, v.images) for v in variants
        }
        timed_calls["matmul"] = (matmul_call(), 2)  # sampled between the variants, best kept
        samples = interleaved_rates(timed_calls, rounds + 2)
        peak = max(samples.pop("matmul")) * 2 * MATMUL_N**3 / 1e9
        rates = {name: statistics.median(values) for name, values in samples.items()}
        seed_rate = rates[variants[0].name]
        for v in variants:
            rate = rates[v.name]
            rows.append(
                [
                    v.name,
                    threads,
                    rate,
                    rate / seed_rate,
                    1000 / rate,
                    f"{agreement[v.name]:.4f}",
                    f"{100 * rate * gflop / peak:.0f} %",
                ]
            )
        single_ms = median_ms(our_way(best, jpegs[:1], 1), 9)
        ours_name = f"ours: {chosen if chosen == 'int8' else 'onnx fp32'}, batch {BATCH}"
        headline.update(
            {
                f"peak_gflops_t{threads}": peak,
                f"seed_rate_t{threads}": seed_rate,
                f"ours_rate_t{threads}": rates[ours_name],
                f"speedup_t{threads}": rates[ours_name] / seed_rate,
                f"single_ms_t{threads}": single_ms,
            }
        )
        report.note(
            f"{threads} threads: fp32 matmul peak {peak:.0f} GFLOP/s (best of the 2048² torch "
            "matmuls timed between the variants); "
            f"one image on our default path (decode+preprocess+forward) {single_ms:.1f} ms."
        )
    report.table(
        [
            "path",
            "threads",
            "images/s",
            "x seed",
            "ms/image",
            "min cosine vs plain fp32",
            "of fp32 matmul peak",
        ],
        rows,
    )
    headline["gflop"] = gflop
    return headline


def _clip(report: Report, jpegs: list[bytes], rounds: int) -> dict[str, float]:
    clip = RandomFullSizeClip()
    clip.load()
    return bench_model(
        report,
        "CLIP ViT-B/32 size, RANDOMLY INITIALISED weights (CLIPModel(CLIPConfig()); speed only)",
        clip,
        lambda j: seed_clip_way(clip._model, j),
        jpegs,
        rounds,
    )


def run(report: Report, quick: bool) -> dict[str, dict[str, float]]:
    """Both models; CLIP with random full-size weights, EfficientNet-Lite0 with real ones."""
    jpegs = demo_jpegs(16 if quick else 24)
    rounds = 1 if quick else 3
    results = {"clip": _clip(report, jpegs, rounds)}  # freed before the next model loads
    efficientnet = EfficientNetLiteEmbedder("cpu")
    efficientnet.load()
    results["efficientnet"] = bench_model(
        report,
        "EfficientNet-Lite0, real ImageNet weights",
        efficientnet,
        lambda j: seed_plain_way(efficientnet, j),
        jpegs,
        rounds,
    )
    torch.set_num_threads(cores())
    return results
