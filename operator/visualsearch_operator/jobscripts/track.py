"""Record which products a CatalogSource delivered, and prune those that left it (in the Job).

The set of product ids of the source's last successful sync is kept in the index's bucket at
``_sources/<namespace>/<source>.json``: that is how a source knows which products are its own,
so pruning never touches products that came from another source or from ``POST /index``.
Usage: ``track.py FEED PRUNE STATE_KEY`` (FEED a file or ``--demo``; PRUNE ``1`` or ``0``).
Prints ``pruned=N`` last. The object store and the API key are the service's own settings
(``visualsearch.config.Settings``, from the Job's ``VISUALSEARCH_*`` variables).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from visualsearch.config import Settings


def feed_ids(feed: str) -> set[str]:
    """Product ids of the rows of ``feed`` that load (``--demo``: the bundled catalogue)."""
    from visualsearch.services.catalog_files import read_catalog

    if feed == "--demo":
        from visualsearch.seeding import DEMO_CATALOG

        path = Path(DEMO_CATALOG)
    else:
        path = Path(feed)
    return {e.product_id for e in read_catalog(path) if e.product_id and not e.error}


def left_the_source(previous: set[str], current: set[str]) -> list[str]:
    """Ids delivered last time and not this time, sorted."""
    return sorted(previous - current)


def object_store(settings: Settings) -> tuple[Any, str]:
    """A client of the index's object store and its bucket, as the service reaches them."""
    from minio import Minio

    if not settings.s3_endpoint:
        raise SystemExit("VISUALSEARCH_S3_ENDPOINT is not set: the index has no object store")
    client = Minio(
        settings.s3_endpoint,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key.get_secret_value(),
        secure=settings.s3_secure,
        region=settings.s3_region,
    )
    return client, settings.s3_bucket


def _previous(client: Any, bucket: str, key: str) -> set[str]:
    from minio.error import InvalidResponseError, S3Error

    from visualsearch.storage.objects.s3 import error_code

    try:
        response = client.get_object(bucket, key)
    except (S3Error, InvalidResponseError) as error:  # text/xml errors are not parsed by minio
        if error_code(error) in ("NoSuchKey", "NoSuchBucket"):
            return set()  # the source's first sync
        raise
    try:
        return set(json.loads(response.read()))
    finally:
        response.close()
        response.release_conn()


def delete_product(api: str, key: str, product_id: str) -> None:
    """``DELETE /index/{id}``: out of the vectors, the catalogue and the object store."""
    request = urllib.request.Request(  # noqa: S310  (our API Service, http by construction)
        f"{api}/index/{urllib.parse.quote(product_id, safe='')}",
        method="DELETE",
        headers={"X-API-Key": key},
    )
    try:
        urllib.request.urlopen(request, timeout=30).close()  # noqa: S310
    except urllib.error.HTTPError as error:
        if error.code != 404:  # already gone is fine
            raise


def main(feed: str, prune: str, state_key: str) -> None:
    """Prune (when asked) against the recorded set, then record the new one."""
    from visualsearch.config import Settings

    settings = Settings()  # type: ignore[call-arg]  # from the Job's environment
    current = feed_ids(feed)
    client, bucket = object_store(settings)
    gone: list[str] = []
    if prune == "1":
        gone = left_the_source(_previous(client, bucket, state_key), current)
        if settings.api_key is None:
            raise SystemExit("VISUALSEARCH_API_KEY is not set: products cannot be pruned")
        api, key = os.environ["VS_API_URL"], settings.api_key.get_secret_value()
        for product_id in gone:
            delete_product(api, key, product_id)
    body = json.dumps(sorted(current)).encode()
    client.put_object(bucket, state_key, BytesIO(body), len(body), content_type="application/json")
    print(f"recorded {len(current)} product ids at {bucket}/{state_key}")
    print(f"pruned={len(gone)}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
