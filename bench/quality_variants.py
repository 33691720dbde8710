"""Descriptor variants for EfficientNet-Lite0, compared on the harness's own queries (issue 18).

A probe, not the product's path: it runs the model in eager PyTorch, keeps the raw feature maps of
the catalogue and of the queries in memory, and scores each way of turning maps into vectors
(pooling, white-patch colour normalisation, mid-level features, a query-side grid of crops) by
exact cosine ranking against one vector per catalogue image. The queries are exactly those of
``visualsearch eval`` (same generators, same seeds, same seeded product sample), one per product
and kind; ``self`` is left out (every variant with a whole-image vector finds its own file).

    python -m bench.quality_variants --limit 72 --seed 0

Variants (``Variant`` fields):

- ``white_patch``: each image's channels divided by their 99th percentile before the ImageNet
  standardisation (both sides), against colour casts.
- ``p``: 1 is the plain global average; 3 is generalised-mean (GeM) pooling.
- ``quadrants``: adds GeM over a 2x2 split of the last map (layout), each part L2-normalised.
- ``mid``: adds GeM of a stride-16 block (block 7, 80 channels, or block 10, 112 channels).
- ``grid``: the query is also run at twice the size (448 px) and pooled over a 3x3 grid of
  overlapping windows of that share of the map's side; the query's score for a product is the
  best over its whole-image vector (from the 224 px pass) and the nine window vectors. The
  catalogue keeps one vector per image.

``ms/query`` is the forward passes a query needs (one 224 px pass, plus one 448 px pass with a
grid), single image, median of 10, eager PyTorch on the threads given, measured on this shared
machine: read it as a ratio between variants (ONNX Runtime runs the same graph ~4x faster).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from visualsearch.embedding.efficientnet import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    EfficientNetLiteEmbedder,
)
from visualsearch.query_images import (
    GENERATED_KINDS,
    Inputs,
    decode,
    generate,
    load_photos,
    query_rng,
)
from visualsearch.seeding import DEMO_CATALOG
from visualsearch.services.catalog_files import read_catalog
from visualsearch.services.evaluation import Product, QuerySet

QUERY_KINDS = tuple(k for k in GENERATED_KINDS if k != "self")
MID_BLOCKS = (7, 10)


@dataclass(frozen=True)
class Variant:
    white_patch: bool = False
    p: float = 1.0
    quadrants: bool = False
    mid: int | None = None
    grid: float | None = None
    crops: float | None = None
    flip_index: bool = False
    saliency: bool = False

    def label(self) -> str:
        parts = ["GeM" if self.p != 1 else "average"]
        if self.quadrants:
            parts.append("+ 2x2")
        if self.mid is not None:
            parts.append(f"+ block {self.mid}")
        if self.white_patch:
            parts.append("+ white patch")
        if self.grid:
            parts.append(f"+ query grid {self.grid:.2f}")
        if self.crops:
            parts.append(f"+ query crops {self.crops:.2f}")
        if self.flip_index:
            parts.append("+ flip TTA at index time")
        if self.saliency:
            parts.append("+ saliency crop view")
        return " ".join(parts)


VARIANTS = (
    Variant(),
    Variant(white_patch=True),
    Variant(p=3),
    Variant(p=3, quadrants=True),
    Variant(p=3, quadrants=True, mid=10),
    Variant(p=3, quadrants=True, mid=10, white_patch=True),
    Variant(p=3, grid=0.6),
    Variant(p=3, quadrants=True, mid=10, grid=0.6),
    Variant(p=3, quadrants=True, mid=7, white_patch=True, grid=0.6),
    Variant(p=3, quadrants=True, mid=10, white_patch=True, grid=0.5),
    Variant(p=3, quadrants=True, mid=10, white_patch=True, grid=0.6),
    Variant(p=3, quadrants=True, mid=10, white_patch=True, grid=0.72),
    Variant(grid=0.6),
    Variant(crops=0.6),
    Variant(p=3, crops=0.6),
    Variant(flip_index=True),
    Variant(saliency=True),
)

Maps = dict[str, torch.Tensor]  # "final" (N,1280,h,w) and "mid7" / "mid10" (N,c,2h,2w)


class Extractor:
    def __init__(self) -> None:
        embedder = EfficientNetLiteEmbedder("cpu")
        embedder.load()
        self.model = embedder._model
        assert self.model is not None

    def pixels(self, image: Image.Image, size: int, white_patch: bool) -> np.ndarray:
        image = image.resize((size, size), Image.Resampling.BICUBIC)
        array = np.asarray(image, dtype=np.float32) / 255.0
        if white_patch:
            top = np.percentile(array.reshape(-1, 3), 99.0, axis=0)
            array = np.clip(array / np.maximum(top, 0.2), 0.0, 1.0)
        array = (array - IMAGENET_MEAN) / IMAGENET_STD
        return np.ascontiguousarray(array.transpose(2, 0, 1))

    @torch.inference_mode()
    def forward(self, batch: np.ndarray) -> Maps:
        m = self.model
        x = m._swish(m._bn0(m._conv_stem(torch.from_numpy(batch))))  # type: ignore[operator]
        out: Maps = {}
        for index, block in enumerate(m._blocks):  # type: ignore[union-attr,arg-type]
            x = block(x)
            if index in MID_BLOCKS:
                out[f"mid{index}"] = x.half()
        out["final"] = m._swish(m._bn1(m._conv_head(x))).half()  # type: ignore[operator]
        return out

    def maps(
        self, images: Sequence[Image.Image], size: int, white_patch: bool, batch: int = 16
    ) -> Maps:
        parts = [
            self.forward(
                np.stack([self.pixels(i, size, white_patch) for i in images[s : s + batch]])
            )
            for s in range(0, len(images), batch)
        ]
        return {key: torch.cat([p[key] for p in parts]) for key in parts[0]}


def gem(x: torch.Tensor, p: float, out: int) -> torch.Tensor:
    x = x.float().clamp(min=1e-6)
    if p == 1:
        return F.adaptive_avg_pool2d(x, out)
    return F.adaptive_avg_pool2d(x.pow(p), out).pow(1.0 / p)


def describe(final: torch.Tensor, mid: torch.Tensor | None, v: Variant) -> torch.Tensor:
    """One L2-normalised vector per image (or per window) from its maps."""
    parts = [F.normalize(gem(final, v.p, 1).flatten(1), dim=1)]
    if v.quadrants:
        parts.append(F.normalize(gem(final, v.p, 2), dim=1).flatten(1) / 2)
    if mid is not None:
        parts.append(0.5 * F.normalize(gem(mid.relu(), v.p, 1).flatten(1), dim=1))
    return F.normalize(torch.cat(parts, 1), dim=1)


def windows(size: int, side: int) -> list[tuple[int, int]]:
    offsets = np.linspace(0, size - side, 3).round().astype(int)
    return [(int(a), int(b)) for a in offsets for b in offsets]


def query_vectors(small: Maps, large: Maps | None, v: Variant) -> list[torch.Tensor]:
    key = f"mid{v.mid}"
    vectors = [describe(small["final"], small.get(key) if v.mid else None, v)]
    if v.grid and large is not None:
        final = large["final"]
        side = round(final.shape[2] * v.grid)
        for a, b in windows(final.shape[2], side):
            mid = (
                large[key][:, :, 2 * a : 2 * (a + side), 2 * b : 2 * (b + side)] if v.mid else None
            )
            vectors.append(describe(final[:, :, a : a + side, b : b + side], mid, v))
    return vectors


def crop_windows(image: Image.Image, share: float) -> list[Image.Image]:
    """A 3x3 grid of overlapping windows of ``share`` of the image's width and height."""
    width, height = image.size
    w, h = round(width * share), round(height * share)
    xs = np.linspace(0, width - w, 3).round().astype(int)
    ys = np.linspace(0, height - h, 3).round().astype(int)
    return [image.crop((int(x), int(y), int(x) + w, int(y) + h)) for y in ys for x in xs]


