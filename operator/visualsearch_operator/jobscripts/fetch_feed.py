"""Fetch a CatalogSource's feed into the Job's feed volume (init container).

Usage: ``fetch_feed.py url URL TARGET`` or ``fetch_feed.py s3 ENDPOINT SECURE BUCKET KEY TARGET``
(S3 credentials in ``S3_ACCESS_KEY``/``S3_SECRET_KEY``).
"""

from __future__ import annotations

import os
import shutil
import sys
import urllib.request


def fetch_url(url: str, target: str) -> None:
    """Download ``url`` to ``target`` (http or https only)."""
    if not url.startswith(("http://", "https://")):
        raise SystemExit(f"refusing to fetch {url!r}: only http(s) feeds are allowed")
    with urllib.request.urlopen(url, timeout=120) as response, open(target, "wb") as out:  # noqa: S310
        shutil.copyfileobj(response, out)


def fetch_s3(endpoint: str, secure: str, bucket: str, key: str, target: str) -> None:
    """Download one object to ``target``."""
    from minio import Minio

    client = Minio(
        endpoint,
        access_key=os.environ["S3_ACCESS_KEY"],
        secret_key=os.environ["S3_SECRET_KEY"],
        secure=secure == "true",
    )
    client.fget_object(bucket, key, target)


def main(argv: list[str]) -> None:
    """Dispatch on the first argument."""
    kind, *rest = argv
    if kind == "url":
        fetch_url(*rest)
    elif kind == "s3":
        fetch_s3(*rest)
    else:
        raise SystemExit(f"unknown feed kind {kind!r}")
    print(f"fetched feed to {rest[-1]} ({os.path.getsize(rest[-1])} bytes)")


if __name__ == "__main__":
    main(sys.argv[1:])
