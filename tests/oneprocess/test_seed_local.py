"""``visualsearch seed --file`` into the one-machine stores, as a shop loads its own catalogue.

No API is running and nothing is configured: the command opens the embedded stores under
``--data-dir`` itself (PostgreSQL, the vector index, the object store), loads the file and
exits. ``visualsearch serve`` on that directory afterwards finds every loaded product.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from tests.support.images import jpeg, photo
from tests.support.serve import ServeProcess

PHOTOS = {"cat": "chelsea.png", "coffee": "coffee.png", "rocket": "rocket.jpg"}


def write_catalogue(directory: Path) -> Path:
    """Three products with their photos beside the file, and a row whose price is no number."""
    directory.mkdir()
    rows = []
    for pid, name in PHOTOS.items():
        (directory / f"{pid}.jpg").write_bytes(jpeg(photo(name)))
        rows.append(
            {
                "product_id": pid,
                "name": f"The {pid}",
                "price": 9.5,
                "category": "things",
                "brand": "Own",
                "image": f"{pid}.jpg",
            }
        )
    (directory / "broken.jpg").write_bytes(jpeg(seed=3))
    rows.append({"product_id": "broken", "name": "Broken", "price": "free", "image": "broken.jpg"})
    path = directory / "shop.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


def test_seed_file_loads_into_the_embedded_stores_and_serve_finds_it(
    data_dir: Path, tmp_path: Path
) -> None:
    catalogue = write_catalogue(tmp_path / "shop")
    server = ServeProcess(data_dir, env={"VISUALSEARCH_RATE_LIMIT_PER_MINUTE": "0"}, seed=False)
    command = ["seed", "--file", str(catalogue), "--data-dir", str(data_dir), "--no-progress"]
    seeded = subprocess.run(
        [sys.executable, "-m", "visualsearch", *command],
        env=server.env,  # no VISUALSEARCH_* store settings: the embedded ones
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert seeded.returncode == 2, seeded.stdout + seeded.stderr  # 2: a row was rejected
    assert "3 added" in seeded.stdout and "1 rejected" in seeded.stdout
    assert "row 4 (broken): price" in seeded.stdout

    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            info = client.get("/info").json()
            assert (info["products"], info["vectors"]) == (3, 3), info
            for pid, name in PHOTOS.items():
                image = photo(name)
                query = jpeg(image.resize((image.width // 2, image.height // 2)))
                found = client.post("/search", files={"file": ("q.jpg", query, "image/jpeg")})
                assert found.status_code == 200, found.text
                top = found.json()["results"][0]
                assert top["product_id"] == pid and top["score"] > 0.95, top
            product = client.get("/products/cat").json()
            assert (product["name"], product["brand"], product["price"]) == ("The cat", "Own", 9.5)
            assert client.get("/products/broken").status_code == 404
    finally:
        server.stop()
