"""int8 against fp32 for EfficientNet-Lite0 (issue 21): images/s side by side, and each recall.

    python -m bench.int8 [--rounds 7] [--verdict-dir DIR] [--output bench/RESULTS.md]

The int8 model and its Recall@10 come from ``visualsearch model quantize`` (the image build's
step): the models and verdict in ``--verdict-dir`` (default: the model cache,
``~/.cache/visualsearch/onnx``), made now when that directory has no valid verdict (minutes).
Both ONNX Runtime sessions then take turns (``interleaved_rates``), so the machine's background
load falls on both alike:

- model: the forward pass alone on preprocessed real product images, a batch of 16 and one image
  per call (what the batcher runs, and what a query at concurrency 1 runs);
- whole path: JPEG draft decode, preprocessing and the forward pass (``bench.embedding.our_way``),
  the same two ways.

The section "Embedding: int8 against fp32 (bench.int8)" of RESULTS.md is replaced in place; a
full ``python -m bench`` run keeps it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from bench import machine
from bench.embedding import BATCH, demo_jpegs, our_way
from bench.report import replace_section
from bench.timing import interleaved_rates
from visualsearch.embedding.base import Embedder

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
TITLE = "Embedding: int8 against fp32 (bench.int8)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--verdict-dir", type=Path, help="Where the models and verdict are.")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args()

    from visualsearch.embedding.efficientnet import EfficientNetLiteEmbedder
    from visualsearch.embedding.optimised import OnnxEmbedder, cosine_rows, default_cache_dir
    from visualsearch.int8_gate import make_int8

    torch.set_num_threads(args.threads)
    started = time.gmtime()
    load_start = os.getloadavg()[0]
    base = EfficientNetLiteEmbedder("cpu")
    base.load()
    directory = args.verdict_dir or default_cache_dir()
    probe = OnnxEmbedder(base, "int8", directory)
    verdict = probe.located().verdict
    if verdict is None:
        print(f"no valid verdict in {directory} ({probe.located().why}): quantising now")
        verdict = make_int8(base, directory)
    fp32 = OnnxEmbedder(base, "fp32", directory, threads=args.threads)
    int8 = OnnxEmbedder(base, "int8", directory, threads=args.threads)
    fp32.load()
    int8.load()

    jpegs = demo_jpegs(32)
    pixels = np.stack([base.preprocess(image) for image in _decoded(jpegs)])
    cosine = cosine_rows(fp32.embed_images(pixels), int8.embed_images(pixels))
    calls = {}
    for name, model in (("fp32", fp32), ("int8", int8)):
        calls[f"model {name} batch"] = (_forward(model, pixels[:BATCH]), BATCH)
        calls[f"model {name} single"] = (_singles(model, pixels[:8]), 8)
        calls[f"path {name} batch"] = (our_way(model, jpegs, BATCH), len(jpegs))
        calls[f"path {name} single"] = (our_way(model, jpegs[:8], 1), 8)
    rates = {k: statistics.median(v) for k, v in interleaved_rates(calls, args.rounds).items()}
    load_end = os.getloadavg()[0]

    rows = []
    for what, label in (
        ("model", "model (forward only)"),
        ("path", "whole path (decode+preprocess+forward)"),
    ):
        for how, shape in (("batch", f"batch {BATCH}"), ("single", "1 image per call")):
            a, b = rates[f"{what} fp32 {how}"], rates[f"{what} int8 {how}"]
            rows.append(f"| {label}, {shape} | {a:.1f} | {b:.1f} | {b / a:.2f}x |")
    by_kind = verdict.extra.get("recall_at_10_by_kind", {})
    lines = [
        f"## {TITLE}",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M', started)} UTC with `python -m bench.int8 "
        f"--rounds {args.rounds}`, {args.threads} threads, ONNX Runtime CPU sessions taking turns "
        f"({args.rounds} rounds, medians). **Measured with other work running** (other helpers' "
        f"tests and benchmarks on the same 2 cores; load average {load_start:.1f} at the start, "
        f"{load_end:.1f} at the end): read the ratios, not the absolute rates.",
        "",
        *(f"- {line}" for line in machine.describe()),
        "",
        "| images/s | fp32 | int8 | int8 / fp32 |",
        "|---|---|---|---|",
        *rows,
        "",
        f"This CPU {'has' if _vnni() else 'has no'} VNNI (AVX-512 VNNI / AVX-VNNI): ONNX Runtime "
        f"runs the int8 convolutions {'with VNNI dot products' if _vnni() else 'on AVX2'}.",
        "",
        f"int8 model: {verdict.method}. Cosine to fp32 over {len(cosine)} demo images: mean "
        f"{cosine.mean():.4f}, min {cosine.min():.4f}.",
        "",
        f"Recall@10 on the quality harness (`visualsearch model quantize`: "
        f"{verdict.queries.get('count')} queries, seed {verdict.queries.get('seed')}, "
        f"{verdict.queries.get('variants')} per product and kind, all "
        f"{verdict.queries.get('indexed')} demo products indexed by their main images, whole "
        "picture, exact cosine ranking; made "
        f"{verdict.made_at} in {verdict.seconds:.0f} s): **fp32 {verdict.recall_fp32:.3f}, int8 "
        f"{verdict.recall_int8:.3f}** (tolerance {verdict.tolerance}: "
        f"{'passes, so `auto` runs int8' if verdict.passes() else 'fails, so `auto` runs fp32'}).",
        "",
        "| kind | fp32 R@10 | int8 R@10 |",
        "|---|---|---|",
        *(f"| {k} | {v['fp32']:.3f} | {v['int8']:.3f} |" for k, v in by_kind.items()),
    ]
    print("\n".join(lines))
    args.output.write_text(replace_section(args.output.read_text(), TITLE, lines))
    print(f"written to {args.output}")


def _vnni() -> bool:
    return bool({"avx512_vnni", "avx_vnni"} & set(machine.cpu_features()))


def _decoded(jpegs: list[bytes]) -> list[Image.Image]:
    from visualsearch.imaging import ImageLimits, decode_image

    limits = ImageLimits(max_bytes=10 * 1024 * 1024, max_pixels=40_000_000)
    return [decode_image(data, limits, 224) for data in jpegs]


def _forward(model: Embedder, pixels: np.ndarray) -> Callable[[], object]:
    return lambda: model.embed_images(pixels)


def _singles(model: Embedder, pixels: np.ndarray) -> Callable[[], object]:
    return lambda: [model.embed_images(pixels[i : i + 1]) for i in range(len(pixels))]


if __name__ == "__main__":
    main()
