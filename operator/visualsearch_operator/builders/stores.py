"""The stores' names and the generated credentials Secret they (and the platform) open with.

The stores themselves are the charts ``charts/qdrant``, ``postgresql``, ``minio`` and ``redis``
(:mod:`.values`); the Secret is built here, apart, since it may outlive its index.
"""

from __future__ import annotations

from visualsearch_operator import constants as c
from visualsearch_operator.builders.common import Manifest, index_labels

CREDENTIALS_SUFFIX = "-credentials"


def credentials_secret_name(index: str) -> str:
    """The Secret holding generated store passwords and the API key of ``index``."""
    return f"{index}{CREDENTIALS_SUFFIX}"


def store_name(index: str, store: str) -> str:
    """Name of a store's StatefulSet and Service (``qdrant``, ``postgresql``, ``minio``, ...)."""
    return f"{index}-{store}"


def build_credentials(index: str, namespace: str, generated: dict[str, str]) -> Manifest:
    """The generated-credentials Secret; no owner reference, so ``retainData`` can keep it."""
    host = f"{index}-postgresql.{namespace}.svc"
    redis_host = f"{index}-redis.{namespace}.svc"
    data = dict(generated)
    data["database-url"] = (
        f"postgresql://visualsearch:{generated['postgres-password']}@{host}:{c.POSTGRES_PORT}/visualsearch"
    )
    data["redis-url"] = f"redis://:{generated['redis-password']}@{redis_host}:{c.REDIS_PORT}/0"
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": credentials_secret_name(index),
            "namespace": namespace,
            "labels": index_labels(index, "credentials"),
        },
        "stringData": data,
    }


CREDENTIAL_KEYS = (
    "postgres-password",
    "redis-password",
    "minio-access-key",
    "minio-secret-key",
    "qdrant-api-key",
    "api-key",
)
"""Keys the operator generates once per index (random) and never rotates on its own."""
