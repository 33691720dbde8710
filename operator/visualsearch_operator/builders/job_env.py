"""The platform settings of the operator's own Jobs (source syncs, re-indexes).

The charts give the serving pods their environment; the Jobs the operator launches beside them
read the same ConfigMap and the same credentials, named here.
"""

from __future__ import annotations

from typing import Any

from visualsearch_operator import constants as c
from visualsearch_operator.builders.stores import credentials_secret_name
from visualsearch_operator.builders.values import (
    component_name,
    config_map_name,
    embedder_component,
)
from visualsearch_operator.spec import IndexSpec


def _secret_env(name: str, secret: str, key: str, optional: bool = False) -> dict[str, Any]:
    ref: dict[str, Any] = {"name": secret, "key": key}
    if optional:
        ref["optional"] = True
    return {"name": name, "valueFrom": {"secretKeyRef": ref}}


def build_secret_env(index: str, spec: IndexSpec) -> list[dict[str, Any]]:
    """``VISUALSEARCH_*`` credentials, each from the generated Secret or the user's own."""
    generated = credentials_secret_name(index)
    env: list[dict[str, Any]] = []
    db = spec.database.external
    ref = db["urlSecretRef"] if db else {"name": generated, "key": "database-url"}
    env.append(_secret_env("VISUALSEARCH_DATABASE_URL", ref["name"], ref["key"]))
    rd = spec.redis.external
    ref = rd["urlSecretRef"] if rd else {"name": generated, "key": "redis-url"}
    env.append(_secret_env("VISUALSEARCH_REDIS_URL", ref["name"], ref["key"]))
    obj = spec.object_store.external
    if obj:
        creds = obj["credentialsSecretRef"]
        env.append(
            _secret_env(
                "VISUALSEARCH_S3_ACCESS_KEY", creds["name"], creds.get("accessKeyKey", "access-key")
            )
        )
        env.append(
            _secret_env(
                "VISUALSEARCH_S3_SECRET_KEY", creds["name"], creds.get("secretKeyKey", "secret-key")
            )
        )
    else:
        env.append(_secret_env("VISUALSEARCH_S3_ACCESS_KEY", generated, "minio-access-key"))
        env.append(_secret_env("VISUALSEARCH_S3_SECRET_KEY", generated, "minio-secret-key"))
    vs = spec.vector_store.external
    if spec.vector_store.type != "qdrant":
        pass  # pgvector lives in the index's PostgreSQL, reached with the database URL
    elif vs is None:
        env.append(_secret_env("VISUALSEARCH_QDRANT_API_KEY", generated, "qdrant-api-key"))
    elif vs.get("apiKeySecretRef"):
        ref = vs["apiKeySecretRef"]
        env.append(_secret_env("VISUALSEARCH_QDRANT_API_KEY", ref["name"], ref["key"]))
    key = spec.api_key_secret
    env.append(
        _secret_env(
            "VISUALSEARCH_API_KEY", key.name if key else generated, key.key if key else "api-key"
        )
    )
    return env


def build_platform_env(index: str, spec: IndexSpec, use_embedder: bool = True) -> dict[str, Any]:
    """``env``/``envFrom`` of a platform container; ``use_embedder``: embed via the service."""
    env = build_secret_env(index, spec)
    if use_embedder:
        env.append(
            {
                "name": "VISUALSEARCH_EMBEDDER_URL",
                "value": f"http://{component_name(index, embedder_component(spec.model))}"
                f":{c.EMBEDDER_PORT}",
            }
        )
    return {"envFrom": [{"configMapRef": {"name": config_map_name(index)}}], "env": env}
