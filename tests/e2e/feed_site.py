"""The shop site behind the end-to-end test's URL CatalogSource: a JSON Lines feed in two
versions and the product photos it links to, served inside the cluster.

A pod of the services image runs ``python -m http.server`` on a copy of a ConfigMap (photos as
binary data), so the indexing Job's init container fetches the feed, and the seeder each photo,
by Service name over HTTP, as from a shop's own web server. Between the two syncs the test
copies the second version over the served ``catalogue.jsonl``: the same URL, new content.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.support.images import jpeg, photo

NAME = "feed-server"
SITE = "feed-site"
"""The ConfigMap holding every file of the site."""
PORT = 8080
BASE = f"http://{NAME}:{PORT}"
FEED_URL = f"{BASE}/catalogue.jsonl"

PHOTOS = {
    "feed-cat": "chelsea.png",
    "feed-coffee": "coffee.png",
    "feed-rocket": "rocket.jpg",
    "feed-astronaut": "astronaut.png",
}


def _row(product_id: str, name: str, price: float) -> dict[str, Any]:
    image = f"{BASE}/{product_id}.jpg"
    return {
        "product_id": product_id,
        "name": name,
        "price": price,
        "category": "spring",
        "brand": "Feedshop",
        "image": image,
    }


FIRST = [
    _row("feed-cat", "Cat", 10.0),
    _row("feed-coffee", "Coffee", 4.0),
    _row("feed-rocket", "Rocket", 99.0),
]
SECOND = [
    _row("feed-cat", "Cat", 10.0),  # unchanged
    _row("feed-rocket", "Rocket, relaunched", 89.0),  # changed
    _row("feed-astronaut", "Astronaut", 120.0),  # added; feed-coffee left the feed
]


def image(product_id: str) -> bytes:
    """The JPEG the site serves for the product (at most 256 px: the ConfigMap stays small)."""
    picture = photo(PHOTOS[product_id])
    picture.thumbnail((256, 256))
    return jpeg(picture)


def write_site(directory: Path) -> Path:
    """Every file of the site into ``directory`` (for ``kubectl create configmap --from-file``)."""
    directory.mkdir(parents=True)
    for product_id in PHOTOS:
        (directory / f"{product_id}.jpg").write_bytes(image(product_id))
    for number, rows in ((1, FIRST), (2, SECOND)):
        text = "".join(json.dumps(row) + "\n" for row in rows)
        (directory / f"feed-{number}.jsonl").write_text(text)
    return directory


def manifests(services_image: str) -> dict[str, Any]:
    """The server pod and its Service, serving the first version of the feed."""
    serve = (
        "cp /site/* /srv/ && cp /srv/feed-1.jsonl /srv/catalogue.jsonl && "
        f"exec python -m http.server {PORT} --directory /srv"
    )
    labels = {"app": NAME}
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": NAME, "labels": labels},
        "spec": {
            "containers": [
                {
                    "name": "http",
                    "image": services_image,
                    "imagePullPolicy": "Never",
                    "command": ["sh", "-c", serve],
                    "ports": [{"containerPort": PORT}],
                    "readinessProbe": {
                        "httpGet": {"path": "/catalogue.jsonl", "port": PORT},
                        "periodSeconds": 2,
                    },
                    "volumeMounts": [
                        {"name": "site", "mountPath": "/site", "readOnly": True},
                        {"name": "srv", "mountPath": "/srv"},
                    ],
                }
            ],
            "volumes": [
                {"name": "site", "configMap": {"name": SITE}},
                {"name": "srv", "emptyDir": {}},
            ],
        },
    }
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": NAME, "labels": labels},
        "spec": {"selector": labels, "ports": [{"port": PORT, "targetPort": PORT}]},
    }
    return {"apiVersion": "v1", "kind": "List", "items": [pod, service]}


def switch_to_second_version() -> list[str]:
    """``kubectl`` arguments (after ``-n NAMESPACE``) that make the site serve the second feed."""
    return ["exec", NAME, "--", "cp", "/srv/feed-2.jsonl", "/srv/catalogue.jsonl"]
