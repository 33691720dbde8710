"""Generate the shipped demo catalogue from the Fluent Emoji 3D renders.

Reads the unpacked npm package ``@lobehub/fluent-emoji-3d`` (``--emoji-dir``, the folder that
holds ``assets/``), and writes ``catalogue.json``, ``images/demo-NNNN.jpg`` (with a second view,
``images/demo-NNNN-2.jpg``, for every third product) and the emoji licence into ``--out`` (by
default the product's ``services/visualsearch/demo``). The tables in ``demo_spec.py`` say what
to draw; fixed seeds make every run produce the same bytes (given the same Pillow and libjpeg).

Why this way: no product-photo data set can be had offline, but these renders look like studio
product shots. Several products per object, told apart by colourway, background, framing and
angle, give a catalogue whose visual neighbours are real: same-category products look alike,
different categories do not, and no two images are the same.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import demo_render
import demo_wording
from demo_spec import CATEGORIES, PRODUCTS_PER_CATEGORY, Category, EmojiObject
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "services" / "visualsearch" / "demo"
SEED = "visualsearch-demo-v1"
JPEG_QUALITY = 88
LICENCE_NAME = "LICENSE-fluent-emoji.txt"
LICENCE_TEXT = """\
The product images in this folder (images/*.jpg) are derived from Microsoft Fluent Emoji
(3D style), as packaged in the npm package @lobehub/fluent-emoji-3d {version} by LobeHub
(https://github.com/lobehub/fluent-emoji), from the original artwork by Microsoft
(https://github.com/microsoft/fluentui-emoji). Both are published under the MIT licence.
The images were recoloured, scaled, rotated, mirrored and composited onto backgrounds by
tools/demo_catalogue/build.py, which also made the second views (images/*-2.jpg): close-ups
cropped from a larger render of the same shot, or the same object on another background.
The npm package declares "license": "MIT" and ships no licence file of its own, so the MIT
licence text follows, with both copyright notices.

MIT License

Copyright (c) Microsoft Corporation.
Copyright (c) 2023 LobeHub

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""
BACKGROUNDS = ("plain", "vertical", "radial", "diagonal")
# Every third product (the second of each three in a category) gets a second view, the styles in
# turn: a close-up of the same shot, or the same object shot again on another background.
VIEW_EVERY = 3
VIEW_STYLES = ("close-up", "background")


def rng_for(*parts: object) -> random.Random:
    """A random generator seeded from ``SEED`` and ``parts`` (stable across Python runs)."""
    key = "/".join([SEED, *map(str, parts)]).encode()
    return random.Random(int.from_bytes(hashlib.sha256(key).digest()[:8], "big"))


def emoji_path(emoji_dir: Path, code: str) -> Path:
    """The render of ``code``; the package names some with a ``-fe0f`` variation suffix."""
    for name in (f"{code}.webp", f"{code}-fe0f.webp"):
        path = emoji_dir / "assets" / name
        if path.is_file():
            return path
    raise SystemExit(f"error: no render for code point {code} under {emoji_dir / 'assets'}")


def hue_steps(obj: EmojiObject) -> list[float]:
    """One hue rotation per product of ``obj``, spread over its range, the smallest first."""
    low, high = obj.hue
    n = obj.count
    if high - low >= 300:
        return [low + 360 * i / n for i in range(n)]
    if n == 1 or high == low:
        return [float(low)] * n
    spread = [low + (high - low) * i / (n - 1) for i in range(n)]
    spread.sort(key=abs)
    return spread


def draw_look(rng: random.Random, hue: float, obj: EmojiObject, index: int) -> demo_render.Look:
    """Every visual choice for one product; ``index`` walks the background styles in turn."""
    jitter = rng.uniform(-6, 6) if obj.hue != (0, 0) else 0.0
    bg_hue = rng.random()
    return demo_render.Look(
        hue_degrees=hue + jitter,
        saturation=rng.uniform(0.7, 1.0),
        background=BACKGROUNDS[index % len(BACKGROUNDS)],
        colour_a=demo_render.pastel(bg_hue, rng.uniform(0.0, 0.12), rng.uniform(0.95, 1.0)),
        colour_b=demo_render.pastel(
            bg_hue + rng.uniform(-0.15, 0.15), rng.uniform(0.08, 0.25), rng.uniform(0.82, 0.95)
        ),
        scale=rng.uniform(0.62, 0.86),
        offset=(rng.uniform(-0.7, 0.7), rng.uniform(-0.7, 0.7)),
        rotation=rng.uniform(-9, 9),
        mirror=rng.random() < 0.5,
        shadow=rng.uniform(0.18, 0.4),
    )


def second_view(
    rng: random.Random, source: Image.Image, look: demo_render.Look, style: str
) -> Image.Image:
    """The product's second photo: a close-up of its shot (1.3-1.6 times closer, the window a
    little off the object's centre) or the object, posed the same, on another background (other
    light colours, another gradient, placed elsewhere)."""
    if style == "close-up":
        shift = (rng.uniform(-0.08, 0.08), rng.uniform(-0.08, 0.08))
        return demo_render.close_up(source, look, rng.uniform(1.3, 1.6), shift)
    bg_hue = rng.random()
    others = [b for b in BACKGROUNDS if b != look.background]
    moved = replace(
        look,
        background=rng.choice(others),
        colour_a=demo_render.pastel(bg_hue, rng.uniform(0.05, 0.2), rng.uniform(0.9, 1.0)),
        colour_b=demo_render.pastel(
            bg_hue + rng.uniform(-0.15, 0.15), rng.uniform(0.15, 0.35), rng.uniform(0.75, 0.9)
        ),
        offset=(rng.uniform(-0.8, 0.8), rng.uniform(-0.8, 0.8)),
    )
    return demo_render.render(source, moved)


def build_product(
    emoji_dir: Path,
    category: Category,
    obj: EmojiObject,
    hue: float,
    number: int,
    index: int,
    images_dir: Path,
    taken: set[str],
    view_style: str | None,
) -> dict[str, object]:
    """Render one product's image (and its second view, in ``view_style`` if given) into
    ``images_dir`` and return its catalogue record."""
    product_id = f"demo-{number:04d}"
    rng = rng_for(product_id)
    source = demo_render.load_emoji(emoji_path(emoji_dir, obj.code), obj.crop)
    if obj.accent is not None:
        accent = demo_render.load_emoji(emoji_path(emoji_dir, obj.accent), None)
        source = demo_render.with_accent(source, accent)
    look = draw_look(rng, hue, obj, index)
    image = demo_render.render(source, look)
    images = [f"images/{product_id}.jpg"]
    image.save(out_path(images_dir, images[0]), "JPEG", quality=JPEG_QUALITY, optimize=True)
    if view_style is not None:  # its own generator: the main image's draws stay as they were
        view = second_view(rng_for(product_id, "view-2"), source, look, view_style)
        images.append(f"images/{product_id}-2.jpg")
        view.save(out_path(images_dir, images[1]), "JPEG", quality=JPEG_QUALITY, optimize=True)
    shown = demo_render.dominant_colour(demo_render.recolour(source, look.hue_degrees, 1.0))
    colour = demo_wording.colour_name(*shown)
    name = demo_wording.product_name(rng, category, obj, colour, taken)
    brand = rng.choice(category.brands)
    return {
        "product_id": product_id,
        "name": name,
        "brand": brand,
        "price": demo_wording.price(rng, *category.price),
        "category": category.name,
        "description": demo_wording.description(rng, category, name, brand),
        "rating": demo_wording.rating(rng),
        "stock": demo_wording.stock(rng),
        "warranty": rng.choice(category.warranties),
        "image": images[0],
        "images": images,
    }


def out_path(images_dir: Path, ref: str) -> Path:
    """Where the catalogue's reference ``images/NAME`` is written."""
    return images_dir / Path(ref).name


def build(emoji_dir: Path, out: Path) -> list[dict[str, object]]:
    """Write the whole catalogue into ``out`` (replacing its images) and return the products."""
    images_dir = out / "images"
    if images_dir.exists():
        shutil.rmtree(images_dir)
    images_dir.mkdir(parents=True)
    products: list[dict[str, object]] = []
    taken: set[str] = set()
    views = 0
    for category in CATEGORIES:
        total = sum(obj.count for obj in category.objects)
        if total != PRODUCTS_PER_CATEGORY:
            raise SystemExit(f"error: {category.name} has {total} products, not 9")
        index = 0
        for obj in category.objects:
            for hue in hue_steps(obj):
                number = len(products) + 1
                style = None
                if index % VIEW_EVERY == 1:
                    style = VIEW_STYLES[views % len(VIEW_STYLES)]
                    views += 1
                products.append(
                    build_product(
                        emoji_dir, category, obj, hue, number, index, images_dir, taken, style
                    )
                )
                index += 1
    document = {"products": products}
    (out / "catalogue.json").write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    (out / LICENCE_NAME).write_text(LICENCE_TEXT.format(version=package_version(emoji_dir)))
    return products


def package_version(emoji_dir: Path) -> str:
    """The npm package's version, for the licence's attribution line."""
    manifest = emoji_dir / "package.json"
    if not manifest.is_file():
        return "(version unknown)"
    return str(json.loads(manifest.read_text()).get("version", "(version unknown)"))


def parse_args(argv: list[str]) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        description=(
            "Generate the demo catalogue (catalogue.json, images/, licence) from the "
            "@lobehub/fluent-emoji-3d npm package. Get it with: "
            "npm pack @lobehub/fluent-emoji-3d && tar xzf lobehub-fluent-emoji-3d-*.tgz"
        )
    )
    parser.add_argument(
        "--emoji-dir",
        type=Path,
        required=True,
        help="the unpacked npm package: the folder holding package.json and assets/*.webp",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"output folder (default: {DEFAULT_OUT.relative_to(ROOT)}); images/ is replaced",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Build the catalogue and print a one-line summary."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not (args.emoji_dir / "assets").is_dir():
        print(f"error: {args.emoji_dir} has no assets/ folder", file=sys.stderr)
        return 2
    products = build(args.emoji_dir, args.out)
    files = list((args.out / "images").glob("*.jpg"))
    size = sum(p.stat().st_size for p in files)
    categories = {p["category"] for p in products}
    print(
        f"wrote {len(products)} products in {len(categories)} categories to {args.out}, "
        f"{len(files) - len(products)} with a second view "
        f"({len(files)} images: {size / 1e6:.2f} MB)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