def crop_vectors(whole: Maps, crops: Maps, v: Variant) -> list[torch.Tensor]:
    """The whole image's vector and one per window (``crops`` holds 9 maps per query)."""
    n = whole["final"].shape[0]
    windows_ = describe(crops["final"], None, v).reshape(n, 9, -1)
    return [describe(whole["final"], None, v)] + [windows_[:, i] for i in range(9)]


def salient_crop(image: Image.Image, final: torch.Tensor) -> Image.Image:
    """The image cut to the box of the feature-map cells whose activation energy (the sum over
    channels of the last map) is above the map's mean, widened by one cell each way."""
    energy = final.float().clamp(min=0).sum(0)
    cells = torch.nonzero(energy > energy.mean())
    side = energy.shape[0]
    (top, left), (bottom, right) = cells.min(0).values.tolist(), cells.max(0).values.tolist()
    top, left = max(top - 1, 0), max(left - 1, 0)
    bottom, right = min(bottom + 2, side), min(right + 2, side)
    width, height = image.size
    return image.crop(
        (left * width // side, top * height // side, right * width // side, bottom * height // side)
    )


def ranks(catalogue: torch.Tensor, queries: list[torch.Tensor], truth: np.ndarray) -> np.ndarray:
    sims = torch.stack([q @ catalogue.T for q in queries]).amax(0).numpy()
    own = sims[np.arange(len(truth)), truth][:, None]
    return np.asarray((sims > own).sum(1) + 1)


def cost_ms(extractor: Extractor, image: Image.Image, grid: bool, repeats: int = 10) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        extractor.forward(extractor.pixels(image, 224, False)[None])
        if grid:
            extractor.forward(extractor.pixels(image, 448, False)[None])
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=72)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", help="comma-separated indexes into VARIANTS (default: all)")
    args = parser.parse_args()
    variants = [VARIANTS[int(i)] for i in args.only.split(",")] if args.only else list(VARIANTS)
    torch.set_num_threads(args.threads)

    entries = [e for e in read_catalog(DEMO_CATALOG) if not e.error and e.image]
    gallery = [
        Product(str(e.product_id), (DEMO_CATALOG.parent / str(e.image)).read_bytes())
        for e in entries
    ]
    ids = [p.product_id for p in gallery]
    images = [decode(p.image) for p in gallery]
    photos = load_photos()
    kinds, truth, queries = [], [], []
    for product in QuerySet(seed=args.seed, variants=1, limit=args.limit).sample(gallery):
        own = ids.index(product.product_id)
        inputs = Inputs(photos, images[:own] + images[own + 1 :])
        for kind in QUERY_KINDS:
            rng = query_rng(args.seed, product.product_id, kind, 0)
            queries.append(decode(generate(kind, product.image, rng, inputs).data))
            kinds.append(kind)
            truth.append(own)
    kind_of, right = np.array(kinds), np.array(truth)

    extractor = Extractor()
    maps: dict[tuple[str, int, bool], Maps] = {}
    for white_patch in sorted({v.white_patch for v in variants}):
        maps["catalogue", 224, white_patch] = extractor.maps(images, 224, white_patch)
        maps["query", 224, white_patch] = extractor.maps(queries, 224, white_patch)
        if any(v.grid and v.white_patch == white_patch for v in variants):
            maps["query", 448, white_patch] = extractor.maps(queries, 448, white_patch)
    if any(v.flip_index for v in variants):
        flipped = [i.transpose(Image.Transpose.FLIP_LEFT_RIGHT) for i in images]
        maps["flipped", 224, False] = extractor.maps(flipped, 224, False)
    if any(v.saliency for v in variants):
        final = maps["query", 224, False]["final"]
        salient = [salient_crop(q, final[n]) for n, q in enumerate(queries)]
        maps["salient", 224, False] = extractor.maps(salient, 224, False)
    if any(v.crops for v in variants):
        share = next(v.crops for v in variants if v.crops)
        windows_ = [w for q in queries for w in crop_windows(q, share)]
        maps["crops", 224, False] = extractor.maps(windows_, 224, False)
    cost = {grid: cost_ms(extractor, queries[0], grid) for grid in (False, True)}

    header = " | ".join(f"{k}" for k in QUERY_KINDS)
    print(f"{len(queries)} queries ({args.limit} products, seed {args.seed}); R@1 / R@10\n")
    print(f"| variant | dim | {header} | all R@1 | ms/query |")
    print("|---|---|" + "---|" * len(QUERY_KINDS) + "---|---|")
    for v in variants:
        cat = maps["catalogue", 224, v.white_patch]
        catalogue = describe(cat["final"], cat.get(f"mid{v.mid}") if v.mid else None, v)
        if v.flip_index:
            mirror = describe(maps["flipped", 224, False]["final"], None, v)
            catalogue = F.normalize(catalogue + mirror, dim=1)
        vectors = (
            crop_vectors(maps["query", 224, False], maps["crops", 224, False], v)
            if v.crops
            else query_vectors(
                maps["query", 224, v.white_patch],
                maps["query", 448, v.white_patch] if v.grid else None,
                v,
            )
        )
        if v.saliency:
            vectors.append(describe(maps["salient", 224, False]["final"], None, v))
        found = ranks(catalogue, vectors, right)
        cells = [
            f"{(found[kind_of == k] <= 1).mean():.2f} / {(found[kind_of == k] <= 10).mean():.2f}"
            for k in QUERY_KINDS
        ]
        print(
            f"| {v.label()} | {catalogue.shape[1]} | {' | '.join(cells)} | "
            f"{(found <= 1).mean():.3f} | {cost[bool(v.grid)]:.0f} |"
        )


if __name__ == "__main__":
    main()
