"""Degraded catalogue views judged on the harness's queries (issue 18's lead): does indexing a
low-resolution or softened copy of each catalogue image beside the image itself find shoppers'
photographs, phone shots and thumbnails first more often?

Embeds the demo catalogue's main images and, for each candidate, one degraded copy of each; then
generates the harness's queries (``visualsearch eval``'s generators, seed and variants) and ranks
the products as the search does (``VectorStore.search_views``: each product at its best score
over every query view and every vector it has), with the product's main vector alone (today) and
with the main vector plus the candidate's. One embedding per image and query view, so every
candidate is compared on the very same query vectors.

    python -m bench.catalogue_views --seed 1 [--variants 1] [--limit N]
"""

from __future__ import annotations

import argparse
import asyncio
import io
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter
from tqdm import tqdm

from bench import machine

TITLE = "Search quality: degraded catalogue views (issue 18)"
KINDS = ("self", "photo", "screenshot", "phone", "thumbnail", "crop", "rotated", "background")


def _jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def small(side: int) -> Callable[[Image.Image], Image.Image]:
    """The image as a ``side``-pixel JPEG thumbnail, shown at its size again."""

    def degrade(image: Image.Image) -> Image.Image:
        thumb = _jpeg(image.resize((side, side), Image.Resampling.BILINEAR), 75)
        return thumb.resize(image.size, Image.Resampling.BILINEAR)

    return degrade


def soft(radius: float, quality: int) -> Callable[[Image.Image], Image.Image]:
    """The image blurred by ``radius`` and saved as a low-quality JPEG (a phone's shot)."""

    def degrade(image: Image.Image) -> Image.Image:
        return _jpeg(image.filter(ImageFilter.GaussianBlur(radius)), quality)

    return degrade


CANDIDATES: dict[str, Callable[[Image.Image], Image.Image]] = {
    "small64": small(64),
    "small96": small(96),
    "soft2": soft(2.0, 40),
}


def _encode(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def _ranks(scores: np.ndarray, truth: int) -> int | None:
    """1-based rank of product ``truth`` among products by ``scores`` (None past 50)."""
    better = int(np.sum(scores > scores[truth]))
    return better + 1 if better < 50 else None


async def run(seed: int, variants: int, limit: int | None) -> str:
    from visualsearch.config import Settings
    from visualsearch.embedding.views import QUERY_VIEWS
    from visualsearch.factory import create_embedding
    from visualsearch.query_images import Inputs, decode, generate, load_photos, query_rng
    from visualsearch.seeding import DEMO_CATALOG
    from visualsearch.services.catalog_files import read_catalog

    entries = [e for e in read_catalog(DEMO_CATALOG) if not e.error and e.image]
    ids = [str(e.product_id) for e in entries]
    images = [(DEMO_CATALOG.parent / str(e.image)).read_bytes() for e in entries]
    decoded = [decode(i) for i in images]
    photos = load_photos()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(data_dir=Path(data_dir), redis_cache_ttl=0)
        views = settings.query_views
        assert views in QUERY_VIEWS
        embedding = await create_embedding(settings)
        try:
            main = np.stack([await embedding.embed_image(i) for i in tqdm(images, "catalogue")])
            extra = {
                name: np.stack(
                    [
                        await embedding.embed_image(_encode(degrade(image)))
                        for image in tqdm(decoded, name)
                    ]
                )
                for name, degrade in CANDIDATES.items()
            }
            # one vector per image instead of two: the mean of the image's and its copy's
            means = {}
            for name, vectors in extra.items():
                mean = main + vectors
                means[f"{name} mean"] = mean / np.linalg.norm(mean, axis=1, keepdims=True)
            sampled = range(len(entries)) if limit is None else range(min(limit, len(entries)))
            ranks: dict[str, dict[str, list[int | None]]] = {
                setting: {k: [] for k in KINDS} for setting in ["main", *CANDIDATES, *means]
            }
            bar = tqdm(total=len(sampled) * len(KINDS) * variants, desc="queries", unit="query")
            for n in sampled:
                others = [im for i, im in enumerate(decoded) if i != n]
                inputs = Inputs(photos, others)
                for kind in KINDS:
                    for variant in range(1 if kind == "self" else variants):
                        rng = query_rng(seed, ids[n], kind, variant)
                        query = generate(kind, images[n], rng, inputs).data
                        rows = await embedding.embed_image_views(query, None, views)
                        base = (rows @ main.T).max(axis=0)
                        ranks["main"][kind].append(_ranks(base, n))
                        for name, vectors in extra.items():
                            both = np.maximum(base, (rows @ vectors.T).max(axis=0))
                            ranks[name][kind].append(_ranks(both, n))
                        for name, vectors in means.items():
                            ranks[name][kind].append(_ranks((rows @ vectors.T).max(axis=0), n))
                        bar.update(1)
            bar.close()
        finally:
            await embedding.close()
    seconds = time.perf_counter() - started
    return report(ranks, seed, variants, len(sampled), views, embedding.info.name, seconds)


def _r(ranks: list[int | None], k: int) -> float:
    return sum(1 for r in ranks if r is not None and r <= k) / max(1, len(ranks))


def _mrr(ranks: list[int | None]) -> float:
    return sum(1 / r for r in ranks if r is not None) / max(1, len(ranks))


def report(
    ranks: dict[str, dict[str, list[int | None]]],
    seed: int,
    variants: int,
    products: int,
    views: str,
    model: str,
    seconds: float,
) -> str:
    settings = list(ranks)
    lines = [
        f"## {TITLE}",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} with "
        f"`python -m bench.catalogue_views --seed {seed} --variants {variants}`: {model}, "
        f"QUERY_VIEWS={views}, {products} demo products queried, {seconds:.0f} s.",
        "",
        *machine.describe(),
        "",
        "R@1 / R@10 per kind; `main` is today's index (one vector per main image); each "
        "candidate (" + ", ".join(CANDIDATES) + ") adds one degraded copy's vector of every "
        "main image, and `<candidate> mean` replaces the image's vector by the normalised mean "
        "of it and its copy's (still one vector an image).",
        "",
        "| kind | " + " | ".join(settings) + " |",
        "|---|" + "---|" * len(settings),
    ]
    for kind in [*KINDS, "all"]:
        cells = []
        for setting in settings:
            per = ranks[setting]
            got = [r for k in KINDS for r in per[k]] if kind == "all" else per[kind]
            cells.append(f"{_r(got, 1):.3f} / {_r(got, 10):.3f}")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    lines += ["", "MRR: " + ", ".join(
        f"{s} {_mrr([r for k in KINDS for r in ranks[s][k]]):.3f}" for s in settings
    )]  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--variants", type=int, default=1)
    parser.add_argument("--limit", type=int, help="query only the first N products")
    args = parser.parse_args()
    print(asyncio.run(run(args.seed, args.variants, args.limit)))


if __name__ == "__main__":
    main()
