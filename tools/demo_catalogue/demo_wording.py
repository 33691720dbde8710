"""The words and numbers of a demo product: name, brand, description, price, rating, stock.

Everything is drawn from a caller-supplied seeded ``random.Random``, so a product's text is as
deterministic as its image. Colour words come from the colour the rendered image really shows.
"""

from __future__ import annotations

import math
import random

from demo_spec import Category, EmojiObject

# (upper hue bound as a fraction of the circle, name), checked in order.
_HUES = (
    (0.025, "Red"),
    (0.06, "Coral"),
    (0.10, "Orange"),
    (0.135, "Amber"),
    (0.18, "Yellow"),
    (0.26, "Lime"),
    (0.40, "Green"),
    (0.47, "Teal"),
    (0.53, "Aqua"),
    (0.60, "Sky Blue"),
    (0.68, "Blue"),
    (0.74, "Indigo"),
    (0.80, "Violet"),
    (0.86, "Purple"),
    (0.91, "Magenta"),
    (0.96, "Pink"),
    (1.01, "Red"),
)


_OPENINGS = (
    "{name} by {brand}.",
    "The {name}, designed by {brand}.",
    "From {brand}: the {name}.",
    "Meet the {name} from {brand}.",
)


def colour_name(hue: float, saturation: float, value: float) -> str:
    """Name a colour (hue, saturation and value as 0..1 fractions) the way a shop would."""
    if saturation < 0.18:
        if value > 0.8:
            return "White"
        return "Silver" if value > 0.5 else "Graphite"
    name = next(label for bound, label in _HUES if hue < bound)
    if value < 0.45:
        return f"Dark {name}"
    return name


def product_name(
    rng: random.Random, category: Category, obj: EmojiObject, colour: str, taken: set[str]
) -> str:
    """A name unique within the catalogue, e.g. ``"Velvet Coral Lipstick"``."""
    for _ in range(50):
        adjective = rng.choice(category.adjectives)
        noun = rng.choice(obj.nouns)
        name = f"{adjective} {colour} {noun}" if obj.colour_in_name else f"{adjective} {noun}"
        if name not in taken:
            taken.add(name)
            return name
    suffix = 2
    while f"{name} {suffix}" in taken:
        suffix += 1
    taken.add(f"{name} {suffix}")
    return f"{name} {suffix}"


def description(rng: random.Random, category: Category, name: str, brand: str) -> str:
    """Two or three sentences: who makes it, then category copy in a varied order."""
    blurbs = list(category.blurbs)
    rng.shuffle(blurbs)
    opening = rng.choice(_OPENINGS).format(name=name, brand=brand)
    return " ".join([opening, *blurbs[: rng.choice((2, 3))]])


def price(rng: random.Random, low: float, high: float) -> float:
    """A shop-like price between ``low`` and ``high`` (log-uniform), ending in .99 or .49."""
    raw = math.exp(rng.uniform(math.log(low), math.log(high)))
    if raw < 20:
        return round(math.floor(raw) + rng.choice((0.49, 0.99)), 2)
    if raw < 200:
        return round(math.floor(raw) + 0.99, 2)
    return round(math.ceil(raw / 10) * 10 - 0.01, 2)


def rating(rng: random.Random) -> float:
    """A customer rating between 2.8 and 5.0, skewed high as shop ratings are."""
    return round(min(5.0, 5.0 - rng.betavariate(1.4, 4.0) * 2.2), 1)


def stock(rng: random.Random) -> int:
    """Units in stock: mostly plenty, sometimes few, now and then none."""
    roll = rng.random()
    if roll < 0.05:
        return 0
    if roll < 0.2:
        return rng.randint(1, 9)
    return rng.randint(10, 150)
