"""What the demo catalogue contains: categories, the emoji objects drawn for each, and the words.

Pure data, no logic: the generator (``build.py``) walks these tables in order, so the catalogue
it writes is fully determined by this file, the emoji package and the fixed seeds.

Each category lists one to three emoji objects (named by Unicode code point, as in the
``@lobehub/fluent-emoji-3d`` npm package) and how many products to draw from each. Several
products per object, told apart by colourway, background, framing and angle, give every product
real visual neighbours inside its category.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PRODUCTS_PER_CATEGORY = 9


@dataclass(frozen=True)
class EmojiObject:
    """One emoji render used as a product shot, and how it may be varied.

    ``hue`` is the range of hue rotations in degrees that still look like plausible
    colourways of the object ((0, 360): any colour; (0, 0): its colour is part of what it
    is). ``crop`` is an optional (left, top, right, bottom) box, in the 256 px source's
    pixels, that keeps only part of the render (a screen without its stand). ``accent``
    names a second, smaller emoji composed at the object's lower right (a gift bow).
    """

    code: str
    count: int
    nouns: tuple[str, ...]
    hue: tuple[int, int] = (0, 360)
    colour_in_name: bool = True
    crop: tuple[int, int, int, int] | None = None
    accent: str | None = None


@dataclass(frozen=True)
class Category:
    """A catalogue category: its objects, brands, price range, warranties and copy."""

    name: str
    objects: tuple[EmojiObject, ...]
    brands: tuple[str, ...]
    price: tuple[float, float]
    warranties: tuple[str, ...]
    adjectives: tuple[str, ...]
    blurbs: tuple[str, ...] = field(default=())


_SHORT = ("1 month warranty", "3 months warranty", "6 months warranty")
_YEAR = ("6 months warranty", "1 year warranty", "2 year warranty")
_LONG = ("1 year warranty", "2 year warranty", "5 year warranty", "Lifetime warranty")
_NONE = ("No warranty",)

FULL = (0, 360)

CATEGORIES: tuple[Category, ...] = (
    Category(
        "beauty",
        (EmojiObject("1f484", 9, ("Lipstick", "Matte Lipstick", "Satin Lip Colour")),),
        ("Lumiere", "Velvetta", "Rosa Nova", "Glowbird"),
        (6.0, 32.0),
        ("No warranty", "1 month warranty"),
        ("Long-Wear", "Velvet", "Classic", "Hydrating", "Soft-Focus", "Studio"),
        (
            "Rich pigment in a single swipe that stays put from morning to night.",
            "A creamy formula enriched with vitamin E that never feels dry.",
            "Cruelty-free and made without parabens.",
        ),
    ),
    Category(
        "fragrances",
        (
            EmojiObject("1f9f4", 6, ("Eau de Parfum", "Eau de Toilette", "Body Mist")),
            EmojiObject("1f9f4", 3, ("Blossom Eau de Parfum", "Floral Body Mist"), accent="1f338"),
        ),
        ("Maison Ilan", "Aurelle", "Noor & Sage", "Ventoux"),
        (24.0, 140.0),
        _NONE,
        ("Midnight", "Amber", "Citrus", "Velvet Oud", "Garden", "Sea Salt", "Neroli"),
        (
            "Top notes of bergamot open onto a warm heart of jasmine and cedar.",
            "A light, long-lasting scent for every day, in a refillable bottle.",
            "Blended in small batches with natural essential oils.",
        ),
    ),
    Category(
        "furniture",
        (
            EmojiObject("1f6cb", 5, ("Sofa and Floor Lamp", "Two-Seat Sofa Set", "Lounge Set")),
            EmojiObject("1f6cf", 4, ("Double Bed", "Platform Bed", "Storage Bed")),
        ),
        ("Nordhem", "Casa Linde", "Oakridge", "Fjell"),
        (189.0, 1290.0),
        _LONG,
        ("Scandi", "Mid-Century", "Classic", "Compact", "Loft", "Heritage"),
        (
            "Solid hardwood frame and hard-wearing upholstery.",
            "Delivered to your room of choice; assembles in under thirty minutes.",
            "Designed for small apartments without giving up comfort.",
        ),
    ),
    Category(
        "groceries",
        (
            EmojiObject("1f34e", 5, ("Apples", "Crisp Apples", "Orchard Apples"), hue=(0, 100)),
            EmojiObject("1f345", 4, ("Tomatoes", "Vine Tomatoes", "Beef Tomatoes"), hue=(0, 30)),
        ),
        ("Green Acre", "Daily Harvest", "Fieldfare", "Old Mill"),
        (0.99, 8.99),
        _NONE,
        ("Organic", "Farm Fresh", "Family Pack", "Value", "Premium", "Local"),
        (
            "Sourced from family farms and packed the day it is picked.",
            "Grown without synthetic pesticides.",
            "A kitchen staple at an everyday price.",
        ),
    ),
    Category(
        "home-decoration",
        (
            EmojiObject(
                "1fab4",
                9,
                ("Potted Plant", "Plant in Ceramic Planter", "Indoor Plant"),
                hue=(-30, 30),
                colour_in_name=False,
            ),
        ),
        ("Hearth & Co", "Lumen Loft", "Wildroot", "Casa Linde"),
        (9.0, 59.0),
        _NONE,
        ("Boho", "Minimal", "Rustic", "Cosy", "Terracotta", "Nordic"),
        (
            "Adds a fresh, lived-in touch to any shelf or sideboard.",
            "An easy-care plant that thrives in bright, indirect light.",
            "The hand-thrown pot has a drainage hole and a matching saucer.",
        ),
    ),
    Category(
        "kitchen-accessories",
        (
            EmojiObject(
                "1f944",
                5,
                ("Serving Spoon", "Dessert Spoon", "Table Spoon"),
                colour_in_name=False,
            ),
            EmojiObject("1f37d", 4, ("Cutlery Set with Plate", "Place Setting", "Dinner Set")),
        ),
        ("Cucina Forte", "Ironleaf", "Stovetop & Co", "Kettlewick"),
        (6.0, 69.0),
        _YEAR,
        ("Everyday", "Brushed", "Chef's", "Classic", "Bistro", "Family"),
        (
            "18/10 stainless steel that stays bright and is dishwasher safe.",
            "Balanced weight and smooth, rounded edges.",
            "Made to last a lifetime of family dinners.",
        ),
    ),
    Category(
        "laptops",
        (EmojiObject("1f4bb", 9, ("Laptop", "Ultrabook", "Notebook PC")),),
        ("Aster", "Corvid", "Nimbus", "Quill"),
        (499.0, 2399.0),
        _YEAR,
        ("Air 13", "Pro 14", "Slim 15", "Studio 16", "Book 14", "Flex 13"),
        (
            "A bright IPS display, all-day battery and a backlit keyboard.",
            "16 GB memory and a fast 512 GB SSD for work and play.",
            "Thin aluminium body that weighs under 1.3 kg.",
        ),
    ),
    Category(
        "mens-shirts",
        (EmojiObject("1f455", 9, ("T-Shirt", "Crew Neck Tee", "Cotton Tee")),),
        ("Harbour Row", "Tailor & Thread", "Northline", "Kingsmead"),
        (12.0, 49.0),
        _NONE,
        ("Slim Fit", "Regular Fit", "Heavyweight", "Organic", "Everyday", "Vintage Wash"),
        (
            "Soft breathable cotton that keeps its shape wash after wash.",
            "Cut for a clean modern fit through the shoulders.",
            "Ribbed collar and a contrast stripe across the chest.",
        ),
    ),
    Category(
        "mens-shoes",
        (
            EmojiObject("1f45f", 6, ("Running Shoes", "Trainers", "Road Runners")),
            EmojiObject("1f97e", 3, ("Hiking Boots", "Trail Boots", "Work Boots"), hue=(-40, 40)),
        ),
        ("Stridewell", "Kestrel", "Summit Co", "Pacer"),
        (39.0, 189.0),
        _SHORT,
        ("Lightweight", "All-Terrain", "Cushioned", "Waterproof", "Classic", "Pro"),
        (
            "A cushioned midsole and grippy rubber outsole for miles of comfort.",
            "Breathable upper with a padded collar.",
            "Built for everyday wear, from the office to the trail.",
        ),
    ),
    Category(
        "mens-watches",
        (EmojiObject("23f1", 9, ("Pocket Watch", "Chronograph Pocket Watch", "Stopwatch")),),
        ("Tempora", "Halden", "Meridian", "Brook & Co"),
        (39.0, 449.0),
        _LONG,
        ("Chrono", "Railway", "Pilot", "Heritage", "Field", "Automatic"),
        (
            "A precise quartz movement in a brushed steel case.",
            "Scratch-resistant mineral crystal and a screw-down crown.",
            "Comes on a detachable chain, in a presentation box.",
        ),
    ),
    Category(
        "mobile-accessories",
        (EmojiObject("1f3a7", 9, ("Headphones", "Wireless Headphones", "Studio Headphones")),),
        ("Voltix", "Echoline", "Auralis", "Soundcraft"),
        (19.0, 249.0),
        _YEAR,
        ("Wireless", "Over-Ear", "Travel", "Noise-Cancelling", "Studio", "Pro"),
        (
            "Pairs in seconds over Bluetooth 5.3 with your phone or tablet.",
            "Forty hours of playback and USB-C fast charging.",
            "Soft memory-foam cushions; folds flat to fit any bag.",
        ),
    ),
    Category(
        "motorcycle",
        (
            EmojiObject("1f3cd", 6, ("Sport Motorcycle", "Roadster", "Street Bike")),
            EmojiObject("1f6f5", 3, ("Motor Scooter", "City Scooter", "Moped")),
        ),
        ("Ravena", "Torque Moto", "Strada", "Kaizen"),
        (1890.0, 14900.0),
        _LONG,
        ("125", "300 R", "650 S", "Urban 50", "Classic 250", "Tourer 900"),
        (
            "A fuel-injected engine that is smooth around town and eager on the open road.",
            "ABS brakes, LED lighting and a digital dashboard.",
            "Low seat height and light handling for new riders.",
        ),
    ),
    Category(
        "skin-care",
        (EmojiObject("1fad9", 9, ("Face Cream", "Night Cream", "Body Butter")),),
        ("Dermalune", "Purelle", "Aloe & Oak", "Kinder Skin"),
        (5.0, 48.0),
        _NONE,
        ("Gentle", "Hydrating", "Overnight", "Calming", "Brightening", "Daily"),
        (
            "Dermatologist tested and suitable for sensitive skin.",
            "Hyaluronic acid and shea butter lock in moisture.",
            "Fragrance-free, vegan and never tested on animals.",
        ),
    ),
    Category(
        "smartphones",
        (EmojiObject("1f4f1", 9, ("Smartphone", "5G Phone", "Android Phone")),),
        ("Orbit", "Nimbus", "Lumo", "Aster"),
        (149.0, 1199.0),
        _YEAR,
        ("X1", "Note 12", "Lite 5G", "Pro Max", "Mini", "Ultra"),
        (
            "A 6.5-inch OLED display and a triple camera that shines at night.",
            "All-day battery with 45 W fast charging.",
            "128 GB storage, expandable by microSD.",
        ),
    ),
    Category(
        "sports-accessories",
        (
            EmojiObject("26bd", 3, ("Football", "Match Ball", "Training Ball")),
            EmojiObject("1f3c0", 3, ("Basketball", "Street Basketball"), hue=(-20, 20)),
            EmojiObject("1f3d0", 3, ("Volleyball", "Beach Volleyball")),
        ),
        ("Apex Play", "Fieldstar", "Rally", "Court King"),
        (9.0, 59.0),
        _SHORT,
        ("Size 5", "Pro", "Training", "Indoor", "Outdoor", "Official"),
        (
            "Machine-stitched panels and a butyl bladder that holds its air.",
            "A soft-touch cover with reliable grip in all weather.",
            "Ships deflated with a needle adapter.",
        ),
    ),
    Category(
        "sunglasses",
        (
            EmojiObject("1f576", 5, ("Sunglasses", "Aviator Sunglasses", "Wayfarer Shades")),
            EmojiObject("1f453", 4, ("Tinted Glasses", "Round Sunglasses", "Clubmaster Shades")),
        ),
        ("Solace", "Riviera", "Sunray Co", "Optica"),
        (15.0, 189.0),
        (*_SHORT, "1 year warranty"),
        ("Polarised", "Classic", "Retro", "Sport", "Oversized", "Featherweight"),
        (
            "UV400 lenses block 100 % of UVA and UVB rays.",
            "Lightweight frame with spring hinges for all-day comfort.",
            "Comes with a hard case and a microfibre cloth.",
        ),
    ),
    Category(
        "tablets",
        (
            EmojiObject(
                "1f5a5",
                9,
                ("Tablet", "Tablet 11-inch", "Drawing Tablet"),
                crop=(0, 0, 256, 155),
            ),
        ),
        ("Quill", "Orbit", "Lumo", "Slate"),
        (129.0, 999.0),
        _YEAR,
        ("Tab 10", "Pad Air", "Pad Pro 11", "Tab Lite", "Slate 12", "Pad Mini"),
        (
            "An 11-inch display with pen support and quad speakers.",
            "Runs all day on a single charge; charges over USB-C.",
            "Slim, light and ready for streaming, sketching and notes.",
        ),
    ),
    Category(
        "tops",
        (EmojiObject("1f3bd", 9, ("Tank Top", "Racer Vest", "Sash Tank")),),
        ("Mira Rose", "Linnea", "Coastline", "Juniper"),
        (12.0, 49.0),
        _NONE,
        ("Relaxed", "Cropped", "Summer", "Essential", "Athletic", "Ribbed"),
        (
            "Lightweight fabric with a soft drape that flatters every shape.",
            "Easy to style with jeans, shorts or a skirt.",
            "Made from organic cotton with a touch of stretch.",
        ),
    ),
    Category(
        "vehicle",
        (
            EmojiObject("1f697", 3, ("Hatchback", "City Car", "Compact Car")),
            EmojiObject("1f699", 3, ("SUV", "Crossover", "Family SUV")),
            EmojiObject("1f6fb", 3, ("Pickup Truck", "Utility Pickup")),
        ),
        ("Veloce", "Nordwind", "Atlas Motors", "Kaizen"),
        (11900.0, 48900.0),
        _LONG,
        ("Hybrid", "Sport", "Comfort", "Touring", "Eco", "Limited"),
        (
            "Efficient hybrid drivetrain with adaptive cruise control.",
            "Roomy cabin, heated seats and a large touchscreen.",
            "Five-star safety rating and lane-keeping assist.",
        ),
    ),
    Category(
        "womens-bags",
        (EmojiObject("1f45c", 9, ("Handbag", "Tote Bag", "Top-Handle Bag")),),
        ("Elodie", "Marlowe", "Bellamy", "Mira Rose"),
        (19.0, 249.0),
        (*_SHORT, "1 year warranty"),
        ("Leather", "Quilted", "Everyday", "Mini", "Structured", "Vintage"),
        (
            "Soft vegan leather with a fully lined interior and inner pockets.",
            "Gold-tone hardware and a detachable strap.",
            "Roomy enough for a tablet, a bottle and the rest of the day.",
        ),
    ),
    Category(
        "womens-dresses",
        (EmojiObject("1f457", 9, ("Dress", "Midi Dress", "Skater Dress")),),
        ("Linnea", "Juniper", "Solene", "Coastline"),
        (24.0, 129.0),
        _NONE,
        ("Summer", "Evening", "Floral", "Flowing", "Cocktail", "Casual"),
        (
            "A fitted bodice and a full skirt that moves with you.",
            "Light, breathable fabric for warm days and evenings out.",
            "Hidden side zip and adjustable straps.",
        ),
    ),
    Category(
        "womens-jewellery",
        (EmojiObject("1f48d", 9, ("Ring", "Solitaire Ring", "Cocktail Ring")),),
        ("Aurum", "Elodie", "Celeste", "Perle"),
        (29.0, 899.0),
        _LONG,
        ("Sterling", "Vintage", "Brilliant", "Halo", "Classic", "Petite"),
        (
            "Hallmarked sterling silver, plated to resist tarnish.",
            "A hand-set stone that catches every light.",
            "Arrives in a gift box with a polishing cloth.",
        ),
    ),
    Category(
        "womens-shoes",
        (EmojiObject("1f460", 9, ("High Heels", "Stiletto Pumps", "Court Shoes")),),
        ("Solene", "Bellamy", "Stilo", "Marlowe"),
        (29.0, 169.0),
        _SHORT,
        ("Patent", "Suede", "Pointed", "Slingback", "Classic", "Party"),
        (
            "A cushioned insole that keeps you comfortable from day to night.",
            "Slip-resistant sole and a flattering pointed toe.",
            "Genuine leather lining.",
        ),
    ),
    Category(
        "womens-watches",
        (
            EmojiObject("231a", 5, ("Wrist Watch", "Dress Watch", "Everyday Watch")),
            EmojiObject("231a", 4, ("Watch Gift Set", "Gift-Boxed Watch"), accent="1f380"),
        ),
        ("Tempora", "Celeste", "Aurum", "Meridian"),
        (49.0, 499.0),
        _LONG,
        ("Petite", "Slim", "Mesh", "Classic", "Crystal", "Minimalist"),
        (
            "A slim case with a mother-of-pearl dial.",
            "Japanese quartz movement and a three-year battery.",
            "Splash resistant to 30 m.",
        ),
    ),
)
